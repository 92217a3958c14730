package jocker.image;

import java.io.IOException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionService;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import jocker.image.ImageStore.Image;
import jocker.runtime.ContainerError;
import jocker.runtime.Log;

/**
 * {@code pull}: from a reference to an image in the store, the way the OCI distribution spec lays
 * the path, each step trusting only what the step before proved:
 * <pre>
 *   tag ──GET manifests/TAG──▶ index or manifest    digest computed (or checked against the one asked for)
 *   index ──chooseManifest──▶ manifest descriptor   the entry for our platform (TODO 06.2)
 *   descriptor ──GET manifests/DIGEST──▶ manifest    bytes checked against the descriptor's digest
 *   manifest ──GET blobs/DIGEST──▶ config, layers    each verified while it streams (TODO 06.3)
 *   store: blobs, then the manifest (and index), then the name in index.json
 * </pre>
 * A digest names exactly one sequence of bytes, so once the first document is verified every
 * digest inside it is a promise the registry cannot break unnoticed: that is why a pull by digest
 * is reproducible and why a tampered blob is refused. The name is written last, so a failed or
 * interrupted pull leaves no image behind (verified blobs it stored stay until the next garbage
 * collection, like Docker's, and are not fetched again).
 * Layers download three at a time (Docker's default max-concurrent-downloads).
 */
public final class Puller {
    /** Docker's daemon default: a few connections at once fill a link without hogging a registry. */
    public static final int MAX_CONCURRENT_DOWNLOADS = 3;
    /** Configs are JSON of a few kB; refuse a descriptor that announces something absurd. */
    static final long MAX_CONFIG = 32L << 20;

    private final ImageStore store;
    private final ImageHooks hooks;
    private final PullOutput out;

    public Puller(ImageStore store, ImageHooks hooks, PullOutput out) {
        this.store = store;
        this.hooks = hooks;
        this.out = out;
    }

    /**
     * For a warm-up thread (see WarmsUp), while the command line is still parsed: the slow first
     * uses of a pull of {@code ref}, each tens of milliseconds of a fresh JVM, in the order the pull
     * meets them: the JSON of the store's index.json and of the registry's documents, the login
     * (read from the docker config), the HTTP client the registry's URL calls for (with TLS, the
     * JDK's trust store), libcrypto (loaded and self-tested) for the digests of the layers.
     */
    static void warmUp(Reference ref, Set<String> insecure) {
        ImageJson.warmUp();
        new Registry(ref, null, insecure).warmUp();
        NativeSha256.available();
    }

    /**
     * Pulls {@code ref} for {@code platform} into the store and names it. {@code platform} null
     * means this machine's, not insisted on: an image for another platform is then only warned
     * about, while an explicit {@code --platform} that a single-platform image does not match is
     * refused. Every failure is one ContainerError "failed to pull IMAGE: cause".
     */
    public Image pull(Reference ref, Platform platform, Set<String> insecure) {
        String image = ref.familiar();
        try (StoreLock.Held held = store.lockShared()) {
            return pull(ref, image, platform, insecure);
        } catch (ContainerError e) {
            throw e.getMessage().startsWith("failed to pull ") ? e
                    : new ContainerError(e.exitCode(), "failed to pull " + image + ": " + e.getMessage(), e);
        } catch (IOException e) {
            throw new ContainerError("failed to pull " + image + ": " + Log.reason(e), e);
        }
    }

    private Image pull(Reference ref, String image, Platform platform, Set<String> insecure) throws IOException {
        Platform want = platform != null ? platform : Platform.host();
        out.pulling(ref);
        Registry registry = new Registry(ref, hooks, insecure);

        // tag-or-digest: the document the reference names, and the repository digest
        Registry.Fetched top = registry.manifest(ref.manifestReference());
        Digest repoDigest = verify(top, ref.digest(), "manifest " + ref.manifestReference() + " of " + image);
        Descriptor manifestDesc;
        byte[] manifestBytes;
        boolean fromIndex = MediaTypes.isIndex(top.mediaType());
        if (fromIndex) {
            Index index = Index.parse(top.bytes(), "index " + repoDigest + " of " + image);
            Descriptor chosen = hooks.chooseManifest(index, want, image);
            if (!MediaTypes.isManifest(chosen.mediaType)) {
                throw new ContainerError("the index's entry for " + want + " is not an image manifest (media type \""
                        + Digest.clip(String.valueOf(chosen.mediaType)) + "\")");
            }
            Registry.Fetched f = registry.manifest(chosen.digest.toString());
            verify(f, chosen.digest, "manifest " + chosen.digest + " of " + image);
            if (f.bytes().length != chosen.size) {
                throw new ContainerError("failed to verify manifest " + chosen.digest + ": size mismatch: expected "
                        + chosen.size + " bytes, got " + f.bytes().length);
            }
            manifestBytes = f.bytes();
            manifestDesc = new Descriptor(chosen.mediaType, chosen.digest, chosen.size);
        } else {
            manifestBytes = top.bytes();
            manifestDesc = new Descriptor(top.mediaType(), repoDigest, manifestBytes.length);
        }
        Manifest manifest = Manifest.parse(manifestBytes, "manifest " + manifestDesc.digest + " of " + image);
        List<Descriptor> layers = distinct(manifest.layers);
        for (Descriptor layer : layers) checkLayer(layer);

        // the config: small, and it says which platform the image really is for
        if (manifest.config.size > MAX_CONFIG) {
            throw new ContainerError("config " + manifest.config.digest + " announces " + manifest.config.size
                    + " bytes: more than an image config can need");
        }
        store.write(manifest.config, hooks, () -> registry.blob(manifest.config), null);
        ImageConfig config = ImageConfig.parse(store.read(manifest.config.digest), "config " + manifest.config.digest + " of " + image);
        manifestDesc.platform = checkPlatform(config, want, platform != null, !fromIndex);

        fetchLayers(registry, layers);

        // the documents, then the name: a name only ever points at a complete image
        store.writeBytes(manifestDesc.digest, manifestBytes);
        if (fromIndex) store.writeBytes(repoDigest, top.bytes());
        Reference name = ref.digest() != null ? new Reference(ref.domain(), ref.path(), null, ref.digest()) : ref;
        boolean upToDate = upToDate(name, manifestDesc.digest);
        store.tag(name, manifestDesc, fromIndex ? repoDigest : null);
        out.digest(repoDigest);
        out.status(!upToDate, name.familiar());
        out.done(name);
        return store.find(name.toString()).orElseThrow(() -> new ContainerError("the image vanished from the store"));
    }

    /** Whether {@code name} already named this manifest (docker's "Image is up to date"). */
    private boolean upToDate(Reference name, Digest manifest) {
        try {
            return store.find(name.toString()).map(i -> i.manifestDigest().equals(manifest)).orElse(false);
        } catch (ContainerError e) {
            return false;   // an entry we cannot read: it is replaced now
        }
    }

    /**
     * The digest of a fetched manifest, proven: against the digest the reference pinned, else
     * against the registry's Docker-Content-Digest header (a registry that lies about it is
     * refused), else computed: then it is only as trustworthy as the connection (hence HTTPS).
     */
    static Digest verify(Registry.Fetched f, Digest expected, String what) {
        Digest claimed = expected != null ? expected : f.dockerContentDigest();
        Digest actual = digest(f.bytes(), claimed == null ? "sha256" : claimed.algorithm());
        if (claimed != null && !claimed.equals(actual)) {
            throw new ContainerError("failed to verify " + what + ": digest mismatch: expected " + claimed
                    + (expected != null ? "" : " (Docker-Content-Digest)") + ", actual " + actual);
        }
        return actual;
    }

    static Digest digest(byte[] bytes, String algorithm) {
        MessageDigest md = Digest.newMessageDigest(algorithm);
        md.update(bytes);
        return Digest.of(algorithm, md);
    }

    /** Layers we can unpack: tar, tar+gzip, tar+zstd; not foreign ones, which live outside the registry. */
    private static void checkLayer(Descriptor layer) {
        if (MediaTypes.isForeignLayer(layer.mediaType)) {
            throw new ContainerError("layer " + layer.digest + " is a foreign (non-distributable) layer (\""
                    + Digest.clip(layer.mediaType) + "\"): its content lives at URLs outside the registry, which we do not fetch");
        }
        try {
            MediaTypes.compression(layer.mediaType);
        } catch (ContainerError e) {
            throw new ContainerError("layer " + layer.digest + ": " + e.getMessage(), e);
        }
    }

    /**
     * The config's platform against the one wanted. Docker only warns; we refuse when the user
     * insisted ({@code --platform}) and the image has one platform only, since running it would fail
     * later with an unhelpful "exec format error".
     */
    private Platform checkPlatform(ImageConfig config, Platform want, boolean explicit, boolean single) {
        if (config.os == null || config.architecture == null) return null;
        Platform actual = new Platform(config.os, config.architecture, config.variant);
        if (!want.matches(actual)) {
            if (explicit && single) {
                throw new ContainerError("the image's platform (" + actual + ") does not match the specified platform ("
                        + want + ")");
            }
            out.warning("The image's platform (" + actual + ") does not match the " + (explicit ? "requested platform ("
                    + want + ")" : "detected host platform (" + want + ") and no specific platform was requested"));
        }
        return actual;
    }

    /** The layers without repeats (an image may list one empty layer twice), bottom first. */
    private static List<Descriptor> distinct(List<Descriptor> layers) {
        Map<Digest, Descriptor> byDigest = new LinkedHashMap<>();
        for (Descriptor d : layers) byDigest.putIfAbsent(d.digest, d);
        return new ArrayList<>(byDigest.values());
    }

    /**
     * Fetches the missing layers, {@link #MAX_CONCURRENT_DOWNLOADS} at a time. At the first failure
     * the others are stopped (their connections closed, their temp files deleted) and we wait for
     * them, so that when the error is printed nothing is being written any more.
     */
    private void fetchLayers(Registry registry, List<Descriptor> layers) throws IOException {
        out.layers(layers);
        if (layers.isEmpty()) return;
        AtomicInteger n = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(Math.min(MAX_CONCURRENT_DOWNLOADS, layers.size()), r -> {
            Thread t = new Thread(r, "pull-layer-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        Set<Registry.Blob> open = ConcurrentHashMap.newKeySet();
        AtomicBoolean aborted = new AtomicBoolean();
        CompletionService<Void> done = new ExecutorCompletionService<>(pool);
        for (Descriptor d : layers) done.submit(() -> fetchLayer(registry, d, open, aborted), null);
        try {
            for (int i = 0; i < layers.size(); i++) done.take().get();
        } catch (ExecutionException e) {
            abort(open, aborted);
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) throw io;
            if (cause instanceof RuntimeException r) throw r;
            throw new ContainerError(Log.reason(cause), cause);
        } catch (InterruptedException e) {
            abort(open, aborted);
            Thread.currentThread().interrupt();
            throw new ContainerError("interrupted");
        } finally {
            pool.shutdownNow();
            try {
                pool.awaitTermination(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void fetchLayer(Registry registry, Descriptor d, Set<Registry.Blob> open, AtomicBoolean aborted) {
        if (aborted.get()) return;
        if (store.has(d.digest)) {
            out.exists(d);
            return;
        }
        Registry.Blob[] body = new Registry.Blob[1];
        try {
            boolean wrote = store.write(d, hooks, () -> {
                body[0] = registry.blob(d);
                open.add(body[0]);
                if (aborted.get()) body[0].abort();   // aborted while we connected
                return body[0];
            }, bytes -> out.progress(d, bytes));
            if (wrote) out.complete(d);
            else out.exists(d);
        } catch (IOException e) {
            throw new ContainerError(Log.reason(e), e);
        } finally {
            if (body[0] != null) open.remove(body[0]);
        }
    }

    /**
     * Aborting a download closes its connection, which makes its blocked read fail at once; its own
     * thread then closes the stream and deletes the temp file.
     */
    private static void abort(Set<Registry.Blob> open, AtomicBoolean aborted) {
        aborted.set(true);
        for (Registry.Blob in : open) in.abort();
    }
}
