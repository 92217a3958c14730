import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

import com.sun.net.httpserver.HttpServer;

/**
 * Step 06 pull image, black-box: what a pull must refuse, and leave nothing behind for: a missing
 * tag or repository, a blob the registry's storage was tampered with, a registry that stops in
 * the middle of a download, one that is not there, one that answers garbage, and a layer that
 * tries to write outside the container's root. And what two pulls at once must not break.
 * The helpers are {@link Step06Checks}'.
 */
@DisplayName("step 06 pull image: refusals")
@ExtendWith(JockerExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class Step06FailureChecks extends Step06Checks.Base {

    private Fixtures.Image tampered;
    private final Map<String, Fixtures.Image> shared = new LinkedHashMap<>();
    private final List<Fixtures.Image> escapes = new ArrayList<>();
    private String escapeToken;

    Step06FailureChecks(Jocker jocker) {
        super(jocker);
    }

    @BeforeAll
    void setUp() throws IOException {
        long started = System.nanoTime();
        registry = RegistryServer.start();
        // Step06Checks' fixture layout (busybox alone is its "base"); the images below are this class's own.
        Step06Checks.Images images = new Step06Checks.Images(jocker, registry);
        Fixtures.Api api = images.api;
        Path busybox = images.busybox;
        Fixtures.Layout oci = images.oci;

        // Three images on one base layer, for pulls at the same time.
        for (String name : List.of("a", "b", "c")) {
            oci.addLayer("base", new Fixtures.Layer().file("name", name + "\n"), name);
            oci.push(name, registry.host() + "/" + name + ":t");
            shared.put(name, api.image(name, "t"));
        }

        // tampered: a layer of its own (random bytes), whose stored bytes are then replaced by
        // others of the same length in the registry's storage: the registry serves them as they are.
        byte[] noise = new byte[200_000];
        new SecureRandom().nextBytes(noise);
        oci.addLayer("base", new Fixtures.Layer().file("noise", noise, 0644), "tampered");
        oci.push("tampered", registry.host() + "/tampered:t");
        tampered = api.image("tampered", "t");
        Fixtures.Blob victim = tampered.layers().get(tampered.layers().size() - 1);
        Path data = registry.blobData(victim.digest());
        byte[] other = new byte[(int) Files.size(data)];
        new SecureRandom().nextBytes(other);
        Files.write(data, other);

        // Hostile images, each a base and layers that try to get out in one way (an image each:
        // a runtime that refuses the first hostile entry would not meet the others):
        //   escape:dotdot   entries named ../x, ../../x ... and /../../tmp/x
        //   escape:symlink  symlinks to /tmp (absolute and by ../), then files written through them,
        //                   in the same layer and in the next one, and whiteouts through them
        //   escape:hardlink hard links to a symlink to a host file, to the host file by absolute
        //                   path and by ../
        // Every hostile layer holds a marker at its root: a file found beside or below the marker
        // is inside an unpacked layer, where clamping put it (see escapes()).
        escapeToken = Jocker.token("");
        String t = escapeToken, up = "../".repeat(12), marker = "escape-marker-" + t;
        byte[] base = new Fixtures.Layer().busybox(busybox).tar();
        escapes.add(api.pushImage("escape", "dotdot", List.of(base, new Fixtures.Layer()
                .file(marker, "the root of the layer\n")
                .file("../escape-1-" + t, "x\n")
                .file("../../escape-2-" + t, "x\n")
                .file("../../../escape-3-" + t, "x\n")
                .file(up + "tmp/escape-4-" + t, "x\n")
                .file("/../../tmp/escape-5-" + t, "x\n")
                .tar()), true, Map.of("Cmd", List.of("/bin/sh"))));
        escapes.add(api.pushImage("escape", "symlink", List.of(base, new Fixtures.Layer()
                .file(marker, "the root of the layer\n")
                .symlink("abs", "/tmp/jocker-escape-" + t)
                .symlink("rel", up + "tmp/jocker-escape-" + t)
                .symlink("tmplink", "/tmp")
                .symlink("victims", "/tmp/jocker-victims-" + t)
                .file("abs/planted-1", "x\n")
                .file("rel/planted-2", "x\n")
                .tar(), new Fixtures.Layer()
                .file(marker, "the root of the layer\n")
                .file("abs/planted-3", "x\n")
                .file("rel/planted-4", "x\n")
                .whiteout("tmplink/jocker-victim-" + t)
                .opaque("victims")
                .whiteout(up + "tmp/jocker-victim-" + t)
                .tar()), true, Map.of("Cmd", List.of("/bin/sh"))));
        escapes.add(api.pushImage("escape", "hardlink", List.of(base, new Fixtures.Layer()
                .file(marker, "the root of the layer\n")
                .symlink("victimlink", "/tmp/jocker-victim-" + t)
                .hardlink("stolen-0", "victimlink")
                .hardlink("stolen-1", "/tmp/jocker-victim-" + t)
                .hardlink("stolen-2", up + "tmp/jocker-victim-" + t)
                .tar()), true, Map.of("Cmd", List.of("/bin/sh"))));

        Step06Checks.ready(this, "registry and fixture images", started);
    }

    // ------------------------------------------------------------------------------------------

    @Test
    @Order(1)
    @DisplayName("a missing tag or repository: 125, one line naming the image, nothing stored")
    void missingTag() throws IOException {
        Step06Checks.Root root = root("missing");
        Fixtures.Image a = shared.get("a");
        root.pull(a);
        byte[] index = root.indexBytes();
        Set<String> blobs = root.blobs();
        for (String ref : List.of(registry.host() + "/a:no-such-tag", registry.host() + "/no-such-repo:t")) {
            Jocker.Result r = root.run("pull", ref);
            refused(r, "pull of " + ref, DIGEST, ref);
            check(r, Arrays.equals(index, root.indexBytes()), "images/index.json changed", DIGEST);
            check(r, blobs.equals(root.blobs()), "blobs were added to the store", DIGEST);
            check(r, root.temporaries().isEmpty(), "temporary files were left: " + root.temporaries(), DIGEST);
        }
    }

    @Test
    @Essential
    @Order(2)
    @DisplayName("a layer tampered with in the registry's storage: 125, one line about its digest, the blob not stored")
    void tamperedBlob() throws IOException {
        Step06Checks.Root root = root("tampered");
        Jocker.Result r = root.run("pull", tampered.ref());
        refused(r, "pull of an image whose layer's bytes are not the ones its digest names",
                DIGEST, "digest");
        String layer = tampered.layers().get(tampered.layers().size() - 1).digest();
        check(r, !root.blobs().contains(layer), "the tampered layer " + layer + " was stored", DIGEST);
        assertNothingKept(root, r);
    }

    @Test
    @Order(3)
    @DisplayName("the registry stopped in the middle of a layer: 125, one line, no partial blob, nothing tagged")
    void registryStopsMidPull() throws IOException {
        Step06Checks.Root root = root("stopped");
        // A registry of its own (this one is stopped), behind a relay that forwards 4 MB/s. It is
        // stopped once 1.5 MB of the 8 MB layer went through; what its socket still held (a few MB
        // at most) comes after that, and then the connection ends, short of the layer's end.
        try (RegistryServer doomed = RegistryServer.start()) {
            byte[] big = new byte[8_000_000];
            new SecureRandom().nextBytes(big);
            Fixtures.Layout oci = Fixtures.Layout.init(root.dir.resolve("fixture"));
            oci.create("empty");
            oci.addLayer("empty", new Fixtures.Layer().file("big", big, 0644), "big");
            oci.push("big", doomed.host() + "/big:t");
            Fixtures.Image image = new Fixtures.Api(doomed.host()).image("big", "t");
            RegistryServer.Relay relay = doomed.relay(4_000_000);
            String ref = relay.host() + "/big:t";
            Jocker.Running pull = root.start("pull", ref);
            boolean midway = relay.awaitBytes(1_500_000, Duration.ofSeconds(30));
            doomed.kill();
            Jocker.Result r = pull.await(Duration.ofSeconds(60));
            if (!midway) {
                // The pull ended (or hung) before the registry was stopped: say why it ended.
                if (!r.timedOut() && r.exitCode() != 0) succeeds(r, "pull of an image of 8 MB (before its registry stopped)", DIGEST);
                r.check(false, "the pull did not fetch 1.5 MB of the 8 MB layer within 30 s (the relay forwards 4 MB/s) "
                        + DIGEST.hint());
            }
            refused(r, "pull from a registry that stopped in the middle of a layer", DIGEST);
            String layer = image.layers().get(0).digest();
            check(r, !root.blobs().contains(layer), "the layer " + layer + " is in the store, though only part"
                    + " of it came", DIGEST);
            assertNothingKept(root, r);
        }
    }

    /** Fails unless a refused pull kept nothing: no blob unlike its digest, no partial download, no tag. */
    private static void assertNothingKept(Step06Checks.Root root, Jocker.Result r) throws IOException {
        check(r, root.badBlobs().isEmpty(), "blobs whose content does not match their digest: " + root.badBlobs(), DIGEST);
        check(r, root.temporaries().isEmpty(), "a partial download was left: " + root.temporaries(), DIGEST);
        check(r, root.refs().isEmpty(), "the image was tagged all the same: " + root.refs().keySet(), DIGEST);
    }

    @Test
    @Order(4)
    @DisplayName("three pulls at once of images sharing a layer all succeed, are all tagged and all run")
    void concurrentPulls() throws IOException {
        Step06Checks.Root root = root("concurrent");
        List<Jocker.Running> runs = new ArrayList<>();
        for (Fixtures.Image image : shared.values()) runs.add(root.start("pull", image.ref()));
        List<Jocker.Result> results = new ArrayList<>();
        for (Jocker.Running run : runs) results.add(run.await(Duration.ofSeconds(60)));
        int i = 0;
        for (Fixtures.Image image : shared.values()) {
            Jocker.Result r = results.get(i++);
            succeeds(r, "pull " + image.ref() + ", at the same time as two others sharing its base layer", DIGEST);
            Step06Checks.assertStored(root, r, image, image.ref());
        }
        for (Fixtures.Image image : shared.values()) {
            Jocker.Result run = root.run("run", image.ref(), "cat", "/name");
            succeeds(run, "run " + image.ref(), WHITEOUT);
            check(run, run.stdout().equals(image.repo() + "\n"), "expected the image's /name", WHITEOUT);
            root.assertNoContainerLeft(run);
        }
    }

    @Test
    @Order(5)
    @DisplayName("a layer that climbs out with ../, a leading /, symlinks and hard links never writes or deletes outside the rootfs")
    void escapingLayer() throws IOException {
        String t = escapeToken;
        Path hostDir = Files.createDirectories(Path.of("/tmp/jocker-escape-" + t));
        Path victim = Path.of("/tmp/jocker-victim-" + t);
        Path victims = Files.createDirectories(Path.of("/tmp/jocker-victims-" + t));
        Path keep = victims.resolve("keep");
        Files.writeString(victim, "victim\n");
        Files.writeString(keep, "keep\n");
        Step06Checks.Root root = root("escape");
        try {
            for (Fixtures.Image image : escapes) {
                root.pull(image);
                Jocker.Running running = root.start("run", image.ref(), "sh", "-c", Jocker.readyThenWait(2));
                // While the container runs, its rootfs is there to tell inside from outside.
                boolean ready = running.awaitOutput("ready", Duration.ofSeconds(20));
                List<String> escaped = new ArrayList<>();
                if (ready) escaped.addAll(escapes(t));
                running.stopWaiting();
                Jocker.Result r = running.await(Duration.ofSeconds(30));
                escaped.addAll(escapes(t));
                String what = "run of " + image.ref() + ", whose layers try to get out of the rootfs";
                if (r.exitCode() == 125) {
                    refused(r, what + " (refused)", WHITEOUT);
                } else {
                    succeeds(r, what + " (either refused with 125, or run with every entry kept inside)", WHITEOUT);
                    r.check(ready, "the container never printed \"ready\"");
                }
                try (Stream<Path> s = Files.list(hostDir)) {
                    s.forEach(p -> escaped.add("written through a symlink into the host's " + p));
                }
                check(r, escaped.isEmpty(), "the layers wrote outside the container's root:\n  "
                        + String.join("\n  ", escaped) + "\n", WHITEOUT);
                check(r, Files.exists(victim, LinkOption.NOFOLLOW_LINKS)
                                && Files.readString(victim).equals("victim\n")
                                && ((Number) Files.getAttribute(victim, "unix:nlink")).intValue() == 1,
                        "the host file " + victim + " was deleted, changed or hard-linked by a layer", WHITEOUT);
                check(r, Files.exists(keep), "an opaque whiteout through a symlink emptied the host's " + victims, WHITEOUT);
                root.assertNoContainerLeft(r);
            }
        } finally {
            for (String n : List.of("escape-4-" + t, "escape-5-" + t)) Files.deleteIfExists(Path.of("/tmp", n));
            for (String n : List.of("escape-1-" + t, "escape-2-" + t, "escape-3-" + t)) Files.deleteIfExists(Path.of("/", n));
            TokenServer.deleteQuietly(hostDir);
            TokenServer.deleteQuietly(victims);
            Files.deleteIfExists(victim);
        }
    }

    /**
     * The files of the escaping layer found where they must not be: anywhere on the host's / and
     * /tmp, and anywhere under the class's state root except inside an unpacked image (a
     * directory holding the layer's marker file, or below one: where a clamped entry lands).
     */
    private List<String> escapes(String t) throws IOException {
        List<String> found = new ArrayList<>();
        for (Path top : List.of(Path.of("/"), Path.of("/tmp"))) {
            try (Stream<Path> s = Files.list(top)) {
                s.filter(p -> p.getFileName() != null && p.getFileName().toString().matches("escape-\\d-" + t))
                        .forEach(p -> found.add(p.toString()));
            }
        }
        try (Stream<Path> s = Files.walk(jocker.root())) {
            s.filter(p -> {
                String n = p.getFileName().toString();
                return (n.startsWith("escape-") && n.endsWith(t) && !n.startsWith("escape-marker-")) || n.matches("planted-\\d");
            }).filter(p -> !insideImage(p, t)).forEach(p -> found.add(p.toString()));
        } catch (java.io.UncheckedIOException e) {
            // a container's directory went away during the walk: the walk after the run sees the rest
        }
        return found;
    }

    private static boolean insideImage(Path p, String t) {
        Path d = p.getParent();
        for (int i = 0; i < 4 && d != null; i++, d = d.getParent()) {
            if (Files.exists(d.resolve("escape-marker-" + t), LinkOption.NOFOLLOW_LINKS)) return true;
        }
        return false;
    }

    @Test
    @Order(6)
    @DisplayName("a registry that is not there, and one that answers HTML: 125, one line naming the registry")
    void unreachableAndGarbage() throws IOException {
        Step06Checks.Root root = root("unreachable");
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        String nowhere = "127.0.0.1:" + port + "/x:t";
        Jocker.Result r = root.run("pull", nowhere);
        refused(r, "pull from a port where nothing listens", DIGEST, "127.0.0.1:" + port);

        HttpServer html = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 8);
        html.createContext("/", x -> {
            byte[] body = "<html><body>Welcome to nginx!</body></html>".getBytes(StandardCharsets.UTF_8);
            x.getResponseHeaders().set("Content-Type", "text/html");
            x.sendResponseHeaders(200, body.length);
            x.getResponseBody().write(body);
            x.close();
        });
        html.start();
        try {
            String host = "127.0.0.1:" + html.getAddress().getPort();
            Jocker.Result g = root.run("pull", host + "/x:t");
            refused(g, "pull from a server that answers every request with an HTML page", DIGEST,
                    host);
            check(g, root.refs().isEmpty() && root.blobs().isEmpty(), "something was stored from an HTML page", DIGEST);
        } finally {
            html.stop(0);
        }
    }
}
