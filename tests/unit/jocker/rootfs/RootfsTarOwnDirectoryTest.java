//DEPS org.junit.platform:junit-platform-console-standalone:1.11.4
package jocker.rootfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import jocker.kernel.Linux;
import jocker.runtime.ContainerError;
import jocker.storage.ReferenceStorageHooks;

/**
 * RootfsTar's ownDirectory mode (step 07's overlay layers): a layer unpacked alone into a
 * directory of its own, its whiteouts kept in overlay's format by the reference
 * StorageHooks.overlayWhiteout ({@code .wh.NAME}: a character device 0/0; {@code .wh..wh..opq}:
 * the xattr trusted.overlay.opaque=y), a whiteout and a directory of one name becoming an opaque
 * directory in either order, a whiteout's missing directory made. Hostile entries are refused as
 * in the other modes, and a device node in the tar is never written (only the hook makes 0/0
 * nodes). {@code tmp/outside} stands for the host. Root only: mknod(2) and trusted xattrs.
 */
class RootfsTarOwnDirectoryTest {
    private static final LinkOption NOFOLLOW = LinkOption.NOFOLLOW_LINKS;
    private static final String SOURCE = "layer 3f2a9c1b7d4e of test:latest";
    private final ReferenceStorageHooks hooks = new ReferenceStorageHooks();

    @TempDir Path tmp;
    private Path layer;
    private Path outside;
    private List<String> before;

    @BeforeEach
    void layOut() throws IOException {
        assumeTrue("root".equals(System.getProperty("user.name")), "whiteouts in overlay's format need root");
        layer = Files.createDirectory(tmp.resolve("diff"));
        outside = Files.createDirectory(tmp.resolve("outside"));
        Files.writeString(outside.resolve("passwd"), "root:x:0:0::/root:/bin/sh\n");
        before = outsideLayer();
    }

    @AfterEach
    void nothingLandedOutside() throws IOException {
        if (before != null) assertEquals(before, outsideLayer(), "what is in " + tmp + " beside the layer changed");
    }

    private List<String> outsideLayer() throws IOException {
        List<String> seen = new ArrayList<>();
        try (Stream<Path> all = Files.walk(tmp)) {
            for (Path p : all.filter(p -> !p.equals(tmp) && !p.startsWith(layer)).sorted().toList()) {
                seen.add(tmp.relativize(p) + " " + Files.size(p) + " " + Files.getLastModifiedTime(p, NOFOLLOW).toMillis());
            }
        }
        return seen;
    }

    private TarBuilder tar() throws IOException { return TarBuilder.ownedLike(tmp); }

    private RootfsTar.Result unpack(TarBuilder t) throws IOException {
        return RootfsTar.extract(new ByteArrayInputStream(t.bytes()), layer,
                RootfsTar.Options.ownDirectory(SOURCE, hooks::overlayWhiteout));
    }

    private Path in(String p) { return layer.resolve(p); }

    private static boolean opaque(Path dir) {
        byte[] v = Linux.lgetxattr(dir.toString(), "trusted.overlay.opaque");
        return v != null && new String(v).equals("y");
    }

    private List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void aWhiteoutBecomesACharacterDevice00() throws IOException {
        RootfsTar.Result r = unpack(tar().dir("etc/").file("etc/.wh.passwd", "").file("etc/motd", "hi\n"));
        assertTrue(RootfsTar.isOverlayWhiteout(in("etc/passwd")), "etc/passwd should be overlay's whiteout");
        assertEquals(List.of("motd", "passwd"), names(in("etc")), "no .wh. file may be written");
        assertEquals(1, r.whiteouts());
        assertFalse(opaque(in("etc")));
    }

    @Test
    void theOpaqueMarkerBecomesAnXattr() throws IOException {
        unpack(tar().dir("srv/").file("srv/a", "a\n").file("srv/.wh..wh..opq", "").file("srv/b", "b\n"));
        assertTrue(opaque(in("srv")), "srv should carry trusted.overlay.opaque=y");
        assertEquals(List.of("a", "b"), names(in("srv")), "the layer's own entries on both sides of the marker stay");
        assertFalse(opaque(layer));
    }

    @Test
    void aWhiteoutThenADirectoryOfTheSameNameIsAnOpaqueDirectory() throws IOException {
        unpack(tar().file(".wh.b", "").dir("b/").file("b/y", "y\n"));
        assertTrue(Files.isDirectory(in("b"), NOFOLLOW));
        assertTrue(opaque(in("b")), "the lower b must not show through this layer's b");
        assertEquals(List.of("y"), names(in("b")));
    }

    @Test
    void aDirectoryThenAWhiteoutOfTheSameNameIsAnOpaqueDirectory() throws IOException {
        unpack(tar().dir("b/").file("b/y", "y\n").file(".wh.b", ""));
        assertTrue(Files.isDirectory(in("b"), NOFOLLOW));
        assertTrue(opaque(in("b")), "the lower b must not show through this layer's b");
        assertEquals(List.of("y"), names(in("b")), "this layer's own b/y stays");
    }

    @Test
    void aWhiteoutOfAFileThisLayerWroteKeepsTheFile() throws IOException {
        unpack(tar().dir("etc/").file("etc/f", "mine\n").file("etc/.wh.f", "").file("etc/.wh.g", "").file("etc/g", "g\n"));
        assertEquals("mine\n", Files.readString(in("etc/f")));
        assertEquals("g\n", Files.readString(in("etc/g")), "a file after its whiteout replaces the whiteout");
        assertTrue(Files.isRegularFile(in("etc/g"), NOFOLLOW));
    }

    @Test
    void aWhiteoutUnderAMissingDirectoryMakesTheDirectory() throws IOException {
        unpack(tar().file("a/deep/.wh.x", "").file("c/.wh..wh..opq", ""));
        assertTrue(Files.isDirectory(in("a/deep"), NOFOLLOW));
        assertTrue(RootfsTar.isOverlayWhiteout(in("a/deep/x")));
        assertTrue(opaque(in("c")));
    }

    @Test
    void aWhiteoutUnderAFileOfThisLayerIsIgnored() throws IOException {
        unpack(tar().file("f", "file\n").file("f/.wh.x", ""));
        assertEquals("file\n", Files.readString(in("f")));
    }

    @Test
    void aDeviceNodeInTheTarIsNeverWritten() throws IOException {
        // A character device 0/0 in the tar itself would be a whiteout: only .wh. names make them.
        RootfsTar.Result r = unpack(tar().dir("etc/").charDevice("etc/passwd").dir("dev/").charDevice("dev/null")
                .entry("dev/sda", TarConstants.LF_BLK, null, null, 0660, null).fifo("dev/fifo"));
        assertFalse(Files.exists(in("etc/passwd"), NOFOLLOW), "a device node of the tar was written");
        assertEquals(List.of(), names(in("dev")));
        assertEquals(4, r.skipped());
        assertEquals(0, r.whiteouts());
    }

    @Test
    void hostileNamesAreStillRefused() throws IOException {
        for (String name : List.of("../x", "../.wh.x", "a/../../.wh.passwd", "../outside/.wh.passwd")) {
            ContainerError e = assertThrows(ContainerError.class, () -> unpack(tar().file(name, "")), name);
            assertTrue(e.getMessage().startsWith("refused to unpack " + SOURCE + ": entry \"" + name + "\""), e.getMessage());
        }
        for (String name : List.of(".wh.", ".wh..", "d/.wh..")) {
            assertThrows(ContainerError.class, () -> unpack(tar().file(name, "")), name);
        }
    }

    @Test
    void aWhiteoutThroughASymlinkStaysInTheLayer() throws IOException {
        unpack(tar().symlink("evil", "../../outside").file("evil/.wh.passwd", "").symlink("abs", "/").file("abs/.wh.passwd", ""));
        assertEquals("root:x:0:0::/root:/bin/sh\n", Files.readString(outside.resolve("passwd")));
        assertTrue(Files.isSymbolicLink(in("evil")));
    }
}
