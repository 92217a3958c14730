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
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The black-box runner every check uses: it runs {@code jbang SCRIPT ARGS} as a subprocess, the way
 * a learner does, and hands back what came out ({@link Result}).
 *
 * <p>The harness (Checks.java) sets, as system properties:
 * <ul>
 *   <li>{@code jocker.script}: the step file under test, e.g. {@code solutions/02_chroot.java};</li>
 *   <li>{@code jocker.step}: its step number (else taken from the file name, {@code 02_...});</li>
 *   <li>{@code jocker.root}: the state root of the current check class, a fresh temp directory
 *       whose {@code images/busybox.tar} links to {@code build/images/busybox.tar} (made lazily
 *       when the property is missing, e.g. in an IDE);</li>
 *   <li>{@code jocker.image}: the busybox tarball (else {@code jocker.repo}/build/images/busybox.tar).</li>
 * </ul>
 *
 * <p>Every run gets {@code JOCKER_ROOT} set to that root. Starting a JVM costs time, so instead of
 * the {@code jbang} launcher, the java command line JBang would exec is resolved once per script
 * (JBang's protocol: {@code java -cp JBANG_JARS dev.jbang.Main SCRIPT} prints it and exits 255) and
 * run directly, with the flags of a short-lived JVM; that saves about 0.6 s and another third of a
 * run. {@code -Djocker.launcher=jbang} and {@code -Djocker.fastjvm=false} turn those off.
 *
 * <p>Assertion messages should contain the {@link Result}: its {@code toString} shows the command,
 * the exit code, stdout and stderr, so that a failure names the TODO the runtime complained about
 * (the integrity checks require that of every failure of a skeleton). The helpers of Result do so:
 * <pre>
 *   Jocker.run(Jocker.container("sh", "-c", "exit 3")).assertExit(3).assertStdout("");
 *   Jocker.Result r = Jocker.run(Jocker.container(List.of("--hostname", name), "hostname"));
 *   r.assertExit(0).check(r.stdout().equals(name + "\n"), "expected the container's hostname");
 *   Jocker.Running bg = Jocker.start(Jocker.container("sh", "-c", "echo ready; exec sleep 60"));
 *   bg.awaitOutput("ready", Jocker.TIMEOUT);  bg.signal("TERM");  bg.await().assertExit(143);
 * </pre>
 * A check class is named {@code StepNNChecks} (tests/StepNNChecks.java): Checks.java finds it by
 * that name and runs it against solutions/NN and every later step.
 */
final class Jocker {
    private Jocker() {}

    /** How long a run may take before it is killed and the check fails. */
    static final Duration TIMEOUT = Duration.ofSeconds(Long.getLong("jocker.timeout", 30));

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Map<Path, List<String>> COMMANDS = new ConcurrentHashMap<>();
    private static volatile Path lazyRoot;
    private static final List<String> FAST_JVM =
            List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-XX:-UsePerfData", "-Xshare:auto");

    // ------------------------------------------------------------------------------------------
    // What is under test
    // ------------------------------------------------------------------------------------------

    /** The step file under test. */
    static Path script() {
        String s = System.getProperty("jocker.script");
        if (s == null || s.isBlank()) {
            throw new IllegalStateException("no script under test: set -Djocker.script=solutions/NN_name.java");
        }
        return Path.of(s).toAbsolutePath().normalize();
    }

    /** The step number of the script under test (1 for 01_fork_exec.java). */
    static int step() {
        String s = System.getProperty("jocker.step");
        if (s != null && !s.isBlank()) return Integer.parseInt(s.trim());
        return stepOf(script());
    }

    /** The step number a step file's name starts with: {@code 02_chroot.java} is 2. */
    static int stepOf(Path file) {
        var m = Pattern.compile("^(\\d\\d)_.*\\.java$").matcher(file.getFileName().toString());
        if (!m.matches()) throw new IllegalArgumentException("not a step file (NN_name.java): " + file);
        return Integer.parseInt(m.group(1));
    }

    /** The busybox rootfs tarball the state roots link to. */
    static Path image() {
        String s = System.getProperty("jocker.image");
        if (s != null && !s.isBlank()) return Path.of(s).toAbsolutePath();
        String repo = System.getProperty("jocker.repo");
        if (repo != null && !repo.isBlank()) return Path.of(repo, "build", "images", "busybox.tar").toAbsolutePath();
        Path guess = script().getParent().resolveSibling("build").resolve("images").resolve("busybox.tar");
        return Files.exists(guess) ? guess : Path.of("/var/lib/jocker/images/busybox.tar");
    }

    /** The state root ($JOCKER_ROOT) of the runs of the current check class. */
    static Path root() {
        String s = System.getProperty("jocker.root");
        if (s != null && !s.isBlank()) return Path.of(s);
        if (lazyRoot == null) {
            synchronized (Jocker.class) {
                if (lazyRoot == null) {
                    try {
                        lazyRoot = newRoot();
                    } catch (IOException e) {
                        throw new IllegalStateException("failed to make a state root: " + e, e);
                    }
                }
            }
        }
        return lazyRoot;
    }

    /** A fresh state root: a temp directory with {@code images/busybox.tar} linked to {@link #image()}. */
    static Path newRoot() throws IOException {
        Path root = Files.createTempDirectory("jocker-check-root-");
        Files.createDirectories(root.resolve("images"));
        Files.createSymbolicLink(root.resolve("images").resolve("busybox.tar"), image());
        return root;
    }

    /** Deletes a state root made by {@link #newRoot}, never crossing into a mount left inside it. */
    static void deleteRoot(Path root) {
        try {
            new ProcessBuilder("rm", "-rf", "--one-file-system", root.toString())
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start().waitFor(60, TimeUnit.SECONDS);
        } catch (IOException | InterruptedException e) {
            // a temp directory left behind is not worth failing a check for
        }
    }

    /**
     * The cgroup parent every run uses unless a check sets its own ({@code JOCKER_CGROUP_PARENT}):
     * runs from step 05 on make their cgroups under it, never under the host's {@code jocker}.
     */
    static final String CGROUP_PARENT = "jocker-test-" + ProcessHandle.current().pid();

    /**
     * Removes {@link #CGROUP_PARENT} from every cgroup hierarchy, with any empty cgroup a broken
     * run left in it. Only directories of that exact name are touched: they are ours.
     */
    static void removeCgroupParent() {
        Path top = Path.of("/sys/fs/cgroup");
        List<Path> trees = new ArrayList<>(List.of(top));
        try (Stream<Path> s = Files.list(top)) {
            s.filter(Files::isDirectory).forEach(trees::add);
        } catch (IOException e) {
            return;
        }
        for (Path tree : trees) {
            Path parent = tree.resolve(CGROUP_PARENT);
            if (!Files.isDirectory(parent)) continue;
            try (Stream<Path> s = Files.list(parent)) {
                s.filter(Files::isDirectory).forEach(child -> child.toFile().delete());
            } catch (IOException e) {
                // fall through: the rmdir below reports nothing either, a busy cgroup stays
            }
            parent.toFile().delete();   // rmdir(2); cgroupfs allows it once no cgroup is inside
        }
    }

    /** The container directories left under {@code $JOCKER_ROOT/containers}. */
    static List<Path> leftovers() {
        Path containers = root().resolve("containers");
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

    /** A random token, 16 hex digits after {@code prefix}, to be echoed back. */
    static String token(String prefix) {
        byte[] b = new byte[8];
        RANDOM.nextBytes(b);
        return prefix + HexFormat.of().formatHex(b);
    }

    static String token() { return token("tok"); }

    /**
     * The arguments of {@code run} for {@code command} in a container: {@code run COMMAND...} for
     * step 01, {@code run busybox COMMAND...} from step 02 on, so that step 01's checks hold for
     * every later step.
     */
    static List<String> container(String... command) {
        return container(List.of(), command);
    }

    /** Like {@link #container(String...)}, with {@code run} options before the image: {@code -e K=V}, {@code --hostname h}. */
    static List<String> container(List<String> runOptions, String... command) {
        List<String> args = new ArrayList<>();
        args.add("run");
        args.addAll(runOptions);
        if (step() >= 2) args.add("busybox");
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

    // ------------------------------------------------------------------------------------------
    // Running
    // ------------------------------------------------------------------------------------------

    static Result run(String... args) { return run(List.of(args), null, TIMEOUT); }

    static Result run(List<String> args) { return run(args, null, TIMEOUT); }

    static Result run(List<String> args, String stdin) { return run(args, stdin, TIMEOUT); }

    static Result run(List<String> args, String stdin, Duration timeout) {
        return run(args, Map.of(), stdin, timeout);
    }

    /**
     * Runs {@code jbang SCRIPT ARGS} with {@code JOCKER_ROOT} set (plus {@code env}), feeding it
     * {@code stdin} (null: /dev/null) and waiting at most {@code timeout}; a run that takes longer
     * is killed with its children, and its result says so (exit code -1).
     */
    static Result run(List<String> args, Map<String, String> env, String stdin, Duration timeout) {
        return start(args, env, stdin).await(timeout);
    }

    /** Starts a run in the background, e.g. to signal or kill it; stdin is /dev/null. */
    static Running start(List<String> args) { return start(args, Map.of(), null); }

    /**
     * Runs the script the way {@code wrapper} starts it: the wrapper gets the whole command line
     * as its last arguments and must exec it (e.g. a shell that first ignores a signal).
     */
    static Result runUnder(List<String> wrapper, List<String> args) {
        return start(wrapper, args, Map.of(), null).await(TIMEOUT);
    }

    /** Starts a run in the background with extra environment and stdin (null: /dev/null). */
    static Running start(List<String> args, Map<String, String> env, String stdin) {
        return start(List.of(), args, env, stdin);
    }

    private static Running start(List<String> wrapper, List<String> args, Map<String, String> env, String stdin) {
        List<String> command = new ArrayList<>(wrapper);
        command.addAll(javaCommand(script()));
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
            e.put("JOCKER_ROOT", root().toString());
            e.put("JOCKER_CGROUP_PARENT", CGROUP_PARENT);
            e.putAll(env);
            long started = System.nanoTime();
            Process p = pb.start();
            if (stdin != null) {
                try (OutputStream in = p.getOutputStream()) {
                    in.write(stdin.getBytes(StandardCharsets.UTF_8));
                } catch (IOException closedEarly) {
                    // the command did not read all of its stdin: that is its business
                }
            }
            return new Running(shown(args, env, stdin), p, out, err, started);
        } catch (IOException e) {
            throw new IllegalStateException("failed to start " + command + ": " + e, e);
        }
    }

    /** The command line a learner would type to reproduce a run. */
    private static List<String> shown(List<String> args, Map<String, String> env, String stdin) {
        List<String> shown = new ArrayList<>();
        env.forEach((k, v) -> shown.add(k + "=" + v));
        shown.add("jbang");
        shown.add(displayPath(script()));
        shown.addAll(args);
        return shown;
    }

    private static String displayPath(Path p) {
        String repo = System.getProperty("jocker.repo");
        if (repo != null && p.startsWith(Path.of(repo).toAbsolutePath())) {
            return Path.of(repo).toAbsolutePath().relativize(p).toString();
        }
        return p.toString();
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

        /** Sends a signal by name ({@code TERM}, {@code INT}, {@code KILL}) to the runtime. */
        void signal(String name) {
            try {
                // kill(1) complains when the run has ended already; the check sees that in the result.
                new ProcessBuilder("kill", "-s", name, Long.toString(pid()))
                        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                        .start().waitFor();
            } catch (IOException | InterruptedException e) {
                throw new IllegalStateException("failed to send SIG" + name + " to " + pid() + ": " + e, e);
            }
        }

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
                    process.waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                killTree();
                Thread.currentThread().interrupt();
            }
            Duration took = Duration.ofNanos(System.nanoTime() - started);
            Result r = new Result(shown, timedOut || process.isAlive() ? -1 : process.exitValue(),
                    read(out), read(err), took, timedOut);
            try {
                Files.deleteIfExists(out);
                Files.deleteIfExists(err);
            } catch (IOException ignored) {
                // temp files
            }
            return r;
        }

        Result await() { return await(TIMEOUT); }

        /** Kills the runtime and everything it started (the container dies with it: PR_SET_PDEATHSIG). */
        void killTree() {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
        }

        private static String read(Path p) {
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

    // ------------------------------------------------------------------------------------------
    // Resolving the java command behind `jbang SCRIPT`
    // ------------------------------------------------------------------------------------------

    /** Compiles the script (if JBang's cache does not hold it) and returns JBang's output when that fails. */
    static Optional<String> compile(Path script) {
        try {
            javaCommand(script);
            return Optional.empty();
        } catch (CompileError e) {
            return Optional.of(e.getMessage());
        }
    }

    /** The script does not compile (or JBang could not resolve its dependencies). */
    static final class CompileError extends RuntimeException {
        CompileError(String message) { super(message); }
    }

    /** The command that runs {@code script}: the java command line JBang would exec, or {@code jbang SCRIPT}. */
    static List<String> javaCommand(Path script) {
        List<String> cached = COMMANDS.get(script);
        if (cached != null) return cached;
        List<String> command = resolve(script);
        COMMANDS.put(script, command);
        return command;
    }

    private static List<String> resolve(Path script) {
        Optional<String> classpath = jbangClasspath();
        if (classpath.isEmpty() || "jbang".equals(System.getProperty("jocker.launcher"))) {
            return buildWithLauncher(script);
        }
        String java = Optional.ofNullable(System.getenv("JAVA_HOME")).map(h -> Path.of(h, "bin", "java"))
                .filter(Files::isExecutable).map(Path::toString).orElse("java");
        // JBang prints a shell command line and exits 255; the shell splits it into NUL-separated words.
        String splitter = "out=$(\"$0\" -classpath \"$1\" dev.jbang.Main \"$2\"); rc=$?; "
                + "if [ $rc -ne 255 ]; then printf '%s\\n' \"$out\" >&2; exit $rc; fi; "
                + "eval \"set -- $out\"; printf '%s\\0' \"$@\"";
        ProcessResult r = exec(List.of("bash", "-c", splitter, java, classpath.get(), script.toString()));
        if (r.exitCode != 0) {
            throw new CompileError("jbang could not build " + displayPath(script) + " (exit " + r.exitCode + "):\n"
                    + r.stderr.strip());
        }
        List<String> words = new ArrayList<>(Arrays.asList(r.stdout.split("\0")));
        words.removeIf(String::isEmpty);
        if (words.isEmpty()) throw new CompileError("jbang printed no command for " + script);
        if (!"false".equals(System.getProperty("jocker.fastjvm")) && words.get(0).endsWith("java")) {
            // A run's JVM lives for a second: C1 only and the serial GC start it about a third
            // faster (the init JVM uses the same flags, see ContainerRuntime.initCommand).
            words.addAll(1, FAST_JVM);
        }
        return List.copyOf(words);
    }

    /** Without JBang's jar at hand: build once with {@code jbang build}, then run {@code jbang SCRIPT} every time. */
    private static List<String> buildWithLauncher(Path script) {
        ProcessResult r = exec(List.of("jbang", "build", script.toString()));
        if (r.exitCode != 0) {
            throw new CompileError("jbang could not build " + displayPath(script) + " (exit " + r.exitCode + "):\n"
                    + (r.stdout + r.stderr).strip());
        }
        return List.of("jbang", script.toString());
    }

    /** Where JBang's classes are: the jars of build.sh's install, or jbang.jar next to an official launcher. */
    private static Optional<String> jbangClasspath() {
        Path lib = Path.of("/usr/local/lib/jbang");
        try (Stream<Path> s = Files.isDirectory(lib) ? Files.list(lib) : Stream.empty()) {
            if (s.anyMatch(p -> p.getFileName().toString().startsWith("jbang-cli"))) return Optional.of(lib + "/*");
        } catch (IOException ignored) {
            // fall through
        }
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            Path launcher = Path.of(dir.isEmpty() ? "." : dir, "jbang");
            if (!Files.isExecutable(launcher)) continue;
            try {
                Path jar = launcher.toRealPath().resolveSibling("jbang.jar");
                if (Files.isRegularFile(jar)) return Optional.of(jar.toString());
            } catch (IOException ignored) {
                // next
            }
            break;
        }
        return Optional.empty();
    }

    private record ProcessResult(int exitCode, String stdout, String stderr) {}

    private static ProcessResult exec(List<String> command) {
        try {
            Path out = Files.createTempFile("jocker-check-", ".out");
            Path err = Files.createTempFile("jocker-check-", ".err");
            try {
                ProcessBuilder pb = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile())
                        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
                Process p = pb.start();
                if (!p.waitFor(10, TimeUnit.MINUTES)) {
                    p.destroyForcibly();
                    return new ProcessResult(-1, "", "timed out: " + command);
                }
                return new ProcessResult(p.exitValue(), Files.readString(out), Files.readString(err));
            } finally {
                Files.deleteIfExists(out);
                Files.deleteIfExists(err);
            }
        } catch (IOException | InterruptedException e) {
            throw new CompileError("failed to run " + command + ": " + e);
        }
    }
}
