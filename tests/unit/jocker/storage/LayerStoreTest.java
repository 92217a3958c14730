//DEPS org.junit.platform:junit-platform-console-standalone:1.11.4
package jocker.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import jocker.image.Descriptor;
import jocker.image.Digest;
import jocker.image.MediaTypes;
import jocker.rootfs.TarBuilder;
import jocker.runtime.ContainerError;

/**
 * The overlay driver's layer store: a layer is unpacked once, under its chain id, through a
 * temporary directory renamed into place only once its content matches the image config's diff id;
 * what a killed runtime left half-done is never used; two unpackers of one layer do it once;
 * prune keeps what it is told to and deletes the rest with their short links. The layers here have
 * no whiteouts (those are RootfsTarOwnDirectoryTest's and ChangesTest's), so no root is needed.
 */
class LayerStoreTest {
    private static final LinkOption NOFOLLOW = LinkOption.NOFOLLOW_LINKS;
    private final StorageHooks hooks = new ReferenceStorageHooks();

    @TempDir Path tmp;
    private LayerStore store;
    private Path blobs;

    @BeforeEach
    void layOut() throws IOException {
        store = new LayerStore(tmp.resolve("storage/overlay"));
        blobs = Files.createDirectory(tmp.resolve("blobs"));
    }

    /** A gzip layer blob on disk and what the image config says of it (its true diff id unless told otherwise). */
    private LayerStore.Source source(TarBuilder tar, Digest diffId) throws IOException {
        byte[] gz = tar.gzip();
        Digest digest = Digest.sha256(gz);
        Path blob = Files.write(blobs.resolve(digest.encoded()), gz);
        return new LayerStore.Source(new Descriptor(MediaTypes.OCI_LAYER_GZIP, digest, gz.length), blob,
                diffId == null ? Digest.sha256(tar.bytes()) : diffId, "layer " + digest.shortId() + " of test:latest");
    }

    private LayerStore.Source source(TarBuilder tar) throws IOException { return source(tar, null); }

    private TarBuilder layer(String file, String content) throws IOException {
        return TarBuilder.ownedLike(tmp).dir("etc/").file("etc/" + file, content);
    }

    /** Everything under the store, relative: what a test must find there and nothing else. */
    private Set<String> tree() throws IOException {
        Set<String> all = new TreeSet<>();
        if (!Files.exists(store.home())) return all;
        try (Stream<Path> s = Files.walk(store.home())) {
            s.filter(p -> !p.equals(store.home())).forEach(p -> all.add(store.home().relativize(p).toString()));
        }
        return all;
    }

    private List<String> names(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private void assertLinked(Digest chainId) throws IOException {
        String link = store.shortLink(chainId);
        assertTrue(link.matches("l/[A-Z0-9]{10}"), "short link " + link);
        Path l = store.home().resolve(link);
        assertEquals(Path.of("../layers/" + chainId.encoded() + "/diff"), Files.readSymbolicLink(l), "where " + link + " points");
        assertEquals(store.diffDir(chainId).toRealPath(), l.toRealPath());
    }

    @Test
    void aLayerIsUnpackedOnceUnderItsChainId() throws IOException {
        LayerStore.Source s = source(layer("motd", "hello\n"));
        Digest chainId = hooks.chainId(null, s.diffId());
        assertFalse(store.has(chainId));
        assertTrue(store.ensure(chainId, s, hooks), "the first ensure unpacks");
        assertTrue(store.has(chainId));
        assertEquals("hello\n", Files.readString(store.diffDir(chainId).resolve("etc/motd")));
        assertLinked(chainId);
        long mtime = Files.getLastModifiedTime(store.diffDir(chainId).resolve("etc/motd")).toMillis();
        Set<String> before = tree();

        assertFalse(store.ensure(chainId, s, hooks), "the second ensure must find the layer there");
        assertEquals(before, tree(), "the second ensure changed the store");
        assertEquals(mtime, Files.getLastModifiedTime(store.diffDir(chainId).resolve("etc/motd")).toMillis());
        assertEquals(List.of(chainId), store.list());
        assertEquals(List.of(chainId.encoded()), names(store.layersDir()), "no temporary directory may be left");
    }

    @Test
    void aLayerOnTopIsKeptUnderTheChainIdOfItsStack() throws IOException {
        LayerStore.Source bottom = source(layer("a", "a\n"));
        LayerStore.Source top = source(layer("b", "b\n"));
        Digest c0 = hooks.chainId(null, bottom.diffId());
        Digest c1 = hooks.chainId(c0, top.diffId());
        assertTrue(store.ensure(c0, bottom, hooks));
        assertTrue(store.ensure(c1, top, hooks));
        assertEquals(new TreeSet<>(List.of(c0.encoded(), c1.encoded())), new TreeSet<>(names(store.layersDir())));
        assertTrue(Files.exists(store.diffDir(c1).resolve("etc/b")));
        assertFalse(Files.exists(store.diffDir(c1).resolve("etc/a")), "a layer's directory holds its own files only");
        assertEquals(2, names(store.home().resolve("l")).size());
    }

    @Test
    void aHalfUnpackedLayerOfADeadRuntimeIsRemovedAndNeverUsed() throws IOException {
        LayerStore.Source s = source(layer("motd", "hello\n"));
        Digest chainId = hooks.chainId(null, s.diffId());
        // What a runtime killed in the middle of unpacking leaves: a temporary directory with part of
        // the layer (and a planted file the layer does not have), and its short link.
        Path dead = Files.createDirectories(store.layersDir().resolve(".tmp-" + chainId.encoded() + "-99999-dead/diff/etc"));
        Files.writeString(dead.resolve("planted"), "half\n");
        Files.writeString(dead.getParent().getParent().resolve("link"), "DEADLINK00");
        Files.createDirectories(store.home().resolve("l"));
        Files.createSymbolicLink(store.home().resolve("l/DEADLINK00"), Path.of("../layers/" + chainId.encoded() + "/diff"));

        assertTrue(store.ensure(chainId, s, hooks), "a half-unpacked layer does not count as unpacked");
        assertFalse(Files.exists(store.diffDir(chainId).resolve("etc/planted"), NOFOLLOW),
                "the half-unpacked temporary directory was used as the layer");
        assertEquals("hello\n", Files.readString(store.diffDir(chainId).resolve("etc/motd")));
        assertEquals(List.of(chainId.encoded()), names(store.layersDir()), "the dead runtime's temporary directory is still there");
        assertFalse(Files.exists(store.home().resolve("l/DEADLINK00"), NOFOLLOW), "the dead runtime's short link is still there");
        assertLinked(chainId);
        assertEquals(1, names(store.home().resolve("l")).size());
    }

    @Test
    void aDiffIdThatLiesIsRefusedAndLeavesNothing() throws IOException {
        TarBuilder real = layer("motd", "hello\n");
        Digest lie = Digest.sha256(layer("motd", "something else\n").bytes());
        LayerStore.Source s = source(real, lie);
        Digest chainId = hooks.chainId(null, lie);
        ContainerError e = assertThrows(ContainerError.class, () -> store.ensure(chainId, s, hooks));
        assertEquals(1, e.getMessage().lines().count(), "one line: " + e.getMessage());
        assertTrue(e.getMessage().contains(s.what()), "the message names the layer: " + e.getMessage());
        assertTrue(e.getMessage().contains(lie.toString()) && e.getMessage().contains(Digest.sha256(real.bytes()).toString()),
                "the message names both digests: " + e.getMessage());
        assertFalse(store.has(chainId));
        assertEquals(List.of(), names(store.layersDir()), "no layer and no temporary directory may be left");
        assertEquals(List.of(), names(store.home().resolve("l")), "no short link may be left");
        assertEquals(List.of(), store.list());
    }

    @Test
    void aCorruptBlobIsRefusedAndLeavesNothing() throws IOException {
        LayerStore.Source s = source(layer("motd", "hello\n"));
        byte[] gz = Files.readAllBytes(s.blobPath());
        Files.write(s.blobPath(), java.util.Arrays.copyOf(gz, gz.length / 2));   // truncated
        Digest chainId = hooks.chainId(null, s.diffId());
        ContainerError e = assertThrows(ContainerError.class, () -> store.ensure(chainId, s, hooks));
        assertEquals(1, e.getMessage().lines().count(), "one line: " + e.getMessage());
        assertEquals(List.of(), names(store.layersDir()));
        assertEquals(List.of(), names(store.home().resolve("l")));
    }

    @Test
    void twoThreadsEnsuringOneLayerUnpackItOnce() throws Exception {
        // Big enough (1000 files) that the second thread comes while the first unpacks.
        TarBuilder big = TarBuilder.ownedLike(tmp).dir("d/");
        for (int i = 0; i < 1000; i++) big.file("d/f" + i, "content of file " + i + "\n");
        LayerStore.Source s = source(big);
        Digest chainId = hooks.chainId(null, s.diffId());
        CyclicBarrier together = new CyclicBarrier(2);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                results.add(pool.submit(() -> {
                    together.await(10, TimeUnit.SECONDS);
                    return store.ensure(chainId, s, hooks);
                }));
            }
            int unpacked = 0;
            for (Future<Boolean> f : results) if (f.get(60, TimeUnit.SECONDS)) unpacked++;
            assertEquals(1, unpacked, "exactly one of the two must unpack the layer, the other find it there");
        } finally {
            pool.shutdownNow();
        }
        assertEquals(List.of(chainId.encoded()), names(store.layersDir()));
        assertEquals(1000, names(store.diffDir(chainId).resolve("d")).size());
        assertEquals(1, names(store.home().resolve("l")).size(), "one short link");
        assertLinked(chainId);
    }

    @Test
    void pruneKeepsWhatItIsToldAndDeletesTheRestWithTheirLinks() throws IOException {
        List<Digest> ids = new ArrayList<>();
        Digest parent = null;
        for (String f : List.of("a", "b", "c")) {
            LayerStore.Source s = source(layer(f, f + "\n"));
            parent = hooks.chainId(parent, s.diffId());
            ids.add(parent);
            store.ensure(parent, s, hooks);
        }
        String keptLink = store.shortLink(ids.get(0));
        // A dead unpacker's leftovers go too.
        Files.createDirectories(store.layersDir().resolve(".tmp-" + "e".repeat(64) + "-99999-dead/diff"));

        List<Digest> deleted = store.prune(() -> Set.of(ids.get(0)));
        assertEquals(new TreeSet<>(List.of(ids.get(1).toString(), ids.get(2).toString())),
                new TreeSet<>(deleted.stream().map(Digest::toString).toList()));
        assertEquals(List.of(ids.get(0).encoded()), names(store.layersDir()), "what is left in layers/");
        assertEquals(List.of(keptLink.substring(2)), names(store.home().resolve("l")), "what is left in l/");
        assertLinked(ids.get(0));
        assertEquals(List.of(ids.get(0)), store.list());

        assertEquals(List.of(), store.prune(() -> Set.of(ids.get(0))), "nothing more to prune");
        assertEquals(List.of(ids.get(0)), store.prune(Set::of));
        assertEquals(List.of(), names(store.layersDir()));
        assertEquals(List.of(), names(store.home().resolve("l")));
    }
}
