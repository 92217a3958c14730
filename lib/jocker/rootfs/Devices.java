package jocker.rootfs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

import jocker.kernel.Linux;
import jocker.runtime.ContainerError;
import jocker.runtime.Log;

/**
 * The device nodes and links of a container's {@code /dev}. Given code: step 03 calls
 * {@link #create} after mounting a fresh tmpfs on the rootfs's /dev.
 *
 * <p>The host's /dev holds every disk, every terminal and /dev/mem: a container gets a tmpfs
 * instead, with only the harmless nodes every program expects (the OCI runtime spec's "Default
 * Devices", runc's {@code libcontainer/SPEC.md}). They are made with mknod(2), which needs
 * CAP_MKNOD; a rootless runtime would bind-mount the host's nodes instead. There is no
 * {@code /dev/console}: Docker makes one only for {@code -t}, as a bind mount of the container's
 * pseudo-terminal, and we do not allocate a terminal (the command shares ours).
 * See man 4 null, man 4 random, man 4 tty, man 7 pty.
 */
public final class Devices {
    private Devices() {}

    /** One character device: its name under /dev and its numbers (Documentation/admin-guide/devices.txt). */
    public record Node(String name, int major, int minor) {}

    public static final List<Node> NODES = List.of(
            new Node("null", 1, 3),      // discards writes, reads end of file
            new Node("zero", 1, 5),      // reads zeros
            new Node("full", 1, 7),      // writes fail with ENOSPC
            new Node("random", 1, 8),
            new Node("urandom", 1, 9),
            new Node("tty", 5, 0));      // the process's controlling terminal, if it has one

    /** Links every program expects: /dev/fd/N, /dev/stdin and so on come from /proc. */
    public static final List<String[]> LINKS = List.of(
            new String[] {"fd", "/proc/self/fd"},
            new String[] {"stdin", "/proc/self/fd/0"},
            new String[] {"stdout", "/proc/self/fd/1"},
            new String[] {"stderr", "/proc/self/fd/2"},
            new String[] {"ptmx", "pts/ptmx"},          // the devpts mounted with newinstance
            new String[] {"core", "/proc/kcore"});

    /** Makes the nodes and links in {@code dev}, a fresh tmpfs. */
    public static void create(Path dev) {
        for (Node n : NODES) {
            Path p = dev.resolve(n.name());
            Linux.mknod(p.toString(), Linux.S_IFCHR | 0666, Linux.makedev(n.major(), n.minor()));
            // mknod(2) applies our umask (022): set the mode the nodes must have explicitly.
            try {
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rw-rw-rw-"));
            } catch (IOException e) {
                throw new ContainerError("failed to chmod " + p + ": " + Log.reason(e), e);
            }
        }
        for (String[] link : LINKS) {
            Path p = dev.resolve(link[0]);
            try {
                Files.createSymbolicLink(p, Path.of(link[1]));
            } catch (IOException e) {
                throw new ContainerError("failed to create the symlink " + p + ": " + Log.reason(e), e);
            }
        }
    }
}
