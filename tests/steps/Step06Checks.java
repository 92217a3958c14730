import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Step 06 pull image, black-box, against a real registry (Debian's docker-registry, Distribution
 * 2.8) on a free loopback port, with fixture images that umoci and skopeo built and pushed (or the
 * registry's own API, for an index and uncompressed layers): never with our own pull code.
 * {@code pull}, {@code images}, {@code rmi} and {@code run} of the script under test, each with a
 * state root of its own ({@code JOCKER_ROOT}) and an empty {@code DOCKER_CONFIG}.
 * <ul>
 *   <li>one layer, pulled and run; the pull's output as {@code docker pull} prints it;</li>
 *   <li>several layers with a deleted file, a deleted directory made again and an opaque
 *       directory (TODO 06.4);</li>
 *   <li>an OCI index whose first entry is another platform (TODO 06.2);</li>
 *   <li>Docker's schema 2; gzip, zstd and uncompressed layers, every blob stored verified
 *       (TODO 06.3).</li>
 * </ul>
 * {@link Step06ImageChecks} has names (default tag, by digest, -q), the store ({@code images},
 * {@code rmi}, skopeo and umoci reading it) and the image config; {@link Step06FailureChecks}
 * what must be refused; {@link Step06AuthChecks} the auth flows: four classes, so that the
 * harness runs them side by side, each with a registry of its own. The helpers here (the fixture images, a state root per
 * check, the store as the checks read it, the hints) serve all four; the other three extend {@link Base}.
 */
@DisplayName("step 06 pull image")
@ExtendWith(JockerExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class Step06Checks {

    private final Jocker jocker;
    private RegistryServer registry;

    // The fixture images (see Images).
    private Fixtures.Image one, layers, v2, zstd, plain;
    private String hello, v2Token, zstdToken, plainToken;
    private String multiRef, multiIndexDigest, hostManifest, otherManifest;

    Step06Checks(Jocker jocker) {
        this.jocker = jocker;
    }

    @BeforeAll
    void setUp() throws IOException {
        long started = System.nanoTime();
        registry = RegistryServer.start();
        Images im = new Images(jocker, registry).one().layers().multi().v2().zstd().plain();
        one = im.one;
        hello = im.hello;
        layers = im.layers;
        v2 = im.v2;
        v2Token = im.v2Token;
        zstd = im.zstd;
        zstdToken = im.zstdToken;
        plain = im.plain;
        plainToken = im.plainToken;
        multiRef = im.multiRef;
        multiIndexDigest = im.multiIndexDigest;
        hostManifest = im.hostManifest;
        otherManifest = im.otherManifest;
        ready(this, "registry and fixture images", started);
    }

    @AfterAll
    void tearDown() {
        if (registry != null) registry.close();
    }

    // ------------------------------------------------------------------------------------------
    // One layer, the pull's output, run
    // ------------------------------------------------------------------------------------------

    @Test
    @Essential
    @Order(1)
    @DisplayName("pull HOST/one:t prints docker pull's lines, and run HOST/one:t cat /hello prints the image's file")
    void pullOneLayerAndRun() throws IOException {
        Root root = root(jocker, "one");
        Jocker.Result pull = root.run("pull", one.ref());
        succeeds(pull, "pull " + one.ref(), Concept.DIGEST);
        assertPullOutput(pull, one, one.ref(), Map.of(), false);
        assertStored(root, pull, one, one.ref());
        Jocker.Result run = root.run("run", one.ref(), "cat", "/hello");
        succeeds(run, "run of the pulled image", Concept.WHITEOUT);
        check(run, run.stdout().equals(hello + "\n"), "expected the container to print the image's /hello, "
                + Jocker.quote(hello + "\n") + ", got " + Jocker.quote(run.stdout()), Concept.WHITEOUT);
        root.assertNoContainerLeft(run);
    }

    // ------------------------------------------------------------------------------------------
    // Layers and whiteouts
    // ------------------------------------------------------------------------------------------

    @Test
    @Essential
    @Order(2)
    @DisplayName("layers apply in order: a whiteout deletes a file and a directory, an opaque directory keeps only its own layer's entries")
    void whiteoutsAndOpaqueDirectories() throws IOException {
        Root root = root(jocker, "layers");
        Jocker.Result pull = root.run("pull", layers.ref());
        succeeds(pull, "pull " + layers.ref(), Concept.DIGEST);
        assertPullOutput(pull, layers, layers.ref(), Map.of(), false);
        // A listing that always exits 0, so that each difference gets its own message.
        Jocker.Result run = root.run("run", layers.ref(), "sh", "-c",
                "for d in /a /opq /b; do echo \"$d:$(ls -A $d 2>&1 | tr '\\n' ' ')\"; done; "
                        + "for f in /a/keep /opq/new1 /opq/new2 /b/y; do echo \"$f=$(cat $f 2>&1)\"; done; "
                        + "find / -xdev -name '.wh.*' | sed 's/^/whiteout left: /'; true");
        succeeds(run, "run of the image of four layers", Concept.WHITEOUT);
        Map<String, String> seen = new LinkedHashMap<>();
        run.stdout().lines().filter(l -> l.matches("/[a-z/0-9]+[:=].*"))
                .forEach(l -> seen.put(l.split("[:=]", 2)[0], l.split("[:=]", 2)[1].strip()));
        check(run, !seen.getOrDefault("/a", "").contains("gone"),
                "the file /a/gone, deleted by the third layer's /a/.wh.gone, is still there", Concept.WHITEOUT);
        check(run, seen.getOrDefault("/a", "").equals("keep"),
                "expected /a to hold only keep (the whiteout deletes a/gone and nothing else), got " + Jocker.quote(seen.get("/a")),
                Concept.WHITEOUT);
        check(run, seen.getOrDefault("/opq", "").equals("new1 new2"),
                "expected /opq to hold only new1 and new2: /opq/.wh..wh..opq hides what the layers below put there (old,"
                        + " sub) and keeps what its own layer put there, before and after the marker; got "
                        + Jocker.quote(seen.get("/opq")), Concept.WHITEOUT);
        check(run, seen.getOrDefault("/b", "").equals("y"),
                "expected /b to hold only y: the third layer deleted the directory /b (.wh.b), the fourth made it"
                        + " again with y; got " + Jocker.quote(seen.get("/b")), Concept.WHITEOUT);
        check(run, run.stdout().lines().noneMatch(l -> l.startsWith("whiteout left: ")),
                "a whiteout file (.wh.*) was unpacked into the container's files: it must be applied, never written",
                Concept.WHITEOUT);
        for (String f : List.of("/a/keep", "/opq/new1", "/opq/new2", "/b/y")) {
            String want = f.substring(f.lastIndexOf('/') + 1);
            check(run, want.equals(seen.get(f)), "expected " + f + " to hold " + Jocker.quote(want) + ", got "
                    + Jocker.quote(seen.get(f)), Concept.WHITEOUT);
        }
        root.assertNoContainerLeft(run);
    }

    @Test
    @Essential
    @Order(3)
    @DisplayName("an index with another platform first: pull takes this machine's, --platform the other's, an absent platform is refused")
    void indexAndPlatforms() throws IOException {
        Root root = root(jocker, "multi");
        Jocker.Result pull = root.run("pull", multiRef);
        succeeds(pull, "pull of an index " + multiRef, Concept.PLATFORM);
        check(pull, pull.stdout().lines().anyMatch(l -> l.equals("Digest: " + multiIndexDigest)),
                "expected \"Digest: " + multiIndexDigest + "\": the digest of what the tag names, the index", Concept.PLATFORM);
        JsonNode stored = root.refs().get(multiRef);
        check(pull, stored != null && stored.path("digest").asText().equals(hostManifest),
                "expected images/index.json to tag " + multiRef + " with the manifest for linux/" + Fixtures.hostArchitecture()
                        + " (" + hostManifest + "), the index's second entry; found " + (stored == null ? "no entry"
                        : stored.path("digest").asText() + (stored.path("digest").asText().equals(otherManifest)
                        ? " (the first entry's, linux/" + Fixtures.otherArchitecture() + ")" : "")), Concept.PLATFORM);
        Jocker.Result run = root.run("run", multiRef, "cat", "/platform");
        succeeds(run, "run of " + multiRef, Concept.PLATFORM);
        check(run, run.stdout().equals(Fixtures.hostArchitecture() + "\n"), "expected the content of this machine's"
                + " platform, " + Jocker.quote(Fixtures.hostArchitecture() + "\n"), Concept.PLATFORM);
        root.assertNoContainerLeft(run);

        Root other = root(jocker, "multi-other");
        String platform = "linux/" + Fixtures.otherArchitecture();
        Jocker.Result pullOther = other.run("pull", "--platform", platform, multiRef);
        succeeds(pullOther, "pull --platform " + platform, Concept.PLATFORM);
        JsonNode o = other.refs().get(multiRef);
        check(pullOther, o != null && o.path("digest").asText().equals(otherManifest), "expected --platform " + platform
                + " to store the index's first entry, " + otherManifest + ", found " + (o == null ? "no entry" : o.path("digest").asText()),
                Concept.PLATFORM);

        Root none = root(jocker, "multi-none");
        Jocker.Result absent = none.run("pull", "--platform", "linux/s390x", multiRef);
        refused(absent, "pull --platform linux/s390x (not in the index)", Concept.PLATFORM, "linux/s390x");
        check(absent, none.refs().isEmpty(), "nothing may be tagged after a refused pull, found " + none.refs().keySet(),
                Concept.PLATFORM);
    }

    @Test
    @Order(4)
    @DisplayName("a Docker v2 schema 2 image (skopeo --format v2s2) is pulled as received and runs")
    void dockerSchema2() throws IOException {
        Root root = root(jocker, "v2");
        Jocker.Result pull = root.run("pull", v2.ref());
        succeeds(pull, "pull of a Docker schema 2 image", Concept.DIGEST);
        assertStored(root, pull, v2, v2.ref());
        JsonNode d = root.refs().get(v2.ref());
        check(pull, d != null && Fixtures.DOCKER_MANIFEST.equals(d.path("mediaType").asText()),
                "expected the index.json entry's mediaType to be the manifest's own, " + Fixtures.DOCKER_MANIFEST, Concept.DIGEST);
        Jocker.Result run = root.run("run", v2.ref(), "cat", "/hello-v2");
        succeeds(run, "run of a Docker schema 2 image", Concept.WHITEOUT);
        check(run, run.stdout().equals(v2Token + "\n"), "expected the image's /hello-v2", Concept.WHITEOUT);
        root.assertNoContainerLeft(run);
    }

    @Test
    @Order(5)
    @DisplayName("layers compressed with gzip, with zstd, and not at all are all pulled and unpacked")
    void compressions() throws IOException {
        Root root = root(jocker, "compressions");
        record Case(Fixtures.Image image, String kind, String files, String expected) {}
        for (Case c : List.of(
                new Case(zstd, "zstd", "/zstd-base /zstd-file", zstdToken + "\n" + zstdToken + "\n"),
                new Case(plain, "uncompressed tar", "/plain-file", plainToken + "\n"),
                new Case(one, "gzip", "/hello", hello + "\n"))) {
            Jocker.Result pull = root.run("pull", c.image().ref());
            succeeds(pull, "pull of an image with " + c.kind() + " layers (" + c.image().layers().get(0).mediaType() + ")",
                    Concept.DIGEST);
            assertStored(root, pull, c.image(), c.image().ref());
            Jocker.Result run = root.run("run", c.image().ref(), "cat", c.files().split(" ")[0],
                    c.files().contains(" ") ? c.files().split(" ")[1] : "/dev/null");
            succeeds(run, "run of an image with " + c.kind() + " layers (" + c.image().layers().get(0).mediaType() + ")",
                    Concept.WHITEOUT);
            check(run, run.stdout().equals(c.expected()), "expected the files of its " + c.kind() + " layers, "
                    + Jocker.quote(c.expected()), Concept.WHITEOUT);
            root.assertNoContainerLeft(run);
        }
    }

    // ==========================================================================================
    // Shared by the checks of step 06
    // ==========================================================================================

    /**
     * What the other check classes of step 06 extend: the script under test, the class's registry
     * (its set-up starts it; closed after its checks) and the helpers below under short names (a
     * class of the unnamed package cannot import them statically).
     */
    abstract static class Base {
        static final Concept AUTH = Concept.AUTH, PLATFORM = Concept.PLATFORM, DIGEST = Concept.DIGEST,
                WHITEOUT = Concept.WHITEOUT, STORE = Concept.STORE, CONFIG = Concept.CONFIG;

        final Jocker jocker;
        RegistryServer registry;

        Base(Jocker jocker) {
            this.jocker = jocker;
        }

        static Jocker.Result succeeds(Jocker.Result r, String what, Concept c) {
            return Step06Checks.succeeds(r, what, c);
        }

        static Jocker.Result refused(Jocker.Result r, String what, Concept c, String... parts) {
            return Step06Checks.refused(r, what, c, parts);
        }

        static void check(Jocker.Result r, boolean condition, String reason, Concept c) {
            Step06Checks.check(r, condition, reason, c);
        }

        Root root(String name) throws IOException {
            return Step06Checks.root(jocker, name);
        }

        @AfterAll
        void tearDown() {
            if (registry != null) registry.close();
        }
    }

    /** Says on stderr how long a check class's set-up (begun at {@code started}) took to make {@code what}. */
    static void ready(Object checks, String what, long started) {
        System.err.printf("checks: %s: %s ready in %.1f s%n", checks.getClass().getSimpleName(), what,
                (System.nanoTime() - started) / 1e9);
    }

    /**
     * The fixture images of a check class, built on its registry on demand: with umoci (layers
     * and configs) and skopeo (the push), or the registry API where no tool makes what is needed.
     * Every image but one and zstd sits on one base layer (the busybox image), as images share
     * their base in real life.
     */
    static final class Images {
        final RegistryServer registry;
        final Fixtures.Api api;
        final Fixtures.Layout oci;
        final Path busybox;
        final String host;
        Fixtures.Image one;          // one layer: busybox and /hello; created 2020
        String hello;                // /hello's content
        Fixtures.Image layers;       // busybox, then files, then whiteouts, then a directory again; created 2024
        Fixtures.Image config;       // busybox + a config with User, Env, Entrypoint, Cmd, WorkingDir
        Fixtures.Image v2;           // Docker schema 2
        Fixtures.Image zstd;         // zstd layers
        Fixtures.Image plain;        // uncompressed layers
        String v2Token, zstdToken, plainToken;
        String multiRef, multiIndexDigest, hostManifest, otherManifest;

        Images(Jocker jocker, RegistryServer registry) throws IOException {
            this.registry = registry;
            this.api = new Fixtures.Api(registry.host());
            this.host = registry.host();
            this.busybox = jocker.image();
            this.oci = Fixtures.Layout.init(jocker.root().resolve("fixtures/oci"));
            oci.create("empty");
            // base: busybox alone, the first layer of most images below.
            oci.addLayer("empty", new Fixtures.Layer().busybox(busybox), "base");
        }

        /** one: a single layer, busybox and /hello; tagged t and latest. */
        Images one() throws IOException {
            hello = Jocker.token("hello-");
            oci.addLayer("empty", new Fixtures.Layer().busybox(busybox).file("hello", hello + "\n"), "one");
            oci.config("one", "one", "--no-history", "--created", "2020-01-01T00:00:00Z", "--config.cmd", "/bin/sh");
            oci.push("one", host + "/one:t");
            oci.push("one", host + "/one:latest");
            one = api.image("one", "t");
            return this;
        }

        /**
         * layers: files, then whiteouts of a file, of a directory and of nothing, and an opaque
         * directory (with this layer's entries on both sides of the marker), then a directory again.
         */
        Images layers() throws IOException {
            oci.addLayer("base", new Fixtures.Layer()
                    .dir("a").file("a/keep", "keep\n").file("a/gone", "gone\n")
                    .dir("opq").file("opq/old", "old\n").dir("opq/sub").file("opq/sub/old2", "old2\n")
                    .dir("b").file("b/x", "x\n"), "layers");
            oci.addLayer("layers", new Fixtures.Layer()
                    .whiteout("a/gone")
                    .whiteout("never-existed")
                    .file("opq/new1", "new1\n")
                    .opaque("opq")
                    .file("opq/new2", "new2\n")
                    .whiteout("b"), "layers");
            oci.addLayer("layers", new Fixtures.Layer().dir("b").file("b/y", "y\n"), "layers");
            oci.config("layers", "layers", "--no-history", "--created", "2024-06-01T00:00:00Z");
            oci.push("layers", host + "/layers:t");
            layers = api.image("layers", "t");
            return this;
        }

        /** config: what run applies from an image's config. */
        Images config() throws IOException {
            oci.addLayer("base", new Fixtures.Layer().file("etc/motd", "configured\n"), "config");
            oci.config("config", "config", "--no-history", "--config.user", "nobody",
                    "--config.env", "FOO=from-image", "--config.env", "BAR=kept",
                    "--config.entrypoint", "/bin/sh", "--config.entrypoint", "-c",
                    "--config.cmd", "echo \"$FOO $BAR $(id -u):$(id -g) $(pwd)\"",
                    "--config.workingdir", "/srv/app");
            oci.push("config", host + "/config:t");
            config = api.image("config", "t");
            return this;
        }

        /** v2: converted to Docker's image manifest v2 schema 2 by skopeo. */
        Images v2() throws IOException {
            v2Token = Jocker.token("v2-");
            oci.addLayer("base", new Fixtures.Layer().file("hello-v2", v2Token + "\n"), "v2");
            oci.push("v2", host + "/v2:t", "--format", "v2s2");
            v2 = api.image("v2", "t");
            return this;
        }

        /** zstd: layers of their own (skopeo would reuse a gzip blob it knows), zstd-compressed by skopeo. */
        Images zstd() throws IOException {
            zstdToken = Jocker.token("zstd-");
            oci.addLayer("empty", new Fixtures.Layer().busybox(busybox).file("zstd-base", zstdToken + "\n"), "zstd");
            oci.addLayer("zstd", new Fixtures.Layer().file("zstd-file", zstdToken + "\n"), "zstd");
            oci.push("zstd", host + "/zstd:t", "--format", "oci", "--dest-compress-format", "zstd");
            zstd = api.image("zstd", "t");
            for (Fixtures.Blob l : zstd.layers()) {
                if (!l.mediaType().equals(Fixtures.OCI_LAYER_ZSTD)) {
                    throw new IOException("skopeo pushed a layer of zstd:t as " + l.mediaType() + ", not zstd");
                }
            }
            return this;
        }

        /** plain: uncompressed layers (no tool pushes them so), through the registry API. */
        Images plain() throws IOException {
            plainToken = Jocker.token("plain-");
            plain = api.pushImage("plain", "t", List.of(new Fixtures.Layer().busybox(busybox).tar(),
                    new Fixtures.Layer().file("plain-file", plainToken + "\n").tar()), false, Map.of("Cmd", List.of("/bin/sh")));
            return this;
        }

        /** multi: an OCI index, another platform first (arm64/v8, as Docker Hub lists it), then this machine's. */
        Images multi() throws IOException {
            oci.addLayer("base", new Fixtures.Layer().file("platform", Fixtures.hostArchitecture() + "\n"), "host");
            oci.addLayer("base", new Fixtures.Layer().file("platform", Fixtures.otherArchitecture() + "\n"), "other");
            oci.config("other", "other", "--no-history", "--architecture", Fixtures.otherArchitecture());
            ObjectNode hostDesc = oci.pushByDigest(api, "multi", "host");
            ObjectNode otherDesc = oci.pushByDigest(api, "multi", "other");
            hostManifest = hostDesc.path("digest").asText();
            otherManifest = otherDesc.path("digest").asText();
            ObjectNode index = Fixtures.JSON.createObjectNode();
            index.put("schemaVersion", 2);
            index.put("mediaType", Fixtures.OCI_INDEX);
            ArrayNode manifests = index.putArray("manifests");
            ObjectNode o = manifests.addObject().setAll(otherDesc);
            ObjectNode op = o.putObject("platform").put("architecture", Fixtures.otherArchitecture()).put("os", "linux");
            if (Fixtures.otherArchitecture().equals("arm64")) op.put("variant", "v8");
            ObjectNode h = manifests.addObject().setAll(hostDesc);
            h.putObject("platform").put("architecture", Fixtures.hostArchitecture()).put("os", "linux");
            multiIndexDigest = api.pushManifest("multi", "t", Fixtures.OCI_INDEX, Fixtures.JSON.writeValueAsBytes(index));
            multiRef = host + "/multi:t";
            return this;
        }
    }


    /**
     * The concepts of step 06: the TODO and the chapter section to read when a check about it
     * fails. STORE and CONFIG are given code (the store, images, rmi; run's use of the image
     * config): no TODO, a section.
     */
    record Concept(String todo, String section) implements Hint {
        static final Concept AUTH = new Concept("06.1", "The token dance");
        static final Concept PLATFORM = new Concept("06.2", "Index and platforms");
        static final Concept DIGEST = new Concept("06.3", "Digests are the trust anchor");
        static final Concept WHITEOUT = new Concept("06.4", "Whiteouts");
        static final Concept STORE = new Concept(null, "The image store: an OCI image layout");
        static final Concept CONFIG = new Concept(null, "Running a pulled image");

        @Override
        public String hint() { return Hint.of("06-pull-image.adoc", todo, section); }
    }

    static void check(Jocker.Result r, boolean condition, String reason, Concept c) { Hint.check(r, condition, reason, c); }

    static Jocker.Result succeeds(Jocker.Result r, String what, Concept c) { return Hint.succeeds(r, what, c); }

    static Jocker.Result refused(Jocker.Result r, String what, Concept c, String... parts) {
        return Hint.refused(r, what, c, parts);
    }

    /**
     * What a pull of {@code image} prints when not on a terminal: "TAG: Pulling from REPO", a line
     * per layer ("HEX12: Download complete", or {@code status} for the layers named there),
     * "Digest: ...", "Status: ...", the canonical name. {@code upToDate}: the image was there
     * already, and the pull says "Image is up to date"; docker prints no layer lines then, a line
     * "HEX12: Already exists" per layer is accepted too.
     */
    static void assertPullOutput(Jocker.Result r, Fixtures.Image image, String given, Map<String, String> status, boolean upToDate) {
        List<String> lines = r.stdout().lines().filter(l -> !l.isBlank()).toList();
        String first = image.tag() + ": Pulling from " + image.repo();
        Set<String> layerLines = new TreeSet<>();
        Set<String> existing = new TreeSet<>();
        for (Fixtures.Blob l : image.layers()) {
            layerLines.add(Fixtures.shortHex(l.digest()) + ": " + status.getOrDefault(l.digest(), "Download complete"));
            existing.add(Fixtures.shortHex(l.digest()) + ": Already exists");
        }
        List<String> tail = List.of("Digest: " + image.digest(),
                "Status: " + (upToDate ? "Image is up to date for " : "Downloaded newer image for ") + given, given);
        boolean ok = lines.size() >= 4 && lines.get(0).equals(first)
                && lines.subList(lines.size() - 3, lines.size()).equals(tail);
        if (ok) {
            Set<String> middle = new TreeSet<>(lines.subList(1, lines.size() - 3));
            ok = middle.size() == lines.size() - 4
                    && (upToDate ? middle.isEmpty() || middle.equals(existing) : middle.equals(layerLines));
        }
        if (!ok) {
            List<String> want = new ArrayList<>(List.of(first));
            if (!upToDate) want.addAll(layerLines);
            want.addAll(tail);
            check(r, false, "expected the pull to print, as docker pull does (the layer lines in any order):\n  "
                    + String.join("\n  ", want) + "\n", Concept.DIGEST);
        }
    }

    /** Fails unless the store tags {@code ref} with {@code image}'s manifest and holds its blobs, each verified, no temp file. */
    static void assertStored(Root root, Jocker.Result r, Fixtures.Image image, String ref) throws IOException {
        JsonNode d = root.refs().get(ref);
        check(r, d != null, "expected images/index.json to have an entry with org.opencontainers.image.ref.name " + ref
                + ", found " + root.refs().keySet(), Concept.DIGEST);
        check(r, image.digest().equals(d.path("digest").asText()) && d.path("size").asLong() == image.manifestBytes().length,
                "expected the entry of " + ref + " to be the manifest's descriptor (" + image.digest() + ", "
                        + image.manifestBytes().length + " bytes), got " + d, Concept.DIGEST);
        Set<String> blobs = root.blobs();
        for (String b : image.blobs()) check(r, blobs.contains(b), "the blob " + b + " is not in images/blobs/sha256", Concept.DIGEST);
        Path manifest = root.blob(image.digest());
        check(r, Files.isRegularFile(manifest) && java.util.Arrays.equals(Files.readAllBytes(manifest), image.manifestBytes()),
                "expected the manifest to be stored as the exact bytes the registry sent", Concept.DIGEST);
        check(r, root.badBlobs().isEmpty(), "blobs whose content does not match their digest: " + root.badBlobs(), Concept.DIGEST);
        check(r, root.temporaries().isEmpty(), "temporary files were left in the store: " + root.temporaries(), Concept.DIGEST);
    }

    /** A state root and a DOCKER_CONFIG of one check's own, under the class's state root. */
    static Root root(Jocker jocker, String name) throws IOException {
        Path dir = jocker.root().resolve("roots").resolve(name + "-" + Jocker.token(""));
        Files.createDirectories(dir);
        Path dockerConfig = dir.resolve("docker-config");
        Files.createDirectories(dockerConfig);
        return new Root(jocker, dir, dockerConfig);
    }

    /** A check's state root: its runs, and its store as the check reads it. */
    static final class Root {
        final Jocker jocker;
        final Path dir;
        final Path dockerConfig;

        Root(Jocker jocker, Path dir, Path dockerConfig) {
            this.jocker = jocker;
            this.dir = dir;
            this.dockerConfig = dockerConfig;
        }

        Map<String, String> env() {
            return Map.of("JOCKER_ROOT", dir.toString(), "DOCKER_CONFIG", dockerConfig.toString());
        }

        /** {@code jbang SCRIPT ARGS} with this root and DOCKER_CONFIG. */
        Jocker.Result run(String... args) {
            return jocker.run(List.of(args), env(), null, Jocker.TIMEOUT);
        }

        Jocker.Result runWithInput(String stdin, String... args) {
            return jocker.run(List.of(args), env(), stdin, Jocker.TIMEOUT);
        }

        Jocker.Running start(String... args) {
            return jocker.start(List.of(args), env(), null);
        }

        /** Pulls each image, failing unless each pull succeeds. */
        void pull(Fixtures.Image... images) {
            for (Fixtures.Image image : images) succeeds(run("pull", image.ref()), "pull " + image.ref(), Concept.DIGEST);
        }

        Path images() { return dir.resolve("images"); }

        Path blob(String digest) { return images().resolve("blobs/sha256").resolve(digest.substring(digest.indexOf(':') + 1)); }

        /** index.json's entries by their org.opencontainers.image.ref.name; empty without an index.json. */
        Map<String, JsonNode> refs() {
            Map<String, JsonNode> refs = new LinkedHashMap<>();
            Path index = images().resolve("index.json");
            if (!Files.isRegularFile(index)) return refs;
            try {
                for (JsonNode m : Fixtures.JSON.readTree(index.toFile()).path("manifests")) {
                    refs.put(m.path("annotations").path("org.opencontainers.image.ref.name").asText("(no name)"), m);
                }
            } catch (IOException e) {
                refs.put("(index.json is not JSON: " + e.getMessage() + ")", null);
            }
            return refs;
        }

        /** index.json's bytes, or null. */
        byte[] indexBytes() throws IOException {
            Path index = images().resolve("index.json");
            return Files.isRegularFile(index) ? Files.readAllBytes(index) : null;
        }

        /** The blobs of the store, as digests ({@code sha256:HEX}); files whose name is not 64 hex digits are left out. */
        Set<String> blobs() throws IOException {
            Path dir = images().resolve("blobs/sha256");
            Set<String> blobs = new TreeSet<>();
            if (!Files.isDirectory(dir)) return blobs;
            try (Stream<Path> s = Files.list(dir)) {
                s.map(p -> p.getFileName().toString()).filter(n -> n.matches("[0-9a-f]{64}")).forEach(n -> blobs.add("sha256:" + n));
            }
            return blobs;
        }

        /** Blobs whose content's digest is not their name: a partial or unverified blob under its final name. */
        List<String> badBlobs() throws IOException {
            List<String> bad = new ArrayList<>();
            for (String b : blobs()) {
                String actual = Fixtures.sha256(blob(b));
                if (!actual.equals(b)) bad.add(b + " (its content is " + actual + ", " + Files.size(blob(b)) + " bytes)");
            }
            return bad;
        }

        /** Files under images/ that look like downloads in progress: .tmp-*, *.tmp, *.partial, ... */
        List<Path> temporaries() throws IOException {
            List<Path> found = new ArrayList<>();
            if (!Files.isDirectory(images())) return found;
            try (Stream<Path> s = Files.walk(images())) {
                s.filter(p -> !p.equals(images())).forEach(p -> {
                    String n = p.getFileName().toString().toLowerCase();
                    boolean blobDir = p.getParent().endsWith(Path.of("blobs/sha256"));
                    if (n.contains("tmp") || n.contains("partial") || n.endsWith(".part") || n.contains("download")
                            || (blobDir && !n.matches("[0-9a-f]{64}"))) {
                        found.add(dir.relativize(p));
                    }
                });
            }
            return found;
        }

        /** Fails unless no container directory is left under this root's containers/. */
        void assertNoContainerLeft(Jocker.Result r) {
            Path containers = dir.resolve("containers");
            List<String> left = new ArrayList<>();
            if (Files.isDirectory(containers)) {
                try (Stream<Path> s = Files.list(containers)) {
                    s.forEach(p -> left.add(p.toString()));
                } catch (IOException e) {
                    left.add("cannot list " + containers + ": " + e);
                }
            }
            r.check(left.isEmpty(), "the container directory is still there after the run: " + left);
        }
    }

    /** The docker config.json of a root, parsed; null without one. */
    static JsonNode dockerConfig(Root root) throws IOException {
        Path file = root.dockerConfig.resolve("config.json");
        return Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS) ? Fixtures.JSON.readTree(file.toFile()) : null;
    }

    static String basic(String user, String password) {
        return Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }
}
