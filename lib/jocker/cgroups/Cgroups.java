package jocker.cgroups;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import jocker.kernel.MountInfo;
import jocker.kernel.Trace;
import jocker.runtime.ContainerError;
import jocker.runtime.Log;

/**
 * The given part of step 05: where this machine's cgroup controllers live, cgroup files read and
 * written with a trace, and Docker's units ({@code 64m}, {@code 1g}, {@code --cpus 0.5}).
 *
 * <p>A cgroup (control group, man 7 cgroups) is a directory in a special filesystem; its files
 * are the knobs (write {@code 67108864} into {@code memory.max}) and the meters
 * ({@code memory.current}). Which directory tree serves which controller depends on the machine:
 * <pre>
 *  pure v2 (Ubuntu 24.04, Fedora)   one tree, cgroup2 at /sys/fs/cgroup, every controller in it
 *  v1 (older distributions)         one tree per controller: /sys/fs/cgroup/memory, .../pids, ...
 *  hybrid (this CI machine)         v1 trees for memory, cpu, pids; a cgroup2 tree at
 *                                   /sys/fs/cgroup/unified that holds only what v1 left over
 * </pre>
 * A controller is bound to exactly one tree (v1 or v2), never both, so the question "where is
 * memory?" always has one answer: {@link #detect()} asks /proc/self/mountinfo, like runc does.
 * The kernel's own documentation: https://docs.kernel.org/admin-guide/cgroup-v2.html and
 * https://docs.kernel.org/admin-guide/cgroup-v1/index.html.
 */
public final class Cgroups {
    private Cgroups() {}

    public enum Version { V1, V2 }

    /**
     * One mounted cgroup tree: its version, where it is mounted and the controllers it serves.
     * On v1 the {@code cpu} and {@code cpuacct} controllers are often mounted together
     * ({@code /sys/fs/cgroup/cpu,cpuacct}); then they share one Hierarchy.
     */
    public record Hierarchy(Version version, Path mount, Set<String> controllers) {
        /** The directory of cgroup {@code path} (such as {@code jocker/ID}) in this tree. */
        public Path dir(String path) { return mount.resolve(relative(path)); }

        @Override public String toString() {
            return (version == Version.V2 ? "cgroup2 " : "cgroup v1 ") + mount + " " + controllers;
        }

        // Written out, though a record has them: the generated ones are linked at their first call
        // through invokedynamic, which costs a fresh JVM ~6 ms, and every run hashes a Hierarchy.
        @Override public int hashCode() { return Objects.hash(version, mount, controllers); }

        @Override public boolean equals(Object o) {
            return o instanceof Hierarchy h && version == h.version && mount.equals(h.mount) && controllers.equals(h.controllers);
        }
    }

    /** Which tree serves which controller on this machine. */
    public static final class Layout {
        private final Map<String, Hierarchy> byController;

        public Layout(Map<String, Hierarchy> byController) { this.byController = byController; }

        /** The tree that serves {@code controller} ("memory", "cpu", "pids", ...), or null. */
        public Hierarchy of(String controller) { return byController.get(controller); }

        /** The distinct trees that serve any of {@code controllers}, each once, in that order. */
        public List<Hierarchy> serving(List<String> controllers) {
            Set<Hierarchy> trees = new LinkedHashSet<>();
            for (String c : controllers) if (byController.containsKey(c)) trees.add(byController.get(c));
            return new ArrayList<>(trees);
        }

        /** For messages and {@code --verbose}: {@code memory=v1 /sys/fs/cgroup/memory, ...}. */
        public String describe(List<String> controllers) {
            List<String> parts = new ArrayList<>();
            for (String c : controllers) {
                Hierarchy h = byController.get(c);
                parts.add(c + "=" + (h == null ? "none" : (h.version() == Version.V2 ? "v2 " : "v1 ") + h.mount()));
            }
            return String.join(", ", parts);
        }
    }

    // ------------------------------------------------------------------------------------------
    // Detection
    // ------------------------------------------------------------------------------------------

    /** Finds the cgroup trees of this machine from /proc/self/mountinfo (man 5 proc). */
    public static Layout detect() {
        try {
            return detect(MountInfo.read(), knownControllers());
        } catch (IOException | java.io.UncheckedIOException e) {
            throw new ContainerError("failed to find the cgroup filesystems: " + Log.reason(e), e);
        }
    }

    // tag::detect[]
    /**
     * The same, from the mounts of a mountinfo file (see jocker.kernel.MountInfo). A v1 mount names
     * its controllers in its super options ({@code rw,memory}); a v2 mount lists them in the file
     * {@code cgroup.controllers} at its root. v1 wins, because a controller that a v1 tree holds
     * cannot be used in the v2 tree at the same time.
     */
    public static Layout detect(List<MountInfo> mounts, Set<String> known) {
        Map<String, Hierarchy> v1 = new LinkedHashMap<>();
        Path v2mount = null;
        for (MountInfo m : mounts) {
            Path mount = Path.of(m.mountPoint());
            if (m.fsType().equals("cgroup")) {
                Set<String> controllers = new LinkedHashSet<>();
                for (String option : m.superOptions().split(",")) if (known.contains(option)) controllers.add(option);
                if (controllers.isEmpty()) continue;          // name=systemd and such: no controller
                Hierarchy h = new Hierarchy(Version.V1, mount, controllers);
                for (String c : controllers) v1.putIfAbsent(c, h);
            } else if (m.fsType().equals("cgroup2") && v2mount == null) {
                v2mount = mount;
            }
        }
        Map<String, Hierarchy> byController = new LinkedHashMap<>(v1);
        if (v2mount != null) {
            Set<String> controllers = new LinkedHashSet<>();
            try {
                for (String c : read(v2mount.resolve("cgroup.controllers")).split("\\s+")) {
                    if (!c.isEmpty() && !v1.containsKey(c)) controllers.add(c);
                }
            } catch (IOException e) {
                // an unreadable cgroup2 mount serves nothing we can use
            }
            Hierarchy h = new Hierarchy(Version.V2, v2mount, controllers);
            for (String c : controllers) byController.put(c, h);
            // cgroup v2 accounts CPU time in every cgroup (cpu.stat), whatever is enabled: the
            // v1 "cpuacct" controller has no v2 twin, so we map it to the v2 tree if v1 lacks it.
            if (!v1.containsKey("cpuacct") && controllers.contains("cpu")) byController.put("cpuacct", h);
        }
        return new Layout(byController);
    }
    // end::detect[]

    /** The controller names this kernel knows, from /proc/cgroups (first column). */
    private static Set<String> knownControllers() throws IOException {
        Set<String> names = new LinkedHashSet<>();
        for (String line : Files.readAllLines(Path.of("/proc/cgroups"))) {
            if (line.startsWith("#") || line.isBlank()) continue;
            names.add(line.split("\\s+")[0]);
        }
        return names;
    }

    // ------------------------------------------------------------------------------------------
    // Where our cgroups go
    // ------------------------------------------------------------------------------------------

    /**
     * The parent of every container's cgroup: {@code jocker}, or {@code $JOCKER_CGROUP_PARENT}
     * (a relative path such as {@code jocker-test-1a2b}; the checks use their own). Docker's
     * cgroupfs driver does the same with {@code /docker} and {@code --cgroup-parent}.
     */
    public static String parent() {
        String p = System.getenv("JOCKER_CGROUP_PARENT");
        if (p == null || p.isBlank()) return "jocker";
        String clean = relative(p);
        for (String part : clean.split("/")) {
            if (part.isEmpty() || part.equals(".") || part.equals("..")) {
                throw new ContainerError("invalid JOCKER_CGROUP_PARENT \"" + p + "\": use a relative path such as jocker");
            }
        }
        return clean;
    }

    private static String relative(String path) {
        String p = path;
        while (p.startsWith("/")) p = p.substring(1);
        while (p.endsWith("/")) p = p.substring(0, p.length() - 1);
        return p;
    }

    // ------------------------------------------------------------------------------------------
    // Files of the cgroup filesystem, with --trace
    // ------------------------------------------------------------------------------------------

    /** Reads a cgroup file, without its final newline. */
    public static String read(Path file) throws IOException {
        return Files.readString(file, StandardCharsets.UTF_8).strip();
    }

    /**
     * Reads a flat-keyed file ({@code memory.events}, {@code memory.oom_control}, {@code cpu.stat},
     * {@code pids.events}): one {@code key value} a line. Missing file: empty map.
     */
    public static Map<String, Long> readKeyed(Path file) throws IOException {
        Map<String, Long> values = new LinkedHashMap<>();
        if (!Files.exists(file)) return values;
        for (String line : read(file).split("\n")) {
            String[] kv = line.trim().split("\\s+");
            if (kv.length == 2) {
                try {
                    values.put(kv[0], Long.parseLong(kv[1]));
                } catch (NumberFormatException e) {
                    // not a number ("max"): leave it out
                }
            }
        }
        return values;
    }

    /**
     * Writes {@code value} into a cgroup file: {@code open(file, O_WRONLY|O_TRUNC)} and one
     * {@code write(2)}, which is what {@code echo value > file} does. The kernel checks the value
     * on write: EINVAL for a value it does not accept, EBUSY for a limit below what is in use,
     * ENOENT for a file this kernel does not have.
     */
    public static void write(Path file, String value) throws IOException {
        try {
            // WRITE without CREATE: a file this kernel does not have is ENOENT, not a new file
            Files.writeString(file, value, StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.WRITE,
                    java.nio.file.StandardOpenOption.TRUNCATE_EXISTING);
            Trace.line("write(\"" + file + "\", \"" + value + "\")", "" + value.length());
        } catch (IOException e) {
            // Whatever the open said, a file that is not there is ENOENT: a learner's typo must
            // read as one, not as EACCES (what an open with O_CREAT gets from cgroupfs).
            IOException cause = !(e instanceof NoSuchFileException) && !Files.exists(file)
                    ? new NoSuchFileException(file.toString()) : e;
            Trace.line("write(\"" + file + "\", \"" + value + "\")", "-1 " + reason(cause));
            throw cause;
        }
    }

    /** {@code mkdir(2)}: in a cgroup filesystem, this creates a cgroup, its files appear inside. */
    public static void mkdir(Path dir) throws IOException {
        try {
            Files.createDirectory(dir);
            Trace.line("mkdir(\"" + dir + "\", 0755)", "0");
        } catch (IOException e) {
            Trace.line("mkdir(\"" + dir + "\", 0755)", "-1 " + reason(e));
            throw e;
        }
    }

    /**
     * {@code rmdir(2)}: removes a cgroup. Its files are not real files and need no deleting, but
     * the kernel refuses (EBUSY) while the cgroup still has processes or child cgroups.
     */
    public static void rmdir(Path dir) throws IOException {
        try {
            Files.delete(dir);
            Trace.line("rmdir(\"" + dir + "\")", "0");
        } catch (IOException e) {
            Trace.line("rmdir(\"" + dir + "\")", "-1 " + reason(e));
            throw e;
        }
    }

    /** True when rmdir failed because the cgroup still has processes (or children): EBUSY. */
    public static boolean busy(IOException e) {
        return e instanceof DirectoryNotEmptyException
                || (e instanceof FileSystemException f && f.getReason() != null
                        && f.getReason().contains("busy"));
    }

    /** The pids in a cgroup ({@code cgroup.procs}); empty when it is gone. */
    public static List<Integer> procs(Path dir) {
        List<Integer> pids = new ArrayList<>();
        try {
            for (String line : read(dir.resolve("cgroup.procs")).split("\n")) {
                if (!line.isBlank()) pids.add(Integer.parseInt(line.trim()));
            }
        } catch (IOException | NumberFormatException e) {
            // gone already
        }
        return pids;
    }

    /**
     * The reason of an I/O error as strerror says it: "Invalid argument", "No such file or
     * directory". Never the file's name: the caller's message names it once.
     */
    public static String reason(IOException e) {
        if (e instanceof NoSuchFileException) return "No such file or directory";
        if (e instanceof DirectoryNotEmptyException) return "Device or resource busy";
        if (e instanceof FileSystemException f && f.getReason() != null) return f.getReason();
        if (e instanceof java.nio.file.AccessDeniedException) return "Permission denied";
        if (e instanceof java.nio.file.FileAlreadyExistsException) return "File exists";
        if (e instanceof java.nio.file.NotDirectoryException) return "Not a directory";
        if (e instanceof FileSystemException) return e.getClass().getSimpleName();
        return Log.reason(e);
    }


    // ------------------------------------------------------------------------------------------
    // Docker's units
    // ------------------------------------------------------------------------------------------

    private static final Pattern SIZE = Pattern.compile("(?i)^(\\d+(?:\\.\\d+)?)\\s?([kmgtp]?)(i?b)?$");

    /**
     * Parses a size the way {@code docker run --memory} does: a number of bytes with an optional
     * unit {@code b k m g t p} (powers of 1024, any case, {@code 64m = 64MB = 64MiB}), a decimal
     * fraction allowed ({@code 1.5g}). Returns bytes; throws IllegalArgumentException.
     */
    public static long parseBytes(String text) {
        Matcher m = SIZE.matcher(text.trim());
        if (!m.matches() || (m.group(2).isEmpty() && m.group(3) != null && m.group(3).length() > 1)) {
            throw new IllegalArgumentException("not a size");
        }
        int power = "bkmgtp".indexOf(m.group(2).isEmpty() ? 'b' : Character.toLowerCase(m.group(2).charAt(0)));
        BigDecimal bytes = new BigDecimal(m.group(1)).multiply(BigDecimal.valueOf(1024).pow(power));
        try {
            return bytes.setScale(0, java.math.RoundingMode.DOWN).longValueExact();
        } catch (ArithmeticException tooBig) {
            throw new IllegalArgumentException("too large");
        }
    }

    /** Bytes the way Docker's units print them: 67108864 is {@code 64m}, 1073741824 {@code 1g}. */
    public static String formatBytes(long bytes) {
        String[] units = {"b", "k", "m", "g", "t", "p"};
        int i = 0;
        long v = bytes;
        while (i < units.length - 1 && v >= 1024 && v % 1024 == 0) {
            v /= 1024;
            i++;
        }
        return i == 0 ? bytes + "b" : v + units[i];
    }

    /** The CFS period Docker and runc use: CPU time is shared out in slices of 100 ms. */
    public static final long CPU_PERIOD_US = 100_000;

    /**
     * Turns {@code --cpus 0.5} into a CFS quota: microseconds of CPU time per
     * {@link #CPU_PERIOD_US}, so 0.5 is 50000 of 100000, 2 is 200000 (two CPUs' worth).
     * Throws IllegalArgumentException for what is not a positive decimal.
     */
    public static long cpuQuota(String cpus) {
        BigDecimal n;
        try {
            n = new BigDecimal(cpus.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a number");
        }
        if (n.signum() <= 0) throw new IllegalArgumentException("not positive");
        if (!cpus.trim().matches("[0-9.eE+-]+")) throw new IllegalArgumentException("not a number");
        BigDecimal quota = n.multiply(BigDecimal.valueOf(CPU_PERIOD_US)).setScale(0, java.math.RoundingMode.DOWN);
        // longValue() would wrap a huge value around into a small, wrong quota.
        if (quota.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) throw new IllegalArgumentException("too large");
        return quota.longValueExact();
    }
}
