//DEPS org.junit.platform:junit-platform-console-standalone:1.11.4
package jocker.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The libc bindings of Linux that need no root: errno, spawn with file actions, pipes, wait. */
class LinuxTest {

    /** The kernel's own list, where the headers are installed (linux-libc-dev). */
    @Test
    void errnoNamesAreTheKernelsNames() throws Exception {
        Path base = Path.of("/usr/include/asm-generic/errno-base.h"), more = Path.of("/usr/include/asm-generic/errno.h");
        assumeTrue(Files.exists(base) && Files.exists(more), "no kernel headers");
        Matcher m = Pattern.compile("(?m)^#define\\s+(E[A-Z0-9]+)\\s+(\\d+)\\s").matcher(Files.readString(base) + Files.readString(more));
        int seen = 0;
        while (m.find()) {
            assertEquals(m.group(1), Linux.errnoName(Integer.parseInt(m.group(2))), "errno " + m.group(2));
            seen++;
        }
        assertTrue(seen > 120, seen + " names");
        assertEquals("E4095", Linux.errnoName(4095));
    }

    @Test
    void aFailedCallNamesItsArgumentsAndStrerror(@TempDir Path tmp) {
        String missing = tmp.resolve("missing/dir").toString();
        Linux.LinuxException e = assertThrows(Linux.LinuxException.class, () -> Linux.mkdir(missing, 0755));
        assertEquals(Linux.ENOENT, e.errno());
        assertEquals("mkdir(\"" + missing + "\", 0755): No such file or directory", e.getMessage());
        assertEquals("ESRCH", Linux.errnoName(Linux.ESRCH));
    }

    @Test
    void spawnRunsTheProgramWithItsEnvironmentAndMovesDescriptors() {
        int[] out = Linux.pipe();
        int pid;
        try {
            // The child writes to its descriptor 5, which is our pipe's write end moved there.
            Map<Integer, Integer> fds = new LinkedHashMap<>();
            fds.put(out[1], 5);
            pid = Linux.posixSpawn("sh", List.of("sh", "-c", "printf '%s' \"$GREETING\" >&5; exit 7"),
                    List.of("GREETING=hello there", "PATH=/usr/bin:/bin"), fds);
        } finally {
            Linux.close(out[1]);
        }
        byte[] buf = new byte[64];
        int n = Linux.read(out[0], buf);
        assertEquals(0, Linux.read(out[0], new byte[1]), "end of file once the child exited");
        Linux.close(out[0]);
        assertEquals("hello there", new String(buf, 0, n, StandardCharsets.UTF_8));
        Linux.WaitStatus status = Linux.waitpid(pid, 0);
        assertEquals(pid, status.pid());
        assertTrue(status.exited());
        assertEquals(7, status.exitStatus());
    }

    @Test
    void spawnOfAMissingProgramFailsWithENOENT() {
        Linux.LinuxException e = assertThrows(Linux.LinuxException.class,
                () -> Linux.posixSpawn(List.of("/nonexistent/program"), List.of(), Map.of()));
        assertEquals(Linux.ENOENT, e.errno());
        assertTrue(e.getMessage().startsWith("posix_spawn(\"/nonexistent/program\""), e.getMessage());
    }

    @Test
    void writeAndReadCarryBytesThroughAPipe() {
        int[] p = Linux.pipe();
        byte[] sent = "READY\n".getBytes(StandardCharsets.UTF_8);
        Linux.write(p[1], sent);
        Linux.close(p[1]);
        byte[] buf = new byte[16];
        int n = Linux.read(p[0], buf);
        Linux.close(p[0]);
        assertArrayEquals(sent, java.util.Arrays.copyOf(buf, n));
        assertThrows(Linux.LinuxException.class, () -> Linux.close(p[0]), "EBADF on a closed descriptor");
    }

    @Test
    void waitpidOfNoChildIsECHILDAndKillOfNoProcessIsESRCH() {
        assertEquals(Linux.ECHILD, assertThrows(Linux.LinuxException.class, () -> Linux.waitpid(1, 0)).errno());
        assertEquals(Linux.ESRCH, assertThrows(Linux.LinuxException.class, () -> Linux.kill(0x3ffffff, 0)).errno());
        assertEquals(ProcessHandle.current().pid(), Linux.getpid());
    }

    @Test
    void umaskReturnsTheOldMask() {
        int old = Linux.umask(077);
        try {
            assertEquals(077, Linux.umask(old));
        } finally {
            Linux.umask(old);
        }
    }
}
