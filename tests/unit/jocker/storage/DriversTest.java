//DEPS org.junit.platform:junit-platform-console-standalone:1.11.4
package jocker.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import jocker.kernel.Linux;
import jocker.kernel.MountInfo;

/**
 * The overlay probe: overlay works here (root, a kernel with overlayfs, the temp directory's
 * filesystem); the probe leaves nothing; the probe of a runtime killed in the middle of one (its
 * scratch overlay still mounted) is unmounted and removed by the next. Needs root.
 */
class DriversTest {
    @TempDir Path tmp;
    private Path home;

    @BeforeEach
    void root() {
        assumeTrue("root".equals(System.getProperty("user.name")), "the probe mounts: root only");
        home = tmp.resolve("storage/overlay");
    }

    private List<String> names(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static boolean mounted(Path p) {
        return MountInfo.read().stream().anyMatch(m -> m.mountPoint().equals(p.toString()));
    }

    @Test
    void overlayWorksHereAndTheProbeLeavesNothing() throws Exception {
        Optional<String> problem = Drivers.overlayProblem(home);
        assertEquals(Optional.empty(), problem, "overlay should work on this machine (kernel " + System.getProperty("os.version") + ")");
        assertEquals(List.of(), names(home), "the probe left something in " + home);
    }

    @Test
    void theProbeOfADeadRuntimeIsUnmountedAndRemoved() throws Exception {
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        long dead = gone.pid();
        Path probe = home.resolve(".probe-" + dead);
        Path lower = Files.createDirectories(probe.resolve("lower"));
        Path upper = Files.createDirectories(probe.resolve("upper"));
        Path work = Files.createDirectories(probe.resolve("work"));
        Path merged = Files.createDirectories(probe.resolve("merged"));
        Path live = Files.createDirectories(home.resolve(".probe-1"));   // pid 1 lives: not ours to touch
        Linux.mount("overlay", merged.toString(), "overlay", 0, "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work);
        try {
            assertEquals(Optional.empty(), Drivers.overlayProblem(home));
            assertFalse(mounted(merged), "the dead probe's overlay is still mounted");
            assertFalse(Files.exists(probe), "the dead probe's directory is still there");
            assertTrue(Files.isDirectory(live), "the probe of a live process was removed");
            assertEquals(List.of(".probe-1"), names(home));
        } finally {
            if (mounted(merged)) Linux.umount2(merged.toString(), Linux.MNT_DETACH);
        }
    }
}
