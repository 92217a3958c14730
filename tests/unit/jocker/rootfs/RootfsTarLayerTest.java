//DEPS org.junit.platform:junit-platform-console-standalone:1.11.4
package jocker.rootfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import jocker.kernel.Trees;
import jocker.runtime.ContainerError;

/**
 * RootfsTar's layer mode (step 06): layers applied one after another onto {@code tmp/rootfs}, with
 * {@code tmp/outside} beside it as the host; nothing outside the rootfs may change. Symlinks are
 * resolved as the kernel resolves them inside the container, so a link that climbs out is clamped
 * at the rootfs instead of refused. Whiteouts have their own tests (jocker.image.LayersTest); here
 * the callback only records or naively deletes.
 */
class RootfsTarLayerTest {
    private static final LinkOption NOFOLLOW = LinkOption.NOFOLLOW_LINKS;
    private static final String SOURCE = "layer 3f2a9c1b7d4e of test:latest";

    @TempDir Path tmp;
    private Path rootfs;
    private Path outside;
    private List<String> before;
    /** What the whiteout callback saw: "DIR|NAME" with DIR relative to the rootfs. */
    private final List<String> calls = new ArrayList<>();
    private Set<Path> lastSeenLayer;

    @BeforeEach
    void layOut() throws IOException {
        rootfs = Files.createDirectory(tmp.resolve("rootfs"));
        outside = Files.createDirectory(tmp.resolve("outside"));
        Files.writeString(outside.resolve("passwd"), "root:x:0:0::/root:/bin/sh\n");
        before = outsideRootfs();
    }

    @AfterEach
    void nothingLandedOutside() throws IOException {
        assertEquals(before, outsideRootfs(), "what is in " + tmp + " beside the rootfs changed");
    }

    private List<String> outsideRootfs() throws IOException {
        List<String> seen = new ArrayList<>();
        try (Stream<Path> all = Files.walk(tmp)) {
            for (Path p : all.filter(p -> !p.equals(tmp) && !p.startsWith(rootfs)).sorted().toList()) {
                seen.add(tmp.relativize(p) + " " + Files.size(p) + " " + Files.getLastModifiedTime(p, NOFOLLOW).toMillis());
            }
        }
        return seen;
    }

    private TarBuilder layer() throws IOException { return TarBuilder.ownedLike(tmp); }

    /** Applies a layer; the callback records its calls and deletes {@code .wh.NAME} naively. */
    private RootfsTar.Result apply(TarBuilder layer) throws IOException {
        return RootfsTar.extract(new ByteArrayInputStream(layer.bytes()), rootfs, RootfsTar.Options.layer(SOURCE, (dir, name, thisLayer) -> {
            calls.add(rootfs.relativize(dir) + "|" + name);
            lastSeenLayer = thisLayer;
            if (!name.startsWith(".wh.")) return false;
            Path victim = dir.resolve(name.substring(4));
            if (Files.isDirectory(victim, NOFOLLOW)) Trees.delete(victim); else Files.deleteIfExists(victim);
            return true;
        }));
    }

    private String refused(TarBuilder layer, String entry) {
        ContainerError e = assertThrows(ContainerError.class, () -> apply(layer));
        String prefix = "refused to unpack " + SOURCE + ": entry \"" + entry + "\": ";
        assertTrue(e.getMessage().startsWith(prefix), "expected \"" + prefix + "...\", got: " + e.getMessage());
        return e.getMessage().substring(prefix.length());
    }

    private Path in(String path) { return rootfs.resolve(path); }

    private static String mode(Path p) throws IOException { return PosixFilePermissions.toString(Files.getPosixFilePermissions(p, NOFOLLOW)); }

    // ---- symlinks are resolved inside, the way the kernel resolves them in the container ------

    @Test
    void aRelativeSymlinkThatClimbsOutIsClampedAtTheRoot() throws IOException {
        apply(layer().symlink("up", "../../../outside").file("up/passwd", "mine"));
        assertEquals("mine", Files.readString(in("outside/passwd")));
        assertEquals(Path.of("../../../outside"), Files.readSymbolicLink(in("up")), "the link is kept as it is");
    }

    @Test
    void aSymlinkDeeperDownThatClimbsOutIsClampedToo() throws IOException {
        apply(layer().dir("a/b/").symlink("a/b/up", "../../../../..").file("a/b/up/top", "at the top"));
        assertEquals("at the top", Files.readString(in("top")));
    }

    @Test
    void anAbsoluteSymlinkToTheHostStaysInside() throws IOException {
        apply(layer().symlink("evil", outside.toString()).file("evil/passwd", "mine").hardlink("h", "evil/passwd"));
        assertEquals("mine", Files.readString(in(outside.toString().substring(1) + "/passwd")));
        assertEquals(Files.getAttribute(in(outside.toString().substring(1) + "/passwd"), "unix:ino"), Files.getAttribute(in("h"), "unix:ino"));
    }

    @Test
    void aHardLinkThroughAClimbingSymlinkNeverReachesTheHost() throws IOException {
        String why = refused(layer().symlink("up", "../outside").hardlink("h", "up/passwd"), "h");
        assertEquals("\"/outside\" does not exist", why);
    }

    @Test
    void namesThatClimbOutAreStillRefused() throws IOException {
        assertEquals("path \"../outside/passwd\" climbs out of the rootfs",
                refused(layer().file("../outside/passwd", "pwned"), "../outside/passwd"));
        assertEquals("path \"a/../../x\" climbs out of the rootfs", refused(layer().file("a/../../x", "pwned"), "a/../../x"));
    }

    @Test
    void aSymlinkLoopIsStillTooMany() throws IOException {
        assertEquals("too many levels of symbolic links", refused(layer().symlink("a", "b").symlink("b", "/a").file("a/f", "x"), "a/f"));
    }

    @Test
    void usrmergeLinksAreWrittenThroughInLaterLayers() throws IOException {
        apply(layer().dir("usr/").dir("usr/bin/").dir("usr/lib64/").symlink("bin", "usr/bin").symlink("lib64", "/usr/lib64")
                .file("usr/bin/busybox", "#!elf", 0755));
        apply(layer().file("bin/sh", "shell", 0755).file("/lib64/ld.so", "loader").hardlink("bin/ls", "/bin/busybox")
                .symlink("bin/true", "busybox"));
        assertTrue(Files.isSymbolicLink(in("bin")), "bin is still the usrmerge link");
        assertEquals("shell", Files.readString(in("usr/bin/sh")));
        assertEquals("loader", Files.readString(in("usr/lib64/ld.so")));
        assertEquals(Files.getAttribute(in("usr/bin/busybox"), "unix:ino"), Files.getAttribute(in("usr/bin/ls"), "unix:ino"));
        assertEquals(Path.of("busybox"), Files.readSymbolicLink(in("usr/bin/true")));
    }

    @Test
    void aLaterSymlinkOverAResolvedDirectoryIsFollowedFromThenOn() throws IOException {
        apply(layer().dir("d/").file("d/f", "one").dir("e/").symlink("d", "e").file("d/g", "two"));
        assertEquals("two", Files.readString(in("e/g")));
        assertTrue(Files.isSymbolicLink(in("d")));
    }

    // ---- over what lower layers left --------------------------------------------------------

    @Test
    void aHardLinkMayPointAtAFileOfALowerLayer() throws IOException {
        apply(layer().file("lower", "data"));
        apply(layer().hardlink("upper", "lower"));
        assertEquals(Files.getAttribute(in("lower"), "unix:ino"), Files.getAttribute(in("upper"), "unix:ino"));
    }

    @Test
    void aFileReplacesADirectoryAndADirectoryAFile() throws IOException {
        apply(layer().dir("d/").file("d/inner", "x").file("f", "plain"));
        apply(layer().file("d", "now a file").dir("f/").file("f/inner", "now a dir"));
        assertEquals("now a file", Files.readString(in("d")));
        assertEquals("now a dir", Files.readString(in("f/inner")));
    }

    @Test
    void aDirectoryOverADirectoryKeepsItsContentAndTakesTheNewModeAndTime() throws IOException {
        apply(layer().dir("d/", 0755).file("d/kept", "x"));
        apply(layer().entry("d/", TarConstants.LF_DIR, null, null, 0750, e -> e.setModTime(new java.util.Date(1_500_000_000_000L))));
        assertEquals("x", Files.readString(in("d/kept")));
        assertEquals("rwxr-x---", mode(in("d")));
        assertEquals(1_500_000_000_000L, Files.getLastModifiedTime(in("d")).toMillis());
    }

    @Test
    void aFileReplacedWithinALayerKeepsTheLastOne() throws IOException {
        apply(layer().dir("d/").file("d", "file").file("d", "again", 0600));
        assertEquals("again", Files.readString(in("d")));
        assertEquals("rw-------", mode(in("d")), "the directory's mode was not applied to the file");
    }

    @Test
    void setuidSetgidStickyModesAndMtimesAreKept() throws IOException {
        apply(layer().file("bin/su", "su", 04755).file("bin/wall", "wall", 02755).dir("tmp/", 01777));
        assertEquals(04755, (Integer) Files.getAttribute(in("bin/su"), "unix:mode") & 07777);
        assertEquals(02755, (Integer) Files.getAttribute(in("bin/wall"), "unix:mode") & 07777);
        assertEquals(01777, (Integer) Files.getAttribute(in("tmp"), "unix:mode") & 07777);
        assertEquals(1_000_000_000_000L, Files.getLastModifiedTime(in("bin/su")).toMillis());
        assertEquals(1_000_000_000_000L, Files.getLastModifiedTime(in("tmp")).toMillis());
    }

    @Test
    void longNamesPaxAndGnu() throws IOException {
        String dir = "usr/share/" + "d".repeat(120) + "/" + "e".repeat(120);
        String name = dir + "/" + "f".repeat(200);
        apply(layer().file(name, "pax").symlink("lpax", "/" + name));
        apply(layer().gnuLongNames().file(name + "2", "gnu").hardlink("lgnu", name + "2"));
        assertEquals("pax", Files.readString(in(name)));
        assertEquals(Path.of("/" + name), Files.readSymbolicLink(in("lpax")));
        assertEquals("gnu", Files.readString(in("lgnu")));
    }

    @Test
    void deviceNodesAndFifosAreSkipped() throws IOException {
        RootfsTar.Result r = apply(layer().dir("dev/").charDevice("dev/null").fifo("dev/initctl"));
        assertEquals(new RootfsTar.Result(1, 2, 0), r);
        assertFalse(Files.exists(in("dev/null"), NOFOLLOW));
        assertFalse(Files.exists(in("dev/initctl"), NOFOLLOW));
    }

    // ---- what the whiteout callback gets ----------------------------------------------------

    @Test
    void theCallbackSeesEveryEntryWithItsParentResolvedInside() throws IOException {
        apply(layer().dir("usr/bin/").symlink("bin", "usr/bin").file("usr/bin/sh", "x"));
        calls.clear();
        RootfsTar.Result r = apply(layer().file("bin/ls", "ls").file("bin/.wh.sh", "").file("/top", "t"));
        assertEquals(List.of("usr/bin|ls", "usr/bin|.wh.sh", "|top"), calls);
        assertEquals(new RootfsTar.Result(2, 0, 1), r);
        assertFalse(Files.exists(in("usr/bin/sh")));
        assertFalse(Files.exists(in("usr/bin/.wh.sh")), "a consumed whiteout is not written");
    }

    @Test
    void thisLayerHoldsWhatTheLayerWroteAndTheDirectoriesOnTheWay() throws IOException {
        apply(layer().dir("lower/"));
        apply(layer().file("a/b/c", "x").symlink("lower/l", "c").file("last", ""));
        assertEquals(Set.of(in("a"), in("a/b"), in("a/b/c"), in("lower"), in("lower/l"), in("last")), lastSeenLayer,
                "what the layer wrote, and the directories on the way (a live, read-only view)");
        assertThrows(UnsupportedOperationException.class, () -> lastSeenLayer.clear());
    }

    @Test
    void aDirectoryDeletedByAWhiteoutIsMadeAgainForALaterEntry() throws IOException {
        apply(layer().file("d/f1", "one").file(".wh.d", "").file("d/f2", "two"));
        assertFalse(Files.exists(in("d/f1")));
        assertEquals("two", Files.readString(in("d/f2")));
    }

    @Test
    void whiteoutsThatNameNoFileAreRefused() throws IOException {
        assertEquals("whiteout \".wh.\" names no file", refused(layer().file("d/.wh.", ""), "d/.wh."));
        assertEquals("whiteout \".wh..\" names no file", refused(layer().file("d/.wh..", ""), "d/.wh.."));
        assertEquals("whiteout \".wh...\" names no file", refused(layer().file(".wh...", ""), ".wh..."));
        assertTrue(calls.stream().noneMatch(c -> c.contains(".wh.")), "the callback never saw them: " + calls);
    }

    @Test
    void aufsMetadataIsSkipped() throws IOException {
        RootfsTar.Result r = apply(layer().dir(".wh..wh.plnk/").file(".wh..wh.plnk/1.2", "x").file(".wh..wh.aufs", ""));
        assertEquals(new RootfsTar.Result(0, 3, 0), r);
        try (Stream<Path> s = Files.list(rootfs)) {
            assertEquals(0, s.count());
        }
    }

    @Test
    void inAPlainRootfsTarballWhiteoutNamesAreJustFiles() throws IOException {
        RootfsTar.extract(new ByteArrayInputStream(layer().file("a", "x").file(".wh.a", "").bytes()), rootfs, "plain.tar");
        assertTrue(Files.exists(in("a")));
        assertTrue(Files.exists(in(".wh.a")));
    }
}
