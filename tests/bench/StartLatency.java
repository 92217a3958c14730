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
//                    (`run --network none` from step 08 on: runc's spec, too, gives the container
//                    a network namespace with lo only, and no bridge or NAT rules are left behind)
//   --also NAME=CMD  any shell command, for experiments (run with bash -c)
// and prints the median and the minimum of each in ms, the ratio of its median to runc's, and
// its median CPU time (less sensitive to a busy machine than the wall clock). The script is run
// once through the launcher before its java command is resolved, so that a //CDS archive exists;
// `./build.sh bench` first makes it the static archive setup makes (build.sh's class_archive).
// The runtime runs with a state root and a cgroup parent of its own; the bench removes them, its
// bundle and every runc/crun container it made, whatever happens.
//
//JAVA 17+
//JAVAC_OPTIONS -J-XX:TieredStopAtLevel=1 -J-XX:+UseSerialGC -J-XX:-UsePerfData
//SOURCES BenchKit.java

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

public class StartLatency extends BenchKit {

    /** The targets of issue 7 item 9, as ratios of medians to runc's. */
    static final double JBANG_TARGET = 20, JAVA_TARGET = 13;

    /** One command timed; %ID% in it and in its cleanup stands for a container id of its own. */
    static final class Bench extends Samples {
        final List<String> command;
        final Map<String, String> env;
        final List<String> cleanup;

        Bench(String name, List<String> command, Map<String, String> env, List<String> cleanup) {
            super(name);
            this.command = command;
            this.env = env;
            this.cleanup = cleanup;
        }
    }

    static Path repo = Path.of(".").toAbsolutePath().normalize();
    static final List<Path> scripts = new ArrayList<>();
    static int runs = 7;
    static final List<String[]> also = new ArrayList<>();
    static final String tag = "jocker-bench-" + ProcessHandle.current().pid();

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

    static void run() throws Exception {
        Path image = repo.resolve("build/images/busybox.tar");
        if (!Files.isRegularFile(image)) fail("no " + image + ": run ./build.sh setup first");
        if (which("runc") == null) fail("runc is not installed (./build.sh bench installs it)");

        // The bundle: runc's default config, running /bin/true without a terminal.
        Path bundle = work.resolve("bundle");
        Files.createDirectories(bundle.resolve("rootfs"));
        check(exec(List.of("tar", "-C", bundle.resolve("rootfs").toString(), "-xf", image.toString()), Map.of()), "tar");
        runcSpec(bundle);

        // The runtime's own state root and cgroup parent.
        Path root = work.resolve("state");
        Files.createDirectories(root.resolve("images"));
        Files.createSymbolicLink(root.resolve("images/busybox.tar"), image);
        Map<String, String> env = Map.of("JOCKER_ROOT", root.toString(), "JOCKER_CGROUP_PARENT", tag);

        List<String> busyboxTrue = List.of("busybox", "true");
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
            List<String> runArgs = new ArrayList<>(List.of("run"));
            runArgs.addAll(networkNone(script, env));   // as runc's spec: a network namespace with lo
            runArgs.addAll(busyboxTrue);
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
                try {
                    time(b, round > 0, b.command.stream().map(s -> s.replace("%ID%", id)).toList(), b.env);
                } finally {
                    if (!b.cleanup.isEmpty()) {
                        exec(b.cleanup.stream().map(s -> s.replace("%ID%", id)).toList(), Map.of());
                    }
                }
            }
        }
        System.out.printf("  load average after:  %s%n", loadAverage());

        double runc = median(benches.get(0).nanos);
        int width = Math.max(26, benches.stream().mapToInt(b -> b.name.length()).max().orElse(0));
        header(width, "x runc");
        for (Bench b : benches) {
            double med = median(b.nanos);
            long min = b.nanos.stream().min(Comparator.naturalOrder()).orElseThrow();
            String target = b.name.startsWith("java command") ? target(med / runc, JAVA_TARGET)
                    : b.name.startsWith("jbang ") ? target(med / runc, JBANG_TARGET) : "";
            System.out.printf(Locale.ROOT, "%-" + width + "s %9.0f %9.0f %7.1f %8.0f %8.1f%s%n",
                    b.name, med / 1e6, min / 1e6, med / runc, median(b.cpuNanos) / 1e6, floor(b, runc), target);
        }
        System.out.println("(cpu: user+system time of the command and the children it waited for, 10 ms ticks)");
        System.out.println("(" + FLOOR_NOTE + ")");
    }

    /** A label for one of several scripts: its path under the repository, else its last three parts. */
    static String label(Path script) {
        if (script.startsWith(repo)) return repo.relativize(script).toString();
        int n = script.getNameCount();
        return script.subpath(Math.max(0, n - 3), n).toString();
    }

    static String target(double ratio, double target) {
        return String.format(Locale.ROOT, "   (target %.0f: %s)", target, ratio <= target ? "met" : "missed");
    }

    static boolean hybridCgroups() throws IOException {
        return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
                .anyMatch(l -> l.split(" ")[4].equals("/sys/fs/cgroup/unified"));
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
                for (String id : r.out().split("\\s+")) {
                    if (id.startsWith(tag + "-")) exec(List.of(runtime, "delete", "--force", id), Map.of());
                }
            }
            removeCgroups(tag);
            // rm -rf (Files.walk follows no symbolic link out of the tree).
            try (Stream<Path> s = Files.walk(work)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
            }
        } catch (Exception e) {
            System.err.println("bench: cleaning up failed: " + e);
        }
    }
}
