///usr/bin/env jbang "$0" "$@" ; exit $?
// The workbook's check harness: runs the JUnit 5 checks of tests/ against step files.
//
//   jbang tests/Checks.java test  --root REPO --reports DIR       what ./build.sh test runs
//   jbang tests/Checks.java check NN --dir DIR --root REPO --reports DIR
//                                                                  what ./build.sh check NN runs
//
// The checks of step N live in tests/StepNNChecks.java (class StepNNChecks); a step joins the
// harness when its solution solutions/NN_name.java exists and that class does: no table to edit.
//
//JAVA 17+
//DEPS org.junit.platform:junit-platform-console-standalone:1.11.4
//DEPS org.apache.commons:commons-compress:1.27.1
//DEPS com.fasterxml.jackson.core:jackson-databind:2.18.2
//SOURCES Jocker.java Step*Checks.java

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.discovery.DiscoverySelectors;
import org.junit.platform.engine.support.descriptor.ClassSource;
import org.junit.platform.launcher.EngineFilter;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.reporting.legacy.xml.LegacyXmlReportGeneratingListener;

/** The check harness: integrity checks for the workbook, and a learner's check of one step. */
public class Checks {

    /** {@code TODO(02.2) is not done: what (see chapters/02-chroot.adoc, "TODO 02.2")}, as lib/Todo.java writes it. */
    static final Pattern TODO = Pattern.compile(
            "TODO\\((\\d\\d\\.\\d+)\\) is not done: (.*?) \\(see (chapters/[^,]+), \"([^\"]+)\"\\)");
    static final Pattern STEP_FILE = Pattern.compile("(\\d\\d)_[A-Za-z0-9_]+\\.java");

    public static void main(String[] args) {
        int code;
        try {
            code = run(args);
        } catch (UsageError e) {
            System.err.println("checks: " + e.getMessage());
            code = 125;
        }
        System.exit(code);
    }

    static final class UsageError extends RuntimeException {
        UsageError(String m) { super(m); }
    }

    static int run(String[] args) {
        if (args.length == 0) throw new UsageError("usage: Checks.java test --root REPO --reports DIR | check NN --dir DIR --root REPO --reports DIR");
        String command = args[0];
        Map<String, String> options = new LinkedHashMap<>();
        List<String> positional = new ArrayList<>();
        for (int i = 1; i < args.length; i++) {
            if (args[i].startsWith("--")) {
                if (i + 1 >= args.length) throw new UsageError("option " + args[i] + " needs a value");
                options.put(args[i], args[++i]);
            } else {
                positional.add(args[i]);
            }
        }
        Path repo = Path.of(options.getOrDefault("--root", ".")).toAbsolutePath().normalize();
        Path reports = Path.of(options.getOrDefault("--reports", repo.resolve("build/test-results").toString()))
                .toAbsolutePath().normalize();
        if (!Files.isDirectory(repo.resolve("solutions")) || !Files.isDirectory(repo.resolve("lib"))) {
            throw new UsageError("not the workbook's root (no solutions/ and lib/): " + repo);
        }
        requireRoot();
        System.setProperty("jocker.repo", repo.toString());
        System.setProperty("jocker.image", repo.resolve("build/images/busybox.tar").toString());
        if (!Files.isRegularFile(repo.resolve("build/images/busybox.tar"))) {
            throw new UsageError("no build/images/busybox.tar: run ./build.sh setup first");
        }
        return switch (command) {
            case "test" -> {
                if (!positional.isEmpty()) throw new UsageError("unexpected arguments: " + positional);
                yield new Checks(repo, reports).test();
            }
            case "check" -> {
                if (positional.size() != 1 || !positional.get(0).matches("\\d\\d?")) {
                    throw new UsageError("usage: Checks.java check NN --dir DIR --root REPO --reports DIR");
                }
                Path dir = Path.of(options.getOrDefault("--dir", repo.resolve("steps").toString())).toAbsolutePath().normalize();
                yield new Checks(repo, reports).check(Integer.parseInt(positional.get(0)), dir);
            }
            default -> throw new UsageError("unknown command \"" + command + "\": use test or check");
        };
    }

    /** Containers need root; say so in one line (the owner of /proc/self is our effective uid). */
    static void requireRoot() {
        try {
            if (!Integer.valueOf(0).equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid"))) {
                throw new UsageError("must be run as root: the checks run containers (try sudo)");
            }
        } catch (IOException | UnsupportedOperationException e) {
            // cannot tell: let the runtime say it
        }
    }

    final Path repo;
    final Path reports;
    int passed;
    int failed;
    int skipped;

    Checks(Path repo, Path reports) {
        this.repo = repo;
        this.reports = reports;
    }

    // ------------------------------------------------------------------------------------------
    // test: every solution against its own and all earlier checks; every skeleton fails only
    // through its TODOs
    // ------------------------------------------------------------------------------------------

    int test() {
        long started = System.nanoTime();
        Map<Integer, Path> solutions = stepFiles(repo.resolve("solutions"));
        Map<Integer, Path> skeletons = stepFiles(repo.resolve("steps"));
        if (solutions.isEmpty()) throw new UsageError("no solutions/NN_name.java found in " + repo);
        System.out.println("Checking " + solutions.size() + " solution(s) and " + skeletons.size()
                + " skeleton(s) in " + repo);
        clearReports("TEST-solutions-", "TEST-integrity", "solutions-", "skeleton-", "integrity");

        for (var e : solutions.entrySet()) {
            int n = e.getKey();
            Path script = e.getValue();
            String label = "solutions/" + script.getFileName();
            if (!compiles(label, script)) continue;
            List<Class<?>> classes = new ArrayList<>();
            for (int k = 1; k <= n; k++) {
                Optional<Class<?>> c = checksOf(k);
                if (c.isPresent()) {
                    classes.add(c.get());
                } else {
                    verdict(label + " against the checks of step " + String.format("%02d", k), null,
                            String.format("no checks for step %02d (tests/%s.java)", k, className(k)));
                }
            }
            execute(script, n, classes, reports, "solutions/" + script.getFileName(), new Reporter() {
                @Override public void classFinished(ClassRun c) {
                    passed += c.count(Status.PASS);
                    failed += c.count(Status.FAIL);
                    skipped += c.count(Status.SKIP);
                    System.out.printf("%s  %-30s %-24s %s%n", c.count(Status.FAIL) == 0 ? "PASS" : "FAIL", label, c.name, c.counts());
                    for (CheckRun check : c.checks) {
                        if (check.status() == Status.PASS) continue;
                        System.out.println("      " + check.status() + "  " + check.name());
                        System.out.println(indent(check.message(), "            "));
                    }
                }
            });
        }

        for (var e : skeletons.entrySet()) {
            int n = e.getKey();
            String label = "steps/" + e.getValue().getFileName();
            String name = label + " fails only through its TODOs";
            if (!solutions.containsKey(n)) {
                verdict(name, null, String.format("no solution of step %02d to compare with", n));
                continue;
            }
            List<String> drift = differencesOutsideTodos(solutions.get(n), e.getValue());
            verdict(label + " differs from its solution only inside its TODOs", drift.isEmpty(),
                    drift.isEmpty() ? "every difference is a TODO comment block ending in throw Todo.missing(...)"
                            : String.join("\n", drift));
            Optional<Class<?>> c = checksOf(n);
            if (c.isEmpty()) {
                verdict(name, null, String.format("no checks for step %02d (tests/%s.java)", n, className(n)));
                continue;
            }
            Path script;
            try {
                script = assembleSkeleton(n, solutions, e.getValue());
            } catch (IOException x) {
                verdict(name, false, "could not assemble it with the earlier solutions: " + x);
                continue;
            }
            if (!compiles(label, script)) continue;
            // The skeleton's own failures are expected: their XML stays out of the reports.
            Run run = execute(script, n, List.of(c.get()), script.getParent().resolveSibling("reports"),
                    "skeleton/" + script.getFileName(), new Reporter() {});
            String prefix = String.format("TODO(%02d.", n);
            List<String> problems = new ArrayList<>();
            int failing = 0;
            List<String> todos = new ArrayList<>();
            for (ClassRun cr : run.classes) {
                for (CheckRun check : cr.checks) {
                    if (check.status() != Status.FAIL) continue;
                    failing++;
                    if (!check.message.contains(prefix)) {
                        problems.add("\"" + check.name + "\" fails, but not through a " + prefix + "M) TODO:\n"
                                + indent(check.message, "    "));
                    } else {
                        Matcher m = TODO.matcher(check.message);
                        while (m.find()) if (!todos.contains(m.group(1))) todos.add(m.group(1));
                    }
                }
            }
            if (failing == 0) problems.add("every check passes: the skeleton has nothing left for the learner to do");
            if (problems.isEmpty()) {
                verdict(name, true, String.format("fails %d of its checks, only through TODO(%s)", failing,
                        String.join("), TODO(", todos)));
            } else {
                verdict(name, false, "fails its checks otherwise than through its TODOs:\n" + String.join("\n", problems));
            }
        }
        writeVerdicts(reports, (System.nanoTime() - started) / 1e9);
        System.out.printf("(%.0f s; JUnit XML in %s)%n", (System.nanoTime() - started) / 1e9, reports);
        System.out.println(summary());
        return failed == 0 ? 0 : 1;
    }

    /**
     * Where a skeleton differs from its solution other than by a TODO: the lines of both are
     * aligned (longest common subsequence), changes closer than three lines are taken together,
     * and each change must add to the skeleton only comments and a {@code throw Todo.missing(...)}.
     * So the skeleton is the solution with the concept cut out, and nothing else drifts.
     */
    static List<String> differencesOutsideTodos(Path solution, Path skeleton) {
        List<String> a, b;
        try {
            a = Files.readAllLines(solution);
            b = Files.readAllLines(skeleton);
        } catch (IOException e) {
            return List.of("cannot read: " + e);
        }
        int[][] lcs = new int[a.size() + 1][b.size() + 1];
        for (int i = a.size() - 1; i >= 0; i--) {
            for (int j = b.size() - 1; j >= 0; j--) {
                lcs[i][j] = a.get(i).equals(b.get(j)) ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
            }
        }
        // Walk the alignment; collect the skeleton's added lines per change, merging near changes.
        List<String> problems = new ArrayList<>();
        List<String> added = new ArrayList<>();
        int i = 0, j = 0, equalRun = 0, changeAt = -1;
        while (i < a.size() || j < b.size()) {
            if (i < a.size() && j < b.size() && a.get(i).equals(b.get(j))) {
                i++;
                j++;
                if (changeAt >= 0 && ++equalRun > 2) {
                    checkChange(skeleton, changeAt, added, problems);
                    added.clear();
                    changeAt = -1;
                }
                continue;
            }
            if (changeAt < 0) changeAt = j + 1;
            equalRun = 0;
            if (j < b.size() && (i == a.size() || lcs[i][j + 1] >= lcs[i + 1][j])) {
                added.add(b.get(j++));
            } else {
                i++;
            }
        }
        if (changeAt >= 0) checkChange(skeleton, changeAt, added, problems);
        return problems;
    }

    private static void checkChange(Path skeleton, int line, List<String> added, List<String> problems) {
        boolean todo = added.stream().anyMatch(l -> l.contains("Todo.missing("));
        List<String> code = added.stream().filter(l -> !l.isBlank() && !l.trim().matches("(//|\\*|/\\*).*")
                && !l.contains("Todo.missing(")).toList();
        if (!todo || !code.isEmpty()) {
            problems.add(String.format("%s:%d: a change that is not a TODO block%s", skeleton.getFileName(), line,
                    code.isEmpty() ? " (no throw Todo.missing(...))" : ": " + code.get(0).trim()));
        }
    }

    /** Removes the report directories an earlier run left (a step may have gone since). */
    void clearReports(String... prefixes) {
        if (!Files.isDirectory(reports)) return;
        try (Stream<Path> s = Files.list(reports)) {
            for (Path d : s.toList()) {
                String name = d.getFileName().toString();
                if (Stream.of(prefixes).noneMatch(name::startsWith)) continue;
                if (!Files.isDirectory(d, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    Files.delete(d);
                    continue;
                }
                try (Stream<Path> files = Files.list(d)) {
                    for (Path f : files.toList()) Files.delete(f);
                }
                Files.delete(d);
            }
        } catch (IOException e) {
            System.err.println("checks: failed to clear old reports in " + reports + ": " + e);
        }
    }

    /**
     * An empty BASE/steps beside BASE/lib, a link to the repository's lib/: the steps' //SOURCES
     * name ../lib/..., so a copy of steps works only with lib/ beside it.
     */
    Path freshSteps(Path base) throws IOException {
        Path steps = base.resolve("steps");
        Files.createDirectories(steps);
        try (Stream<Path> old = Files.list(steps)) {
            for (Path p : old.toList()) Files.delete(p);
        }
        Path lib = base.resolve("lib");
        if (!Files.isSymbolicLink(lib)) Files.createSymbolicLink(lib, repo.resolve("lib"));
        return steps;
    }

    /** A skeleton with the steps before it taken from solutions/: build/integrity/NN/steps, beside a link to lib/. */
    Path assembleSkeleton(int n, Map<Integer, Path> solutions, Path skeleton) throws IOException {
        Path steps = freshSteps(repo.resolve("build").resolve("integrity").resolve(String.format("%02d", n)));
        for (var e : solutions.entrySet()) {
            if (e.getKey() < n) Files.copy(e.getValue(), steps.resolve(e.getValue().getFileName()));
        }
        Path target = steps.resolve(skeleton.getFileName());
        Files.copy(skeleton, target);
        return target;
    }

    // ------------------------------------------------------------------------------------------
    // check NN: a learner's step NN (and the steps before it) against the checks of steps 1..NN
    // ------------------------------------------------------------------------------------------

    int check(int n, Path dir) {
        Map<Integer, Path> files = stepFiles(dir);
        Path script = files.get(n);
        if (script == null) throw new UsageError(String.format("no step %02d (%02d_name.java) in %s", n, n, dir));
        for (int k = 1; k < n; k++) {
            if (!files.containsKey(k) && stepFiles(repo.resolve("solutions")).containsKey(k)) {
                throw new UsageError(String.format("step %02d needs step %02d too: no %02d_name.java in %s "
                        + "(./build.sh catch-up %02d copies the solution)", n, k, k, dir, k));
            }
        }
        String label = shown(script);
        // Step files reach lib/ as ../lib: a directory elsewhere gets a copy beside a link to it.
        if (!Files.isRegularFile(dir.resolveSibling("lib").resolve("Linux.java"))) {
            try {
                script = assembleCopy(n, files);
            } catch (IOException e) {
                throw new UsageError("failed to copy the steps of " + dir + ": " + e);
            }
        }
        System.out.printf("Checking %s with the checks of steps 01 to %02d%n", label, n);
        if (!compiles(label, script)) {
            System.out.println(summary());
            return 1;
        }
        List<Class<?>> classes = new ArrayList<>();
        for (int k = 1; k <= n; k++) {
            Optional<Class<?>> c = checksOf(k);
            if (c.isPresent()) {
                classes.add(c.get());
            } else {
                skipped++;
                System.out.printf("%nSKIP  step %02d has no checks yet (tests/%s.java)%n", k, className(k));
            }
        }
        String[] next = new String[2];   // what to do next, and its TODO id
        List<String> seenTodos = new ArrayList<>();
        execute(script, n, classes, reports, "check/" + script.getFileName(), new Reporter() {
            @Override public void classStarted(String name) {
                System.out.println();
                System.out.println(name);
            }

            @Override public void checkFinished(CheckRun check) {
                report(check, files, seenTodos, next);
            }
        });
        String firstTodo = next[0];
        System.out.println();
        if (failed > 0 && firstTodo != null) {
            System.out.println("Next: " + firstTodo.replace("\n        ", "\n      "));
        } else if (failed > 0) {
            System.out.println("Some checks fail. Each FAIL above shows the command it ran: run it yourself "
                    + "(add --trace after run to see every system call, --debug for a stack trace).");
        } else if (skipped > 0) {
            System.out.printf("Every check that ran passes (some were skipped).%n");
        } else {
            System.out.printf("Step %02d works. Well done.%n", n);
        }
        System.out.println(summary());
        return failed == 0 ? 0 : 1;
    }

    /** One check's line in the learner's report; a failure gets its reason and the TODO it points to. */
    void report(CheckRun check, Map<Integer, Path> files, List<String> seenTodos, String[] next) {
        switch (check.status()) {
            case PASS -> {
                passed++;
                System.out.println("  PASS  " + check.name());
                return;
            }
            case SKIP -> {
                skipped++;
                System.out.println("  SKIP  " + check.name() + ": " + check.message().lines().findFirst().orElse(""));
                return;
            }
            case FAIL -> failed++;
        }
        System.out.println("  FAIL  " + check.name());
        Matcher m = TODO.matcher(check.message());
        String todo = m.find() ? m.group(1) : null;
        if (todo != null && seenTodos.contains(todo)) {
            // The same unfinished TODO again: its details are above.
            System.out.println("        " + check.message().lines().findFirst().orElse("")
                    + ": TODO(" + todo + ") is not done (see above)");
            return;
        }
        System.out.println(indent(reason(check.message()), "        "));
        if (todo != null) {
            seenTodos.add(todo);
            String file = Optional.ofNullable(files.get(Integer.parseInt(todo.substring(0, 2))))
                    .map(p -> shown(p)).orElse("your step file");
            String todoLine = String.format("do TODO(%s) in %s: %s%n        (read %s, section \"%s\")",
                    todo, file, m.group(2), m.group(3), m.group(4));
            System.out.println("        -> " + todoLine);
            // The next thing to do is the earliest TODO that the checks ran into.
            if (next[0] == null || todoOrder(todo) < todoOrder(next[1])) {
                next[0] = todoLine;
                next[1] = todo;
            }
        }
    }

    /** A copy of steps 1..n of a directory that is not beside lib/: build/check/steps, with build/check/lib. */
    Path assembleCopy(int n, Map<Integer, Path> files) throws IOException {
        Path steps = freshSteps(repo.resolve("build").resolve("check"));
        for (var e : files.entrySet()) {
            if (e.getKey() <= n) Files.copy(e.getValue(), steps.resolve(e.getValue().getFileName()));
        }
        return steps.resolve(files.get(n).getFileName());
    }

    /** A short reason for a learner: the first line of the failure, the command, and the runtime's last words. */
    static String reason(String message) {
        List<String> lines = message.lines().toList();
        List<String> out = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i);
            if (i == 0 || l.startsWith("  $ ") || l.startsWith("  exit code:")) {
                out.add(l.strip());
            } else if (l.startsWith("  stderr:")) {
                List<String> err = new ArrayList<>();
                for (int j = i + 1; j < lines.size() && lines.get(j).startsWith("    | "); j++) err.add(lines.get(j).strip());
                if (err.size() > 6) err = err.subList(err.size() - 6, err.size());
                if (!err.isEmpty()) {
                    out.add("stderr:");
                    out.addAll(err);
                }
            }
        }
        return String.join("\n", out);
    }

    // ------------------------------------------------------------------------------------------
    // Running JUnit
    // ------------------------------------------------------------------------------------------

    enum Status { PASS, FAIL, SKIP }

    /** One check's outcome; SKIP for a disabled check or a failed assumption (e.g. no cgroup v2 here). */
    record CheckRun(String name, Status status, String message) {}

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

    /** Hears of classes and checks as they run, so that progress shows while the checks run. */
    interface Reporter {
        default void classStarted(String name) {}

        default void checkFinished(CheckRun check) {}

        default void classFinished(ClassRun c) {}
    }

    static final class Run {
        final List<ClassRun> classes = new ArrayList<>();
    }

    /**
     * Runs {@code classes} against {@code script}, each class with a fresh state root. The JUnit
     * XML goes to {@code reportDir/TEST-<suite, with - for />.xml}, its test suite named {@code suite}
     * (e.g. solutions/02_chroot.java), so that the reports of several scripts can sit side by side.
     */
    Run execute(Path script, int step, List<Class<?>> classes, Path reportDir, String suite, Reporter reporter) {
        Run run = new Run();
        if (classes.isEmpty()) return run;
        System.setProperty("jocker.script", script.toString());
        System.setProperty("jocker.step", Integer.toString(step));
        Path tmp;
        try {
            Files.createDirectories(reportDir);
            tmp = Files.createTempDirectory(reportDir, ".junit-");
        } catch (IOException e) {
            throw new UsageError("failed to make the report directory " + reportDir + ": " + e);
        }
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request()
                .selectors(classes.stream().map(DiscoverySelectors::selectClass).toList())
                .filters(EngineFilter.includeEngines("junit-jupiter"))
                // Checks run in the order of their @Order, then by name: a report reads top down.
                .configurationParameter("junit.jupiter.testmethod.order.default",
                        "org.junit.jupiter.api.MethodOrderer$OrderAnnotation")
                .build();
        Launcher launcher = LauncherFactory.create();
        PrintWriter xmlErrors = new PrintWriter(System.err, true);
        launcher.execute(request, new LegacyXmlReportGeneratingListener(tmp, xmlErrors), new Listener(run, reporter));
        try {
            Path xml = tmp.resolve("TEST-junit-jupiter.xml");
            if (Files.exists(xml)) {
                String text = Files.readString(xml).replaceFirst("<testsuite name=\"JUnit Jupiter\"",
                        Matcher.quoteReplacement("<testsuite name=\"" + xml(suite) + "\""));
                Files.writeString(reportDir.resolve("TEST-" + suite.replace('/', '-').replaceFirst("\\.java$", "") + ".xml"), text);
                Files.delete(xml);
            }
            Files.delete(tmp);
        } catch (IOException e) {
            System.err.println("checks: failed to write the JUnit XML of " + suite + " to " + reportDir + ": " + e);
        }
        return run;
    }

    /** Gives every check class its own state root, and records what each check did. */
    static final class Listener implements TestExecutionListener {
        private final Run run;
        private final Reporter reporter;
        private ClassRun current;
        private Path root;
        private long classStarted;

        Listener(Run run, Reporter reporter) {
            this.run = run;
            this.reporter = reporter;
        }

        private void add(CheckRun check) {
            current.checks.add(check);
            reporter.checkFinished(check);
        }

        @Override
        public void executionStarted(TestIdentifier id) {
            if (isClass(id)) {
                current = new ClassRun(id.getDisplayName());
                classStarted = System.nanoTime();
                try {
                    root = Jocker.newRoot();
                } catch (IOException e) {
                    throw new IllegalStateException("failed to make a state root: " + e, e);
                }
                System.setProperty("jocker.root", root.toString());
                reporter.classStarted(current.name);
            }
        }

        @Override
        public void executionSkipped(TestIdentifier id, String reason) {
            if (id.isTest() && current != null) add(new CheckRun(id.getDisplayName(), Status.SKIP, "skipped: " + reason));
        }

        @Override
        public void executionFinished(TestIdentifier id, TestExecutionResult result) {
            if (id.isTest() && current != null) {
                Status status = switch (result.getStatus()) {
                    case SUCCESSFUL -> Status.PASS;
                    case ABORTED -> Status.SKIP;   // an assumption did not hold
                    case FAILED -> Status.FAIL;
                };
                String message = result.getThrowable().map(Checks::describe).orElse("");
                add(new CheckRun(id.getDisplayName(), status, message));
            } else if (isClass(id) && current != null) {
                if (result.getStatus() != TestExecutionResult.Status.SUCCESSFUL) {
                    // @BeforeAll or @AfterAll failed: count it as a failing check of its own
                    add(new CheckRun("(setup of " + id.getDisplayName() + ")",
                            result.getStatus() == TestExecutionResult.Status.ABORTED ? Status.SKIP : Status.FAIL,
                            result.getThrowable().map(Checks::describe).orElse("failed")));
                }
                List<String> left = leftBehind(root);
                if (!left.isEmpty()) {
                    add(new CheckRun("nothing is left behind after the checks of " + id.getDisplayName(), Status.FAIL,
                            "left behind under $JOCKER_ROOT " + root + ":\n" + String.join("\n", left)));
                }
                current.nanos = System.nanoTime() - classStarted;
                run.classes.add(current);
                reporter.classFinished(current);
                current = null;
                System.clearProperty("jocker.root");
                Jocker.deleteRoot(root);
                Jocker.removeCgroupParent();
            }
        }

        /**
         * Container directories and mounts the runs left under a state root. Mounts are detached
         * (lazily), so that the root can be deleted; a container directory may be the leftover of
         * a run a check killed, which the next run would have swept.
         */
        private static List<String> leftBehind(Path root) {
            List<String> left = new ArrayList<>();
            Path containers = root.resolve("containers");
            if (Files.isDirectory(containers)) {
                try (Stream<Path> s = Files.list(containers)) {
                    s.forEach(d -> left.add("container directory " + d));
                } catch (IOException e) {
                    left.add("cannot list " + containers + ": " + e);
                }
            }
            List<String> mounts = new ArrayList<>();
            try {
                for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                    String[] f = line.split(" ");
                    if (f.length < 5) continue;
                    String point = unescape(f[4]);
                    if (point.equals(root.toString()) || point.startsWith(root + "/")) mounts.add(point);
                }
            } catch (IOException e) {
                // no mountinfo: nothing to detach
            }
            for (int i = mounts.size() - 1; i >= 0; i--) {
                left.add("mount " + mounts.get(i));
                try {
                    new ProcessBuilder("umount", "-l", mounts.get(i)).redirectErrorStream(true)
                            .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor();
                } catch (IOException | InterruptedException e) {
                    // reported above; deleteRoot will not cross it
                }
            }
            return left;
        }

        /** mountinfo escapes space, tab, newline and backslash as octal. */
        private static String unescape(String s) {
            Matcher m = Pattern.compile("\\\\([0-7]{3})").matcher(s);
            StringBuilder b = new StringBuilder();
            while (m.find()) m.appendReplacement(b, Matcher.quoteReplacement(String.valueOf((char) Integer.parseInt(m.group(1), 8))));
            m.appendTail(b);
            return b.toString();
        }

        private static boolean isClass(TestIdentifier id) {
            return id.isContainer() && id.getSource().filter(s -> s instanceof ClassSource).isPresent();
        }
    }

    /** An assertion's message; any other exception with its type and the top of its stack. */
    static String describe(Throwable t) {
        if (t instanceof AssertionError && t.getMessage() != null) return t.getMessage();
        StringBuilder s = new StringBuilder(t.toString());
        StackTraceElement[] trace = t.getStackTrace();
        for (int i = 0; i < Math.min(6, trace.length); i++) s.append("\n  at ").append(trace[i]);
        return s.toString();
    }

    // ------------------------------------------------------------------------------------------
    // Helpers
    // ------------------------------------------------------------------------------------------

    /** Compiles a script through JBang; on failure counts one failed check and prints why. */
    boolean compiles(String label, Path script) {
        Optional<String> error = Jocker.compile(script);
        if (error.isEmpty()) return true;
        verdict(label + " compiles", false, error.get());
        return false;
    }

    // ------------------------------------------------------------------------------------------
    // Verdicts of the harness itself (compiling, skeletons, missing checks), and their JUnit XML
    // ------------------------------------------------------------------------------------------

    /** A verdict: ok true (passed), false (failed) or null (skipped). */
    record Verdict(String name, Boolean ok, String message) {}

    final List<Verdict> verdicts = new ArrayList<>();

    void verdict(String name, Boolean ok, String message) {
        verdicts.add(new Verdict(name, ok, message));
        if (ok == null) {
            skipped++;
            System.out.printf("SKIP  %s: %s%n", name, message);
        } else if (ok) {
            passed++;
            System.out.printf("PASS  %s: %s%n", name, message);
        } else {
            failed++;
            System.out.printf("FAIL  %s%n%s%n", name, indent(message, "      "));
        }
    }

    /** TEST-integrity.xml, in the format of the JUnit XML the launcher writes for the checks. */
    void writeVerdicts(Path dir, double seconds) {
        StringBuilder x = new StringBuilder("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        long failures = verdicts.stream().filter(v -> Boolean.FALSE.equals(v.ok())).count();
        long skips = verdicts.stream().filter(v -> v.ok() == null).count();
        x.append(String.format("<testsuite name=\"integrity\" tests=\"%d\" failures=\"%d\" skipped=\"%d\" errors=\"0\" time=\"%.3f\">%n",
                verdicts.size(), failures, skips, seconds));
        for (Verdict v : verdicts) {
            x.append("  <testcase classname=\"integrity\" name=\"").append(xml(v.name())).append("\" time=\"0\">");
            if (v.ok() == null) {
                x.append("<skipped message=\"").append(xml(v.message())).append("\"/>");
            } else if (!v.ok()) {
                x.append("<failure message=\"").append(xml(v.message().lines().findFirst().orElse(""))).append("\">")
                        .append(xml(v.message())).append("</failure>");
            } else {
                x.append("<system-out>").append(xml(v.message())).append("</system-out>");
            }
            x.append("</testcase>\n");
        }
        x.append("</testsuite>\n");
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("TEST-integrity.xml"), x);
        } catch (IOException e) {
            System.err.println("checks: failed to write " + dir.resolve("TEST-integrity.xml") + ": " + e);
        }
    }

    static String xml(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) {
            switch (c) {
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '&' -> b.append("&amp;");
                case '"' -> b.append("&quot;");
                default -> {
                    if (c < 0x20 && c != '\n' && c != '\t') b.append("?"); else b.append(c);
                }
            }
        }
        return b.toString();
    }

    /** The step files NN_name.java of a directory, by step number. */
    static Map<Integer, Path> stepFiles(Path dir) {
        Map<Integer, Path> files = new LinkedHashMap<>();
        if (!Files.isDirectory(dir)) return files;
        try (Stream<Path> s = Files.list(dir)) {
            s.filter(p -> STEP_FILE.matcher(p.getFileName().toString()).matches())
                    .sorted(Comparator.comparing(p -> p.getFileName().toString()))
                    .forEach(p -> files.putIfAbsent(Integer.parseInt(p.getFileName().toString().substring(0, 2)), p));
        } catch (IOException e) {
            throw new UsageError("failed to list " + dir + ": " + e);
        }
        return files;
    }

    /** TODO ids in the order of the book: 01.2 before 01.10 before 02.1. */
    static int todoOrder(String id) {
        String[] p = id.split("\\.");
        return Integer.parseInt(p[0]) * 1000 + Integer.parseInt(p[1]);
    }

    static String className(int step) { return String.format("Step%02dChecks", step); }

    /** The checks of a step: the class StepNNChecks, compiled in through //SOURCES Step*Checks.java. */
    static Optional<Class<?>> checksOf(int step) {
        try {
            return Optional.of(Class.forName(className(step)));
        } catch (ClassNotFoundException e) {
            return Optional.empty();
        }
    }

    String shown(Path p) {
        return p.startsWith(repo) ? repo.relativize(p).toString() : p.toString();
    }

    String summary() {
        return passed + " passed, " + failed + " failed" + (skipped > 0 ? ", " + skipped + " skipped" : "");
    }

    static String indent(String text, String prefix) {
        return text.lines().map(l -> prefix + l).reduce((a, b) -> a + "\n" + b).orElse("");
    }
}
