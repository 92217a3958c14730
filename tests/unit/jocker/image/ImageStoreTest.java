//DEPS org.junit.platform:junit-platform-console-standalone:1.11.4
package jocker.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.zip.GZIPOutputStream;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import jocker.image.ImageStore.Image;
import jocker.kernel.Trees;
import jocker.runtime.ContainerError;

/**
 * The image store against real temporary directories: an OCI image layout written atomically,
 * shared by threads and processes, collected without losing a shared blob, and readable by skopeo
 * and umoci (when installed).
 */
public class ImageStoreTest {
    /** The step's hooks, as simply as the lib's own tests need them: verify by DigestingInputStream. */
    static final class Hooks implements ImageHooks {
        @Override public String authorize(WwwAuthenticate.Challenge c, String scope, Credentials.Login login, TokenService t)
                throws IOException {
            if (c.is("basic")) return login.basic();
            return "Bearer " + t.fetch(WwwAuthenticate.tokenUrl(c, scope == null ? List.of() : List.of(scope),
                    login == null ? null : login.username()), login);
        }

        @Override public Descriptor chooseManifest(Index index, Platform platform, String image) {
            for (Descriptor d : index.manifests) if (platform.matches(d.platform)) return d;
            throw new ContainerError("no matching manifest for " + platform + " in " + image);
        }

        @Override public void copyVerified(InputStream body, Descriptor expected, OutputStream out, String what) throws IOException {
            new DigestingInputStream(body, expected.digest, expected.size, what).copyTo(out);
        }

        @Override public boolean applyWhiteout(Path dir, String name, Set<Path> thisLayer) { return false; }
    }

    static final ImageHooks HOOKS = new Hooks();

    /** A small real image: gzip layers of one file each, a config with diff_ids, a manifest. */
    public record Fixture(byte[] manifest, Descriptor manifestDescriptor, byte[] config, Descriptor configDescriptor,
            List<byte[]> layers, List<Descriptor> layerDescriptors) {
        public static Fixture of(String created, String... files) throws IOException {
            List<byte[]> layers = new ArrayList<>();
            List<Descriptor> descriptors = new ArrayList<>();
            List<String> diffIds = new ArrayList<>();
            for (String file : files) {
                byte[] tar = tar(file, ("content of " + file + "\n").getBytes(StandardCharsets.UTF_8));
                byte[] gz = gzip(tar);
                layers.add(gz);
                descriptors.add(new Descriptor(MediaTypes.OCI_LAYER_GZIP, Digest.sha256(gz), gz.length));
                diffIds.add("\"" + Digest.sha256(tar) + "\"");
            }
            byte[] config = ("{\"created\":\"" + created + "\",\"architecture\":\"amd64\",\"os\":\"linux\","
                    + "\"config\":{\"Env\":[\"PATH=/bin\"],\"Cmd\":[\"/bin/sh\"]},"
                    + "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[" + String.join(",", diffIds) + "]}}")
                    .getBytes(StandardCharsets.UTF_8);
            Descriptor configDescriptor = new Descriptor(MediaTypes.OCI_CONFIG, Digest.sha256(config), config.length);
            StringBuilder m = new StringBuilder("{\"schemaVersion\":2,\"mediaType\":\"" + MediaTypes.OCI_MANIFEST + "\",");
            m.append("\"config\":").append(json(configDescriptor)).append(",\"layers\":[");
            for (int i = 0; i < descriptors.size(); i++) m.append(i > 0 ? "," : "").append(json(descriptors.get(i)));
            byte[] manifest = m.append("]}").toString().getBytes(StandardCharsets.UTF_8);
            return new Fixture(manifest, new Descriptor(MediaTypes.OCI_MANIFEST, Digest.sha256(manifest), manifest.length),
                    config, configDescriptor, layers, descriptors);
        }

        private static String json(Descriptor d) {
            return "{\"mediaType\":\"" + d.mediaType + "\",\"digest\":\"" + d.digest + "\",\"size\":" + d.size + "}";
        }

        /** Stores every blob and names the image {@code name}. */
        public Image store(ImageStore store, String name) throws IOException {
            for (int i = 0; i < layers.size(); i++) write(store, layerDescriptors.get(i), layers.get(i));
            write(store, configDescriptor, config);
            store.writeBytes(manifestDescriptor.digest, manifest);
            store.tag(Reference.parse(name), manifestDescriptor);
            return store.find(name).orElseThrow();
        }
    }

    static void write(ImageStore store, Descriptor d, byte[] bytes) throws IOException {
        store.write(d, HOOKS, () -> new ByteArrayInputStream(bytes), null);
    }

    static byte[] tar(String name, byte[] content) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(out)) {
            TarArchiveEntry e = new TarArchiveEntry(name);
            e.setSize(content.length);
            e.setMode(0644);
            e.setModTime(0);   // the same file makes the same layer, whenever the fixture is built
            tar.putArchiveEntry(e);
            tar.write(content);
            tar.closeArchiveEntry();
        }
        return out.toByteArray();
    }

    static byte[] gzip(byte[] bytes) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(bytes);
        }
        return out.toByteArray();
    }

    Path dir;
    ImageStore store;

    @BeforeEach
    void open() throws IOException {
        dir = Files.createTempDirectory("image-store-test");
        store = ImageStore.open(dir.resolve("images"));
    }

    @AfterEach
    void clean() throws IOException { Trees.delete(dir); }

    private List<String> tempFiles() throws IOException {
        try (var s = Files.list(store.dir().resolve("blobs/sha256"))) {
            List<String> tmp = new ArrayList<>(s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".tmp-")).toList());
            try (var t = Files.list(store.dir())) {
                t.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".tmp-")).forEach(tmp::add);
            }
            return tmp;
        }
    }

    @Test
    void openCreatesAnOciLayoutAndLeavesAnExistingOneAlone() throws IOException {
        Path images = store.dir();
        assertEquals("{\n  \"imageLayoutVersion\" : \"1.0.0\"\n}\n", Files.readString(images.resolve("oci-layout")));
        Index index = Index.parse(Files.readAllBytes(images.resolve("index.json")), "index.json");
        assertEquals(MediaTypes.OCI_INDEX, index.mediaType);
        assertTrue(index.manifests.isEmpty());
        assertTrue(Files.isDirectory(images.resolve("blobs/sha256")));
        Fixture.of("2024-01-01T00:00:00Z", "a").store(store, "x:1");
        Files.writeString(images.resolve("busybox.tar"), "not ours");
        ImageStore again = ImageStore.open(images);
        assertEquals(1, again.list().size());
        assertEquals("not ours", Files.readString(images.resolve("busybox.tar")));
        assertEquals(List.of(), tempFiles());
    }

    @Test
    void aBlobIsStoredOnlyWhenItsBytesAreTheOnesItsDigestNames() throws IOException {
        byte[] good = "layer bytes".getBytes(StandardCharsets.UTF_8);
        Descriptor d = new Descriptor(MediaTypes.OCI_LAYER_TAR, Digest.sha256(good), good.length);
        List<Long> progress = new ArrayList<>();
        assertTrue(store.write(d, HOOKS, () -> new ByteArrayInputStream(good), progress::add));
        assertArrayEquals(good, store.read(d.digest));
        assertEquals((long) good.length, progress.get(progress.size() - 1));
        // Present: the source is not even opened.
        assertFalse(store.write(d, HOOKS, () -> { throw new AssertionError("fetched again"); }, null));

        byte[] evil = "layer bytez".getBytes(StandardCharsets.UTF_8);
        Descriptor other = new Descriptor(MediaTypes.OCI_LAYER_TAR, Digest.sha256("x".getBytes()), evil.length);
        ContainerError e = assertThrows(ContainerError.class, () -> write(store, other, evil));
        assertTrue(e.getMessage().contains("digest mismatch"), e.getMessage());
        assertTrue(e.getMessage().contains("layer " + other.digest), e.getMessage());
        assertFalse(store.has(other.digest));
        assertEquals(List.of(), tempFiles());
    }

    @Test
    void aSourceThatBreaksMidwayLeavesNothing() {
        Descriptor d = new Descriptor(MediaTypes.OCI_LAYER_TAR, Digest.sha256(new byte[100_000]), 100_000);
        InputStream breaking = new InputStream() {
            int n;
            @Override public int read() throws IOException {
                if (n++ > 50_000) throw new IOException("connection reset");
                return 0;
            }
        };
        IOException e = assertThrows(IOException.class, () -> store.write(d, HOOKS, () -> breaking, null));
        assertEquals("connection reset", e.getMessage());
        assertFalse(store.has(d.digest));
        assertDoesNotThrowIo(() -> assertEquals(List.of(), tempFiles()));
    }

    private interface IoRunnable { void run() throws IOException; }

    private static void assertDoesNotThrowIo(IoRunnable r) {
        try {
            r.run();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void anImageIsFoundByFamiliarOrCanonicalNameOrIdPrefix() throws IOException {
        Image img = Fixture.of("2024-01-01T00:00:00Z", "a", "b").store(store, "busybox");
        assertEquals("docker.io/library/busybox:latest", img.name().toString());
        String id = img.configDigest().encoded();
        for (String name : List.of("busybox", "busybox:latest", "docker.io/library/busybox:latest", "library/busybox",
                id.substring(0, 12), id.substring(0, 3), "sha256:" + id)) {
            assertEquals(img.manifestDigest(), store.find(name).orElseThrow(() -> new AssertionError(name)).manifestDigest(), name);
        }
        assertTrue(store.find("busybox:1.36").isEmpty());
        assertTrue(store.find("/path/to/x.tar").isEmpty());
        assertTrue(store.find("ffffff").isEmpty() || id.startsWith("ffffff"));
        assertEquals(img.manifest().layers.get(0).size + img.manifest().layers.get(1).size + img.manifest().config.size, img.size());
        // By digest: named NAME@DIGEST; found by that name, and by repository + the digest.
        Reference byDigest = new Reference("docker.io", "library/busybox", null, img.manifestDigest());
        store.tag(byDigest, img.manifestDescriptor());
        assertEquals(byDigest, store.find("busybox@" + img.manifestDigest()).orElseThrow().name());
    }

    @Test
    void aTagMovesAndListIsNewestFirst() throws IOException {
        Fixture old = Fixture.of("2020-01-01T00:00:00Z", "old");
        Fixture recent = Fixture.of("2025-01-01T00:00:00Z", "new");
        old.store(store, "app:v1");
        recent.store(store, "app:v2");
        assertEquals(List.of("docker.io/library/app:v2", "docker.io/library/app:v1"),
                store.list().stream().map(i -> i.name().toString()).toList());
        recent.store(store, "app:v1");   // v1 now names the new image: one entry, moved
        assertEquals(2, store.list().size());
        assertEquals(recent.manifestDescriptor().digest, store.find("app:v1").orElseThrow().manifestDigest());
    }

    @Test
    void threadsTaggingAtOnceAllKeepTheirEntry() throws Exception {
        Fixture f = Fixture.of("2024-01-01T00:00:00Z", "shared");
        ExecutorService pool = Executors.newFixedThreadPool(8);
        List<Future<?>> all = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            String name = "t:" + i;
            all.add(pool.submit(() -> {
                try (StoreLock.Held held = store.lockShared()) {
                    f.store(store, name);
                }
                return null;
            }));
        }
        for (Future<?> x : all) x.get(30, TimeUnit.SECONDS);
        pool.shutdown();
        assertEquals(40, store.list().size());
        assertEquals(List.of(), tempFiles());
    }

    /**
     * The child JVMs of {@link #processesTaggingAtOnceAllKeepTheirEntry}: a source-file program (no
     * main method in a test class: JBang would take it for the script's main), run against this
     * JVM's class path.
     */
    private static final String CHILD = """
            import java.nio.file.Path;
            import jocker.image.*;
            public class Child {
                public static void main(String[] args) throws Exception {
                    ImageStore s = ImageStore.open(Path.of(args[0]));
                    ImageStoreTest.Fixture f = ImageStoreTest.Fixture.of("2024-01-01T00:00:00Z", "shared");
                    for (int i = 0; i < Integer.parseInt(args[2]); i++) {
                        try (StoreLock.Held held = s.lockShared()) {
                            f.store(s, args[1] + ":" + i);
                        }
                    }
                }
            }
            """;

    @Test
    void processesTaggingAtOnceAllKeepTheirEntry() throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        Path child = dir.resolve("Child.java");
        Files.writeString(child, CHILD);
        List<Process> children = new ArrayList<>();
        for (String prefix : List.of("p", "q")) {
            children.add(new ProcessBuilder(java, "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp",
                    System.getProperty("java.class.path"), child.toString(), store.dir().toString(), prefix, "20")
                    .inheritIO().start());
        }
        for (Process p : children) {
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "a child hung");
            assertEquals(0, p.exitValue());
        }
        assertEquals(40, store.list().size());
        assertEquals(List.of(), tempFiles());
    }

    @Test
    void rmiDeletesWhatNoOtherImageUsesAndTempFilesOfDeadPulls() throws IOException {
        Image a = Fixture.of("2024-01-01T00:00:00Z", "base", "a").store(store, "a");
        Image b = Fixture.of("2024-01-02T00:00:00Z", "base", "b").store(store, "b");
        Descriptor base = a.manifest().layers.get(0);
        assertEquals(base.digest, b.manifest().layers.get(0).digest, "the fixture shares its first layer");
        Path dead = store.dir().resolve("blobs/sha256/.tmp-" + "e".repeat(64) + "-0123456789ab");
        Files.writeString(dead, "half a layer");
        Path stray = store.dir().resolve("blobs/sha256/" + "f".repeat(64));   // unreachable: collected
        Files.writeString(stray, "orphan");

        ImageStore.Removal r = store.remove("a");
        assertEquals(List.of("a:latest"), r.untagged());
        assertEquals(List.of(a.manifestDigest(), a.configDigest(), a.manifest().layers.get(1).digest), r.deleted());
        assertFalse(Files.exists(stray), "other garbage is collected too, without a word");
        assertTrue(store.has(base.digest), "b still uses the base layer");
        assertFalse(Files.exists(dead));
        assertEquals(List.of(), tempFiles());
        ContainerError missing = assertThrows(ContainerError.class, () -> store.remove("a"));
        assertEquals("no such image: a", missing.getMessage());

        store.remove("b");
        try (var s = Files.list(store.dir().resolve("blobs/sha256"))) {
            assertEquals(0, s.count());
        }
    }

    @Test
    void rmiByIdOfAnImageWithSeveralNamesNeedsForce() throws IOException {
        Fixture f = Fixture.of("2024-01-01T00:00:00Z", "x");
        Image img = f.store(store, "one");
        f.store(store, "two");
        String id = img.configDigest().shortId();
        ContainerError e = assertThrows(ContainerError.class, () -> store.remove(id));
        assertTrue(e.getMessage().startsWith("conflict: unable to delete " + id), e.getMessage());
        ImageStore.Removal r = store.remove("one");
        assertEquals(List.of(), r.deleted(), "two still names it");
        f.store(store, "three");
        r = store.remove(id, true);
        assertEquals(List.of("two:latest", "three:latest"), r.untagged());
        assertEquals(3, r.deleted().size());
    }

    @Test
    void garbageCollectionWaitsForARunningPull() throws Exception {
        Fixture f = Fixture.of("2024-01-01T00:00:00Z", "pulled");
        CountDownLatch blobsWritten = new CountDownLatch(1);
        CountDownLatch mayTag = new CountDownLatch(1);
        AtomicBoolean collected = new AtomicBoolean();
        Thread pull = new Thread(() -> {
            try (StoreLock.Held held = store.lockShared()) {
                write(store, f.layerDescriptors().get(0), f.layers().get(0));   // unnamed until the tag
                blobsWritten.countDown();
                mayTag.await();
                f.store(store, "pulled");
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        pull.start();
        blobsWritten.await();
        Thread gc = new Thread(() -> {
            store.collectGarbage();
            collected.set(true);
        });
        gc.start();
        gc.join(300);
        assertFalse(collected.get(), "garbage collection ran while a pull held the store");
        mayTag.countDown();
        pull.join();
        gc.join(10_000);
        assertTrue(collected.get());
        assertTrue(store.has(f.layerDescriptors().get(0).digest), "the pull's layer survived");
    }

    @Test
    void skopeoAndUmociReadTheStore() throws Exception {
        assumeTrue(onPath("skopeo") && onPath("umoci"), "skopeo and umoci are not installed");
        Fixture.of("2024-01-01T00:00:00Z", "hello", "world").store(store, "127.0.0.1:5000/x:t");
        String ref = store.dir() + ":127.0.0.1:5000/x:t";
        assertTrue(run("skopeo", "inspect", "oci:" + ref).contains("\"Architecture\": \"amd64\""));
        assertEquals("127.0.0.1:5000/x:t", run("umoci", "ls", "--layout", store.dir().toString()).trim());
        Path bundle = dir.resolve("bundle");
        run("umoci", "unpack", "--rootless", "--image", ref, bundle.toString());
        assertEquals("content of world\n", Files.readString(bundle.resolve("rootfs/world")));
    }

    private static boolean onPath(String tool) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (Files.isExecutable(Path.of(d, tool))) return true;
        }
        return false;
    }

    private static String run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), String.join(" ", command) + ": " + out);
        return out;
    }
}
