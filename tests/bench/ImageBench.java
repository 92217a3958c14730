// What the benches of pulled images share (tests/bench/PullBench.java, OverlayBench.java; each
// sources this file with //SOURCES ImageBench.java, ../support/*.java and the lib/ packages it
// needs, and extends ImageBench): the skeleton of main (the options --repo, --runs and --script,
// root, a temp directory, cleaning up whatever happens, Ctrl-C included), a loopback registry
// (Debian's docker-registry, tests/support/RegistryServer.java), and the images it serves: built
// by umoci from layers made here (`umoci raw add-layer`, which gzips each layer as registries
// serve them) and pushed by skopeo; nothing of ours makes them.
//
// mixed(busybox): a ~100 MB image of seven layers of mixed content, generated from a fixed seed:
//   1 busybox      the workbook's busybox rootfs (build/images/busybox.tar): a static binary and
//                  ~400 hard links to it
//   2 random       3 x 20 MiB of random bytes (incompressible: gzip only costs time here)
//   3 text         40 MiB of log-like text (compresses about 6:1)
//   4 small files  6000 files of 256 B to 8 KiB in 60 directories, half text, half random
//   5 binary       16 MiB of low-entropy bytes (compresses about 2:1) and 8 MiB random
//   6 config       a few files, symlinks and a hard link
//   7 whiteouts    deletes a file and empties a directory of layer 4 (.wh.NAME, .wh..wh..opq)
// List.of(busyboxLayer(busybox)): layer 1 alone, a one-layer image of ~1 MB.

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

import jocker.kernel.Trees;

abstract class ImageBench extends BenchKit {

    static Path repo = Path.of(".").toAbsolutePath().normalize();
    /** The step script the bench runs (--script; by default the bench's own step's solution). */
    static Path script;
    static int runs = 5;
    /** Names what the bench makes: its temp directory, the runtime's cgroup parent, runc ids. */
    static String tag;
    static RegistryServer registry;
    /** An empty docker config: nothing of the host's docker login may change what our pulls do. */
    static Path dockerConfig;
    /** Set once cleaning up has begun (on Ctrl-C, while the bench still runs): start nothing new. */
    static volatile boolean shuttingDown;
    /** Held while setting {@link #shuttingDown}, and by a bench while it starts something cleanUp must stop. */
    static final Object lifecycle = new Object();
    private static final AtomicBoolean cleaned = new AtomicBoolean();

    interface Action { void run() throws Exception; }

    /**
     * A bench's main: parses --repo DIR, --runs N, --script FILE and the bench's own {@code options}
     * (each takes a value), checks for root, makes the temp directory {@link #work}, and runs
     * {@code bench}; whatever happens, Ctrl-C included, {@code cleanUp} (the bench's own: containers,
     * mounts) runs, then the registry is stopped and the runtime's cgroup parent and the temp
     * directory are removed. Exits 0 if the bench ran to its end (its verdict lines say whether it
     * met its targets), 1 if it failed.
     */
    static void main(String[] args, String name, String step, Map<String, Consumer<String>> options, Action bench,
            Action cleanUp) {
        int code = 0;
        try {
            Map<String, Consumer<String>> all = new LinkedHashMap<>();
            all.put("--repo", v -> repo = Path.of(v).toAbsolutePath().normalize());
            all.put("--runs", v -> runs = Integer.parseInt(v));
            all.put("--script", v -> script = Path.of(v).toAbsolutePath().normalize());
            all.putAll(options);
            parse(args, name, all);
            if (runs < 1) fail("--runs must be at least 1");
            if (script == null) script = repo.resolve("solutions/" + step + ".java");
            if (!Files.isRegularFile(script)) fail("no such script: " + script);
            if (!"root".equals(System.getProperty("user.name"))) fail("must run as root (containers and mounts need it)");
            tag = "jocker-" + name.toLowerCase(java.util.Locale.ROOT) + "-" + ProcessHandle.current().pid();
            work = Files.createTempDirectory(tag + "-");
            dockerConfig = Files.createDirectories(work.resolve("docker-config"));
            // Also on Ctrl-C, which ends the JVM without running finally blocks.
            Runtime.getRuntime().addShutdownHook(new Thread(() -> cleanUp(cleanUp), name + "-cleanup"));
            bench.run();
        } catch (BenchFailure e) {
            System.err.println("bench: " + e.getMessage());
            code = 1;
        } catch (Exception | Error e) {
            System.err.print("bench: ");
            e.printStackTrace();
            code = 1;
        } finally {
            // Here rather than in the shutdown hook: on Ctrl-C, RegistryServer's own hook stops it,
            // and two threads deleting its storage at once would trip over each other.
            if (!shuttingDown) {
                cleanUp(cleanUp);
                if (registry != null) registry.close();
            }
        }
        System.exit(code);
    }

    private static void parse(String[] args, String name, Map<String, Consumer<String>> options) {
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-h") || a.equals("--help")) {
                StringBuilder usage = new StringBuilder("usage: " + name);
                for (String o : options.keySet()) {
                    usage.append(" [").append(o).append(' ').append(o.equals("--repo") ? "DIR" : o.equals("--script") ? "FILE" : "N")
                            .append(']');
                }
                System.out.println(usage);
                System.exit(0);
            }
            Consumer<String> option = options.get(a);
            if (option == null) fail("unknown argument: " + a);
            option.accept(need(a, i + 1 < args.length ? args[++i] : null));
        }
    }

    /** The environment of a run of the script: its own state root, our cgroup parent and docker config. */
    static Map<String, String> env(Path stateRoot) {
        return Map.of("JOCKER_ROOT", stateRoot.toString(), "JOCKER_CGROUP_PARENT", tag,
                "DOCKER_CONFIG", dockerConfig.toString());
    }

    /** Fails unless build/images/busybox.tar and every tool are there; returns the tarball. */
    static Path requireTools(String command, List<String> tools) {
        Path busybox = repo.resolve("build/images/busybox.tar");
        if (!Files.isRegularFile(busybox)) fail("no " + busybox + ": run ./build.sh setup first");
        for (String tool : tools) {
            if (which(tool) == null) fail(tool + " is not installed (./build.sh " + command + " installs it)");
        }
        return busybox;
    }

    /** Starts the registry and pushes each image (docker://HOST/NAME:TAG, in the order given) with its layers. */
    static void startRegistry(Map<String, List<Layer>> images) throws IOException {
        registry = RegistryServer.start();
        System.out.printf("building %d image(s) with umoci, pushing with skopeo to %s ...%n", images.size(), registry);
        long t0 = System.nanoTime();
        for (Map.Entry<String, List<Layer>> image : images.entrySet()) {
            push(work, image.getValue(), "docker://" + registry.host() + "/" + image.getKey());
        }
        System.out.printf("  done in %.1f s%n", (System.nanoTime() - t0) / 1e9);
    }

    /**
     * Once, whatever happened: the bench's own {@code cleanUp}, then the runtime's cgroup parent and
     * the temp directory (never into a mount: Trees.delete refuses).
     */
    private static void cleanUp(Action cleanUp) {
        synchronized (lifecycle) { shuttingDown = true; }
        if (work == null || cleaned.getAndSet(true)) return;
        try {
            cleanUp.run();
            removeCgroups(tag);
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

    // ------------------------------------------------------------------------------------------
    // The images
    // ------------------------------------------------------------------------------------------

    /** One layer's files, written into an empty directory. */
    interface Layer { void write(Path dir) throws IOException; }

    /** The seven layers of the ~100 MB image (see the top of this file); the same bytes every time, once each. */
    static List<Layer> mixed(Path busybox) {
        SplittableRandom random = new SplittableRandom(20240601);
        return List.of(
            busyboxLayer(busybox),
            dir -> {
                for (int f = 1; f <= 3; f++) writeRandom(dir.resolve("opt/data/blob-" + f + ".bin"), 20 << 20, random);
            },
            dir -> {
                for (int f = 1; f <= 4; f++) writeText(dir.resolve("usr/share/doc/bench/log-" + f + ".txt"), 10 << 20, random);
            },
            dir -> {
                for (int f = 0; f < 6000; f++) {
                    Path file = dir.resolve("usr/lib/bench/d" + (f % 60) + "/f" + f + (f % 2 == 0 ? ".txt" : ".bin"));
                    int size = 256 + random.nextInt(8 * 1024 - 256);
                    if (f % 2 == 0) writeText(file, size, random); else writeRandom(file, size, random);
                }
            },
            dir -> {
                writeLowEntropy(dir.resolve("usr/lib/bench/libbig.so"), 16 << 20, random);
                writeRandom(dir.resolve("usr/lib/bench/libcrypto-ish.so"), 8 << 20, random);
            },
            dir -> {
                Files.createDirectories(dir.resolve("etc/bench"));
                Files.writeString(dir.resolve("etc/bench/bench.conf"), "threads = 4\nlog = /var/log/bench.log\n");
                Files.writeString(dir.resolve("etc/motd"), "a benchmark image\n");
                Files.createDirectories(dir.resolve("usr/lib/bench"));
                Files.createSymbolicLink(dir.resolve("usr/lib/bench/libbig.so.1"), Path.of("libbig.so"));
                Files.createSymbolicLink(dir.resolve("etc/bench/current"), Path.of("/etc/bench/bench.conf"));
                Files.createLink(dir.resolve("etc/bench/bench.conf.orig"), dir.resolve("etc/bench/bench.conf"));
            },
            dir -> {
                // a deleted file and an emptied directory of layer 4
                Files.createDirectories(dir.resolve("usr/lib/bench/d1"));
                Files.createDirectories(dir.resolve("usr/lib/bench/d2"));
                Files.writeString(dir.resolve("usr/lib/bench/d1/.wh.f1.bin"), "");
                Files.writeString(dir.resolve("usr/lib/bench/d2/.wh..wh..opq"), "");
                Files.writeString(dir.resolve("usr/lib/bench/d2/new.txt"), "only this is left in d2\n");
            });
    }

    /** The workbook's busybox rootfs as a layer. */
    static Layer busyboxLayer(Path busybox) {
        return dir -> Fixtures.tool(dir, List.of("tar", "-C", dir.toString(), "-xpf", busybox.toString()), 60);
    }

    /**
     * Makes each layer as a tarball (GNU tar, reproducible), adds them in order with umoci to a new
     * layout in a directory under {@code scratch}, and pushes it with skopeo to {@code destination}
     * ({@code docker://HOST/NAME:TAG}); the directory is removed afterwards.
     */
    static void push(Path scratch, List<Layer> layers, String destination) throws IOException {
        Path fixture = Files.createTempDirectory(scratch, "image-");
        Path layout = fixture.resolve("layout");
        String at = layout + ":bench";
        Fixtures.tool(fixture, List.of("umoci", "init", "--layout", layout.toString()), 60);
        Fixtures.tool(fixture, List.of("umoci", "new", "--image", at), 60);
        for (int i = 1; i <= layers.size(); i++) {
            Path dir = Files.createDirectories(fixture.resolve("layer-" + i));
            layers.get(i - 1).write(dir);
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
}
