///usr/bin/env jbang "$0" "$@" ; exit $?
// Pulling and unpacking a ~100 MB multi-layer image: step 06's `pull` against `skopeo copy`, and
// our layer unpacker against `umoci unpack`, timed in the same run, alternating, as ratios
// (issue 8, item 9).
//
// Usage: ./build.sh bench pull [--runs N] [--script FILE]
//        (or, as root: jbang tests/bench/PullBench.java --repo DIR [options])
//
// The image: built by umoci (`umoci raw add-layer`, which gzips each layer as registries serve
// them) and pushed by skopeo to a real registry (Debian's docker-registry) on a free loopback
// port; nothing of ours makes it. Seven layers of mixed content, generated from a fixed seed:
//   1 busybox      the workbook's busybox rootfs (build/images/busybox.tar): a static binary and
//                  ~400 hard links to it
//   2 random       3 x 20 MiB of random bytes (incompressible: gzip only costs time here)
//   3 text         40 MiB of log-like text (compresses about 6:1)
//   4 small files  6000 files of 256 B to 8 KiB in 60 directories, half text, half random
//   5 binary       16 MiB of low-entropy bytes (compresses about 2:1) and 8 MiB random
//   6 config       a few files, symlinks and a hard link
//   7 whiteouts    deletes a file and empties a directory of layer 4 (.wh.NAME, .wh..wh..opq)
//
// What it times, N rounds (default 5) after one warm-up round, each round running every command
// once, in turn (the order of each pair reversed every other round), so that a noisy machine
// slows them all alike:
//   pull     `skopeo copy docker://HOST/IMAGE oci:DIR:TAG` into a fresh directory   (reference)
//            `jbang SCRIPT pull HOST/IMAGE` into a fresh state root (JOCKER_ROOT)
//            the java command line JBang prints for it, run directly (no JBang launcher)
//   unpack   `umoci unpack --image DIR:TAG BUNDLE` from the layout skopeo wrote      (reference)
//            Layers.apply of the image our pull stored, into a fresh directory, in this JVM
//            (the unpacker alone: no JVM start; its first runs in the warm-up round)
//   run      `umoci unpack` + `runc run` (config of `runc spec`, /bin/true) + `runc delete` +
//            `rm -rf BUNDLE`, summed                                                 (reference)
//            `jbang SCRIPT run HOST/IMAGE true`: unpack, start, exit, remove the container
// and prints the median and the minimum of each in ms, the ratio of its median to its
// reference's, its median CPU time, and a verdict line per target of the issue: pull no slower
// than skopeo, unpacking no slower than umoci (ratios of medians <= 1.0).
// The bench removes the registry (by its process), its temp directories, the runc containers it
// made (by their ids) and the runtime's cgroup parent, whatever happens, Ctrl-C included.
//
//JAVA 17+
//JAVAC_OPTIONS -XDignore.symbol.file
//DEPS org.junit.platform:junit-platform-console-standalone:1.11.4
//DEPS org.apache.commons:commons-compress:1.27.1
//SOURCES BenchKit.java
//SOURCES ../support/*.java
//SOURCES ../../lib/jocker/**/*.java
//MAIN PullBench

import java.io.IOException;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

import jocker.image.Credentials;
import jocker.image.Descriptor;
import jocker.image.ImageHooks;
import jocker.image.ImageStore;
import jocker.image.Index;
import jocker.image.Layers;
import jocker.image.Platform;
import jocker.image.TokenService;
import jocker.image.WwwAuthenticate;
import jocker.kernel.Trees;

public class PullBench extends BenchKit {

    /** The targets of issue 8 item 9, as ratios of medians to the reference tool's. */
    static final double PULL_TARGET = 1.0, UNPACK_TARGET = 1.0;
    static final String REPOSITORY = "jocker-bench/mixed", TAG = "v1";

    static Path repo = Path.of(".").toAbsolutePath().normalize();
    static Path script;
    static int runs = 5;
    static final String tag = "jocker-pullbench-" + ProcessHandle.current().pid();
    static RegistryServer registry;
    /** runc containers this bench made: deleted by their ids, whatever happens. */
    static final List<String> runcIds = new CopyOnWriteArrayList<>();

    public static void main(String[] args) throws Exception {
        int code = 0;
        try {
            parse(args);
            if (!"root".equals(System.getProperty("user.name"))) fail("must run as root (containers and umoci unpack need it)");
            work = Files.createTempDirectory(tag + "-");
            // Also on Ctrl-C, which ends the JVM without running finally blocks.
            Runtime.getRuntime().addShutdownHook(new Thread(PullBench::cleanUp, "pull-bench-cleanup"));
            run();
        } catch (BenchFailure e) {
            System.err.println("bench: " + e.getMessage());
            code = 1;
        } catch (Exception | Error e) {
            System.err.print("bench: ");
            e.printStackTrace();
            code = 1;
        } finally {
            // Here rather than in our shutdown hook: on Ctrl-C, RegistryServer's own hook stops it,
            // and two threads deleting its storage at once would trip over each other.
            if (registry != null && !shuttingDown) registry.close();
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
                case "--script" -> { script = Path.of(need(a, value)).toAbsolutePath().normalize(); i++; }
                case "-h", "--help" -> {
                    System.out.println("usage: PullBench [--repo DIR] [--runs N] [--script FILE]");
                    System.exit(0);
                }
                default -> fail("unknown argument: " + a);
            }
        }
        if (runs < 1) fail("--runs must be at least 1");
        if (script == null) script = repo.resolve("solutions/06_pull_image.java");
        if (!Files.isRegularFile(script)) fail("no such script: " + script);
    }

    static void run() throws Exception {
        Path busybox = repo.resolve("build/images/busybox.tar");
        if (!Files.isRegularFile(busybox)) fail("no " + busybox + ": run ./build.sh setup first");
        for (String tool : List.of("docker-registry", "skopeo", "umoci", "runc", "tar")) {
            if (which(tool) == null) fail(tool + " is not installed (./build.sh bench pull installs it)");
        }

        registry = RegistryServer.start();
        String image = registry.host() + "/" + REPOSITORY + ":" + TAG;
        System.out.printf("building the image with umoci, pushing it with skopeo to %s ...%n", registry);
        long t0 = System.nanoTime();
        buildImage(busybox, "docker://" + image);
        System.out.printf("  done in %.1f s%n", (System.nanoTime() - t0) / 1e9);

        // runc's default config, running /bin/true without a terminal: it replaces umoci's.
        Path runcConfig = runcSpec(Files.createDirectories(work.resolve("runc-spec")));

        // Nothing of the host's docker login may change what our pull does.
        Path dockerConfig = Files.createDirectories(work.resolve("docker-config"));

        // Our script, built (and its //CDS archive dumped) before anything is timed; then the java
        // command lines JBang prints for pull and run.
        Path scratch = Files.createDirectories(work.resolve("scratch-root"));
        Map<String, String> scratchEnv = env(scratch, dockerConfig);
        check(exec(List.of("jbang", script.toString(), "pull", image), scratchEnv), "jbang pull (first build)");
        check(exec(List.of("jbang", script.toString(), "run", image, "true"), scratchEnv), "jbang run (first build)");
        List<String> javaPull = resolveJavaCommand(script, List.of("pull", image), scratchEnv);
        List<String> javaRun = resolveJavaCommand(script, List.of("run", image, "true"), scratchEnv);
        Sizes sizes = sizes(scratch, image);
        Trees.delete(scratch);

        Samples skopeo = new Samples("skopeo copy");
        Samples jbangPull = new Samples("jbang pull");
        Samples javaPullBench = new Samples("java command pull");
        Samples umoci = new Samples("umoci unpack");
        Samples apply = new Samples("Layers.apply (in-process)");
        Samples umociRunc = new Samples("umoci unpack + runc run");
        Samples jbangRun = new Samples("jbang run (first run)");
        Samples javaRunBench = new Samples("java command run");

        System.out.printf("%npulling and unpacking %s: %d rounds after a warm-up, alternating%n", image, runs);
        System.out.printf("  image: %d layers, %s compressed (gzip), %s unpacked (%d files and links)%n",
                sizes.layers, mb(sizes.compressed), mb(sizes.unpacked), sizes.files);
        System.out.printf("  layers (compressed, bottom first): %s%n",
                String.join(", ", sizes.layerSizes.stream().map(PullBench::mb).toList()));
        System.out.printf("  java command pull: %s%n", abbreviate(String.join(" ", javaPull)));
        System.out.printf("  java command run:  %s%n", abbreviate(String.join(" ", javaRun)));
        System.out.printf("  load average before: %s%n", loadAverage());
        ImageHooks hooks = new UnpackHooks();
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        int n = 0;
        for (int round = 0; round <= runs; round++) {
            boolean timed = round > 0, reversed = round % 2 == 1;
            Path dir = Files.createDirectories(work.resolve("round-" + round));
            Path ours = dir.resolve("state"), javaOurs = dir.resolve("state-java"), layout = dir.resolve("oci");
            Map<String, String> oursEnv = env(ours, dockerConfig), javaEnv = env(javaOurs, dockerConfig);

            // pull: into a fresh state root / a fresh layout each time
            Timed[] pull = {
                () -> time(skopeo, timed, List.of("skopeo", "copy", "--quiet", "--src-tls-verify=false",
                        "docker://" + image, "oci:" + layout + ":" + TAG), Map.of()),
                () -> time(jbangPull, timed, List.of("jbang", script.toString(), "pull", image), oursEnv),
                () -> time(javaPullBench, timed, javaPull, javaEnv),
            };
            runAll(pull, reversed);
            Trees.delete(javaOurs);

            // unpack: umoci from skopeo's layout; ours in this JVM, from the store our pull wrote
            ImageStore store = ImageStore.open(ours.resolve("images"));
            ImageStore.Image stored = store.find(image).orElseThrow(() -> new BenchFailure("our pull stored no " + image));
            int warmups = round == 0 ? 2 : 1;
            Timed[] unpack = {
                () -> time(umoci, timed, List.of("umoci", "unpack", "--image", layout + ":" + TAG,
                        dir.resolve("umoci-bundle").toString()), Map.of()),
                () -> {
                    // In the warm-up round twice, so that the JIT has compiled the unpacker's loops.
                    for (int w = 0; w < warmups; w++) {
                        Path rootfs = Files.createDirectories(dir.resolve("apply-" + w));
                        long cpu = threads.getCurrentThreadCpuTime();
                        long start = System.nanoTime();
                        Layers.apply(store, stored, rootfs, hooks);
                        long took = System.nanoTime() - start;
                        cpu = threads.getCurrentThreadCpuTime() - cpu;
                        if (timed) apply.add(took, cpu);
                        Trees.delete(rootfs);
                    }
                },
            };
            runAll(unpack, reversed);
            Trees.delete(dir.resolve("umoci-bundle"));

            // run: unpack and start /bin/true, then remove it all, as `run` does
            Path bundle = dir.resolve("runc-bundle");
            String id = tag + "-" + (n++);
            Timed[] start = {
                () -> {
                    long cpu = childrenCpuNanos();
                    long begin = System.nanoTime();
                    check(exec(List.of("umoci", "unpack", "--image", layout + ":" + TAG, bundle.toString()), Map.of()), "umoci unpack");
                    Files.copy(runcConfig, bundle.resolve("config.json"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                    runcIds.add(id);
                    Result r = exec(List.of("runc", "run", "--bundle", bundle.toString(), id), Map.of());
                    Result d = exec(List.of("runc", "delete", "--force", id), Map.of());
                    check(r, "runc run");
                    check(d, "runc delete");
                    runcIds.remove(id);
                    check(exec(List.of("rm", "-rf", "--one-file-system", bundle.toString()), Map.of()), "rm -rf");
                    long took = System.nanoTime() - begin;
                    if (timed) umociRunc.add(took, childrenCpuNanos() - cpu);
                },
                () -> time(jbangRun, timed, List.of("jbang", script.toString(), "run", image, "true"), oursEnv),
                () -> time(javaRunBench, timed, javaRun, oursEnv),
            };
            runAll(start, reversed);
            Trees.delete(dir);
            System.out.printf("  round %d of %d done%s%n", round, runs, round == 0 ? " (warm-up, not counted)" : "");
        }
        System.out.printf("  load average after:  %s%n", loadAverage());

        int width = 30;
        System.out.printf("%n%-" + width + "s %9s %9s %7s %8s%n", "", "median ms", "min ms", "ratio", "cpu ms");
        table(width, "pull (ratio to skopeo copy)", skopeo, List.of(skopeo, jbangPull, javaPullBench));
        table(width, "unpack (ratio to umoci unpack)", umoci, List.of(umoci, apply));
        table(width, "unpack and start /bin/true (ratio to umoci unpack + runc run)", umociRunc,
                List.of(umociRunc, jbangRun, javaRunBench));
        System.out.println("(cpu: user+system time of the command and the children it waited for, 10 ms ticks;"
                + " in-process: this thread's; the registry's own CPU time is not counted)");
        System.out.println();
        verdict("pull: jbang pull vs skopeo copy", jbangPull, skopeo, PULL_TARGET);
        verdict("unpack: Layers.apply vs umoci unpack", apply, umoci, UNPACK_TARGET);
        verdict("first run: jbang run vs umoci unpack + runc run", jbangRun, umociRunc, UNPACK_TARGET);
        System.out.printf(Locale.ROOT, "(without the JBang launcher: java command pull %.2f x skopeo copy, java command run"
                + " %.2f x umoci unpack + runc run)%n", median(javaPullBench.nanos) / median(skopeo.nanos),
                median(javaRunBench.nanos) / median(umociRunc.nanos));
    }

    interface Timed { void run() throws Exception; }

    static void runAll(Timed[] steps, boolean reversed) throws Exception {
        for (int i = 0; i < steps.length; i++) steps[reversed ? steps.length - 1 - i : i].run();
    }

    static Map<String, String> env(Path stateRoot, Path dockerConfig) {
        return Map.of("JOCKER_ROOT", stateRoot.toString(), "JOCKER_CGROUP_PARENT", tag,
                "DOCKER_CONFIG", dockerConfig.toString());
    }

    static void table(int width, String title, Samples reference, List<Samples> benches) {
        System.out.println(title);
        double ref = median(reference.nanos);
        for (Samples b : benches) {
            double med = median(b.nanos);
            long min = b.nanos.stream().min(Comparator.naturalOrder()).orElseThrow();
            System.out.printf(Locale.ROOT, "  %-" + (width - 2) + "s %9.0f %9.0f %7.2f %8.0f%n",
                    b.name, med / 1e6, min / 1e6, med / ref, median(b.cpuNanos) / 1e6);
        }
    }

    static void verdict(String what, Samples ours, Samples reference, double target) {
        double ratio = median(ours.nanos) / median(reference.nanos);
        System.out.printf(Locale.ROOT, "target %-48s ratio %.2f (<= %.1f): %s%n", what, ratio, target,
                ratio <= target ? "met" : "MISSED");
    }

    // ------------------------------------------------------------------------------------------
    // The image
    // ------------------------------------------------------------------------------------------

    /** Makes the seven layers as tarballs (GNU tar), adds them with umoci, pushes with skopeo. */
    static void buildImage(Path busybox, String destination) throws IOException {
        Path fixture = Files.createDirectories(work.resolve("fixture"));
        Path layout = fixture.resolve("layout");
        String at = layout + ":" + TAG;
        Fixtures.tool(fixture, List.of("umoci", "init", "--layout", layout.toString()), 60);
        Fixtures.tool(fixture, List.of("umoci", "new", "--image", at), 60);
        SplittableRandom random = new SplittableRandom(20240601);
        for (int i = 1; i <= 7; i++) {
            Path dir = fixture.resolve("layer-" + i);
            Files.createDirectories(dir);
            switch (i) {
                case 1 -> Fixtures.tool(fixture, List.of("tar", "-C", dir.toString(), "-xpf", busybox.toString()), 60);
                case 2 -> {
                    for (int f = 1; f <= 3; f++) writeRandom(dir.resolve("opt/data/blob-" + f + ".bin"), 20 << 20, random);
                }
                case 3 -> {
                    for (int f = 1; f <= 4; f++) writeText(dir.resolve("usr/share/doc/bench/log-" + f + ".txt"), 10 << 20, random);
                }
                case 4 -> {
                    for (int f = 0; f < 6000; f++) {
                        Path file = dir.resolve("usr/lib/bench/d" + (f % 60) + "/f" + f + (f % 2 == 0 ? ".txt" : ".bin"));
                        int size = 256 + random.nextInt(8 * 1024 - 256);
                        if (f % 2 == 0) writeText(file, size, random); else writeRandom(file, size, random);
                    }
                }
                case 5 -> {
                    writeLowEntropy(dir.resolve("usr/lib/bench/libbig.so"), 16 << 20, random);
                    writeRandom(dir.resolve("usr/lib/bench/libcrypto-ish.so"), 8 << 20, random);
                }
                case 6 -> {
                    Files.createDirectories(dir.resolve("etc/bench"));
                    Files.writeString(dir.resolve("etc/bench/bench.conf"), "threads = 4\nlog = /var/log/bench.log\n");
                    Files.writeString(dir.resolve("etc/motd"), "a benchmark image\n");
                    Files.createDirectories(dir.resolve("usr/lib/bench"));
                    Files.createSymbolicLink(dir.resolve("usr/lib/bench/libbig.so.1"), Path.of("libbig.so"));
                    Files.createSymbolicLink(dir.resolve("etc/bench/current"), Path.of("/etc/bench/bench.conf"));
                    Files.createLink(dir.resolve("etc/bench/bench.conf.orig"), dir.resolve("etc/bench/bench.conf"));
                }
                case 7 -> {
                    // a deleted file and an emptied directory of layer 4
                    Files.createDirectories(dir.resolve("usr/lib/bench/d1"));
                    Files.createDirectories(dir.resolve("usr/lib/bench/d2"));
                    Files.writeString(dir.resolve("usr/lib/bench/d1/.wh.f1.bin"), "");
                    Files.writeString(dir.resolve("usr/lib/bench/d2/.wh..wh..opq"), "");
                    Files.writeString(dir.resolve("usr/lib/bench/d2/new.txt"), "only this is left in d2\n");
                }
                default -> throw new IllegalStateException();
            }
            // The "./" entry of each layer: 0755 (busybox.tar's own is 0700, from mktemp -d).
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            Path tar = fixture.resolve("layer-" + i + ".tar");
            Fixtures.tool(fixture, List.of("tar", "--sort=name", "--numeric-owner", "--owner=0", "--group=0",
                    "--mtime=@946684800", "-C", dir.toString(), "-cf", tar.toString(), "."), 120);
            Trees.delete(dir);
            Fixtures.tool(fixture, List.of("umoci", "raw", "add-layer", "--image", at, tar.toString()), 300);
            Files.delete(tar);
        }
        Fixtures.tool(fixture, List.of("umoci", "config", "--image", at,
                "--config.env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "--config.cmd", "/bin/sh"), 60);
        Fixtures.tool(fixture, List.of("skopeo", "copy", "--quiet", "--dest-tls-verify=false", "oci:" + at, destination), 300);
        Trees.delete(fixture);
    }

    static void writeRandom(Path file, int size, SplittableRandom random) throws IOException {
        byte[] bytes = new byte[size];
        for (int i = 0; i < size; ) {
            long r = random.nextLong();
            for (int k = 0; k < 8 && i < size; k++, r >>>= 8) bytes[i++] = (byte) r;
        }
        write(file, bytes);
    }

    /** Bytes of a few values with runs, like code and tables in a shared library. */
    static void writeLowEntropy(Path file, int size, SplittableRandom random) throws IOException {
        byte[] bytes = new byte[size];
        for (int i = 0; i < size; ) {
            int run = 1 + random.nextInt(12);
            byte b = (byte) (random.nextInt(6) == 0 ? random.nextInt(256) : random.nextInt(16));
            for (int k = 0; k < run && i < size; k++) bytes[i++] = b;
        }
        write(file, bytes);
    }

    static final String[] LEVELS = {"INFO ", "DEBUG", "WARN ", "ERROR"};
    static final String[] PATHS = {"/api/v1/items/", "/api/v1/users/", "/static/js/app.", "/healthz?probe="};

    static void writeText(Path file, int size, SplittableRandom random) throws IOException {
        StringBuilder s = new StringBuilder(size + 200);
        while (s.length() < size) {
            s.append("2024-06-01T").append(10 + random.nextInt(14)).append(':').append(10 + random.nextInt(50)).append(':')
                    .append(10 + random.nextInt(50)).append('.').append(100 + random.nextInt(900)).append("Z ")
                    .append(LEVELS[random.nextInt(LEVELS.length)]).append(" [worker-").append(random.nextInt(32))
                    .append("] request ").append(random.nextInt(1_000_000)).append(" GET ")
                    .append(PATHS[random.nextInt(PATHS.length)]).append(random.nextInt(100_000)).append(" took ")
                    .append(random.nextInt(500)).append(" ms status ").append(random.nextInt(8) == 0 ? 404 : 200).append('\n');
        }
        s.setLength(size);
        write(file, s.toString().getBytes(StandardCharsets.US_ASCII));
    }

    static void write(Path file, byte[] bytes) throws IOException {
        Files.createDirectories(file.getParent());
        try (OutputStream out = Files.newOutputStream(file)) {
            out.write(bytes);
        }
    }

    record Sizes(int layers, long compressed, long unpacked, long files, List<Long> layerSizes) {}

    /** The layers' sizes as the manifest says, and the unpacked tree's (du, hard links once). */
    static Sizes sizes(Path stateRoot, String image) throws Exception {
        ImageStore store = ImageStore.open(stateRoot.resolve("images"));
        ImageStore.Image stored = store.find(image).orElseThrow(() -> new BenchFailure("our pull stored no " + image));
        long compressed = stored.manifest().layers.stream().mapToLong(d -> d.size).sum();
        Path rootfs = Files.createDirectories(stateRoot.resolve("sizes-rootfs"));
        Layers.apply(store, stored, rootfs, new UnpackHooks());
        Result du = exec(List.of("du", "-s", "--apparent-size", "--block-size=1", rootfs.toString()), Map.of());
        check(du, "du");
        long files;
        try (Stream<Path> s = Files.walk(rootfs)) {
            files = s.filter(p -> !Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)).count();
        }
        Trees.delete(rootfs);
        return new Sizes(stored.manifest().layers.size(), compressed, Long.parseLong(du.out().split("\\s+")[0]), files,
                stored.manifest().layers.stream().map(d -> d.size).toList());
    }

    static String mb(long bytes) { return String.format(Locale.ROOT, "%.1f MB", bytes / 1e6); }

    /**
     * The unpacker's hook, for Layers.apply in this JVM: the whiteouts as step 06's solution
     * applies them (solutions/06_pull_image.java, TODO 06.4), so that the in-process unpack does
     * exactly the work of `run`. The other hooks belong to pulling, which this JVM does not do.
     */
    static final class UnpackHooks implements ImageHooks {
        @Override
        public String authorize(WwwAuthenticate.Challenge challenge, String scope, Credentials.Login login,
                TokenService tokens) { throw new UnsupportedOperationException(); }

        @Override
        public Descriptor chooseManifest(Index index, Platform platform, String image) { throw new UnsupportedOperationException(); }

        @Override
        public void copyVerified(java.io.InputStream body, Descriptor expected, OutputStream out, String what) {
            throw new UnsupportedOperationException();
        }

        @Override
        public boolean applyWhiteout(Path dir, String name, Set<Path> thisLayer) throws IOException {
            if (!name.startsWith(".wh.")) return false;
            if (name.equals(".wh..wh..opq")) {
                try (DirectoryStream<Path> children = Files.newDirectoryStream(dir)) {
                    for (Path child : children) {
                        if (!thisLayer.contains(child)) delete(child);
                    }
                }
                return true;
            }
            delete(dir.resolve(name.substring(".wh.".length())));
            return true;
        }

        private static void delete(Path path) throws IOException {
            if (Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) Trees.delete(path);
            else Files.deleteIfExists(path);
        }
    }

    private static final AtomicBoolean cleaned = new AtomicBoolean();
    /** Set when the JVM is exiting on a signal: RegistryServer's own hook stops the registry then. */
    private static volatile boolean shuttingDown;

    /**
     * Removes the runc containers, the cgroup parent and the temp directory, whatever happened (the
     * registry is stopped by main, or on Ctrl-C by RegistryServer's own shutdown hook).
     */
    static void cleanUp() {
        shuttingDown = true;
        if (work == null || cleaned.getAndSet(true)) return;
        try {
            for (String id : runcIds) exec(List.of("runc", "delete", "--force", id), Map.of());
            removeCgroups(tag);
            // Never into a mount (Trees.delete refuses): a container left one only if it failed badly.
            // On Ctrl-C the main thread may still be writing in there: try again after a moment.
            for (int attempt = 1; ; attempt++) {
                try {
                    Trees.delete(work);
                    break;
                } catch (IOException e) {
                    if (attempt == 3) throw e;
                    Thread.sleep(500);
                }
            }
        } catch (Exception e) {
            System.err.println("bench: cleaning up failed: " + e);
        }
    }
}
