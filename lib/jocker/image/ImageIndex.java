package jocker.image;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

import jocker.image.ImageStore.Image;
import jocker.image.ImageStore.Removal;
import jocker.runtime.ContainerError;
import jocker.runtime.Log;

/**
 * The store's {@code index.json}: which images have names, and what garbage collection may delete.
 * Each entry is the descriptor of one platform's manifest (never an index: we store the platform
 * we pulled), named by {@code org.opencontainers.image.ref.name} with the full reference
 * ({@code docker.io/library/busybox:latest}), which skopeo and umoci accept as the name after the
 * layout's path. A blob is alive while an entry reaches it: the manifest, its config and layers,
 * and the index it was chosen from (kept so that {@code images --digests} can show the repository
 * digest, the one {@code pull} printed).
 */
final class ImageIndex {
    /** Our annotation on an entry: the digest the tag named (the manifest's, or its index's). */
    static final String REPO_DIGEST = "jocker.repo-digest";
    private static final Pattern ID_PREFIX = Pattern.compile("(sha256:)?[a-f0-9]{1,64}");

    private final ImageStore store;

    ImageIndex(ImageStore store) { this.store = store; }

    /** index.json as it is now (it is replaced by rename, so a reader never sees half of one). */
    Index read() {
        try {
            return Index.parse(Files.readAllBytes(store.indexFile()), store.indexFile().toString());
        } catch (IOException e) {
            throw new ContainerError("failed to read " + store.indexFile() + ": " + Log.reason(e), e);
        }
    }

    /** Names {@code manifest} {@code name}, replacing what that name named before. */
    void tag(Reference name, Descriptor manifest, Digest repoDigest) {
        String n = name.toString();
        Descriptor entry = new Descriptor(manifest.mediaType, manifest.digest, manifest.size);
        entry.platform = manifest.platform;
        entry.annotations.put(ImageLayout.REF_NAME, n);
        entry.annotations.put(ImageLayout.CONTAINERD_IMAGE_NAME, n);
        if (repoDigest != null) entry.annotations.put(REPO_DIGEST, repoDigest.toString());
        update(index -> {
            index.manifests.removeIf(d -> n.equals(d.annotation(ImageLayout.REF_NAME)));
            index.manifests.add(entry);
        });
    }

    /** One read-modify-write of index.json, under the index lock, replaced atomically. */
    private void update(java.util.function.Consumer<Index> change) {
        try (StoreLock.Held held = store.lock.index()) {
            Index index = read();
            change.accept(index);
            store.replace(store.indexFile(), ImageJson.text(index) + "\n");
        } catch (AccessDeniedException e) {
            throw ImageStore.notWritable(store.dir, e);
        } catch (IOException e) {
            throw new ContainerError("failed to write " + store.indexFile() + ": " + Log.reason(e), e);
        }
    }

    /** The entries we can name: those whose ref.name is a reference (another tool may write others). */
    private static Reference name(Descriptor entry) {
        try {
            String n = entry.annotation(ImageLayout.REF_NAME);
            return n == null ? null : Reference.parse(n);
        } catch (ContainerError e) {
            return null;
        }
    }

    /** Reads an entry's manifest and config from the store. */
    Image load(Descriptor entry, Reference name) {
        String what = "manifest " + entry.digest + " of " + name.familiar();
        Manifest m = Manifest.parse(store.read(entry.digest), what);
        ImageConfig c = ImageConfig.parse(store.read(m.config.digest), "config " + m.config.digest + " of " + name.familiar());
        return new Image(name, entry, m, c, m.config.digest);
    }

    /** Every named image that can be read, newest first (as {@code docker images} sorts). */
    List<Image> list() {
        List<Image> images = new ArrayList<>();
        for (Descriptor e : read().manifests) {
            Reference name = name(e);
            if (name == null) continue;
            try {
                images.add(load(e, name));
            } catch (ContainerError x) {
                Log.verbose("skipping %s: %s", name, x.getMessage());   // removed meanwhile, or not an image
            }
        }
        Comparator<Image> created = Comparator.comparing(i -> i.config().createdInstant(),
                Comparator.nullsLast(Comparator.<Instant>reverseOrder()));
        images.sort(created.thenComparing(i -> i.name().toString()));
        return images;
    }

    /**
     * The entries {@code input} names, as Docker looks an image up: a name (familiar or canonical,
     * {@code name@digest} also by the digest a pull printed), else an image ID or a prefix of one.
     * {@code byId} tells which: rmi by ID removes every name of the image.
     */
    record Match(List<Descriptor> entries, boolean byId) {}

    Optional<Match> match(String input) {
        List<Descriptor> entries = read().manifests;
        Reference ref = tryParse(input);
        if (ref != null) {
            for (Descriptor e : entries) {
                if (ref.toString().equals(e.annotation(ImageLayout.REF_NAME))) return Optional.of(new Match(List.of(e), false));
            }
            if (ref.digest() != null) {
                for (Descriptor e : entries) {
                    Reference n = name(e);
                    if (n != null && n.name().equals(ref.name())
                            && (e.digest.equals(ref.digest()) || ref.digest().toString().equals(e.annotation(REPO_DIGEST)))) {
                        return Optional.of(new Match(List.of(e), false));
                    }
                }
            }
        }
        if (!ID_PREFIX.matcher(input).matches()) return Optional.empty();
        String prefix = input.replaceFirst("^sha256:", "");
        List<Descriptor> found = new ArrayList<>();
        Set<Digest> ids = new HashSet<>();
        for (Descriptor e : entries) {
            Reference n = name(e);
            if (n == null) continue;
            try {
                Digest id = load(e, n).configDigest();
                if (id.encoded().startsWith(prefix)) {
                    found.add(e);
                    ids.add(id);
                }
            } catch (ContainerError x) {
                // unreadable: not a match
            }
        }
        if (ids.size() > 1) throw new ContainerError("image ID prefix " + input + " is ambiguous: it matches " + ids.size() + " images");
        return found.isEmpty() ? Optional.empty() : Optional.of(new Match(found, true));
    }

    Optional<Image> find(String input) {
        return match(input).map(m -> load(m.entries().get(0), name(m.entries().get(0))));
    }

    private static Reference tryParse(String input) {
        try {
            return Reference.parse(input);
        } catch (ContainerError e) {
            return null;
        }
    }

    /** rmi: untags what {@code input} names, then collects the garbage, all under the exclusive lock. */
    Removal remove(String input, boolean force) {
        try (StoreLock.Held held = store.lock.exclusive()) {
            Match m = match(input).orElseThrow(() -> new ContainerError("no such image: " + input));
            List<Descriptor> gone = m.entries();
            if (m.byId() && gone.size() > 1 && !force) {
                throw new ContainerError("conflict: unable to delete " + input + " (must be forced): the image has "
                        + gone.size() + " names; remove them by name, or use --force");
            }
            Image first;
            try {
                first = load(gone.get(0), name(gone.get(0)));
            } catch (ContainerError e) {
                first = null;   // its blobs are gone or broken: the name can go all the same
            }
            Set<String> names = new LinkedHashSet<>();
            for (Descriptor e : gone) names.add(e.annotation(ImageLayout.REF_NAME));
            update(index -> index.manifests.removeIf(d -> names.contains(d.annotation(ImageLayout.REF_NAME))));
            List<String> untagged = names.stream().map(n -> Reference.parse(n).familiar()).toList();
            // What rmi prints: the image's own blobs that went, in Docker's order (manifest, config,
            // layers, then the index it was chosen from). Other garbage (blobs of failed pulls, a
            // manifest a tag no longer names) is collected too, silently.
            List<Digest> own = new ArrayList<>(List.of(gone.get(0).digest));
            if (first != null) {
                own.add(first.configDigest());
                first.manifest().layers.forEach(l -> own.add(l.digest));
                own.add(first.repoDigest());
            }
            Set<Digest> deleted = sweep();
            List<Digest> sorted = own.stream().distinct().filter(deleted::contains).toList();
            Log.verbose("collected %d more unreachable blobs", deleted.size() - sorted.size());
            return new Removal(untagged, sorted);
        }
    }

    /** Garbage collection on its own, under the exclusive lock. */
    Set<Digest> collect() {
        try (StoreLock.Held held = store.lock.exclusive()) {
            return sweep();
        }
    }

    /**
     * Deletes every blob no entry reaches, and the temp files of dead pulls. Only under the
     * exclusive content lock: a running pull holds it shared, so nothing it wrote is collected.
     * A reachable blob that cannot be read stops the sweep: we cannot know what it keeps alive.
     */
    private Set<Digest> sweep() {
        Set<Digest> alive = new HashSet<>();
        for (Descriptor e : read().manifests) {
            mark(e.digest, e.mediaType, alive);
            String repo = e.annotation(REPO_DIGEST);
            if (repo != null) {
                try {
                    alive.add(Digest.parse(repo));
                } catch (ContainerError x) {
                    // not a digest: keeps nothing
                }
            }
        }
        Set<Digest> deleted = new LinkedHashSet<>();
        try {
            store.removeTempFiles();
            try (DirectoryStream<Path> blobs = Files.newDirectoryStream(store.blobs)) {
                for (Path p : blobs) {
                    String hex = p.getFileName().toString();
                    if (!hex.matches("[a-f0-9]{64}")) continue;   // not a blob of ours
                    Digest d = new Digest("sha256", hex);
                    if (!alive.contains(d) && Files.deleteIfExists(p)) deleted.add(d);
                }
            }
        } catch (AccessDeniedException e) {
            throw ImageStore.notWritable(store.dir, e);
        } catch (IOException e) {
            throw new ContainerError("failed to collect garbage in " + store.dir + ": " + Log.reason(e), e);
        }
        return deleted;
    }

    /** Marks {@code d} alive and, if it is a manifest or an index, everything it points at. */
    private void mark(Digest d, String mediaType, Set<Digest> alive) {
        if (!alive.add(d) || !store.has(d)) return;
        String what = "blob " + d + " (reachable from index.json)";
        try {
            if (MediaTypes.isIndex(mediaType)) {
                for (Descriptor m : Index.parse(store.read(d), what).manifests) mark(m.digest, m.mediaType, alive);
            } else if (MediaTypes.isManifest(mediaType)) {
                // Parsed leniently: an artifact's manifest (another tool's) keeps its blobs too.
                Manifest m = ImageJson.parse(store.read(d), Manifest.class, what);
                if (m.config != null && m.config.digest != null) alive.add(m.config.digest);
                if (m.layers != null) m.layers.stream().filter(l -> l != null && l.digest != null).forEach(l -> alive.add(l.digest));
            }
        } catch (ContainerError e) {
            throw new ContainerError("refusing to collect garbage: " + e.getMessage(), e);
        }
    }
}
