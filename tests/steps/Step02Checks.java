import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Step 02 chroot, black-box: {@code run IMAGE COMMAND} runs the command inside the image's files,
 * the host's files stay out of reach in both directions, the container directory is gone after
 * the run, and a hostile tarball is refused without leaving anything behind.
 */
@DisplayName("step 02 chroot")
@ExtendWith(JockerExtension.class)
class Step02Checks {

    private final Jocker jocker;

    Step02Checks(Jocker jocker) {
        this.jocker = jocker;
    }

    /** A concept's hint, which also names the step whose file this runs, when it is a later one. */
    private Hint h(Hint c) { return Hint.onStep(jocker, 2, c); }

    @Test
    @Essential
    @Order(1)
    @DisplayName("the container sees the image's files (its /etc/passwd is the image's)")
    void seesTheImage() throws IOException {
        String passwd = new String(read(jocker.image(), "etc/passwd"), StandardCharsets.UTF_8);
        Jocker.Result r = jocker.run(jocker.container("cat", "/etc/passwd"));
        Hint.exits(r, 0, h(Concept.BOTH));
        Hint.stdoutIs(r, passwd, h(Concept.BOTH));
    }

    @Test
    @Order(2)
    @DisplayName("a file created in the container does not appear on the host; the command starts in /")
    void createdFileStaysInside() throws IOException {
        String token = Jocker.token();
        Path onHost = Path.of("/jocker-check-" + token);
        try {
            Jocker.Result r = jocker.run(jocker.container("sh", "-c",
                    "echo " + token + " > /jocker-check-" + token + " && cat /jocker-check-" + token + " && pwd"));
            Hint.exits(r, 0, h(Concept.BOTH));
            Hint.stdoutIs(r, token + "\n/\n", h(Concept.CHROOT));
            Hint.check(r, !Files.exists(onHost, LinkOption.NOFOLLOW_LINKS),
                    "the file the container wrote to its / appeared on the host as " + onHost, h(Concept.CHROOT));
            assertNoLeftovers(jocker, r);
        } finally {
            Files.deleteIfExists(onHost);
        }
    }

    @Test
    @Essential
    @Order(3)
    @DisplayName("a file on the host is not visible in the container")
    void hostFileIsHidden() throws IOException {
        String token = Jocker.token();
        Path dir = Path.of("/jocker-check-" + token);
        Path secret = dir.resolve("secret");
        Files.createDirectory(dir);
        try {
            Files.writeString(secret, token + "\n");
            Jocker.Result r = jocker.run(jocker.container("sh", "-c", "if test -e " + secret + "; then echo visible; else echo hidden; fi"));
            Hint.exits(r, 0, h(Concept.BOTH));
            Hint.stdoutIs(r, "hidden\n", h(Concept.CHROOT));
        } finally {
            Files.deleteIfExists(secret);
            Files.deleteIfExists(dir);
        }
    }

    @Test
    @Essential
    @Order(4)
    @DisplayName("the container directory under $JOCKER_ROOT/containers is gone after the run, also after a failing command")
    void containerDirectoryIsRemoved() {
        Jocker.Result r = jocker.run(jocker.container("sh", "-c", "touch /created-in-container; exit 3"));
        Hint.exits(r, 3, h(Concept.BOTH));
        assertNoLeftovers(jocker, r);
    }

    @Test
    @Order(5)
    @DisplayName("a tarball entry that climbs out with ../ is refused with 125 and one line, nothing left behind")
    void refusesDotDot() throws IOException {
        String token = Jocker.token();
        Path outside = Path.of("/tmp/jocker-escape-" + token);
        String name = "../".repeat(12) + "tmp/jocker-escape-" + token;
        Path tar = jocker.root().resolve("hostile-dotdot-" + token + ".tar");
        try (TarArchiveOutputStream out = tarOut(tar)) {
            file(out, "hello", "a harmless file first\n");
            file(out, name, "escaped\n");
        }
        try {
            Jocker.Result r = jocker.run(Jocker.containerOf(tar.toString(), List.of(), "true"));
            refused(r, "jocker-escape-" + token);
            Hint.check(r, !Files.exists(outside, LinkOption.NOFOLLOW_LINKS), "the entry " + name + " was written to " + outside,
                    h(Concept.HOSTILE));
            assertNoLeftovers(jocker, r);
        } finally {
            Files.deleteIfExists(outside);
            Files.deleteIfExists(tar);
        }
    }

    @Test
    @Order(6)
    @DisplayName("a file written through a symlink that points outside is refused with 125 and one line, nothing left behind")
    void refusesSymlinkEscape() throws IOException {
        String token = Jocker.token();
        Path hostDir = Files.createDirectory(Path.of("/tmp/jocker-check-dir-" + token));
        Path planted = hostDir.resolve("planted");
        Path tar = jocker.root().resolve("hostile-symlink-" + token + ".tar");
        try (TarArchiveOutputStream out = tarOut(tar)) {
            symlink(out, "evil", "../".repeat(12) + "tmp/jocker-check-dir-" + token);
            file(out, "evil/planted", "planted through a symlink\n");
        }
        try {
            Jocker.Result r = jocker.run(Jocker.containerOf(tar.toString(), List.of(), "true"));
            refused(r, "evil/planted");
            Hint.check(r, !Files.exists(planted, LinkOption.NOFOLLOW_LINKS), "the entry evil/planted was written to " + planted,
                    h(Concept.HOSTILE));
            assertNoLeftovers(jocker, r);
        } finally {
            Files.deleteIfExists(planted);
            Files.deleteIfExists(hostDir);
            Files.deleteIfExists(tar);
        }
    }

    @Test
    @Order(7)
    @DisplayName("a hard link to a host file is refused with 125 and one line, and the host file is untouched")
    void refusesHardLinkToHost() throws IOException {
        String token = Jocker.token();
        Path hostFile = Path.of("/tmp/jocker-check-host-" + token);
        Files.writeString(hostFile, token + "\n");
        Path tar = jocker.root().resolve("hostile-hardlink-" + token + ".tar");
        try (TarArchiveOutputStream out = tarOut(tar)) {
            file(out, "hello", "a harmless file first\n");
            TarArchiveEntry link = new TarArchiveEntry("stolen", TarConstants.LF_LINK);
            link.setLinkName(hostFile.toString());
            out.putArchiveEntry(link);
            out.closeArchiveEntry();
        }
        try {
            Jocker.Result r = jocker.run(Jocker.containerOf(tar.toString(), List.of(), "true"));
            refused(r, "stolen");
            Hint.check(r, Files.readString(hostFile).equals(token + "\n"), "the host file " + hostFile + " was changed", h(Concept.HOSTILE));
            Hint.check(r, ((Number) Files.getAttribute(hostFile, "unix:nlink")).intValue() == 1,
                    "the host file " + hostFile + " has a hard link left somewhere", h(Concept.HOSTILE));
            assertNoLeftovers(jocker, r);
        } finally {
            Files.deleteIfExists(hostFile);
            Files.deleteIfExists(tar);
        }
    }

    @Test
    @Order(8)
    @DisplayName("absolute paths in a tarball (an entry /x, a symlink to /tmp) land inside the rootfs")
    void absolutePathsLandInside() throws IOException {
        String token = Jocker.token();
        Path tar = jocker.root().resolve("absolute-" + token + ".tar");
        Path hostAbs = Path.of("/jocker-abs-" + token);
        Path hostPlanted = Path.of("/tmp/jocker-planted-" + token);
        try (TarArchiveOutputStream out = tarOut(tar)) {
            copyEntries(jocker.image(), out);   // the busybox image as it is, then the entries under test
            file(out, "/jocker-abs-" + token, "abs " + token + "\n");
            symlink(out, "/hostlink-" + token, "/tmp");
            file(out, "/hostlink-" + token + "/jocker-planted-" + token, "planted " + token + "\n");
        }
        try {
            Jocker.Result r = jocker.run(Jocker.containerOf(tar.toString(), List.of(), "sh", "-c",
                    "cat /jocker-abs-" + token + " /tmp/jocker-planted-" + token));
            Hint.exits(r, 0, h(Concept.BOTH));
            Hint.stdoutIs(r, "abs " + token + "\nplanted " + token + "\n", h(Concept.HOSTILE));
            Hint.check(r, !Files.exists(hostAbs, LinkOption.NOFOLLOW_LINKS), "the entry /jocker-abs-" + token + " was written to the host's /",
                    h(Concept.HOSTILE));
            Hint.check(r, !Files.exists(hostPlanted, LinkOption.NOFOLLOW_LINKS),
                    "the entry written through the symlink /hostlink-" + token + " -> /tmp landed in the host's /tmp", h(Concept.HOSTILE));
            assertNoLeftovers(jocker, r);
        } finally {
            Files.deleteIfExists(hostAbs);
            Files.deleteIfExists(hostPlanted);
            Files.deleteIfExists(tar);
        }
    }

    @Test
    @Order(9)
    @DisplayName("a missing image gives 125 and one line that names it")
    void missingImage() {
        String image = Jocker.token("no-such-image-");
        Jocker.Result r = jocker.run(Jocker.containerOf(image, List.of(), "true"));
        refused(r, image);
        assertNoLeftovers(jocker, r);
    }

    @Test
    @Order(10)
    @DisplayName("an empty file or random bytes as IMAGE give 125 and one line that names it, and leave nothing")
    void notATarball() throws IOException {
        for (String kind : List.of("empty", "random")) {
            Path tar = jocker.root().resolve(kind + "-" + Jocker.token() + ".tar");
            byte[] bytes = new byte[kind.equals("empty") ? 0 : 4096];
            new java.util.Random(42).nextBytes(bytes);
            Files.write(tar, bytes);
            try {
                Jocker.Result r = jocker.run(Jocker.containerOf(tar.toString(), List.of(), "true"));
                refused(r, tar.getFileName().toString());
                assertNoLeftovers(jocker, r);
            } finally {
                Files.deleteIfExists(tar);
            }
        }
    }

    // ------------------------------------------------------------------------------------------

    /**
     * Fails unless $JOCKER_ROOT/containers holds no container directory after the run. The
     * removal is given code; it fails when the rootfs cannot be removed, e.g. a mount still on it.
     */
    static void assertNoLeftovers(Jocker jocker, Jocker.Result r) {
        List<Path> left = jocker.leftovers();
        Hint.check(r, left.isEmpty(), "the container directory is still there after the run: " + left,
                Hint.onStep(jocker, 2, Concept.LEFTOVERS));
    }

    /** An image the runtime must refuse: 125, one line that names {@code part}, nothing on stdout. */
    private void refused(Jocker.Result r, String part) {
        Hint.exits(r, 125, h(Concept.HOSTILE));
        Hint.oneLineError(r, h(Concept.HOSTILE), part);
        Hint.stdoutIs(r, "", h(Concept.HOSTILE));
    }

    /**
     * What each check depends on: the TODOs whose code it runs, the sections of chapter 02 that
     * explain it (the exact titles). A failure's first line ends with its bracket.
     */
    enum Concept implements Hint {
        /** A run that must work: the image unpacked, then the chroot. */
        BOTH("02.1 02.2", "TODO 02.1", "TODO 02.2"),
        CHROOT("02.2", "TODO 02.2"),
        /** RootfsTar.extract refuses what would land outside, and missing or broken images. */
        HOSTILE("02.1", "A tarball is hostile input"),
        /** Given code removes the container directory. */
        LEFTOVERS("", "What an image is, for now");

        private final String hint;

        Concept(String todos, String... sections) { this.hint = Hint.of("02-chroot.adoc", todos, sections); }

        @Override
        public String hint() { return hint; }
    }

    /** A file's bytes from a tarball, its name given without the leading "./". */
    static byte[] read(Path tarball, String name) throws IOException {
        try (TarArchiveInputStream in = new TarArchiveInputStream(Files.newInputStream(tarball))) {
            for (TarArchiveEntry e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
                if (e.getName().replaceFirst("^\\./", "").equals(name)) return in.readAllBytes();
            }
        }
        throw new IOException("no " + name + " in " + tarball);
    }

    /** Every entry of the tarball {@code image}, as it is, into {@code out}: an image to add entries to. */
    static void copyEntries(Path image, TarArchiveOutputStream out) throws IOException {
        try (TarArchiveInputStream in = new TarArchiveInputStream(Files.newInputStream(image))) {
            for (TarArchiveEntry e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
                out.putArchiveEntry(e);
                if (e.isFile()) in.transferTo(out);
                out.closeArchiveEntry();
            }
        }
    }

    static TarArchiveOutputStream tarOut(Path tar) throws IOException {
        OutputStream file = Files.newOutputStream(tar);
        TarArchiveOutputStream out = new TarArchiveOutputStream(file);
        out.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
        out.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
        return out;
    }

    /**
     * A file entry. The name is kept as given ({@code new TarArchiveEntry(name)} would strip a
     * leading "/" and "../"): hostile archives are made by hand, not by a careful tar.
     */
    static void file(TarArchiveOutputStream out, String name, String content) throws IOException {
        byte[] bytes = content.getBytes(StandardCharsets.UTF_8);
        TarArchiveEntry e = new TarArchiveEntry(name, true);
        e.setSize(bytes.length);
        e.setMode(0100644);
        out.putArchiveEntry(e);
        out.write(bytes);
        out.closeArchiveEntry();
    }

    static void symlink(TarArchiveOutputStream out, String name, String target) throws IOException {
        TarArchiveEntry e = new TarArchiveEntry(name, TarConstants.LF_SYMLINK, true);
        e.setLinkName(target);
        out.putArchiveEntry(e);
        out.closeArchiveEntry();
    }
}
