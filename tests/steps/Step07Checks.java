import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

import com.fasterxml.jackson.databind.JsonNode;

import jocker.kernel.MountInfo;

/**
 * Step 07 overlay, black-box, with images pulled from a real registry on loopback (pushed through
 * its HTTP API, layers written here entry by entry, whiteouts included), each check with a state
 * root of its own, judged by what the container and the kernel show and by the state root's
 * directories:
 * <ul>
 *   <li>a container's / is an overlay mount by default, not with {@code --storage-driver vfs}
 *       (or JOCKER_STORAGE_DRIVER=vfs); {@code info} says which driver and why (TODO 07.3);</li>
 *   <li>the layers are unpacked once, under their chain ids (TODO 07.1), and never written: what
 *       a container writes, changes or deletes the next container of the image does not see, and
 *       the layer directories stay as they were, to the inode and the nanosecond (TODO 07.3);</li>
 *   <li>the same image gives the same tree under overlay and vfs: modes (setuid, setgid, 0700),
 *       owners, symlinks, hard links, a deleted file and directory, an opaque directory, a
 *       whiteout and a directory of one name in both orders, a file over a directory (TODO 07.2);</li>
 *   <li>an image of 64 layers runs under overlay, every layer seen, the top one on top: more than
 *       a page of mount options with absolute paths (TODO 07.3).</li>
 * </ul>
 * {@link Step07LifecycleChecks} has diff, the cleanup on every path (a SIGKILLed runtime too), two
 * first runs at once and a half-unpacked layer left by a killed runtime. The helpers here (the
 * fixture images, chain ids, snapshots of the layer store, the hints) serve both.
 */
@DisplayName("step 07 overlay")
@ExtendWith(JockerExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class Step07Checks {

    private final Jocker jocker;
    private RegistryServer registry;
    private Images images;

    Step07Checks(Jocker jocker) {
        this.jocker = jocker;
    }

    @BeforeAll
    void setUp() throws IOException {
        long started = System.nanoTime();
        registry = RegistryServer.start();
        images = new Images(jocker, registry).app().tree().many();
        Step06Checks.ready(this, "registry and fixture images", started);
    }

    @AfterAll
    void tearDown() {
        if (registry != null) registry.close();
    }

    // ------------------------------------------------------------------------------------------
    // The driver
    // ------------------------------------------------------------------------------------------

    @Test
    @Essential
    @Order(1)
    @DisplayName("a container's / is an overlay mount by default; with --storage-driver vfs (or JOCKER_STORAGE_DRIVER=vfs) it is not; info says which driver and why")
    void overlayByDefault() throws IOException {
        Step06Checks.Root root = root(jocker, "driver");
        Fixtures.Image app = images.app;
        Jocker.Result overlay = root.run("run", "--verbose", app.ref(), "cat", "/proc/self/mountinfo");
        succeeds(overlay, "run of a pulled image", Concept.MOUNT);
        MountInfo slash = rootMount(overlay);
        check(overlay, slash != null && slash.fsType().equals("overlay"), "expected the container's / to be an overlay mount"
                + " (the default storage driver here, where the kernel has overlayfs), its /proc/self/mountinfo says "
                + (slash == null ? "nothing about /" : "\"" + slash.fsType() + "\""), Concept.MOUNT);
        check(overlay, overlay.stderr().lines().anyMatch(l -> l.toLowerCase().contains("storage driver") && l.contains("overlay")),
                "expected --verbose to say which storage driver runs (a line with \"storage driver\" and \"overlay\")", Concept.DRIVERS);
        assertNoMountLeft(root, overlay);
        assertNoContainerLeft(root, overlay);

        Jocker.Result vfs = root.run("run", "--storage-driver", "vfs", app.ref(), "sh", "-c", "cat /proc/self/mountinfo; cat /app");
        succeeds(vfs, "run --storage-driver vfs", Concept.DRIVERS);
        MountInfo vfsSlash = rootMount(vfs);
        check(vfs, vfsSlash != null && !vfsSlash.fsType().equals("overlay"), "expected --storage-driver vfs to give the"
                + " container a copy of the image, not an overlay mount", Concept.DRIVERS);
        check(vfs, vfs.stdout().endsWith(images.appToken + "\n"), "expected the image's /app under vfs too", Concept.DRIVERS);

        Map<String, String> env = new HashMap<>(root.env());
        env.put("JOCKER_STORAGE_DRIVER", "vfs");
        Jocker.Result byEnv = jocker.run(List.of("run", app.ref(), "cat", "/proc/self/mountinfo"), env, null, Jocker.TIMEOUT);
        succeeds(byEnv, "run with JOCKER_STORAGE_DRIVER=vfs", Concept.DRIVERS);
        MountInfo envSlash = rootMount(byEnv);
        check(byEnv, envSlash != null && !envSlash.fsType().equals("overlay"), "expected JOCKER_STORAGE_DRIVER=vfs to choose vfs",
                Concept.DRIVERS);

        Jocker.Result info = root.run("info");
        succeeds(info, "info", Concept.DRIVERS);
        check(info, info.stdout().lines().anyMatch(l -> l.equals("Storage Driver: overlay")),
                "expected info to print \"Storage Driver: overlay\", as docker info does", Concept.DRIVERS);
        check(info, info.stdout().lines().anyMatch(l -> l.strip().startsWith("Why:") && l.strip().length() > "Why: ".length()),
                "expected info to say why that driver (a line \" Why: ...\")", Concept.DRIVERS);
        Jocker.Result infoVfs = root.run("info", "--storage-driver", "vfs");
        succeeds(infoVfs, "info --storage-driver vfs", Concept.DRIVERS);
        check(infoVfs, infoVfs.stdout().lines().anyMatch(l -> l.equals("Storage Driver: vfs")),
                "expected info --storage-driver vfs to print \"Storage Driver: vfs\"", Concept.DRIVERS);
        assertNoMountLeft(root, info);
        assertNoContainerLeft(root, info);
    }

    // ------------------------------------------------------------------------------------------
    // Copy-on-write, layers unpacked once
    // ------------------------------------------------------------------------------------------

    @Test
    @Essential
    @Order(2)
    @DisplayName("layers are unpacked once, under their chain ids, and never written: a container's writes, changes and deletions reach neither the layers nor the next container")
    void writesNeverReachTheLayers() throws IOException {
        Step06Checks.Root root = root(jocker, "cow");
        Fixtures.Image app = images.app;
        Jocker.Result first = root.run("run", app.ref(), "true");
        succeeds(first, "the first run of " + app.ref(), Concept.MOUNT);
        assertChainIdsOnly(root, first, app);
        Map<String, String> before = snapshot(root);

        Jocker.Result writer = root.run("run", app.ref(), "sh", "-c",
                "echo new > /new && echo more >> /etc/y && rm /etc/x && rm -r /d && chmod 600 /app && mkdir /bin/mine && echo wrote");
        succeeds(writer, "a container that writes, appends, deletes and chmods", Concept.MOUNT);
        check(writer, writer.stdout().equals("wrote\n"), "expected the container's commands to work (\"wrote\")", Concept.MOUNT);
        assertUnchanged(root, writer, before, "a container wrote into the layer directories: every write must land in its"
                + " own upper directory (upperdir), the layers are read-only lower directories; or the second run unpacked"
                + " a layer again", Concept.MOUNT);

        Jocker.Result reader = root.run("run", app.ref(), "sh", "-c",
                "cat /etc/x /etc/y /d/f /app; stat -c %a /app; for p in /new /bin/mine; do [ -e $p ] && echo \"$p is there\"; done; true");
        succeeds(reader, "a second container of the image", Concept.MOUNT);
        String want = "x\ny\nf\n" + images.appToken + "\n644\n";
        check(reader, reader.stdout().equals(want), "expected the next container of the image to see the image as it is, "
                + Jocker.quote(want) + ", got " + Jocker.quote(reader.stdout()) + ": what one container did must not"
                + " reach another", Concept.MOUNT);
        assertUnchanged(root, reader, before, "the layer directories changed on a run of an image whose layers were"
                + " there already: a layer is unpacked once, and never written", Concept.CHAIN);
        assertNoMountLeft(root, reader);
        assertNoContainerLeft(root, reader);
    }

    // ------------------------------------------------------------------------------------------
    // The same tree under both drivers
    // ------------------------------------------------------------------------------------------

    /** Every path of the container's root file system with its stat, one line each. */
    private static final String LISTING = "find / -xdev -exec stat -c '%i|%n|%f|%u|%g|%s|%h|%N' {} +";

    @Test
    @Order(3)
    @DisplayName("the same image gives the same tree under overlay and vfs: modes, owners, symlinks, hard links, whiteouts, opaque directories")
    void sameTreeUnderBothDrivers() throws IOException {
        Step06Checks.Root root = root(jocker, "tree");
        Fixtures.Image tree = images.tree;
        Jocker.Result overlay = root.run("run", tree.ref(), "sh", "-c", "cat /t/order; " + LISTING);
        succeeds(overlay, "run of an image with whiteouts under overlay", Concept.WHITEOUT);
        check(overlay, overlay.stdout().startsWith("3\n"), "expected /t/order to hold 3, the top layer's: overlay's"
                + " lowerdir lists the top layer first, the image's manifest the bottom layer first; got "
                + Jocker.quote(overlay.stdout().lines().findFirst().orElse("")), Concept.MOUNT);
        Jocker.Result vfs = root.run("run", "--storage-driver", "vfs", tree.ref(), "sh", "-c", "cat /t/order; " + LISTING);
        succeeds(vfs, "run of an image with whiteouts under vfs", Concept.DRIVERS);
        Map<String, String> o = listing(overlay);
        Map<String, String> v = listing(vfs);

        List<String> whiteouts = o.keySet().stream().filter(p -> p.contains("/.wh.")).toList();
        check(overlay, whiteouts.isEmpty(), "whiteout files of the image are in the container's tree under overlay: "
                + whiteouts + "; a layer's .wh.NAME must become overlay's whiteout (a character device 0/0) and"
                + " .wh..wh..opq the xattr trusted.overlay.opaque=y", Concept.WHITEOUT);
        for (String gone : List.of("/t/gone", "/t/gonedir", "/t/opq/old", "/t/opq/sub", "/t/re/old", "/t/dw/old", "/t/x/y")) {
            check(overlay, !o.containsKey(gone), "expected " + gone + " to be gone under overlay (a whiteout or"
                    + " an opaque directory of a layer above deletes it), it is there", Concept.WHITEOUT);
        }
        for (String p : List.of("/t/opq/new", "/t/re/new", "/t/dw/new", "/t/x", "/t/private/secret")) {
            check(overlay, o.containsKey(p), "expected " + p + " under overlay (a layer above put it there), it is missing",
                    Concept.WHITEOUT);
        }

        List<String> differences = new ArrayList<>();
        Set<String> all = new TreeSet<>(o.keySet());
        all.addAll(v.keySet());
        for (String p : all) {
            String a = o.get(p), b = v.get(p);
            if (a == null) differences.add("  only under vfs:     " + b);
            else if (b == null) differences.add("  only under overlay: " + a);
            else if (!a.equals(b)) differences.add("  overlay: " + a + "\n  vfs:     " + b);
        }
        check(overlay, differences.isEmpty(), "the image's tree differs between the storage drivers (path|mode in hex|uid|gid|"
                + "size|links|name, a hard link by the first name of its group), " + differences.size() + " differences:\n"
                + String.join("\n", differences.subList(0, Math.min(15, differences.size()))) + "\n", Concept.WHITEOUT);
        assertNoMountLeft(root, vfs);
        assertNoContainerLeft(root, vfs);
    }

    /**
     * The listing's lines by path: {@code |mode|uid|gid|size|links|%N} with the inode replaced by
     * the first path of its hard-link group (none for a directory, whose size and link count
     * depend on the filesystem: overlay says 1 link for a merged directory).
     */
    static Map<String, String> listing(Jocker.Result r) {
        Map<String, List<String>> byInode = new TreeMap<>();
        List<String[]> rows = new ArrayList<>();
        for (String line : r.stdout().lines().toList()) {
            String[] f = line.split("\\|", 8);
            if (f.length < 8) continue;
            rows.add(f);
            boolean dir = (Integer.parseInt(f[2], 16) & 0170000) == 0040000;
            if (!dir && Integer.parseInt(f[6]) > 1) byInode.computeIfAbsent(f[0], k -> new ArrayList<>()).add(f[1]);
        }
        Map<String, String> out = new TreeMap<>();
        for (String[] f : rows) {
            boolean dir = (Integer.parseInt(f[2], 16) & 0170000) == 0040000;
            List<String> group = byInode.get(f[0]);
            String link = !dir && group != null ? "=" + group.stream().sorted().findFirst().orElse("") : "";
            out.put(f[1], f[1] + "|" + f[2] + "|" + f[3] + "|" + f[4] + "|" + (dir ? "-|-" : f[5] + "|" + f[6]) + "|" + f[7] + link);
        }
        return out;
    }

    // ------------------------------------------------------------------------------------------
    // Many layers
    // ------------------------------------------------------------------------------------------

    @Test
    @Order(4)
    @DisplayName("an image of 64 layers runs under overlay (more than a page of mount options with absolute paths): every layer's file, the top one on top")
    void manyLayers() throws IOException {
        Step06Checks.Root root = root(jocker, "many");
        Fixtures.Image many = images.many;
        int n = many.layers().size();
        Jocker.Result run = root.run("run", many.ref(), "sh", "-c", "cat /top; ls /layers | wc -l; cat /proc/self/mountinfo");
        succeeds(run, "run of an image of " + n + " layers", Concept.MOUNT);
        MountInfo slash = rootMount(run);
        check(run, slash != null && slash.fsType().equals("overlay"), "expected an overlay mount as the container's /", Concept.MOUNT);
        List<String> lines = run.stdout().lines().toList();
        check(run, lines.size() >= 2 && lines.get(0).equals(String.valueOf(n - 1)), "expected /top to hold " + (n - 1)
                + ", the top layer's: the lower directories in overlay's order, top first", Concept.MOUNT);
        check(run, lines.size() >= 2 && lines.get(1).strip().equals(String.valueOf(n - 1)), "expected /layers to hold the "
                + (n - 1) + " files of the layers above the base, one each", Concept.MOUNT);
        // The check is only worth it if absolute lower directories would not have fitted in a page.
        int absolute = "lowerdir=".length();
        for (String id : chainIds(many)) absolute += layersDir(root).resolve(hex(id)).resolve("diff").toString().length() + 1;
        check(run, absolute > 4096, "the fixture image should need more than a page of lowerdir with absolute paths, it"
                + " needs " + absolute + " bytes: add layers", Concept.MOUNT);
        assertChainIdsOnly(root, run, many);
        assertNoMountLeft(root, run);
        assertNoContainerLeft(root, run);
    }

    // ==========================================================================================
    // Shared by the checks of step 07
    // ==========================================================================================

    /**
     * The concepts of step 07: the TODO and the chapter section to read when a check about it
     * fails; the given code's concepts name a section only.
     */
    record Concept(String todo, String section) implements Hint {
        static final Concept CHAIN = new Concept("07.1", "TODO 07.1");
        static final Concept WHITEOUT = new Concept("07.2", "TODO 07.2");
        static final Concept MOUNT = new Concept("07.3", "TODO 07.3: the mount");
        static final Concept DIFF = new Concept("07.4", "TODO 07.4");
        static final Concept DRIVERS = new Concept(null, "Storage drivers: vfs and overlay");
        static final Concept STORE = new Concept(null, "The layer store: one directory per layer, named by its chain id");
        static final Concept CLEANUP = new Concept(null, "Where the mount lives, and how it goes away");

        @Override
        public String hint() { return Hint.of("07-overlay.adoc", todo, section); }
    }

    static void check(Jocker.Result r, boolean condition, String reason, Concept c) { Hint.check(r, condition, reason, c); }

    static Jocker.Result succeeds(Jocker.Result r, String what, Concept c) { return Hint.succeeds(r, what, c); }

    static Step06Checks.Root root(Jocker jocker, String name) throws IOException {
        return Step06Checks.root(jocker, name);
    }

    /** The mount the container's /proc/self/mountinfo (in a run's stdout) lists at /; null if none. */
    static MountInfo rootMount(Jocker.Result r) {
        MountInfo slash = null;
        for (MountInfo m : MountInfo.parse(r.stdout().lines().toList())) if (m.mountPoint().equals("/")) slash = m;
        return slash;
    }

    static Path layersDir(Step06Checks.Root root) { return root.dir.resolve("storage/overlay/layers"); }

    static String hex(String digest) { return digest.substring(digest.indexOf(':') + 1); }

    /** The chain ids of an image's layers, bottom first, from its config's diff_ids (OCI image spec, config.md). */
    static List<String> chainIds(Fixtures.Image image) {
        List<String> ids = new ArrayList<>();
        String parent = null;
        for (JsonNode d : image.config().path("rootfs").path("diff_ids")) {
            parent = parent == null ? d.asText() : Fixtures.sha256((parent + " " + d.asText()).getBytes(StandardCharsets.UTF_8));
            ids.add(parent);
        }
        return ids;
    }

    /** The names in a directory, sorted; empty if it does not exist. */
    static List<String> names(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** Fails unless the layers directory holds exactly the chain ids of {@code image}, no temporary directory. */
    static void assertChainIdsOnly(Step06Checks.Root root, Jocker.Result r, Fixtures.Image image) throws IOException {
        List<String> found = names(layersDir(root));
        List<String> temporaries = found.stream().filter(n -> n.startsWith(".tmp-")).toList();
        check(r, temporaries.isEmpty(), "temporary directories were left in " + layersDir(root) + ": " + temporaries, Concept.STORE);
        Set<String> want = new TreeSet<>();
        for (String id : chainIds(image)) want.add(hex(id));
        Set<String> got = new TreeSet<>(found);
        if (!got.equals(want)) {
            Set<String> diffIds = new TreeSet<>();
            for (JsonNode d : image.config().path("rootfs").path("diff_ids")) diffIds.add(hex(d.asText()));
            boolean byDiffId = got.equals(diffIds);
            check(r, false, "expected " + layersDir(root) + " to hold one directory per layer of " + image.ref() + ", named by"
                    + " its chain id: " + want + ", found " + got + (byDiffId ? " (the layers' diff ids: a layer's chain id"
                    + " is its diff id on top of the chain id of the layer below, sha256 of \"sha256:PARENT sha256:DIFFID\")" : ""),
                    Concept.CHAIN);
        }
    }

    /**
     * What the layer store holds: every path under layers/ and l/ with its type, mode, owner,
     * size, mtime and ctime in nanoseconds and inode; a write, a chmod, a new entry or a layer
     * unpacked again all show.
     */
    static Map<String, String> snapshot(Step06Checks.Root root) throws IOException {
        Map<String, String> all = new TreeMap<>();
        Path home = root.dir.resolve("storage/overlay");
        for (String top : List.of("layers", "l")) {
            Path dir = home.resolve(top);
            if (!Files.exists(dir)) continue;
            try (Stream<Path> s = Files.walk(dir)) {
                for (Path p : s.toList()) {
                    Map<String, Object> a = Files.readAttributes(p, "unix:mode,uid,gid,size,lastModifiedTime,ctime,ino",
                            LinkOption.NOFOLLOW_LINKS);
                    all.put(home.relativize(p).toString(), String.format("mode %o uid %s gid %s size %s mtime %s ctime %s inode %s",
                            a.get("mode"), a.get("uid"), a.get("gid"), Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS) ? "-" : a.get("size"),
                            ((java.nio.file.attribute.FileTime) a.get("lastModifiedTime")).toInstant(),
                            ((java.nio.file.attribute.FileTime) a.get("ctime")).toInstant(), a.get("ino")));
                }
            }
        }
        return all;
    }

    static void assertUnchanged(Step06Checks.Root root, Jocker.Result r, Map<String, String> before, String reason, Concept c)
            throws IOException {
        Map<String, String> after = snapshot(root);
        if (after.equals(before)) return;
        List<String> differences = new ArrayList<>();
        Set<String> all = new TreeSet<>(before.keySet());
        all.addAll(after.keySet());
        for (String p : all) {
            String a = before.get(p), b = after.get(p);
            if (a == null) differences.add("  new:     " + p);
            else if (b == null) differences.add("  gone:    " + p);
            else if (!a.equals(b)) differences.add("  changed: " + p + " (" + a + " -> " + b + ")");
        }
        check(r, false, reason + "; in storage/overlay:\n" + String.join("\n", differences.subList(0, Math.min(10, differences.size())))
                + (differences.size() > 10 ? "\n  ... (" + (differences.size() - 10) + " more)" : "") + "\n", c);
    }

    /** The mounts at or under a state root, as this (the host's) mount namespace sees them. */
    static List<String> mountsUnder(Step06Checks.Root root) throws IOException {
        Path real = root.dir.toRealPath();
        return MountInfo.read().stream().filter(m -> m.isAtOrBelow(real)).map(m -> m.mountPoint() + " (" + m.fsType() + ")").toList();
    }

    static void assertNoMountLeft(Step06Checks.Root root, Jocker.Result r) throws IOException {
        List<String> left = mountsUnder(root);
        check(r, left.isEmpty(), "mounts are left under the state root after the run: " + left, Concept.CLEANUP);
    }

    static void assertNoContainerLeft(Step06Checks.Root root, Jocker.Result r) throws IOException {
        List<String> left = names(root.dir.resolve("containers"));
        check(r, left.isEmpty(), "container directories are left in " + root.dir.resolve("containers") + ": " + left
                + " (with their upper and work directories)", Concept.CLEANUP);
    }

    /**
     * The fixture images of a check class, pushed through the registry's API (gzip layers, an OCI
     * manifest and config), all on the busybox image as their first layer.
     */
    static final class Images {
        final Fixtures.Api api;
        final byte[] busybox;
        Fixtures.Image app;     // busybox, then /etc/x, /etc/y, /d/f and /app
        String appToken;        // /app's content
        Fixtures.Image tree;    // busybox, then three layers with modes, owners, links and whiteouts
        Fixtures.Image many;    // busybox, then 63 layers of a file each and /top

        Images(Jocker jocker, RegistryServer registry) throws IOException {
            this.api = new Fixtures.Api(registry.host());
            this.busybox = new Fixtures.Layer().busybox(jocker.image()).tar();
        }

        private static Map<String, Object> cmd() { return Map.of("Cmd", List.of("/bin/sh")); }

        Images app() throws IOException {
            appToken = Jocker.token("app-");
            app = api.pushImage("app", "t", List.of(busybox, new Fixtures.Layer().dir("etc").file("etc/x", "x\n")
                    .file("etc/y", "y\n").dir("d").file("d/f", "f\n").file("app", appToken + "\n").tar()), true, cmd());
            return this;
        }

        /**
         * tree: one layer of modes, owners and links, then one of whiteouts (of a file, of a
         * directory, of nothing; an opaque directory; a whiteout then a directory of the same name,
         * and a directory then its whiteout; a file over a directory; a directory's new mode), then
         * one more. Every directory has its own entry in each layer that writes into it, as tools
         * write layers. /t/order holds the number of the last layer that wrote it.
         */
        Images tree() throws IOException {
            byte[] first = new Fixtures.Layer().dir("t").file("t/order", "1\n")
                    .file("t/suid", "suid\n", 04755, 0, 0)
                    .dir("t/private", 0700, 0, 0).file("t/private/secret", "s\n", 0600, 1000, 2000)
                    .dir("t/owned", 0750, 1000, 2000).file("t/owned/f", "f\n", 0640, 1000, 2000)
                    .dir("t/sgid", 02775, 0, 2000)
                    .symlink("t/link", "suid").symlink("t/abs", "/etc/passwd")
                    .file("t/hard", "hard\n").hardlink("t/hard2", "t/hard")
                    .file("t/gone", "gone\n").dir("t/gonedir").file("t/gonedir/f", "f\n")
                    .dir("t/opq").file("t/opq/old", "old\n").dir("t/opq/sub").file("t/opq/sub/x", "x\n")
                    .dir("t/re").file("t/re/old", "old\n")
                    .dir("t/dw").file("t/dw/old", "old\n")
                    .dir("t/x").file("t/x/y", "y\n").tar();
            byte[] second = new Fixtures.Layer().dir("t").file("t/order", "2\n")
                    .whiteout("t/gone").whiteout("t/gonedir").whiteout("t/never")
                    .dir("t/opq").opaque("t/opq").file("t/opq/new", "new\n")
                    .whiteout("t/re").dir("t/re").file("t/re/new", "new\n")
                    .dir("t/dw").file("t/dw/new", "new\n").whiteout("t/dw")
                    .whiteout("t/x").file("t/x", "now a file\n")
                    .dir("t/private", 0711, 0, 0).tar();
            byte[] third = new Fixtures.Layer().dir("t").file("t/order", "3\n")
                    .file("t/late", "late\n", 0644, 1000, 2000).hardlink("t/late2", "t/late").tar();
            tree = api.pushImage("tree", "t", List.of(busybox, first, second, third), true, cmd());
            return this;
        }

        Images many() throws IOException {
            List<byte[]> layers = new ArrayList<>(List.of(busybox));
            for (int i = 1; i < 64; i++) {
                layers.add(new Fixtures.Layer().dir("layers").file("layers/f" + i, i + "\n").file("top", i + "\n").tar());
            }
            many = api.pushImage("many", "t", layers, true, cmd());
            return this;
        }
    }
}
