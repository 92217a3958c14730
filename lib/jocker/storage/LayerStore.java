package jocker.storage;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

import jocker.image.Descriptor;
import jocker.image.Digest;
import jocker.image.DigestingInputStream;
import jocker.image.Layers;
import jocker.image.StoreLock;
import jocker.kernel.DirectoryLock;
import jocker.kernel.Trees;
import jocker.rootfs.RootfsTar;
import jocker.runtime.Container;
import jocker.runtime.ContainerError;
import jocker.runtime.Log;

/**
 * The overlay driver's layers: each one unpacked once, into a directory of its own named by its
 * chain id, shared by every image and container that has it, and never written again.
 * <pre>
 * /var/lib/jocker/storage/overlay/
 *   layers/CHAINID/diff/        the layer's own files, whiteouts in overlay's format
 *   layers/CHAINID/link         its short name, QX3V7KD2MA
 *   layers/.tmp-CHAINID-...     a layer being unpacked (or left half-done by a killed runtime)
 *   l/QX3V7KD2MA -> ../layers/CHAINID/diff     short names: many layers fit in one mount option
 *   locks/CHAINID/.lock         held while the layer is unpacked, so it is unpacked once
 *   .lock                       shared while a container is made, exclusive while layers are pruned
 * </pre>
 * <b>Why the chain id</b> and not the layer's digest: a layer's tar only makes sense on top of the
 * layers below it (its whiteouts delete what they put there), so its identity is the whole stack up
 * to it. Two images that share their first three layers share three directories here.
 * <p>
 * <b>Nothing half-done is ever used</b>: a layer is unpacked into a temporary directory, verified
 * (the digest of the uncompressed tar must be the image config's diff id, so a config cannot give
 * one layer's content another's name) and only then renamed to its chain id; rename(2) is atomic, so
 * {@code layers/CHAINID} exists complete or not at all. Two runs that need the same missing layer
 * take its lock: one unpacks, the other waits and then finds it there. A temporary directory whose
 * unpacker died is deleted by the next one to take that layer's lock.
 */
public final class LayerStore {
    private static final LinkOption NOFOLLOW = LinkOption.NOFOLLOW_LINKS;
    private static final String TEMP = ".tmp-";
    /** Short names: 10 letters and digits, 13 bytes per layer in the mount options with "l/" and ":". */
    private static final String ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    private static final int SHORT_NAME = 10;
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path home;

    public LayerStore(Path home) { this.home = home.toAbsolutePath().normalize(); }

    /** The overlay driver's directory under the state root. */
    public static LayerStore open() { return new LayerStore(Container.stateRoot().resolve("storage").resolve("overlay")); }

    /** {@code storage/overlay}: the working directory of the overlay mount (see {@link Overlay}). */
    public Path home() { return home; }

    public Path layersDir() { return home.resolve("layers"); }

    /** The directory of a layer's files: a lower directory of every overlay mount that uses it. */
    public Path diffDir(Digest chainId) { return layerDir(chainId).resolve("diff"); }

    /** The layer's short name, relative to {@link #home()}: {@code l/QX3V7KD2MA}. */
    public String shortLink(Digest chainId) throws IOException {
        return "l/" + Files.readString(layerDir(chainId).resolve("link")).trim();
    }

    public boolean has(Digest chainId) { return Files.isDirectory(diffDir(chainId), NOFOLLOW); }

    /** Shared while a container is being made from layers; pruning takes it exclusive. */
    public StoreLock.Held lockShared() throws IOException {
        Files.createDirectories(home);
        return StoreLock.of(home.resolve(".lock")).shared();
    }

    private Path layerDir(Digest chainId) { return layersDir().resolve(chainId.encoded()); }

    /** What a layer is made from: its blob in the image store and the image config's word on it. */
    public record Source(Descriptor blob, Path blobPath, Digest diffId, String what) {}

    /**
     * The layer {@code chainId}, unpacked from {@code source} if it is not here yet; returns
     * whether this call unpacked it. Whiteouts are written in overlay's format by {@code hooks}.
     */
    public boolean ensure(Digest chainId, Source source, StorageHooks hooks) throws IOException {
        if (has(chainId)) return false;
        Files.createDirectories(layersDir());
        Files.createDirectories(home.resolve("l"));
        try (DirectoryLock held = DirectoryLock.take(lockDir(chainId.encoded()))) {
            if (has(chainId)) return false;   // another run unpacked it while we waited
            removeTemporaries(chainId);
            unpack(chainId, source, hooks);
            return true;
        }
    }

    /** The directory whose lock is held while the layer {@code hex} is unpacked. */
    private Path lockDir(String hex) { return home.resolve("locks").resolve(hex); }

    private void unpack(Digest chainId, Source source, StorageHooks hooks) throws IOException {
        long t0 = System.nanoTime();
        Path tmp = layersDir().resolve(TEMP + chainId.encoded() + "-" + ProcessHandle.current().pid() + "-"
                + Long.toHexString(RANDOM.nextLong()));
        Path link = null;
        boolean done = false;
        try {
            Files.createDirectory(tmp);
            Path diff = Files.createDirectory(tmp.resolve("diff"));
            link = newShortLink(chainId);
            Files.writeString(tmp.resolve("link"), link.getFileName().toString());
            RootfsTar.Result r;
            try (InputStream blob = Files.newInputStream(source.blobPath())) {
                InputStream tar = Layers.decompress(blob, source.blob().mediaType, source.what());
                DigestingInputStream digesting = DigestingInputStream.capped(tar, Long.MAX_VALUE, source.what());
                r = RootfsTar.extract(digesting, diff, RootfsTar.Options.ownDirectory(source.what(), hooks::overlayWhiteout));
                Digest actual = digesting.finish();   // the tar's end-of-archive padding counts too
                if (!actual.equals(source.diffId())) {
                    throw new ContainerError("failed to verify " + source.what() + ": its uncompressed content is "
                            + actual + ", the image config says " + source.diffId());
                }
            } catch (IOException | IllegalArgumentException e) {
                throw new ContainerError("failed to unpack " + source.what() + ": " + Log.reason(e), e);
            }
            Files.move(tmp, layerDir(chainId), StandardCopyOption.ATOMIC_MOVE);
            done = true;
            Log.verbose("unpacked %s as layer %s (%d entries, %d whiteouts) in %d ms", source.what(),
                    chainId.shortId(), r.entries(), r.whiteouts(), (System.nanoTime() - t0) / 1_000_000);
        } finally {
            if (!done) {
                deleteQuietly(tmp);
                if (link != null) Files.deleteIfExists(link);
            }
        }
    }

    /** A new short name {@code l/NAME -> ../layers/CHAINID/diff}; the target exists once the layer is renamed. */
    private Path newShortLink(Digest chainId) throws IOException {
        Path target = Path.of("..", "layers", chainId.encoded(), "diff");
        for (int attempt = 0; ; attempt++) {
            StringBuilder name = new StringBuilder();
            for (int i = 0; i < SHORT_NAME; i++) name.append(ALPHABET.charAt(RANDOM.nextInt(ALPHABET.length())));
            Path link = home.resolve("l").resolve(name.toString());
            try {
                return Files.createSymbolicLink(link, target);
            } catch (FileAlreadyExistsException taken) {
                if (attempt > 100) throw taken;
            }
        }
    }

    /** Temporary directories of {@code chainId} left by a runtime that died while unpacking it. */
    private void removeTemporaries(Digest chainId) throws IOException {
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(layersDir(), TEMP + chainId.encoded() + "-*")) {
            for (Path dir : dirs) {
                Log.verbose("removing %s, left half-unpacked by a runtime that died", dir.getFileName());
                removeWithLink(dir);
            }
        }
    }

    /**
     * Deletes every layer not in the set {@code keeping} gives, and what dead unpackers left, under
     * the exclusive lock (no container is being made meanwhile). Returns the chain ids deleted.
     */
    public List<Digest> prune(Supplier<Set<Digest>> keeping) throws IOException {
        List<Digest> deleted = new ArrayList<>();
        if (!Files.isDirectory(layersDir())) return deleted;
        try (StoreLock.Held held = StoreLock.of(home.resolve(".lock")).exclusive();
                DirectoryStream<Path> dirs = Files.newDirectoryStream(layersDir())) {
            Set<Digest> keep = keeping.get();   // read under the lock: no container is being made
            for (Path dir : dirs) {
                String name = dir.getFileName().toString();
                if (name.startsWith(TEMP)) {
                    String hex = name.substring(TEMP.length()).split("-")[0];
                    try (DirectoryLock lock = DirectoryLock.tryTake(lockDir(hex))) {
                        if (lock != null) removeWithLink(dir);   // else: a live unpacker's
                    }
                    continue;
                }
                if (!name.matches("[a-f0-9]{64}")) continue;
                Digest chainId = new Digest("sha256", name);
                if (keep.contains(chainId)) continue;
                // Renamed first: a half-deleted layer must never look complete.
                Path doomed = layersDir().resolve(TEMP + name + "-deleting-" + ProcessHandle.current().pid());
                Files.move(dir, doomed, StandardCopyOption.ATOMIC_MOVE);
                removeWithLink(doomed);
                deleted.add(chainId);
            }
        }
        return deleted;
    }

    /** The chain ids of every layer here. */
    public List<Digest> list() throws IOException {
        List<Digest> all = new ArrayList<>();
        if (!Files.isDirectory(layersDir())) return all;
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(layersDir())) {
            for (Path d : dirs) {
                String name = d.getFileName().toString();
                if (name.matches("[a-f0-9]{64}")) all.add(new Digest("sha256", name));
            }
        }
        return all;
    }

    private void removeWithLink(Path layerDir) throws IOException {
        try {
            String link = Files.readString(layerDir.resolve("link")).trim();
            if (link.matches("[A-Z0-9]+")) Files.deleteIfExists(home.resolve("l").resolve(link));
        } catch (NoSuchFileException noLinkYet) {
            // died before naming it
        }
        Trees.delete(layerDir);
    }

    private static void deleteQuietly(Path dir) {
        try {
            Trees.delete(dir);
        } catch (IOException e) {
            Log.error("failed to remove %s: %s", dir, Log.reason(e));
        }
    }
}
