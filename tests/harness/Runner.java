import java.io.IOException;
import java.io.PrintWriter;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.platform.commons.support.AnnotationSupport;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.discovery.ClassNameFilter;
import org.junit.platform.engine.discovery.DiscoverySelectors;
import org.junit.platform.engine.support.descriptor.ClassSource;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.launcher.EngineFilter;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TagFilter;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.reporting.legacy.xml.LegacyXmlReportGeneratingListener;

/**
 * Runs JUnit: one check class against one script per launcher execution (a {@link Job}), or the
 * unit tests. What is under test travels as configuration parameters of that execution, never as
 * system properties, so that several executions can run at once in this JVM.
 */
final class Runner {
    private Runner() {}

    enum Status { PASS, FAIL, SKIP }

    /**
     * One check's outcome; SKIP for a disabled check or a failed assumption (e.g. no cgroup v2 here).
     * {@code method}: the check's method name ("" for a verdict on the whole class, such as what its
     * runs left behind), by which grading tells the essential checks apart. {@code disabled}: a
     * SKIP that never started (a condition turned it off, as JOCKER_VM=never does the VM's), not
     * one whose assumption failed.
     */
    record CheckRun(String name, Status status, String message, String method, boolean disabled) {
        CheckRun(String name, Status status, String message, String method) { this(name, status, message, method, false); }

        CheckRun(String name, Status status, String message) { this(name, status, message, ""); }
    }

    /** The outcome of one class in one launcher execution. */
    static final class ClassRun {
        final String name;
        final List<CheckRun> checks = new ArrayList<>();
        long nanos;

        ClassRun(String name) { this.name = name; }

        int count(Status s) { return (int) checks.stream().filter(c -> c.status() == s).count(); }

        String counts() {
            return String.format("%d passed, %d failed%s (%.1f s)", count(Status.PASS), count(Status.FAIL),
                    count(Status.SKIP) > 0 ? ", " + count(Status.SKIP) + " skipped" : "", nanos / 1e9);
        }
    }

    /**
     * One check class against one script. {@code essentialOnly}: only its {@link Essential}
     * checks. {@code suite} names the JUnit XML's test suite, e.g. {@code solutions/02_chroot.java}.
     */
    record Job(String suite, Path script, int step, Class<?> checks, boolean essentialOnly) {
        boolean runsAlone() { return checks.isAnnotationPresent(RunsAlone.class); }

        String tier() { return essentialOnly ? "essential" : "all"; }

        /** The checks this job runs. */
        List<Method> selected() {
            List<Method> tests = new ArrayList<>();
            for (Method m : checks.getDeclaredMethods()) {
                if (AnnotationSupport.isAnnotated(m, Test.class) && (!essentialOnly || essential(m))) tests.add(m);
            }
            return tests;
        }

        /**
         * A guess of how long the job takes, for ordering the longest first when no earlier run
         * measured it: 3 s a check, 30 s a check that allows itself minutes (the VM).
         */
        double guessSeconds() {
            double s = 0;
            for (Method m : selected()) {
                Timeout t = m.getAnnotation(Timeout.class);
                s += t != null && t.unit().toSeconds(t.value()) >= 300 ? 30 : 3;
            }
            return s;
        }

        String key() { return suite + "|" + checks.getName() + "|" + tier(); }
    }

    static boolean essential(Method m) {
        return AnnotationSupport.findRepeatableAnnotations(m, Tag.class).stream().anyMatch(t -> t.value().equals(Essential.TAG));
    }

    /**
     * Runs {@code job}, with {@code parameters} (jocker.repo, jocker.image ...) plus the script and
     * step; its JUnit XML goes to {@code reportDir} (null: none).
     */
    static ClassRun run(Job job, Map<String, String> parameters, Path reportDir) {
        Map<String, String> p = new LinkedHashMap<>(parameters);
        p.put("jocker.script", job.script().toString());
        p.put("jocker.step", Integer.toString(job.step()));
        LauncherDiscoveryRequestBuilder request = LauncherDiscoveryRequestBuilder.request()
                .selectors(DiscoverySelectors.selectClass(job.checks()))
                .filters(EngineFilter.includeEngines("junit-jupiter"))
                .configurationParameters(common())
                .configurationParameters(p);
        if (job.essentialOnly()) request.filters(TagFilter.includeTags(Essential.TAG));
        String name = job.suite() + " " + job.checks().getSimpleName() + (job.essentialOnly() ? " (essential)" : "");
        List<ClassRun> runs = execute(request.build(), reportDir, name,
                "TEST-" + (job.suite() + "-" + job.checks().getSimpleName() + "-" + job.tier())
                        .replaceAll("[^A-Za-z0-9_.-]+", "-") + ".xml");
        if (runs.isEmpty()) {
            ClassRun empty = new ClassRun(job.checks().getSimpleName());
            empty.checks.add(new CheckRun("(" + job.checks().getSimpleName() + ")", Status.FAIL, "JUnit ran no class"));
            return empty;
        }
        return runs.get(0);
    }

    /** The unit tests: classes named *Test in the jocker.* packages (tests/unit/), in this JVM. */
    static List<ClassRun> runUnitTests(Path reportDir) {
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request()
                .selectors(DiscoverySelectors.selectPackage("jocker"))
                .filters(EngineFilter.includeEngines("junit-jupiter"),
                        ClassNameFilter.includeClassNamePatterns("jocker\\..*Test"))
                .configurationParameters(common())
                .build();
        return execute(request, reportDir, "unit", "TEST-unit.xml");
    }

    private static Map<String, String> common() {
        return Map.of(
                // Checks run in the order of their @Order, then by name: a report reads top down.
                "junit.jupiter.testmethod.order.default", "org.junit.jupiter.api.MethodOrderer$OrderAnnotation",
                // A check that hangs is stopped (its thread interrupted, its runs killed by the cleanup).
                "junit.jupiter.execution.timeout.testable.method.default", "5 m");
    }

    private static List<ClassRun> execute(LauncherDiscoveryRequest request, Path reportDir, String suite, String file) {
        List<ClassRun> runs = new ArrayList<>();
        Listener listener = new Listener(runs);
        Path tmp = null;
        try {
            if (reportDir != null) {
                Files.createDirectories(reportDir);
                tmp = Files.createTempDirectory(reportDir, ".junit-");
            }
        } catch (IOException e) {
            throw new IllegalStateException("failed to make the report directory " + reportDir + ": " + e, e);
        }
        if (tmp == null) {
            LauncherFactory.create().execute(request, listener);
        } else {
            LauncherFactory.create().execute(request, new LegacyXmlReportGeneratingListener(tmp,
                    new PrintWriter(System.err, true)), listener);
            try {
                Path xml = tmp.resolve("TEST-junit-jupiter.xml");
                if (Files.exists(xml)) {
                    String text = Files.readString(xml).replaceFirst("<testsuite name=\"JUnit Jupiter\"",
                            Matcher.quoteReplacement("<testsuite name=\"" + Checks.xml(suite) + "\""));
                    Files.writeString(reportDir.resolve(file), text);
                    Files.delete(xml);
                }
                Files.delete(tmp);
            } catch (IOException e) {
                System.err.println("checks: failed to write the JUnit XML of " + suite + " to " + reportDir + ": " + e);
            }
        }
        return runs;
    }

    /** Records what each check of each class did. */
    static final class Listener implements TestExecutionListener {
        private final List<ClassRun> runs;
        private final Map<String, ClassRun> open = new LinkedHashMap<>();
        private final Map<String, Long> started = new LinkedHashMap<>();

        Listener(List<ClassRun> runs) { this.runs = runs; }

        private TestPlan plan;

        @Override
        public void testPlanExecutionStarted(TestPlan plan) { this.plan = plan; }

        /** The class a check belongs to: its nearest class ancestor (a parameterized test has a template between). */
        private ClassRun classOf(TestIdentifier id) {
            for (TestIdentifier p = id; p != null; p = plan.getParent(p).orElse(null)) {
                ClassRun c = open.get(p.getUniqueId());
                if (c != null) return c;
            }
            return null;
        }

        @Override
        public void executionStarted(TestIdentifier id) {
            if (isClass(id)) {
                open.put(id.getUniqueId(), new ClassRun(id.getDisplayName()));
                started.put(id.getUniqueId(), System.nanoTime());
            }
        }

        @Override
        public void executionSkipped(TestIdentifier id, String reason) {
            ClassRun c = classOf(id);
            if (id.isTest() && c != null) c.checks.add(new CheckRun(id.getDisplayName(), Status.SKIP, "skipped: " + reason, methodOf(id), true));
        }

        @Override
        public void executionFinished(TestIdentifier id, TestExecutionResult result) {
            if (id.isTest()) {
                ClassRun c = classOf(id);
                if (c == null) return;
                Status status = switch (result.getStatus()) {
                    case SUCCESSFUL -> Status.PASS;
                    case ABORTED -> Status.SKIP;   // an assumption did not hold
                    case FAILED -> Status.FAIL;
                };
                String why = result.getThrowable().map(status == Status.SKIP ? Runner::skipReason : Runner::describe).orElse("");
                c.checks.add(new CheckRun(id.getDisplayName(), status, why, methodOf(id)));
            } else if (isClass(id)) {
                ClassRun c = open.remove(id.getUniqueId());
                if (c == null) return;
                if (result.getStatus() != TestExecutionResult.Status.SUCCESSFUL) classFailed(c, id, result);
                c.nanos = System.nanoTime() - started.remove(id.getUniqueId());
                runs.add(c);
            }
        }

        /**
         * @BeforeAll, @AfterAll or the extension failed: what the runs left behind is a check of its
         * own, as is any other failure of the class ("setup of").
         */
        private static void classFailed(ClassRun c, TestIdentifier id, TestExecutionResult result) {
            Throwable t = result.getThrowable().orElse(null);
            List<Throwable> all = new ArrayList<>();
            if (t != null) {
                all.add(t);
                all.addAll(List.of(t.getSuppressed()));
            }
            boolean other = all.isEmpty();
            for (Throwable x : all) {
                if (x instanceof JockerExtension.LeftBehind) {
                    c.checks.add(new CheckRun("nothing is left behind after the checks of " + id.getDisplayName(),
                            Status.FAIL, x.getMessage()));
                } else {
                    other = true;
                }
            }
            if (other) {
                Throwable shown = all.stream().filter(x -> !(x instanceof JockerExtension.LeftBehind)).findFirst().orElse(null);
                c.checks.add(new CheckRun("(setup of " + id.getDisplayName() + ")",
                        result.getStatus() == TestExecutionResult.Status.ABORTED ? Status.SKIP : Status.FAIL,
                        shown == null ? "failed" : describe(shown)));
            }
        }

        /** The name of a check's method (a parameterized check's invocations share it). */
        private static String methodOf(TestIdentifier id) {
            return id.getSource().filter(s -> s instanceof MethodSource).map(s -> ((MethodSource) s).getMethodName()).orElse("");
        }

        private static boolean isClass(TestIdentifier id) {
            return id.isContainer() && id.getSource().filter(s -> s instanceof ClassSource).isPresent();
        }
    }

    /** An assertion's message; any other exception with its type and the top of its stack. */
    /**
     * Why a check did not run, as a sentence: an assumption's own message ("skipped: this host
     * serves cpu from cgroup v1"), never the exception's class name and stack.
     */
    static String skipReason(Throwable t) {
        String m = t.getMessage() == null ? "" : t.getMessage().replaceFirst("^Assumption failed: ", "").strip();
        if (m.isEmpty() || m.equals("assumption is not true")) return "skipped: what it needs is not here";
        return "skipped: " + m;
    }

    static String describe(Throwable t) {
        if (t instanceof AssertionError && t.getMessage() != null) return t.getMessage();
        if (t instanceof java.util.concurrent.TimeoutException) return t.getMessage();   // JUnit's @Timeout: its stack says nothing
        StringBuilder s = new StringBuilder(t.toString());
        StackTraceElement[] trace = t.getStackTrace();
        for (int i = 0; i < Math.min(6, trace.length); i++) s.append("\n  at ").append(trace[i]);
        return s.toString();
    }

    static String seconds(long nanos) {
        double s = nanos / 1e9;
        if (s < 60) return String.format("%.1f s", s);
        return String.format("%d min %02d s", TimeUnit.NANOSECONDS.toMinutes(nanos), TimeUnit.NANOSECONDS.toSeconds(nanos) % 60);
    }
}
