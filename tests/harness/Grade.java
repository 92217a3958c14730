import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import jocker.kernel.Trees;

/**
 * {@code grade DIR...}: every learner's steps judged as {@code check NN} judges one step, for every
 * step whose file exists, with a table of the results.
 *
 * <p>Step NN is judged by the checks of step NN and the essential checks of the steps before it,
 * first on the reference solutions of the steps before it, then on the learner's own chain (as
 * {@code check NN}). To be quick, a learner's longest chain (01..L, every file there) runs first
 * with every check of steps 01..L; a step whose checks (and the essential ones of the steps before
 * it) all pass there is given those results, and only the other steps are judged in the two phases
 * of {@code check NN}.
 *
 * <p>Each check class runs with its own state root, cgroup parent and network (tests/support/), so
 * learners run side by side: two at a time, their check classes on the harness's workers; a class
 * marked {@link RunsAlone} runs with nothing else. A learner's files are copied under
 * build/grades/work/NAME beside a link to the workbook's lib/; the learner's own lib/ is not used.
 */
final class Grade {

    /** The method timeout of a check in grading (the checks' own {@code @Timeout}s still hold). */
    static final String CHECK_TIMEOUT = "90 s";

    final Checks checks;
    final Path out;
    final int learnersAtOnce;
    final ExecutorService workers;
    /** Shared by the check classes that may run side by side; a class that runs alone takes it exclusively. */
    final ReentrantReadWriteLock alone = new ReentrantReadWriteLock(true);
    final Map<Integer, Path> solutions;
    final int lastStep;

    Grade(Checks checks, Path out, int learnersAtOnce) {
        this.checks = checks;
        this.out = out;
        this.learnersAtOnce = learnersAtOnce;
        AtomicInteger n = new AtomicInteger();
        this.workers = Executors.newFixedThreadPool(checks.jobs, r -> {
            Thread t = new Thread(r, "grade-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
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
        final Map<Integer, StepGrade> steps = new LinkedHashMap<>();
        long nanos;
        String error;   // the grader could not grade this learner (never the learner's fault)

        Row(Learner learner) { this.learner = learner; }
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
        for (Learner l : learners) rows.add(new Row(l));
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
        workers.shutdownNow();
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

        // 1. The longest chain 01..L with every check of steps 01..L.
        int chain = 0;
        while (ownFiles.containsKey(chain + 1) && solutions.containsKey(chain + 1)) chain++;
        Map<Integer, List<Runner.ClassRun>> onChain = new LinkedHashMap<>();
        boolean chainCompiles = false;
        if (chain > 0) {
            Path script = ownFiles.get(chain);
            chainCompiles = checks.compileQuietly(script).isEmpty();
            if (chainCompiles) {
                List<Job> jobs = new ArrayList<>();
                for (int k = 1; k <= chain; k++) {
                    for (Class<?> c : Checks.checksOf(k)) {
                        jobs.add(new Job(new Runner.Job(l.name() + "/chain-" + script.getFileName(), script, chain, c, false), k));
                    }
                }
                runAll(jobs);
                for (Job j : jobs) onChain.computeIfAbsent(j.checksStep, k -> new ArrayList<>()).add(j.result);
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
                Map.Entry<Integer, String> todo = Checks.firstUnfinished(before, ownFiles).orElseThrow();
                g.own.notRun = String.format("step %02d still has TODO(%s)", todo.getKey(), todo.getValue());
            } else if (!mineCompiles) {
                g.own.notRun = String.format("step %02d does not compile", n);
            } else if (compiles(ownFiles.get(n), g.own, shownAs)) {
                addJobs(jobs, phaseOf, g.own, l.name() + "/own-" + ownFiles.get(n).getFileName(), ownFiles.get(n), n);
            }
        }
        runAll(jobs);
        for (Job j : jobs) add(phaseOf.get(j), j.result, j.job.essentialOnly() ? essentials(j.job.checks()) : null);
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

    private final Map<Class<?>, Set<String>> essentialMethods = new java.util.concurrent.ConcurrentHashMap<>();

    Set<String> essentials(Class<?> c) {
        return essentialMethods.computeIfAbsent(c, k -> new Runner.Job("", Path.of("."), 0, k, true).selected().stream()
                .map(Method::getName).collect(Collectors.toSet()));
    }

    /** Compiles a phase's script; a failure is the phase's one failed check, with the compiler's first error. */
    boolean compiles(Path script, Phase phase, Map<Path, Path> shownAs) {
        Optional<JBang.CompileError> e = checks.compileQuietly(script);
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

    /** Runs jobs on the shared workers, the longest first; returns when all are done. */
    void runAll(List<Job> jobs) {
        Map<String, String> parameters = new LinkedHashMap<>(checks.parameters);
        parameters.put("junit.jupiter.execution.timeout.testable.method.default", CHECK_TIMEOUT);
        List<Future<?>> futures = new ArrayList<>();
        jobs.stream().sorted(Comparator.comparingDouble((Job j) -> checks.estimateOf(gradeKey(j.job), j.job)).reversed()).forEach(j ->
                futures.add(workers.submit(() -> {
                    Lock lock = j.job.runsAlone() ? alone.writeLock() : alone.readLock();
                    lock.lock();
                    long t = System.nanoTime();
                    try {
                        j.result = Runner.run(j.job, parameters, null);
                    } catch (RuntimeException | Error e) {
                        Runner.ClassRun c = new Runner.ClassRun(j.job.checks().getSimpleName());
                        c.checks.add(new Runner.CheckRun("(" + j.job.checks().getSimpleName() + ")", Runner.Status.FAIL, Runner.describe(e)));
                        j.result = c;
                    } finally {
                        lock.unlock();
                    }
                    checks.measured.put(gradeKey(j.job), (System.nanoTime() - t) / 1e9);
                })));
        for (Future<?> f : futures) {
            try {
                f.get();
            } catch (Exception e) {
                // each job keeps its own failure
            }
        }
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
