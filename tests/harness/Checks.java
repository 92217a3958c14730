///usr/bin/env jbang "$0" "$@" ; exit $?
// The workbook's check harness: the unit tests of lib/, and the JUnit 5 checks of tests/steps/
// against step files.
//
//   jbang tests/harness/Checks.java test [--all] [--jobs N] --root REPO --reports DIR
//                                              what ./build.sh test runs
//   jbang tests/harness/Checks.java check NN [--dir DIR] [--jobs N] --root REPO --reports DIR
//                                              what ./build.sh check NN runs
//   jbang tests/harness/Checks.java grade DIR... [--learners N] [--jobs N] --root REPO --reports DIR
//                                              what ./build.sh grade DIR... runs (Grade.java)
//   jbang tests/harness/Checks.java grade-check --root REPO
//                                              the check of grade itself (also part of test)
//
// The checks of step N are the classes StepNN*Checks of tests/steps/ (found by their name: a step
// joins when its solution and such a class exist, no table to edit); the unit tests are the
// classes *Test of tests/unit/, in the packages of lib/ they test. Each (script, check class) pair
// is one JUnit launcher execution with its own state root and cgroup parent (tests/support/), so
// they run side by side on a few workers; a class marked @RunsAlone runs with nothing else.
//
//JAVA 17+
//JAVAC_OPTIONS -J-XX:TieredStopAtLevel=1 -J-XX:+UseSerialGC -J-XX:-UsePerfData
//DEPS org.junit.platform:junit-platform-console-standalone:1.11.4
//DEPS org.apache.commons:commons-compress:1.27.1
//SOURCES Runner.java Pool.java Integrity.java Grade.java
//SOURCES ../support/*.java
//SOURCES ../steps/*.java
//SOURCES ../unit/jocker/**/*.java
//SOURCES ../../lib/jocker/**/*.java

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URISyntaxException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.platform.commons.support.ReflectionSupport;

/** The check harness: unit tests, the checks of every solution and the integrity of the skeletons; a learner's check of one step. */
public class Checks {

    /** {@code TODO(02.2) is not done: what (see chapters/02-chroot.adoc, "TODO 02.2")}, as lib's Todo writes it. */
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
        System.out.flush();
        System.exit(code);
    }

    static final class UsageError extends RuntimeException {
        UsageError(String m) { super(m); }
    }

    static final String GRADE_CHECK = "build.sh grade: a good and a non-compiling copy of step 01 give their rows";
    static final String GRADE_CHECK_OK = "good passes every check of step 01, broken fails with javac's first error, in the table, CSV and XML";

    static final String USAGE = "usage: Checks.java test [--all] [--jobs N] --root REPO --reports DIR"
            + " | check NN [--dir DIR] [--jobs N] --root REPO --reports DIR"
            + " | grade DIR... [--learners N] [--jobs N] --root REPO --reports DIR";

    static int run(String[] args) {
        if (args.length == 0) throw new UsageError(USAGE);
        String command = args[0];
        Map<String, String> options = new LinkedHashMap<>();
        List<String> positional = new ArrayList<>();
        for (int i = 1; i < args.length; i++) {
            if (args[i].equals("--all")) {
                options.put("--all", "true");
            } else if (args[i].startsWith("--")) {
                if (i + 1 >= args.length) throw new UsageError("option " + args[i] + " needs a value");
                options.put(args[i], args[++i]);
            } else {
                positional.add(args[i]);
            }
        }
        for (String o : options.keySet()) {
            if (!List.of("--all", "--jobs", "--root", "--reports", "--dir", "--learners").contains(o)) throw new UsageError("unknown option " + o + "\n" + USAGE);
        }
        Path repo = Path.of(options.getOrDefault("--root", ".")).toAbsolutePath().normalize();
        Path reports = Path.of(options.getOrDefault("--reports", repo.resolve("build/test-results").toString()))
                .toAbsolutePath().normalize();
        if (!Files.isDirectory(repo.resolve("solutions")) || !Files.isDirectory(repo.resolve("lib"))) {
            throw new UsageError("not the workbook's root (no solutions/ and lib/): " + repo);
        }
        int jobs = defaultJobs();
        if (options.containsKey("--jobs")) {
            try {
                jobs = Integer.parseInt(options.get("--jobs"));
            } catch (NumberFormatException e) {
                jobs = 0;
            }
            if (jobs < 1 || jobs > 32) throw new UsageError("--jobs takes a number of workers from 1 to 32, not " + options.get("--jobs"));
        }
        requireRoot();
        if (!Files.isRegularFile(repo.resolve("build/images/busybox.tar"))) {
            throw new UsageError("no build/images/busybox.tar: run ./build.sh setup first");
        }
        Checks checks = new Checks(repo, reports, jobs);
        try (FileLock lock = checks.lock()) {
            return switch (command) {
                case "test" -> {
                    if (!positional.isEmpty()) throw new UsageError("unexpected arguments: " + positional);
                    if (options.containsKey("--dir")) throw new UsageError("--dir is for check NN");
                    yield checks.test(options.containsKey("--all"));
                }
                case "check" -> {
                    if (positional.size() != 1 || !positional.get(0).matches("\\d\\d?")) throw new UsageError(USAGE);
                    if (options.containsKey("--all")) throw new UsageError("--all is for test");
                    Path dir = Path.of(options.getOrDefault("--dir", repo.resolve("steps").toString())).toAbsolutePath().normalize();
                    yield checks.check(Integer.parseInt(positional.get(0)), dir);
                }
                case "grade" -> {
                    if (positional.isEmpty()) throw new UsageError("grade needs at least one directory\n" + USAGE);
                    if (options.containsKey("--all") || options.containsKey("--dir")) throw new UsageError(USAGE);
                    int learners = 2;
                    try {
                        learners = Integer.parseInt(options.getOrDefault("--learners", "2"));
                    } catch (NumberFormatException e) {
                        learners = 0;
                    }
                    if (learners < 1 || learners > 16) throw new UsageError("--learners takes a number from 1 to 16, not " + options.get("--learners"));
                    yield new Grade(checks, reports, learners).grade(positional.stream().map(Path::of).toList());
                }
                case "grade-check" -> {
                    List<String> wrong = Grade.selfCheck(checks);
                    checks.verdict(GRADE_CHECK, wrong.isEmpty(), wrong.isEmpty() ? GRADE_CHECK_OK : String.join("\n", wrong));
                    yield wrong.isEmpty() ? 0 : 1;
                }
                default -> throw new UsageError("unknown command \"" + command + "\": use test, check or grade");
            };
        } catch (IOException e) {
            throw new UsageError("failed to lock " + checks.lockFile() + ": " + e);
        }
    }

    /**
     * Workers: one per core, at least 2, at most 3. Each run starts two JVMs (the runtime and its
     * init), so more workers than cores only lengthen every run (and bring the runs that wait for
     * "ready" closer to their deadline) without finishing sooner: on 2 cores, 2 and 3 workers both
     * took 204 s here.
     */
    static int defaultJobs() {
        return Math.max(2, Math.min(3, Runtime.getRuntime().availableProcessors()));
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
    final int jobs;
    /** The configuration parameters every launcher execution gets (plus jocker.script and jocker.step). */
    final Map<String, String> parameters;
    int passed;
    int failed;
    int skipped;

    Checks(Path repo, Path reports, int jobs) {
        this.repo = repo;
        this.reports = reports;
        this.jobs = jobs;
        this.parameters = Map.of("jocker.repo", repo.toString(),
                "jocker.image", repo.resolve("build/images/busybox.tar").toString());
    }

    Path lockFile() { return repo.resolve("build/.checks.lock"); }

    /** One harness at a time per checkout: they share build/ (assembled steps, reports). */
    FileLock lock() throws IOException {
        Files.createDirectories(lockFile().getParent());
        FileChannel channel = FileChannel.open(lockFile(), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock = channel.tryLock();
        if (lock == null) {
            System.out.println("Waiting for the other check run in this checkout to finish (" + shown(lockFile()) + ") ...");
            lock = channel.lock();
        }
        return lock;
    }

    // ------------------------------------------------------------------------------------------
    // Compiling, once per script
    // ------------------------------------------------------------------------------------------

    private final Map<Path, Optional<JBang.CompileError>> compiled = new ConcurrentHashMap<>();
    private final AtomicLong compileNanos = new AtomicLong();

    /** Builds a script once (JBang's cache makes a second build cheap); the first caller gets to report a failure. */
    Optional<JBang.CompileError> compile(Path script, String label) {
        boolean[] first = {false};
        Optional<JBang.CompileError> error = compiled.computeIfAbsent(script, s -> {
            first[0] = true;
            long t = System.nanoTime();
            Optional<JBang.CompileError> e = JBang.compile(s);
            compileNanos.addAndGet(System.nanoTime() - t);
            return e;
        });
        if (first[0] && error.isPresent()) {
            verdict(label + " compiles", false, compilerSays(error.get(), Map.of()));
        }
        return error;
    }

    /** The compiler's first error (with the file named as the learner knows it), and how many there are. */
    String compilerSays(JBang.CompileError e, Map<Path, Path> shownAs) {
        String first = e.firstError();
        Optional<Path> file = e.fileInError();
        if (file.isPresent() && shownAs.containsKey(file.get())) {
            first = first.replace(file.get().toString(), shown(shownAs.get(file.get())));
        } else if (file.isPresent()) {
            first = first.replace(file.get().toString(), shown(file.get()));
        }
        String count = e.output.lines().filter(l -> l.matches("\\d+ errors?")).findFirst().orElse("");
        return first + (count.isEmpty() || count.equals("1 error") ? "" : "\n(" + count + " in all; the first is shown)");
    }

    // ------------------------------------------------------------------------------------------
    // test: unit tests; every solution against its checks (tiered); every skeleton fails only
    // through its TODOs
    // ------------------------------------------------------------------------------------------

    /** What a job is for: a solution's checks, or a skeleton's (its failures are expected). */
    enum Kind { SOLUTION, SKELETON }

    /** A job of the test command, and what came of it. */
    final class TestJob implements Pool.Task {
        final Runner.Job job;
        final Kind kind;
        final String label;
        final int skeleton;   // the step of the skeleton, for SKELETON jobs
        volatile Runner.ClassRun result;
        volatile boolean compiledOk;

        TestJob(Runner.Job job, Kind kind, String label, int skeleton) {
            this.job = job;
            this.kind = kind;
            this.label = label;
            this.skeleton = skeleton;
        }

        @Override public boolean alone() { return job.runsAlone(); }

        @Override public double estimate() { return estimateOf(job); }

        @Override public void run() {
            if (compile(job.script(), label).isPresent()) return;
            compiledOk = true;
            long t = System.nanoTime();
            // The skeleton's own failures are expected: their XML stays out of the reports.
            Path xml = kind == Kind.SOLUTION ? reports : job.script().getParent().resolveSibling("reports");
            result = Runner.run(job, parameters, xml);
            measured.put(job.key(), (System.nanoTime() - t) / 1e9);
            jobNanos.get(kind).addAndGet(System.nanoTime() - t);
            classFinished(this);
        }
    }

    final Map<Kind, AtomicLong> jobNanos = Map.of(Kind.SOLUTION, new AtomicLong(), Kind.SKELETON, new AtomicLong());

    int test(boolean all) {
        long started = System.nanoTime();
        Map<Integer, Path> solutions = stepFiles(repo.resolve("solutions"));
        Map<Integer, Path> skeletons = stepFiles(repo.resolve("steps"));
        if (solutions.isEmpty()) throw new UsageError("no solutions/NN_name.java found in " + repo);
        int last = solutions.keySet().stream().max(Integer::compare).orElseThrow();
        System.out.printf("Checking %d solution(s) and %d skeleton(s) in %s, %d at a time%n", solutions.size(),
                skeletons.size(), repo, jobs);
        System.out.println(all ? "Every solution runs every check of its step and the steps before it (--all)."
                : String.format("Solutions 01-%02d run their own step's checks and the essential ones of the steps before;"
                        + " %02d runs them all (--all: every solution runs them all).", last - 1, last));
        clearReports();
        loadTimings();

        long unitStarted = System.nanoTime();
        runUnitTests();
        long unitNanos = System.nanoTime() - unitStarted;

        List<TestJob> tasks = new ArrayList<>();
        for (var e : solutions.entrySet()) {
            int n = e.getKey();
            String label = "solutions/" + e.getValue().getFileName();
            for (int k = 1; k <= n; k++) {
                List<Class<?>> classes = checksOf(k);
                if (classes.isEmpty()) {
                    verdict(label + " against the checks of step " + String.format("%02d", k), null,
                            String.format("no checks for step %02d (tests/steps/Step%02dChecks.java)", k, k));
                }
                boolean essentialOnly = !all && k < n && n != last;
                for (Class<?> c : classes) {
                    Runner.Job job = new Runner.Job(label, e.getValue(), n, c, essentialOnly);
                    if (!job.selected().isEmpty()) tasks.add(new TestJob(job, Kind.SOLUTION, label, 0));
                }
            }
        }
        List<Integer> judged = new ArrayList<>();
        for (var e : skeletons.entrySet()) {
            int n = e.getKey();
            String label = "steps/" + e.getValue().getFileName();
            if (!solutions.containsKey(n) || checksOf(n).isEmpty()) continue;   // said in its verdict below
            Path script;
            try {
                script = assembleSkeleton(n, solutions, e.getValue());
            } catch (IOException x) {
                verdict(label + " fails only through its TODOs", false, "could not assemble it with the earlier solutions: " + x);
                continue;
            }
            judged.add(n);
            for (Class<?> c : checksOf(n)) {
                tasks.add(new TestJob(new Runner.Job("skeleton/" + script.getFileName(), script, n, c, false),
                        Kind.SKELETON, label, n));
            }
        }
        // build.sh grade, on a good and a broken copy of step 01, beside the other jobs.
        List<Pool.Task> withGrade = new ArrayList<>(tasks);
        withGrade.add(new Pool.Task() {
            @Override public boolean alone() { return false; }

            @Override public double estimate() { return 30; }

            @Override public void run() {
                List<String> wrong = Grade.selfCheck(Checks.this);
                verdict(GRADE_CHECK, wrong.isEmpty(), wrong.isEmpty() ? GRADE_CHECK_OK : String.join("\n", wrong));
            }
        });
        Pool.Times times = Pool.runAll(withGrade, jobs);

        for (var e : skeletons.entrySet()) {
            judgeSkeleton(e.getKey(), e.getValue(), solutions, judged.contains(e.getKey()),
                    tasks.stream().filter(t -> t.kind == Kind.SKELETON && t.skeleton == e.getKey()).toList());
        }
        long total = System.nanoTime() - started;
        writeVerdicts(reports, total / 1e9);
        saveTimings();
        System.out.println();
        System.out.printf("Time: %s, %d at a time: unit tests %s; checks that run alone %s; the others %s"
                        + " (job time: solutions %s, skeletons %s; compiling %s)%n",
                Runner.seconds(total), jobs, Runner.seconds(unitNanos), Runner.seconds(times.aloneNanos()),
                Runner.seconds(times.sharedNanos()), Runner.seconds(jobNanos.get(Kind.SOLUTION).get()),
                Runner.seconds(jobNanos.get(Kind.SKELETON).get()), Runner.seconds(compileNanos.get()));
        System.out.println("JUnit XML in " + reports);
        System.out.println(summary());
        return failed == 0 ? 0 : 1;
    }

    /** The unit tests of lib/ (tests/unit/), in this JVM: no root, milliseconds. */
    void runUnitTests() {
        List<Runner.ClassRun> runs = Runner.runUnitTests(reports);
        if (runs.isEmpty()) {
            System.out.println("SKIP  unit tests: no class *Test in tests/unit/");
            return;
        }
        for (Runner.ClassRun c : runs) {
            count(c);
            printClass(c, "unit tests", c.name);
        }
    }

    /** A solution's class line (and its failures); a skeleton's class line (judged at the end). */
    synchronized void classFinished(TestJob t) {
        Runner.ClassRun c = t.result;
        String name = c.name + (t.job.essentialOnly() ? " (essential)" : "");
        if (t.kind == Kind.SOLUTION) {
            count(c);
            printClass(c, t.label, name);
        } else {
            System.out.printf("ran   %-30s %-34s %s: judged at the end%n", t.label, name, c.counts());
        }
    }

    private synchronized void count(Runner.ClassRun c) {
        passed += c.count(Runner.Status.PASS);
        failed += c.count(Runner.Status.FAIL);
        skipped += c.count(Runner.Status.SKIP);
    }

    private synchronized void printClass(Runner.ClassRun c, String label, String name) {
        System.out.printf("%s  %-30s %-34s %s%n", c.count(Runner.Status.FAIL) == 0 ? "PASS" : "FAIL", label, name, c.counts());
        for (Runner.CheckRun check : c.checks) {
            if (check.status() == Runner.Status.PASS) continue;
            System.out.println("      " + check.status() + "  " + check.name());
            System.out.println(indent(check.message(), "            "));
        }
    }

    /** A skeleton's two verdicts: it differs from its solution only in TODO blocks; its checks fail only through TODOs. */
    void judgeSkeleton(int n, Path skeleton, Map<Integer, Path> solutions, boolean ran, List<TestJob> jobs) {
        String label = "steps/" + skeleton.getFileName();
        String name = label + " fails only through its TODOs";
        if (!solutions.containsKey(n)) {
            verdict(name, null, String.format("no solution of step %02d to compare with", n));
            return;
        }
        List<String> drift = Integrity.differencesOutsideTodos(solutions.get(n), skeleton);
        verdict(label + " differs from its solution only inside its TODOs", drift.isEmpty(),
                drift.isEmpty() ? "every difference is a TODO comment block ending in throw Todo.missing(...)"
                        : String.join("\n", drift));
        if (checksOf(n).isEmpty()) {
            verdict(name, null, String.format("no checks for step %02d (tests/steps/Step%02dChecks.java)", n, n));
            return;
        }
        if (!ran || jobs.stream().anyMatch(j -> !j.compiledOk || j.result == null)) return;   // said already
        String prefix = String.format("TODO(%02d.", n);
        List<String> problems = new ArrayList<>();
        int failing = 0;
        List<String> todos = new ArrayList<>();
        for (TestJob j : jobs) {
            for (Runner.CheckRun check : j.result.checks) {
                if (check.status() != Runner.Status.FAIL) continue;
                failing++;
                if (!check.message().contains(prefix)) {
                    problems.add("\"" + check.name() + "\" fails, but not through a " + prefix + "M) TODO:\n"
                            + indent(check.message(), "    "));
                } else {
                    Matcher m = TODO.matcher(check.message());
                    while (m.find()) if (!todos.contains(m.group(1))) todos.add(m.group(1));
                }
            }
        }
        if (failing == 0) problems.add("every check passes: the skeleton has nothing left for the learner to do");
        if (problems.isEmpty()) {
            todos.sort(Comparator.comparingInt(Checks::todoOrder));
            verdict(name, true, String.format("fails %d of its checks, only through TODO(%s)", failing,
                    String.join("), TODO(", todos)));
        } else {
            verdict(name, false, "fails its checks otherwise than through its TODOs:\n" + String.join("\n", problems));
        }
    }

    /** Removes the JUnit XML an earlier run left (a step or a tier may have gone since). */
    void clearReports() {
        if (!Files.isDirectory(reports)) return;
        try (Stream<Path> s = Files.list(reports)) {
            for (Path f : s.toList()) {
                String name = f.getFileName().toString();
                if (name.startsWith("TEST-") && name.endsWith(".xml") && Files.isRegularFile(f)) Files.delete(f);
            }
        } catch (IOException e) {
            System.err.println("checks: failed to clear old reports in " + reports + ": " + e);
        }
    }

    /**
     * A fresh steps directory under {@code base}, beside a link {@code lib} to the workbook's lib/,
     * so that the step files' {@code //SOURCES ../lib/...} resolve.
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
    // check NN: a learner's step NN on the reference steps before it, then on their own
    // ------------------------------------------------------------------------------------------

    /** One phase of a learner's check: step NN on some steps before it. */
    final class Phase {
        final String label;         // step 03 on the reference steps 01-02
        final Path script;          // the assembled (or the learner's own) step file
        final Map<Path, Path> shownAs = new LinkedHashMap<>();   // assembled file -> the learner's file
        String skipped;             // why the phase does not run
        String compileFailure;      // the compiler's first error, as the report shows it
        int passed, failed, skippedChecks;
        final AtomicLong jobNanos = new AtomicLong();   // the time its check classes took, summed

        Phase(String label, Path script) {
            this.label = label;
            this.script = script;
        }

        String line() {
            if (skipped != null) return label + ": skipped, " + skipped;
            return label + ": " + passed + " passed, " + failed + " failed" + (skippedChecks > 0 ? ", " + skippedChecks + " skipped" : "");
        }
    }

    int check(int n, Path dir) {
        Map<Integer, Path> files = stepFiles(dir);
        Path mine = files.get(n);
        if (mine == null) throw new UsageError(String.format("no step %02d (%02d_name.java) in %s", n, n, dir));
        Map<Integer, Path> solutions = stepFiles(repo.resolve("solutions"));
        List<Integer> before = solutions.keySet().stream().filter(k -> k < n).sorted().toList();
        String range = before.isEmpty() ? "" : before.size() == 1 ? String.format("step %02d", before.get(0))
                : String.format("steps %02d-%02d", before.get(0), before.get(before.size() - 1));

        // Phase 1: the learner's step on the reference solutions of the steps before it.
        Phase reference;
        try {
            Path steps = freshSteps(repo.resolve("build/check/reference"));
            for (int k : before) Files.copy(solutions.get(k), steps.resolve(solutions.get(k).getFileName()));
            Path script = steps.resolve(mine.getFileName());
            Files.copy(mine, script);
            reference = new Phase(before.isEmpty() ? String.format("step %02d", n)
                    : String.format("step %02d on the reference %s", n, range), script);
            reference.shownAs.put(script, mine);
        } catch (IOException e) {
            throw new UsageError("failed to assemble your step with the reference steps under build/check: " + e);
        }
        List<Phase> phases = new ArrayList<>(List.of(reference));

        // Phase 2: the learner's own chain, unless it is the reference one.
        if (!before.isEmpty()) {
            String label = String.format("step %02d on your %s", n, range);
            List<Integer> missing = before.stream().filter(k -> !files.containsKey(k)).toList();
            Phase yours;
            if (!missing.isEmpty()) {
                yours = new Phase(label, mine);
                yours.skipped = String.format("%s has no %s (./build.sh catch-up %02d copies the solution)", shown(dir),
                        missing.stream().map(k -> String.format("%02d_name.java", k)).collect(Collectors.joining(", ")),
                        missing.get(0));
            } else if (before.stream().allMatch(k -> sameBytes(files.get(k), solutions.get(k)))) {
                yours = new Phase(label, mine);
                yours.skipped = "your " + range + " are the reference solutions";
            } else if (firstUnfinished(before, files).isPresent()) {
                // Its runs would stop at that TODO: say so once instead of failing every check on it.
                Map.Entry<Integer, String> todo = firstUnfinished(before, files).orElseThrow();
                yours = new Phase(label, mine);
                yours.skipped = String.format("your %s still has TODO(%s) to do (finish it, or ./build.sh catch-up %02d"
                        + " copies the solution of every step still unfinished)", shown(files.get(todo.getKey())),
                        todo.getValue(), n - 1);
            } else if (Files.isRegularFile(dir.resolveSibling("lib").resolve("jocker/kernel/Linux.java"))) {
                yours = new Phase(label, mine);   // beside a lib/: run in place, JBang's cache is the learner's own
            } else {
                // Step files reach lib/ as ../lib: a directory elsewhere gets a copy beside a link to it.
                try {
                    Path steps = freshSteps(repo.resolve("build/check/yours"));
                    yours = new Phase(label, steps.resolve(mine.getFileName()));
                    for (var e : files.entrySet()) {
                        if (e.getKey() > n) continue;
                        Path copy = steps.resolve(e.getValue().getFileName());
                        Files.copy(e.getValue(), copy);
                        yours.shownAs.put(copy, e.getValue());
                    }
                } catch (IOException e) {
                    throw new UsageError("failed to copy the steps of " + dir + " under build/check: " + e);
                }
            }
            phases.add(yours);
        }

        if (before.isEmpty()) {
            System.out.printf("Checking %s with the checks of step %02d%n", shown(mine), n);
        } else {
            System.out.printf("Checking %s with the checks of step %02d and the essential checks of %s:%n"
                    + "first on the reference %s (solutions/), then on yours%n", shown(mine), n, range, range);
        }

        String[] next = new String[2];   // what to do next, and its TODO id
        // Compile first: a step that does not compile fails as that step, with the compiler's first error.
        List<Runner.Job> jobs = new ArrayList<>();
        List<Integer> jobPhase = new ArrayList<>();
        boolean mineDoesNotCompile = false;
        for (int p = 0; p < phases.size(); p++) {
            Phase phase = phases.get(p);
            if (phase.skipped != null) continue;
            if (p > 0 && mineDoesNotCompile) {
                phase.skipped = String.format("your step %02d does not compile (see above)", n);
                continue;
            }
            Optional<JBang.CompileError> error = compileQuietly(phase.script);
            if (error.isPresent()) {
                Path inError = error.get().fileInError().orElse(phase.script);
                Path learners = phase.shownAs.getOrDefault(inError, inError);
                String which = stepFileOf(learners).map(k -> String.format("your step %02d (%s)", k, shown(learners)))
                        .orElse(shown(learners));
                phase.compileFailure = "  FAIL  " + which + " compiles\n" + indent(compilerSays(error.get(), phase.shownAs), "        ");
                if (next[0] == null) next[0] = "make " + which + " compile: " + compilerSays(error.get(), phase.shownAs).lines().findFirst().orElse("");
                phase.failed++;
                failed++;
                if (learners.equals(mine)) mineDoesNotCompile = true;
                continue;
            }
            for (int k = 1; k <= n; k++) {
                for (Class<?> c : checksOf(k)) {
                    Runner.Job job = new Runner.Job("check/" + (p == 0 ? "reference/" : "yours/") + mine.getFileName(),
                            phase.script, n, c, k < n);
                    if (job.selected().isEmpty()) continue;
                    jobs.add(job);
                    jobPhase.add(p);
                }
            }
        }
        if (checksOf(n).isEmpty()) {
            System.out.printf("%nSKIP  step %02d has no checks yet (tests/steps/Step%02dChecks.java)%n", n, n);
            skipped++;
        }

        // Run: every (phase, class) job on the pool; print class blocks in phase and step order.
        List<String> seenTodos = new ArrayList<>();
        Pool.InOrder<Runnable> printer = new Pool.InOrder<>(jobs.size() + phases.size(), Runnable::run);
        List<Pool.Task> tasks = new ArrayList<>();
        int slot = 0;
        for (int p = 0; p < phases.size(); p++) {
            Phase phase = phases.get(p);
            boolean several = phases.size() > 1;
            printer.done(slot++, () -> {
                if (phase.skipped != null) return;
                if (several) {
                    System.out.println();
                    System.out.println("== " + phase.label);
                }
                if (phase.compileFailure != null) {
                    System.out.println();
                    System.out.println(phase.compileFailure);
                }
            });
            for (int j = 0; j < jobs.size(); j++) {
                if (jobPhase.get(j) != p) continue;
                Runner.Job job = jobs.get(j);
                int mySlot = slot++;
                tasks.add(new Pool.Task() {
                    @Override public boolean alone() { return job.runsAlone(); }

                    @Override public double estimate() { return estimateOf(job); }

                    @Override public void run() {
                        Runner.ClassRun c;
                        try {
                            long t = System.nanoTime();
                            c = Runner.run(job, parameters, reports);
                            phase.jobNanos.addAndGet(System.nanoTime() - t);
                        } catch (RuntimeException e) {
                            c = new Runner.ClassRun(job.checks().getSimpleName());
                            c.checks.add(new Runner.CheckRun("(" + job.checks().getSimpleName() + ")", Runner.Status.FAIL, Runner.describe(e)));
                        }
                        Runner.ClassRun run = c;
                        printer.done(mySlot, () -> {
                            System.out.println();
                            System.out.println(run.name + (job.essentialOnly() ? " (its essential checks)" : ""));
                            for (Runner.CheckRun check : run.checks) report(check, phase, files, seenTodos, next);
                        });
                    }
                });
            }
        }
        loadTimings();
        long started = System.nanoTime();
        Pool.runAll(tasks, jobs.isEmpty() ? 1 : this.jobs);
        saveTimings();

        System.out.println();
        for (Phase phase : phases) System.out.println(phase.line());
        Phase yours = phases.size() > 1 ? phases.get(1) : null;
        if (yours != null && yours.skipped == null && reference.failed == 0 && yours.failed > 0) {
            String dirOption = dir.equals(repo.resolve("steps")) ? "" : " --dir " + shown(dir);
            int last = before.get(before.size() - 1);
            System.out.printf("Your step %02d works on the reference %s but not on yours: what fails comes from your %s."
                    + " ./build.sh check %02d%s tells you what (or ./build.sh catch-up %02d takes the solution).%n",
                    n, range, range, last, dirOption, last);
        }
        String firstTodo = next[0];
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
        String perPhase = phases.stream().filter(p -> p.skipped == null && p.jobNanos.get() > 0)
                .map(p -> (p == reference ? "on the reference steps " : "on yours ") + Runner.seconds(p.jobNanos.get()))
                .collect(Collectors.joining(", "));
        System.out.printf("(%s, %d at a time%s; JUnit XML in %s)%n", Runner.seconds(System.nanoTime() - started), this.jobs,
                perPhase.isEmpty() || before.isEmpty() ? "" : "; check classes " + perPhase, shown(reports));
        System.out.println(summary());
        return failed == 0 ? 0 : 1;
    }

    static final Pattern TODO_LEFT = Pattern.compile("Todo\\.missing\\(\\s*\"(\\d\\d\\.\\d+)\"");

    /** The first TODO a step file still throws at ({@code Todo.missing("02.1", ...)}), as catch-up judges a step unfinished. */
    static Optional<String> unfinishedTodo(Path stepFile) {
        try {
            Matcher m = TODO_LEFT.matcher(Files.readString(stepFile));
            return m.find() ? Optional.of(m.group(1)) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** The first of {@code steps} whose file still has a TODO, with that TODO: a run of the chain stops there. */
    static Optional<Map.Entry<Integer, String>> firstUnfinished(List<Integer> steps, Map<Integer, Path> files) {
        for (int k : steps) {
            Optional<String> todo = unfinishedTodo(files.get(k));
            if (todo.isPresent()) return Optional.of(Map.entry(k, todo.get()));
        }
        return Optional.empty();
    }

    /** Compiles without a verdict line of its own: the learner's report says it in its words. */
    Optional<JBang.CompileError> compileQuietly(Path script) {
        return compiled.computeIfAbsent(script, JBang::compile);
    }

    /** The step number of a step file's name, if it is one. */
    static Optional<Integer> stepFileOf(Path file) {
        Matcher m = STEP_FILE.matcher(file.getFileName().toString());
        return m.matches() ? Optional.of(Integer.parseInt(m.group(1))) : Optional.empty();
    }

    static boolean sameBytes(Path a, Path b) {
        try {
            return Files.mismatch(a, b) == -1;
        } catch (IOException e) {
            return false;
        }
    }

    /** One check's line in the learner's report; a failure gets its reason and the TODO it points to. */
    void report(Runner.CheckRun check, Phase phase, Map<Integer, Path> files, List<String> seenTodos, String[] next) {
        switch (check.status()) {
            case PASS -> {
                passed++;
                phase.passed++;
                System.out.println("  PASS  " + check.name());
                return;
            }
            case SKIP -> {
                skipped++;
                phase.skippedChecks++;
                System.out.println("  SKIP  " + check.name() + ": " + check.message().lines().findFirst().orElse(""));
                return;
            }
            case FAIL -> {
                failed++;
                phase.failed++;
            }
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
                    .map(this::shown).orElse("your step file");
            String todoLine = String.format("do TODO(%s) in %s: %s%n        (read %s, section \"%s\")",
                    todo, file, m.group(2), m.group(3), m.group(4));
            System.out.println("        -> " + todoLine);
            // The next thing to do is the earliest TODO that the checks ran into.
            if (next[0] == null || (next[1] != null && todoOrder(todo) < todoOrder(next[1]))) {
                next[0] = todoLine;
                next[1] = todo;
            }
        }
    }

    /**
     * A learner's reason: the whole message (what was expected, any list it gives, the hint that
     * names the TODO), and of each run in it the command, the exit code and the runtime's last six
     * lines of stderr; a run's stdout is left to the JUnit XML, which keeps everything.
     */
    static String reason(String message) {
        List<String> lines = message.lines().toList();
        List<String> out = new ArrayList<>();
        int kept = 0;
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i);
            if (l.startsWith("  stdout:")) {
                while (i + 1 < lines.size() && lines.get(i + 1).startsWith("    | ")) i++;
            } else if (l.startsWith("  stderr:")) {
                List<String> err = new ArrayList<>();
                while (i + 1 < lines.size() && lines.get(i + 1).startsWith("    | ")) err.add(lines.get(++i).strip());
                if (err.size() > 6) err = err.subList(err.size() - 6, err.size());
                if (!err.isEmpty()) {
                    out.add("stderr:");
                    out.addAll(err);
                }
            } else if (kept++ < 40) {
                out.add(l.startsWith("  ") ? l.substring(2) : l);
            } else if (kept == 42) {
                out.add("... (more in the JUnit XML)");
            }
        }
        return String.join("\n", out);
    }

    // ------------------------------------------------------------------------------------------
    // How long jobs take: measured, kept in build/check-timings.properties for the next ordering
    // ------------------------------------------------------------------------------------------

    final Map<String, Double> measured = new ConcurrentHashMap<>();
    private final Properties timings = new Properties();

    Path timingsFile() { return repo.resolve("build/check-timings.properties"); }

    void loadTimings() {
        try (InputStream in = Files.newInputStream(timingsFile())) {
            timings.load(in);
        } catch (IOException e) {
            // first run: guesses
        }
    }

    void saveTimings() {
        measured.forEach((k, v) -> timings.setProperty(k, String.format("%.1f", v)));
        try (OutputStream out = Files.newOutputStream(timingsFile())) {
            timings.store(out, "seconds per (script, check class, tier), for ordering the longest first");
        } catch (IOException e) {
            // next time: guesses
        }
    }

    double estimateOf(Runner.Job job) {
        return estimateOf(job.key(), job);
    }

    /** A job's measured time under {@code key}, else a guess. */
    double estimateOf(String key, Runner.Job job) {
        try {
            return Double.parseDouble(timings.getProperty(key));
        } catch (NullPointerException | NumberFormatException e) {
            return job.guessSeconds();
        }
    }

    // ------------------------------------------------------------------------------------------
    // Verdicts of the harness itself (compiling, skeletons, missing checks), and their JUnit XML
    // ------------------------------------------------------------------------------------------

    /** A verdict: ok true (passed), false (failed) or null (skipped). */
    record Verdict(String name, Boolean ok, String message) {}

    final List<Verdict> verdicts = new ArrayList<>();

    synchronized void verdict(String name, Boolean ok, String message) {
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

    // ------------------------------------------------------------------------------------------
    // Helpers
    // ------------------------------------------------------------------------------------------

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

    private static volatile Map<Integer, List<Class<?>>> checkClasses;

    /**
     * The check classes of a step: StepNN*Checks (StepNNChecks first, then by name), found among
     * the classes compiled into this script from tests/steps/.
     */
    static List<Class<?>> checksOf(int step) {
        if (checkClasses == null) {
            Map<Integer, List<Class<?>>> found = new LinkedHashMap<>();
            try {
                var root = Checks.class.getProtectionDomain().getCodeSource().getLocation().toURI();
                for (Class<?> c : ReflectionSupport.findAllClassesInClasspathRoot(root,
                        c -> c.getPackageName().isEmpty() && Jocker.CHECK_CLASS.matcher(c.getSimpleName()).matches(), n -> true)) {
                    Matcher m = Jocker.CHECK_CLASS.matcher(c.getSimpleName());
                    if (m.matches()) found.computeIfAbsent(Integer.parseInt(m.group(1)), k -> new ArrayList<>()).add(c);
                }
            } catch (URISyntaxException | RuntimeException e) {
                throw new UsageError("cannot find the check classes: " + e);
            }
            for (List<Class<?>> l : found.values()) {
                l.sort(Comparator.comparing((Class<?> c) -> !c.getSimpleName().matches("Step\\d\\dChecks"))
                        .thenComparing(Class::getSimpleName));
            }
            checkClasses = found;
        }
        return checkClasses.getOrDefault(step, List.of());
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
