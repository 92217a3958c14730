import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The java command behind {@code jbang SCRIPT}, resolved once per script.
 *
 * <p>Starting a JVM costs time, so instead of the {@code jbang} launcher the checks run the java
 * command line JBang would exec (JBang's protocol: {@code java -cp JBANG_JARS dev.jbang.Main SCRIPT}
 * builds the script if its cache does not hold it, prints that line and exits 255), with the flags
 * of a short-lived JVM; that saves about 0.6 s and another third of a run.
 * {@code -Djocker.launcher=jbang} and {@code -Djocker.fastjvm=false} turn those off.
 *
 * <p>Several check classes may ask at once: one JBang runs at a time (they share a cache), and a
 * script is built once.
 */
final class JBang {
    private JBang() {}

    private static final Map<Path, List<String>> COMMANDS = new ConcurrentHashMap<>();
    private static final ReentrantLock ONE_AT_A_TIME = new ReentrantLock();
    private static final List<String> FAST_JVM =
            List.of("-XX:TieredStopAtLevel=1", "-XX:CICompilerCount=1", "-XX:+UseSerialGC", "-XX:-UsePerfData", "-Xshare:auto");
    /** javac's error line: {@code /path/02_chroot.java:42: error: ';' expected}. */
    private static final Pattern JAVAC_ERROR = Pattern.compile("^(/?\\S.*?\\.java):(\\d+): error: (.*)$");

    /** The script does not compile (or JBang could not resolve its dependencies). */
    static final class CompileError extends RuntimeException {
        final Path script;
        final String output;

        CompileError(Path script, String message, String output) {
            super(message);
            this.script = script;
            this.output = output;
        }

        /**
         * The compiler's first error, as javac prints it: the {@code file:line: error: ...} line,
         * the source line and the caret under it; else the whole message.
         */
        String firstError() {
            List<String> lines = output.lines().toList();
            for (int i = 0; i < lines.size(); i++) {
                if (!JAVAC_ERROR.matcher(lines.get(i)).matches()) continue;
                List<String> shown = new ArrayList<>(List.of(lines.get(i)));
                for (int j = i + 1; j < Math.min(i + 3, lines.size()); j++) {
                    if (JAVAC_ERROR.matcher(lines.get(j)).matches() || lines.get(j).startsWith("[jbang]")) break;
                    shown.add(lines.get(j));
                }
                return String.join("\n", shown);
            }
            return getMessage();
        }

        /** The file the first error is in, if javac named one. */
        Optional<Path> fileInError() {
            for (String line : output.lines().toList()) {
                Matcher m = JAVAC_ERROR.matcher(line);
                if (m.matches()) return Optional.of(Path.of(m.group(1)).toAbsolutePath().normalize());
            }
            return Optional.empty();
        }
    }

    /** Builds the script unless JBang's cache holds it; the compile error when it does not build. */
    static Optional<CompileError> compile(Path script) {
        try {
            javaCommand(script);
            return Optional.empty();
        } catch (CompileError e) {
            return Optional.of(e);
        }
    }

    /** The command that runs {@code script}: the java command line JBang would exec, or {@code jbang SCRIPT}. */
    static List<String> javaCommand(Path script) {
        Path key = script.toAbsolutePath().normalize();
        List<String> cached = COMMANDS.get(key);
        if (cached != null) return cached;
        ONE_AT_A_TIME.lock();
        try {
            cached = COMMANDS.get(key);
            if (cached != null) return cached;
            List<String> command = resolve(key);
            COMMANDS.put(key, command);
            return command;
        } finally {
            ONE_AT_A_TIME.unlock();
        }
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
        Exec r = exec(List.of("bash", "-c", splitter, java, classpath.get(), script.toString()));
        if (r.exitCode != 0) {
            throw new CompileError(script, "jbang could not build " + script + " (exit " + r.exitCode + "):\n"
                    + r.stderr.strip(), r.stderr);
        }
        List<String> words = new ArrayList<>(Arrays.asList(r.stdout.split("\0")));
        words.removeIf(String::isEmpty);
        if (words.isEmpty()) throw new CompileError(script, "jbang printed no command for " + script, "");
        // A script that has never run gets -XX:ArchiveClassesAtExit from //CDS: every run would
        // dump the class-data archive at its exit (slower), and runs side by side would write the
        // same file at once. The checks make a static archive instead, once (ClassArchive).
        words.removeIf(w -> w.startsWith("-XX:ArchiveClassesAtExit="));
        if (!"false".equals(System.getProperty("jocker.fastjvm")) && words.get(0).endsWith("java")) {
            // A run's JVM lives for a second: C1 only and the serial GC start it about a third
            // faster (the init JVM uses the same flags, see ContainerRuntime.initCommand).
            words.addAll(1, FAST_JVM);
        }
        return List.copyOf(words);
    }

    /** Without JBang's jar at hand: build once with {@code jbang build}, then run {@code jbang SCRIPT} every time. */
    private static List<String> buildWithLauncher(Path script) {
        Exec r = exec(List.of("jbang", "build", script.toString()));
        if (r.exitCode != 0) {
            String output = r.stdout + r.stderr;
            throw new CompileError(script, "jbang could not build " + script + " (exit " + r.exitCode + "):\n"
                    + output.strip(), output);
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

    private record Exec(int exitCode, String stdout, String stderr) {}

    private static Exec exec(List<String> command) {
        Path out = null, err = null;
        Process p = null;
        try {
            out = Files.createTempFile("jocker-check-", ".out");
            err = Files.createTempFile("jocker-check-", ".err");
            p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
            if (!p.waitFor(10, TimeUnit.MINUTES)) {
                return new Exec(-1, "", "timed out after 10 minutes: " + command);
            }
            return new Exec(p.exitValue(), Files.readString(out), Files.readString(err));
        } catch (IOException e) {
            throw new CompileError(Path.of(command.get(command.size() - 1)), "failed to run " + command + ": " + e, "");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CompileError(Path.of(command.get(command.size() - 1)), "interrupted while building", "");
        } finally {
            if (p != null && p.isAlive()) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
            }
            for (Path f : new Path[] {out, err}) {
                try {
                    if (f != null) Files.deleteIfExists(f);
                } catch (IOException ignored) {
                    // a temp file
                }
            }
        }
    }
}
