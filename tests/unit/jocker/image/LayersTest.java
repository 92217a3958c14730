//DEPS org.junit.platform:junit-platform-console-standalone:1.11.4
package jocker.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import jocker.kernel.Trees;
import jocker.rootfs.RootfsTar;
import jocker.rootfs.TarBuilder;
import jocker.runtime.ContainerError;

/**
 * Layers applied in order with whiteouts, as the OCI image spec (layer.md) has them, through a
 * reference implementation of the whiteout rule ({@link #whiteout}: the tests' own; step 06's
 * learner writes ImageHooks.applyWhiteout). {@code tmp/outside} stands for the host: it must not
 * change.
 */
class LayersTest {
    private static final LinkOption NOFOLLOW = LinkOption.NOFOLLOW_LINKS;

    @TempDir Path tmp;
    private Path rootfs;
    private Path outside;
    private List<String> before;

    @BeforeEach
    void layOut() throws IOException {
        rootfs = Files.createDirectory(tmp.resolve("rootfs"));
        outside = Files.createDirectory(tmp.resolve("outside"));
        Files.writeString(outside.resolve("passwd"), "host\n");
        before = outsideRootfs();
    }

    @AfterEach
    void nothingChangedOutside() throws IOException {
        assertEquals(before, outsideRootfs());
    }

    private List<String> outsideRootfs() throws IOException {
        try (Stream<Path> all = Files.walk(outside)) {
            return all.map(p -> outside.relativize(p).toString()).sorted().toList();
        }
    }

    // ---- the reference whiteout rule --------------------------------------------------------

    /**
     * The whiteout rule of layer.md, correct whatever the order of a layer's entries: a whiteout
     * removes what lower layers put at a path; what this layer wrote there stays.
     */
    static boolean whiteout(Path dir, String name, Set<Path> thisLayer) throws IOException {
        if (!name.startsWith(RootfsTar.WHITEOUT_PREFIX)) return false;
        if (name.equals(RootfsTar.OPAQUE_WHITEOUT)) {
            whiteOutChildren(dir, thisLayer);
        } else {
            whiteOut(dir.resolve(name.substring(RootfsTar.WHITEOUT_PREFIX.length())), thisLayer);
        }
        return true;
    }

    /** Deletes {@code path} whole, unless this layer wrote at or below it: then only the rest. */
    private static void whiteOut(Path path, Set<Path> thisLayer) throws IOException {
        if (!thisLayer.contains(path)) {
            if (Files.isDirectory(path, NOFOLLOW)) Trees.delete(path); else Files.deleteIfExists(path);
        } else if (Files.isDirectory(path, NOFOLLOW)) {
            whiteOutChildren(path, thisLayer);
        }
    }

    private static void whiteOutChildren(Path dir, Set<Path> thisLayer) throws IOException {
        List<Path> children = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            s.forEach(children::add);
        }
        for (Path child : children) whiteOut(child, thisLayer);
    }

    // ---- helpers ----------------------------------------------------------------------------

    private TarBuilder layer() throws IOException { return TarBuilder.ownedLike(tmp); }

    private RootfsTar.Result apply(TarBuilder layer) throws IOException {
        return Layers.apply(new ByteArrayInputStream(layer.bytes()), MediaTypes.OCI_LAYER_TAR, rootfs,
                LayersTest::whiteout, "layer under test");
    }

    private Path in(String path) { return rootfs.resolve(path); }

    private boolean exists(String path) { return Files.exists(in(path), NOFOLLOW); }

    /** Every path in the rootfs, relative, sorted: the result of applying the layers. */
    private List<String> tree() throws IOException {
        try (Stream<Path> all = Files.walk(rootfs)) {
            return all.filter(p -> !p.equals(rootfs)).map(p -> rootfs.relativize(p).toString()).sorted().toList();
        }
    }

    // ---- whiteouts ----------------------------------------------------------------------------

    @Test
    void aWhiteoutRemovesAFileADirectoryTreeOrASymlinkOfALowerLayer() throws IOException {
        apply(layer().file("etc/a", "a").file("etc/b", "b").file("var/cache/x/y", "y").symlink("l", "etc/b"));
        RootfsTar.Result r = apply(layer().file("etc/.wh.a", "").file("var/.wh.cache", "").file(".wh.l", ""));
        assertEquals(List.of("etc", "etc/b", "var"), tree());
        assertEquals(new RootfsTar.Result(0, 0, 3), r);
    }

    @Test
    void anOpaqueDirectoryHidesEverythingBelowFromLowerLayers() throws IOException {
        apply(layer().file("a/b/c/bar", "old").file("a/x", "old").file("a/.hidden", "old").file("keep", "k"));
        apply(layer().dir("a/").file("a/.wh..wh..opq", "").dir("a/b/").dir("a/b/c/").file("a/b/c/foo", "new"));
        assertEquals(List.of("a", "a/b", "a/b/c", "a/b/c/foo", "keep"), tree());
    }

    @Test
    void anOpaqueWhiteoutAppliesFirstWhereverItComesInTheLayer() throws IOException {
        apply(layer().file("a/b/c/bar", "old").file("a/x", "old"));
        apply(layer().dir("a/").dir("a/b/").dir("a/b/c/").file("a/b/c/foo", "new").file("a/.wh..wh..opq", ""));
        assertEquals(List.of("a", "a/b", "a/b/c", "a/b/c/foo"), tree());
    }

    @Test
    void entriesOfTheSameLayerAreKept() throws IOException {
        apply(layer().file("x/old", "old"));
        apply(layer().file("new", "n").file(".wh.new", "").file("x/mine", "m").file(".wh.x", ""));
        assertEquals(List.of("new", "x", "x/mine"), tree());
    }

    @Test
    void whiteoutsNeverAppearAndAWhiteoutOfNothingIsNothing() throws IOException {
        apply(layer().file("a", "a"));
        apply(layer().file(".wh.missing", "").file("d/.wh.missing", "").file("a/.wh.x", "").file("b", "b"));
        assertEquals(List.of("a", "b"), tree());
    }

    @Test
    void aWhiteoutUnderWhatIsNowAFileIsNothing() throws IOException {
        // umoci writes layers like this one when a directory became a file
        apply(layer().file("sub/old", "old"));
        RootfsTar.Result r = apply(layer().file("sub", "now a file").file("sub/.wh.old", ""));
        assertEquals(new RootfsTar.Result(1, 0, 1), r);
        assertEquals("now a file", Files.readString(in("sub")));
    }

    @Test
    void aWhiteoutGoesThroughAUsrmergeLinkAndKeepsIt() throws IOException {
        apply(layer().file("usr/bin/sh", "sh").file("usr/bin/ls", "ls").symlink("bin", "usr/bin"));
        apply(layer().file("bin/.wh.sh", ""));
        assertTrue(Files.isSymbolicLink(in("bin")));
        assertFalse(exists("usr/bin/sh"));
        assertTrue(exists("usr/bin/ls"));
    }

    @Test
    void aWhiteoutCannotReachOutOfTheRootfs() throws IOException {
        apply(layer().file("passwd", "inside").symlink("up", "../../..").symlink("host", outside.toString()));
        apply(layer().file("up/.wh.passwd", "").file("host/.wh.passwd", "").file(".wh.host", ""));
        assertFalse(exists("passwd"), "up/ is the rootfs itself, as inside the container");
        assertFalse(exists("host"), "the link is deleted, not what it points to");
        assertEquals("host\n", Files.readString(outside.resolve("passwd")));
    }

    @Test
    void aWhiteoutThatNamesNoFileIsRefused() throws IOException {
        apply(layer().dir("d/"));
        ContainerError e = assertThrows(ContainerError.class, () -> apply(layer().file("d/.wh..", "")));
        assertEquals("refused to unpack layer under test: entry \"d/.wh..\": whiteout \".wh..\" names no file", e.getMessage());
        assertTrue(exists("d"));
    }

    // ---- compression and media types ----------------------------------------------------------

    @Test
    void plainGzipAndZstdLayersAreApplied() throws IOException {
        Layers.apply(new ByteArrayInputStream(layer().file("plain", "p").bytes()), MediaTypes.OCI_LAYER_TAR, rootfs,
                LayersTest::whiteout, "l1");
        Layers.apply(new ByteArrayInputStream(layer().file("gz", "g").gzip()), MediaTypes.DOCKER_LAYER_GZIP, rootfs,
                LayersTest::whiteout, "l2");
        Layers.apply(new ByteArrayInputStream(layer().file("zst", "z").file(".wh.plain", "").zstd()), MediaTypes.OCI_LAYER_ZSTD,
                rootfs, LayersTest::whiteout, "l3");
        assertEquals(List.of("gz", "zst"), tree());
    }

    @Test
    void theBytesDecideWhenTheMediaTypeIsWrong() throws IOException {
        Layers.apply(new ByteArrayInputStream(layer().file("a", "a").bytes()), MediaTypes.OCI_LAYER_GZIP, rootfs,
                LayersTest::whiteout, "labelled gzip");
        Layers.apply(new ByteArrayInputStream(layer().file("b", "b").zstd()), MediaTypes.OCI_LAYER_TAR, rootfs,
                LayersTest::whiteout, "labelled tar");
        assertEquals(List.of("a", "b"), tree());
    }

    @Test
    void aGzipOfSeveralMembersIsReadToTheEnd() throws IOException {
        byte[] tar = layer().file("first", "1").file("second", "2".repeat(5000)).bytes();
        java.io.ByteArrayOutputStream twoMembers = new java.io.ByteArrayOutputStream();
        for (byte[] half : List.of(java.util.Arrays.copyOfRange(tar, 0, 1024), java.util.Arrays.copyOfRange(tar, 1024, tar.length))) {
            try (OutputStream gz = new java.util.zip.GZIPOutputStream(twoMembers) { @Override public void close() throws IOException { finish(); } }) {
                gz.write(half);
            }
        }
        Layers.apply(new ByteArrayInputStream(twoMembers.toByteArray()), MediaTypes.OCI_LAYER_GZIP, rootfs, LayersTest::whiteout, "pigz");
        assertEquals("2".repeat(5000), Files.readString(in("second")));
    }

    @Test
    void whatIsNotALayerIsRefused() {
        ContainerError e = assertThrows(ContainerError.class, () -> Layers.apply(new ByteArrayInputStream(layer().bytes()),
                MediaTypes.OCI_CONFIG, rootfs, LayersTest::whiteout, "layer 3f2a9c1b7d4e of x:1"));
        assertEquals("failed to unpack layer 3f2a9c1b7d4e of x:1: unsupported layer media type \""
                + MediaTypes.OCI_CONFIG + "\"", e.getMessage());
    }

    // ---- an image's layers from blob files ----------------------------------------------------

    /** Writes a blob as a store would, and returns its descriptor. */
    private Descriptor blob(byte[] bytes, String mediaType) throws IOException {
        Digest d = Digest.sha256(bytes);
        Files.createDirectories(tmp.resolve("blobs"));
        Files.write(tmp.resolve("blobs").resolve(d.encoded()), bytes);
        return new Descriptor(mediaType, d, bytes.length);
    }

    private void applyImage(List<Descriptor> layers) {
        Layers.apply(layers, d -> tmp.resolve("blobs").resolve(d.encoded()), rootfs, HOOKS, "test:latest");
    }

    @Test
    void anImagesLayersAreAppliedInOrder() throws IOException {
        Descriptor base = blob(layer().file("etc/os-release", "base").file("etc/motd", "hi").gzip(), MediaTypes.OCI_LAYER_GZIP);
        Descriptor top = blob(layer().file("etc/os-release", "top").file("etc/.wh.motd", "").zstd(), MediaTypes.OCI_LAYER_ZSTD);
        applyImage(List.of(base, top));
        assertEquals(List.of("etc", "etc/os-release"), tree());
        assertEquals("top", Files.readString(in("etc/os-release")));
    }

    @Test
    void aMissingOrCorruptBlobIsOneLineNamingTheLayer() throws IOException {
        Descriptor good = blob(layer().file("a", "a").gzip(), MediaTypes.OCI_LAYER_GZIP);
        Files.delete(tmp.resolve("blobs").resolve(good.digest.encoded()));
        ContainerError missing = assertThrows(ContainerError.class, () -> applyImage(List.of(good)));
        assertTrue(missing.getMessage().startsWith("failed to unpack layer " + good.digest.shortId() + " of test:latest: no such file"),
                missing.getMessage());

        byte[] gz = layer().file("big", "x".repeat(100_000)).gzip();
        Descriptor cut = blob(java.util.Arrays.copyOf(gz, gz.length / 2), MediaTypes.OCI_LAYER_GZIP);
        ContainerError corrupt = assertThrows(ContainerError.class, () -> applyImage(List.of(cut)));
        assertTrue(corrupt.getMessage().startsWith("failed to unpack layer " + cut.digest.shortId() + " of test:latest: "),
                corrupt.getMessage());
    }

    /** The hooks an image's layers need: the whiteout rule; nothing else is called. */
    private static final ImageHooks HOOKS = new ImageHooks() {
        @Override public String authorize(WwwAuthenticate.Challenge c, String scope, Credentials.Login login, TokenService t) {
            throw new AssertionError("not called");
        }

        @Override public Descriptor chooseManifest(Index index, Platform platform, String image) {
            throw new AssertionError("not called");
        }

        @Override public void copyVerified(InputStream body, Descriptor expected, OutputStream out, String what) {
            throw new AssertionError("not called");
        }

        @Override public boolean applyWhiteout(Path dir, String name, Set<Path> thisLayer) throws IOException {
            return whiteout(dir, name, thisLayer);
        }
    };
}
