import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Step 05 cgroups, black-box: the limits of --memory, --cpus and --pids-limit are written into the
 * container's own cgroup and hold (the OOM killer ends a greedy shell with 137 and a message, a
 * fork bomb stays inside its pids limit, a busy loop gets half a CPU by the cgroup's own counter),
 * the container sees its cgroup as "/", and no cgroup outlives its container on any path.
 *
 * <p>Every run uses its own cgroup parent, {@code JOCKER_CGROUP_PARENT=jocker-test-RANDOM}, which
 * the checks look into (and remove at the end). The checks read the cgroup files from the host
 * side; they find the trees the same way the runtime must, from /proc/self/mountinfo, so they hold
 * on cgroup v2, v1 and hybrid machines alike.
 *
 * <p>The last checks boot a real cgroup v2 kernel under qemu (tests/vm/) and run step 05 in it,
 * when this machine is not pure v2 itself: see {@link #vm()}.
 */
@DisplayName("step 05 cgroups")
class Step05Checks {

    static final String PARENT = "jocker-test-" + HexFormat.of().formatHex(new SecureRandom().generateSeed(4));
    static final Map<String, String> ENV = Map.of("JOCKER_CGROUP_PARENT", PARENT);
    static final Duration READY = Duration.ofSeconds(20);
    static final Pattern OOM_LINE =
            Pattern.compile("jocker: container [0-9a-f]{12} was killed: out of memory \\(limit 64m\\)");

    /** Set by the host's OOM check: the VM only repeats what already works here. */
    static volatile boolean hostOomPassed;

    // ------------------------------------------------------------------------------------------
    // Limits, namespace, removal
    // ------------------------------------------------------------------------------------------

    @Test
    @Order(1)
    @DisplayName("--memory 64m --cpus 0.5 --pids-limit 20 are written into the container's cgroup, with its pid in it")
    void limitsAreWritten() throws IOException {
        Jocker.Running running = Jocker.start(Jocker.container(
                List.of("--memory", "64m", "--cpus", "0.5", "--pids-limit", "20"), "sh", "-c", "echo ready; sleep 3"),
                ENV, null);
        boolean ready = running.awaitOutput("ready", READY);
        Map<String, String> seen = new LinkedHashMap<>();
        if (ready) {
            Tree memory = Tree.of("memory"), cpu = Tree.of("cpu"), pids = Tree.of("pids");
            Optional<Path> m = memory.container(), c = cpu.container(), p = pids.container();
            seen.put("memory", m.map(d -> read(d.resolve(memory.v2 ? "memory.max" : "memory.limit_in_bytes"))).orElse("(no cgroup)"));
            seen.put("cpu", c.map(d -> cpu.v2 ? read(d.resolve("cpu.max"))
                    : read(d.resolve("cpu.cfs_quota_us")) + " " + read(d.resolve("cpu.cfs_period_us"))).orElse("(no cgroup)"));
            seen.put("pids", p.map(d -> read(d.resolve("pids.max"))).orElse("(no cgroup)"));
            seen.put("procs", m.map(d -> read(d.resolve("cgroup.procs"))).orElse(""));
        }
        Jocker.Result r = running.await();
        r.check(ready, "the container never printed \"ready\"").assertExit(0);
        r.check("67108864".equals(seen.get("memory")), "expected the memory limit 67108864 (64m) in the container's "
                + "cgroup, found " + seen.get("memory"));
        r.check("50000 100000".equals(seen.get("cpu")), "expected a CPU quota of 50000 us per 100000 us (--cpus 0.5), found "
                + seen.get("cpu"));
        r.check("20".equals(seen.get("pids")), "expected pids.max 20, found " + seen.get("pids"));
        r.check(!seen.get("procs").isBlank(), "the container's cgroup had no process in it while it ran");
        assertNoCgroupLeft(r);
    }

    @Test
    @Order(2)
    @DisplayName("the container sees its own cgroup as / in /proc/self/cgroup (a cgroup namespace)")
    void cgroupNamespace() {
        Jocker.Result r = Jocker.run(Jocker.container(List.of("--memory", "64m"), "cat", "/proc/self/cgroup"),
                ENV, null, Jocker.TIMEOUT);
        r.assertExit(0);
        List<String> lines = r.stdout().lines().filter(l -> !l.isBlank()).toList();
        r.check(!lines.isEmpty(), "/proc/self/cgroup was empty");
        for (String line : lines) {
            r.check(line.endsWith(":/"), "expected every line of /proc/self/cgroup to end in \":/\", got \"" + line + "\"");
        }
        assertNoCgroupLeft(r);
    }

    @Test
    @Order(3)
    @DisplayName("a shell that outgrows --memory 64m is OOM-killed: exit 137, one line that says so, no cgroup left")
    void outOfMemory() {
        Jocker.Result r = Jocker.run(Jocker.container(List.of("--memory", "64m"),
                "sh", "-c", "x=$(head -c 200m /dev/zero | tr '\\0' a); echo survived"), ENV, null, Jocker.TIMEOUT);
        r.assertExit(137).assertStdout("");
        r.check(r.stderrLines().stream().anyMatch(l -> OOM_LINE.matcher(l).matches()),
                "expected a line like \"jocker: container 3f2a9c1b7d4e was killed: out of memory (limit 64m)\" on stderr");
        assertNoCgroupLeft(r);
        hostOomPassed = true;
    }

    @Test
    @Order(4)
    @DisplayName("under --pids-limit 20 a shell starts at most 19 children, then fork fails")
    void pidsLimitCounts() {
        Jocker.Result r = Jocker.run(Jocker.container(List.of("--pids-limit", "20"),
                "sh", "-c", "for i in $(seq 1 60); do sleep 30 & echo started $i; done"), ENV, null, Jocker.TIMEOUT);
        List<String> started = r.stdout().lines().filter(l -> l.startsWith("started ")).toList();
        r.check(!r.timedOut(), "the run did not end by itself");
        r.check(!started.isEmpty() && started.size() < 20, "expected between 1 and 19 children (the shell is the 20th "
                + "process), got " + started.size());
        r.check(r.stderr().contains("can't fork"), "expected the shell to say it can't fork");
        assertNoCgroupLeft(r);
    }

    @Test
    @Order(5)
    @DisplayName("a fork bomb under --pids-limit 20 stays at 20 processes, the host can still fork, the run ends by itself")
    void forkBombIsContained() throws Exception {
        // f|f& forks two copies of itself, forever; PID 1 then execs sleep (no fork needed) and
        // the container ends with it: every process of its PID namespace dies with PID 1.
        Jocker.Running running = Jocker.start(Jocker.container(List.of("--pids-limit", "20"),
                "sh", "-c", "f() { f | f & }; f; echo ready; exec sleep 4"), ENV, null);
        boolean ready = running.awaitOutput("ready", READY);
        Tree pids = Tree.of("pids");
        long most = 0, refused = 0;
        boolean hostForks = true;
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        while (ready && System.nanoTime() < until) {
            Optional<Path> dir = pids.container();
            if (dir.isPresent()) {
                most = Math.max(most, number(read(dir.get().resolve("pids.current"))));
                refused = Math.max(refused, keyed(dir.get().resolve("pids.events")).getOrDefault("max", 0L));
            }
            Jocker.sleep(100);
        }
        if (ready) hostForks = new ProcessBuilder("true").start().waitFor(10, TimeUnit.SECONDS);
        Jocker.Result r = running.await(Duration.ofSeconds(30));
        r.check(ready, "the container never printed \"ready\"");
        r.check(!r.timedOut(), "the run did not end by itself within 30 s");
        r.check(most > 0 && most <= 20, "expected pids.current between 1 and 20 while the bomb ran, saw at most " + most);
        r.check(refused > 0, "expected pids.events to count refused forks (max > 0), got " + refused);
        r.check(hostForks, "the host could not start a process while the bomb ran");
        assertNoCgroupLeft(r);
    }

    @Test
    @Order(6)
    @DisplayName("two busy loops under --cpus 0.5 get at most about half a CPU, by the cgroup's own usage counter")
    void cpuLimit() {
        Jocker.Running running = Jocker.start(Jocker.container(List.of("--cpus", "0.5"),
                "sh", "-c", "loop() { while :; do :; done; }; loop & loop & echo ready; sleep 8"), ENV, null);
        boolean ready = running.awaitOutput("ready", READY);
        Tree cpu = Tree.of("cpuacct");   // v1: the cpuacct tree; v2: the one tree, cpu.stat
        double ratio = -1;
        if (ready) {
            Optional<Path> dir = cpu.container();
            if (dir.isPresent()) {
                Jocker.sleep(1000);                   // let the loops get going
                long u0 = usageNanos(cpu, dir.get()), t0 = System.nanoTime();
                Jocker.sleep(3000);
                long u1 = usageNanos(cpu, dir.get()), t1 = System.nanoTime();
                ratio = (u1 - u0) / (double) (t1 - t0);
            }
        }
        Jocker.Result r = running.await();
        if (ratio >= 0) System.err.printf("step 05: two busy loops under --cpus 0.5 used %.3f CPUs (cgroup usage over 3 s)%n", ratio);
        r.check(ready, "the container never printed \"ready\"").assertExit(0);
        r.check(ratio >= 0, "found no cgroup of the container to measure");
        r.check(ratio <= 0.6, String.format("the container used %.2f CPUs, more than --cpus 0.5 allows", ratio));
        r.check(ratio >= 0.2, String.format("the container used only %.2f CPUs: did the loops run in its cgroup?", ratio));
        assertNoCgroupLeft(r);
    }

    @Test
    @Order(7)
    @DisplayName("a command that cannot start (127) leaves no cgroup behind")
    void failedStartRemovesCgroup() {
        String missing = Jocker.token("no-such-command-");
        Jocker.Result r = Jocker.run(Jocker.container(List.of("--memory", "64m", "--pids-limit", "20"), missing),
                ENV, null, Jocker.TIMEOUT);
        r.assertExit(127);
        assertNoCgroupLeft(r);
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
            Jocker.Result r = Jocker.run(Jocker.container(option, "true"), ENV, null, Jocker.TIMEOUT);
            r.assertExit(125).assertOneLineError(option.get(0).substring(2).replace("-limit", "")).assertStdout("");
            assertNoCgroupLeft(r);
        }
    }

    @Test
    @Order(9)
    @DisplayName("after the runtime is killed with SIGKILL, the next run removes the dead container's cgroup")
    void killedRuntimeCgroupIsSwept() {
        Jocker.Running running = Jocker.start(Jocker.container(List.of("--memory", "64m"),
                "sh", "-c", "echo ready; exec sleep 60"), ENV, null);
        boolean ready = running.awaitOutput("ready", READY);
        boolean hadCgroup = ready && Tree.of("memory").container().isPresent();
        running.signal("KILL");
        Jocker.Result killed = running.await(Duration.ofSeconds(20));
        killed.check(ready, "the container never printed \"ready\"");
        killed.check(hadCgroup, "the container had no cgroup under " + PARENT + " while it ran");
        // The next run sweeps what the killed one left behind (lib/Leftovers.java), cgroup included.
        Jocker.Result next = Jocker.run(Jocker.container("true"), ENV, null, Jocker.TIMEOUT);
        next.assertExit(0);
        assertNoCgroupLeft(next);
    }

    // ------------------------------------------------------------------------------------------
    // The same on a real cgroup v2 kernel (tests/vm/)
    // ------------------------------------------------------------------------------------------

    @Test
    @Order(20)
    @DisplayName("cgroup v2 VM: a shell that outgrows --memory 64m exits 137 with the OOM line")
    @ExtendWith(VmCondition.class)
    void v2OutOfMemory() {
        VmResults vm = vm();
        vm.check(vm.rc("oom") == 137, "expected exit code 137 in the VM, got " + vm.rc("oom"), "oom");
        vm.check(vm.text("oom.err").lines().anyMatch(l -> OOM_LINE.matcher(l).matches()),
                "expected the OOM line on stderr in the VM", "oom");
    }

    @Test
    @Order(21)
    @DisplayName("cgroup v2 VM: under --pids-limit 20 fork fails after 19 children; /proc/self/cgroup is 0::/")
    @ExtendWith(VmCondition.class)
    void v2PidsLimit() {
        VmResults vm = vm();
        long started = vm.text("pids.out").lines().filter(l -> l.startsWith("started ")).count();
        vm.check(started > 0 && started < 20, "expected 1 to 19 children in the VM, got " + started, "pids");
        vm.check(vm.text("pids.err").contains("can't fork"), "expected \"can't fork\" on stderr in the VM", "pids");
        vm.check(vm.text("pids.out").lines().findFirst().orElse("").equals("0::/"),
                "expected /proc/self/cgroup to be \"0::/\" in the VM", "pids");
    }

    @Test
    @Order(22)
    @DisplayName("cgroup v2 VM: no cgroup is left under the parent, whose subtree_control has cpu memory pids")
    @ExtendWith(VmCondition.class)
    void v2CgroupRemoved() {
        VmResults vm = vm();
        for (String name : List.of("oom", "pids")) {
            vm.check(vm.text(name + ".left").isBlank(), "cgroups left in the VM after the " + name + " run: "
                    + vm.text(name + ".left").strip(), name);
            Set<String> enabled = Set.of(vm.text(name + ".subtree").strip().split("\\s+"));
            vm.check(enabled.containsAll(List.of("cpu", "memory", "pids")),
                    "expected cpu memory pids in the parent's cgroup.subtree_control in the VM, got " + enabled, name);
        }
    }

    /** The VM's results, booting it on first use (the first VM check pays for the boot). */
    static synchronized VmResults vm() {
        if (vmResults == null) vmResults = bootVm();
        if (vmResults.error != null) throw new AssertionError(vmResults.error);
        return vmResults;
    }

    private static VmResults vmResults;

    /**
     * Whether the VM checks run, and if not, the reason the report shows for skipping them.
     * {@code JOCKER_VM} (or {@code -Djocker.vm}) decides: {@code never}, {@code always}, or by
     * default {@code auto}: only for step 05's own file (later steps do not pay for the boot
     * again), only on a machine whose memory controller is not on cgroup v2 (on a pure v2 machine
     * the checks above prove v2 already), only when this step's OOM check passed here (else the VM
     * would only repeat that failure, slowly), and only where qemu can run.
     */
    static final class VmCondition implements ExecutionCondition {
        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            if (context.getTestMethod().isEmpty()) return ConditionEvaluationResult.enabled("class");
            String why = reasonToSkip();
            return why == null ? ConditionEvaluationResult.enabled("the VM runs")
                    : ConditionEvaluationResult.disabled(why);
        }
    }

    static String reasonToSkip() {
        String mode = Optional.ofNullable(System.getProperty("jocker.vm"))
                .or(() -> Optional.ofNullable(System.getenv("JOCKER_VM"))).orElse("auto");
        if (mode.equals("never")) return "JOCKER_VM=never";
        if (System.getProperty("jocker.repo") == null) return "no -Djocker.repo: the VM checks run from the harness";
        if (mode.equals("auto")) {
            if (Jocker.step() != 5) return "the VM runs for step 05's own file only (JOCKER_VM=always to force it)";
            if (Tree.of("memory").v2) return "this machine is cgroup v2 itself: the checks above prove v2";
            if (!hostOomPassed) return "the OOM check fails on this machine already: the VM would only repeat it";
        }
        try {
            Process canRun = new ProcessBuilder("bash", vmScript().toString(), "can-run").redirectErrorStream(true).start();
            String why = new String(canRun.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            return canRun.waitFor() == 0 ? null : "qemu cannot run here: " + why;
        } catch (IOException | InterruptedException e) {
            return "qemu cannot run here: " + e;
        }
    }

    static Path vmScript() { return Path.of(System.getProperty("jocker.repo"), "tests", "vm", "vm.sh"); }

    /** Runs tests/vm/vm.sh check once, against the step file under test; results in build/vm/results. */
    static VmResults bootVm() {
        Path out = Path.of(System.getProperty("jocker.repo"), "build", "vm", "results");
        try {
            long started = System.nanoTime();
            Path log = Files.createTempFile("jocker-vm-", ".log");
            Process p = new ProcessBuilder("bash", vmScript().toString(), "check", Jocker.script().toString(), out.toString())
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            if (!p.waitFor(12, TimeUnit.MINUTES)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
            String said = Files.readString(log).strip();
            Files.deleteIfExists(log);
            System.err.printf("step 05: the cgroup v2 VM check took %.0f s (qemu ran %s s)%n",
                    (System.nanoTime() - started) / 1e9, readOr(out.resolve("vm-seconds"), "?").strip());
            if (p.isAlive() || p.exitValue() != 0) {
                return VmResults.failed("tests/vm/vm.sh check failed:\n" + said + "\n" + tail(out.resolve("console.log"), 30));
            }
            return new VmResults(out, null);
        } catch (IOException | InterruptedException e) {
            return VmResults.failed("could not run tests/vm/vm.sh: " + e);
        }
    }

    /** What inside.sh wrote: NAME.rc, NAME.out, NAME.err, NAME.left per case. */
    record VmResults(Path dir, String error) {
        static VmResults failed(String why) { return new VmResults(null, why); }

        String text(String file) { return readOr(dir.resolve(file), ""); }

        int rc(String name) {
            try {
                return Integer.parseInt(text(name + ".rc").strip());
            } catch (NumberFormatException e) {
                return -1;
            }
        }

        /** Fails with what the run printed in the VM, like a Result does on the host. */
        void check(boolean ok, String reason, String name) {
            if (ok) return;
            throw new AssertionError(reason + "\n  in the VM (" + dir + "), case " + name + ":\n  exit code: "
                    + text(name + ".rc").strip() + "\n  stdout:\n" + indent(text(name + ".out")) + "  stderr:\n"
                    + indent(text(name + ".err")));
        }
    }

    // ------------------------------------------------------------------------------------------
    // The host's cgroup trees, read the way the runtime must find them
    // ------------------------------------------------------------------------------------------

    /** The tree that serves one controller: its mount point and version. */
    record Tree(String controller, Path mount, boolean v2) {
        /** v1 wins where a v1 tree names the controller; else the cgroup2 tree (cpuacct: its cpu.stat). */
        static Tree of(String controller) {
            Path v2mount = null;
            for (String line : lines(Path.of("/proc/self/mountinfo"))) {
                String[] halves = line.split(" - ", 2);
                if (halves.length < 2) continue;
                String[] left = halves[0].split(" "), right = halves[1].split(" ");
                if (right[0].equals("cgroup") && List.of(right[2].split(",")).contains(controller)) {
                    return new Tree(controller, Path.of(left[4]), false);
                }
                if (right[0].equals("cgroup2") && v2mount == null) v2mount = Path.of(left[4]);
            }
            if (v2mount == null) throw new AssertionError("no cgroup tree on this machine serves " + controller);
            return new Tree(controller, v2mount, true);
        }

        /** The directory of the one running container under our parent, if there is one. */
        Optional<Path> container() {
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (System.nanoTime() < until) {
                List<Path> dirs = children(mount.resolve(PARENT));
                if (dirs.size() == 1) return Optional.of(dirs.get(0));
                Jocker.sleep(50);
            }
            return Optional.empty();
        }
    }

    /** Every mounted cgroup tree (v1 trees with controllers, and cgroup2). */
    static Set<Path> allTrees() {
        Set<Path> trees = new LinkedHashSet<>();
        for (String line : lines(Path.of("/proc/self/mountinfo"))) {
            String[] halves = line.split(" - ", 2);
            if (halves.length < 2) continue;
            String fs = halves[1].split(" ")[0];
            if (fs.equals("cgroup") || fs.equals("cgroup2")) trees.add(Path.of(halves[0].split(" ")[4]));
        }
        return trees;
    }

    /** Fails with the run's output when any cgroup is left under our parent, in any tree. */
    static void assertNoCgroupLeft(Jocker.Result r) {
        List<Path> left = new ArrayList<>();
        for (Path tree : allTrees()) left.addAll(children(tree.resolve(PARENT)));
        r.check(left.isEmpty(), "cgroups were left behind after the run: " + left);
    }

    /** Removes our parent's leftovers (cgroups of a broken skeleton) and the parent itself, in every tree. */
    @AfterAll
    static void removeParent() {
        for (Path tree : allTrees()) {
            Path parent = tree.resolve(PARENT);
            for (Path child : children(parent)) rmdirQuietly(child);
            rmdirQuietly(parent);
        }
    }

    private static void rmdirQuietly(Path dir) {
        for (int i = 0; i < 50 && Files.isDirectory(dir); i++) {
            try {
                Files.delete(dir);
            } catch (IOException busy) {
                Jocker.sleep(20);
            }
        }
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

    static List<String> lines(Path file) {
        try {
            return Files.readAllLines(file);
        } catch (IOException e) {
            throw new AssertionError("cannot read " + file + ": " + e);
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
