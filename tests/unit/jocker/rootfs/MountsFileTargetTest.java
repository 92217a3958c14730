package jocker.rootfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import jocker.runtime.ContainerError;

/** A file bind-mounted onto a file the image lacks (/etc/hosts of busybox): the mount point is a file. */
class MountsFileTargetTest {

    @Test
    void aMissingFileTargetIsMadeEmptyAndItsDirectoryToo(@TempDir Path rootfs) throws Exception {
        Path hosts = Mounts.insideAsFile(rootfs, "/etc/hosts");
        assertEquals(rootfs.resolve("etc/hosts"), hosts);
        assertTrue(Files.isRegularFile(hosts));
        assertEquals(0, Files.size(hosts));
    }

    @Test
    void anExistingFileIsLeftAsItIs(@TempDir Path rootfs) throws Exception {
        Files.createDirectories(rootfs.resolve("etc"));
        Files.writeString(rootfs.resolve("etc/hostname"), "image\n");
        Mounts.insideAsFile(rootfs, "etc/hostname");
        assertEquals("image\n", Files.readString(rootfs.resolve("etc/hostname")));
    }

    @Test
    void aSymlinkAtTheTargetOrOnTheWayIsRefused(@TempDir Path rootfs) throws Exception {
        Files.createDirectories(rootfs.resolve("etc"));
        Files.createSymbolicLink(rootfs.resolve("etc/resolv.conf"), Path.of("/etc/passwd"));
        Files.createSymbolicLink(rootfs.resolve("run"), Path.of("/"));
        assertTrue(assertThrows(ContainerError.class, () -> Mounts.insideAsFile(rootfs, "/etc/resolv.conf"))
                .getMessage().contains("etc/resolv.conf is a symlink in the image"));
        assertThrows(ContainerError.class, () -> Mounts.insideAsFile(rootfs, "/run/x"));
        assertThrows(ContainerError.class, () -> Mounts.insideAsFile(rootfs, "/"));
    }
}
