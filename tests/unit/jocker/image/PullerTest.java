//DEPS org.junit.platform:junit-platform-console-standalone:1.11.4
package jocker.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.sun.net.httpserver.HttpServer;

import jocker.image.ImageStore.Image;
import jocker.image.ImageStoreTest.Fixture;
import jocker.kernel.Trees;
import jocker.runtime.ContainerError;

/**
 * The puller against a small registry in this process (the JDK's HttpServer) that serves fixture
 * images and misbehaves on demand: an index whose first entry is another platform, a tampered
 * layer, a connection dropped mid-layer, a lying Docker-Content-Digest. The checks of step 06 pull
 * from the real Distribution server.
 */
class PullerTest {
    /** What the registry serves: path under /v2/r/ to content type and bytes. */
    private final Map<String, Object[]> content = new ConcurrentHashMap<>();
    private final Set<String> dropping = ConcurrentHashMap.newKeySet();
    private final Set<String> stalling = ConcurrentHashMap.newKeySet();
    private HttpServer server;
    private java.util.concurrent.ExecutorService executor;
    private String host;
    private Path dir;
    private ImageStore store;
    private final ByteArrayOutputStream stdout = new ByteArrayOutputStream();

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        executor = java.util.concurrent.Executors.newFixedThreadPool(4);
        server.setExecutor(executor);
        server.createContext("/", ex -> {
            try (ex) {
                String path = ex.getRequestURI().getPath();
                Object[] c = content.get(path);
                if (path.equals("/v2/")) {
                    ex.sendResponseHeaders(200, -1);
                } else if (c == null) {
                    byte[] body = "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\"}]}".getBytes();
                    ex.getResponseHeaders().set("Content-Type", "application/json");
                    ex.sendResponseHeaders(404, body.length);
                    ex.getResponseBody().write(body);
                } else {
                    byte[] body = (byte[]) c[1];
                    ex.getResponseHeaders().set("Content-Type", (String) c[0]);
                    if (c.length > 2) ex.getResponseHeaders().set("Docker-Content-Digest", (String) c[2]);
                    ex.sendResponseHeaders(200, body.length);
                    if (stalling.contains(path)) {
                        ex.getResponseBody().write(body, 0, body.length / 2);
                        ex.getResponseBody().flush();
                        sleepQuietly(20_000);   // and then nothing more: a registry stuck mid-body
                        return;
                    }
                    if (dropping.contains(path)) {
                        ex.getResponseBody().write(body, 0, body.length / 2);
                        ex.getResponseBody().flush();
                        throw new IOException("dropped on purpose");   // closes the connection mid-body
                    }
                    ex.getResponseBody().write(body);
                }
            }
        });
        server.start();
        host = "127.0.0.1:" + server.getAddress().getPort();
        dir = Files.createTempDirectory("puller-test");
        store = ImageStore.open(dir.resolve("images"));
    }

    @AfterEach
    void stop() throws IOException {
        server.stop(0);
        executor.shutdownNow();   // wakes a handler still stalling
        Trees.delete(dir);
    }

    /** Serves a fixture's blobs, and its manifest under {@code tag} (if not null) and its digest. */
    private void serve(Fixture f, String tag) {
        for (int i = 0; i < f.layers().size(); i++) blob(f.layerDescriptors().get(i).digest, f.layers().get(i));
        blob(f.configDescriptor().digest, f.config());
        manifest(f.manifestDescriptor().digest.toString(), MediaTypes.OCI_MANIFEST, f.manifest());
        if (tag != null) manifest(tag, MediaTypes.OCI_MANIFEST, f.manifest());
    }

    private void blob(Digest d, byte[] bytes) { content.put("/v2/r/blobs/" + d, new Object[] {"application/octet-stream", bytes}); }

    private void manifest(String ref, String type, byte[] bytes) { content.put("/v2/r/manifests/" + ref, new Object[] {type, bytes}); }

    private Image pull(String ref, String platform) {
        PullOutput out = PullOutput.plain(new PrintStream(stdout, true, StandardCharsets.UTF_8));
        return new Puller(store, ImageStoreTest.HOOKS, out).pull(Reference.parse(host + "/" + ref),
                platform == null ? null : Platform.parse(platform), Set.of());
    }

    private String output() { return stdout.toString(StandardCharsets.UTF_8); }

    private void assertNothingLeft(String name) throws IOException {
        assertTrue(store.find(host + "/" + name).isEmpty(), "the failed pull named an image");
        try (var s = Files.list(store.dir().resolve("blobs/sha256"))) {
            assertEquals(List.of(), s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".tmp-")).toList());
        }
    }

    @Test
    void anIndexYieldsThePlatformsManifestAndEveryLineOfDockersOutput() throws IOException {
        Fixture arm = Fixture.of("2024-01-01T00:00:00Z", "arm");
        Fixture amd = Fixture.of("2024-01-02T00:00:00Z", "amd", "amd2");
        serve(arm, null);
        serve(amd, null);
        String index = "{\"schemaVersion\":2,\"mediaType\":\"" + MediaTypes.OCI_INDEX + "\",\"manifests\":["
                + entry(arm, "arm64") + "," + entry(amd, "amd64") + "]}";
        byte[] indexBytes = index.getBytes(StandardCharsets.UTF_8);
        manifest("t", MediaTypes.OCI_INDEX, indexBytes);
        Image img = pull("r:t", "linux/amd64");
        Digest repo = Digest.sha256(indexBytes);
        assertEquals(amd.manifestDescriptor().digest, img.manifestDigest());
        assertEquals(repo, img.repoDigest());
        assertTrue(store.has(repo), "the index is kept for its digest");
        String[] lines = output().split("\n");
        assertEquals("t: Pulling from r", lines[0]);
        assertEquals(Set.of(amd.layerDescriptors().get(0).digest.shortId() + ": Download complete",
                amd.layerDescriptors().get(1).digest.shortId() + ": Download complete"), Set.of(lines[1], lines[2]));
        assertEquals(List.of("Digest: " + repo, "Status: Downloaded newer image for " + host + "/r:t", host + "/r:t"),
                List.of(lines).subList(3, 6));

        stdout.reset();
        pull("r:t", "linux/amd64");
        assertTrue(output().contains(amd.layerDescriptors().get(0).digest.shortId() + ": Already exists"), output());
        assertTrue(output().contains("Status: Image is up to date for " + host + "/r:t"), output());
    }

    private static String entry(Fixture f, String arch) {
        Descriptor d = f.manifestDescriptor();
        return "{\"mediaType\":\"" + d.mediaType + "\",\"digest\":\"" + d.digest + "\",\"size\":" + d.size
                + ",\"platform\":{\"os\":\"linux\",\"architecture\":\"" + arch + "\"}}";
    }

    @Test
    void aTamperedLayerIsRefusedAndLeavesNothing() throws IOException {
        Fixture f = Fixture.of("2024-01-01T00:00:00Z", "a", "b", "c");
        serve(f, "t");
        byte[] evil = f.layers().get(1).clone();
        evil[evil.length / 2] ^= 1;
        blob(f.layerDescriptors().get(1).digest, evil);
        ContainerError e = assertThrows(ContainerError.class, () -> pull("r:t", null));
        assertEquals("failed to pull " + host + "/r:t: failed to verify layer " + f.layerDescriptors().get(1).digest
                + ": digest mismatch: expected " + f.layerDescriptors().get(1).digest + ", actual " + Digest.sha256(evil), e.getMessage());
        assertFalse(store.has(f.layerDescriptors().get(1).digest));
        assertNothingLeft("r:t");
    }

    @Test
    void aLayerThatFailsStopsTheOthersAtOnceEvenOneStuckMidBody() throws IOException {
        // Layer a hangs half-way, b's bytes are not the ones its digest names. The pull must fail
        // on b at once: a's download is stopped from the puller's thread, with its read blocked.
        Fixture f = Fixture.of("2024-01-01T00:00:00Z", "a", "b");
        serve(f, "t");
        stalling.add("/v2/r/blobs/" + f.layerDescriptors().get(0).digest);
        byte[] evil = f.layers().get(1).clone();
        evil[evil.length / 2] ^= 1;
        blob(f.layerDescriptors().get(1).digest, evil);
        long start = System.nanoTime();
        ContainerError e = assertThrows(ContainerError.class, () -> pull("r:t", null));
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertTrue(e.getMessage().contains("failed to verify layer " + f.layerDescriptors().get(1).digest), e.getMessage());
        assertTrue(millis < 5_000, "the pull took " + millis + " ms to give up");
        assertNothingLeft("r:t");
    }

    private static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void aConnectionDroppedMidLayerFailsThePullCleanly() throws IOException {
        Fixture f = Fixture.of("2024-01-01T00:00:00Z", "a", "b");
        serve(f, "t");
        dropping.add("/v2/r/blobs/" + f.layerDescriptors().get(0).digest);
        ContainerError e = assertThrows(ContainerError.class, () -> pull("r:t", null));
        assertTrue(e.getMessage().startsWith("failed to pull " + host + "/r:t: "), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
        assertNothingLeft("r:t");
    }

    @Test
    void aPullByDigestIsNamedByItAndTheBytesMustMatchIt() throws IOException {
        Fixture f = Fixture.of("2024-01-01T00:00:00Z", "a");
        serve(f, null);
        Digest d = f.manifestDescriptor().digest;
        Image img = pull("r@" + d, null);
        assertEquals(host + "/r@" + d, img.name().toString());
        assertTrue(output().startsWith(d + ": Pulling from r\n"), output());

        Fixture other = Fixture.of("2024-01-01T00:00:00Z", "other");
        serve(other, null);
        manifest(d.toString(), MediaTypes.OCI_MANIFEST, other.manifest());   // the registry lies
        store.remove(host + "/r@" + d);
        ContainerError e = assertThrows(ContainerError.class, () -> pull("r@" + d, null));
        assertTrue(e.getMessage().contains("digest mismatch: expected " + d), e.getMessage());
        assertNothingLeft("r@" + d);
    }

    @Test
    void aLyingDockerContentDigestIsRefused() throws IOException {
        Fixture f = Fixture.of("2024-01-01T00:00:00Z", "a");
        serve(f, null);
        content.put("/v2/r/manifests/t", new Object[] {MediaTypes.OCI_MANIFEST, f.manifest(), "sha256:" + "0".repeat(64)});
        ContainerError e = assertThrows(ContainerError.class, () -> pull("r:t", null));
        assertTrue(e.getMessage().contains("(Docker-Content-Digest)"), e.getMessage());
    }

    @Test
    void aMissingTagForeignLayersAndAPlatformMismatchAreOneLineEach() throws IOException {
        ContainerError missing = assertThrows(ContainerError.class, () -> pull("r:nope", null));
        assertTrue(missing.getMessage().startsWith("failed to pull " + host + "/r:nope: "), missing.getMessage());

        Fixture f = Fixture.of("2024-01-01T00:00:00Z", "a");
        serve(f, null);
        String foreign = new String(f.manifest(), StandardCharsets.UTF_8).replace(MediaTypes.OCI_LAYER_GZIP, MediaTypes.DOCKER_FOREIGN_LAYER);
        manifest("foreign", MediaTypes.OCI_MANIFEST, foreign.getBytes(StandardCharsets.UTF_8));
        ContainerError e = assertThrows(ContainerError.class, () -> pull("r:foreign", null));
        assertTrue(e.getMessage().contains("foreign (non-distributable) layer"), e.getMessage());

        manifest("t", MediaTypes.OCI_MANIFEST, f.manifest());   // an amd64 image
        ContainerError wrong = assertThrows(ContainerError.class, () -> pull("r:t", "linux/arm64"));
        assertEquals("failed to pull " + host + "/r:t: the image's platform (linux/amd64) does not match the specified"
                + " platform (linux/arm64)", wrong.getMessage());
        assertNothingLeft("r:t");
    }
}
