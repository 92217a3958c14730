///usr/bin/env jbang "$0" "$@" ; exit $?
// Do the checks catch wrong code? Applies each deliberately broken variant of tests/mutants/mutants.txt
// to a copy of solutions/, runs that step's checks on it through the harness (what
// `./build.sh check NN --dir COPY` runs), and says how many variants the checks caught.
//
//   jbang tests/mutants/Mutants.java --root REPO [--full] [NN | ID]...
//                      the variants of steps NN, or by ID (default: all); each run stops at its
//                      first failing check (--full: the whole report)
//   jbang tests/mutants/Mutants.java --root REPO --verify       only check that the table applies
//
// Every original text must be found exactly once in its solution, whichever variants run: a
// solution that changes under the table fails here, loudly, instead of leaving a variant that
// tests nothing. Slow (one check run per variant, minutes for steps 05 to 08): ./build.sh mutants,
// and ./build.sh test --all. Output of each run: build/mutants/logs/ID.log.
//
//JAVA 17+
//JAVAC_OPTIONS -J-XX:TieredStopAtLevel=1 -J-XX:+UseSerialGC -J-XX:-UsePerfData

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

public class Mutants {

    /** One broken variant: in the solution of {@code step}, {@code original} becomes {@code replacement}. */
    record Variant(String id, int step, String todo, boolean vm, String what, String original, String replacement, int line) {
        String label() { return id + " (TODO " + todo + ", " + what + ")"; }
    }

    /** How the checks of tests/steps/Step05VmChecks.java that the VM answers begin. */
    static final String VM_CHECK = "cgroup v2 VM:";

    static final Pattern HEADER = Pattern.compile("== (\\S+) (\\d\\d) (\\d\\d\\.\\d+)( vm)?: (.+)");

    public static void main(String[] args) throws Exception {
        Path root = Path.of(".");
        boolean verifyOnly = false, full = false;
        List<String> wanted = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--root" -> root = Path.of(args[++i]);
                case "--verify" -> verifyOnly = true;
                case "--full" -> full = true;
                default -> wanted.add(args[i]);
            }
        }
        root = root.toAbsolutePath().normalize();
        Path table = root.resolve("tests/mutants/mutants.txt");
        List<Variant> all;
        Map<Integer, Path> solutions;
        try {
            all = parse(table);
            solutions = solutions(root.resolve("solutions"));
        } catch (IOException | IllegalArgumentException e) {
            System.err.println("mutants: " + e.getMessage());
            System.exit(125);
            return;
        }
        List<String> problems = verify(all, solutions);
        if (!problems.isEmpty()) {
            System.err.println("mutants: tests/mutants/mutants.txt does not apply to solutions/ (fix the table):");
            problems.forEach(p -> System.err.println("  " + p));
            System.exit(125);
        }
        List<Variant> chosen = all.stream().filter(v -> wanted.isEmpty() || wanted.contains(v.id())
                || wanted.stream().anyMatch(w -> w.matches("\\d{1,2}") && Integer.parseInt(w) == v.step())).toList();
        if (chosen.isEmpty()) {
            System.err.println("mutants: no variant matches " + wanted + " (give step numbers or the ids of tests/mutants/mutants.txt)");
            System.exit(125);
        }
        System.out.printf("%d variants in the table, all apply; steps of the %d chosen: %s%n", all.size(), chosen.size(),
                chosen.stream().map(v -> String.format("%02d", v.step())).distinct().toList());
        if (verifyOnly) return;
        System.exit(run(root, chosen, solutions, full));
    }

    /** The table: a header line, "- " lines (the original), "+ " lines (the replacement). */
    static List<Variant> parse(Path table) throws IOException {
        List<Variant> variants = new ArrayList<>();
        List<String> lines = Files.readAllLines(table, StandardCharsets.UTF_8);
        Matcher header = null;
        int at = 0;
        List<String> minus = new ArrayList<>(), plus = new ArrayList<>();
        for (int i = 0; i <= lines.size(); i++) {
            String l = i < lines.size() ? lines.get(i) : "== end";
            if (l.startsWith("==")) {
                if (header != null) variants.add(variant(header, minus, plus, at));
                if (i == lines.size()) break;
                header = HEADER.matcher(l);
                if (!header.matches()) throw new IllegalArgumentException(table + ":" + (i + 1) + ": not a header \"== ID NN NN.N [vm]: what\": " + l);
                at = i + 1;
                minus = new ArrayList<>();
                plus = new ArrayList<>();
            } else if (l.startsWith("- ") || l.startsWith("+ ")) {
                if (header == null) throw new IllegalArgumentException(table + ":" + (i + 1) + ": a text line before any header");
                (l.charAt(0) == '-' ? minus : plus).add(l.substring(2));
            } else if (!l.isBlank() && !l.startsWith("#")) {
                throw new IllegalArgumentException(table + ":" + (i + 1) + ": expected \"- \", \"+ \", \"==\", \"#\" or a blank line: " + l);
            }
        }
        List<String> ids = new ArrayList<>();
        for (Variant v : variants) {
            if (ids.contains(v.id())) throw new IllegalArgumentException(table + ":" + v.line() + ": the id " + v.id() + " is used twice");
            ids.add(v.id());
        }
        return variants;
    }

    static Variant variant(Matcher h, List<String> minus, List<String> plus, int line) {
        if (minus.isEmpty()) throw new IllegalArgumentException("variant " + h.group(1) + " (line " + line + ") has no \"- \" line");
        if (!h.group(3).startsWith(h.group(2) + ".")) {
            throw new IllegalArgumentException("variant " + h.group(1) + " (line " + line + "): TODO " + h.group(3) + " is not of step " + h.group(2));
        }
        return new Variant(h.group(1), Integer.parseInt(h.group(2)), h.group(3), h.group(4) != null, h.group(5),
                String.join("\n", minus), plus.isEmpty() ? "" : String.join("\n", plus), line);
    }

    static Map<Integer, Path> solutions(Path dir) throws IOException {
        Map<Integer, Path> files = new LinkedHashMap<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.sorted().toList()) {
                Matcher m = Pattern.compile("(\\d\\d)_\\w+\\.java").matcher(p.getFileName().toString());
                if (m.matches()) files.put(Integer.parseInt(m.group(1)), p);
            }
        }
        return files;
    }

    /** Every original found exactly once in its solution; every TODO of the skeletons has a variant. */
    static List<String> verify(List<Variant> variants, Map<Integer, Path> solutions) throws IOException {
        List<String> problems = new ArrayList<>();
        for (Variant v : variants) {
            Path file = solutions.get(v.step());
            if (file == null) {
                problems.add(v.id() + ": no solution of step " + v.step());
                continue;
            }
            int n = count(Files.readString(file, StandardCharsets.UTF_8), v.original());
            if (n != 1) problems.add(v.id() + " (line " + v.line() + "): its original text is found " + n + " times in " + file.getFileName() + ", not once");
        }
        // At least one variant per TODO of steps/ (the skeletons name them: TODO(NN.M)).
        Path steps = solutions.values().iterator().next().getParent().resolveSibling("steps");
        for (var e : solutions.entrySet()) {
            Path skeleton = steps.resolve(e.getValue().getFileName());
            if (!Files.isRegularFile(skeleton)) continue;
            Matcher m = Pattern.compile("TODO\\((\\d\\d\\.\\d+)\\)").matcher(Files.readString(skeleton, StandardCharsets.UTF_8));
            while (m.find()) {
                String todo = m.group(1);
                if (variants.stream().noneMatch(v -> v.todo().equals(todo))) problems.add("TODO " + todo + " has no variant");
            }
        }
        return problems.stream().distinct().toList();
    }

    static int count(String text, String part) {
        int n = 0;
        for (int i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + 1)) n++;
        return n;
    }

    static int run(Path root, List<Variant> chosen, Map<Integer, Path> solutions, boolean full) throws IOException, InterruptedException {
        Path base = root.resolve("build/mutants");
        Path work = base.resolve("work/solutions"), logs = base.resolve("logs");
        Files.createDirectories(logs);
        Files.createDirectories(base.resolve("reports"));
        String qemu = canRunVm(root);
        List<String> survivors = new ArrayList<>(), notRun = new ArrayList<>();
        int caught = 0, ran = 0;
        long started = System.nanoTime();
        Map<Integer, List<String>> failingAlready = new LinkedHashMap<>();
        for (Variant v : chosen) {
            if (v.vm() && qemu != null) {
                System.out.printf("  NOT RUN   %s: it needs the cgroup v2 VM, and %s%n", v.label(), qemu);
                notRun.add(v.id());
                continue;
            }
            // Once per step, the solution itself: a check that fails on it (a timing check on a
            // busy machine) proves nothing about a variant, so it is not counted.
            if (!failingAlready.containsKey(v.step())) {
                copySolutions(solutions, work);
                Outcome solution = check(root, work, v.step(), false, logs.resolve(String.format("solution-%02d.log", v.step())), List.of(), true);
                failingAlready.put(v.step(), solution.failed());
                System.out.printf("  solution of step %02d: %s, %s%n", v.step(), solution.failed().isEmpty() ? "every check passes"
                        : solution.failed().size() + " checks fail on it already, not counted: " + solution.failed(), solution.seconds());
            }
            // A fresh copy of every solution, then the one change: phase 2 of check (the learner's
            // own steps before NN) is skipped, since they are the reference ones.
            copySolutions(solutions, work);
            Path target = work.resolve(solutions.get(v.step()).getFileName());
            String text = Files.readString(target, StandardCharsets.UTF_8);
            Files.writeString(target, text.replace(v.original(), v.replacement()), StandardCharsets.UTF_8);
            Path log = logs.resolve(v.id() + ".log");
            // A vm variant: only the VM's checks count, and the run goes to its end (the VM checks
            // come last): the host's checks, slowed by the VM beside them, prove nothing about it.
            List<String> ignore = failingAlready.get(v.step());
            Outcome o = check(root, work, v.step(), v.vm(), log, ignore, full || v.vm());
            ran++;
            List<String> counted = o.failed().stream().filter(f -> !ignore.contains(f) && (!v.vm() || f.startsWith(VM_CHECK))).toList();
            String firstFail = counted.isEmpty() ? null : firstFailure(Files.readAllLines(log, StandardCharsets.UTF_8), o.failed().stream()
                    .filter(f -> !counted.contains(f)).toList());
            if (!counted.isEmpty() && counted.get(0).contains(" compiles")) {
                System.out.printf("  BROKEN    %s: the variant does not compile (fix the table; %s)%n", v.label(), root.relativize(log));
                survivors.add(v.id() + " (does not compile)");
            } else if (!counted.isEmpty()) {
                caught++;
                System.out.printf("  caught    %s, %s%n            first: %s%n", v.label(), o.seconds(), firstFail);
            } else if (o.rc() == 0 || o.rc() == 1) {
                System.out.printf("  SURVIVED  %s, %s: every check passed (%s)%n", v.label(), o.seconds(), root.relativize(log));
                survivors.add(v.label());
            } else {
                System.out.printf("  ERROR     %s, %s: the check run itself failed (exit %d; %s)%n", v.label(), o.seconds(), o.rc(), root.relativize(log));
                survivors.add(v.label() + " (the run failed, exit " + o.rc() + ")");
            }
        }
        deleteTree(base.resolve("work"));
        System.out.println();
        System.out.printf("%d of %d variants caught (%s)%n", caught, ran, String.format("%.0f s", (System.nanoTime() - started) / 1e9));
        for (String s : survivors) System.out.println("  not caught: " + s);
        if (!notRun.isEmpty()) System.out.println("  not run here: " + String.join(", ", notRun));
        return survivors.isEmpty() ? 0 : 1;
    }

    /** What one check run said: its exit code, the checks that failed (in report order), how long it took. */
    record Outcome(int rc, List<String> failed, String seconds) {}

    static void copySolutions(Map<Integer, Path> solutions, Path work) throws IOException {
        deleteTree(work);
        Files.createDirectories(work);
        for (Path s : solutions.values()) Files.copy(s, work.resolve(s.getFileName()));
    }

    /**
     * {@code check NN --dir work} through the harness, its report into {@code log}. Unless
     * {@code full}, it stops at the first failing check not in {@code ignore}: JBang execs the
     * harness's JVM, so the process is the harness, and SIGTERM stops it the way Ctrl-C does
     * (its shutdown hook removes what the runs made).
     */
    static Outcome check(Path root, Path work, int step, boolean vm, Path log, List<String> ignore, boolean full)
            throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder("jbang", root.resolve("tests/harness/Checks.java").toString(), "check",
                String.format("%02d", step), "--dir", work.toString(), "--root", root.toString(),
                "--reports", root.resolve("build/mutants/reports").toString())
                .redirectErrorStream(true);
        pb.environment().put("JOCKER_VM", vm ? "always" : "never");
        long t = System.nanoTime();
        Process p = pb.start();
        List<String> failed = new ArrayList<>();
        boolean stopped = false;
        ScheduledFuture<?> timeout = TIMER.schedule(() -> stop(p), 30, TimeUnit.MINUTES);
        try (var in = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
             var w = Files.newBufferedWriter(log, StandardCharsets.UTF_8)) {
            String line;
            boolean counted = false;
            while ((line = in.readLine()) != null) {
                w.write(line);
                w.newLine();
                if (line.startsWith("  FAIL  ")) {
                    String name = line.substring(8).strip();
                    failed.add(name);
                    if (!ignore.contains(name)) counted = true;
                } else if (counted && !full && !stopped && !line.startsWith("        ")) {   // the FAIL and its reason are in
                    w.flush();
                    p.toHandle().destroy();   // SIGTERM; Process.destroy would also close the output we read
                    stopped = true;
                }
            }
        }
        boolean ended = p.waitFor(2, TimeUnit.MINUTES);
        if (!ended) stop(p);
        timeout.cancel(false);
        int rc = stopped ? 1 : ended ? p.exitValue() : -1;
        return new Outcome(rc, failed, String.format("%.0f s", (System.nanoTime() - t) / 1e9));
    }

    static final ScheduledExecutorService TIMER = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "mutants-timeout");
        t.setDaemon(true);
        return t;
    });

    /** A harness that will not end: SIGTERM, a minute for its cleanup, then SIGKILL. */
    static void stop(Process p) {
        p.toHandle().destroy();
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The first failing check of a check report not in {@code ignore}, and its first reason line. */
    static String firstFailure(List<String> out, List<String> ignore) {
        for (int i = 0; i < out.size(); i++) {
            if (out.get(i).startsWith("  FAIL  ") && !ignore.contains(out.get(i).substring(8).strip())) {
                String reason = i + 1 < out.size() && out.get(i + 1).startsWith("        ") ? " -- " + out.get(i + 1).strip() : "";
                String line = (out.get(i).substring(8) + reason).replaceAll("\\p{Cntrl}", "?");   // a NUL of /proc/1/cmdline, say
                return line.length() > 220 ? line.substring(0, 217) + "..." : line;
            }
        }
        return null;
    }

    /** Null when tests/vm/vm.sh can boot the VM here, else why not. */
    static String canRunVm(Path root) {
        try {
            Process p = new ProcessBuilder("bash", root.resolve("tests/vm/vm.sh").toString(), "can-run").redirectErrorStream(true).start();
            String why = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            return p.waitFor() == 0 ? null : why;
        } catch (IOException | InterruptedException e) {
            return e.toString();
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }
}
