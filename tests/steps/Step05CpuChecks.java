import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Step 05 cgroups, the check that measures CPU time: a busy container under {@code --cpus 0.5}
 * gets about half a CPU by its cgroup's own usage counter, and its cpu.stat counts throttled
 * periods. Apart from {@link Step05Checks} because it {@link RunsAlone}: other checks running
 * beside it would take the CPU it is meant to get.
 */
@DisplayName("step 05 cgroups, CPU time")
@ExtendWith(JockerExtension.class)
@RunsAlone
class Step05CpuChecks {

    private final Jocker jocker;

    Step05CpuChecks(Jocker jocker) {
        this.jocker = jocker;
    }

    /** A concept's hint, which also names the step whose file this runs, when it is a later one. */
    private Hint h(Hint c) { return Hint.onStep(jocker, 5, c); }

    @Test
    @Order(1)
    @DisplayName("two busy loops under --cpus 0.5 get at most about half a CPU, by the cgroup's own usage counter")
    void cpuLimit() {
        Jocker.Running running = jocker.start(jocker.container(List.of("--cpus", "0.5"),
                "sh", "-c", "loop() { while :; do :; done; }; loop & loop & " + Jocker.readyThenWait(8)));
        boolean ready = running.awaitOutput("ready", Step05Checks.READY);
        Step05Checks.Tree cpu = Step05Checks.Tree.of("cpuacct");   // v1: the cpuacct tree; v2: the one tree, cpu.stat
        Step05Checks.Tree quota = Step05Checks.Tree.of("cpu");     // where the quota is enforced and counted: cpu.stat
        double ratio = -1;
        Map<String, Long> stat = Map.of();
        if (ready) {
            Optional<Path> dir = cpu.container(jocker);
            if (dir.isPresent()) {
                Jocker.sleep(500);                    // let the loops get going
                long u0 = Step05Checks.usageNanos(cpu, dir.get()), t0 = System.nanoTime();
                Jocker.sleep(2000);                   // 20 periods of 100 ms, each with its 50 ms of quota
                long u1 = Step05Checks.usageNanos(cpu, dir.get()), t1 = System.nanoTime();
                ratio = (u1 - u0) / (double) (t1 - t0);
                stat = quota.container(jocker).map(d -> Step05Checks.keyed(d.resolve("cpu.stat"))).orElse(Map.of());
            }
        }
        running.stopWaiting();
        Jocker.Result r = running.await();
        // The kernel's word besides the measured share: each 100 ms period whose 50 ms of quota ran out
        // adds 1 to nr_throttled, and the time the loops then waited to throttled_time (v1, ns) or
        // throttled_usec (v2).
        long throttled = stat.getOrDefault("nr_throttled", 0L);
        long waited = stat.getOrDefault(quota.v2() ? "throttled_usec" : "throttled_time", 0L);
        if (ratio >= 0) System.err.printf("step 05: two busy loops under --cpus 0.5 used %.3f CPUs (cgroup usage over 2 s)%n", ratio);
        Hint.check(r, ready, "the container never printed \"ready\"", h(Step05Checks.Concept.RUN));
        Hint.exits(r, 0, h(Step05Checks.Concept.RUN));
        Hint.check(r, ratio >= 0, "found no cgroup of the container to measure", h(Step05Checks.Concept.LIMITS));
        Hint.check(r, ratio <= 0.6, String.format("the container used %.2f CPUs, more than --cpus 0.5 allows", ratio),
                h(Step05Checks.Concept.LIMITS));
        Hint.check(r, ratio >= 0.2, String.format("the container used only %.2f CPUs: did the loops run in its cgroup?", ratio),
                h(Step05Checks.Concept.JOIN));
        Hint.check(r, throttled > 0 && waited > 0, "the container's cgroup's cpu.stat counts no throttled period while two busy"
                + " loops ran under --cpus 0.5 (" + (stat.isEmpty() ? "no cpu.stat found" : "nr_throttled " + throttled + ", "
                + (quota.v2() ? "throttled_usec " : "throttled_time ") + waited) + ")", h(Step05Checks.Concept.LIMITS));
        Step05Checks.assertNoCgroupLeft(jocker, r);
    }

}
