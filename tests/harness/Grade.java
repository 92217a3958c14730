import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import jocker.kernel.Trees;

/**
 * {@code grade DIR...}: every learner's steps judged as {@code check NN} judges one step, for every
 * step whose file exists, with a table of the results.
 *
 * <p>Step NN is judged by the checks of step NN and the essential checks of the steps before it,
 * first on the reference solutions of the steps before it, then on the learner's own chain (as
 * {@code check NN}). To be quick, a learner's longest chain (01..L: every file there, none with a
 * TODO left) runs first with every check of steps 01..L; a step whose checks (and the essential
 * ones of the steps before it) all pass there is given those results, and only the other steps are
 * judged in the two phases of {@code check NN}.
 *
 * <p>A check class runs once per grading for the same inputs (the step files its script reaches,
 * byte for byte: {@link #inputs}): a phase whose script is the learner's chain takes the chain's
 * runs, and learners with the same files (the untouched skeleton of a step, a solution taken with
 * catch-up) share runs, each with its own paths in the messages.
 *
 * <p>Each check class runs with its own state root, cgroup parent and network (tests/support/), so
 * learners run side by side: two at a time, their check classes on the same {@link Workers}, the
 * earlier learner's first; a class marked {@link RunsAlone} runs with nothing else. A learner's
 * files are copied under build/grades/work/NAME beside a link to the workbook's lib/; the learner's
 * own lib/ is not used.
 */
final class Grade {

    /** The method timeout of a check in grading (the checks' own {@code @Timeout}s still hold). */
    static final String CHECK_TIMEOUT = "90 s";

    final Checks checks;
    final Path out;
    final int learnersAtOnce;
    final Workers workers;
    final Map<Integer, Path> solutions;
    final int lastStep;
    /**
     * Every class run of this grading by what decides its outcome (see {@link #inputs}): a job whose
     * inputs another job of any learner already has takes that job's run instead of running again.
     */
    final Map<String, Shared> runs = new ConcurrentHashMap<>();

    Grade(Checks checks, Path out, int learnersAtOnce) {
        this.checks = checks;
        this.out = out;
        this.learnersAtOnce = learnersAtOnce;
        this.workers = new Workers(checks.jobs);
        this.solutions = Checks.stepFiles(checks.repo.resolve("solutions"));
        this.lastStep = solutions.keySet().stream().max(Integer::compare).orElse(0);
    }

    // ------------------------------------------------------------------------------------------
    // What a learner is, and what came of their steps
    // ------------------------------------------------------------------------------------------

    /** A learner: a name (from their directory), their step files by number. */
    record Learner(String name, Path dir, Map<Integer, Path> files) {}

    /** One phase of one step: its counts, or the compiler's first error, or why it did not run. */
    static final class Phase {
        final String label;
        final List<Runner.ClassRun> runs = new ArrayList<>();
        int passed, failed, skipped;
        String compileError;
        String notRun;

        Phase(String label) { this.label = label; }

        int total() { return passed + failed; }

        String cell() { return passed + "/" + total(); }
    }

    /** A step's grade: judged on the learner's longest chain (chain), or in the two phases of check NN. */
    static final class StepGrade {
        final int step;
        String judged;          // "chain" or "check"
        Phase reference;        // on the reference steps (or the chain, when judged there)
        Phase own;              // on the learner's own chain; null when judged on the chain

        StepGrade(int step) { this.step = step; }

        /** Its table cell: passed/total on the reference steps, and the own chain's when it counts differently. */
        String cell() {
            String c = reference.cell();
            if (own != null && own.notRun == null && (own.passed != reference.passed || own.failed != reference.failed)) {
                c += " own " + own.cell();
            }
            return c;
        }
    }

    /** A learner's row. */
    static final class Row {
        final Learner learner;
        final int order;   // its place among the arguments: the workers take the jobs of earlier learners first
        final Map<Integer, StepGrade> steps = new LinkedHashMap<>();
        long nanos;
        String error;   // the grader could not grade this learner (never the learner's fault)

        Row(Learner learner, int order) {
            this.learner = learner;
            this.order = order;
        }
    }

    // ------------------------------------------------------------------------------------------
    // grade DIR...
    // ------------------------------------------------------------------------------------------

    /** The learners of the arguments: DIR/steps when it exists, else DIR; named after DIR, made unique. */
    static List<Learner> learners(List<Path> dirs) {
        List<Learner> learners = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (Path d : dirs) {
            Path dir = d.toAbsolutePath().normalize();
            if (!Files.isDirectory(dir)) throw new Checks.UsageError("no directory " + d);
            Path steps = Files.isDirectory(dir.resolve("steps")) ? dir.resolve("steps") : dir;
            Path named = dir.getFileName() != null && dir.getFileName().toString().equals("steps") && dir.getParent() != null
                    ? dir.getParent() : dir;
            String base = named.getFileName() == null ? "root" : named.getFileName().toString().replaceAll("[^A-Za-z0-9_.-]+", "-");
            String name = base;
            for (int i = 2; !names.add(name); i++) name = base + "-" + i;
            Map<Integer, Path> files = Checks.stepFiles(steps);
            if (files.isEmpty()) throw new Checks.UsageError("no step file (NN_name.java) in " + steps);
            learners.add(new Learner(name, steps, files));
        }
        return learners;
    }

    int grade(List<Path> dirs) {
        long started = System.nanoTime();
        List<Row> rows = rows(dirs, true);
        long total = System.nanoTime() - started;
        String table = table(rows);
        System.out.println();
        System.out.print(table);
        writeCsv(rows);
        System.out.printf("%nTime: %s for %d learner(s), %d at a time. CSV: %s; JUnit XML per learner: %s/NAME.xml%n",
                Runner.seconds(total), rows.size(), Math.min(learnersAtOnce, rows.size()),
                checks.shown(out.resolve("grades.csv")), checks.shown(out));
        return rows.stream().anyMatch(r -> r.error != null) ? 125 : 0;
    }

    /** Grades the learners of dirs, writing each one's JUnit XML; verbose: a line as each is done. */
    List<Row> rows(List<Path> dirs, boolean verbose) {
        try {
            return gradeAll(dirs, verbose);
        } finally {
            workers.close();
        }
    }

    private List<Row> gradeAll(List<Path> dirs, boolean verbose) {
        List<Learner> learners = learners(dirs);
        try {
            Files.createDirectories(out);
            try (Stream<Path> old = Files.list(out)) {
                for (Path f : old.toList()) {
                    String n = f.getFileName().toString();
                    if (n.endsWith(".xml") || n.equals("grades.csv")) Files.delete(f);
                }
            }
        } catch (IOException e) {
            throw new Checks.UsageError("failed to prepare " + out + ": " + e);
        }
        if (verbose) {
            System.out.printf("Grading %d learner(s), %d at a time, their check classes %d at a time (steps %s)%n",
                    learners.size(), Math.min(learnersAtOnce, learners.size()), checks.jobs,
                    solutions.keySet().stream().map(k -> String.format("%02d", k)).collect(Collectors.joining(" ")));
        }
        checks.loadTimings();
        List<Row> rows = new ArrayList<>();
        for (Learner l : learners) rows.add(new Row(l, rows.size()));
        ExecutorService drivers = Executors.newFixedThreadPool(Math.max(1, Math.min(learnersAtOnce, rows.size())));
        List<Future<?>> futures = new ArrayList<>();
        for (Row row : rows) {
            futures.add(drivers.submit(() -> {
                long t = System.nanoTime();
                try {
                    gradeOne(row);
                } catch (RuntimeException | Error e) {
                    row.error = Runner.describe(e);
                }
                row.nanos = System.nanoTime() - t;
                writeXml(row);
                if (verbose) synchronized (System.out) {
                    System.out.printf("graded %-20s %s%s%n", row.learner.name(), Runner.seconds(row.nanos),
                            row.error == null ? "" : " (the grader failed: " + row.error.lines().findFirst().orElse("") + ")");
                }
            }));
        }
        drivers.shutdown();
        for (Future<?> f : futures) {
            try {
                f.get();
            } catch (Exception e) {
                // the driver reports into its row
            }
        }
        if (verbose) checks.saveTimings();
        return rows;
    }

    // ------------------------------------------------------------------------------------------
    // The check of grade itself (in ./build.sh test): a good and a broken copy of step 01
    // ------------------------------------------------------------------------------------------

    /**
     * Grades two copies of step 01, the solution and the solution with a line that does not
     * compile, and checks the table, the CSV and the XML: the good one passes every check of
     * step 01 on its chain, the broken one fails as one check with javac's first error. What is
     * wrong, one line each (empty: grade works).
     */
    static List<String> selfCheck(Checks checks) {
        List<String> wrong = new ArrayList<>();
        Path base = checks.repo.resolve("build/grade-check");
        Path solution = Checks.stepFiles(checks.repo.resolve("solutions")).get(1);
        if (solution == null) return List.of("no solutions/01_*.java to grade");
        Path good = base.resolve("learners/good"), broken = base.resolve("learners/broken");
        try {
            Trees.delete(base);
            Files.createDirectories(good);
            Files.createDirectories(broken);
            Files.copy(solution, good.resolve(solution.getFileName()));
            String text = Files.readString(solution);
            // javac's first error lands on this line: a missing expression after '='.
            Files.writeString(broken.resolve(solution.getFileName()), text + "\nclass GradeCheckBroken { int x = ; }\n");
        } catch (Exception e) {
            return List.of("failed to make the learners under " + base + ": " + e);
        }
        Grade g = new Grade(checks, base.resolve("grades"), 2);
        List<Row> rows;
        try {
            Files.createDirectories(g.out);
            rows = g.rows(List.of(good, broken), false);
        } catch (Exception e) {
            return List.of("grade failed: " + Runner.describe(e));
        }
        String table = g.table(rows);
        g.writeCsv(rows);
        int checksOf01 = Checks.checksOf(1).stream().mapToInt(c -> new Runner.Job("", solution, 1, c, false).selected().size()).sum();
        String csv;
        String goodXml, brokenXml;
        try {
            csv = Files.readString(g.out.resolve("grades.csv"));
            goodXml = Files.readString(g.out.resolve("good.xml"));
            brokenXml = Files.readString(g.out.resolve("broken.xml"));
        } catch (IOException e) {
            return List.of("a file grade should have written is missing: " + e);
        }
        String goodCell = checksOf01 + "/" + checksOf01;
        if (!table.lines().anyMatch(l -> l.matches("good\\s+" + goodCell + "\\s+-.*"))) {
            wrong.add("the table has no row \"good  " + goodCell + "  - ...\":\n" + table);
        }
        if (!table.lines().anyMatch(l -> l.matches("broken\\s+0/1\\s+-.*"))) {
            wrong.add("the table has no row \"broken  0/1  - ...\":\n" + table);
        }
        if (!table.contains("broken, step 01: step 01 (" + solution.getFileName() + ") does not compile: ")
                || !table.contains("error: illegal start of expression")) {
            wrong.add("the table does not give broken's compiler error (illegal start of expression):\n" + table);
        }
        List<String> lines = csv.lines().toList();
        if (lines.size() != 3 || !lines.get(1).startsWith("good," + good + "," + checksOf01 + "," + checksOf01 + ",chain,")
                || !lines.get(2).startsWith("broken," + broken + ",0,1,check,") || !lines.get(2).contains("illegal start of expression")) {
            wrong.add("the CSV is not a header, good " + goodCell + " on its chain, broken 0/1 with javac's error:\n" + csv);
        }
        if (!goodXml.contains("tests=\"" + checksOf01 + "\" failures=\"0\"") || goodXml.contains("<failure")) {
            wrong.add("good.xml does not pass " + checksOf01 + " checks:\n" + goodXml);
        }
        if (!brokenXml.contains("<failure message=\"") || !brokenXml.contains("compiles")) {
            wrong.add("broken.xml has no failing check \"... compiles\":\n" + brokenXml);
        }
        if (wrong.isEmpty()) {
            try {
                Trees.delete(base);
            } catch (Exception e) {
                // build/ is the harness's
            }
        }
        return wrong;
    }

    /** The steps of a learner, judged. */
    void gradeOne(Row row) throws RuntimeException {
        Learner l = row.learner;
        Path work = out.resolve("work").resolve(l.name());
        Path own;
        try {
            Trees.delete(work);
            own = stepsDir(work.resolve("own"));
            for (Path f : l.files().values()) Files.copy(f, own.resolve(f.getFileName()));
        } catch (Exception e) {
            throw new IllegalStateException("failed to copy " + l.dir() + " under " + work + ": " + e, e);
        }
        Map<Integer, Path> ownFiles = Checks.stepFiles(own);
        Map<Path, Path> shownAs = new LinkedHashMap<>();
        ownFiles.forEach((k, f) -> shownAs.put(f, l.files().get(k)));
        List<Integer> graded = ownFiles.keySet().stream().filter(solutions::containsKey).sorted().toList();

        // 1. The longest chain 01..L with every check of steps 01..L. It stops before the first
        //    step that still has a TODO: every run through that step would stop there (check NN
        //    does not run a chain through it either), so steps from there on are judged in check
        //    NN's two phases all the same, and the steps before it would only fail with it.
        int chain = 0;
        while (ownFiles.containsKey(chain + 1) && solutions.containsKey(chain + 1)) chain++;
        Optional<Map.Entry<Integer, String>> todo = Checks.firstUnfinished(
                IntStream.rangeClosed(1, chain).boxed().toList(), ownFiles);
        if (todo.isPresent()) chain = todo.get().getKey() - 1;
        Map<Integer, List<Runner.ClassRun>> onChain = new LinkedHashMap<>();
        boolean chainCompiles = false;
        if (chain > 0) {
            Path script = ownFiles.get(chain);
            chainCompiles = compile(script).isEmpty();
            if (chainCompiles) {
                List<Job> jobs = new ArrayList<>();
                for (int k = 1; k <= chain; k++) {
                    for (Class<?> c : Checks.checksOf(k)) {
                        jobs.add(new Job(new Runner.Job(l.name() + "/chain-" + script.getFileName(), script, chain, c, false), k));
                    }
                }
                runAll(jobs, row.order);
                for (Job j : jobs) onChain.computeIfAbsent(j.checksStep, k -> new ArrayList<>()).add(j.result);
                againOnOwnFiles(row, ownFiles, onChain, chain);
            }
        }

        // 2. A step whose checks all passed on the chain takes those; the others, check NN's two phases.
        List<Job> jobs = new ArrayList<>();
        Map<Job, Phase> phaseOf = new LinkedHashMap<>();
        for (int n : graded) {
            StepGrade g = new StepGrade(n);
            row.steps.put(n, g);
            if (chainCompiles && n <= chain) {
                Phase p = onTheChain(n, onChain, chain);
                if (p.failed == 0) {
                    g.judged = "chain";
                    g.reference = p;
                    continue;
                }
            }
            g.judged = "check";
            List<Integer> before = solutions.keySet().stream().filter(k -> k < n).sorted().toList();
            String range = before.isEmpty() ? "" : before.size() == 1 ? String.format("step %02d", before.get(0))
                    : String.format("steps %02d-%02d", before.get(0), before.get(before.size() - 1));
            g.reference = new Phase(before.isEmpty() ? String.format("step %02d", n)
                    : String.format("step %02d on the reference %s", n, range));
            Path refScript;
            try {
                Path steps = stepsDir(work.resolve(String.format("reference-%02d", n)));
                for (int k : before) Files.copy(solutions.get(k), steps.resolve(solutions.get(k).getFileName()));
                refScript = steps.resolve(ownFiles.get(n).getFileName());
                Files.copy(ownFiles.get(n), refScript);
            } catch (IOException e) {
                throw new IllegalStateException("failed to assemble step " + n + " with the reference steps: " + e, e);
            }
            Map<Path, Path> refShown = Map.of(refScript, l.files().get(n));
            boolean mineCompiles = compiles(refScript, g.reference, refShown);
            if (mineCompiles) addJobs(jobs, phaseOf, g.reference, l.name() + "/reference-" + refScript.getFileName(), refScript, n);
            if (before.isEmpty()) continue;
            g.own = new Phase(String.format("step %02d on the learner's %s", n, range));
            List<Integer> missing = before.stream().filter(k -> !ownFiles.containsKey(k)).toList();
            if (!missing.isEmpty()) {
                g.own.notRun = "no " + missing.stream().map(k -> String.format("%02d", k)).collect(Collectors.joining(", "));
            } else if (before.stream().allMatch(k -> Checks.sameBytes(ownFiles.get(k), solutions.get(k)))) {
                g.own.notRun = "the earlier steps are the reference solutions";
            } else if (Checks.firstUnfinished(before, ownFiles).isPresent()) {
                // as check NN: a run of the learner's chain would stop at that TODO
                Map.Entry<Integer, String> t = Checks.firstUnfinished(before, ownFiles).orElseThrow();
                g.own.notRun = String.format("step %02d still has TODO(%s)", t.getKey(), t.getValue());
            } else if (!mineCompiles) {
                g.own.notRun = String.format("step %02d does not compile", n);
            } else if (compiles(ownFiles.get(n), g.own, shownAs)) {
                addJobs(jobs, phaseOf, g.own, l.name() + "/own-" + ownFiles.get(n).getFileName(), ownFiles.get(n), n);
            }
        }
        runAll(jobs, row.order);
        for (Job j : jobs) add(phaseOf.get(j), j.result, j.job.essentialOnly() ? essentials(j.job.checks()) : null);
    }

    /**
     * A check of step n that an assumption skipped on the chain (of a later step L) may not be
     * skipped on step n's own file, where {@code check NN} runs it: the containers of step 02 have
     * no /proc, those of step 01 the host's. Such a class runs again on the learner's steps 01..n,
     * and that run is step n's. (A check a condition turned off, as JOCKER_VM=never does the VM's,
     * stays off everywhere.)
     */
    void againOnOwnFiles(Row row, Map<Integer, Path> ownFiles, Map<Integer, List<Runner.ClassRun>> onChain, int chain) {
        List<Job> again = new ArrayList<>();
        for (int n = 1; n < chain; n++) {
            List<Runner.ClassRun> runs = onChain.getOrDefault(n, List.of());
            List<Class<?>> classes = Checks.checksOf(n);
            for (int i = 0; i < runs.size(); i++) {
                boolean assumed = runs.get(i).checks.stream().anyMatch(c -> c.status() == Runner.Status.SKIP && !c.disabled());
                if (!assumed || compile(ownFiles.get(n)).isPresent()) continue;
                again.add(new Job(new Runner.Job(row.learner.name() + "/own-" + ownFiles.get(n).getFileName(), ownFiles.get(n), n,
                        classes.get(i), false), n));
            }
        }
        if (again.isEmpty()) return;
        runAll(again, row.order);
        for (Job j : again) onChain.get(j.checksStep).set(Checks.checksOf(j.checksStep).indexOf(j.job.checks()), j.result);
    }

    private final Set<String> compiled = ConcurrentHashMap.newKeySet();

    /**
     * Builds a step file, quietly; once for all scripts with the same {@link #inputs}: a build
     * that worked works again (asking JBang costs a JVM even when its cache has the jar).
     */
    Optional<JBang.CompileError> compile(Path script) {
        Optional<Integer> step = Checks.stepFileOf(script);
        String inputs = step.map(n -> inputs(script, n)).orElse(null);
        if (inputs != null && compiled.contains(inputs)) return Optional.empty();
        Optional<JBang.CompileError> e = checks.compileQuietly(script);
        if (e.isEmpty() && inputs != null) compiled.add(inputs);
        return e;
    }

    /** Whether a class run has a failing verdict on the whole class: its set-up, or what its checks left behind. */
    static boolean classFailed(Runner.ClassRun run) {
        return run.checks.stream().anyMatch(c -> c.method().isEmpty() && c.status() == Runner.Status.FAIL);
    }

    /** Step n's checks and the essential checks of the steps before it, from the runs on the chain. */
    Phase onTheChain(int n, Map<Integer, List<Runner.ClassRun>> onChain, int chain) {
        Phase p = new Phase(String.format("step %02d on the learner's steps 01-%02d", n, chain));
        for (int k = 1; k <= n; k++) {
            List<Runner.ClassRun> runs = onChain.getOrDefault(k, List.of());
            List<Class<?>> classes = Checks.checksOf(k);
            for (int i = 0; i < runs.size(); i++) add(p, runs.get(i), k < n ? essentials(classes.get(i)) : null);
        }
        return p;
    }

    /** Adds a class's checks to a phase: all of them, or (essential not null) those methods and any verdict on the whole class. */
    static void add(Phase p, Runner.ClassRun run, Set<String> essential) {
        if (run == null) return;
        Runner.ClassRun counted = new Runner.ClassRun(run.name);
        counted.nanos = run.nanos;
        for (Runner.CheckRun c : run.checks) {
            if (essential != null && !c.method().isEmpty() && !essential.contains(c.method())) continue;
            counted.checks.add(c);
            switch (c.status()) {
                case PASS -> p.passed++;
                case FAIL -> p.failed++;
                case SKIP -> p.skipped++;
            }
        }
        p.runs.add(counted);
    }

    private final Map<Class<?>, Set<String>> essentialMethods = new ConcurrentHashMap<>();

    Set<String> essentials(Class<?> c) {
        return essentialMethods.computeIfAbsent(c, k -> new Runner.Job("", Path.of("."), 0, k, true).selected().stream()
                .map(Method::getName).collect(Collectors.toSet()));
    }

    /** Compiles a phase's script; a failure is the phase's one failed check, with the compiler's first error. */
    boolean compiles(Path script, Phase phase, Map<Path, Path> shownAs) {
        Optional<JBang.CompileError> e = compile(script);
        if (e.isEmpty()) return true;
        Path inError = e.get().fileInError().orElse(script);
        Path learners = shownAs.getOrDefault(inError, inError);
        String which = Checks.stepFileOf(learners).map(k -> String.format("step %02d (%s)", k, learners.getFileName()))
                .orElse(learners.getFileName().toString());
        String says = checks.compilerSays(e.get(), shownAs);
        phase.compileError = which + " does not compile: " + says;
        phase.failed++;
        Runner.ClassRun c = new Runner.ClassRun("compiling");
        c.checks.add(new Runner.CheckRun(which + " compiles", Runner.Status.FAIL, says));
        phase.runs.add(c);
        return false;
    }

    /** The jobs of check NN's phase: step n's classes in full, the earlier steps' essential checks. */
    void addJobs(List<Job> jobs, Map<Job, Phase> phaseOf, Phase phase, String suite, Path script, int n) {
        for (int k = 1; k <= n; k++) {
            for (Class<?> c : Checks.checksOf(k)) {
                Runner.Job job = new Runner.Job(suite, script, n, c, k < n);
                if (job.selected().isEmpty()) continue;
                Job j = new Job(job, k);
                jobs.add(j);
                phaseOf.put(j, phase);
            }
        }
    }

    /** A check class against a script, and its result. */
    static final class Job {
        final Runner.Job job;
        final int checksStep;
        volatile Runner.ClassRun result;

        Job(Runner.Job job, int checksStep) {
            this.job = job;
            this.checksStep = checksStep;
        }
    }

    /** A class run that jobs with the same inputs share, and the directory of the script it ran. */
    record Shared(CompletableFuture<Runner.ClassRun> run, Path dir) {}

    /**
     * Runs jobs on the workers (the longest first, the jobs of earlier learners before those of
     * later ones); returns when all are done. A job whose inputs a job of this grading already had
     * (see {@link #inputs}) takes that job's run, with the paths in its messages made this job's.
     */
    void runAll(List<Job> jobs, int order) {
        Map<String, String> parameters = new LinkedHashMap<>(checks.parameters);
        parameters.put("junit.jupiter.execution.timeout.testable.method.default", CHECK_TIMEOUT);
        Map<Job, Shared> started = new LinkedHashMap<>();
        for (Job j : jobs) {
            String of = inputs(j.job.script(), j.job.step()) + "|" + j.job.checks().getName() + "|";
            Shared all = j.job.essentialOnly() ? runs.get(of + "all") : null;
            if (all != null && all.run().isDone() && !classFailed(all.run().join())) {
                // Every check of the class ran on these inputs (the learner's chain): its essential
                // checks are among them. Not when the class as a whole failed: what its other checks
                // did (left behind) may be what failed it.
                started.put(j, all);
                continue;
            }
            started.put(j, runs.computeIfAbsent(of + j.job.tier(), k -> {
                CompletableFuture<Runner.ClassRun> run = new CompletableFuture<>();
                workers.submit(new Workers.Task(j.job.runsAlone(), order, checks.estimateOf(gradeKey(j.job), j.job), () -> {
                    long t = System.nanoTime();
                    Runner.ClassRun result;
                    try {
                        result = Runner.run(j.job, parameters, null);
                    } catch (RuntimeException | Error e) {
                        result = new Runner.ClassRun(j.job.checks().getSimpleName());
                        result.checks.add(new Runner.CheckRun("(" + j.job.checks().getSimpleName() + ")", Runner.Status.FAIL, Runner.describe(e)));
                    }
                    checks.measured.put(gradeKey(j.job), (System.nanoTime() - t) / 1e9);
                    run.complete(result);
                }));
                return new Shared(run, j.job.script().getParent());
            }));
        }
        started.forEach((j, shared) -> {
            Runner.ClassRun result;
            try {
                result = shared.run().get();
            } catch (Exception e) {
                result = new Runner.ClassRun(j.job.checks().getSimpleName());
                result.checks.add(new Runner.CheckRun("(" + j.job.checks().getSimpleName() + ")", Runner.Status.FAIL, Runner.describe(e)));
            }
            Path dir = j.job.script().getParent();
            j.result = shared.dir().equals(dir) ? result : relabel(result, shared.dir(), dir);
        });
    }

    /**
     * What decides the outcome of a check class on a script: the step it is run as, the script's
     * name, and the names and bytes of the step files of its directory up to that step (the chain
     * its //SOURCES reach; the workbook's lib/, image and checks are the same for every job). Two
     * jobs with the same inputs run the same code against the same checks.
     */
    String inputs(Path script, int step) {
        return inputsOf.computeIfAbsent(script.toAbsolutePath().normalize() + "|" + step, k -> {
            try {
                MessageDigest sha = MessageDigest.getInstance("SHA-256");
                sha.update((step + "|" + script.getFileName() + "|").getBytes(StandardCharsets.UTF_8));
                for (Map.Entry<Integer, Path> f : Checks.stepFiles(script.getParent()).entrySet()) {
                    if (f.getKey() > step) continue;
                    sha.update((f.getValue().getFileName() + "|" + Files.size(f.getValue()) + "|").getBytes(StandardCharsets.UTF_8));
                    sha.update(Files.readAllBytes(f.getValue()));
                }
                return HexFormat.of().formatHex(sha.digest());
            } catch (IOException | NoSuchAlgorithmException e) {
                return "unique " + k + " " + System.nanoTime();   // cannot tell: runs on its own
            }
        });
    }

    private final Map<String, String> inputsOf = new ConcurrentHashMap<>();

    /** A run of a script in {@code from}, as if of the same script in {@code to}: the paths its messages name. */
    Runner.ClassRun relabel(Runner.ClassRun run, Path from, Path to) {
        List<String[]> swaps = List.of(new String[] {from.toString(), to.toString()},
                new String[] {checks.shown(from), checks.shown(to)});
        UnaryOperator<String> swap = text -> {
            String t = text;
            // through placeholders, so that one replacement does not rewrite another's result
            for (int i = 0; i < swaps.size(); i++) t = t.replace(swaps.get(i)[0], "\u0000" + i + "\u0000");
            for (int i = 0; i < swaps.size(); i++) t = t.replace("\u0000" + i + "\u0000", swaps.get(i)[1]);
            return t;
        };
        Runner.ClassRun copy = new Runner.ClassRun(run.name);
        copy.nanos = run.nanos;
        for (Runner.CheckRun c : run.checks) {
            copy.checks.add(new Runner.CheckRun(swap.apply(c.name()), c.status(), swap.apply(c.message()), c.method(), c.disabled()));
        }
        return copy;
    }

    /** A job's timing key without the learner's name, so that the next grading orders by it. */
    static String gradeKey(Runner.Job job) {
        return "grade/" + job.suite().replaceFirst("^[^/]*/", "") + "|"
                + job.checks().getName() + "|" + job.tier();
    }

    /** A fresh steps directory under base, beside a link lib to the workbook's lib/. */
    Path stepsDir(Path base) throws IOException {
        return checks.freshSteps(base);
    }

    // ------------------------------------------------------------------------------------------
    // The workers
    // ------------------------------------------------------------------------------------------

    /**
     * The workers every learner's check classes run on. A job that runs alone ({@link RunsAlone})
     * goes first: while one waits, no other job starts, and it starts when none runs. The others go
     * by learner (the jobs of an earlier learner first, so that rows are done in order and a later
     * learner's jobs fill the gaps of an earlier one's), then the longest first.
     */
    static final class Workers {
        /** A job for the workers. */
        record Task(boolean alone, int order, double estimate, Runnable body) {}

        private static final Comparator<Task> FIRST = Comparator.comparing((Task t) -> !t.alone())
                .thenComparingInt(Task::order).thenComparing(Comparator.comparingDouble(Task::estimate).reversed());

        private final PriorityQueue<Task> pending = new PriorityQueue<>(FIRST);
        private final List<Thread> threads = new ArrayList<>();
        private int running;
        private boolean aloneRunning;
        private boolean closed;

        Workers(int n) {
            for (int i = 1; i <= n; i++) {
                Thread t = new Thread(this::work, "grade-" + i);
                t.setDaemon(true);
                threads.add(t);
                t.start();
            }
        }

        synchronized void submit(Task t) {
            pending.add(t);
            notifyAll();
        }

        /** Ends the workers once nothing is pending. */
        synchronized void close() {
            closed = true;
            notifyAll();
        }

        private void work() {
            while (true) {
                Task t;
                synchronized (this) {
                    while (true) {
                        Task head = pending.peek();
                        if (head != null && !aloneRunning && (!head.alone() || running == 0)) break;
                        if (head == null && closed) return;
                        try {
                            wait();
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                    t = pending.poll();
                    running++;
                    aloneRunning = t.alone();
                }
                try {
                    t.body().run();
                } catch (RuntimeException | Error e) {
                    System.err.println("checks: a grading job failed unexpectedly: " + Runner.describe(e));
                } finally {
                    synchronized (this) {
                        running--;
                        if (t.alone()) aloneRunning = false;
                        notifyAll();
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------------------------------------
    // The table, the CSV, the JUnit XML
    // ------------------------------------------------------------------------------------------

    String table(List<Row> rows) {
        List<Integer> steps = solutions.keySet().stream().sorted().toList();
        int nameWidth = Math.max(7, rows.stream().mapToInt(r -> r.learner.name().length()).max().orElse(7));
        Map<Integer, Integer> width = new LinkedHashMap<>();
        for (int s : steps) {
            width.put(s, Math.max(5, rows.stream().mapToInt(r -> Optional.ofNullable(r.steps.get(s)).map(StepGrade::cell).orElse("-").length())
                    .max().orElse(5)));
        }
        StringBuilder t = new StringBuilder();
        t.append(String.format("%-" + nameWidth + "s", "learner"));
        for (int s : steps) t.append("  ").append(String.format("%-" + width.get(s) + "s", String.format("%02d", s)));
        t.append("  time\n");
        List<String> notes = new ArrayList<>();
        for (Row r : rows) {
            t.append(String.format("%-" + nameWidth + "s", r.learner.name()));
            for (int s : steps) {
                StepGrade g = r.steps.get(s);
                t.append("  ").append(String.format("%-" + width.get(s) + "s", g == null ? "-" : g.cell()));
                if (g == null) continue;
                for (Phase p : g.own == null ? List.of(g.reference) : List.of(g.reference, g.own)) {
                    if (p.compileError != null) notes.add(r.learner.name() + ", " + p.label + ": " + p.compileError.lines().findFirst().orElse(""));
                }
            }
            t.append("  ").append(Runner.seconds(r.nanos)).append('\n');
            if (r.error != null) notes.add(r.learner.name() + ": the grader failed: " + r.error.lines().findFirst().orElse(""));
        }
        t.append("\nA cell is passed/total checks of that step and the essential checks of the steps before it: on the\n")
                .append("reference steps before it, or on the learner's own steps 01..L when every one of them passed there;\n")
                .append("\"own P/T\" follows when the learner's own earlier steps give another count; - no file.\n");
        if (!notes.isEmpty()) {
            t.append('\n');
            for (String n : notes) t.append(n).append('\n');
        }
        return t.toString();
    }

    void writeCsv(List<Row> rows) {
        List<Integer> steps = solutions.keySet().stream().sorted().toList();
        StringBuilder c = new StringBuilder("learner,directory");
        for (int s : steps) {
            String p = String.format("step%02d_", s);
            c.append(',').append(p).append("passed,").append(p).append("total,").append(p).append("judged,")
                    .append(p).append("own_passed,").append(p).append("own_total");
        }
        c.append(",seconds,notes\n");
        for (Row r : rows) {
            c.append(csv(r.learner.name())).append(',').append(csv(r.learner.dir().toString()));
            List<String> notes = new ArrayList<>();
            for (int s : steps) {
                StepGrade g = r.steps.get(s);
                if (g == null) {
                    c.append(",,,,,");
                    continue;
                }
                boolean own = g.own != null && g.own.notRun == null;
                c.append(',').append(g.reference.passed).append(',').append(g.reference.total()).append(',').append(g.judged)
                        .append(',').append(own ? String.valueOf(g.own.passed) : "").append(',').append(own ? String.valueOf(g.own.total()) : "");
                for (Phase p : g.own == null ? List.of(g.reference) : List.of(g.reference, g.own)) {
                    if (p.compileError != null) notes.add(p.label + ": " + p.compileError.lines().findFirst().orElse(""));
                }
            }
            if (r.error != null) notes.add("the grader failed: " + r.error.lines().findFirst().orElse(""));
            c.append(',').append(String.format("%.1f", r.nanos / 1e9)).append(',').append(csv(String.join("; ", notes))).append('\n');
        }
        try {
            Files.writeString(out.resolve("grades.csv"), c);
        } catch (IOException e) {
            System.err.println("checks: failed to write " + out.resolve("grades.csv") + ": " + e);
        }
    }

    static String csv(String s) {
        return s.matches("[^,\"\n]*") ? s : "\"" + s.replace("\"", "\"\"").replace("\n", " ") + "\"";
    }

    /** NAME.xml: a test suite per step and phase, a test case per check. */
    void writeXml(Row r) {
        StringBuilder x = new StringBuilder("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        x.append("<testsuites name=\"").append(Checks.xml(r.learner.name())).append("\" time=\"")
                .append(String.format("%.3f", r.nanos / 1e9)).append("\">\n");
        if (r.error != null) {
            x.append("  <testsuite name=\"grading\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\">\n")
                    .append("    <testcase classname=\"grading\" name=\"the grader grades this learner\"><error message=\"")
                    .append(Checks.xml(r.error.lines().findFirst().orElse(""))).append("\">").append(Checks.xml(r.error))
                    .append("</error></testcase>\n  </testsuite>\n");
        }
        for (StepGrade g : r.steps.values()) {
            for (Phase p : g.own == null ? List.of(g.reference) : List.of(g.reference, g.own)) {
                String suite = String.format("step%02d.%s", g.step, p == g.own ? "own" : g.judged.equals("chain") ? "chain" : "reference");
                if (p.notRun != null) {
                    x.append("  <testsuite name=\"").append(suite).append("\" tests=\"0\" failures=\"0\" errors=\"0\" skipped=\"0\">")
                            .append("<properties><property name=\"not-run\" value=\"").append(Checks.xml(p.notRun))
                            .append("\"/></properties></testsuite>\n");
                    continue;
                }
                x.append(String.format("  <testsuite name=\"%s\" tests=\"%d\" failures=\"%d\" errors=\"0\" skipped=\"%d\">%n",
                        suite, p.passed + p.failed + p.skipped, p.failed, p.skipped));
                x.append("    <properties><property name=\"phase\" value=\"").append(Checks.xml(p.label)).append("\"/></properties>\n");
                for (Runner.ClassRun c : p.runs) {
                    for (Runner.CheckRun check : c.checks) {
                        x.append("    <testcase classname=\"").append(Checks.xml(c.name)).append("\" name=\"")
                                .append(Checks.xml(check.name())).append("\">");
                        switch (check.status()) {
                            case PASS -> { }
                            case SKIP -> x.append("<skipped message=\"").append(Checks.xml(check.message())).append("\"/>");
                            case FAIL -> x.append("<failure message=\"").append(Checks.xml(check.message().lines().findFirst().orElse("")))
                                    .append("\">").append(Checks.xml(check.message())).append("</failure>");
                        }
                        x.append("</testcase>\n");
                    }
                }
                x.append("  </testsuite>\n");
            }
        }
        x.append("</testsuites>\n");
        try {
            Files.writeString(out.resolve(r.learner.name() + ".xml"), x);
        } catch (IOException e) {
            System.err.println("checks: failed to write " + out.resolve(r.learner.name() + ".xml") + ": " + e);
        }
    }
}
