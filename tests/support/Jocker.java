import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import jocker.kernel.Processes;

/**
 * The black-box runner of one check class: it runs {@code jbang SCRIPT ARGS} as a subprocess, the
 * way a learner does, and hands back what came out ({@link Result}).
 *
 * <p>A check class gets its own {@code Jocker} from {@link JockerExtension}, as a constructor
 * parameter, and with it names no other class shares, so that classes can run side by side:
 * <ul>
 *   <li>a state root ({@code JOCKER_ROOT}), a fresh temp directory whose {@code images/busybox.tar}
 *       links to {@code build/images/busybox.tar};</li>
 *   <li>a cgroup parent ({@code JOCKER_CGROUP_PARENT=jocker-test-RANDOM});</li>
 *   <li>a network (step 08 on): a bridge {@code jktRANDOM}, iptables chains {@code JKTRANDOM...}
 *       and a subnet 10.213.N.0/24 that no other class and no route of the host has
 *       ({@code JOCKER_BRIDGE}, {@code JOCKER_CHAINS}, {@code JOCKER_SUBNET}), and
 *       {@code JOCKER_FORWARDING=0}: the host's ip_forward is left alone, nothing is routed beyond
 *       the host. Never jocker0, the JOCKER chains or 10.213.0.0/24.</li>
 * </ul>
 * Every run of the class is tracked; after each check whatever still runs is killed, and after the
 * class {@link Cleanup} removes what the runs left (and reports it as a failing check).
 *
 * <p>What is under test comes from the JUnit configuration parameters of the launcher execution
 * (JUnit falls back to system properties of the same names, e.g. in an IDE):
 * <ul>
 *   <li>{@code jocker.script}: the step file under test, e.g. {@code solutions/02_chroot.java};</li>
 *   <li>{@code jocker.step}: its step number (else taken from the file name, {@code 02_...});</li>
 *   <li>{@code jocker.repo}: the workbook's root; {@code jocker.image}: the busybox tarball.</li>
 * </ul>
 *
 * <p>Assertion messages should contain the {@link Result}: its {@code toString} shows the command,
 * the exit code, stdout and stderr, so that a failure names the TODO the runtime complained about
 * (the integrity checks require that of every failure of a skeleton). The helpers of Result do so:
 * <pre>
 *   jocker.run(jocker.container("sh", "-c", "exit 3")).assertExit(3).assertStdout("");
 *   Jocker.Result r = jocker.run(jocker.container(List.of("--hostname", name), "hostname"));
 *   r.assertExit(0).check(r.stdout().equals(name + "\n"), "expected the container's hostname");
 *   Jocker.Running bg = jocker.start(jocker.container("sh", "-c", "echo ready; exec sleep 60"));
 *   bg.awaitOutput("ready", Jocker.TIMEOUT);  bg.signal("TERM");  bg.await().assertExit(143);
 * </pre>
 * A check class is named {@code StepNN...Checks} (tests/steps/): the harness finds it by that name
 * and runs it against solutions/NN and every later step.
 */
final class Jocker {

    /** How long a run may take before it is killed and the check fails. */
    static final Duration TIMEOUT = Duration.ofSeconds(Long.getLong("jocker.timeout", 30));

    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path script;
    private final int step;
    private final Path image;
    private final Path repo;          // null when not run from the harness
    private final Path root;
    private final String cgroupParent;
    private final TestNetwork network;
    private final boolean networkNone; // see open(parameters, checkStep)
    private final List<Running> runs; // shared with the copies made by withScript
    private final List<String> killed;

    /** The first step whose containers get a network (a bridge, a veth, NAT) unless told otherwise. */
    static final int NETWORK_STEP = 8;

    /** The first step with {@code pull}, {@code images} and the other commands of the image store. */
    static final int PULL_STEP = 6;

    private Jocker(Path script, int step, Path image, Path repo, Path root, String cgroupParent, TestNetwork network,
            boolean networkNone, List<Running> runs, List<String> killed) {
        this.script = script;
        this.step = step;
        this.image = image;
        this.repo = repo;
        this.root = root;
        this.cgroupParent = cgroupParent;
        this.network = network;
        this.networkNone = networkNone;
        this.runs = runs;
        this.killed = killed;
    }

    /**
     * A context for one check class: what is under test from {@code parameters} (a JUnit
     * configuration parameter lookup), a fresh state root and a cgroup parent of its own.
     */
    static Jocker open(Function<String, Optional<String>> parameters) throws IOException {
        return open(parameters, 0);
    }

    /**
     * As {@link #open(Function)}, for the checks of step {@code checkStep}. When those are checks of
     * a step before {@link #NETWORK_STEP} run on a later step's file (an earlier step's checks on the
     * final solution, or on a learner's whole chain), its runs get {@code JOCKER_NETWORK=none}
     * unless a check asks for a network itself: what those checks judge does not need one, and a
     * bridge, a veth pair and their ip and iptables commands cost each run about a quarter of a
     * second of CPU. Step 08's own checks judge the network.
     */
    static Jocker open(Function<String, Optional<String>> parameters, int checkStep) throws IOException {
        Cleanup.refuseWhileStopping();
        Path script = parameters.apply("jocker.script").filter(s -> !s.isBlank()).map(Path::of)
                .orElseThrow(() -> new IllegalStateException(
                        "no script under test: set the configuration parameter (or -D) jocker.script=solutions/NN_name.java"))
                .toAbsolutePath().normalize();
        int step = parameters.apply("jocker.step").filter(s -> !s.isBlank()).map(s -> Integer.parseInt(s.trim()))
                .orElseGet(() -> stepOf(script));
        Path repo = parameters.apply("jocker.repo").filter(s -> !s.isBlank()).map(s -> Path.of(s).toAbsolutePath())
                .orElse(null);
        Path image = parameters.apply("jocker.image").filter(s -> !s.isBlank()).map(s -> Path.of(s).toAbsolutePath())
                .orElseGet(() -> {
                    if (repo != null) return repo.resolve("build/images/busybox.tar");
                    Path guess = script.getParent().resolveSibling("build").resolve("images").resolve("busybox.tar");
                    return Files.exists(guess) ? guess : Path.of("/var/lib/jocker/images/busybox.tar");
                });
        Path root = Files.createTempDirectory("jocker-check-root-");
        Files.createDirectories(root.resolve("images"));
        Files.createSymbolicLink(root.resolve("images").resolve("busybox.tar"), image);
        boolean networkNone = checkStep > 0 && checkStep < NETWORK_STEP && step >= NETWORK_STEP;
        Jocker jocker = new Jocker(script, step, image, repo, root, "jocker-test-" + hex(6), TestNetwork.make(),
                networkNone, new CopyOnWriteArrayList<>(), new CopyOnWriteArrayList<>());
        Cleanup.register(jocker);
        return jocker;
    }

    /**
     * The same class's context for another script (e.g. step 02's file beside the one under
     * test): same state root, cgroup parent and tracked runs.
     */
    Jocker withScript(Path otherScript, int otherStep) {
        return new Jocker(otherScript.toAbsolutePath().normalize(), otherStep, image, repo, root, cgroupParent, network,
                networkNone && otherStep >= NETWORK_STEP, runs, killed);
    }

    // ------------------------------------------------------------------------------------------
    // What is under test
    // ------------------------------------------------------------------------------------------

    /** The step file under test. */
    Path script() { return script; }

    /** The step number of the script under test (1 for 01_fork_exec.java). */
    int step() { return step; }

    /** The busybox rootfs tarball the state root links to. */
    Path image() { return image; }

    /** The workbook's root, when the checks run from the harness. */
    Optional<Path> repo() { return Optional.ofNullable(repo); }

    /** The state root ($JOCKER_ROOT) of this class's runs. */
    Path root() { return root; }

    /** The cgroup parent ($JOCKER_CGROUP_PARENT) of this class's runs: from step 05 on they make their cgroups under it. */
    String cgroupParent() { return cgroupParent; }

    /** The network of this class's runs (step 08 on): its bridge, chains and subnet. */
    TestNetwork network() { return network; }

    /**
     * A check class's own network names. The subnet's third number is taken from 1-199 (the unit
     * tests' kernel checks use 200-249), never one another open class has or one the host routes.
     */
    record TestNetwork(String bridge, String chains, int third) {
        private static final java.util.Set<Integer> TAKEN = java.util.concurrent.ConcurrentHashMap.newKeySet();

        static synchronized TestNetwork make() {
            String tag = hex(4);
            String routes = jocker.kernel.HostPrograms.find("ip")
                    .map(ip -> jocker.kernel.HostPrograms.run(List.of(ip, "-4", "route", "show", "table", "all"), "").output())
                    .orElse("");
            int start = RANDOM.nextInt(199);
            for (int i = 0; i < 199; i++) {
                int third = 1 + (start + i) % 199;
                if (!TAKEN.contains(third) && !routes.contains("10.213." + third + ".")) {
                    TAKEN.add(third);
                    return new TestNetwork("jkt" + tag, "JKT" + tag.toUpperCase(), third);
                }
            }
            throw new IllegalStateException("no free subnet 10.213.1-199.0/24 for a check class");
        }

        /** Gives the subnet back, once the class's network is removed. */
        void release() { TAKEN.remove(third); }

        String subnet() { return "10.213." + third + ".0/24"; }

        /** The bridge's address, the containers' gateway. */
        String gateway() { return "10.213." + third + ".1"; }

        /** The environment that gives a run this network. */
        Map<String, String> environment() {
            return Map.of("JOCKER_BRIDGE", bridge, "JOCKER_CHAINS", chains, "JOCKER_SUBNET", subnet(),
                    "JOCKER_FORWARDING", "0");
        }
    }

    /** The step number a step file's name starts with: {@code 02_chroot.java} is 2. */
    static int stepOf(Path file) {
        var m = Pattern.compile("^(\\d\\d)_.*\\.java$").matcher(file.getFileName().toString());
        if (!m.matches()) throw new IllegalArgumentException("not a step file (NN_name.java): " + file);
        return Integer.parseInt(m.group(1));
    }

    /** A check class's name, {@code StepNN...Checks}: the harness finds the classes of step NN by it. */
    static final Pattern CHECK_CLASS = Pattern.compile("Step(\\d\\d)[A-Za-z0-9]*Checks");

    /** The step a check class judges, from its name ({@code Step03Checks} is 3); 0 for any other class. */
    static int stepOfChecks(Class<?> checks) {
        var m = CHECK_CLASS.matcher(checks.getSimpleName());
        return m.matches() ? Integer.parseInt(m.group(1)) : 0;
    }

    /** The container directories left under {@code $JOCKER_ROOT/containers}. */
    List<Path> leftovers() {
        Path containers = root.resolve("containers");
        if (!Files.isDirectory(containers)) return List.of();
        try (Stream<Path> s = Files.list(containers)) {
            return s.sorted().toList();
        } catch (IOException e) {
            throw new IllegalStateException("failed to list " + containers + ": " + e, e);
        }
    }

    // ------------------------------------------------------------------------------------------
    // Building command lines
    // ------------------------------------------------------------------------------------------

    private static String hex(int bytes) {
        byte[] b = new byte[bytes];
        RANDOM.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    /** A random token, 16 hex digits after {@code prefix}, to be echoed back. */
    static String token(String prefix) { return prefix + hex(8); }

    static String token() { return token("tok"); }

    /**
     * The arguments of {@code run} for {@code command} in a container: {@code run COMMAND...} for
     * step 01, {@code run busybox COMMAND...} from step 02 on, so that step 01's checks hold for
     * every later step.
     */
    List<String> container(String... command) {
        return container(List.of(), command);
    }

    /** Like {@link #container(String...)}, with {@code run} options before the image: {@code -e K=V}, {@code --hostname h}. */
    List<String> container(List<String> runOptions, String... command) {
        List<String> args = new ArrayList<>();
        args.add("run");
        args.addAll(runOptions);
        if (step >= 2) args.add("busybox");
        args.addAll(Arrays.asList(command));
        return args;
    }

    /** {@code run [OPTIONS] IMAGE COMMAND...} with an explicit image (a name or a tarball path); step 02 on. */
    static List<String> containerOf(String image, List<String> runOptions, String... command) {
        List<String> args = new ArrayList<>();
        args.add("run");
        args.addAll(runOptions);
        args.add(image);
        args.addAll(Arrays.asList(command));
        return args;
    }

    /**
     * A shell script for a container that a check looks at from outside while it runs: it prints
     * "ready", then waits at most {@code seconds}, and exits 0 at once when the run is sent SIGTERM
     * ({@link Running#stopWaiting}: the runtime passes it on to the container's first process,
     * whose trap ends the wait). So a check takes only as long as its look, and a runtime that
     * does not pass the signal on still ends, after {@code seconds}, as before. The wait is short
     * sleeps in a loop, not one long one, so that nothing outlives the shell, with or without a PID
     * namespace; a trap set in the script itself holds for a PID 1 as well.
     */
    static String readyThenWait(int seconds) {
        return "trap 'exit 0' TERM; echo ready; i=0; while [ $i -lt " + seconds * 10 + " ]; do sleep 0.1; i=$((i + 1)); done";
    }

    // ------------------------------------------------------------------------------------------
    // Running
    // ------------------------------------------------------------------------------------------

    Result run(List<String> args) { return run(args, Map.of(), null, TIMEOUT); }

    Result run(List<String> args, String stdin) { return run(args, Map.of(), stdin, TIMEOUT); }

    /**
     * Runs {@code jbang SCRIPT ARGS} with this class's {@code JOCKER_ROOT} and
     * {@code JOCKER_CGROUP_PARENT} (plus {@code env}), feeding it {@code stdin} (null: /dev/null)
     * and waiting at most {@code timeout}; a run that takes longer is killed with its children,
     * and its result says so (exit code -1).
     */
    Result run(List<String> args, Map<String, String> env, String stdin, Duration timeout) {
        return start(List.of(), args, env, stdin).await(timeout);
    }

    /** Starts a run in the background, e.g. to signal or kill it; stdin is /dev/null. */
    Running start(List<String> args) { return start(List.of(), args, Map.of(), null); }

    /** Starts a run in the background with extra environment and stdin (null: /dev/null). */
    Running start(List<String> args, Map<String, String> env, String stdin) {
        return start(List.of(), args, env, stdin);
    }

    /**
     * Runs the script the way {@code wrapper} starts it: the wrapper gets the whole command line
     * as its last arguments and must exec it (e.g. a shell that first ignores a signal).
     */
    Result runUnder(List<String> wrapper, List<String> args) {
        return start(wrapper, args, Map.of(), null).await(TIMEOUT);
    }

    private Running start(List<String> wrapper, List<String> args, Map<String, String> env, String stdin) {
        return start(wrapper, ClassArchive.javaCommand(script, step, image), args, env, stdin);
    }

    /** A run of {@code java} (JBang's command line, as is) under {@code wrapper}: ClassArchive's training run. */
    Running startTraining(List<String> wrapper, List<String> java, List<String> args, Map<String, String> env) {
        return start(wrapper, java, args, env, null);
    }

    private Running start(List<String> wrapper, List<String> java, List<String> args, Map<String, String> env,
            String stdin) {
        Cleanup.refuseWhileStopping();
        List<String> command = new ArrayList<>(wrapper);
        command.addAll(java);
        command.addAll(args);
        try {
            Path out = Files.createTempFile("jocker-check-", ".out");
            Path err = Files.createTempFile("jocker-check-", ".err");
            ProcessBuilder pb = new ProcessBuilder(command)
                    .redirectOutput(out.toFile()).redirectError(err.toFile());
            pb.redirectInput(stdin == null ? ProcessBuilder.Redirect.from(new File("/dev/null"))
                    : ProcessBuilder.Redirect.PIPE);
            Map<String, String> e = pb.environment();
            // A check decides about tracing and debugging itself, whatever the caller's shell says.
            e.remove("JOCKER_TRACE");
            e.remove("JOCKER_DEBUG");
            e.put("JOCKER_ROOT", root.toString());
            e.put("JOCKER_CGROUP_PARENT", cgroupParent);
            e.putAll(network.environment());
            if (networkNone) e.put("JOCKER_NETWORK", "none");   // a check's own env, or --network, overrides it
            e.putAll(env);
            long started = System.nanoTime();
            Process p = pb.start();
            Running running = new Running(shown(args, env), p, out, err, started);
            runs.add(running);
            if (stdin != null) {
                try (OutputStream in = p.getOutputStream()) {
                    in.write(stdin.getBytes(StandardCharsets.UTF_8));
                } catch (IOException closedEarly) {
                    // the command did not read all of its stdin: that is its business
                }
            }
            return running;
        } catch (IOException e) {
            throw new IllegalStateException("failed to start " + command + ": " + e, e);
        }
    }

    /**
     * Tracks a process a check started on the host other than a run (the cgroup v2 VM, say): it is
     * stopped like a run, after its check and after the class, and when the harness is stopped.
     */
    void track(Process process, String what) {
        Cleanup.refuseWhileStopping();
        runs.add(new Running(List.of(what), process, null, null, System.nanoTime()));
    }

    /**
     * Kills every run of this class that still runs, with its children, and reaps it: after each
     * check, and after the class. What was killed is remembered for the class's cleanup to report.
     */
    void stopRuns() {
        for (Running r : runs) {
            if (!r.process.isAlive()) continue;
            r.killTree();
            killed.add("run " + r.pid() + " still ran after its check, killed with its children: "
                    + r.shown.stream().map(Jocker::shellQuote).collect(Collectors.joining(" ")));
        }
        // A run its check never awaited (it ended on its own, or was killed above) still has its
        // output files in /tmp: await deletes them, so this does it for the others.
        runs.removeIf(r -> {
            if (r.process.isAlive()) return false;
            r.deleteOutput();
            return true;
        });
    }

    /** What {@link #stopRuns} killed, and the runs it could not kill. */
    List<String> stoppedRuns() {
        List<String> all = new ArrayList<>(killed);
        for (Running r : runs) {
            if (r.process.isAlive()) all.add("run " + r.pid() + " could not be killed: " + String.join(" ", r.shown));
        }
        return all;
    }

    /** The command line a learner would type to reproduce a run. */
    private List<String> shown(List<String> args, Map<String, String> env) {
        List<String> shown = new ArrayList<>();
        env.forEach((k, v) -> shown.add(k + "=" + v));
        shown.add("jbang");
        shown.add(repo != null && script.startsWith(repo) ? repo.relativize(script).toString() : script.toString());
        shown.addAll(args);
        return shown;
    }

    /** A run in the background. */
    static final class Running {
        final List<String> shown;
        final Process process;
        private final Path out;
        private final Path err;
        private final long started;

        Running(List<String> shown, Process process, Path out, Path err, long started) {
            this.shown = shown;
            this.process = process;
            this.out = out;
            this.err = err;
            this.started = started;
        }

        /** The pid of the runtime (the JVM of {@code run}, which has the container's init as its child). */
        long pid() { return process.pid(); }

        /**
         * The container's first process as the host sees it: the runtime's child (init, which
         * became the user's command), once it exists.
         */
        Optional<ProcessHandle> init() {
            return process.children().filter(ProcessHandle::isAlive).findFirst();
        }

        /** What the run has printed on stderr so far, e.g. to wait for a line. */
        String stderrSoFar() { return read(err); }

        /** What the run has printed on stdout so far. */
        String stdoutSoFar() { return read(out); }

        /**
         * Sends a signal by name ({@code TERM}, {@code INT}, {@code KILL}) to the runtime; a run
         * that has ended already is left alone (the check sees that in the result).
         */
        void signal(String name) {
            Processes.signalIfAlive(pid(), Processes.signalNumber(name));
        }

        /** Ends the wait of {@link #readyThenWait}: SIGTERM to the runtime, if the run still runs. */
        void stopWaiting() { signal("TERM"); }

        /** Waits until {@code stdout} or {@code stderr} contains {@code text}, at most {@code timeout}. */
        boolean awaitOutput(String text, Duration timeout) {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (System.nanoTime() < deadline) {
                if (stdoutSoFar().contains(text) || stderrSoFar().contains(text)) return true;
                if (!process.isAlive()) return stdoutSoFar().contains(text) || stderrSoFar().contains(text);
                sleep(50);
            }
            return false;
        }

        /** Waits for the run to end (killing it and its children after {@code timeout}) and collects its result. */
        Result await(Duration timeout) {
            boolean timedOut = false;
            try {
                if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    timedOut = true;
                    killTree();
                }
            } catch (InterruptedException e) {
                killTree();
                Thread.currentThread().interrupt();
            }
            Duration took = Duration.ofNanos(System.nanoTime() - started);
            Result r = new Result(shown, timedOut || process.isAlive() ? -1 : process.exitValue(),
                    read(out), read(err), took, timedOut);
            deleteOutput();
            return r;
        }

        /** Deletes the files the run's stdout and stderr went to. */
        void deleteOutput() {
            try {
                if (out != null) Files.deleteIfExists(out);
                if (err != null) Files.deleteIfExists(err);
            } catch (IOException ignored) {
                // temp files
            }
        }

        Result await() { return await(TIMEOUT); }

        /**
         * SIGKILLs the runtime and everything it started (children first, so that none is handed
         * to another parent before it is found), then reaps the runtime.
         */
        void killTree() {
            List<ProcessHandle> tree = process.descendants().toList();
            tree.forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                while (tree.stream().anyMatch(ProcessHandle::isAlive) && System.nanoTime() < deadline) sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        private static String read(Path p) {
            if (p == null) return "";
            try {
                return Files.readString(p, StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "";
            }
        }
    }

    /** What a run did. Its {@code toString} is what an assertion message should include. */
    record Result(List<String> command, int exitCode, String stdout, String stderr, Duration took, boolean timedOut) {

        /** The non-blank lines of stderr. */
        List<String> stderrLines() {
            return stderr.lines().filter(l -> !l.isBlank()).toList();
        }

        /** Fails the check unless the run exited with {@code code}. */
        Result assertExit(int code) {
            if (timedOut) fail("the run did not end within " + took.toSeconds() + " s (expected exit code " + code + ")\n" + this);
            if (exitCode != code) fail("expected exit code " + code + ", got " + exitCode + "\n" + this);
            return this;
        }

        /** Fails the check unless stdout is exactly {@code expected}. */
        Result assertStdout(String expected) {
            if (!stdout.equals(expected)) {
                fail("expected stdout to be exactly " + quote(expected) + ", got " + quote(stdout) + "\n" + this);
            }
            return this;
        }

        /** Fails the check unless stderr is exactly one line (an error message) that contains every {@code part}. */
        Result assertOneLineError(String... parts) {
            List<String> lines = stderrLines();
            if (lines.size() != 1) {
                fail("expected exactly one line on stderr, got " + lines.size() + "\n" + this);
            }
            for (String part : parts) {
                if (!lines.get(0).contains(part)) {
                    fail("expected the error line to mention " + quote(part) + "\n" + this);
                }
            }
            return this;
        }

        /** Fails the check with {@code reason} unless {@code condition} holds. */
        Result check(boolean condition, String reason) {
            if (!condition) fail(reason + "\n" + this);
            return this;
        }

        @Override
        public String toString() {
            StringBuilder s = new StringBuilder();
            s.append("  $ ").append(command.stream().map(Jocker::shellQuote).collect(Collectors.joining(" "))).append('\n');
            s.append("  exit code: ").append(timedOut ? "none, killed after " + took.toSeconds() + " s" : exitCode)
                    .append(String.format(" (%.2f s)%n", took.toMillis() / 1000.0));
            s.append("  stdout:").append(block(stdout));
            s.append("  stderr:").append(block(stderr));
            return s.toString();
        }

        private static String block(String text) {
            if (text.isEmpty()) return " (empty)\n";
            List<String> lines = text.lines().toList();
            // The head shows what went wrong first, the tail the runtime's last word (a TODO line).
            if (lines.size() > 40) {
                List<String> cut = new ArrayList<>(lines.subList(0, 15));
                cut.add("... (" + (lines.size() - 30) + " lines cut)");
                cut.addAll(lines.subList(lines.size() - 15, lines.size()));
                lines = cut;
            }
            return "\n" + lines.stream().map(l -> "    | " + l).collect(Collectors.joining("\n")) + "\n";
        }
    }

    static String quote(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\n", "\\n").replace("\"", "\\\"") + "\"";
    }

    static String shellQuote(String s) {
        if (!s.isEmpty() && s.matches("[A-Za-z0-9_./=:,+@%-]+")) return s;
        return "'" + s.replace("'", "'\\''") + "'";
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
