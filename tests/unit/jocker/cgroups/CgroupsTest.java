//DEPS org.junit.platform:junit-platform-console-standalone:1.11.4
package jocker.cgroups;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import jocker.cgroups.Cgroups.Hierarchy;
import jocker.cgroups.Cgroups.Layout;
import jocker.cgroups.Cgroups.Version;
import jocker.kernel.MountInfo;

/** Cgroup layout detection from mountinfo (v1, v2, hybrid), Docker's units and CPU quotas. */
class CgroupsTest {
    /** The first column of /proc/cgroups on a recent kernel. */
    private static final Set<String> KNOWN = Set.of("cpuset", "cpu", "cpuacct", "blkio", "memory", "devices",
            "freezer", "net_cls", "perf_event", "net_prio", "hugetlb", "pids", "rdma", "misc");

    private static int ids = 30;

    private static MountInfo v1(String point, String superOptions) {
        return mount(point, "cgroup", superOptions);
    }

    private static MountInfo mount(String point, String fsType, String superOptions) {
        int id = ids++;
        return MountInfo.parse(List.of(id + " 25 0:" + id + " / " + point + " rw,nosuid,nodev,noexec - "
                + fsType + " " + fsType + " " + superOptions)).get(0);
    }

    /** A fake cgroup2 mount: a directory whose cgroup.controllers lists {@code controllers}. */
    private static MountInfo v2(Path dir, String controllers) throws Exception {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("cgroup.controllers"), controllers + "\n");
        return mount(dir.toString(), "cgroup2", "rw,nsdelegate");
    }

    private static List<MountInfo> v1Layout() {
        return List.of(
                mount("/sys/fs/cgroup", "tmpfs", "ro,mode=755"),
                v1("/sys/fs/cgroup/systemd", "rw,xattr,release_agent=/lib/systemd/systemd-cgroups-agent,name=systemd"),
                v1("/sys/fs/cgroup/cpu,cpuacct", "rw,cpu,cpuacct"),
                v1("/sys/fs/cgroup/memory", "rw,memory"),
                v1("/sys/fs/cgroup/pids", "rw,pids"),
                v1("/sys/fs/cgroup/net_cls,net_prio", "rw,net_cls,net_prio"));
    }

    @Test
    void v1HasOneTreePerController() {
        Layout l = Cgroups.detect(v1Layout(), KNOWN);
        Hierarchy memory = l.of("memory");
        assertEquals(Version.V1, memory.version());
        assertEquals(Path.of("/sys/fs/cgroup/memory"), memory.mount());
        assertEquals(Set.of("memory"), memory.controllers());
        assertEquals(Path.of("/sys/fs/cgroup/pids"), l.of("pids").mount());
        assertNull(l.of("io"), "v1 has no io controller");
        assertNull(l.of("cpuset"), "cpuset is not mounted");
    }

    @Test
    void cpuAndCpuacctMountedTogetherShareOneHierarchy() {
        Layout l = Cgroups.detect(v1Layout(), KNOWN);
        assertSame(l.of("cpu"), l.of("cpuacct"));
        assertEquals(Path.of("/sys/fs/cgroup/cpu,cpuacct"), l.of("cpu").mount());
        assertEquals(List.of("cpu", "cpuacct"), List.copyOf(l.of("cpu").controllers()));
        // One tree serves both: it is listed once.
        assertEquals(List.of(l.of("cpu"), l.of("memory")), l.serving(List.of("cpu", "cpuacct", "memory", "io")));
    }

    @Test
    void aNamedHierarchyWithoutControllersIsIgnored() {
        Layout l = Cgroups.detect(v1Layout(), KNOWN);
        for (String name : List.of("systemd", "name=systemd", "xattr", "rw")) assertNull(l.of(name), name);
        assertEquals(0, l.serving(List.of("systemd", "name=systemd")).size());
        // Only systemd's tree: no controller is served at all.
        Layout only = Cgroups.detect(List.of(v1("/sys/fs/cgroup/systemd", "rw,name=systemd")), KNOWN);
        assertEquals(List.of(), only.serving(List.copyOf(KNOWN)));
    }

    @Test
    void pureV2ServesEveryControllerFromOneTree(@TempDir Path tmp) throws Exception {
        MountInfo root = v2(tmp.resolve("cgroup"), "cpuset cpu io memory hugetlb pids rdma misc");
        Layout l = Cgroups.detect(List.of(mount("/", "ext4", "rw"), root), KNOWN);
        Hierarchy h = l.of("memory");
        assertEquals(Version.V2, h.version());
        assertEquals(tmp.resolve("cgroup"), h.mount());
        for (String c : List.of("cpu", "io", "pids", "cpuset")) assertSame(h, l.of(c), c);
        // v2 accounts CPU time everywhere: cpuacct maps to the v2 tree when v1 lacks it.
        assertSame(h, l.of("cpuacct"));
        assertNull(l.of("freezer"), "not in cgroup.controllers");
        assertEquals(List.of(h), l.serving(List.of("memory", "cpu", "pids")));
        assertEquals("memory=v2 " + h.mount() + ", blkio=none", l.describe(List.of("memory", "blkio")));
    }

    @Test
    void v2WithoutCpuDoesNotServeCpuacct(@TempDir Path tmp) throws Exception {
        Layout l = Cgroups.detect(List.of(v2(tmp.resolve("cg"), "memory pids")), KNOWN);
        assertNull(l.of("cpu"));
        assertNull(l.of("cpuacct"));
    }

    @Test
    void hybridV1WinsOverV2(@TempDir Path tmp) throws Exception {
        List<MountInfo> mounts = new java.util.ArrayList<>(v1Layout());
        // The unified tree lists what the kernel has; the controllers bound to v1 are not usable there.
        mounts.add(v2(tmp.resolve("unified"), "cpu memory io pids"));
        Layout l = Cgroups.detect(mounts, KNOWN);
        assertEquals(Version.V1, l.of("memory").version());
        assertEquals(Version.V1, l.of("cpu").version());
        assertEquals(Version.V1, l.of("cpuacct").version());
        assertEquals(Path.of("/sys/fs/cgroup/cpu,cpuacct"), l.of("cpuacct").mount());
        assertEquals(Version.V1, l.of("pids").version());
        Hierarchy unified = l.of("io");
        assertEquals(Version.V2, unified.version());
        assertEquals(Set.of("io"), unified.controllers(), "the v2 tree holds only what v1 left over");
        assertEquals("memory=v1 /sys/fs/cgroup/memory, io=v2 " + tmp.resolve("unified"),
                l.describe(List.of("memory", "io")));
    }

    @Test
    void hybridWithAnEmptyUnifiedTree(@TempDir Path tmp) throws Exception {
        List<MountInfo> mounts = new java.util.ArrayList<>(v1Layout());
        mounts.add(v2(tmp.resolve("unified"), ""));
        Layout l = Cgroups.detect(mounts, KNOWN);
        assertEquals(Version.V1, l.of("memory").version());
        assertNull(l.of("io"));
    }

    @Test
    void aV1TreeMountedTwiceKeepsTheFirstMount() {
        Layout l = Cgroups.detect(List.of(v1("/sys/fs/cgroup/memory", "rw,memory"),
                v1("/mnt/memory-again", "rw,memory")), KNOWN);
        assertEquals(Path.of("/sys/fs/cgroup/memory"), l.of("memory").mount());
    }

    @Test
    void anUnreadableCgroup2MountServesNothing(@TempDir Path tmp) throws Exception {
        Files.createDirectories(tmp.resolve("empty"));
        Layout l = Cgroups.detect(List.of(mount(tmp.resolve("empty").toString(), "cgroup2", "rw")), KNOWN);
        assertNull(l.of("memory"));
        assertNull(l.of("cpuacct"));
    }

    @Test
    void theFirstCgroup2MountIsTheOne(@TempDir Path tmp) throws Exception {
        MountInfo first = v2(tmp.resolve("first"), "memory");
        MountInfo second = v2(tmp.resolve("second"), "memory pids");
        Layout l = Cgroups.detect(List.of(first, second), KNOWN);
        assertEquals(tmp.resolve("first"), l.of("memory").mount());
        assertNull(l.of("pids"));
    }

    @Test
    void aCgroupPathIsResolvedInsideItsTree() {
        Hierarchy h = new Hierarchy(Version.V2, Path.of("/sys/fs/cgroup"), Set.of("memory"));
        assertEquals(Path.of("/sys/fs/cgroup/jocker/abc"), h.dir("jocker/abc"));
        assertEquals(Path.of("/sys/fs/cgroup/jocker/abc"), h.dir("/jocker/abc/"));
        assertEquals("cgroup2 /sys/fs/cgroup [memory]", h.toString());
    }

    @Test
    void parentIsJockerWithoutTheEnvironmentVariable() {
        String env = System.getenv("JOCKER_CGROUP_PARENT");
        assumeTrue(env == null || env.isBlank(), "JOCKER_CGROUP_PARENT is set");
        assertEquals("jocker", Cgroups.parent());
    }

    @Test
    void readKeyedSkipsWhatIsNoNumber(@TempDir Path tmp) throws Exception {
        Path f = tmp.resolve("memory.events");
        Files.writeString(f, "low 0\nhigh 12\nmax max\noom 1\n  oom_kill 3\nodd line here\n");
        assertEquals(Map.of("low", 0L, "high", 12L, "oom", 1L, "oom_kill", 3L), Cgroups.readKeyed(f));
        assertEquals(Map.of(), Cgroups.readKeyed(tmp.resolve("missing")));
    }

    /**
     * A typo in a cgroup file name, written into a real cgroup of this machine (v1 or v2, whichever
     * serves memory): the error says the file does not exist, and names it once. (The shell's
     * {@code echo 1 > memory.limit_in_byte} says "Permission denied": its O_CREAT asks the cgroup
     * filesystem for a new file, which it never makes.)
     */
    @Test
    void aTypoInAFileNameSaysTheFileDoesNotExist() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root to make a cgroup");
        Hierarchy tree = Cgroups.detect().of("memory");
        assumeTrue(tree != null, "no cgroup tree serves memory here");
        Path dir = tree.dir("jocker-unit-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
        Cgroups.mkdir(dir);
        try {
            Path typo = dir.resolve(tree.version() == Version.V2 ? "memory.mx" : "memory.limit_in_byte");
            java.io.IOException e = assertThrows(java.io.IOException.class, () -> Cgroups.write(typo, "67108864"));
            assertEquals("No such file or directory", Cgroups.reason(e), e.toString());
            String message = "write to " + typo + ": " + Cgroups.reason(e);
            assertEquals(1, message.split(java.util.regex.Pattern.quote(typo.toString()), -1).length - 1, message);
            assertThrows(java.io.IOException.class, () -> Cgroups.read(typo));
        } finally {
            Cgroups.rmdir(dir);
        }
    }

    /** An error without a reason of its own (EACCES, EEXIST) reads as strerror does, without the file's name. */
    @Test
    void aReasonNeverRepeatsThePath() {
        String file = "/sys/fs/cgroup/memory/jocker/x/memory.limit_in_byte";
        assertEquals("Permission denied", Cgroups.reason(new java.nio.file.AccessDeniedException(file)));
        assertEquals("File exists", Cgroups.reason(new java.nio.file.FileAlreadyExistsException(file)));
        assertEquals("No such file or directory", Cgroups.reason(new java.nio.file.NoSuchFileException(file)));
        assertEquals("Invalid argument", Cgroups.reason(new java.nio.file.FileSystemException(file, null, "Invalid argument")));
    }

    // ------------------------------------------------------------------------------------------
    // Docker's units
    // ------------------------------------------------------------------------------------------

    private static final long K = 1024, M = K * K, G = M * K;

    @Test
    void parseBytesTakesDockersUnits() {
        assertEquals(64 * M, Cgroups.parseBytes("64m"));
        assertEquals(64 * M, Cgroups.parseBytes("64M"));
        assertEquals(64 * M, Cgroups.parseBytes("64MB"));
        assertEquals(64 * M, Cgroups.parseBytes("64MiB"));
        assertEquals(64 * M, Cgroups.parseBytes("64mib"));
        assertEquals(64 * M, Cgroups.parseBytes(" 64 m "));
        assertEquals(G, Cgroups.parseBytes("1g"));
        assertEquals(3 * G / 2, Cgroups.parseBytes("1.5g"));
        assertEquals(512 * K, Cgroups.parseBytes("0.5m"));
        assertEquals(100, Cgroups.parseBytes("100"));
        assertEquals(100, Cgroups.parseBytes("100b"));
        assertEquals(4 * K, Cgroups.parseBytes("4k"));
        assertEquals(2 * G * K, Cgroups.parseBytes("2t"));
        assertEquals(1L << 50, Cgroups.parseBytes("1p"));
        assertEquals(1, Cgroups.parseBytes("1.9"), "a fraction of a byte is dropped");
        assertEquals(Long.MAX_VALUE, Cgroups.parseBytes("9223372036854775807"));
    }

    @Test
    void parseBytesRefusesWhatIsNoSize() {
        for (String bad : List.of("", "m", "abc", "-1m", "+1m", "1x", "1.5.5g", "1e3", "64ib", "64 MiB B", "1,5g", ".5g",
                "5.g", "0x10", "64mm")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Cgroups.parseBytes(bad),
                    "\"" + bad + "\"");
            assertEquals("not a size", e.getMessage(), "\"" + bad + "\"");
        }
    }

    @Test
    void parseBytesRefusesWhatDoesNotFitALong() {
        for (String big : List.of("8192p", "9223372036854775808", "99999999999999999999g", "8388608t")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Cgroups.parseBytes(big), big);
            assertEquals("too large", e.getMessage(), big);
        }
        assertEquals(8191L << 50, Cgroups.parseBytes("8191p"));
    }

    @Test
    void formatBytesUsesTheLargestExactUnit() {
        assertEquals("64m", Cgroups.formatBytes(64 * M));
        assertEquals("1g", Cgroups.formatBytes(G));
        assertEquals("1536m", Cgroups.formatBytes(3 * G / 2));
        assertEquals("1k", Cgroups.formatBytes(K));
        assertEquals("1000b", Cgroups.formatBytes(1000));
        assertEquals("1025b", Cgroups.formatBytes(1025));
        assertEquals("0b", Cgroups.formatBytes(0));
        assertEquals("1024p", Cgroups.formatBytes(1L << 60), "p is the largest unit");
        assertEquals(Long.MAX_VALUE + "b", Cgroups.formatBytes(Long.MAX_VALUE));
    }

    @Test
    void formatThenParseGivesTheSameBytes() {
        for (long b : new long[] {0, 1, 1000, K, 64 * M, 3 * G / 2, 7L << 40, 1L << 60, Long.MAX_VALUE}) {
            assertEquals(b, Cgroups.parseBytes(Cgroups.formatBytes(b)), Cgroups.formatBytes(b));
        }
    }

    @Test
    void cpuQuotaIsMicrosecondsPerPeriod() {
        assertEquals(100_000, Cgroups.CPU_PERIOD_US);
        assertEquals(50_000, Cgroups.cpuQuota("0.5"));
        assertEquals(1_000, Cgroups.cpuQuota("0.01"));
        assertEquals(200_000, Cgroups.cpuQuota("2"));
        assertEquals(150_000, Cgroups.cpuQuota(" 1.5 "));
        assertEquals(33_333, Cgroups.cpuQuota("0.333333"), "rounded down");
        // Docker reads --cpus as a decimal that may have an exponent: 1e3 is 1000 CPUs.
        assertEquals(100_000_000, Cgroups.cpuQuota("1e3"));
        assertEquals(50_000, Cgroups.cpuQuota("5e-1"));
    }

    @Test
    void cpuQuotaRefusesZeroNegativeAndWhatIsNoNumber() {
        for (String bad : List.of("0", "0.0", "-1", "-0.5", "0e5")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Cgroups.cpuQuota(bad), bad);
            assertEquals("not positive", e.getMessage(), bad);
        }
        for (String bad : List.of("", "abc", "half", "1/2", "NaN", "Infinity", "0x10", "1,5")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Cgroups.cpuQuota(bad), bad);
            assertEquals("not a number", e.getMessage(), bad);
        }
    }

    @Test
    void cpuQuotaRefusesWhatDoesNotFitALong() {
        for (String huge : List.of("1e30", "92233720368548", "99999999999999999999999")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Cgroups.cpuQuota(huge), huge);
            assertEquals("too large", e.getMessage(), huge);
        }
        assertEquals(9_223_372_036_854_700_000L, Cgroups.cpuQuota("92233720368547"));
    }

    /**
     * A tiny --cpus rounds down to a quota the kernel refuses (below 1 ms, EINVAL); the range
     * 0.01 to the online CPUs is checked by the caller (step 05's Limits), not here.
     */
    @Test
    void cpuQuotaRoundsATinyShareDown() {
        assertEquals(0, Cgroups.cpuQuota("0.000001"));
        assertEquals(100, Cgroups.cpuQuota("0.001"));
        assertEquals(999, Cgroups.cpuQuota("0.00999"));
    }
}
