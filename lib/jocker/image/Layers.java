//DEPS org.apache.commons:commons-compress:1.27.1
//DEPS com.github.luben:zstd-jni:1.5.6-8
package jocker.image;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Function;

import jocker.rootfs.RootfsSource;
import jocker.rootfs.RootfsTar;
import jocker.runtime.Container;
import jocker.runtime.ContainerError;
import jocker.runtime.Log;

import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;
import org.apache.commons.compress.compressors.zstandard.ZstdCompressorInputStream;

/**
 * Turns an image's layers into a root filesystem: each layer, bottom first, is decompressed and
 * <em>applied</em> onto the directory the layers below it made (OCI image spec, layer.md,
 * "Applying Changesets"). A layer is a tar of what changed in one build step: files added or
 * modified, in their entirety, and files deleted, as <em>whiteouts</em>.
 *
 * <h2>Whiteouts (layer.md, "Whiteouts")</h2>
 * A tar cannot say "this file is gone", so a deletion travels as an empty entry with a special name:
 * <ul>
 * <li>{@code DIR/.wh.NAME} removes {@code DIR/NAME}, a file, a symlink or a whole directory tree, as
 *     the layers below left it. Only what lower layers put there is affected: an entry of the
 *     <em>same</em> layer can only be hidden by a whiteout in a later layer.
 * <li>{@code DIR/.wh..wh..opq} (an <em>opaque</em> whiteout) removes every child of {@code DIR} that
 *     lower layers put there, sub-directories and all their descendants; {@code DIR} itself stays,
 *     and so do the entries this layer writes into it, whether they come before or after the
 *     whiteout in the tar (the spec: it "is applied first ... regardless of the ordering").
 * <li>A whiteout itself never appears in the result, and a name beginning with {@code .wh.} cannot
 *     exist in an image's filesystem.
 * </ul>
 * Layers SHOULD put whiteouts before their sibling entries; a correct applier must not rely on it.
 * The rule that works in any order: to white out a path, delete it whole unless this layer wrote
 * something at or below it ({@code thisLayer} holds every path the layer wrote and every directory
 * on the way to one); if it did, keep the path and white out each of its children the same way.
 * (Deleting only the children not in {@code thisLayer}, without descending, is right as long as
 * the marker comes first, or this layer wrote nothing deeper below a directory the lower layers had.)
 * The step's {@link ImageHooks#applyWhiteout} implements this; {@link RootfsTar}, in its layer mode,
 * calls it for every entry, with the entry's parent already resolved safely inside the rootfs. It
 * refuses a whiteout that names no file ({@code .wh.}, {@code .wh..}, {@code .wh...}), drops one
 * whose directory does not exist or is no directory (umoci writes {@code sub/.wh.old} after making
 * {@code sub} a file: nothing is left to delete) and skips AUFS's bookkeeping ({@code .wh..wh.plnk}),
 * all before the hook sees them. Deleting never crosses a mount point ({@code Trees.delete}).
 *
 * <h2>Compression</h2>
 * The layer's media type says tar, tar+gzip or tar+zstd ({@link MediaTypes#compression}); anything
 * that is not a layer is refused. The bytes have the last word: some registries label plain tars as
 * gzip, so the stream is read as what its magic number says it is (as containerd does). Nothing is
 * verified here: the store verified every blob against its digest when it wrote it.
 */
public final class Layers {
    private Layers() {}

    /** Reading blobs in large chunks: a layer is read once, front to back. */
    private static final int BUFFER = 1 << 16;

    /**
     * Step 06's root filesystem: a pulled image's layers applied into {@code CONTAINER_DIR/rootfs},
     * as Docker's {@code vfs} storage driver does (one plain copy per container); a rootfs tarball,
     * which {@link ImageRun} names instead, still goes to {@code tarballs} (step 02's unpacking).
     */
    public static class Source implements RootfsSource {
        private final ImageHooks hooks;
        private final RootfsSource tarballs;

        public Source(ImageHooks hooks, RootfsSource tarballs) {
            this.hooks = hooks;
            this.tarballs = tarballs;
        }

        @Override
        public void prepare(Container container) throws Exception {
            String manifest = container.config.annotations.get(ImageRun.MANIFEST);
            if (manifest == null) {
                tarballs.prepare(container);
                return;
            }
            ImageStore store = ImageStore.open();
            // Shared: an rmi meanwhile waits instead of deleting a layer we are reading.
            try (StoreLock.Held held = store.lockShared()) {
                Digest digest = Digest.parse(manifest);
                Manifest m = Manifest.parse(store.read(digest), "manifest " + digest);
                prepareImage(container, store, m, container.config.annotations.getOrDefault(ImageRun.REF, manifest));
            }
        }

        /**
         * Makes the container's root filesystem from the image whose manifest is {@code m}, under the
         * store's shared lock, and sets {@code config.root.path}: here by applying every layer into
         * {@code CONTAINER_DIR/rootfs}; step 07 hands it to a storage driver instead.
         */
        protected void prepareImage(Container container, ImageStore store, Manifest m, String name) throws Exception {
            applyAsRootfs(container, m.layers, store::blobPath, hooks, name);
        }

        @Override
        public void release(Container container) throws Exception { tarballs.release(container); }
    }

    /**
     * A full copy of the image as the container's root filesystem: {@code layers} applied into a new
     * {@code CONTAINER_DIR/rootfs}, which becomes {@code config.root.path}. Step 06's way, and the
     * vfs storage driver's.
     */
    public static void applyAsRootfs(Container container, List<Descriptor> layers, Function<Digest, Path> blobs,
            ImageHooks hooks, String image) throws IOException {
        Path rootfs = container.rootfs();
        Files.createDirectory(rootfs);
        apply(layers, blobs, rootfs, hooks, image);
        container.config.root.path = rootfs.toString();
    }

    /** Applies a stored image's layers onto {@code rootfs}: the plan's entry point (see below). */
    public static void apply(ImageStore store, ImageStore.Image image, Path rootfs, ImageHooks hooks) {
        apply(image.manifest().layers, store::blobPath, rootfs, hooks, image.name().familiar());
    }

    /**
     * Applies {@code layers}, in the manifest's order, onto {@code rootfs} (an existing, normally
     * empty, directory), whiteouts through {@code hooks}; {@code blobs} says where each layer's blob
     * is. {@code image} names the image in messages.
     */
    public static void apply(List<Descriptor> layers, Function<Digest, Path> blobs, Path rootfs,
            ImageHooks hooks, String image) {
        long started = System.nanoTime();
        int i = 0;
        for (Descriptor layer : layers) {
            i++;
            String what = "layer " + layer.digest.shortId() + " of " + image;
            long t0 = System.nanoTime();
            RootfsTar.Result r;
            try (InputStream blob = Files.newInputStream(blobs.apply(layer.digest))) {
                // A signal during a long unpack interrupts us (ContainerRuntime): stop between layers too.
                if (Thread.currentThread().isInterrupted()) throw new InterruptedIOException("interrupted");
                r = apply(blob, layer.mediaType, rootfs, hooks::applyWhiteout, what);
            } catch (IOException | IllegalArgumentException e) {
                // A blob missing from the store, a corrupt stream, a full disk: one line, naming the layer.
                throw new ContainerError("failed to unpack " + what + ": " + Log.reason(e), e);
            }
            Log.verbose("unpacked layer %d/%d %s (%s bytes): %d entries, %d whiteouts, %d skipped, %d ms", i,
                    layers.size(), layer.digest.shortId(), layer.size, r.entries(), r.whiteouts(), r.skipped(),
                    (System.nanoTime() - t0) / 1_000_000);
        }
        Log.verbose("unpacked %s into %s in %d ms", image, rootfs, (System.nanoTime() - started) / 1_000_000);
    }

    /**
     * Applies one layer, read from {@code blob} (compressed as {@code mediaType} says), onto
     * {@code rootfs}. {@code what} names the layer in errors ("layer 3f2a9c1b7d4e of busybox:latest").
     */
    public static RootfsTar.Result apply(InputStream blob, String mediaType, Path rootfs,
            RootfsTar.Whiteouts whiteouts, String what) throws IOException {
        InputStream tar = decompress(blob, mediaType, what);
        return RootfsTar.extract(tar, rootfs, RootfsTar.Options.layer(what, whiteouts));
    }

    /** The layer's tar stream: decompressed as its bytes say, once its media type says it is a layer. */
    public static InputStream decompress(InputStream blob, String mediaType, String what) throws IOException {
        MediaTypes.Compression declared;
        try {
            declared = MediaTypes.compression(mediaType);
        } catch (ContainerError e) {
            throw new ContainerError("failed to unpack " + what + ": " + e.getMessage());
        }
        BufferedInputStream in = new BufferedInputStream(blob, BUFFER);
        MediaTypes.Compression actual = sniff(in);
        if (actual != declared) {
            Log.verbose("%s is labelled %s but its bytes are %s: reading it as %s", what, name(declared),
                    name(actual), name(actual));
        }
        return switch (actual) {
            case NONE -> in;
            // zlib underneath; a gzip file may be several members (pigz, appended files): read them all.
            case GZIP -> new BufferedInputStream(new GzipCompressorInputStream(in, true), BUFFER);
            case ZSTD -> new BufferedInputStream(new ZstdCompressorInputStream(in), BUFFER);
        };
    }

    /** What the first bytes say: gzip (1f 8b), zstd (28 b5 2f fd), else a plain tar. */
    static MediaTypes.Compression sniff(BufferedInputStream in) throws IOException {
        in.mark(4);
        byte[] magic = in.readNBytes(4);
        in.reset();
        if (magic.length >= 2 && (magic[0] & 0xff) == 0x1f && (magic[1] & 0xff) == 0x8b) {
            return MediaTypes.Compression.GZIP;
        }
        if (magic.length == 4 && (magic[0] & 0xff) == 0x28 && (magic[1] & 0xff) == 0xb5
                && (magic[2] & 0xff) == 0x2f && (magic[3] & 0xff) == 0xfd) {
            return MediaTypes.Compression.ZSTD;
        }
        return MediaTypes.Compression.NONE;
    }

    private static String name(MediaTypes.Compression c) {
        return switch (c) {
            case NONE -> "tar";
            case GZIP -> "tar+gzip";
            case ZSTD -> "tar+zstd";
        };
    }
}
