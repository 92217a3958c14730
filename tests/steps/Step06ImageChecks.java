import java.io.IOException;
import java.math.BigDecimal;
import java.math.MathContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Step 06 pull image, black-box: names, the image store and the image config. A pull without a
 * tag takes latest, -q prints the name alone, a pull by digest stores NAME@DIGEST, run pulls what
 * it lacks. The store under the state root is an OCI image layout that skopeo and umoci read; a second pull fetches nothing it
 * has; {@code images} and {@code rmi} show and remove what was pulled (keeping shared blobs); run
 * applies the config's Env, Entrypoint, Cmd, WorkingDir and User. Fixtures and helpers are
 * {@link Step06Checks}' (a class of its own so that the harness runs it beside that one).
 */
@DisplayName("step 06 pull image: names, store and config")
@ExtendWith(JockerExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class Step06ImageChecks extends Step06Checks.Base {

    // The fixture images (see Step06Checks.Images).
    private Fixtures.Image one, layers, config;
    private String hello, multiRef, hostManifest;

    Step06ImageChecks(Jocker jocker) {
        super(jocker);
    }

    @BeforeAll
    void setUp() throws IOException {
        long started = System.nanoTime();
        registry = RegistryServer.start();
        Step06Checks.Images im = new Step06Checks.Images(jocker, registry).one().layers().config().multi();
        one = im.one;
        hello = im.hello;
        layers = im.layers;
        config = im.config;
        multiRef = im.multiRef;
        hostManifest = im.hostManifest;
        Step06Checks.ready(this, "registry and fixture images", started);
    }

    // ------------------------------------------------------------------------------------------
    // Names
    // ------------------------------------------------------------------------------------------

    @Test
    @Order(1)
    @DisplayName("pull without a tag uses latest and says so; -q prints only the name; pull by digest stores NAME@DIGEST and runs")
    void defaultTagQuietAndDigest() throws IOException {
        Step06Checks.Root root = root("names");
        String name = registry.host() + "/one";
        Jocker.Result pull = root.run("pull", name);
        succeeds(pull, "pull " + name, DIGEST);
        List<String> lines = pull.stdout().lines().toList();
        check(pull, !lines.isEmpty() && lines.get(0).equals("Using default tag: latest"),
                "expected the first line \"Using default tag: latest\"", DIGEST);
        check(pull, lines.size() > 1 && lines.get(1).equals("latest: Pulling from one"),
                "expected the second line \"latest: Pulling from one\"", DIGEST);
        check(pull, lines.get(lines.size() - 1).equals(name + ":latest"),
                "expected the last line to be the canonical name " + name + ":latest", DIGEST);

        Jocker.Result quiet = root("quiet").run("pull", "-q", one.ref());
        succeeds(quiet, "pull -q " + one.ref(), DIGEST);
        check(quiet, quiet.stdout().equals(one.ref() + "\n"), "expected pull -q to print only " + Jocker.quote(one.ref() + "\n"),
                DIGEST);

        Step06Checks.Root byDigest = root("digest");
        Jocker.Result d = byDigest.run("pull", one.byDigest());
        succeeds(d, "pull " + one.byDigest(), DIGEST);
        check(d, d.stdout().lines().anyMatch(l -> l.equals("Digest: " + one.digest())), "expected a line \"Digest: "
                + one.digest() + "\"", DIGEST);
        check(d, d.stdout().lines().reduce((a, b) -> b).orElse("").equals(one.byDigest()),
                "expected the last line to be " + one.byDigest(), DIGEST);
        Map<String, JsonNode> refs = byDigest.refs();
        check(d, refs.containsKey(one.byDigest()) && refs.get(one.byDigest()).path("digest").asText().equals(one.digest()),
                "expected images/index.json to name the image " + one.byDigest() + " (org.opencontainers.image.ref.name),"
                        + " found " + refs.keySet(), DIGEST);
        Jocker.Result run = byDigest.run("run", one.byDigest(), "cat", "/hello");
        succeeds(run, "run " + one.byDigest(), WHITEOUT);
        check(run, run.stdout().equals(hello + "\n"), "expected the image's /hello", WHITEOUT);
        byDigest.assertNoContainerLeft(run);
    }

    @Test
    @Order(2)
    @DisplayName("run of an image the store does not have pulls it first (its output on stderr), then runs it")
    void runPullsWhatIsMissing() throws IOException {
        Step06Checks.Root root = root("run-pulls");
        Jocker.Result run = root.run("run", one.ref(), "cat", "/hello");
        succeeds(run, "run " + one.ref() + " (not pulled yet)", DIGEST);
        check(run, run.stdout().equals(hello + "\n"), "expected stdout to be only the container's output, "
                + Jocker.quote(hello + "\n") + " (the pull's lines go to stderr)", DIGEST);
        check(run, run.stderr().contains("Unable to find image '" + one.ref() + "' locally"),
                "expected stderr to say \"Unable to find image '" + one.ref() + "' locally\"", DIGEST);
        check(run, root.refs().containsKey(one.ref()), "expected the pulled image in images/index.json", DIGEST);
        root.assertNoContainerLeft(run);
    }

    // ------------------------------------------------------------------------------------------
    // The store
    // ------------------------------------------------------------------------------------------

    @Test
    @Order(3)
    @DisplayName("the store is an OCI image layout: skopeo copies out of it (checking every digest), umoci lists it")
    void storeIsAnOciLayout() throws IOException {
        Step06Checks.Root root = root("layout");
        root.pull(layers);
        Jocker.Result pull = root.run("pull", multiRef);
        succeeds(pull, "pull " + multiRef, PLATFORM);
        Path images = root.images();
        String layout = Files.isRegularFile(images.resolve("oci-layout")) ? Files.readString(images.resolve("oci-layout")) : "";
        check(pull, layout.contains("\"imageLayoutVersion\""), "expected images/oci-layout with {\"imageLayoutVersion\": \"1.0.0\"}",
                STORE);
        check(pull, root.badBlobs().isEmpty(), "blobs whose content does not match their name: " + root.badBlobs(), DIGEST);
        for (String ref : List.of(layers.ref(), multiRef)) {
            JsonNode entry = root.refs().get(ref);
            check(pull, entry != null && ref.equals(entry.path("annotations").path("io.containerd.image.name").asText()),
                    "expected index.json's entry for " + ref + " to carry io.containerd.image.name too", STORE);
            try {
                String inspect = Fixtures.tool(root.dir, List.of("skopeo", "inspect", "oci:" + images + ":" + ref), 60);
                JsonNode j = Fixtures.JSON.readTree(inspect);
                String want = ref.equals(multiRef) ? hostManifest : layers.digest();
                check(pull, want.equals(j.path("Digest").asText()), "skopeo inspect oci:" + images + ":" + ref
                        + " says Digest " + j.path("Digest").asText() + ", expected " + want, STORE);
                Fixtures.tool(root.dir, List.of("skopeo", "copy", "--quiet", "oci:" + images + ":" + ref,
                        "dir:" + root.dir.resolve("copy-" + Jocker.token())), 120);
            } catch (IOException e) {
                check(pull, false, "skopeo cannot read the store as an OCI image layout: " + e.getMessage(), DIGEST);
            }
        }
        try {
            String ls = Fixtures.tool(root.dir, List.of("umoci", "ls", "--layout", images.toString()), 60);
            Set<String> listed = new TreeSet<>(ls.lines().map(String::strip).toList());
            check(pull, listed.containsAll(List.of(layers.ref(), multiRef)), "umoci ls --layout " + images + " lists "
                    + listed + ", expected " + layers.ref() + " and " + multiRef, STORE);
        } catch (IOException e) {
            check(pull, false, "umoci cannot read the store: " + e.getMessage(), STORE);
        }
    }

    @Test
    @Order(4)
    @DisplayName("a second pull fetches no blob (Image is up to date); a layer the store has says Already exists and is not fetched")
    void nothingFetchedTwice() throws IOException {
        Step06Checks.Root root = root("twice");
        try (RegistryServer.Relay relay = registry.relay(512L * 1024 * 1024)) {
            Fixtures.Image l = layers.at(relay.host()), c = config.at(relay.host());
            root.pull(l);
            int before = relay.requests().size();
            Jocker.Result second = root.run("pull", c.ref());
            succeeds(second, "pull " + c.ref(), DIGEST);
            String base = c.layers().get(0).digest();
            Step06Checks.assertPullOutput(second, c, c.ref(), Map.of(base, "Already exists"), false);
            List<String> fetched = blobGets(relay.requests().subList(before, relay.requests().size()));
            check(second, fetched.stream().noneMatch(r -> r.endsWith(base)), "the base layer " + base + ", which the store had,"
                    + " was fetched again: " + fetched, DIGEST);
            before = relay.requests().size();
            Jocker.Result again = root.run("pull", c.ref());
            succeeds(again, "a second pull of " + c.ref(), DIGEST);
            Step06Checks.assertPullOutput(again, c, c.ref(), Map.of(), true);
            fetched = blobGets(relay.requests().subList(before, relay.requests().size()));
            check(again, fetched.isEmpty(), "the second pull of the same image fetched blobs again: " + fetched, DIGEST);
        }
    }

    static List<String> blobGets(List<String> requests) {
        return requests.stream().filter(r -> r.startsWith("GET ") && r.contains("/blobs/")).toList();
    }

    @Test
    @Order(5)
    @DisplayName("images lists REPOSITORY TAG IMAGE ID CREATED SIZE, newest first; -q the IDs; --digests the digests")
    void imagesLists() throws IOException {
        Step06Checks.Root root = root("images");
        root.pull(one, layers);
        Jocker.Result r = root.run("images");
        succeeds(r, "images", STORE);
        List<String> lines = r.stdout().lines().filter(l -> !l.isBlank()).toList();
        check(r, lines.size() == 3, "expected a header and one line per image (2), got " + lines.size() + " lines", STORE);
        List<String> header = List.of(lines.get(0).strip().split("\\s{2,}"));
        check(r, header.equals(List.of("REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE")),
                "expected the header REPOSITORY   TAG   IMAGE ID   CREATED   SIZE, got " + header, STORE);
        List<Integer> starts = columnStarts(lines.get(0));
        // Newest first: layers (2024) before one (2020).
        List<Fixtures.Image> order = List.of(layers, one);
        for (int i = 0; i < 2; i++) {
            Fixtures.Image image = order.get(i);
            String line = lines.get(i + 1);
            List<String> cells = List.of(line.strip().split("\\s{2,}"));
            List<String> expected = List.of(image.host() + "/" + image.repo(), image.tag(), Fixtures.shortHex(image.configDigest()),
                    created(image.config().path("created").asText()), humanSize(size(image)));
            check(r, cells.equals(expected), "expected the line of " + image.ref() + " (newest first) to be " + expected
                    + " (IMAGE ID: the config's digest; SIZE: its layers and config, in docker's decimal units), got " + cells,
                    STORE);
            check(r, columnStarts(line).equals(starts), "expected the columns to line up with the header's, got "
                    + Jocker.quote(line), STORE);
        }
        Jocker.Result q = root.run("images", "-q");
        succeeds(q, "images -q", STORE);
        check(q, q.stdout().equals(Fixtures.shortHex(layers.configDigest()) + "\n" + Fixtures.shortHex(one.configDigest()) + "\n"),
                "expected images -q to print the two image IDs, newest first", STORE);
        Jocker.Result d = root.run("images", "--digests");
        succeeds(d, "images --digests", STORE);
        check(d, d.stdout().lines().findFirst().orElse("").contains("DIGEST")
                        && d.stdout().contains(one.digest()) && d.stdout().contains(layers.digest()),
                "expected images --digests to add a DIGEST column with each image's repo digest", STORE);
    }

    /** Where each column of a table line starts (a column is separated from the next by 2 spaces or more). */
    static List<Integer> columnStarts(String line) {
        List<Integer> starts = new ArrayList<>();
        Matcher m = Pattern.compile("\\S+(?: \\S+)*").matcher(line);
        while (m.find()) starts.add(m.start());
        return starts;
    }

    /** SIZE of {@code images}, as the plan says: the layers' (compressed) sizes plus the config's. */
    static long size(Fixtures.Image image) throws IOException {
        long size = Fixtures.JSON.readTree(image.manifestBytes()).path("config").path("size").asLong();
        for (Fixtures.Blob l : image.layers()) size += l.size();
        return size;
    }

    /** Docker's units.HumanSizeWithPrecision(size, 3): decimal units, 3 significant digits ("1.09MB", "532B"). */
    static String humanSize(long bytes) {
        String[] units = {"B", "kB", "MB", "GB", "TB", "PB"};
        double v = bytes;
        int i = 0;
        while (v >= 1000 && i < units.length - 1) {
            v /= 1000;
            i++;
        }
        return new BigDecimal(v).round(new MathContext(3)).stripTrailingZeros().toPlainString() + units[i];
    }

    /** Docker's units.HumanDuration(now - created) + " ago". */
    static String created(String iso) {
        Duration d = Duration.between(Instant.parse(iso), Instant.now());
        long s = d.getSeconds(), h = d.toHours();
        String text;
        if (s < 1) text = "Less than a second";
        else if (s == 1) text = "1 second";
        else if (s < 60) text = s + " seconds";
        else if (d.toMinutes() == 1) text = "About a minute";
        else if (d.toMinutes() < 60) text = d.toMinutes() + " minutes";
        else if (Math.round(d.toMinutes() / 60.0) == 1) text = "About an hour";
        else if (h < 48) text = Math.round(d.toMinutes() / 60.0) + " hours";
        else if (h < 24 * 7 * 2) text = h / 24 + " days";
        else if (h < 24 * 30 * 2) text = h / 24 / 7 + " weeks";
        else if (h < 24 * 365 * 2) text = h / 24 / 30 + " months";
        else text = h / 24 / 365 + " years";
        return text + " ago";
    }

    @Test
    @Order(6)
    @DisplayName("rmi removes an image and the blobs only it used, keeps the layer another image shares; a missing image is refused")
    void rmiKeepsSharedBlobs() throws IOException {
        Step06Checks.Root root = root("rmi");
        root.pull(layers, config);
        Set<String> only = new LinkedHashSet<>(config.blobs());
        only.removeAll(layers.blobs());
        Jocker.Result r = root.run("rmi", config.ref());
        succeeds(r, "rmi " + config.ref(), STORE);
        List<String> lines = r.stdout().lines().toList();
        check(r, lines.contains("Untagged: " + config.ref()), "expected \"Untagged: " + config.ref() + "\"", STORE);
        Set<String> deleted = lines.stream().filter(l -> l.startsWith("Deleted: ")).map(l -> l.substring(9))
                .collect(Collectors.toCollection(TreeSet::new));
        check(r, deleted.equals(new TreeSet<>(only)), "expected a \"Deleted: \" line for each blob only this image used "
                + new TreeSet<>(only) + " (its manifest, config and own layer), got " + deleted, STORE);
        Set<String> blobs = root.blobs();
        for (String b : only) check(r, !blobs.contains(b), "the blob " + b + " is still in the store after rmi", STORE);
        for (String b : layers.blobs()) {
            check(r, blobs.contains(b), "rmi removed " + b + ", which " + layers.ref() + " still uses", STORE);
        }
        check(r, !root.refs().containsKey(config.ref()) && root.refs().containsKey(layers.ref()),
                "expected index.json to name " + layers.ref() + " only, got " + root.refs().keySet(), STORE);
        Jocker.Result run = root.run("run", layers.ref(), "cat", "/a/keep");
        succeeds(run, "run of the image that shares the base layer, after rmi of the other", WHITEOUT);
        check(run, run.stdout().equals("keep\n"), "expected the remaining image to run as before", WHITEOUT);
        root.assertNoContainerLeft(run);

        String missing = registry.host() + "/" + Jocker.token("nope") + ":t";
        Jocker.Result no = root.run("rmi", missing);
        refused(no, "rmi of an image that is not there", DIGEST, "no such image", missing);
    }

    // ------------------------------------------------------------------------------------------
    // The image config
    // ------------------------------------------------------------------------------------------

    @Test
    @Order(7)
    @DisplayName("run applies the image config: Env (then -e), Entrypoint + Cmd (COMMAND replaces Cmd), WorkingDir, User nobody")
    void runAppliesTheConfig() throws IOException {
        Step06Checks.Root root = root("config");
        root.pull(config);
        Jocker.Result r = root.run("run", config.ref());
        succeeds(r, "run " + config.ref() + " (its Entrypoint sh -c and Cmd)", CONFIG);
        check(r, r.stdout().equals("from-image kept 65534:65534 /srv/app\n"), "expected the image's Env (FOO=from-image"
                + " BAR=kept), User nobody (65534:65534) and WorkingDir /srv/app: \"from-image kept 65534:65534 /srv/app\"",
                CONFIG);
        Jocker.Result e = root.run("run", "-e", "FOO=from-e", config.ref());
        succeeds(e, "run -e FOO=from-e " + config.ref(), CONFIG);
        check(e, e.stdout().equals("from-e kept 65534:65534 /srv/app\n"), "expected -e FOO=from-e to override the image's"
                + " FOO and keep its BAR", CONFIG);
        Jocker.Result c = root.run("run", config.ref(), "echo replaced $FOO");
        succeeds(c, "run " + config.ref() + " COMMAND", CONFIG);
        check(c, c.stdout().equals("replaced from-image\n"), "expected COMMAND to replace Cmd and follow the Entrypoint"
                + " (/bin/sh -c 'echo replaced $FOO')", CONFIG);
        root.assertNoContainerLeft(c);
        root.pull(layers);
        Jocker.Result none = root.run("run", layers.ref());
        refused(none, "run of an image with no Cmd and no COMMAND", CONFIG, "no command specified");
        root.assertNoContainerLeft(none);
    }
}
