//DEPS org.junit.platform:junit-platform-console-standalone:1.11.4
package jocker.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import jocker.image.Descriptor;
import jocker.image.Digest;
import jocker.image.MediaTypes;
import jocker.kernel.Linux;
import jocker.kernel.MountInfo;
import jocker.rootfs.RootfsTar;
import jocker.rootfs.TarBuilder;
import jocker.runtime.ContainerError;

/**
 * A real overlay mount by the driver's own mount path (Overlay.mount: a thread of its own that
 * stops sharing its working directory, moves into the storage directory and mounts with the short
 * relative links as lower directories), of an image of 72 layers: with absolute paths its options
 * would not fit in the page the kernel reads, so the test really needs the short links. Then what a
 * container does in the merged directory lands in the upper one only, and diff reads it back.
 * Needs root (mount(2)); every mount is undone in a finally.
 */
class OverlayMountTest {
    private static final int LAYERS = 72;
    private static final StorageHooks hooks = new ReferenceStorageHooks();

    @TempDir static Path tmp;
    private static LayerStore store;
    private static List<Digest> chain;

    /** The layers, unpacked once for the class; each test mounts them under a container directory of its own. */
    @BeforeAll
    static void unpackLayers() throws IOException {
        assumeTrue("root".equals(System.getProperty("user.name")), "mounting needs root");
        store = new LayerStore(tmp.resolve("storage/overlay"));
        Path blobs = Files.createDirectory(tmp.resolve("blobs"));
        chain = new ArrayList<>();
        Digest parent = null;
        for (int i = 0; i < LAYERS; i++) {
            TarBuilder t = TarBuilder.ownedLike(tmp).dir("layers/").file("layers/f" + i, i + "\n").file("top", i + "\n");
            if (i == 0) t.dir("etc/").file("etc/base", "base\n");
            if (i == 1) t.file("etc/.wh.base", "");   // the second layer deletes the first one's file
            byte[] gz = t.gzip();
            Digest digest = Digest.sha256(gz);
            Path blob = Files.write(blobs.resolve(digest.encoded()), gz);
            Digest diffId = Digest.sha256(t.bytes());
            parent = hooks.chainId(parent, diffId);
            chain.add(parent);
            store.ensure(parent, new LayerStore.Source(new Descriptor(MediaTypes.OCI_LAYER_GZIP, digest, gz.length), blob,
                    diffId, "layer " + i), hooks);
        }
        assertTrue(RootfsTar.isOverlayWhiteout(store.diffDir(chain.get(1)).resolve("etc/base")));
    }

    private static int optionsLength(List<String> lowerTopFirst, Path upper, Path work) {
        return ("lowerdir=" + String.join(":", lowerTopFirst) + ",upperdir=" + upper + ",workdir=" + work).length();
    }

    /** Overlay's mount path, as create calls it (package-private for this test). */
    private static void mount(List<String> lowerdirs, Path upper, Path work, Path merged) throws Exception {
        new Overlay(hooks, store).mount(lowerdirs, upper, work, merged);
    }

    private static void checkFitsInOnePage(List<String> lowerdirs, Path upper, Path work) {
        Overlay.checkFitsInOnePage(lowerdirs, upper, work, new ImageLayers("test:many", List.of(), List.of(), d -> null));
    }

    private static boolean mounted(Path p) {
        return MountInfo.read().stream().anyMatch(m -> m.mountPoint().equals(p.toString()));
    }

    private static void unmount(Path merged) {
        if (!mounted(merged)) return;
        try {
            Linux.umount2(merged.toString(), 0);
        } catch (RuntimeException busy) {
            Linux.umount2(merged.toString(), Linux.MNT_DETACH);
        }
    }

    private static List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void manyLayersMountThroughShortLinksAndWritesLandInTheUpperDirectory() throws Exception {
        Path container = Files.createDirectories(tmp.resolve("containers/0123456789ab"));
        Path upper = Files.createDirectory(container.resolve("upper"));
        Path work = Files.createDirectory(container.resolve("work"));
        Path merged = Files.createDirectory(container.resolve("rootfs"));
        List<String> shortLinks = new ArrayList<>();
        List<String> absolute = new ArrayList<>();
        for (Digest d : chain) {
            shortLinks.add(store.shortLink(d));
            absolute.add(store.diffDir(d).toString());
        }
        Collections.reverse(absolute);
        int absoluteLength = optionsLength(absolute, upper, work);
        assertTrue(absoluteLength >= Overlay.PAGE, "with absolute lower directories the options take " + absoluteLength
                + " bytes: more layers are needed for this test to exceed one page");
        checkFitsInOnePage(shortLinks, upper, work);   // the short links fit
        Path cwd = Files.readSymbolicLink(Path.of("/proc/self/cwd"));
        try {
            mount(shortLinks, upper, work, merged);
            assertTrue(mounted(merged), "no mount at " + merged);
            assertEquals(cwd, Files.readSymbolicLink(Path.of("/proc/self/cwd")),
                    "the mount changed the working directory of the whole process");
            assertEquals((LAYERS - 1) + "\n", Files.readString(merged.resolve("top")), "the top layer must win");
            List<String> want = new ArrayList<>();
            for (int i = 0; i < LAYERS; i++) want.add("f" + i);
            Collections.sort(want);
            assertEquals(want, names(merged.resolve("layers")), "every layer's file");
            assertEquals(List.of(), names(merged.resolve("etc")), "the second layer's whiteout deletes etc/base");

            // What a container does: add, change, delete.
            Files.writeString(merged.resolve("new"), "new\n");
            Files.writeString(merged.resolve("top"), "changed\n");
            Files.delete(merged.resolve("layers/f3"));
            assertEquals("new\n", Files.readString(upper.resolve("new")));
            assertTrue(RootfsTar.isOverlayWhiteout(upper.resolve("layers/f3")), "a deletion is a whiteout in the upper directory");
            assertEquals("3\n", Files.readString(store.diffDir(chain.get(3)).resolve("layers/f3")), "a layer was written");
            assertEquals((LAYERS - 1) + "\n", Files.readString(store.diffDir(chain.get(LAYERS - 1)).resolve("top")),
                    "a layer was written");
            for (Digest d : chain) assertFalse(Files.exists(store.diffDir(d).resolve("new")), "a layer was written");

            List<Path> layersTopFirst = new ArrayList<>();
            for (Digest d : chain) layersTopFirst.add(0, store.diffDir(d));
            assertEquals(List.of("C /layers", "D /layers/f3", "A /new", "C /top"),
                    Changes.of(upper, layersTopFirst, hooks).stream().map(Change::toString).toList());
        } finally {
            unmount(merged);
        }
        assertFalse(mounted(merged));
    }

    @Test
    void theKernelsOwnUpperDirectoryReadsBackAsDockerDiff() throws Exception {
        // Two of the layers are enough; what matters is what the kernel writes for rm -r and mkdir.
        Path container = Files.createDirectories(tmp.resolve("containers/kernel"));
        Path upper = Files.createDirectory(container.resolve("upper"));
        Path work = Files.createDirectory(container.resolve("work"));
        Path merged = Files.createDirectory(container.resolve("rootfs"));
        List<String> lower = List.of(store.shortLink(chain.get(0)), store.shortLink(chain.get(1)), store.shortLink(chain.get(2)));
        try {
            mount(lower, upper, work, merged);
            jocker.kernel.Trees.delete(merged.resolve("layers"));      // rm -r /layers
            Files.createDirectory(merged.resolve("layers"));            // mkdir /layers: overlay makes it opaque
            Files.writeString(merged.resolve("layers/mine"), "mine\n");
            Files.createDirectories(merged.resolve("etc/sub"));         // etc exists (emptied by a whiteout)
        } finally {
            unmount(merged);
        }
        List<Path> topFirst = List.of(store.diffDir(chain.get(2)), store.diffDir(chain.get(1)), store.diffDir(chain.get(0)));
        assertEquals(List.of("C /etc", "A /etc/sub", "C /layers", "D /layers/f0", "D /layers/f1", "D /layers/f2", "A /layers/mine"),
                Changes.of(upper, topFirst, hooks).stream().map(Change::toString).toList());
    }

    @Test
    void optionsLongerThanAPageAreRefusedBeforeMounting() {
        List<String> many = Collections.nCopies(400, "l/ABCDEFGHIJ");
        ContainerError e = assertThrows(ContainerError.class,
                () -> checkFitsInOnePage(many, tmp.resolve("upper"), tmp.resolve("work")));
        assertTrue(e.getMessage().contains("too many layers (400)"), e.getMessage());
        assertEquals(1, e.getMessage().lines().count());
    }
}
