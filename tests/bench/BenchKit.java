// What the benches of tests/bench/ share (each sources this file with //SOURCES BenchKit.java and
// extends BenchKit, so that its helpers read as the script's own: a script in the unnamed package
// cannot import them statically): running a command and timing it, alternating, JBang's java
// command line, runc's bundle config, the removal of the runtime's cgroup parent, medians, tables
// of ratios and verdict lines.

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

abstract class BenchKit {

    /** The bench's temp directory: the output of its commands passes through it; its cleanUp removes it. */
    static Path work;

    /** One thing timed: its samples (ns) and the CPU time they took. */
    static class Samples {
        final String name;
        final List<Long> nanos = new ArrayList<>(), cpuNanos = new ArrayList<>();
        Samples(String name) { this.name = name; }
        void add(long took, long cpu) { nanos.add(took); cpuNanos.add(cpu); }
    }

    /** Runs a command once, fails unless it succeeded, and counts its wall-clock and CPU time when {@code timed}. */
    static void time(Samples b, boolean timed, List<String> command, Map<String, String> env) throws Exception {
        long cpu = childrenCpuNanos();
        long start = System.nanoTime();
        Result r = exec(command, env);
        long took = System.nanoTime() - start;
        cpu = childrenCpuNanos() - cpu;
        check(r, b.name);
        if (timed) b.add(took, cpu);
    }

    /** One step of a round: a command timed, or several that count as one. */
    interface Timed { void run() throws Exception; }

    /** Runs the steps of one round in turn, last first when {@code reversed} (every other round). */
    static void runAll(Timed[] steps, boolean reversed) throws Exception {
        for (int i = 0; i < steps.length; i++) steps[reversed ? steps.length - 1 - i : i].run();
    }

    /** The cores this machine gives the bench: a command's CPU time spread over all of them is its floor. */
    static final int CORES = Runtime.getRuntime().availableProcessors();

    /** The header of {@link #table}, {@code ratio} naming its ratio column. */
    static void header(int width, String ratio) {
        System.out.printf("%n%-" + width + "s %9s %9s %7s %8s %8s%n", "", "median ms", "min ms", ratio, "cpu ms", "floor");
    }

    /**
     * A title, then per bench: median and minimum in ms, the ratio of its median to the reference's,
     * median CPU ms, and its floor: that CPU time spread over every core, as a ratio to the
     * reference's median (see {@link #FLOOR_NOTE}).
     */
    static void table(int width, String title, Samples reference, List<Samples> benches) {
        System.out.println(title);
        double ref = median(reference.nanos);
        for (Samples b : benches) {
            double med = median(b.nanos);
            long min = b.nanos.stream().min(Comparator.naturalOrder()).orElseThrow();
            System.out.printf(Locale.ROOT, "  %-" + (width - 2) + "s %9.0f %9.0f %7.2f %8.0f %8.2f%n",
                    b.name, med / 1e6, min / 1e6, med / ref, median(b.cpuNanos) / 1e6, floor(b, ref));
        }
    }

    /** The median CPU time of {@code b} over all {@link #CORES}, as a ratio to {@code referenceNanos}. */
    static double floor(Samples b, double referenceNanos) {
        return median(b.cpuNanos) / CORES / referenceNanos;
    }

    /**
     * Why the floor column matters: no scheduling brings a command's wall time below its CPU time
     * divided by the cores that run it, so a target ratio below the floor cannot be met by making
     * the command wait less, only by making it do less.
     */
    static final String FLOOR_NOTE = "floor: median cpu / " + CORES + " cores, as a ratio to the reference's median:"
            + " no scheduling makes the wall time lower; a target below it needs less CPU work, not less waiting";

    /** A verdict line: the ratio of the medians of {@code ours} and {@code reference} against an upper bound. */
    static void verdict(String what, Samples ours, Samples reference, double target) {
        verdict(what, median(ours.nanos) / median(reference.nanos), target);
    }

    static void verdict(String what, double ratio, double target) {
        System.out.printf(Locale.ROOT, "target %-48s ratio %.2f (<= %s): %s%n", what, ratio, target,
                ratio <= target ? "met" : "MISSED");
    }

    static String mb(long bytes) { return String.format(Locale.ROOT, "%.1f MB", bytes / 1e6); }

    /** User and system time of the children this JVM has waited for (/proc/self/stat cutime + cstime). */
    static long childrenCpuNanos() throws IOException {
        String stat = Files.readString(Path.of("/proc/self/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        // After the command's name: field 3 (state) is f[0], so cutime (16) and cstime (17) are f[13], f[14].
        return (Long.parseLong(f[13]) + Long.parseLong(f[14])) * 10_000_000L;   // clock ticks of 10 ms
    }

    /**
     * {@code runc spec} into {@code bundle}, with process.args ["/bin/true"] and no terminal;
     * returns the config file.
     */
    static Path runcSpec(Path bundle) throws Exception {
        check(exec(List.of("runc", "spec", "--bundle", bundle.toString()), Map.of()), "runc spec");
        Path configFile = bundle.resolve("config.json");
        String config = Files.readString(configFile);
        String edited = config.replaceFirst("\"args\":\\s*\\[\\s*\"sh\"\\s*\\]", "\"args\": [\"/bin/true\"]")
                .replaceFirst("\"terminal\":\\s*true", "\"terminal\": false");
        if (!edited.contains("\"/bin/true\"") || !edited.contains("\"terminal\": false")) {
            fail("could not set process.args and process.terminal in the config of `runc spec`");
        }
        Files.writeString(configFile, edited);
        return configFile;
    }

    /**
     * The java command line JBang would exec: JBang's jar prints it and exits 255 (its launcher's
     * protocol); bash splits the printed line into words the way the launcher's eval does.
     */
    static List<String> resolveJavaCommand(Path script, List<String> runArgs, Map<String, String> env) throws Exception {
        String classpath = jbangClasspath();
        String splitter = "out=$(\"$0\" -classpath \"$1\" dev.jbang.Main \"${@:2}\"); rc=$?; "
                + "if [ $rc -ne 255 ]; then printf '%s\\n' \"$out\" >&2; exit $rc; fi; "
                + "eval \"set -- $out\"; printf '%s\\0' \"$@\"";
        List<String> command = new ArrayList<>(List.of("bash", "-c", splitter, javaCommand(), classpath, script.toString()));
        command.addAll(runArgs);
        Result r = exec(command, env);
        if (r.code != 0) fail("JBang printed no java command for " + script + " (exit " + r.code + "): " + r.err.strip());
        List<String> words = new ArrayList<>(Arrays.asList(r.out.split("\0")));
        if (!words.isEmpty() && words.get(words.size() - 1).isEmpty()) words.remove(words.size() - 1);
        if (words.isEmpty()) fail("JBang printed an empty command for " + script);
        return words;
    }

    /** JBang's classes: the jars of build.sh's install, or jbang.jar next to an official launcher. */
    static String jbangClasspath() throws IOException {
        Path lib = Path.of("/usr/local/lib/jbang");
        if (Files.isDirectory(lib)) {
            try (Stream<Path> s = Files.list(lib)) {
                if (s.anyMatch(p -> p.getFileName().toString().startsWith("jbang-cli"))) return lib + "/*";
            }
        }
        Path launcher = which("jbang");
        if (launcher != null) {
            Path jar = launcher.toRealPath().resolveSibling("jbang.jar");
            if (Files.isRegularFile(jar)) return jar.toString();
        }
        throw new BenchFailure("cannot find JBang's jars (neither /usr/local/lib/jbang nor jbang.jar next to the launcher)");
    }

    /** The java the launcher uses: $JAVA_HOME/bin/java when there is one, else java from PATH. */
    static String javaCommand() {
        String home = System.getenv("JAVA_HOME");
        if (home != null && !home.isEmpty() && Files.isExecutable(Path.of(home, "bin", "java"))) {
            return Path.of(home, "bin", "java").toString();
        }
        return "java";
    }

    static Path which(String program) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            Path p = Path.of(dir.isEmpty() ? "." : dir, program);
            if (Files.isExecutable(p) && !Files.isDirectory(p)) return p;
        }
        return null;
    }

    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException e) {
            return "?";
        }
    }

    static double median(List<Long> values) {
        List<Long> s = values.stream().sorted().toList();
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2.0;
    }

    static String abbreviate(String s) {
        return s.length() <= 400 ? s : s.substring(0, 200) + " ... " + s.substring(s.length() - 150);
    }

    /**
     * {@code --network none} for a script whose {@code run} has a network (step 08 on), else nothing:
     * a bench times a container's start or its storage, and runc's own spec gives a network
     * namespace with lo only too; a bridge network would also leave a bridge, NAT rules and
     * ip_forward on the host (the network outlives its containers, as docker0 does).
     */
    static List<String> networkNone(Path script, Map<String, String> env) throws IOException, InterruptedException {
        Result help = exec(List.of("jbang", script.toString(), "run", "--help"), env);
        return (help.out() + help.err()).contains("--network") ? List.of("--network", "none") : List.of();
    }

    record Result(List<String> command, int code, String out, String err) {}

    /** Runs a command to its end (5 minutes at most), its input /dev/null, its output kept. */
    static Result exec(List<String> command, Map<String, String> env) throws IOException, InterruptedException {
        Path out = Files.createTempFile(work, "out-", ".txt");
        Path err = Files.createTempFile(work, "err-", ".txt");
        try {
            ProcessBuilder pb = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            pb.environment().putAll(env);
            Process p = pb.start();
            if (!p.waitFor(5, TimeUnit.MINUTES)) {
                p.destroyForcibly().waitFor();
                return new Result(command, -1, "", "timed out after 5 minutes");
            }
            return new Result(command, p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    static void check(Result r, String what) {
        if (r.code != 0) {
            throw new BenchFailure(what + " failed (exit " + r.code + "): " + abbreviate(String.join(" ", r.command))
                    + "\n" + (r.out + r.err).strip());
        }
    }

    /** Removes the runtime's cgroup parent {@code tag}, in every hierarchy it was made in (deepest first). */
    static void removeCgroups(String tag) throws IOException {
        List<Path> dirs = new ArrayList<>();
        try (Stream<Path> s = Files.walk(Path.of("/sys/fs/cgroup"), 3)) {
            s.filter(p -> p.getFileName() != null && p.getFileName().toString().equals(tag)
                    && Files.isDirectory(p)).forEach(dirs::add);
        }
        for (Path d : dirs) {
            try (Stream<Path> s = Files.walk(d)) {
                s.filter(Files::isDirectory).sorted(Comparator.reverseOrder()).forEach(p -> {
                    try {
                        Files.delete(p);   // rmdir: a cgroup directory goes with its files
                    } catch (IOException e) {
                        System.err.println("bench: could not remove cgroup " + p + ": " + e);
                    }
                });
            }
        }
    }

    static String need(String option, String value) {
        if (value == null) fail(option + " needs a value");
        return value;
    }

    static void fail(String message) { throw new BenchFailure(message); }

    static final class BenchFailure extends RuntimeException {
        BenchFailure(String message) { super(message); }
    }
}
