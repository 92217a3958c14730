import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Step 07 overlay, black-box: a container's life around its storage. {@code diff} of a running
 * container prints what it added, changed and deleted as {@code docker diff} does (TODO 07.4); no
 * mount and no container directory (upper and work with it) is left after a run that succeeds,
 * fails, or cannot start its command, nor after a runtime killed with SIGKILL once the next run
 * has swept; two first runs of one image at once both work and unpack each layer once; a layer
 * left half-unpacked by a killed runtime is never used. Fixtures and helpers are
 * {@link Step07Checks}' (a class of its own so that the harness runs it beside that one).
 */
@DisplayName("step 07 overlay: diff, cleanup, concurrent and killed runs")
@ExtendWith(JockerExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class Step07LifecycleChecks {
    private static final Step07Checks.Concept DIFF = Step07Checks.Concept.DIFF, CLEANUP = Step07Checks.Concept.CLEANUP,
            STORE = Step07Checks.Concept.STORE, MOUNT = Step07Checks.Concept.MOUNT;

    private final Jocker jocker;
    private RegistryServer registry;
    private Step07Checks.Images images;

    Step07LifecycleChecks(Jocker jocker) {
        this.jocker = jocker;
    }

    @BeforeAll
    void setUp() throws IOException {
        long started = System.nanoTime();
        registry = RegistryServer.start();
        images = new Step07Checks.Images(jocker, registry).app();
        Step06Checks.ready(this, "registry and fixture images", started);
    }

    @AfterAll
    void tearDown() {
        if (registry != null) registry.close();
    }

    private static void check(Jocker.Result r, boolean condition, String reason, Step07Checks.Concept c) {
        Step07Checks.check(r, condition, reason, c);
    }

    /** The one container directory of a root, once there is one; empty after {@code timeout}. */
    private static Optional<Path> theContainer(Step06Checks.Root root, Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        do {
            List<String> dirs = Step07Checks.names(root.dir.resolve("containers")).stream().filter(n -> n.matches("[0-9a-f]{64}")).toList();
            if (dirs.size() == 1) return Optional.of(root.dir.resolve("containers").resolve(dirs.get(0)));
            Jocker.sleep(50);
        } while (System.nanoTime() < deadline);
        return Optional.empty();
    }

    // ------------------------------------------------------------------------------------------
    // diff
    // ------------------------------------------------------------------------------------------

    @Test
    @Order(1)
    @DisplayName("diff of a running container prints what it added (A), changed (C) and deleted (D), sorted, as docker diff does; an unknown id is refused")
    void diff() throws IOException {
        Step06Checks.Root root = Step07Checks.root(jocker, "diff");
        Fixtures.Image app = images.app;
        // The container traps TERM (as PID 1 it would ignore it otherwise) so that the check can end it.
        Jocker.Running running = root.start("run", app.ref(), "sh", "-c", "trap 'exit 0' TERM; echo new > /new && rm /etc/x"
                + " && echo z >> /etc/y && rm -r /d && mkdir -p /srv/a/b && echo ready; sleep 30 & wait");
        boolean ready = running.awaitOutput("ready", Jocker.TIMEOUT);
        Optional<Path> dir = theContainer(root, Duration.ofSeconds(1));
        Jocker.Result diff = null;
        try {
            if (ready && dir.isPresent()) diff = root.run("diff", dir.get().getFileName().toString().substring(0, 12));
        } finally {
            running.signal("TERM");
        }
        Jocker.Result ended = running.await();
        ended.check(ready && dir.isPresent(), "expected the container to print \"ready\" and its directory in containers/"
                + " (it did not: see its output) " + DIFF.hint());
        Step07Checks.succeeds(diff, "diff of a running container", DIFF);
        // rm -r /d leaves one whiteout, /d: docker diff prints "D /d" alone, not what was in it.
        String want = "D /d\nC /etc\nD /etc/x\nC /etc/y\nA /new\nA /srv\nA /srv/a\nA /srv/a/b\n";
        check(diff, diff.stdout().equals(want), "expected diff to print exactly, one path per line sorted by path (A added:"
                + " not in the image; C changed: in the image; D deleted: overlay's whiteout, a character device 0/0):\n"
                + want, DIFF);
        Step07Checks.assertNoMountLeft(root, ended);
        Step07Checks.assertNoContainerLeft(root, ended);

        Jocker.Result unknown = root.run("diff", "0123456789ab");
        check(unknown, unknown.exitCode() == 125 && unknown.stderrLines().size() == 1
                && unknown.stderrLines().get(0).startsWith("jocker: ") && unknown.stdout().isEmpty(),
                "expected diff of an unknown container to be refused: exit code 125, one line on stderr", Step07Checks.Concept.DRIVERS);
    }

    // ------------------------------------------------------------------------------------------
    // Cleanup
    // ------------------------------------------------------------------------------------------

    @Test
    @Order(2)
    @DisplayName("no mount and no container directory is left after a run that succeeds, exits 3, cannot find its command, or whose runtime was SIGKILLed (once the next run swept)")
    void nothingLeftOnAnyPath() throws IOException {
        Step06Checks.Root root = Step07Checks.root(jocker, "cleanup");
        Fixtures.Image app = images.app;
        record Case(String what, int exit, List<String> command) {}
        for (Case c : List.of(new Case("a run that succeeds", 0, List.of("cat", "/app")),
                new Case("a run whose command exits 3", 3, List.of("sh", "-c", "echo x > /new; exit 3")),
                new Case("a run whose command does not exist", 127, List.of("/no/such/command")))) {
            List<String> args = new java.util.ArrayList<>(List.of("run", app.ref()));
            args.addAll(c.command());
            Jocker.Result r = root.run(args.toArray(new String[0]));
            check(r, r.exitCode() == c.exit(), c.what() + ": expected exit code " + c.exit(), CLEANUP);
            Step07Checks.assertNoMountLeft(root, r);
            Step07Checks.assertNoContainerLeft(root, r);
        }

        // SIGKILL: the runtime has no chance to clean up; the next run sweeps what it left.
        Jocker.Running running = root.start("run", app.ref(), "sh", "-c", "echo ready; exec sleep 60");
        boolean ready = running.awaitOutput("ready", Jocker.TIMEOUT);
        Optional<Path> dir = theContainer(root, Duration.ofSeconds(1));
        long owner = -1;
        if (dir.isPresent()) {
            JsonNode state = Fixtures.JSON.readTree(dir.get().resolve("state.json").toFile());
            owner = state.path("owner").path("pid").asLong(-1);
        }
        long runtime = owner;
        Optional<ProcessHandle> handle = owner > 0 ? ProcessHandle.of(owner) : Optional.empty();
        handle.ifPresent(ProcessHandle::destroyForcibly);   // SIGKILL
        if (handle.isPresent()) handle.get().onExit().join();
        Jocker.Result killed = running.await();
        killed.check(ready && dir.isPresent() && handle.isPresent(), "expected a running container (\"ready\"), its"
                + " directory and its runtime's pid in state.json's owner; pid " + runtime + " " + CLEANUP.hint());
        List<String> mountsAfterKill = Step07Checks.mountsUnder(root);   // the overlay, for the sweep to undo

        Jocker.Result next = root.run("run", app.ref(), "cat", "/app");
        Step07Checks.succeeds(next, "the run after a runtime was killed with SIGKILL", CLEANUP);
        check(next, mountsAfterKill.size() > 0, "expected the killed runtime to have left its overlay mounted (the check"
                + " needs something to sweep), found no mount under the state root", MOUNT);
        Step07Checks.assertNoMountLeft(root, next);
        check(next, !Files.exists(dir.get()), "the next run did not sweep the directory of the container whose runtime was"
                + " killed: " + dir.get(), CLEANUP);
        Step07Checks.assertNoContainerLeft(root, next);
    }

    // ------------------------------------------------------------------------------------------
    // Concurrent and killed unpacking
    // ------------------------------------------------------------------------------------------

    @Test
    @Order(3)
    @DisplayName("two first runs of one image at once both work, and each layer is unpacked once")
    void twoFirstRunsAtOnce() throws IOException {
        Step06Checks.Root root = Step07Checks.root(jocker, "race");
        Fixtures.Image app = images.app;
        root.pull(app);
        Jocker.Running a = root.start("run", app.ref(), "cat", "/app");
        Jocker.Running b = root.start("run", app.ref(), "cat", "/app");
        Jocker.Result ra = a.await(), rb = b.await();
        for (Jocker.Result r : List.of(ra, rb)) {
            Step07Checks.succeeds(r, "one of two first runs of " + app.ref() + " at once", STORE);
            check(r, r.stdout().equals(images.appToken + "\n"), "expected the image's /app", STORE);
        }
        Step07Checks.assertChainIdsOnly(root, rb, app);
        List<String> links = Step07Checks.names(root.dir.resolve("storage/overlay/l"));
        check(rb, links.size() == app.layers().size(), "expected one short link per layer in storage/overlay/l, found "
                + links.size() + ": " + links, STORE);
        Step07Checks.assertNoMountLeft(root, rb);
        Step07Checks.assertNoContainerLeft(root, rb);
    }

    @Test
    @Order(4)
    @DisplayName("a layer left half-unpacked by a killed runtime (layers/.tmp-CHAINID-...) is never used: removed, and the layer unpacked whole")
    void halfUnpackedLayerIsNeverUsed() throws IOException {
        Step06Checks.Root root = Step07Checks.root(jocker, "half");
        Fixtures.Image app = images.app;
        List<String> chain = Step07Checks.chainIds(app);
        String bottom = Step07Checks.hex(chain.get(0));
        Path layers = Step07Checks.layersDir(root);
        Path planted = layers.resolve(".tmp-" + bottom + "-99999-dead");
        Files.createDirectories(planted.resolve("diff/bin"));
        Files.writeString(planted.resolve("diff/bin/planted"), "half\n");
        Files.writeString(planted.resolve("diff/app"), "half\n");
        Jocker.Result run = root.run("run", app.ref(), "sh", "-c", "cat /app; ls /bin/planted 2>/dev/null; ls /bin | wc -l");
        Step07Checks.succeeds(run, "run with a half-unpacked layer left by a killed runtime", STORE);
        List<String> lines = run.stdout().lines().toList();
        check(run, lines.size() == 2 && lines.get(0).equals(images.appToken), "expected the image's /app and no /bin/planted,"
                + " got " + Jocker.quote(run.stdout()), STORE);
        check(run, !Files.exists(planted), "expected the half-unpacked " + planted.getFileName() + " to be removed", STORE);
        Path diff = layers.resolve(bottom).resolve("diff");
        check(run, Files.isRegularFile(diff.resolve("bin/busybox")) && !Files.exists(diff.resolve("bin/planted")),
                "expected layers/" + bottom + "/diff to be the whole layer (bin/busybox) and nothing of the half-unpacked one", STORE);
        Set<String> bin = new TreeSet<>(Step07Checks.names(diff.resolve("bin")));
        check(run, lines.size() == 2 && lines.get(1).strip().equals(String.valueOf(bin.size())), "expected the container's /bin"
                + " to hold the " + bin.size() + " names of the layer's bin/", STORE);
        Step07Checks.assertChainIdsOnly(root, run, app);
        Step07Checks.assertNoMountLeft(root, run);
        Step07Checks.assertNoContainerLeft(root, run);
    }
}
