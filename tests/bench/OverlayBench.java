///usr/bin/env jbang "$0" "$@" ; exit $?
// Step 07's overlay storage driver against vfs and against a tiny image, in the same run,
// alternating, as ratios (issue 9, item 6): the second `run` of a ~100 MB image under overlay
// unpacks nothing and starts within 10% of a run of the busybox image; the disk used by ten
// containers of one image is about one image under overlay (and about ten under vfs).
//
// Usage: ./build.sh bench overlay [--runs N] [--script FILE] [--containers N]
//        (or, as root: jbang tests/bench/OverlayBench.java --repo DIR [options])
//
// The images, built by umoci and pushed by skopeo to a real registry (Debian's docker-registry)
// on a free loopback port (tests/bench/ImageBench.java): the ~100 MB image of seven layers of
// PullBench, and a one-layer image of the workbook's busybox rootfs (build/images/busybox.tar).
// Both are pulled into one state root, and the big one is run twice (--verbose, untimed) before
// anything is timed: the first run unpacks its layers, the second must say it unpacked none.
//
// 1. Start. N rounds (default 5) after one warm-up round, each running every command once, in
//    turn (the order reversed every other round), so that a noisy machine slows them all alike:
//      `jbang SCRIPT run --storage-driver overlay BUSYBOX-IMAGE true`          (reference)
//      `jbang SCRIPT run --storage-driver overlay BIG-IMAGE true`   its layers unpacked already
//      `jbang SCRIPT run --storage-driver vfs BIG-IMAGE true`       unpacks all of it, every run
//    and the same three as the java command line JBang prints for them (no JBang launcher: it
//    costs about a second of its own, the same for every image, which flattens the ratios).
//    A script whose run has --network (step 08 on) gets --network none, here and below: storage
//    alone is measured.
//    It prints the median and the minimum of each in ms, the ratio of its median to the busybox
//    image's (same launcher), and its median CPU time. That the overlay runs unpacked nothing is
//    checked on disk too: the layer store's entries (names and inodes) and its file count are the
//    same after the timed rounds as before them.
// 2. Disk. Ten containers of the big image at once (`sh` waiting for SIGTERM), under overlay in a
//    fresh state root, then under vfs in another; once all ten are running (their state.json says
//    so), the disk used under the state root: st_blocks x 512 of every inode once, not crossing
//    into a mount (each overlay container's rootfs is one), the image store (images/) left out.
//    Compared with one image unpacked by a reference tool (`umoci unpack`'s rootfs). The
//    runtimes are then stopped with SIGTERM (they pass it on to the container and clean up) and
//    nothing may be left: no container directory, no mount under the state root. Under overlay
//    the ten first runs at once must unpack each layer once in all (their --verbose lines).
// Then a verdict line per target. The bench stops the registry and every other process it
// started (SIGTERM by pid, SIGKILL a minute later), removes any mount under its temp directory,
// the runtime's cgroup parent and the temp directory, whatever happens, Ctrl-C included.
//
//JAVA 17+
//JAVAC_OPTIONS -XDignore.symbol.file -J-XX:TieredStopAtLevel=1 -J-XX:+UseSerialGC -J-XX:-UsePerfData
//DEPS org.junit.platform:junit-platform-console-standalone:1.11.4
//DEPS org.apache.commons:commons-compress:1.27.1
//DEPS com.fasterxml.jackson.core:jackson-databind:2.18.2
//DEPS com.github.jnr:jnr-posix:3.1.19
//SOURCES BenchKit.java
//SOURCES ImageBench.java
//SOURCES ../support/*.java
//SOURCES ../../lib/jocker/kernel/*.java
//MAIN OverlayBench

import java.io.File;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import jnr.posix.FileStat;
import jnr.posix.POSIX;
import jnr.posix.POSIXFactory;

import jocker.kernel.Linux;
import jocker.kernel.MountInfo;
import jocker.kernel.Trees;

public class OverlayBench extends ImageBench {

    /** Issue 9 item 6: the second run of the big image within 10% of the busybox image's. */
    static final double START_TARGET = 1.10;
    /** "About one image" under overlay, "about ten" under vfs: ten containers, in images. */
    static final double OVERLAY_DISK_TARGET = 1.10, VFS_DISK_LOW = 9.0, VFS_DISK_HIGH = 11.0;
    static final String BIG = "jocker-bench/mixed:v1", SMALL = "jocker-bench/busybox:v1";

    static int containers = 10;
    /** What every run gets: --network none where the script has a network (step 08 on). */
    static List<String> runOptions = List.of();
    /** The runtimes of the disk phase: stopped (SIGTERM, then SIGKILL) whatever happens. */
    static final List<Process> runtimes = new CopyOnWriteArrayList<>();
    static final POSIX posix = POSIXFactory.getNativePOSIX();

    public static void main(String[] args) {
        main(args, "OverlayBench", "07_overlay", Map.of("--containers", v -> containers = Integer.parseInt(v)), () -> {
            if (containers < 2) fail("--containers must be at least 2");
            run();
        }, OverlayBench::cleanUp);
    }

    static void run() throws Exception {
        Path busybox = requireTools("bench overlay", List.of("docker-registry", "skopeo", "umoci", "tar", "du"));
        Map<String, List<Layer>> images = new LinkedHashMap<>();
        images.put(BIG, mixed(busybox));
        images.put(SMALL, List.of(busyboxLayer(busybox)));
        startRegistry(images);
        String big = registry.host() + "/" + BIG, small = registry.host() + "/" + SMALL;

        Path root = Files.createDirectories(work.resolve("state"));
        Map<String, String> env = env(root);
        String jbang = "jbang", s = script.toString();
        // Built (and its //CDS archive dumped) before anything is timed.
        check(exec(List.of(jbang, s, "pull", big), env), "jbang pull " + big);
        check(exec(List.of(jbang, s, "pull", small), env), "jbang pull " + small);
        // Storage alone: a later step's network (a bridge, a veth pair and NAT rules per container)
        // would cost both images alike, and add its own noise and host state.
        runOptions = networkNone(script, env);
        System.out.printf("%nscript: %s, run %s%n", repo.relativize(script),
                runOptions.isEmpty() ? "as it is" : String.join(" ", runOptions) + " (storage alone)");

        System.out.printf("%nthe first and the second run of %s under overlay (--verbose, not timed):%n", big);
        List<String> verboseRun = concat(List.of(jbang, s), runArgs("--verbose", "--storage-driver", "overlay", big, "true"));
        for (String nth : List.of("first", "second")) {
            long start = System.nanoTime();
            Result r = exec(verboseRun, env);
            check(r, "jbang run (" + nth + " run)");
            System.out.printf(Locale.ROOT, "  %s run, %.0f ms:%n", nth, (System.nanoTime() - start) / 1e6);
            for (String line : r.err().split("\n")) {
                if (line.contains("overlay:") || line.contains("storage driver:")) System.out.println("    " + line.strip());
            }
        }
        Path layerStore = root.resolve("storage/overlay");
        int bigLayers = layerCount(layerStore);
        check(exec(concat(List.of(jbang, s), runArgs("--storage-driver", "overlay", small, "true")), env), "jbang run " + small);
        Set<String> layersBefore = layerEntries(layerStore);
        int storeLayers = layerCount(layerStore);

        List<String> overlayBig = runArgs("--storage-driver", "overlay", big, "true");
        List<String> overlaySmall = runArgs("--storage-driver", "overlay", small, "true");
        List<String> vfsBig = runArgs("--storage-driver", "vfs", big, "true");
        List<String> javaBig = resolveJavaCommand(script, overlayBig, env);
        List<String> javaSmall = resolveJavaCommand(script, overlaySmall, env);
        List<String> javaVfs = resolveJavaCommand(script, vfsBig, env);

        Samples jbangSmallS = new Samples("busybox image, overlay");
        Samples jbangBigS = new Samples("~100 MB image, overlay");
        Samples jbangVfsS = new Samples("~100 MB image, vfs");
        Samples javaSmallS = new Samples("busybox image, overlay");
        Samples javaBigS = new Samples("~100 MB image, overlay");
        Samples javaVfsS = new Samples("~100 MB image, vfs");

        System.out.printf("%nstarting a container, `run IMAGE true`: %d rounds after a warm-up, alternating%n", runs);
        System.out.printf("  java command: %s%n", abbreviate(String.join(" ", javaBig)));
        System.out.printf("  layer store: %d unpacked layers in %s%s%n", storeLayers, layerStore.resolve("layers"),
                storeLayers == bigLayers ? " (the busybox image's one layer is the big one's bottom layer: shared)" : "");
        System.out.printf("  load average before: %s%n", loadAverage());
        for (int round = 0; round <= runs; round++) {
            boolean timed = round > 0;
            Timed[] steps = {
                () -> time(jbangBigS, timed, concat(List.of(jbang, s), overlayBig), env),
                () -> time(jbangSmallS, timed, concat(List.of(jbang, s), overlaySmall), env),
                () -> time(javaSmallS, timed, javaSmall, env),
                () -> time(javaBigS, timed, javaBig, env),
                // vfs writes and deletes the whole image: its writeback must not slow what follows.
                () -> { time(jbangVfsS, timed, concat(List.of(jbang, s), vfsBig), env); sync(); },
                () -> { time(javaVfsS, timed, javaVfs, env); sync(); },
            };
            runAll(steps, round % 2 == 1);
            System.out.printf("  round %d of %d done%s%n", round, runs, round == 0 ? " (warm-up, not counted)" : "");
        }
        System.out.printf("  load average after:  %s%n", loadAverage());
        Set<String> layersAfter = layerEntries(layerStore);
        boolean unpackedNothing = layersBefore.equals(layersAfter);

        int width = 34;
        header(width, "ratio");
        table(width, "jbang SCRIPT run IMAGE true (ratio to the busybox image's)", jbangSmallS,
                List.of(jbangSmallS, jbangBigS, jbangVfsS));
        table(width, "java command run IMAGE true (ratio to the busybox image's)", javaSmallS,
                List.of(javaSmallS, javaBigS, javaVfsS));
        System.out.println("(cpu: user+system time of the command and the children it waited for, 10 ms ticks)");
        System.out.println("(" + FLOOR_NOTE + ")");
        System.out.printf("layer store after %d runs of the big image under overlay: %s%n", 2 * (runs + 1),
                unpackedNothing ? "unchanged (the same " + (layersBefore.size() - 1) + " entries in layers/ and l/, same inodes; "
                        + layersBefore.stream().filter(e -> e.startsWith("files")).findFirst().orElse("") + ")"
                        : "CHANGED: " + difference(layersBefore, layersAfter));

        // ---- disk ----
        long[] unpacked = oneImage(big);
        long image = unpacked[0];
        System.out.printf("%n%d containers of %s at once, each `sh` waiting for SIGTERM, under each driver:%n",
                containers, big);
        Disk overlay = disk("overlay", big);
        Disk vfs = disk("vfs", big);
        double overlayRatio = (double) overlay.total / image, vfsRatio = (double) vfs.total / image;
        System.out.printf("%ndisk used under the state root, image store left out (st_blocks of every inode once,"
                + " no mount crossed):%n");
        System.out.printf(Locale.ROOT, "  %-58s %11s %7s%n", "", "", "images");
        System.out.printf(Locale.ROOT, "  %-58s %11s %7.2f%n", "one image unpacked (umoci unpack's rootfs; files " + mb(unpacked[1]) + ")",
                mb(image), 1.0);
        System.out.printf(Locale.ROOT, "  %-58s %11s %7.2f%n", "overlay: the layer store", mb(overlay.layers),
                (double) overlay.layers / image);
        System.out.printf(Locale.ROOT, "  %-58s %11s %7.2f%n", "overlay: " + containers + " containers (upper, work, config)",
                mb(overlay.containers), (double) overlay.containers / image);
        System.out.printf(Locale.ROOT, "  %-58s %11s %7.2f%n", "overlay: all", mb(overlay.total), overlayRatio);
        System.out.printf(Locale.ROOT, "  %-58s %11s %7.2f%n", "vfs: " + containers + " containers (a full copy each)",
                mb(vfs.total), vfsRatio);
        System.out.printf("  (du -sx of the same directories: overlay %s, vfs %s)%n", mb(overlay.du), mb(vfs.du));
        System.out.printf(Locale.ROOT, "  %d containers = %.1fx one image under overlay, %.1fx under vfs%n",
                containers, overlayRatio, vfsRatio);

        System.out.println();
        verdict("start: 2nd run of ~100 MB vs busybox, jbang", jbangBigS, jbangSmallS, START_TARGET);
        verdict("start: 2nd run of ~100 MB vs busybox, java", javaBigS, javaSmallS, START_TARGET);
        check("start: later runs (overlay) unpacked nothing", unpackedNothing);
        verdict("disk: " + containers + " containers, overlay, in images", overlayRatio, OVERLAY_DISK_TARGET);
        boolean about = vfsRatio >= VFS_DISK_LOW && vfsRatio <= VFS_DISK_HIGH;
        System.out.printf(Locale.ROOT, "target %-48s ratio %.2f (%.0f to %.0f): %s%n",
                "disk: " + containers + " containers, vfs, in images", vfsRatio, VFS_DISK_LOW, VFS_DISK_HIGH,
                about ? "met" : "MISSED");
        check("disk: first runs at once unpacked each layer once", overlay.unpackedOnce);
        check("disk: SIGTERM left no container, no mount", overlay.clean && vfs.clean);
    }

    static void check(String what, boolean met) {
        System.out.printf("target %-48s %s%n", what, met ? "met" : "MISSED");
    }

    /** run, the options every run gets ({@link #runOptions}), then {@code args}. */
    static List<String> runArgs(String... args) {
        return concat(concat(List.of("run"), runOptions), List.of(args));
    }

    static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    static void sync() throws Exception { check(exec(List.of("sync"), Map.of()), "sync"); }

    /**
     * What re-unpacking would change in the layer store: the entries of layers/ and l/ with their
     * inodes (a layer is unpacked into a new directory and renamed into place), and how many files
     * and directories the layers hold.
     */
    static Set<String> layerEntries(Path store) throws IOException {
        Set<String> entries = new TreeSet<>();
        for (String dir : List.of("layers", "l")) {
            if (!Files.isDirectory(store.resolve(dir))) continue;
            try (DirectoryStream<Path> children = Files.newDirectoryStream(store.resolve(dir))) {
                for (Path c : children) {
                    entries.add(dir + "/" + c.getFileName() + " inode "
                            + Files.getAttribute(c, "unix:ino", LinkOption.NOFOLLOW_LINKS));
                }
            }
        }
        try (Stream<Path> all = Files.walk(store.resolve("layers"))) {
            entries.add("files and directories in layers/: " + all.count());
        }
        return entries;
    }

    /** The entries of the layer store's layers/ (a half-unpacked one included). */
    static int layerCount(Path store) throws IOException {
        return (int) layerEntries(store).stream().filter(e -> e.startsWith("layers/")).count();
    }

    static String difference(Set<String> before, Set<String> after) {
        Set<String> gone = new TreeSet<>(before), came = new TreeSet<>(after);
        gone.removeAll(after);
        came.removeAll(before);
        return "gone " + gone + ", new " + came;
    }

    // ------------------------------------------------------------------------------------------
    // Disk
    // ------------------------------------------------------------------------------------------

    /**
     * The disk one image takes unpacked, and its files' own size (du --apparent-size): the rootfs
     * `umoci unpack` makes of it, from a layout skopeo copied.
     */
    static long[] oneImage(String image) throws Exception {
        Path layout = work.resolve("umoci-layout"), bundle = work.resolve("umoci-bundle");
        check(exec(List.of("skopeo", "copy", "--quiet", "--src-tls-verify=false", "docker://" + image,
                "oci:" + layout + ":v1"), Map.of()), "skopeo copy");
        check(exec(List.of("umoci", "unpack", "--image", layout + ":v1", bundle.toString()), Map.of()), "umoci unpack");
        long bytes = usage(bundle.resolve("rootfs"), p -> "rootfs").total();
        Result du = exec(List.of("du", "-s", "--apparent-size", "--block-size=1", bundle.resolve("rootfs").toString()), Map.of());
        check(du, "du");
        Trees.delete(bundle);
        Trees.delete(layout);
        return new long[] {bytes, Long.parseLong(du.out().split("\\s+")[0])};
    }

    record Disk(long layers, long containers, long total, long du, boolean unpackedOnce, boolean clean) {}

    /**
     * Pulls {@code image} into a fresh state root, starts the containers under {@code driver} at
     * once, measures the disk once they all run, stops them with SIGTERM and checks that nothing
     * is left.
     */
    static Disk disk(String driver, String image) throws Exception {
        Path root = Files.createDirectories(work.resolve("disk-" + driver));
        Map<String, String> env = env(root);
        check(exec(List.of("jbang", script.toString(), "pull", image), env), "jbang pull into " + root);
        // sh as PID 1 gets only the signals it has a handler for: the trap is the handler. The sleep
        // ends it anyway in the end, in case this bench is SIGKILLed (setpriv, where there is one,
        // even passes that on: the runtime gets SIGTERM when this bench dies).
        List<String> command = new ArrayList<>();
        if (which("setpriv") != null) command.addAll(List.of("setpriv", "--pdeathsig", "TERM", "--"));
        command.addAll(resolveJavaCommand(script, runArgs("--verbose", "--storage-driver", driver, image,
                "sh", "-c", "trap 'exit 0' TERM INT; sleep 900 & wait"), env));
        long t0 = System.nanoTime();
        List<Path> logs = new ArrayList<>();
        for (int i = 0; i < containers; i++) {
            Path log = work.resolve("runtime-" + driver + "-" + i + ".log");
            logs.add(log);
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            pb.environment().putAll(env);
            start(pb);
        }
        awaitRunning(root, logs);
        double started = (System.nanoTime() - t0) / 1e9;

        Usage u = usage(root, p -> p.startsWith("images") ? "images" : p.startsWith("storage") ? "layers" : "containers");
        long layers = u.parts().getOrDefault("layers", 0L), inContainers = u.parts().getOrDefault("containers", 0L);
        List<String> du = new ArrayList<>(List.of("du", "-sxc", "--block-size=1"));
        for (String dir : List.of("storage", "containers")) if (Files.exists(root.resolve(dir))) du.add(root.resolve(dir).toString());
        Result r = exec(du, Map.of());
        check(r, "du");
        String[] lines = r.out().strip().split("\n");
        long duTotal = Long.parseLong(lines[lines.length - 1].split("\\s+")[0]);

        // Stop: SIGTERM to each runtime, which passes it on to the container's sh and cleans up.
        long t1 = System.nanoTime();
        List<Integer> codes = new ArrayList<>();
        for (Process p : runtimes) p.destroy();
        for (Process p : runtimes) {
            if (!p.waitFor(120, TimeUnit.SECONDS)) fail("a " + driver + " runtime did not stop within 120 s of SIGTERM");
            codes.add(p.exitValue());
        }
        double stopped = (System.nanoTime() - t1) / 1e9;
        runtimes.clear();
        int unpacked = 0;
        for (Path log : logs) {
            Matcher m = UNPACKED.matcher(Files.readString(log));
            while (m.find()) unpacked += Integer.parseInt(m.group(1));
        }
        long left = countContainers(root);
        List<String> mounts = mountsUnder(root);
        boolean clean = left == 0 && mounts.isEmpty() && codes.stream().allMatch(c -> c == 0);
        System.out.printf(Locale.ROOT, "  %s: all %d running %.1f s after the start; stopped with SIGTERM in %.1f s,"
                + " exit codes %s; containers left %d, mounts left under the state root %d%s%n", driver, containers,
                started, stopped, codes, left, mounts.size(), mounts.isEmpty() ? "" : " " + mounts);
        boolean once = true;
        if (driver.equals("overlay")) {
            int chain = layerCount(root.resolve("storage/overlay"));
            once = unpacked == chain;
            System.out.printf("  overlay: the %d first runs at once unpacked %d layers in all, %d layers in the store%n",
                    containers, unpacked, chain);
        }
        if (!clean) {
            for (Path log : logs) System.out.printf("  %s:%n%s%n", log.getFileName(), Files.readString(log).strip());
        }
        return new Disk(layers, inContainers, layers + inContainers, duTotal, once, clean);
    }

    /** --verbose: "overlay: IMAGE has 7 layers: 0 unpacked now, ..." (or "overlay: 0 of 7 layers of IMAGE unpacked now"). */
    static final Pattern UNPACKED = Pattern.compile("overlay: .*?\\b(\\d+)(?: of \\d+ layers[^\\n]*?)? unpacked now");
    static final Pattern RUNNING = Pattern.compile("\"status\"\\s*:\\s*\"running\"");

    /** Waits until every container under {@code root} runs; fails when a runtime exits or after 10 minutes. */
    static void awaitRunning(Path root, List<Path> logs) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
        while (true) {
            for (int i = 0; i < runtimes.size(); i++) {
                Process p = runtimes.get(i);
                if (!p.isAlive()) {
                    fail("runtime " + i + " exited (" + p.exitValue() + ") before all were running:\n"
                            + Files.readString(logs.get(i)).strip());
                }
            }
            int running = 0;
            Path dir = root.resolve("containers");
            if (Files.isDirectory(dir)) {
                try (DirectoryStream<Path> ids = Files.newDirectoryStream(dir)) {
                    for (Path id : ids) {
                        try {
                            if (RUNNING.matcher(Files.readString(id.resolve("state.json"))).find()) running++;
                        } catch (IOException notYet) {
                            // being written, or not there yet
                        }
                    }
                }
            }
            if (running == containers) return;
            if (System.nanoTime() > deadline) fail("only " + running + " of " + containers + " containers run after 10 minutes");
            Thread.sleep(200);
        }
    }

    /** Container directories under the state root (one being removed, .removing-ID-PID, too). */
    static long countContainers(Path root) throws IOException {
        Path dir = root.resolve("containers");
        if (!Files.isDirectory(dir)) return 0;
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)).count();
        }
    }

    static List<String> mountsUnder(Path dir) throws IOException {
        Path real = dir.toRealPath();
        return MountInfo.read().stream().filter(m -> m.isAtOrBelow(real)).map(MountInfo::mountPoint).toList();
    }

    record Usage(long total, Map<String, Long> parts) {}

    interface Classifier { String part(Path relative); }

    /**
     * The disk used under {@code top}: st_blocks x 512 of every file, directory and link, each inode
     * once (hard links), without going into a mount (a mount point's subtree is left out: the
     * filesystem mounted there is not this one's), summed by the part {@code parts} names for each
     * path relative to {@code top}; the part "images" does not count in the total.
     */
    static Usage usage(Path top, Classifier parts) throws IOException {
        Path real = top.toRealPath();
        Set<String> mountPoints = new HashSet<>();
        for (MountInfo m : MountInfo.read()) if (m.isAtOrBelow(real)) mountPoints.add(m.mountPoint());
        long device = posix.lstat(real.toString()).dev();
        Set<String> seen = new HashSet<>();
        Map<String, Long> sums = new LinkedHashMap<>();
        Files.walkFileTree(real, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes a) {
                if (!d.equals(real) && mountPoints.contains(d.toString())) return FileVisitResult.SKIP_SUBTREE;
                FileStat st = posix.lstat(d.toString());
                if (st.dev() != device) return FileVisitResult.SKIP_SUBTREE;
                count(d, st);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path f, BasicFileAttributes a) {
                count(f, posix.lstat(f.toString()));
                return FileVisitResult.CONTINUE;
            }

            private void count(Path p, FileStat st) {
                if (!seen.add(st.dev() + ":" + st.ino())) return;
                sums.merge(parts.part(real.relativize(p)), st.blocks() * 512, Long::sum);
            }
        });
        long total = sums.entrySet().stream().filter(e -> !e.getKey().equals("images")).mapToLong(Map.Entry::getValue).sum();
        return new Usage(total, sums);
    }

    // ------------------------------------------------------------------------------------------
    // Cleaning up
    // ------------------------------------------------------------------------------------------

    /** Starts a runtime of the disk phase, unless the bench is cleaning up already. */
    static void start(ProcessBuilder pb) throws IOException {
        synchronized (lifecycle) {
            if (shuttingDown) fail("interrupted");
            runtimes.add(pb.start());
        }
    }

    /** SIGTERM to each process, then SIGKILL to any that has not ended 60 s later. */
    static void stop(List<ProcessHandle> processes) {
        for (ProcessHandle p : processes) p.destroy();
        for (ProcessHandle p : processes) {
            try {
                p.onExit().get(60, TimeUnit.SECONDS);
            } catch (Exception notYet) {
                if (p.isAlive()) {
                    System.err.println("bench: process " + p.pid() + " did not end on SIGTERM: SIGKILL");
                    p.destroyForcibly();
                }
            }
        }
    }

    /**
     * Stops every process the bench started that still runs (on Ctrl-C, say: the runtimes, a timed
     * run, a tool; the registry too, which RegistryServer then finds stopped), and unmounts what is
     * still mounted under the temp directory (a runtime that had to be killed leaves its overlay
     * mounts). ImageBench then removes the cgroup parent and the temp directory.
     */
    static void cleanUp() throws IOException {
        stop(ProcessHandle.current().children().toList());
        runtimes.clear();
        List<String> mounts = new ArrayList<>(mountsUnder(work));
        mounts.sort(Comparator.reverseOrder());   // deepest first
        for (String m : mounts) {
            try {
                Linux.umount2(m, Linux.MNT_DETACH);
            } catch (RuntimeException e) {
                System.err.println("bench: could not unmount " + m + ": " + e.getMessage());
            }
        }
    }
}
