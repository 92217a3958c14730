import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import jocker.kernel.MountInfo;

/**
 * Step 05 cgroups, black-box: the limits of --memory, --cpus and --pids-limit are written into the
 * container's own cgroup and hold (the OOM killer ends a greedy shell with 137 and a message, a
 * fork bomb stays inside its pids limit, a busy loop gets half a CPU by the cgroup's own counter:
 * {@link Step05CpuChecks}, which runs alone),
 * the container sees its cgroup as "/", and no cgroup outlives its container on any path.
 *
 * <p>Every run uses the class's own cgroup parent ({@link Jocker#cgroupParent()},
 * {@code jocker-test-RANDOM}), which the checks look into and the harness removes after the
 * class. The checks read the cgroup files from the host side; they find the trees the same way the runtime must, from /proc/self/mountinfo, so they hold
 * on cgroup v2, v1 and hybrid machines alike.
 *
 * <p>{@link Step05VmChecks} boots a real cgroup v2 kernel under qemu (tests/vm/) and runs step 05
 * in it, when this machine is not pure v2 itself.
 */
@DisplayName("step 05 cgroups")
@ExtendWith(JockerExtension.class)
class Step05Checks {

    private final Jocker jocker;

    Step05Checks(Jocker jocker) {
        this.jocker = jocker;
    }

    /** A concept's hint, which also names the step whose file this runs, when it is a later one. */
    private Hint h(Hint c) { return Hint.onStep(jocker, 5, c); }

    static final Duration READY = Duration.ofSeconds(20);
    static final Pattern OOM_LINE =
            Pattern.compile("jocker: container [0-9a-f]{12} was killed: out of memory \\(limit 64m\\)");

    // ------------------------------------------------------------------------------------------
    // Limits, namespace, removal
    // ------------------------------------------------------------------------------------------

    @Test
    @Essential
    @Order(1)
    @DisplayName("--memory 64m --cpus 0.5 --pids-limit 20 are written into the container's cgroup, with its pid in it")
    void limitsAreWritten() throws IOException {
        Jocker.Running running = jocker.start(jocker.container(
                List.of("--memory", "64m", "--cpus", "0.5", "--pids-limit", "20"), "sh", "-c", Jocker.readyThenWait(3)));
        boolean ready = running.awaitOutput("ready", READY);
        Map<String, String> seen = new LinkedHashMap<>();
        if (ready) {
            Tree memory = Tree.of("memory"), cpu = Tree.of("cpu"), pids = Tree.of("pids");
            Optional<Path> m = memory.container(jocker), c = cpu.container(jocker), p = pids.container(jocker);
            seen.put("memory", m.map(d -> read(d.resolve(memory.v2 ? "memory.max" : "memory.limit_in_bytes"))).orElse("(no cgroup)"));
            seen.put("cpu", c.map(d -> cpu.v2 ? read(d.resolve("cpu.max"))
                    : read(d.resolve("cpu.cfs_quota_us")) + " " + read(d.resolve("cpu.cfs_period_us"))).orElse("(no cgroup)"));
            seen.put("pids", p.map(d -> read(d.resolve("pids.max"))).orElse("(no cgroup)"));
            seen.put("procs", m.map(d -> read(d.resolve("cgroup.procs"))).orElse(""));
        }
        running.stopWaiting();
        Jocker.Result r = running.await();
        Hint.check(r, ready, "the container never printed \"ready\"", h(Concept.RUN));
        Hint.exits(r, 0, h(Concept.RUN));
        Hint.check(r, "67108864".equals(seen.get("memory")), "expected the memory limit 67108864 (64m) in the container's "
                + "cgroup, found " + seen.get("memory"), h(Concept.LIMITS));
        Hint.check(r, "50000 100000".equals(seen.get("cpu")), "expected a CPU quota of 50000 us per 100000 us (--cpus 0.5), found "
                + seen.get("cpu"), h(Concept.LIMITS));
        Hint.check(r, "20".equals(seen.get("pids")), "expected pids.max 20, found " + seen.get("pids"), h(Concept.LIMITS));
        Hint.check(r, !seen.get("procs").isBlank(), "the container's cgroup had no process in it while it ran", h(Concept.JOIN));
        assertNoCgroupLeft(jocker, r);
    }

    @Test
    @Order(2)
    @DisplayName("the container sees its own cgroup as / in /proc/self/cgroup (a cgroup namespace)")
    void cgroupNamespace() {
        Jocker.Result r = jocker.run(jocker.container(List.of("--memory", "64m"), "cat", "/proc/self/cgroup"),
                Map.of(), null, Jocker.TIMEOUT);
        Hint.exits(r, 0, h(Concept.RUN));
        List<String> lines = r.stdout().lines().filter(l -> !l.isBlank()).toList();
        Hint.check(r, !lines.isEmpty(), "/proc/self/cgroup was empty", h(Concept.NAMESPACE));
        for (String line : lines) {
            Hint.check(r, line.endsWith(":/"), "expected every line of /proc/self/cgroup to end in \":/\", got \"" + line + "\"",
                    h(Concept.NAMESPACE));
        }
        assertNoCgroupLeft(jocker, r);
    }

    @Test
    @Order(3)
    @DisplayName("a shell that outgrows --memory 64m is OOM-killed: exit 137, one line that says so, no cgroup left")
    void outOfMemory() {
        Jocker.Result r = greedyShell(jocker);
        Hint.exits(r, 137, h(Concept.LIMITS));
        Hint.stdoutIs(r, "", h(Concept.LIMITS));
        Hint.check(r, r.stderrLines().stream().anyMatch(l -> OOM_LINE.matcher(l).matches()),
                "expected a line like \"jocker: container 3f2a9c1b7d4e was killed: out of memory (limit 64m)\" on stderr", h(Concept.OOM));
        assertNoCgroupLeft(jocker, r);
    }

    /** A shell that reads 200m into a variable under --memory 64m: the OOM killer ends it. */
    static Jocker.Result greedyShell(Jocker jocker) {
        return jocker.run(jocker.container(List.of("--memory", "64m"),
                "sh", "-c", "x=$(head -c 200m /dev/zero | tr '\\0' a); echo survived"), Map.of(), null, Jocker.TIMEOUT);
    }

    @Test
    @Essential
    @Order(4)
    @DisplayName("under --pids-limit 20 a shell starts at most 19 children, then fork fails")
    void pidsLimitCounts() {
        Jocker.Result r = jocker.run(jocker.container(List.of("--pids-limit", "20"),
                "sh", "-c", "for i in $(seq 1 60); do sleep 30 & echo started $i; done"), Map.of(), null, Jocker.TIMEOUT);
        List<String> started = r.stdout().lines().filter(l -> l.startsWith("started ")).toList();
        Hint.check(r, !r.timedOut(), "the run did not end by itself", h(Concept.RUN));
        Hint.check(r, !started.isEmpty() && started.size() < 20, "expected between 1 and 19 children (the shell is the 20th "
                + "process), got " + started.size(), h(Concept.LIMITS));
        Hint.check(r, r.stderr().contains("can't fork"), "expected the shell to say it can't fork", h(Concept.LIMITS));
        assertNoCgroupLeft(jocker, r);
    }

    @Test
    @Order(5)
    @DisplayName("a fork bomb under --pids-limit 20 stays at 20 processes, the host can still fork, the run ends by itself")
    void forkBombIsContained() throws Exception {
        // f N|f N& forks two copies of itself, 8 levels deep, whose 256 leaves sleep: far more
        // than 20 processes at once, yet bounded, so that a step 05 whose limit does not hold
        // (the container not in its cgroup) cannot exhaust the host. It runs from a subshell:
        // PID 1 itself forks only that once, so a full pids limit cannot make it fail (exit 2)
        // before "ready". It then execs sleep (no fork needed) and the container ends with it:
        // every process of its PID namespace dies with PID 1.
        Jocker.Running running = jocker.start(jocker.container(List.of("--pids-limit", "20"),
                "sh", "-c", "f() { if [ $1 -gt 0 ]; then f $(($1 - 1)) | f $(($1 - 1)) & else sleep 2; fi; }; (f 8); "
                        + "echo ready; exec sleep 2.5"));
        boolean ready = running.awaitOutput("ready", READY);
        Tree pids = Tree.of("pids");
        long most = 0, refused = 0;
        boolean hostForks = true;
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1500);
        while (ready && System.nanoTime() < until) {
            Optional<Path> dir = pids.container(jocker);
            if (dir.isPresent()) {
                most = Math.max(most, number(read(dir.get().resolve("pids.current"))));
                refused = Math.max(refused, keyed(dir.get().resolve("pids.events")).getOrDefault("max", 0L));
            }
            Jocker.sleep(100);
        }
        if (ready) hostForks = new ProcessBuilder("true").start().waitFor(10, TimeUnit.SECONDS);
        Jocker.Result r = running.await(Duration.ofSeconds(30));
        Hint.check(r, ready, "the container never printed \"ready\"", h(Concept.RUN));
        Hint.check(r, !r.timedOut(), "the run did not end by itself within 30 s", h(Concept.RUN));
        Hint.check(r, most > 0 && most <= 20, "expected pids.current between 1 and 20 while the bomb ran, saw at most " + most,
                h(Concept.LIMITS));
        Hint.check(r, refused > 0, "expected pids.events to count refused forks (max > 0), got " + refused, h(Concept.LIMITS));
        Hint.check(r, hostForks, "the host could not start a process while the bomb ran", h(Concept.LIMITS));
        assertNoCgroupLeft(jocker, r);
    }

    @Test
    @Order(7)
    @DisplayName("a command that cannot start (127) leaves no cgroup behind")
    void failedStartRemovesCgroup() {
        String missing = Jocker.token("no-such-command-");
        Jocker.Result r = jocker.run(jocker.container(List.of("--memory", "64m", "--pids-limit", "20"), missing),
                Map.of(), null, Jocker.TIMEOUT);
        Hint.exits(r, 127, h(Concept.RUN));
        assertNoCgroupLeft(jocker, r);
    }

    @Test
    @Order(8)
    @DisplayName("bad values (--memory abc, --memory 1k, --cpus 0, --pids-limit the kernel refuses) give 125, one line, no cgroup")
    void badValues() {
        List<List<String>> cases = List.of(
                List.of("--memory", "abc"),
                List.of("--memory", "1k"),
                List.of("--cpus", "0"),
                List.of("--cpus", "lots"),
                // parsed fine, but above the kernel's PID_MAX_LIMIT: pids.max refuses it (EINVAL)
                List.of("--pids-limit", "99999999"));
        for (List<String> option : cases) {
            Jocker.Result r = jocker.run(jocker.container(option, "true"), Map.of(), null, Jocker.TIMEOUT);
            Hint c = option.get(0).equals("--pids-limit") ? h(Concept.KERNEL_REFUSES) : h(Concept.OPTIONS);
            Hint.exits(r, 125, c);
            Hint.oneLineError(r, c, option.get(0).substring(2).replace("-limit", ""));
            Hint.stdoutIs(r, "", c);
            assertNoCgroupLeft(jocker, r);
        }
    }

    @Test
    @Order(9)
    @DisplayName("after the runtime is killed with SIGKILL, the next run removes the dead container's cgroup")
    void killedRuntimeCgroupIsSwept() {
        Jocker.Running running = jocker.start(jocker.container(List.of("--memory", "64m"),
                "sh", "-c", "echo ready; exec sleep 60"));
        boolean ready = running.awaitOutput("ready", READY);
        boolean hadCgroup = ready && Tree.of("memory").container(jocker).isPresent();
        running.signal("KILL");
        Jocker.Result killed = running.await(Duration.ofSeconds(20));
        Hint.check(killed, ready, "the container never printed \"ready\"", h(Concept.RUN));
        Hint.check(killed, hadCgroup, "the container had no cgroup under " + jocker.cgroupParent() + " while it ran", h(Concept.LIMITS));
        // The next run sweeps what the killed one left behind (lib/Leftovers.java), cgroup included.
        Jocker.Result next = jocker.run(jocker.container("true"), Map.of(), null, Jocker.TIMEOUT);
        Hint.exits(next, 0, h(Concept.RUN));
        assertNoCgroupLeft(jocker, next);
    }

    // ------------------------------------------------------------------------------------------
    // The host's cgroup trees, read the way the runtime must find them
    // ------------------------------------------------------------------------------------------

    /** The tree that serves one controller: its mount point and version. */
    record Tree(String controller, Path mount, boolean v2) {
        /** v1 wins where a v1 tree names the controller; else the cgroup2 tree (cpuacct: its cpu.stat). */
        static Tree of(String controller) {
            Path v2mount = null;
            for (MountInfo m : MountInfo.read()) {
                if (m.fsType().equals("cgroup") && List.of(m.superOptions().split(",")).contains(controller)) {
                    return new Tree(controller, Path.of(m.mountPoint()), false);
                }
                if (m.fsType().equals("cgroup2") && v2mount == null) v2mount = Path.of(m.mountPoint());
            }
            if (v2mount == null) throw new AssertionError("no cgroup tree on this machine serves " + controller + " (" + Hint.DOCTOR + ")");
            return new Tree(controller, v2mount, true);
        }

        /** The directory of the one running container under the class's cgroup parent, if there is one. */
        Optional<Path> container(Jocker jocker) {
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (System.nanoTime() < until) {
                List<Path> dirs = children(mount.resolve(jocker.cgroupParent()));
                if (dirs.size() == 1) return Optional.of(dirs.get(0));
                Jocker.sleep(50);
            }
            return Optional.empty();
        }
    }

    /** Fails with the run's output when any cgroup is left under the class's parent, in any tree. */
    static void assertNoCgroupLeft(Jocker jocker, Jocker.Result r) {
        List<Path> left = new ArrayList<>();
        for (Path tree : Cleanup.cgroupTrees()) left.addAll(children(tree.resolve(jocker.cgroupParent())));
        Hint.check(r, left.isEmpty(), "cgroups were left behind after the run: " + left, Hint.onStep(jocker, 5, Concept.REMOVE));
    }

    /**
     * What each check depends on: the TODOs whose code it runs, the sections of chapter 05 that
     * explain it (the exact titles). A failure's first line ends with its bracket.
     */
    enum Concept implements Hint {
        /** A run with limits that must work at all: every TODO of the step. */
        RUN("05.1 05.2 05.3 05.4", "TODO 05.1", "TODO 05.2", "TODO 05.3", "TODO 05.4"),
        /** A limit holds only when it is written (05.1) and the container is in the cgroup (05.2). */
        LIMITS("05.1 05.2", "TODO 05.1", "TODO 05.2"),
        JOIN("05.2", "TODO 05.2"),
        NAMESPACE("05.3", "TODO 05.3"),
        /** Removed by 05.4 after a run; after a SIGKILL, by the next run's sweep of the undo log (given). */
        REMOVE("05.4", "TODO 05.4", "When the runtime is killed: the undo log"),
        OOM("05.1", "The OOM killer, and how to see it"),
        /** Given code parses the options and refuses what is no size or number. */
        OPTIONS("", "The options: Docker's spellings, OCI's config"),
        /** A value that parses but that the kernel refuses on write: set() must turn it into one line. */
        KERNEL_REFUSES("05.1", "TODO 05.1");

        private final String hint;

        Concept(String todos, String... sections) { this.hint = Hint.of("05-cgroups.adoc", todos, sections); }

        @Override
        public String hint() { return hint; }
    }

    static List<Path> children(Path dir) {
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isDirectory).sorted().toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    /** CPU time the cgroup has used: v1 cpuacct.usage (ns), v2 cpu.stat usage_usec. */
    static long usageNanos(Tree tree, Path dir) {
        if (tree.v2) return keyed(dir.resolve("cpu.stat")).getOrDefault("usage_usec", 0L) * 1000;
        return number(read(dir.resolve("cpuacct.usage")));
    }

    static Map<String, Long> keyed(Path file) {
        Map<String, Long> values = new LinkedHashMap<>();
        for (String line : read(file).split("\n")) {
            String[] kv = line.trim().split("\\s+");
            if (kv.length == 2) values.put(kv[0], number(kv[1]));
        }
        return values;
    }

    static long number(String s) {
        try {
            return Long.parseLong(s.strip());
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** A cgroup file's content, without the final newline; "" when it is gone. */
    static String read(Path file) {
        return readOr(file, "").strip();
    }

    static String readOr(Path file, String otherwise) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return otherwise;
        }
    }

    static String tail(Path file, int n) {
        List<String> l = readOr(file, "").lines().toList();
        return String.join("\n", l.subList(Math.max(0, l.size() - n), l.size()));
    }

    static String indent(String text) {
        return text.isEmpty() ? "    (empty)\n" : text.lines().map(l -> "    | " + l + "\n").reduce("", String::concat);
    }
}
