import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Step 04 PID namespace, black-box: the command is PID 1 and sees only the container's processes;
 * signals sent to run reach PID 1, which decides what to do with them, as in Docker; when PID 1
 * ends, the whole container ends; the host's System V IPC objects are out of sight; and --init
 * puts a reaper in front of the command.
 */
@DisplayName("step 04 PID namespace")
@ExtendWith(JockerExtension.class)
class Step04Checks {

    private final Jocker jocker;

    Step04Checks(Jocker jocker) {
        this.jocker = jocker;
    }

    /** A concept's hint, which also names the step whose file this runs, when it is a later one. */
    private Hint h(Hint c) { return Hint.onStep(jocker, 4, c); }

    static final Duration READY = Duration.ofSeconds(20);

    @Test
    @Essential
    @Order(1)
    @DisplayName("the command is PID 1: /proc/1/cmdline is the command line given to run")
    void commandIsPid1() {
        Jocker.Result r = jocker.run(jocker.container("cat", "/proc/1/cmdline"));
        Hint.exits(r, 0, h(Concept.RUN));
        Hint.stdoutIs(r, "cat\0/proc/1/cmdline\0", h(Concept.PID));
    }

    @Test
    @Essential
    @Order(2)
    @DisplayName("ps lists only the container's processes, and when PID 1 exits the others are gone too")
    void onlyTheContainersProcesses() throws IOException {
        // A sleep left running in the background, with an argument no other process has. The
        // loop waits until it has exec'd (a fork not yet exec'd is still called sh), and the
        // "exit 0" keeps sh from exec'ing ps, its last command, in its own place.
        String seconds = "1" + (100000 + (long) (Math.random() * 800000));
        Jocker.Result r = jocker.run(jocker.container("sh", "-c", "sleep " + seconds
                + " & while [ \"$(cat /proc/$!/comm 2>/dev/null)\" != sleep ]; do sleep 0.05; done;"
                + " ps -o pid,comm; exit 0"));
        Hint.exits(r, 0, h(Concept.RUN));
        List<String[]> rows = r.stdout().lines().skip(1).map(l -> l.trim().split("\\s+")).toList();
        Hint.check(r, rows.size() == 3, "expected ps to list exactly 3 processes (sh, sleep, ps), got " + rows.size(), h(Concept.PID));
        Hint.check(r, rows.get(0)[0].equals("1") && rows.get(0)[1].equals("sh"), "expected PID 1 to be sh", h(Concept.PID));
        Hint.check(r, rows.stream().map(x -> x[1]).sorted().toList().equals(List.of("ps", "sh", "sleep")),
                "expected the processes sh, sleep and ps", h(Concept.PID));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        while (!survivors("sleep\0" + seconds).isEmpty() && System.nanoTime() < deadline) Jocker.sleep(100);
        Hint.check(r, survivors("sleep\0" + seconds).isEmpty(),
                "the container's background `sleep " + seconds + "` still runs on the host after its PID 1 exited: "
                        + survivors("sleep\0" + seconds), Concept.PID1);
    }

    @Test
    @Essential
    @Order(3)
    @DisplayName("SIGTERM to run reaches PID 1: a shell that traps TERM and exits gives 143")
    void termReachesPid1() {
        Jocker.Running running = jocker.start(jocker.container("sh", "-c",
                "trap 'echo got TERM; exit 143' TERM; echo ready; while true; do sleep 0.1; done"));
        boolean ready = running.awaitOutput("ready", READY);
        if (running.process.isAlive()) running.signal("TERM");
        Jocker.Result r = running.await(Duration.ofSeconds(10));
        Hint.check(r, ready, "the container never printed \"ready\"", h(Concept.RUN));
        Hint.exits(r, 143, h(Concept.SIGNALS));
        Hint.stdoutIs(r, "ready\ngot TERM\n", h(Concept.SIGNALS));
    }

    @Test
    @Order(4)
    @DisplayName("a PID 1 without a TERM handler (sleep) ignores SIGTERM; SIGKILL of run ends the container")
    void pid1IgnoresTerm() {
        Jocker.Running running = jocker.start(jocker.container("sh", "-c", "echo ready; exec sleep 60"));
        boolean ready = running.awaitOutput("ready", READY);
        List<ProcessHandle> container = running.process.toHandle().descendants().toList();
        if (running.process.isAlive()) running.signal("TERM");
        Jocker.sleep(800);   // a runtime whose command is not PID 1 ends in well under that
        boolean survived = running.process.isAlive();
        if (running.process.isAlive()) running.signal("KILL");
        Jocker.Result r = running.await(Duration.ofSeconds(10));
        Hint.check(r, ready, "the container never printed \"ready\"", h(Concept.RUN));
        Hint.check(r, survived, "run ended on SIGTERM, but sleep as PID 1 has no handler and should have ignored it"
                + " (is the command PID 1?)", h(Concept.SIGNALS));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (container.stream().anyMatch(ProcessHandle::isAlive) && System.nanoTime() < deadline) Jocker.sleep(100);
        Hint.check(r, container.stream().noneMatch(ProcessHandle::isAlive), "the container outlived its runtime", Concept.PID1);
    }

    @Test
    @Order(5)
    @DisplayName("the host's System V shared memory is invisible inside; /dev/mqueue is the container's own")
    void ipcIsolated() {
        Assumptions.assumeTrue(onPath("ipcmk") && onPath("ipcrm"),
                "ipcmk and ipcrm (util-linux) are not installed on the host (" + Hint.DOCTOR + ")");
        String made = host("ipcmk", "-M", "4096");
        Matcher m = Pattern.compile("(\\d+)").matcher(made);
        Assumptions.assumeTrue(m.find(), "ipcmk printed no id: " + made);
        String shmid = m.group(1);
        try {
            Jocker.Result r = jocker.run(jocker.container("sh", "-c",
                    "awk 'NR > 1 { print $2 }' /proc/sysvipc/shm; echo --; grep -c ' /dev/mqueue .* - mqueue ' /proc/self/mountinfo"));
            Hint.exits(r, 0, h(Concept.RUN));
            String[] parts = r.stdout().split("--\n", 2);
            Hint.check(r, parts[0].lines().noneMatch(shmid::equals),
                    "the host's shared memory segment " + shmid + " is visible in the container", h(Concept.IPC));
            Hint.check(r, parts.length == 2 && parts[1].trim().equals("1"), "expected one mqueue filesystem at /dev/mqueue", h(Concept.IPC));
        } finally {
            host("ipcrm", "-m", shmid);
        }
    }

    /**
     * An orphan is handed to PID 1, and stays a zombie until PID 1 waits for it. Here the orphan
     * is a short sleep whose parent subshell exits at once, and PID 1 becomes a long sleep, which
     * never waits: ps, 0.8 s in, shows the zombie. With --init the reaper is PID 1 and reaps it.
     */
    static final String ZOMBIE = "(sleep 0.2 &); (sleep 0.8; ps -o stat,comm) & exec sleep 1.6";

    @Test
    @Order(6)
    @DisplayName("without --init a PID 1 that never waits (sleep) leaves a zombie behind")
    void zombieWithoutInit() {
        Jocker.Result r = jocker.run(jocker.container("sh", "-c", ZOMBIE));
        Hint.exits(r, 0, h(Concept.RUN));
        Hint.check(r, r.stdout().lines().anyMatch(l -> l.trim().startsWith("Z")),
                "expected ps to show a zombie (state Z) under a PID 1 that never waits", h(Concept.ZOMBIES));
    }

    @Test
    @Order(7)
    @DisplayName("--init: PID 1 is a reaper; it reaps orphans, passes SIGTERM on, and exits the way the command did")
    void initReaps() {
        Jocker.Result r = jocker.run(jocker.container(List.of("--init"), "sh", "-c", ZOMBIE));
        Hint.exits(r, 0, h(Concept.REAPER));
        Hint.check(r, r.stdout().lines().noneMatch(l -> l.trim().startsWith("Z")),
                "expected no zombie with --init: PID 1 should reap every child", h(Concept.REAPS));

        Jocker.Running running = jocker.start(jocker.container(List.of("--init"), "sh", "-c",
                "echo pid $$; echo ready; exec sleep 60"));
        boolean ready = running.awaitOutput("ready", READY);
        if (running.process.isAlive()) running.signal("TERM");
        Jocker.Result t = running.await(Duration.ofSeconds(10));
        Hint.check(t, ready, "the container never printed \"ready\"", h(Concept.REAPER));
        Hint.check(t, !t.stdout().startsWith("pid 1\n"), "with --init the command should not be PID 1", h(Concept.REAPER));
        Hint.exits(t, 143, h(Concept.REAPER));
    }

    // ------------------------------------------------------------------------------------------

    /**
     * What each check depends on: the TODOs whose code it runs, the sections of chapter 04 that
     * explain it (the exact titles). A failure's first line ends with its bracket.
     */
    enum Concept implements Hint {
        /** A run that must work at all: the namespaces asked for. */
        RUN("04.1 04.2", "TODO 04.1", "TODO 04.2"),
        PID("04.1", "TODO 04.1"),
        PID1("04.1", "Why PID 1 is special"),
        /** The runtime forwards signals (given code); PID 1 decides what they do. */
        SIGNALS("04.1", "Signals: what reaches PID 1"),
        ZOMBIES("04.1", "Zombies and reaping"),
        IPC("04.2", "TODO 04.2"),
        REAPER("04.3", "TODO 04.3"),
        /** Orphans go to PID 1 only in a PID namespace of the container's own. */
        REAPS("04.1 04.3", "TODO 04.1", "TODO 04.3");

        private final String hint;

        Concept(String todos, String... sections) { this.hint = Hint.of("04-pid-namespace.adoc", todos, sections); }

        @Override
        public String hint() { return hint; }
    }

    /** Host processes whose command line contains {@code needle} (NUL-separated words). */
    static List<Long> survivors(String needle) {
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            return procs.filter(p -> p.getFileName().toString().matches("\\d+")).filter(p -> {
                try {
                    return new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8).contains(needle);
                } catch (IOException gone) {
                    return false;
                }
            }).map(p -> Long.parseLong(p.getFileName().toString())).toList();
        } catch (IOException e) {
            throw new IllegalStateException("failed to list /proc: " + e, e);
        }
    }

    static boolean onPath(String program) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(dir.isEmpty() ? "." : dir, program))) return true;
        }
        return false;
    }

    /** Runs a command on the host; fails the check (as a setup error) if it fails. */
    static String host(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException("failed to run " + String.join(" ", command) + " on the host: " + out.strip());
            }
            return out;
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException("failed to run " + String.join(" ", command) + ": " + e, e);
        }
    }
}
