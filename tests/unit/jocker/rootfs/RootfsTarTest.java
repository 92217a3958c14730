//DEPS org.junit.platform:junit-platform-console-standalone:1.11.4
package jocker.rootfs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import jocker.runtime.ContainerError;

/**
 * Unpacking hostile tarballs: every entry below is built in memory and unpacked into
 * {@code tmp/rootfs}; beside it sits {@code tmp/outside}, a stand-in for the host. After each
 * test, nothing in {@code tmp} outside the rootfs may have changed. Entries are owned by the
 * current uid and gid, so no chown needs root.
 */
class RootfsTarTest {
    private static final String SOURCE = "hostile.tar";
    private static final LinkOption NOFOLLOW = LinkOption.NOFOLLOW_LINKS;

    @TempDir Path tmp;
    private Path rootfs;
    private Path outside;
    private int uid;
    private int gid;
    private List<String> before;

    /** A tarball under construction (entries written by TarBuilder), and what this test does with it. */
    private final class Tar {
        private final TarBuilder entries = new TarBuilder(uid, gid);

        Tar dir(String name) { entries.dir(name); return this; }

        Tar dir(String name, int mode) { entries.dir(name, mode); return this; }

        Tar file(String name, String content) { entries.file(name, content); return this; }

        Tar file(String name, String content, int mode) { entries.file(name, content, mode); return this; }

        Tar symlink(String name, String target) { entries.symlink(name, target); return this; }

        Tar hardlink(String name, String target) { entries.hardlink(name, target); return this; }

        Tar charDevice(String name) { entries.charDevice(name); return this; }

        byte[] bytes() throws IOException { return entries.bytes(); }

        void write(OutputStream sink) throws IOException { entries.write(sink); }

        RootfsTar.Result extract() throws IOException {
            return RootfsTar.extract(new ByteArrayInputStream(bytes()), rootfs, SOURCE);
        }

        /** Unpacks, expects a refusal, and returns the part of its message after the entry. */
        String refused(String entry) {
            ContainerError e = assertThrows(ContainerError.class, this::extract);
            String prefix = "refused to unpack " + SOURCE + ": entry \"" + entry + "\": ";
            assertTrue(e.getMessage().startsWith(prefix), "expected \"" + prefix + "...\", got: " + e.getMessage());
            assertEquals(ContainerError.RUNTIME, e.exitCode());
            return e.getMessage().substring(prefix.length());
        }
    }

    private Tar tar() { return new Tar(); }

    @BeforeEach
    void layOut() throws IOException {
        rootfs = Files.createDirectory(tmp.resolve("rootfs"));
        outside = Files.createDirectory(tmp.resolve("outside"));
        Files.writeString(outside.resolve("passwd"), "root:x:0:0::/root:/bin/sh\n");
        Files.createDirectory(outside.resolve("etc"));
        uid = (Integer) Files.getAttribute(tmp, "unix:uid");
        gid = (Integer) Files.getAttribute(tmp, "unix:gid");
        before = outsideRootfs();
    }

    @AfterEach
    void nothingLandedOutside() throws IOException {
        assertEquals(before, outsideRootfs(), "what is in " + tmp + " beside the rootfs changed");
        assertEquals("root:x:0:0::/root:/bin/sh\n", Files.readString(outside.resolve("passwd")));
    }

    /** Everything under tmp (the rootfs's parent) except the rootfs: path, type, size and mtime. */
    private List<String> outsideRootfs() throws IOException {
        List<String> seen = new ArrayList<>();
        try (Stream<Path> all = Files.walk(tmp)) {
            for (Path p : all.filter(p -> !p.equals(tmp) && !p.startsWith(rootfs)).sorted().toList()) {
                seen.add(tmp.relativize(p) + " " + (Files.isSymbolicLink(p) ? "link" : Files.isDirectory(p, NOFOLLOW)
                        ? "dir" : "file " + Files.size(p)) + " " + Files.getLastModifiedTime(p, NOFOLLOW).toMillis());
            }
        }
        return seen;
    }

    private Path in(String path) { return rootfs.resolve(path); }

    // ---- what a good tarball does -----------------------------------------------------------

    @Test
    void unpacksFilesDirectoriesLinksAndModes() throws IOException {
        RootfsTar.Result r = tar().dir("./").dir("bin/").file("bin/busybox", "#!elf", 0755).symlink("bin/sh", "busybox")
                .hardlink("bin/ls", "bin/busybox").dir("etc/").file("etc/hostname", "box\n").extract();
        assertEquals(new RootfsTar.Result(6, 0), r);
        assertEquals("#!elf", Files.readString(in("bin/busybox")));
        assertEquals("rwxr-xr-x", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(in("bin/busybox"))));
        assertEquals(Path.of("busybox"), Files.readSymbolicLink(in("bin/sh")));
        assertEquals(Files.getAttribute(in("bin/busybox"), "unix:ino"), Files.getAttribute(in("bin/ls"), "unix:ino"));
        assertEquals(uid, Files.getAttribute(in("etc/hostname"), "unix:uid"));
    }

    @Test
    void aReadOnlyDirectoryIsFilledBeforeItsModeIsSet() throws IOException {
        tar().dir("ro/", 0555).file("ro/f", "x").dir("ro/sub/", 0500).file("ro/sub/g", "y").extract();
        assertEquals("x", Files.readString(in("ro/f")));
        assertEquals("r-xr-xr-x", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(in("ro"))));
        assertEquals("r-x------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(in("ro/sub"))));
        for (Path d : List.of(in("ro/sub"), in("ro"))) Files.setPosixFilePermissions(d, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
    }

    @Test
    void deviceNodesAreSkipped() throws IOException {
        RootfsTar.Result r = tar().dir("dev/").charDevice("dev/null").extract();
        assertEquals(new RootfsTar.Result(1, 1), r);
        assertFalse(Files.exists(in("dev/null"), NOFOLLOW));
    }

    @Test
    void aLaterEntryReplacesAnEarlierOne() throws IOException {
        tar().file("x", "first").file("x", "second").dir("d/").file("d/f", "in d").file("d", "now a file").extract();
        assertEquals("second", Files.readString(in("x")));
        assertEquals("now a file", Files.readString(in("d")));
    }

    // ---- names that climb out ---------------------------------------------------------------

    @Test
    void dotDotIsRefused() {
        assertEquals("path \"../x\" climbs out of the rootfs", tar().file("../x", "pwned").refused("../x"));
        assertFalse(Files.exists(tmp.resolve("x")));
    }

    @Test
    void dotDotTwiceIsRefused() {
        String name = "../../jocker-unit-" + ProcessHandle.current().pid();
        assertEquals("path \"" + name + "\" climbs out of the rootfs", tar().file(name, "pwned").refused(name));
        assertFalse(Files.exists(rootfs.resolve(name).normalize()), "written into " + tmp.getParent());
    }

    @Test
    void dotDotAfterADirectoryThatItCancelsIsRefused() {
        assertEquals("path \"a/../../x\" climbs out of the rootfs", tar().file("a/../../x", "pwned").refused("a/../../x"));
        assertEquals("path \"./../outside/passwd\" climbs out of the rootfs",
                tar().file("./../outside/passwd", "pwned").refused("./../outside/passwd"));
    }

    @Test
    void dotDotThatStaysInsideIsCleaned() throws IOException {
        tar().file("a/../x", "ok").file("a/b/../../y", "ok too").extract();
        assertEquals("ok", Files.readString(in("x")));
        assertEquals("ok too", Files.readString(in("y")));
    }

    @Test
    void anAbsoluteNameLandsInside() throws IOException {
        tar().file("/abs/ok", "inside").file("//twice//slashed", "inside too").extract();
        assertEquals("inside", Files.readString(in("abs/ok")));
        assertEquals("inside too", Files.readString(in("twice/slashed")));
        assertFalse(Files.exists(Path.of("/abs/ok")));
    }

    @Test
    void theAbsolutePathOfTheHostLandsInside() throws IOException {
        String host = outside.resolve("passwd").toString();   // e.g. /tmp/junit.../outside/passwd
        tar().file(host, "pwned").extract();
        assertEquals("pwned", Files.readString(in(host.substring(1))));
    }

    // ---- symlinks on the way ----------------------------------------------------------------

    @Test
    void aFileThroughASymlinkToEtcStaysInside() throws IOException {
        String name = "jocker-unit-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
        Path host = Path.of("/etc", name);
        assertFalse(Files.exists(host, NOFOLLOW));
        try {
            tar().symlink("evil", "/etc").file("evil/" + name, "pwned").extract();
            assertFalse(Files.exists(host, NOFOLLOW), "written into the host's /etc");
        } finally {
            Files.deleteIfExists(host);   // only if a broken RootfsTar made it: the name is ours
        }
        assertEquals("pwned", Files.readString(in("etc/" + name)));
        assertEquals(Path.of("/etc"), Files.readSymbolicLink(in("evil")), "the link is kept as it is");
    }

    @Test
    void aFileThroughASymlinkToAnAbsoluteHostPathStaysInside() throws IOException {
        tar().symlink("evil", outside.toString()).file("evil/passwd", "pwned").file("evil/new", "pwned").extract();
        assertEquals("pwned", Files.readString(in(outside.toString().substring(1) + "/passwd")));
        assertFalse(Files.exists(outside.resolve("new")));
    }

    @Test
    void aRelativeSymlinkThatClimbsOutIsRefused() {
        String why = tar().symlink("up", "../outside").file("up/passwd", "pwned").refused("up/passwd");
        assertEquals("path goes through symlink \"/up\" -> \"../outside\", which points outside the rootfs", why);
    }

    @Test
    void aSymlinkDeeperDownThatClimbsOutIsRefused() {
        String why = tar().dir("a/b/").symlink("a/b/up", "../../../outside").file("a/b/up/passwd", "pwned")
                .refused("a/b/up/passwd");
        assertTrue(why.contains("\"/a/b/up\" -> \"../../../outside\""), why);
    }

    @Test
    void aRelativeSymlinkThatStaysInsideIsFollowedInside() throws IOException {
        tar().dir("a/b/").symlink("a/b/up", "../..").file("a/b/up/top", "at the top").extract();
        assertEquals("at the top", Files.readString(in("top")));
    }

    @Test
    void aSymlinkChainIsFollowedInside() throws IOException {
        tar().dir("real/").symlink("l3", "real").symlink("l2", "l3").symlink("l1", "/l2").file("l1/f", "end").extract();
        assertEquals("end", Files.readString(in("real/f")));
    }

    @Test
    void aSymlinkChainThatEndsOutsideIsRefused() {
        String why = tar().dir("d/").symlink("d/l2", "../../outside").symlink("l1", "d/l2").file("l1/passwd", "pwned")
                .refused("l1/passwd");
        assertTrue(why.contains("points outside the rootfs"), why);
    }

    @Test
    void fortyOneNestedSymlinksAreTooMany() {
        Tar t = tar().dir("d/");
        for (int i = 0; i < 41; i++) t.symlink("l" + i, i == 40 ? "d" : "l" + (i + 1));
        assertEquals("too many levels of symbolic links", t.file("l0/f", "x").refused("l0/f"));
    }

    @Test
    void fortyNestedSymlinksAreFine() throws IOException {
        Tar t = tar().dir("d/");
        for (int i = 0; i < 40; i++) t.symlink("l" + i, i == 39 ? "d" : "l" + (i + 1));
        t.file("l0/f", "x").extract();
        assertEquals("x", Files.readString(in("d/f")));
    }

    @Test
    void aSymlinkLoopIsTooMany() {
        assertEquals("too many levels of symbolic links",
                tar().symlink("a", "b").symlink("b", "a").file("a/f", "x").refused("a/f"));
    }

    @Test
    void aFileOverASymlinkReplacesTheLinkNotItsTarget() throws IOException {
        tar().symlink("passwd", outside.resolve("passwd").toString()).file("passwd", "mine").extract();
        assertFalse(Files.isSymbolicLink(in("passwd")));
        assertEquals("mine", Files.readString(in("passwd")));
    }

    @Test
    void aDirectoryOverASymlinkReplacesTheLink() throws IOException {
        tar().symlink("etc", outside.resolve("etc").toString()).dir("etc/").file("etc/hosts", "mine").extract();
        assertTrue(Files.isDirectory(in("etc"), NOFOLLOW));
        assertEquals("mine", Files.readString(in("etc/hosts")));
    }

    // ---- hard links -------------------------------------------------------------------------

    @Test
    void aHardLinkToAMissingTargetIsRefused() {
        assertEquals("hard link to \"nope\", which is not a file in the archive",
                tar().hardlink("h", "nope").refused("h"));
    }

    @Test
    void aHardLinkToADirectoryIsRefused() {
        assertEquals("hard link to \"d\", which is not a file in the archive", tar().dir("d/").hardlink("h", "d").refused("h"));
    }

    @Test
    void aHardLinkOutOfTheRootfsIsRefused() {
        assertEquals("path \"../outside/passwd\" climbs out of the rootfs",
                tar().hardlink("h", "../outside/passwd").refused("h"));
    }

    @Test
    void aHardLinkToAnAbsoluteHostPathIsTakenInside() {
        String host = outside.resolve("passwd").toString();
        String why = tar().hardlink("h", host).refused("h");
        assertTrue(why.endsWith("does not exist"), why);
    }

    @Test
    void aHardLinkThroughASymlinkToTheHostIsRefused() {
        String why = tar().symlink("evil", outside.toString()).hardlink("h", "evil/passwd").refused("h");
        assertTrue(why.endsWith("does not exist"), why);
    }

    @Test
    void aHardLinkToASymlinkLinksTheSymlinkItself() throws IOException {
        Path host = outside.resolve("passwd");
        tar().symlink("s", host.toString()).hardlink("h", "s").extract();
        assertTrue(Files.isSymbolicLink(in("h")), "link(2) does not follow a symlink");
        assertNotEquals(Files.getAttribute(host, "unix:ino"), Files.getAttribute(in("h"), "unix:ino", NOFOLLOW));
    }

    // ---- files used as directories, odd names -----------------------------------------------

    @Test
    void anEntryThroughAFileIsRefused() {
        assertEquals("\"/f\" is not a directory", tar().file("f", "plain").file("f/g", "x").refused("f/g"));
        assertEquals("\"/f\" is not a directory", tar().file("f", "plain").dir("f/sub/").refused("f/sub/"));
    }

    @Test
    void anEntryThroughASymlinkToAFileIsRefused() {
        String why = tar().file("f", "plain").symlink("l", "f").file("l/g", "x").refused("l/g");
        assertEquals("\"/f\" is not a directory", why);
    }

    @Test
    void namesWithNewlinesAreJustNames() throws IOException {
        tar().file("a\nb", "one").dir("new\nline/").file("new\nline/..\n", "two").extract();
        assertEquals("one", Files.readString(in("a\nb")));
        assertEquals("two", Files.readString(in("new\nline/..\n")));
    }

    @Test
    void aRefusedNameWithANewlineIsQuotedAsItIs() {
        assertEquals("path \"../\nx\" climbs out of the rootfs", tar().file("../\nx", "pwned").refused("../\nx"));
    }

    @Test
    void theRootItselfIsSkippedAndAHardLinkToItRefused() throws IOException {
        assertEquals(new RootfsTar.Result(0, 0), tar().dir("./").dir("/").extract());
        assertEquals("hard link to the rootfs itself", tar().hardlink("h", "./").refused("h"));
    }

    @Test
    void aLongNameIsUnpacked() throws IOException {
        String name = "d/" + "n".repeat(200) + "/" + "f".repeat(200);
        tar().file(name, "long").extract();
        assertEquals("long", Files.readString(in(name)));
    }

    // ---- whole tarballs ---------------------------------------------------------------------

    @Test
    void aGzipTarballIsRecognisedAndTheTargetCreated() throws IOException {
        Path gz = tmp.resolve("outside/image.tar.gz");
        try (OutputStream out = new GzipCompressorOutputStream(Files.newOutputStream(gz))) {
            tar().dir("bin/").file("bin/true", "").write(out);
        }
        before = outsideRootfs();
        Files.delete(rootfs);
        assertEquals(new RootfsTar.Result(2, 0), RootfsTar.extract(gz, rootfs));
        assertTrue(Files.isRegularFile(in("bin/true")));
    }

    @Test
    void aTarballWithoutFilesIsAnError() throws IOException {
        Path empty = tmp.resolve("outside/empty.tar");
        Files.write(empty, tar().bytes());
        before = outsideRootfs();
        Files.delete(rootfs);
        ContainerError e = assertThrows(ContainerError.class, () -> RootfsTar.extract(empty, rootfs));
        assertEquals("failed to unpack image " + empty + ": it holds no files (is it a tar archive?)", e.getMessage());
    }

    @Test
    void aTruncatedGzipTarballIsAnErrorNamingTheImage() throws IOException {
        Path gz = tmp.resolve("outside/cut.tar.gz");
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (OutputStream out = new GzipCompressorOutputStream(buf)) {
            tar().file("big", "x".repeat(100_000)).write(out);
        }
        byte[] all = buf.toByteArray();
        Files.write(gz, java.util.Arrays.copyOf(all, all.length / 2));
        before = outsideRootfs();
        Files.delete(rootfs);
        ContainerError e = assertThrows(ContainerError.class, () -> RootfsTar.extract(gz, rootfs));
        assertTrue(e.getMessage().startsWith("failed to unpack image " + gz + ": "), e.getMessage());
    }

    @Test
    void theTargetMustNotExist() {
        assertThrows(java.nio.file.FileAlreadyExistsException.class,
                () -> RootfsTar.extract(outside.resolve("passwd"), rootfs));
    }

    @Test
    void decompressLeavesAPlainStreamAsItIs() throws IOException {
        byte[] plain = tar().file("f", "x").bytes();
        try (var in = RootfsTar.decompress(new java.io.BufferedInputStream(new ByteArrayInputStream(plain)))) {
            assertArrayEquals(plain, in.readAllBytes());
        }
    }
}
