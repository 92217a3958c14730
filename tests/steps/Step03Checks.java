import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import jocker.kernel.Linux;
import jocker.kernel.MountInfo;

/**
 * Step 03 mount namespace, black-box: the container has a hostname and a mount table of its own,
 * the host's stay as they were before, during and after a run, the old root is gone from the
 * container's view, and the chroot breakout that works against step 02 finds nothing now.
 */
@DisplayName("step 03 mount namespace")
@ExtendWith(JockerExtension.class)
class Step03Checks {

    private final Jocker jocker;

    Step03Checks(Jocker jocker) {
        this.jocker = jocker;
    }

    /** A concept's hint, which also names the step whose file this runs, when it is a later one. */
    private Hint h(Hint c) { return Hint.onStep(jocker, 3, c); }

    /** How long a background container may take to say "ready". */
    static final Duration READY = Duration.ofSeconds(20);

    @Test
    @Essential
    @Order(1)
    @DisplayName("--hostname NAME is the container's hostname; the host keeps its own")
    void hostnameIsSet() throws IOException {
        String before = hostHostname();
        String name = Jocker.token("box-");
        Jocker.Result r = jocker.run(jocker.container(List.of("--hostname", name), "hostname"));
        Hint.exits(r, 0, h(Concept.ALL));
        Hint.stdoutIs(r, name + "\n", h(Concept.HOSTNAME));
        Hint.check(r, hostHostname().equals(before), "the host's hostname changed from " + before + " to " + hostHostname(), h(Concept.UTS));
    }

    @Test
    @Order(2)
    @DisplayName("without --hostname the hostname is the container's short id (12 hex digits)")
    void hostnameDefaultsToShortId() throws IOException {
        String before = hostHostname();
        Jocker.Result r = jocker.run(jocker.container("hostname"));
        Hint.exits(r, 0, h(Concept.ALL));
        Hint.check(r, r.stdout().matches("[0-9a-f]{12}\n"),
                "expected the short id of the container (12 hex digits) as its hostname", h(Concept.HOSTNAME));
        Hint.check(r, hostHostname().equals(before), "the host's hostname changed from " + before + " to " + hostHostname(), h(Concept.UTS));
    }

    @Test
    @Order(3)
    @DisplayName("an invalid --hostname is refused with 125 and one line")
    void invalidHostname() {
        Jocker.Result r = jocker.run(jocker.container(List.of("--hostname", "not_a/valid name"), "true"));
        Hint.exits(r, 125, h(Concept.UTS));
        Hint.oneLineError(r, h(Concept.UTS), "hostname");
        Hint.stdoutIs(r, "", h(Concept.UTS));
    }

    /**
     * The state root's containers/ directory is made a shared mount for this check, as every mount
     * is on a systemd host (Ubuntu): a mount made in the container below it would then propagate
     * back to the host, unless the container made its mounts private first (TODO 03.1).
     */
    @Test
    @Order(4)
    @DisplayName("the host's mount table is the same before, during and after a run (under a shared mount too)")
    void hostMountTableUntouched() throws IOException {
        Path containers = Files.createDirectories(jocker.root().resolve("containers"));
        Linux.mount("jocker-check-shared", containers.toString(), "tmpfs", 0, "size=64m");
        try {
            Linux.mount("none", containers.toString(), null, Linux.MS_SHARED, null);   // mount --make-shared
            TreeSet<String> before = hostMounts();
            Jocker.Running running = jocker.start(jocker.container("sh", "-c", Jocker.readyThenWait(2)));
            boolean ready = running.awaitOutput("ready", READY);
            TreeSet<String> during = hostMounts();
            running.stopWaiting();
            Jocker.Result r = running.await();
            TreeSet<String> after = hostMounts();
            r.check(during.equals(before), "while the container ran, the host's mount table under "
                    + jocker.root() + " changed (mounts made in the container propagated to the host: are they private?) "
                    + h(Concept.PRIVATE).hint() + ":" + diff(before, during));
            Hint.check(r, ready, "the container never printed \"ready\"", h(Concept.ALL));
            Hint.exits(r, 0, h(Concept.ALL));
            r.check(after.equals(before), "after the run the host's mount table under " + jocker.root()
                    + " is not what it was " + h(Concept.PRIVATE).hint() + ":" + diff(before, after));
            Step02Checks.assertNoLeftovers(jocker, r);
        } finally {
            Linux.umount2(containers.toString(), Linux.MNT_DETACH);   // umount -R -l: the mounts below go too
        }
    }

    @Test
    @Essential
    @Order(5)
    @DisplayName("the container sees only its own mounts (/, /proc, /dev, /sys ...) and no old root")
    void containerSeesOnlyItsMounts() {
        Jocker.Result r = jocker.run(jocker.container("sh", "-c",
                "cut -d' ' -f5 /proc/self/mountinfo; echo --; ls -a /"));
        Hint.exits(r, 0, h(Concept.ALL));
        String[] parts = r.stdout().split("--\n", 2);
        Hint.check(r, parts.length == 2, "expected the mount points, then --, then ls -a /", h(Concept.ALL));
        List<String> mounts = parts[0].lines().toList();
        for (String required : List.of("/", "/proc", "/dev", "/dev/pts", "/dev/shm", "/sys")) {
            Hint.check(r, mounts.contains(required), "expected " + required + " among the container's mount points " + mounts,
                    h(Concept.MOUNTS));
        }
        // From step 08 on, the runtime bind-mounts the container's own /etc files over the image's, as Docker does.
        List<String> etc = List.of("/etc/hosts", "/etc/hostname", "/etc/resolv.conf");
        for (String m : mounts) {
            Hint.check(r, m.equals("/") || m.startsWith("/proc") || m.startsWith("/dev") || m.startsWith("/sys") || etc.contains(m),
                    "the container sees a mount that is not its own: " + m + " (is the old root detached?)", h(Concept.PIVOT));
        }
        Hint.check(r, parts[1].lines().noneMatch(l -> l.startsWith(".old") || l.contains("old-root") || l.equals("put_old")),
                "the old root's directory is still in the container's / (remove it after umount2)", h(Concept.PIVOT));
    }

    @Test
    @Order(6)
    @DisplayName("/dev holds null, zero, full, random, urandom, tty and the /proc/self/fd links; /sys is read-only")
    void devAndSys() {
        Jocker.Result r = jocker.run(jocker.container("sh", "-c",
                "for d in null zero full random urandom tty; do test -c /dev/$d && echo $d; done; "
                        + "echo hidden > /dev/null && head -c 3 /dev/zero | wc -c; "
                        + "for l in fd stdin stdout stderr ptmx; do readlink /dev/$l; done; "
                        + "test -c /dev/pts/ptmx && echo pts; "
                        + "if touch /sys/jocker-check 2>/dev/null; then echo sys-writable; else echo sys-ro; fi; "
                        + "test -e /dev/sda -o -e /dev/vda -o -e /dev/mem && echo host-devices; true"));
        Hint.exits(r, 0, h(Concept.ALL));
        Hint.stdoutIs(r, "null\nzero\nfull\nrandom\nurandom\ntty\n3\n"
                + "/proc/self/fd\n/proc/self/fd/0\n/proc/self/fd/1\n/proc/self/fd/2\npts/ptmx\npts\nsys-ro\n", h(Concept.MOUNTS));
    }

    /**
     * The classic breakout: chroot into a subdirectory without moving the working directory along,
     * then climb "..": the kernel stops ".." only at the process's root, which we are outside of.
     * BusyBox's nsenter with --root does just that (it keeps the working directory). Against a
     * chroot (step 02) the path leads to the host's /tmp; after pivot_root it ends at the
     * container's own root, because nothing of the host is above it any more.
     */
    static final String BREAKOUT = "mkdir -p /x/bin && cp /bin/busybox /x/bin/busybox && "
            + "nsenter --root=/x /bin/busybox cat " + "../".repeat(16) + "tmp/%s";

    @Test
    @Essential
    @Order(7)
    @DisplayName("the chroot breakout of step 02 climbs only to the container's own root")
    void breakoutFails() throws IOException {
        String token = Jocker.token();
        String name = "jocker-breakout-" + token;
        Path onHost = Path.of("/tmp", name);
        Files.writeString(onHost, "host " + token + "\n");
        try {
            // The same file name inside the container: the breakout must end there.
            Jocker.Result r = jocker.run(jocker.container("sh", "-c",
                    "echo container " + token + " > /tmp/" + name + " && " + String.format(BREAKOUT, name)));
            Hint.check(r, !r.stdout().contains("host " + token),
                    "the breakout read the host's " + onHost + ": the container can still reach the host's root", h(Concept.BREAKOUT));
            Hint.exits(r, 0, h(Concept.ALL));
            Hint.stdoutIs(r, "container " + token + "\n", h(Concept.BREAKOUT));
        } finally {
            Files.deleteIfExists(onHost);
        }
    }

    @Test
    @Order(8)
    @DisplayName("(control) the same breakout does escape a chroot: step 02 reads the host's file")
    void breakoutWorksAgainstChroot() throws IOException {
        Optional<Path> chroot = sibling("02_");
        Assumptions.assumeTrue(chroot.isPresent(), "no step 02 file beside " + jocker.script());
        String token = Jocker.token();
        String name = "jocker-breakout-" + token;
        Path onHost = Path.of("/tmp", name);
        Files.writeString(onHost, "host " + token + "\n");
        Jocker chrootJocker = jocker.withScript(chroot.get(), 2);
        try {
            Jocker.Result r = chrootJocker.run(chrootJocker.container("sh", "-c", String.format(BREAKOUT, name)));
            Hint.exits(r, 0, h(Concept.CHROOT_BREAKOUT));
            Hint.stdoutIs(r, "host " + token + "\n", h(Concept.CHROOT_BREAKOUT));
        } finally {
            Files.deleteIfExists(onHost);
        }
    }

    /**
     * SIGKILL gives the runtime no chance to clean up. Its container dies with it (the init asked
     * for PR_SET_PDEATHSIG), its mounts die with the mount namespace, and the next run removes the
     * container directory that is left (lib/Leftovers.java).
     */
    @Test
    @Order(9)
    @DisplayName("after the runtime is killed with SIGKILL: the container is gone, no mount leaks, the next run sweeps the rest")
    void killedRuntimeLeavesNothing() throws IOException {
        TreeSet<String> before = hostMounts();
        Jocker.Running running = jocker.start(jocker.container("sh", "-c", "echo ready; exec sleep 60"));
        boolean ready = running.awaitOutput("ready", READY);
        List<ProcessHandle> container = running.process.toHandle().descendants().toList();
        if (running.process.isAlive()) running.signal("KILL");
        Jocker.Result r = running.await();
        Hint.check(r, ready, "the container never printed \"ready\"", h(Concept.ALL));
        Hint.check(r, !container.isEmpty(), "found no container process under the runtime", h(Concept.ALL));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (container.stream().anyMatch(ProcessHandle::isAlive) && System.nanoTime() < deadline) Jocker.sleep(100);
        Hint.check(r, container.stream().noneMatch(ProcessHandle::isAlive),
                "the container's processes outlived their runtime: " + container.stream().filter(ProcessHandle::isAlive)
                        .map(p -> p.pid() + " " + p.info().commandLine().orElse("?")).toList(), h(Concept.KILLED));
        TreeSet<String> after = hostMounts();
        r.check(after.equals(before), "mounts leaked to the host after the runtime was killed "
                + h(Concept.PRIVATE).hint() + ":" + diff(before, after));
        Hint.check(r, !jocker.leftovers().isEmpty(), "expected the killed runtime's container directory to be left (to be swept)",
                h(Concept.KILLED));

        Jocker.Result next = jocker.run(jocker.container("true"));
        Hint.exits(next, 0, h(Concept.ALL));
        Hint.check(next, jocker.leftovers().isEmpty(),
                "the next run did not sweep the killed runtime's container directory: " + jocker.leftovers(), h(Concept.KILLED));
    }

    // ------------------------------------------------------------------------------------------

    static String hostHostname() throws IOException {
        return Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
    }

    /** The host's mount points under the state root (the rest of the host is not ours to watch). */
    TreeSet<String> hostMounts() throws IOException {
        String root = jocker.root().toRealPath().toString();
        TreeSet<String> points = new TreeSet<>();
        for (MountInfo m : MountInfo.read()) {
            String point = m.mountPoint();
            if (point.startsWith(root) || point.contains("old-root")) points.add(point);
        }
        return points;
    }

    static String diff(TreeSet<String> a, TreeSet<String> b) {
        List<String> lines = new ArrayList<>();
        b.stream().filter(m -> !a.contains(m)).forEach(m -> lines.add("\n  + " + m));
        a.stream().filter(m -> !b.contains(m)).forEach(m -> lines.add("\n  - " + m));
        return String.join("", lines);
    }

    /**
     * What each check depends on: the TODOs whose code it runs, the sections that explain it (the
     * exact titles). A failure's first line ends with its bracket.
     */
    enum Concept implements Hint {
        /** A run that must work at all: every TODO of the step. */
        ALL("03.1 03.2 03.3 03.4", "TODO 03.1", "TODO 03.2", "TODO 03.3", "TODO 03.4"),
        PRIVATE("03.1", "TODO 03.1"),
        PIVOT("03.2 03.3", "TODO 03.2", "TODO 03.3"),
        BREAKOUT("03.3", "Why pivot_root beats chroot"),
        HOSTNAME("03.4", "TODO 03.4"),
        /** The UTS namespace and the check of --hostname are given code. */
        UTS("", "The UTS namespace and the hostname"),
        /** Given code mounts /proc, /dev, /sys below the rootfs; pivot_root brings them along. */
        MOUNTS("03.2 03.3", "Devices, /proc and /sys: the mounts every container gets"),
        KILLED("", "Troubleshooting"),
        /** The control runs step 02: its chroot must let the breakout through. */
        CHROOT_BREAKOUT("02.2", new String[] {"The classic chroot breakout"}, "02-chroot.adoc");

        final String chapter;
        final List<String> todos;
        final List<String> sections;

        Concept(String todos, String... sections) {
            this(todos, sections, "03-mount-namespace.adoc");
        }

        Concept(String todos, String[] sections, String chapter) {
            this.chapter = chapter;
            this.todos = todos.isEmpty() ? List.of() : List.of(todos.split(" "));
            this.sections = List.of(sections);
        }

        @Override
        public String hint() { return Hint.of(chapter, todos, sections); }
    }

    /** The step file NN_*.java beside the script under test. */
    Optional<Path> sibling(String prefix) {
        try (Stream<Path> s = Files.list(jocker.script().getParent())) {
            return s.filter(p -> p.getFileName().toString().startsWith(prefix) && p.toString().endsWith(".java")).findFirst();
        } catch (IOException e) {
            return Optional.empty();
        }
    }
}
