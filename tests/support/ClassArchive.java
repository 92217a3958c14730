import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import jocker.kernel.Trees;

/**
 * A static class-data archive (AppCDS) for a step file the checks run, made once, where JBang's
 * //CDS keeps its archive (the .jsa beside the script's jar), so that every later run, the
 * learner's own ones too, starts from it.
 *
 * <p>Why: setup gives the solutions such an archive (build.sh's class_archive), but a learner's
 * file, or a step judged on the reference steps before it, is a new jar that has none; JBang
 * would dump one at the end of its first run, which the checks leave out (see {@link JBang}).
 * Without an archive a run costs about 60% more CPU time (measured on step 05: ~2.0 s against
 * ~1.2 s under load), and a check class makes dozens of runs.
 *
 * <p>How, as class_archive does it: training runs of the script in a context of its own (state
 * root, cgroup parent, network: {@link Jocker#open}, removed by {@link Cleanup#close} whatever
 * happens): {@code run true}, or {@code run busybox true}, or from step 08 on {@code run --network
 * none busybox true}; from step 06 on also a pull that cannot connect (port 9 of loopback) and
 * {@code images}, which load the HTTP client's and the image store's classes that a third of a
 * grading's launches need. Every JVM of them writes the classes it loads (-XX:DumpLoadedClassList;
 * the init JVM gets it from JAVA_TOOL_OPTIONS); then {@code java -Xshare:dump} of their union. A
 * training run that fails (a TODO not done, the pull) still lists what it loaded. Anything that
 * goes wrong leaves the command as it was: an archive only makes runs faster, never different.
 * {@code -Djocker.cds=false} turns this off.
 */
final class ClassArchive {
    private ClassArchive() {}

    private static final Map<Path, List<String>> COMMANDS = new ConcurrentHashMap<>();
    private static final Duration TRAINING_TIMEOUT = Duration.ofSeconds(60);
    private static final String ARCHIVE_FLAG = "-XX:SharedArchiveFile=";

    /** JBang's java command for {@code script} (step {@code step}), with a class-data archive if one can be made. */
    static List<String> javaCommand(Path script, int step, Path image) {
        List<String> plain = JBang.javaCommand(script);
        if ("false".equals(System.getProperty("jocker.cds"))) return plain;
        Path key = script.toAbsolutePath().normalize();
        List<String> cached = COMMANDS.get(key);
        if (cached != null) return cached;
        synchronized (lockFor(key)) {
            return COMMANDS.computeIfAbsent(key, k -> withArchive(k, step, image, plain));
        }
    }

    private static final Map<Path, Object> LOCKS = new ConcurrentHashMap<>();

    private static Object lockFor(Path script) { return LOCKS.computeIfAbsent(script, k -> new Object()); }

    private static List<String> withArchive(Path script, int step, Path image, List<String> command) {
        Optional<Parts> parts = Parts.of(command);
        if (parts.isEmpty()) return command;   // not a java command line (the jbang launcher)
        Parts p = parts.get();
        Path jsa = Path.of(p.jar.toString().replaceFirst("\\.jar$", ".jsa"));
        try {
            if (isFresh(jsa, p.jar)) return p.withArchive(jsa);
            if (!train(script, step, image, p, jsa)) return command;
            return p.withArchive(jsa);
        } catch (IOException | RuntimeException e) {
            return command;
        }
    }

    /** CDS's magic number of a static archive; JBang's dynamic one starts with 0xf00baba8. */
    static final int STATIC_MAGIC = 0xf00baba2;

    /** A static archive (its first four bytes {@link #STATIC_MAGIC}, little-endian) newer than the jar. */
    private static boolean isFresh(Path jsa, Path jar) throws IOException {
        if (!Files.isRegularFile(jsa) || Files.getLastModifiedTime(jsa).compareTo(Files.getLastModifiedTime(jar)) < 0) {
            return false;
        }
        try (InputStream in = Files.newInputStream(jsa)) {
            return isStaticArchive(in.readNBytes(4));
        }
    }

    /** Whether {@code head}, a file's first four bytes, is a static archive's magic (a2 ab 0b f0 on disk). */
    static boolean isStaticArchive(byte[] head) {
        return head.length == 4 && ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN).getInt() == STATIC_MAGIC;
    }

    /** The commands of the training runs of step {@code step}'s script: build.sh's warm_solution's. */
    static List<List<String>> trainingRuns(int step) {
        List<String> run = new ArrayList<>(List.of("run"));
        if (step >= Jocker.NETWORK_STEP) run.addAll(List.of("--network", "none"));
        if (step >= 2) run.add("busybox");
        run.add("true");
        if (step < Jocker.PULL_STEP) return List.of(run);
        return List.of(run, List.of("pull", "127.0.0.1:9/jocker-setup:none"), List.of("images"));
    }

    private static boolean train(Path script, int step, Path image, Parts p, Path jsa) throws IOException {
        Path tmp = Files.createTempDirectory("jocker-check-cds-");
        try {
            List<Path> lists = new ArrayList<>();
            Jocker trainer = Jocker.open(name -> switch (name) {
                case "jocker.script" -> Optional.of(script.toString());
                case "jocker.step" -> Optional.of(Integer.toString(step));
                case "jocker.image" -> Optional.of(image.toString());
                default -> Optional.empty();
            });
            try {
                List<List<String>> runs = trainingRuns(step);
                for (int i = 0; i < runs.size(); i++) {
                    List<String> args = runs.get(i);
                    Path runtimeList = tmp.resolve("runtime" + i + ".classes"), initList = tmp.resolve("init" + i + ".classes");
                    lists.addAll(List.of(runtimeList, initList));
                    // The runtime's own flag goes after java (sh inserts it); the init JVM reads JAVA_TOOL_OPTIONS.
                    List<String> insert = List.of("sh", "-c", "j=$1; shift; exec \"$j\" -XX:DumpLoadedClassList=\"$0\" \"$@\"",
                            runtimeList.toString());
                    trainer.startTraining(insert, p.withoutArchive(), args,
                            Map.of("JAVA_TOOL_OPTIONS", "-XX:DumpLoadedClassList=" + initList)).await(TRAINING_TIMEOUT);
                }
            } finally {
                Cleanup.close(trainer);
            }
            Path all = tmp.resolve("all.classes");
            List<String> lines = new ArrayList<>();
            for (Path list : lists) {
                if (Files.exists(list)) lines.addAll(Files.readAllLines(list));
            }
            // Lambdas that touch picocli would make the dump link (and so leave out) its old classes.
            lines = lines.stream().distinct().filter(l -> !(l.startsWith("@lambda-proxy ") && l.contains("picocli/"))).toList();
            if (lines.isEmpty()) return false;
            Files.write(all, lines);
            Path dumped = tmp.resolve("archive.jsa");
            Process dump = new ProcessBuilder(p.java, "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:dump",
                    "-XX:SharedClassListFile=" + all, "-XX:SharedArchiveFile=" + dumped, "-cp", p.classpath)
                    .redirectErrorStream(true).redirectOutput(tmp.resolve("dump.log").toFile()).start();
            if (!dump.waitFor(TRAINING_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                dump.destroyForcibly().waitFor();
                return false;
            }
            if (dump.exitValue() != 0 || !Files.isRegularFile(dumped)) return false;
            // Beside the jar under a temporary name, then renamed: a run never maps half a file.
            Path partial = jsa.resolveSibling(jsa.getFileName() + ".tmp-" + ProcessHandle.current().pid());
            Files.copy(dumped, partial, StandardCopyOption.REPLACE_EXISTING);
            try {
                Files.move(partial, jsa, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(partial, jsa, StandardCopyOption.REPLACE_EXISTING);
            } finally {
                Files.deleteIfExists(partial);
            }
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } finally {
            Trees.delete(tmp);
        }
    }

    /** JBang's java command taken apart: java, the classpath (its first entry the script's jar), the main class. */
    private record Parts(List<String> command, String java, String classpath, Path jar, int mainIndex) {
        static Optional<Parts> of(List<String> command) {
            if (command.isEmpty() || !command.get(0).endsWith("java")) return Optional.empty();
            int cp = Math.max(command.indexOf("-classpath"), command.indexOf("-cp"));
            if (cp < 0 || cp + 1 >= command.size()) return Optional.empty();
            String classpath = command.get(cp + 1);
            String first = classpath.split(":", 2)[0];
            if (!first.endsWith(".jar")) return Optional.empty();
            int main = cp + 2;
            while (main < command.size() && command.get(main).startsWith("-")) main++;
            if (main >= command.size()) return Optional.empty();
            return Optional.of(new Parts(command, command.get(0), classpath, Path.of(first), main));
        }

        List<String> withoutArchive() {
            return command.stream().filter(w -> !w.startsWith(ARCHIVE_FLAG)).toList();
        }

        List<String> withArchive(Path jsa) {
            List<String> out = new ArrayList<>(command.subList(0, mainIndex).stream().filter(w -> !w.startsWith(ARCHIVE_FLAG)).toList());
            out.add(ARCHIVE_FLAG + jsa);
            out.addAll(command.subList(mainIndex, command.size()));
            return List.copyOf(out);
        }
    }
}
