//DEPS org.junit.platform:junit-platform-console-standalone:1.11.4
package jocker.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PATH lookup, signal names, process identity and the ESRCH-tolerant kill. */
class ProcessesTest {

    @Test
    void signalNumberTakesANameWithOrWithoutSigAndANumber() {
        assertEquals(15, Processes.signalNumber("TERM"));
        assertEquals(15, Processes.signalNumber("SIGTERM"));
        assertEquals(15, Processes.signalNumber("sigterm"));
        assertEquals(15, Processes.signalNumber("15"));
        assertEquals(15, Processes.signalNumber(" 15 "));
        assertEquals(9, Processes.signalNumber("KILL"));
        assertEquals(2, Processes.signalNumber("SIGINT"));
        assertEquals(10, Processes.signalNumber("usr1"));
    }

    @Test
    void signalNumberRefusesWhatIsNoSignal() {
        for (String bad : List.of("BOGUS", "SIGBOGUS", "", "SIG", "-9", "1.5")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Processes.signalNumber(bad), "signal \"" + bad + "\"");
            assertTrue(e.getMessage().contains("\"" + bad + "\""), e.getMessage());
        }
    }

    private static Path file(Path dir, String name, String perms) throws Exception {
        Files.createDirectories(dir);
        Path f = Files.createFile(dir.resolve(name));
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString(perms));
        return f;
    }

    @Test
    void pathCandidatesFollowThePathInOrder(@TempDir Path tmp) throws Exception {
        Path one = file(tmp.resolve("one"), "prog", "rwxr-xr-x");
        Path two = file(tmp.resolve("two"), "prog", "rwxr-xr-x");
        Files.createDirectories(tmp.resolve("zero/prog"));   // a directory of that name is no candidate
        String zero = tmp.resolve("zero").toString();
        String none = tmp.resolve("missing").toString();
        assertEquals(List.of(one, two), Processes.pathCandidates("prog",
                List.of("PATH=" + zero + ":" + one.getParent() + ":" + none + ":" + two.getParent())));
        assertEquals(List.of(two, one), Processes.pathCandidates("prog",
                List.of("PATH=" + two.getParent() + ":" + one.getParent())));
    }

    @Test
    void pathCandidatesUseTheLastPathOfTheEnvironment(@TempDir Path tmp) throws Exception {
        Path one = file(tmp.resolve("one"), "prog", "rwxr-xr-x");
        Path two = file(tmp.resolve("two"), "prog", "rwxr-xr-x");
        assertEquals(List.of(two), Processes.pathCandidates("prog",
                List.of("PATH=" + one.getParent(), "HOME=/", "PATH=" + two.getParent())));
        assertEquals(List.of(), Processes.pathCandidates("prog", List.of("MYPATH=" + one.getParent(), "PATH=/nonexistent")));
    }

    @Test
    void anEmptyPathEntryIsTheCurrentDirectory(@TempDir Path tmp) throws Exception {
        Path one = file(tmp.resolve("one"), "prog", "rwxr-xr-x");
        String dirs = one.getParent().toString();
        // Empty entries (leading, doubled, trailing) name the working directory, which has no "prog".
        assertEquals(List.of(one), Processes.pathCandidates("prog", List.of("PATH=:" + dirs + "::")));
        // A file that is in the working directory is found through an empty entry, first.
        Optional<String> here;
        try (var list = Files.list(Path.of(""))) {
            here = list.filter(Files::isRegularFile).map(p -> p.getFileName().toString()).findFirst();
        }
        assumeTrue(here.isPresent(), "the working directory has no regular file");
        Path dot = Path.of(".", here.get());
        assertEquals(List.of(dot), Processes.pathCandidates(here.get(), List.of("PATH=" + dirs + ":")));
        assertEquals(List.of(dot), Processes.pathCandidates(here.get(), List.of("PATH=:" + dirs)));
        assertEquals(List.of(dot), Processes.pathCandidates(here.get(), List.of("PATH=" + dirs + "::" + dirs)));
    }

    @Test
    void aNameWithASlashIsTakenAsItIs() {
        assertEquals(List.of(Path.of("./x/y")), Processes.pathCandidates("./x/y", List.of("PATH=/bin")));
        assertEquals(List.of(Path.of("/no/such/file")), Processes.pathCandidates("/no/such/file", List.of()));
    }

    @Test
    void withoutPathDockersDefaultIsUsed() {
        assertEquals("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", Processes.DEFAULT_PATH);
        List<Path> sh = Processes.pathCandidates("sh", List.of("HOME=/root"));
        assertFalse(sh.isEmpty(), "sh in " + Processes.DEFAULT_PATH);
        assertTrue(sh.stream().allMatch(p -> (":" + Processes.DEFAULT_PATH + ":").contains(":" + p.getParent() + ":")), sh.toString());
    }

    @Test
    void lookPathSkipsCandidatesThatAreNotExecutable(@TempDir Path tmp) throws Exception {
        file(tmp.resolve("one"), "prog", "rw-r--r--");
        Path two = file(tmp.resolve("two"), "prog", "rwxr-xr-x");
        String path = "PATH=" + tmp.resolve("one") + ":" + tmp.resolve("two");
        assertEquals(2, Processes.pathCandidates("prog", List.of(path)).size());
        assertEquals(Optional.of(two), Processes.lookPath("prog", List.of(path)));
        assertEquals(Optional.empty(), Processes.lookPath("nothing-by-this-name", List.of(path)));
    }

    @Test
    void startTimeOfThisProcessIsPresentAndNamesIt() {
        long me = ProcessHandle.current().pid();
        Optional<Long> t = Processes.startTime(me);
        assertTrue(t.isPresent());
        assertTrue(t.get() > 0, "start time " + t.get());
        assertTrue(Processes.isRunning(me, t.get()));
        assertFalse(Processes.isRunning(me, t.get() + 1), "same pid, another start time: another process");
    }

    @Test
    void startTimeOfADeadProcessIsEmpty() throws Exception {
        Process p = new ProcessBuilder("true").start();
        long pid = p.pid();
        p.waitFor();   // exited and reaped
        assertEquals(Optional.empty(), Processes.startTime(pid));
        assertEquals(Optional.empty(), Processes.startTime(Integer.MAX_VALUE));
        assertFalse(Processes.isRunning(Integer.MAX_VALUE, 0));
    }

    @Test
    void startTimeReadsPastACommandNameWithSpacesAndParentheses(@TempDir Path tmp) throws Exception {
        Path sleep = Path.of("/bin/sleep");
        assumeTrue(Files.isExecutable(sleep), "no /bin/sleep");
        Path odd = Files.copy(sleep, tmp.resolve("a) b c d e"));
        Process p;
        try {
            p = new ProcessBuilder(odd.toString(), "10").start();
        } catch (java.io.IOException noexec) {
            assumeTrue(false, "cannot run a program from " + tmp + ": " + noexec.getMessage());
            return;
        }
        try {
            long mine = Processes.startTime(ProcessHandle.current().pid()).orElseThrow();
            // Wait until the child has exec'd (its comm is the odd name), then read its start time.
            Path stat = Path.of("/proc", Long.toString(p.pid()), "stat");
            for (int i = 0; i < 200 && !Files.readString(stat).contains("(a) b c d e)"); i++) Thread.sleep(5);
            Optional<Long> t = Processes.startTime(p.pid());
            assertTrue(t.isPresent(), Files.readString(stat));
            assertTrue(t.get() >= mine, "the child started after us: " + t.get() + " < " + mine);
            assertTrue(Processes.isRunning(p.pid(), t.get()));
        } finally {
            p.destroyForcibly().waitFor();
        }
    }

    @Test
    void signalIfAliveSignalsThisProcess() {
        assertTrue(Processes.signalIfAlive(ProcessHandle.current().pid(), 0));
    }

    @Test
    void signalIfAliveOnAReapedProcessReturnsFalse() throws Exception {
        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        assertFalse(Processes.signalIfAlive(p.pid(), 0));
    }

    @Test
    void signalIfAliveOnAPidThatCannotExistReturnsFalse() {
        // Above PID_MAX_LIMIT (4194304, include/linux/threads.h): no process ever has these pids.
        assertFalse(Processes.signalIfAlive(4_194_304, 0));
        assertFalse(Processes.signalIfAlive(Integer.MAX_VALUE, 0));
    }

    /**
     * kill(2) gives pids 0 and -1 another meaning: 0 is our whole process group, -1 every process we
     * may signal. A "pid" from a state.json that is 0 (State.pid before init exists) or a long that
     * wraps to 0 or -1 in an int must not signal those. Only signal 0 is sent here: it tests, never
     * harms.
     */
    @Test
    void signalIfAliveNeverSignalsAGroupOrEveryProcess() {
        for (long pid : new long[] {0, -1, 1L << 32, 0xFFFF_FFFFL}) {
            boolean sent;
            try {
                sent = Processes.signalIfAlive(pid, 0);
            } catch (IllegalArgumentException refused) {
                sent = false;
            }
            assertFalse(sent, "signalIfAlive(" + pid + ", 0) reached kill(" + (int) pid + ", 0)");
        }
    }
}
