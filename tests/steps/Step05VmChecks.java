import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Step 05 cgroups on a real cgroup v2 kernel: tests/vm/ boots Debian's kernel under qemu, with this
 * machine's / read-only below it, and runs step 05 there (tests/vm/inside.sh): a shell that
 * outgrows --memory is OOM-killed, --pids-limit holds, cpu.max and memory.swap.max hold what --cpus
 * and --memory ask, a busy loop under --cpus is throttled, a process that outlives PID 1 does not keep the cgroup, and no cgroup is left.
 * One host check joins them: the swap limit of a cgroup v1 memory tree (memory.memsw), which this
 * machine serves when it is not pure v2. This machine's
 * cgroups may be v1 or hybrid; the learners' are v2. A class of its own, so that the boot (minutes
 * under emulation) runs beside the other checks, not after {@link Step05Checks}.
 */
@DisplayName("step 05 cgroups, on a cgroup v2 VM")
@ExtendWith(JockerExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)   // the VM checks share one boot
class Step05VmChecks {

    private final Jocker jocker;

    Step05VmChecks(Jocker jocker) {
        this.jocker = jocker;
    }

    @Test
    @Order(1)
    @Timeout(value = 13, unit = TimeUnit.MINUTES)   // the first VM check boots it: up to 12 minutes
    @DisplayName("cgroup v2 VM: a shell that outgrows --memory 64m exits 137 with the OOM line")
    @ExtendWith(VmCondition.class)
    void v2OutOfMemory() {
        VmResults vm = vm();
        vm.check(vm.rc("oom") == 137, "expected exit code 137 in the VM, got " + vm.rc("oom"), "oom");
        vm.check(vm.text("oom.err").lines().anyMatch(l -> Step05Checks.OOM_LINE.matcher(l).matches()),
                "expected the OOM line on stderr in the VM", "oom");
    }

    @Test
    @Order(2)
    @Timeout(value = 13, unit = TimeUnit.MINUTES)   // the first VM check boots it: up to 12 minutes
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
    @Order(3)
    @Timeout(value = 13, unit = TimeUnit.MINUTES)   // the first VM check boots it: up to 12 minutes
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

    @Test
    @Order(4)
    @Timeout(value = 13, unit = TimeUnit.MINUTES)   // the first VM check boots it: up to 12 minutes
    @DisplayName("cgroup v2 VM: --cpus 0.5 --memory 64m give cpu.max \"50000 100000\", memory.max 64m and memory.swap.max 0")
    @ExtendWith(VmCondition.class)
    void v2CpuAndSwapLimits() {
        VmResults vm = vm();
        // cpu.max is "QUOTA PERIOD", quota first; "100000 50000" would be two CPUs' worth, no limit here.
        String cpu = vm.text("limits.cpu.max").strip();
        vm.check(cpu.equals("50000 100000"), "expected cpu.max \"50000 100000\" (quota, then period) in the VM, found \""
                + cpu + "\" (TODO 05.1: write cpu.max as QUOTA PERIOD; see chapters/05-cgroups.adoc, \"TODO 05.1\")", "limits");
        String memory = vm.text("limits.memory.max").strip();
        vm.check(memory.equals("67108864"), "expected memory.max 67108864 (64m) in the VM, found \"" + memory + "\"", "limits");
        // On v2 memory.swap.max is swap alone; Docker's --memory without --memory-swap means no swap.
        String swap = vm.text("limits.memory.swap.max").strip();
        vm.check(swap.equals("0"), "expected memory.swap.max 0 (no swap beside --memory 64m) in the VM, found \"" + swap
                + "\" (TODO 05.1: memory.swap.max is swap on its own; see chapters/05-cgroups.adoc, \"TODO 05.1\")", "limits");
    }

    @Test
    @Order(5)
    @Timeout(value = 13, unit = TimeUnit.MINUTES)   // the first VM check boots it: up to 12 minutes
    @DisplayName("cgroup v2 VM: a busy loop under --cpus 0.5 is throttled: cpu.stat counts nr_throttled and throttled_usec")
    @ExtendWith(VmCondition.class)
    void v2CpuThrottled() {
        VmResults vm = vm();
        // The kernel's own counters, read before the cgroup went: a period whose quota ran out adds 1
        // to nr_throttled, and the time the cgroup then waited to throttled_usec. No CPU-time ratio:
        // under emulation the host's load would decide it; these count even on a slow, busy host.
        // The init JVM runs in the cgroup before it execs, and is throttled too: what counts is the
        // difference from the last read while it was still that JVM (limits.cpu.stat.before).
        vm.check(!vm.text("limits.cpu.stat").isBlank(), "the VM's watcher could not read cpu.stat in the container's cgroup"
                + " after its command had started (tests/vm/inside.sh)", "limits");
        Map<String, Long> after = Step05Checks.keyed(vm.dir().resolve("limits.cpu.stat"));
        Map<String, Long> before = Step05Checks.keyed(vm.dir().resolve("limits.cpu.stat.before"));
        long throttled = after.getOrDefault("nr_throttled", 0L) - before.getOrDefault("nr_throttled", 0L);
        long waited = after.getOrDefault("throttled_usec", 0L) - before.getOrDefault("throttled_usec", 0L);
        long periods = after.getOrDefault("nr_periods", 0L) - before.getOrDefault("nr_periods", 0L);
        vm.check(throttled > 0 && waited > 0, "a busy loop ran 2 s under --cpus 0.5 in the VM, yet its cgroup's cpu.stat counted"
                + " nr_throttled +" + throttled + " and throttled_usec +" + waited + " (nr_periods +" + periods + ") meanwhile:"
                + " the quota never ran out, so the loop got more than half a CPU, or ran outside the cgroup; cpu.max held \""
                + vm.text("limits.cpu.max").strip() + "\" " + Hint.onStep(jocker, 5, Step05Checks.Concept.LIMITS).hint(), "limits");
    }

    @Test
    @Order(6)
    @Timeout(value = 13, unit = TimeUnit.MINUTES)   // the first VM check boots it: up to 12 minutes
    @DisplayName("cgroup v2 VM: a process that outlives PID 1 in the container's cgroup does not keep the cgroup: it is removed")
    @ExtendWith(VmCondition.class)
    void v2CgroupRemovedWhileBusy() {
        VmResults vm = vm();
        vm.check(!vm.text("limits.lingerer").isBlank(), "the VM's watcher never saw the container's cgroup with a process in it,"
                + " so it could not add one (tests/vm/inside.sh)", "limits");
        vm.check(vm.rc("limits") == 0, "expected exit code 0 in the VM, got " + vm.rc("limits")
                + " (TODO 05.4: while rmdir says EBUSY, try again; see chapters/05-cgroups.adoc, \"TODO 05.4\")", "limits");
        vm.check(vm.text("limits.left").isBlank(), "the container's cgroup was left in the VM while a process of it was"
                + " still there when PID 1 had ended: " + vm.text("limits.left").strip()
                + " (TODO 05.4: while rmdir says EBUSY, try again; see chapters/05-cgroups.adoc, \"TODO 05.4\")", "limits");
    }

    @Test
    @Order(7)
    @DisplayName("on this machine's cgroup v1 memory tree, --memory 64m gives memory.memsw.limit_in_bytes 64m: no swap")
    void v1SwapLimit() {
        Step05Checks.Tree memory = Step05Checks.Tree.of("memory");
        org.junit.jupiter.api.Assumptions.assumeFalse(memory.v2(), "this machine's memory controller is on cgroup v2 (the VM checks v2's swap)");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(memory.mount().resolve("memory.memsw.limit_in_bytes")),
                "this kernel has no swap accounting on cgroup v1 (no memory.memsw.limit_in_bytes)");
        Jocker.Running running = jocker.start(jocker.container(List.of("--memory", "64m"), "sh", "-c", Jocker.readyThenWait(3)));
        boolean ready = running.awaitOutput("ready", Step05Checks.READY);
        String memsw = ready ? memory.container(jocker).map(d -> Step05Checks.read(d.resolve("memory.memsw.limit_in_bytes")))
                .orElse("(no cgroup)") : "(not read)";
        running.stopWaiting();
        Jocker.Result r = running.await();
        Hint.check(r, ready, "the container never printed \"ready\"", Hint.onStep(jocker, 5, Step05Checks.Concept.RUN));
        r.assertExit(0);
        // v1's memsw is memory plus swap: equal to the memory limit means no swap at all.
        r.check("67108864".equals(memsw), "expected memory.memsw.limit_in_bytes 67108864 (64m: memory plus swap, no swap)"
                + " in the container's cgroup, found " + memsw
                + " (TODO 05.1: on v1, memsw is memory plus swap; see chapters/05-cgroups.adoc, \"TODO 05.1\")");
        Step05Checks.assertNoCgroupLeft(jocker, r);
    }

    @Test
    @Order(8)
    @DisplayName("on this machine, a process that outlives PID 1 in the container's cgroup does not keep the cgroup: it is removed")
    void busyCgroupIsRemoved() throws Exception {
        // As the VM's limits case does on v2: a process of ours joins the container's cgroup (as
        // docker exec would), so it is still there when PID 1 ends, and rmdir says EBUSY at first.
        Step05Checks.Tree pids = Step05Checks.Tree.of("pids");
        Jocker.Running running = jocker.start(jocker.container("sh", "-c", Jocker.readyThenWait(2)));
        boolean ready = running.awaitOutput("ready", Step05Checks.READY);
        Process lingerer = new ProcessBuilder("sleep", "60").start();
        try {
            Optional<Path> dir = ready ? pids.container(jocker) : Optional.empty();
            String joined = "";
            if (dir.isPresent()) {
                try {
                    Files.writeString(dir.get().resolve("cgroup.procs"), Long.toString(lingerer.pid()));
                    joined = Step05Checks.read(dir.get().resolve("cgroup.procs"));
                } catch (IOException e) {
                    joined = "(" + e + ")";
                }
            }
            running.stopWaiting();
            Jocker.Result r = running.await();
            Hint.check(r, ready, "the container never printed \"ready\"", Hint.onStep(jocker, 5, Step05Checks.Concept.RUN));
            r.check(joined.lines().anyMatch(l -> l.strip().equals(Long.toString(lingerer.pid()))),
                    "could not move a process into the container's cgroup " + dir.orElse(null) + ": " + joined);
            r.check(r.exitCode() == 0 && Step05Checks.children(pids.mount().resolve(jocker.cgroupParent())).isEmpty(),
                    "a process of the container's cgroup outlived its PID 1, and the run did not remove the cgroup (exit code "
                    + r.exitCode() + ", left: " + Step05Checks.children(pids.mount().resolve(jocker.cgroupParent()))
                    + "; TODO 05.4: while rmdir says EBUSY, try again, and at last killAll; see chapters/05-cgroups.adoc, \"TODO 05.4\")");
            Step05Checks.assertNoCgroupLeft(jocker, r);
        } finally {
            lingerer.destroyForcibly();
            lingerer.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** The VM's results, booting it on first use (the first VM check pays for the boot). */
    VmResults vm() {
        if (vmResults == null) {
            synchronized (ONE_VM) {
                vmResults = bootVm();
            }
        }
        if (vmResults.error != null) throw new AssertionError(vmResults.error);
        return vmResults;
    }

    private VmResults vmResults;

    /** One VM at a time in this harness: each takes 2 GB and both cores. */
    private static final Object ONE_VM = new Object();

    /**
     * Whether the VM checks run, and if not, the reason the report shows for skipping them.
     * {@code JOCKER_VM} (or the configuration parameter {@code jocker.vm}) decides: {@code never}, {@code always}, or by
     * default {@code auto}: only for step 05's own file (later steps do not pay for the boot
     * again), only on a machine whose memory controller is not on cgroup v2 (on a pure v2 machine
     * {@link Step05Checks} proves v2 already), only when the out-of-memory run works here (else the
     * VM would only repeat that failure, slowly), and only where qemu can run.
     */
    static final class VmCondition implements ExecutionCondition {
        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            if (context.getTestMethod().isEmpty()) return ConditionEvaluationResult.enabled("class");
            Step05VmChecks checks = (Step05VmChecks) context.getRequiredTestInstance();
            String why = checks.reasonToSkip(context.getConfigurationParameter("jocker.vm")
                    .or(() -> Optional.ofNullable(System.getenv("JOCKER_VM"))).orElse("auto"));
            return why == null ? ConditionEvaluationResult.enabled("the VM runs")
                    : ConditionEvaluationResult.disabled(why);
        }
    }

    String reasonToSkip(String mode) {
        if (whyNot == null) whyNot = Optional.ofNullable(decide(mode));
        return whyNot.orElse(null);
    }

    private Optional<String> whyNot;   // decided once, for the VM checks

    private String decide(String mode) {
        if (mode.equals("never")) return "the cgroup v2 VM runs in ./build.sh test, and in check 05 with --vm (JOCKER_VM=never)";
        if (jocker.repo().isEmpty()) return "no jocker.repo: the VM checks run from the harness";
        if (mode.equals("auto")) {
            if (jocker.step() != 5) return "the VM runs for step 05's own file only (JOCKER_VM=always to force it)";
            if (Step05Checks.Tree.of("memory").v2()) return "this machine is cgroup v2 itself: step 05's checks prove v2 here";
            Jocker.Result oom = Step05Checks.greedyShell(jocker);
            if (oom.exitCode() != 137 || oom.stderrLines().stream().noneMatch(l -> Step05Checks.OOM_LINE.matcher(l).matches())) {
                return "the out-of-memory run fails on this machine already (exit " + oom.exitCode()
                        + "): the VM would only repeat it";
            }
        }
        try {
            Process canRun = new ProcessBuilder("bash", vmScript().toString(), "can-run").redirectErrorStream(true).start();
            String why = new String(canRun.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            return canRun.waitFor() == 0 ? null : "qemu cannot run here: " + why;
        } catch (IOException | InterruptedException e) {
            return "qemu cannot run here: " + e;
        }
    }

    Path vmScript() { return jocker.repo().orElseThrow().resolve("tests/vm/vm.sh"); }

    /**
     * Runs tests/vm/vm.sh check once, against the step file under test. The results of
     * solutions/05 land in build/vm/results (chapter 05 quotes them); those of another file in
     * build/vm/results-DIR, DIR its directory in the workbook (steps, build-check-reference-steps).
     */
    VmResults bootVm() {
        Path repo = jocker.repo().orElseThrow();
        Path dir = jocker.script().getParent();
        String where = dir.equals(repo.resolve("solutions")) ? "" : "-" + (dir.startsWith(repo) ? repo.relativize(dir) : dir)
                .toString().replaceAll("[^A-Za-z0-9_.]+", "-").replaceAll("^-|-$", "");
        Path out = repo.resolve("build/vm/results" + where);
        Process p = null;
        Path log = null;
        try {
            long started = System.nanoTime();
            log = Files.createTempFile("jocker-vm-", ".log");
            p = new ProcessBuilder("bash", vmScript().toString(), "check", jocker.script().toString(), out.toString())
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            jocker.track(p, "tests/vm/vm.sh check " + jocker.script());
            if (!p.waitFor(12, TimeUnit.MINUTES)) stop(p);
            String said = Files.readString(log).strip();
            System.err.printf("step 05: the cgroup v2 VM check took %.0f s (qemu ran %s s)%n",
                    (System.nanoTime() - started) / 1e9, Step05Checks.readOr(out.resolve("vm-seconds"), "?").strip());
            if (p.isAlive() || p.exitValue() != 0) {
                return VmResults.failed("tests/vm/vm.sh check failed:\n" + said + "\n" + Step05Checks.tail(out.resolve("console.log"), 30));
            }
            return new VmResults(out, null);
        } catch (IOException | InterruptedException e) {
            return VmResults.failed("could not run tests/vm/vm.sh: " + e);
        } finally {
            if (p != null && p.isAlive()) stop(p);   // interrupted (the check timed out): no qemu left running
            try {
                if (log != null) Files.deleteIfExists(log);   // on every path, a timed-out one too
            } catch (IOException e) {
                // a file in /tmp: not worth failing the check for
            }
        }
    }

    private static void stop(Process p) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        try {
            p.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** What inside.sh wrote: NAME.rc, NAME.out, NAME.err, NAME.left per case. */
    record VmResults(Path dir, String error) {
        static VmResults failed(String why) { return new VmResults(null, why); }

        String text(String file) { return Step05Checks.readOr(dir.resolve(file), ""); }

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
                    + text(name + ".rc").strip() + "\n  stdout:\n" + Step05Checks.indent(text(name + ".out")) + "  stderr:\n"
                    + Step05Checks.indent(text(name + ".err")));
        }
    }
}
