package jocker.rootfs;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import jocker.kernel.Linux;
import jocker.oci.Config;
import jocker.oci.State;
import jocker.runtime.Container;
import jocker.runtime.ContainerError;
import jocker.runtime.Log;

/**
 * The filesystems every container gets, and how one entry of the config's {@code mounts} list
 * becomes a mount(2) call. Given code: step 03 calls it from inside the new mount namespace,
 * before pivot_root, with the rootfs as the prefix of every destination.
 *
 * <p>The default table is Docker's and runc's (runc's {@code libcontainer/SPEC.md}, "Filesystem"):
 * <pre>
 *  destination  type    source  options                                         why
 *  /proc        proc    proc    nosuid,noexec,nodev                             ps, top, /proc/self/...
 *  /dev         tmpfs   tmpfs   nosuid,strictatime,mode=755,size=65536k         our own device nodes
 *  /dev/pts     devpts  devpts  nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5  terminals
 *  /dev/shm     tmpfs   shm     nosuid,noexec,nodev,mode=1777,size=65536k       POSIX shared memory
 *  /sys         sysfs   sysfs   nosuid,noexec,nodev,ro                          read-only: it is the host's
 * </pre>
 * Step 04 adds {@code /dev/mqueue} (type mqueue) for the new IPC namespace.
 *
 * <p>Options follow the OCI runtime spec: the names mount(8) uses ({@code ro}, {@code nosuid},
 * {@code bind} ...) become MS_* flags, everything else ({@code mode=755}) is handed to the
 * filesystem as its data string. See man 2 mount, man 8 mount (FILESYSTEM-INDEPENDENT MOUNT OPTIONS).
 */
public final class Mounts {
    private Mounts() {}

    /** Docker's default mounts, in the order they must be made (/dev before /dev/pts). */
    public static List<Config.Mount> defaults() {
        return new ArrayList<>(List.of(
                new Config.Mount("/proc", "proc", "proc", List.of("nosuid", "noexec", "nodev")),
                new Config.Mount("/dev", "tmpfs", "tmpfs",
                        List.of("nosuid", "strictatime", "mode=755", "size=65536k")),
                new Config.Mount("/dev/pts", "devpts", "devpts",
                        List.of("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5")),
                new Config.Mount("/dev/shm", "tmpfs", "shm",
                        List.of("nosuid", "noexec", "nodev", "mode=1777", "size=65536k")),
                new Config.Mount("/sys", "sysfs", "sysfs", List.of("nosuid", "noexec", "nodev", "ro"))));
    }

    /**
     * Refuses to go on unless this process (the init) is in a mount namespace of its own, not in
     * its runtime's: a private remount and a pivot_root done in the host's mount namespace would
     * change the host's mount table and move the root directory of every process on the host.
     * A namespace is identified by the inode its /proc/PID/ns/mnt link names ({@code mnt:[4026531841]});
     * the runtime's pid is the owner in the container's state.json, and /proc is still the host's.
     */
    public static void requireOwnMountNamespace(Config config) {
        String runtime;
        try {
            Path stateFile = Container.containersDir().resolve(config.annotations.get("jocker.id")).resolve("state.json");
            runtime = Long.toString(State.read(stateFile).owner.pid);
        } catch (java.io.IOException | RuntimeException e) {
            throw new ContainerError("failed to find the runtime's pid: " + Log.reason(e), e);
        }
        String mine = nsLink("self");
        String theirs = nsLink(runtime);
        if (mine.equals(theirs)) {
            throw new ContainerError("refused to set up the container's mounts: the init process is in its runtime's "
                    + "mount namespace " + mine + " (is \"mount\" in the config's linux.namespaces?)");
        }
    }

    private static String nsLink(String pid) {
        try {
            return Files.readSymbolicLink(Path.of("/proc", pid, "ns", "mnt")).toString();
        } catch (java.io.IOException e) {
            throw new ContainerError("failed to read /proc/" + pid + "/ns/mnt: " + Log.reason(e), e);
        }
    }

    /** Option names that set a flag. */
    private static final Map<String, Long> SETS = new LinkedHashMap<>();
    /** Option names that clear a flag (the defaults, written out). */
    private static final Map<String, Long> CLEARS = new LinkedHashMap<>();
    static {
        SETS.put("ro", Linux.MS_RDONLY);      CLEARS.put("rw", Linux.MS_RDONLY);
        SETS.put("nosuid", Linux.MS_NOSUID);  CLEARS.put("suid", Linux.MS_NOSUID);
        SETS.put("nodev", Linux.MS_NODEV);    CLEARS.put("dev", Linux.MS_NODEV);
        SETS.put("noexec", Linux.MS_NOEXEC);  CLEARS.put("exec", Linux.MS_NOEXEC);
        SETS.put("noatime", Linux.MS_NOATIME);
        SETS.put("relatime", Linux.MS_RELATIME);
        SETS.put("strictatime", Linux.MS_STRICTATIME);
        SETS.put("bind", Linux.MS_BIND);
        SETS.put("rbind", Linux.MS_BIND | Linux.MS_REC);
    }

    /** What mount(2) gets for a list of option names: the flags and the data string. */
    public record Options(long flags, String data) {}

    public static Options parse(List<String> options) {
        long flags = 0;
        List<String> data = new ArrayList<>();
        for (String o : options) {
            if (SETS.containsKey(o)) flags |= SETS.get(o);
            else if (CLEARS.containsKey(o)) flags &= ~CLEARS.get(o);
            else data.add(o);
        }
        return new Options(flags, data.isEmpty() ? null : String.join(",", data));
    }

    /**
     * Mounts {@code m} at {@code rootfs + m.destination}, creating the directory if it is missing.
     *
     * <p>We are still in the host's root directory here, so a destination inside the image that
     * is a symlink ({@code /proc -> /}) would be followed on the host: an image could make us
     * mount over the host's own directories. Every component of the destination is therefore
     * checked and a symlink refused (runc uses its securejoin package for the same reason,
     * CVE-2019-19921 and CVE-2021-30465 are what happens otherwise).
     *
     * <p>A bind mount of a file covers a file: {@code /etc/hosts} of the container's directory over
     * the image's {@code /etc/hosts}. If the image has none, an empty file is made as the mount
     * point (a directory would not do: mount(2) fails with ENOTDIR), as runc does.
     *
     * <p>A read-only bind mount takes two calls: MS_BIND ignores MS_RDONLY, so the bind mount is
     * remounted read-only afterwards (man 8 mount, "bind mount operation").
     */
    public static void mount(String rootfs, Config.Mount m) {
        Options o = parse(m.options);
        boolean fileOntoFile = (o.flags() & Linux.MS_BIND) != 0 && m.source != null
                && Files.isRegularFile(Path.of(m.source));
        Path target = fileOntoFile ? insideAsFile(Path.of(rootfs), m.destination) : inside(Path.of(rootfs), m.destination);
        Linux.mount(m.source, target.toString(), m.type, o.flags(), o.data());
        if ((o.flags() & Linux.MS_BIND) != 0 && (o.flags() & Linux.MS_RDONLY) != 0) {
            Linux.mount(null, target.toString(), null, o.flags() | Linux.MS_REMOUNT, null);
        }
    }

    /**
     * {@code destination} under {@code rootfs}, its directory made if missing and the file itself
     * made empty if missing; no symlink on the way, nor at the end.
     */
    public static Path insideAsFile(Path rootfs, String destination) {
        Path dest = Path.of("/").resolve(destination).normalize();
        if (dest.getParent() == null) throw new ContainerError("refused to mount a file on " + destination);
        Path p = inside(rootfs, dest.getParent().toString()).resolve(dest.getFileName().toString());
        if (Files.isSymbolicLink(p)) {
            throw new ContainerError("refused to mount on " + destination + ": " + rootfs.relativize(p) + " is a symlink in the image");
        }
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            try {
                Files.createFile(p);                  // O_CREAT|O_EXCL: never through a symlink
            } catch (java.io.IOException e) {
                throw new ContainerError("failed to create the mount point " + p + ": " + Log.reason(e), e);
            }
        }
        return p;
    }

    /** {@code destination} under {@code rootfs}, made a directory; no symlink on the way. */
    public static Path inside(Path rootfs, String destination) {
        Path p = rootfs;
        Path relative = Path.of("/").relativize(Path.of("/").resolve(destination).normalize());
        if (relative.toString().isEmpty()) return p;
        for (Path part : relative) {
            p = p.resolve(part);
            if (Files.isSymbolicLink(p)) {
                throw new ContainerError("refused to mount on " + destination + ": "
                        + rootfs.relativize(p) + " is a symlink in the image");
            }
            if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) Linux.mkdir(p.toString(), 0755);
        }
        return p;
    }
}
