///usr/bin/env jbang "$0" "$@" ; exit $?
// Pulling and unpacking a ~100 MB multi-layer image: step 06's `pull` against `skopeo copy`, and
// our layer unpacker against `umoci unpack`, timed in the same run, alternating, as ratios
// (issue 8, item 9).
//
// Usage: ./build.sh bench pull [--runs N] [--script FILE]
//        (or, as root: jbang tests/bench/PullBench.java --repo DIR [options])
//
// The image: ImageBench.mixed (tests/bench/ImageBench.java), seven layers of mixed content, ~100 MB
// compressed, generated from a fixed seed, built by umoci and pushed by skopeo to a real registry
// (Debian's docker-registry) on a free loopback port; nothing of ours makes it.
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
//            `jbang SCRIPT run [--network none] HOST/IMAGE true`: unpack, start, exit, remove the container
// and prints the median and the minimum of each in ms, the ratio of its median to its
// reference's, its median CPU time, and a verdict line per target of the issue: pull no slower
// than skopeo, unpacking no slower than umoci (ratios of medians <= 1.0).
// The bench removes the registry (by its process), its temp directories, the runc containers it
// made (by their ids) and the runtime's cgroup parent, whatever happens, Ctrl-C included.
//
//JAVA 17+
//JAVAC_OPTIONS -XDignore.symbol.file -J-XX:TieredStopAtLevel=1 -J-XX:+UseSerialGC -J-XX:-UsePerfData
//DEPS org.junit.platform:junit-platform-console-standalone:1.11.4
//DEPS org.apache.commons:commons-compress:1.27.1
//SOURCES BenchKit.java
//SOURCES ImageBench.java
//SOURCES ../support/*.java
//SOURCES ../../lib/jocker/**/*.java
//MAIN PullBench

import java.io.IOException;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
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

public class PullBench extends ImageBench {

    /** The targets of issue 8 item 9, as ratios of medians to the reference tool's. */
    static final double PULL_TARGET = 1.0, UNPACK_TARGET = 1.0;
    static final String REPOSITORY = "jocker-bench/mixed", TAG = "v1";

    /** runc containers this bench made: deleted by their ids, whatever happens. */
    static final List<String> runcIds = new CopyOnWriteArrayList<>();

    public static void main(String[] args) {
        main(args, "PullBench", "06_pull_image", Map.of(), PullBench::run, () -> {
            for (String id : runcIds) exec(List.of("runc", "delete", "--force", id), Map.of());
        });
    }

    static void run() throws Exception {
        Path busybox = requireTools("bench pull", List.of("docker-registry", "skopeo", "umoci", "runc", "tar"));
        startRegistry(Map.of(REPOSITORY + ":" + TAG, mixed(busybox)));
        String image = registry.host() + "/" + REPOSITORY + ":" + TAG;

        // runc's default config, running /bin/true without a terminal: it replaces umoci's.
        Path runcConfig = runcSpec(Files.createDirectories(work.resolve("runc-spec")));

        // Our script, built (and its //CDS archive dumped) before anything is timed; then the java
        // command lines JBang prints for pull and run.
        Path scratch = Files.createDirectories(work.resolve("scratch-root"));
        Map<String, String> scratchEnv = pullEnv(scratch);
        check(exec(List.of("jbang", script.toString(), "pull", image), scratchEnv), "jbang pull (first build)");
        // --network none from step 08 on (BenchKit.networkNone): a bridge network would outlive the
        // bench (jocker0, its NAT rules, ip_forward turned on), and runc's run has none either.
        List<String> runArgs = new ArrayList<>(List.of("run"));
        runArgs.addAll(networkNone(script, scratchEnv));
        runArgs.addAll(List.of(image, "true"));
        List<String> jbangRunCommand = new ArrayList<>(List.of("jbang", script.toString()));
        jbangRunCommand.addAll(runArgs);
        check(exec(jbangRunCommand, scratchEnv), "jbang run (first build)");
        List<String> javaPull = resolveJavaCommand(script, List.of("pull", image), scratchEnv);
        List<String> javaRun = resolveJavaCommand(script, runArgs, scratchEnv);
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
            Map<String, String> oursEnv = pullEnv(ours), javaEnv = pullEnv(javaOurs);

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
                () -> time(jbangRun, timed, jbangRunCommand, oursEnv),
                () -> time(javaRunBench, timed, javaRun, oursEnv),
            };
            runAll(start, reversed);
            Trees.delete(dir);
            System.out.printf("  round %d of %d done%s%n", round, runs, round == 0 ? " (warm-up, not counted)" : "");
        }
        System.out.printf("  load average after:  %s%n", loadAverage());

        int width = 30;
        header(width, "ratio");
        table(width, "pull (ratio to skopeo copy)", skopeo, List.of(skopeo, jbangPull, javaPullBench));
        table(width, "unpack (ratio to umoci unpack)", umoci, List.of(umoci, apply));
        table(width, "unpack and start /bin/true (ratio to umoci unpack + runc run)", umociRunc,
                List.of(umociRunc, jbangRun, javaRunBench));
        System.out.println("(cpu: user+system time of the command and the children it waited for, 10 ms ticks;"
                + " in-process: this thread's; the registry's own CPU time is not counted)");
        System.out.println("(" + FLOOR_NOTE + ")");
        System.out.println();
        verdict("pull: jbang pull vs skopeo copy", jbangPull, skopeo, PULL_TARGET);
        verdict("unpack: Layers.apply vs umoci unpack", apply, umoci, UNPACK_TARGET);
        verdict("first run: jbang run vs umoci unpack + runc run", jbangRun, umociRunc, UNPACK_TARGET);
        System.out.printf(Locale.ROOT, "(without the JBang launcher: java command pull %.2f x skopeo copy, java command run"
                + " %.2f x umoci unpack + runc run)%n", median(javaPullBench.nanos) / median(skopeo.nanos),
                median(javaRunBench.nanos) / median(umociRunc.nanos));
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

    /**
     * A run's environment for this bench: the vfs driver, so that {@code run} unpacks every layer
     * every time, as step 06 does and as umoci unpack does: the comparison this bench makes. (With
     * the overlay driver of step 07 on, a second run in the same state root unpacks nothing.)
     */
    static Map<String, String> pullEnv(Path stateRoot) {
        Map<String, String> env = new java.util.HashMap<>(env(stateRoot));
        env.put("JOCKER_STORAGE_DRIVER", "vfs");
        return env;
    }
}
