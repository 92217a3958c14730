///usr/bin/env jbang "$0" "$@" ; exit $?
// The unit tests of lib/: pure logic that needs no root and runs in milliseconds (mountinfo
// parsing, cgroup layout detection and units, tar path resolution against hostile names, the init
// pipe's framing, the undo log, the OCI JSON shapes, process helpers; and step 06's groundwork: image
// references, digests, platforms, media types, the image JSON, auth challenges; step 08's: subnets,
// port mappings, resolv.conf, address leases). A few need root and skip without it (the network's
// kernel tests: a bridge, veth pairs into namespaces, NAT rules, each with names of its own).
//
// Usage: jbang tests/unit/UnitTests.java [--verbose] [CLASS...]
//        prints one line per failure and "N passed, N failed"; exits 1 if any test failed.
//        CLASS picks test classes by name: `jbang tests/unit/UnitTests.java RootfsTar MountInfo`.
//
// Each test class sits in the package of the class it tests (tests/unit/jocker/kernel/
// MountInfoTest.java is package jocker.kernel), so package-private members are reachable.
// The checks' harness (tests/harness/Checks.java) runs the same classes as its unit phase.
//
//JAVAC_OPTIONS -J-XX:TieredStopAtLevel=1 -J-XX:+UseSerialGC -J-XX:-UsePerfData
//DEPS org.junit.platform:junit-platform-console-standalone:1.11.4
//CDS
//MAIN UnitTests
//JAVA_OPTIONS -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData -Xshare:auto -Xlog:cds=off -Xlog:cds+dynamic=off
//SOURCES ../../lib/jocker/kernel/*.java
//SOURCES ../../lib/jocker/oci/*.java
//SOURCES ../../lib/jocker/runtime/*.java
//SOURCES ../../lib/jocker/rootfs/*.java
//SOURCES ../../lib/jocker/cgroups/*.java
//SOURCES ../../lib/jocker/image/*.java
//SOURCES ../../lib/jocker/storage/*.java
//SOURCES ../../lib/jocker/network/*.java
//SOURCES jocker/kernel/*.java
//SOURCES jocker/oci/*.java
//SOURCES jocker/runtime/*.java
//SOURCES jocker/rootfs/*.java
//SOURCES jocker/cgroups/*.java
//SOURCES jocker/image/*.java
//SOURCES jocker/storage/*.java
//SOURCES jocker/network/*.java

import static org.junit.platform.engine.discovery.ClassNameFilter.includeClassNamePatterns;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectPackage;

import java.io.PrintWriter;
import java.util.List;

import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.launcher.EngineFilter;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

public class UnitTests {
    public static void main(String[] args) {
        boolean verbose = List.of(args).contains("--verbose");
        String[] classes = java.util.Arrays.stream(args).filter(a -> !a.startsWith("--"))
                .map(a -> ".*\\." + java.util.regex.Pattern.quote(a.replaceFirst("Test$", "")) + "Test").toArray(String[]::new);
        long started = System.nanoTime();
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request()
                .selectors(selectPackage("jocker"))
                .filters(EngineFilter.includeEngines("junit-jupiter"))   // not vintage, not suite: less to load
                .filters(includeClassNamePatterns(classes.length > 0 ? classes : new String[] {".*Test"}))
                // Classes side by side: the first touches of jnr (InitPipeTest) and Jackson
                // (ConfigTest) cost most of the time, and overlap on two cores.
                .configurationParameter("junit.jupiter.execution.parallel.enabled", "true")
                .configurationParameter("junit.jupiter.execution.parallel.mode.default", "same_thread")
                .configurationParameter("junit.jupiter.execution.parallel.mode.classes.default", "concurrent")
                .build();
        SummaryGeneratingListener summary = new SummaryGeneratingListener();
        java.util.Map<String, Long> starts = new java.util.concurrent.ConcurrentHashMap<>();
        TestExecutionListener lines = new TestExecutionListener() {
            @Override
            public void executionStarted(TestIdentifier id) {
                starts.put(id.getUniqueId(), System.nanoTime());
            }

            @Override
            public void executionFinished(TestIdentifier id, TestExecutionResult result) {
                if (!id.isTest()) return;
                String name = id.getSource().filter(MethodSource.class::isInstance).map(MethodSource.class::cast)
                        .map(m -> m.getClassName().replaceFirst("^jocker\\.", "") + "." + m.getMethodName())
                        .orElse(id.getDisplayName());
                if (result.getStatus() == TestExecutionResult.Status.SUCCESSFUL) {
                    long ms = (System.nanoTime() - starts.getOrDefault(id.getUniqueId(), System.nanoTime())) / 1_000_000;
                    if (verbose) System.out.printf("ok     %s (%d ms)%n", name, ms);
                } else {
                    String why = result.getThrowable().map(t -> String.valueOf(t.getMessage())).orElse("");
                    System.out.println(result.getStatus().name().toLowerCase() + " " + name + ": " + why);
                }
            }

            @Override
            public void executionSkipped(TestIdentifier id, String reason) {
                if (verbose) System.out.println("skip   " + id.getDisplayName() + ": " + reason);
            }
        };
        LauncherFactory.create().execute(request, summary, lines);
        TestExecutionSummary s = summary.getSummary();
        if (verbose) s.printFailuresTo(new PrintWriter(System.out), 20);
        long failed = s.getTotalFailureCount();
        long passed = s.getTestsSucceededCount();
        long skipped = s.getTestsSkippedCount() + s.getTestsAbortedCount();
        System.out.printf("unit tests: %d passed, %d failed%s (%d ms)%n", passed, failed,
                skipped > 0 ? ", " + skipped + " skipped" : "", (System.nanoTime() - started) / 1_000_000);
        System.exit(failed == 0 && passed > 0 ? 0 : 1);
    }
}
