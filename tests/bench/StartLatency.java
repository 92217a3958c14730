///usr/bin/env jbang "$0" "$@" ; exit $?
// Start latency of a container: `jbang solutions/05_cgroups.java run busybox true` against
// `runc run` of the same busybox rootfs, timed in the same run, alternating, as ratios.
//
// Usage: ./build.sh bench [--runs N] [--script FILE]... [--also NAME=SHELL-COMMAND]...
//        (or, as root: jbang tests/bench/StartLatency.java --repo DIR [options])
//        --script may be given more than once, to compare variants of a step in one run.
//
// What it times, N rounds (default 7) after one warm-up round, each round running every command
// once, in turn, so that a noisy machine slows them all alike:
//   runc run         `runc run --bundle B ID` of a bundle unpacked from build/images/busybox.tar
//                    (`runc spec`, args ["/bin/true"], no terminal), then `runc delete -f ID`
//   crun run         the same with crun, when installed (on a hybrid cgroup host inside
//                    `unshare -m` with the cgroup2 mount hidden, which crun needs there)
//   java -version    a bare JVM: the floor of anything written in Java
//   java command     the java command line JBang prints for `SCRIPT run busybox true`
//                    (`java -cp JBANG_JARS dev.jbang.Main ...` prints it and exits 255), run directly
//   jbang SCRIPT     what a learner types: `jbang SCRIPT run busybox true`, through the launcher
//   --also NAME=CMD  any shell command, for experiments (run with bash -c)
// and prints the median and the minimum of each in ms, the ratio of its median to runc's, and
// its median CPU time (less sensitive to a busy machine than the wall clock). The script is run
// once through the launcher before its java command is resolved, so that a //CDS archive exists.
// The runtime runs with a state root and a cgroup parent of its own; the bench removes them, its
// bundle and every runc/crun container it made, whatever happens.
//
//JAVA 17+

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
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

public class StartLatency {

    /** The targets of issue 7 item 9, as ratios of medians to runc's. */
    static final double JBANG_TARGET = 20, JAVA_TARGET = 13;

    record Bench(String name, List<String> command, Map<String, String> env, List<String> cleanup,
                 List<Long> nanos, List<Long> cpuNanos) {
        Bench(String name, List<String> command, Map<String, String> env, List<String> cleanup) {
            this(name, command, env, cleanup, new ArrayList<>(), new ArrayList<>());
        }
    }

    static Path repo = Path.of(".").toAbsolutePath().normalize();
    static final List<Path> scripts = new ArrayList<>();
    static int runs = 7;
    static final List<String[]> also = new ArrayList<>();
    static final String tag = "jocker-bench-" + ProcessHandle.current().pid();
    static Path work;

    public static void main(String[] args) throws Exception {
        int code = 0;
        try {
            parse(args);
            if (!"root".equals(System.getProperty("user.name"))) fail("must run as root (containers need it)");
            work = Files.createTempDirectory(tag + "-");
            // Also on Ctrl-C, which ends the JVM without running finally blocks.
            Runtime.getRuntime().addShutdownHook(new Thread(StartLatency::cleanUp));
            run();
        } catch (BenchFailure e) {
            System.err.println("bench: " + e.getMessage());
            code = 1;
        }
        System.exit(code);
    }

    static void parse(String[] args) {
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String value = i + 1 < args.length ? args[i + 1] : null;
            switch (a) {
                case "--runs" -> { runs = Integer.parseInt(need(a, value)); i++; }
                case "--repo" -> { repo = Path.of(need(a, value)).toAbsolutePath().normalize(); i++; }
                case "--script" -> { scripts.add(Path.of(need(a, value)).toAbsolutePath().normalize()); i++; }
                case "--also" -> {
                    String v = need(a, value);
                    int eq = v.indexOf('=');
                    if (eq <= 0) fail("--also wants NAME=SHELL-COMMAND, got: " + v);
                    also.add(new String[] {v.substring(0, eq), v.substring(eq + 1)});
                    i++;
                }
                case "-h", "--help" -> {
                    System.out.println("usage: StartLatency [--repo DIR] [--runs N] [--script FILE]... [--also NAME=SHELL-COMMAND]...");
                    System.exit(0);
                }
                default -> fail("unknown argument: " + a);
            }
        }
        if (runs < 1) fail("--runs must be at least 1");
        if (scripts.isEmpty()) scripts.add(repo.resolve("solutions/05_cgroups.java"));
        for (Path script : scripts) if (!Files.isRegularFile(script)) fail("no such script: " + script);
    }

    static String need(String option, String value) {
        if (value == null) fail(option + " needs a value");
        return value;
    }

    static void run() throws Exception {
        Path image = repo.resolve("build/images/busybox.tar");
        if (!Files.isRegularFile(image)) fail("no " + image + ": run ./build.sh setup first");
        if (which("runc") == null) fail("runc is not installed (./build.sh bench installs it)");

        // The bundle: runc's default config, running /bin/true without a terminal.
        Path bundle = work.resolve("bundle");
        Files.createDirectories(bundle.resolve("rootfs"));
        check(exec(List.of("tar", "-C", bundle.resolve("rootfs").toString(), "-xf", image.toString()), Map.of()), "tar");
        check(exec(List.of("runc", "spec", "--bundle", bundle.toString()), Map.of()), "runc spec");
        Path configFile = bundle.resolve("config.json");
        String config = Files.readString(configFile);
        String edited = config.replaceFirst("\"args\":\\s*\\[\\s*\"sh\"\\s*\\]", "\"args\": [\"/bin/true\"]")
                .replaceFirst("\"terminal\":\\s*true", "\"terminal\": false");
        if (!edited.contains("\"/bin/true\"") || !edited.contains("\"terminal\": false")) {
            fail("could not set process.args and process.terminal in the config of `runc spec`");
        }
        Files.writeString(configFile, edited);

        // The runtime's own state root and cgroup parent.
        Path root = work.resolve("state");
        Files.createDirectories(root.resolve("images"));
        Files.createSymbolicLink(root.resolve("images/busybox.tar"), image);
        Map<String, String> env = Map.of("JOCKER_ROOT", root.toString(), "JOCKER_CGROUP_PARENT", tag);

        List<String> runArgs = List.of("run", "busybox", "true");
        List<Bench> benches = new ArrayList<>();
        benches.add(new Bench("runc run", List.of("runc", "run", "--bundle", bundle.toString(), "%ID%"), Map.of(),
                List.of("runc", "delete", "--force", "%ID%")));
        if (which("crun") != null) {
            List<String> crun = List.of("crun", "run", "--bundle", bundle.toString(), "%ID%");
            if (hybridCgroups()) {
                // crun refuses a cgroup2 mount without controllers next to v1 ones: hide it.
                crun = List.of("unshare", "-m", "sh", "-c",
                        "umount /sys/fs/cgroup/unified && exec crun run --bundle '" + bundle + "' %ID%");
            }
            benches.add(new Bench("crun run", crun, Map.of(), List.of("crun", "delete", "--force", "%ID%")));
        }
        benches.add(new Bench("java -version", List.of(javaCommand(), "-version"), Map.of(), List.of()));

        List<String> javaCommands = new ArrayList<>();
        for (Path script : scripts) {
            // Build the script (and let a //CDS archive be dumped) before JBang prints its command.
            String label = scripts.size() == 1 ? script.getFileName().toString() : label(script);
            List<String> jbang = new ArrayList<>(List.of("jbang", script.toString()));
            jbang.addAll(runArgs);
            check(exec(jbang, env), "jbang " + script);
            List<String> java = resolveJavaCommand(script, runArgs, env);
            javaCommands.add(String.join(" ", java));
            benches.add(new Bench("java command" + (scripts.size() == 1 ? "" : " " + label), java, env, List.of()));
            benches.add(new Bench("jbang " + label, jbang, env, List.of()));
        }
        for (String[] a : also) benches.add(new Bench(a[0], List.of("bash", "-c", a[1]), env, List.of()));

        System.out.printf("start latency of /bin/true in busybox: %d rounds after a warm-up, alternating%n", runs);
        for (String java : javaCommands) System.out.printf("  java command: %s%n", abbreviate(java));
        System.out.printf("  load average before: %s%n", loadAverage());
        int n = 0;
        for (int round = 0; round <= runs; round++) {
            for (Bench b : benches) {
                String id = tag + "-" + (n++);
                List<String> command = b.command.stream().map(s -> s.replace("%ID%", id)).toList();
                long cpu = childrenCpuNanos();
                long start = System.nanoTime();
                Result r = exec(command, b.env);
                long took = System.nanoTime() - start;
                cpu = childrenCpuNanos() - cpu;
                if (!b.cleanup.isEmpty()) {
                    exec(b.cleanup.stream().map(s -> s.replace("%ID%", id)).toList(), Map.of());
                }
                check(r, b.name);
                if (round > 0) {
                    b.nanos.add(took);
                    b.cpuNanos.add(cpu);
                }
            }
        }
        System.out.printf("  load average after:  %s%n", loadAverage());

        double runc = median(benches.get(0).nanos);
        int width = Math.max(26, benches.stream().mapToInt(b -> b.name.length()).max().orElse(0));
        System.out.printf("%n%-" + width + "s %9s %9s %8s %8s%n", "", "median ms", "min ms", "x runc", "cpu ms");
        for (Bench b : benches) {
            double med = median(b.nanos);
            long min = b.nanos.stream().min(Comparator.naturalOrder()).orElseThrow();
            String target = b.name.startsWith("java command") ? target(med / runc, JAVA_TARGET)
                    : b.name.startsWith("jbang ") ? target(med / runc, JBANG_TARGET) : "";
            System.out.printf(Locale.ROOT, "%-" + width + "s %9.0f %9.0f %8.1f %8.0f%s%n",
                    b.name, med / 1e6, min / 1e6, med / runc, median(b.cpuNanos) / 1e6, target);
        }
        System.out.println("(cpu: user+system time of the command and the children it waited for, 10 ms ticks)");
    }

    /** A label for one of several scripts: its path under the repository, else its last three parts. */
    static String label(Path script) {
        if (script.startsWith(repo)) return repo.relativize(script).toString();
        int n = script.getNameCount();
        return script.subpath(Math.max(0, n - 3), n).toString();
    }

    /** User and system time of the children this JVM has waited for (/proc/self/stat cutime + cstime). */
    static long childrenCpuNanos() throws IOException {
        String stat = Files.readString(Path.of("/proc/self/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        // After the command's name: field 3 (state) is f[0], so cutime (16) and cstime (17) are f[13], f[14].
        return (Long.parseLong(f[13]) + Long.parseLong(f[14])) * 10_000_000L;   // clock ticks of 10 ms
    }

    static String target(double ratio, double target) {
        return String.format(Locale.ROOT, "   (target %.0f: %s)", target, ratio <= target ? "met" : "missed");
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

    static boolean hybridCgroups() throws IOException {
        return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
                .anyMatch(l -> l.split(" ")[4].equals("/sys/fs/cgroup/unified"));
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

    record Result(List<String> command, int code, String out, String err) {}

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

    private static final AtomicBoolean cleaned = new AtomicBoolean();

    /** Removes the bundle, the state root and the cgroup parent, whatever happened. */
    static void cleanUp() {
        if (work == null || cleaned.getAndSet(true)) return;
        try {
            // Containers left by a run that failed midway: runc/crun list them by our tag.
            for (String runtime : List.of("runc", "crun")) {
                if (which(runtime) == null) continue;
                Result r = exec(List.of(runtime, "list", "-q"), Map.of());
                for (String id : r.out.split("\\s+")) {
                    if (id.startsWith(tag + "-")) exec(List.of(runtime, "delete", "--force", id), Map.of());
                }
            }
            // The runtime's cgroup parent, in every hierarchy it was made in (deepest first).
            Path cgroups = Path.of("/sys/fs/cgroup");
            List<Path> dirs = new ArrayList<>();
            try (Stream<Path> s = Files.walk(cgroups, 3)) {
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
            // rm -rf (Files.walk follows no symbolic link out of the tree).
            try (Stream<Path> s = Files.walk(work)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
            }
        } catch (Exception e) {
            System.err.println("bench: cleaning up failed: " + e);
        }
    }

    static void fail(String message) { throw new BenchFailure(message); }

    static final class BenchFailure extends RuntimeException {
        BenchFailure(String message) { super(message); }
    }
}
