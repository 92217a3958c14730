package jocker.image;

import java.io.BufferedOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.LongConsumer;

import jocker.rootfs.Images;
import jocker.runtime.ContainerError;
import jocker.runtime.Log;

/**
 * The image store: {@code STATE_ROOT/images} is an OCI image layout (OCI image spec,
 * image-layout.md), the format skopeo ({@code oci:DIR:NAME}) and umoci read and write, so that
 * what we pull can be inspected with their tools and theirs run by us:
 * <pre>
 *   images/oci-layout              {"imageLayoutVersion": "1.0.0"}
 *   images/index.json              one entry per tagged image: the descriptor of its manifest,
 *                                  named by org.opencontainers.image.ref.name
 *   images/blobs/sha256/HEX        manifests, configs, layers, each under the digest of its bytes
 *   images/.lock                   the store's locks ({@link StoreLock})
 *   images/busybox.tar             the embedded rootfs tarball: not part of the layout, left alone
 * </pre>
 * Every write is atomic, so that a crash, a SIGKILL or a concurrent reader never sees half of a
 * file: a blob is written to {@code blobs/sha256/.tmp-HEX-RANDOM}, verified while it streams,
 * fsync'd, and only then renamed to its name, which rename(2) does in one step ({@link TempFiles}).
 * A blob's name is its digest, so a file under that name is always complete and correct, and two
 * pulls writing the same layer at once both succeed: whichever renames second finds the blob there
 * and drops its identical copy. index.json is replaced the same way, under a lock, and names an
 * image only once all its blobs are in place: what a name points at is always complete.
 */
public final class ImageStore {
    /** A source of a blob's bytes, opened only if the blob is missing (a registry request). */
    @FunctionalInterface
    public interface IOSupplier<T> {
        T get() throws IOException;
    }

    static final String LOCK_FILE = ".lock";

    final Path dir;
    final Path blobs;
    final StoreLock lock;
    private final ImageIndex index;

    private ImageStore(Path dir) {
        this.dir = dir;
        this.blobs = dir.resolve(ImageLayout.BLOBS_DIR).resolve("sha256");
        this.lock = StoreLock.of(dir.resolve(LOCK_FILE));
        this.index = new ImageIndex(this);
    }

    /**
     * A stored image: its name, the index.json entry that names it (the manifest's descriptor, with
     * annotations), the manifest, the config, and the config's digest, which is the image's ID.
     */
    public record Image(Reference name, Descriptor manifestDescriptor, Manifest manifest, ImageConfig config,
            Digest configDigest) {
        public Digest manifestDigest() { return manifestDescriptor.digest; }

        /** The digest the tag named when pulled (an index's, for a multi-platform image): what pull printed. */
        public Digest repoDigest() {
            String d = manifestDescriptor.annotation(ImageIndex.REPO_DIGEST);
            return d == null ? manifestDescriptor.digest : Digest.parse(d);
        }

        /** What {@code docker images} shows as SIZE here: the compressed layers plus the config. */
        public long size() {
            return manifest.config.size + manifest.layers.stream().mapToLong(l -> l.size).sum();
        }

        /** The platform the config says the image is built for. */
        public Platform platform() { return new Platform(config.os, config.architecture, config.variant); }
    }

    /** What rmi did: the names it removed (familiar) and the blobs it deleted, in Docker's order. */
    public record Removal(List<String> untagged, List<Digest> deleted) {}

    /**
     * Names the manifest {@code manifest} {@code name} in index.json (replacing what the name named
     * before), atomically and under the index lock. {@code repoDigest}: the digest the tag named,
     * if it was an index's; null when it is the manifest's own.
     */
    public void tag(Reference name, Descriptor manifest, Digest repoDigest) { index.tag(name, manifest, repoDigest); }

    public void tag(Reference name, Descriptor manifest) { tag(name, manifest, null); }

    /** The image a user means: a name (busybox, docker.io/library/busybox:latest), or an ID (prefix). */
    public Optional<Image> find(String userInput) { return index.find(userInput); }

    /** Every named image, newest first. */
    public List<Image> list() { return index.list(); }

    /**
     * Removes a name (or, by ID, the image's names: with several, only if {@code force}) and then
     * every blob no name reaches any more; throws "no such image: NAME".
     */
    public Removal remove(String userInput, boolean force) { return index.remove(userInput, force); }

    public Removal remove(String userInput) { return remove(userInput, false); }

    public Removal remove(Reference name) { return remove(name.toString(), false); }

    /** Deletes the blobs no name reaches, and dead pulls' temp files; waits for running pulls. */
    public Set<Digest> collectGarbage() { return index.collect(); }

    /** The store under the state root: {@code $JOCKER_ROOT/images}, else {@code /var/lib/jocker/images}. */
    public static ImageStore open() { return open(Images.dir()); }

    /** The store under the state root if one was made (by a pull), without creating it. */
    public static Optional<ImageStore> openExisting() {
        Path dir = Images.dir().toAbsolutePath().normalize();
        if (!Files.isRegularFile(dir.resolve(ImageLayout.INDEX_FILE))) return Optional.empty();
        return Optional.of(open(dir));
    }

    /**
     * Opens the layout at {@code dir}, creating {@code oci-layout}, {@code index.json} and
     * {@code blobs/sha256} if missing (each atomically); a store that exists is only read.
     */
    public static ImageStore open(Path dir) {
        ImageStore store = new ImageStore(dir.toAbsolutePath().normalize());
        store.create();
        return store;
    }

    private void create() {
        if (Files.isDirectory(blobs) && Files.isRegularFile(dir.resolve(ImageLayout.OCI_LAYOUT_FILE))
                && Files.isRegularFile(dir.resolve(ImageLayout.INDEX_FILE))) {
            return;
        }
        try {
            Files.createDirectories(blobs);
            if (!Files.exists(dir.resolve(ImageLayout.OCI_LAYOUT_FILE))) {
                replace(dir.resolve(ImageLayout.OCI_LAYOUT_FILE), ImageJson.text(new ImageLayout.OciLayout()) + "\n");
            }
            try (StoreLock.Held held = lock.index()) {
                if (!Files.exists(indexFile())) replace(indexFile(), ImageJson.text(ImageLayout.emptyIndex()) + "\n");
            }
        } catch (AccessDeniedException e) {
            throw notWritable(dir, e);
        } catch (IOException e) {
            throw new ContainerError("failed to create the image store " + dir + ": " + Log.reason(e), e);
        }
    }

    /** The one line for a store we may not write: pull and rmi need write access, not root. */
    static ContainerError notWritable(Path dir, Exception e) {
        return new ContainerError("cannot write the image store " + dir + ": permission denied (pull, rmi and run"
                + " need write access to the state root: run as root, or set JOCKER_ROOT to a directory you own)", e);
    }

    public Path dir() { return dir; }

    Path indexFile() { return dir.resolve(ImageLayout.INDEX_FILE); }

    /** Where the blob {@code d} lives (whether or not it is there). */
    public Path blobPath(Digest d) { return dir.resolve(d.layoutPath()); }

    public boolean has(Digest d) { return Files.isRegularFile(blobPath(d)); }

    /** A stored blob's bytes (a manifest or config: small). */
    public byte[] read(Digest d) {
        try {
            return Files.readAllBytes(blobPath(d));
        } catch (NoSuchFileException e) {
            throw new ContainerError("the image store lacks blob " + d + " (" + blobPath(d) + ")", e);
        } catch (IOException e) {
            throw new ContainerError("failed to read blob " + d + ": " + Log.reason(e), e);
        }
    }

    /**
     * The content lock, shared: hold it from the first blob a pull writes until its tag, or while a
     * run reads an image's blobs, and {@code rmi}'s garbage collection waits (see {@link StoreLock}).
     */
    public StoreLock.Held lockShared() { return lock.shared(); }

    /**
     * Stores the blob {@code d} from {@code body}, unless it is already there (then returns false and
     * opens nothing). The bytes go through {@code hooks.copyVerified} into a temporary file, which
     * becomes the blob only if they were proven to be the bytes {@code d} names; on any failure the
     * temporary file is deleted. {@code progress} (may be null) hears the bytes written so far.
     */
    public boolean write(Descriptor d, ImageHooks hooks, IOSupplier<InputStream> body, LongConsumer progress)
            throws IOException {
        Path target = blobPath(d.digest);
        if (Files.isRegularFile(target)) return false;
        Path tmp = TempFiles.reserve(blobs, d.digest.encoded());
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                 InputStream in = body.get()) {
                OutputStream out = new BufferedOutputStream(Channels.newOutputStream(ch), 1 << 16);
                if (progress != null) out = new Counting(out, progress);
                hooks.copyVerified(in, d, out, what(d));
                out.flush();
                ch.force(false);   // the bytes are on disk before their name says they are complete
            }
            commit(tmp, target);
            return true;
        } finally {
            TempFiles.done(tmp);
        }
    }

    /** Stores bytes whose digest the caller has verified (a manifest): same atomic path. */
    public void writeBytes(Digest d, byte[] verifiedBytes) {
        Path target = blobPath(d);
        if (Files.isRegularFile(target)) return;
        Path tmp = TempFiles.reserve(blobs, d.encoded());
        try {
            TempFiles.write(tmp, verifiedBytes);
            commit(tmp, target);
        } catch (AccessDeniedException e) {
            throw notWritable(dir, e);
        } catch (IOException e) {
            throw new ContainerError("failed to store blob " + d + ": " + Log.reason(e), e);
        } finally {
            TempFiles.done(tmp);
        }
    }

    /** "layer sha256:...", "config sha256:...": what a verification error names. */
    private static String what(Descriptor d) {
        if (MediaTypes.isConfig(d.mediaType)) return "config " + d.digest;
        boolean layer = MediaTypes.base(d.mediaType).contains(".layer.") || MediaTypes.base(d.mediaType).contains(".rootfs.");
        return (layer ? "layer " : "blob ") + d.digest;
    }

    /**
     * Gives a complete temporary file its name. If another pull stored the same blob meanwhile,
     * its file stays: same digest, same bytes (our temp file is deleted by the caller).
     */
    private void commit(Path tmp, Path target) throws IOException {
        if (Files.isRegularFile(target)) return;
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Replaces {@code file} with {@code text} atomically (see {@link TempFiles}). */
    void replace(Path file, String text) throws IOException {
        TempFiles.replace(file, text.getBytes(StandardCharsets.UTF_8));
    }

    /** Removes the temp files of pulls that died: only under the exclusive lock, when no pull runs. */
    int removeTempFiles() throws IOException { return TempFiles.sweep(blobs, dir); }

    /** Counts the bytes written, for a progress display. */
    private static final class Counting extends FilterOutputStream {
        private final LongConsumer progress;
        private long count;

        Counting(OutputStream out, LongConsumer progress) {
            super(out);
            this.progress = progress;
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            progress.accept(++count);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            count += len;
            progress.accept(count);
        }
    }
}
