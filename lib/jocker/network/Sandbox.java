package jocker.network;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import jnr.ffi.annotations.SaveError;
import jocker.kernel.HostPrograms;
import jocker.kernel.Linux;
import jocker.kernel.Trace;
import jocker.runtime.ContainerError;

/**
 * A container's network namespace, the CNM's <em>sandbox</em>: its own interfaces, addresses,
 * routes, ports and iptables (man 7 network_namespaces). A new one holds nothing but a loopback
 * interface, {@code lo}, and that is down. We reach it as {@code /proc/PID/ns/net} of a process
 * that lives in it, the container's init; no {@code ip netns} name is made, so nothing is left
 * behind in /run/netns when the container goes: the namespace ends with its last process.
 *
 * <p>How the runtime gets in: network namespace membership belongs to a <em>thread</em>, not to
 * the whole process, so a thread of ours may {@code setns(fd, CLONE_NEWNET)} into the container's
 * namespace without moving the rest of the runtime; a program spawned from that thread is born in
 * it (man 2 setns). We spawn the host's {@code ip} there: after pivot_root the container has no
 * {@code ip} of its own, and it needs none. The thread ends right after the spawn, so that no
 * thread of the runtime stays in the namespace (and keeps it alive).
 */
public final class Sandbox {
    private final Path path;

    private Sandbox(Path path) { this.path = path; }

    /** The network namespace of process {@code pid}. */
    public static Sandbox of(int pid) { return new Sandbox(Path.of("/proc/" + pid + "/ns/net")); }

    /** A network namespace named by a file, e.g. a bind mount made by {@code ip netns add}. */
    public static Sandbox at(Path file) { return new Sandbox(file); }

    public Path path() { return path; }

    /** Whether the process, and so the namespace, still exists. */
    public boolean exists() { return Files.exists(path); }

    /** Runs {@code argv} inside this network namespace, {@code input} on its stdin. */
    HostPrograms.Result run(List<String> argv, String input) {
        return HostPrograms.run(argv, input, this::join);
    }

    /** Runs {@code ip -batch -} with {@code commands} in this namespace; throws if one fails. */
    public void ip(IpCommands commands, String what) {
        commands.run(this, what);
    }

    // tag::setns[]
    /** Moves the calling thread, and only it, into this network namespace. */
    void join() {
        int fd = Open.open(path.toString());
        try {
            Linux.setns(fd, Linux.CLONE_NEWNET);   // <.>
        } finally {
            Linux.close(fd);
        }
    }
    // end::setns[]

    @Override public String toString() { return path.toString(); }

    /**
     * open(2), which jocker.kernel.Linux does not have yet: setns(2) needs a descriptor of the
     * namespace file. (Proposed for Linux.java: {@code public static int open(String path, int flags)}.)
     */
    static final class Open {
        public interface LibC {
            @SaveError int open(String path, int flags);
        }

        private static final LibC libc = Linux.bindLibc(LibC.class);
        private static final jnr.ffi.Runtime ffi = jnr.ffi.Runtime.getRuntime(libc);
        private static final int O_RDONLY = 0;

        static int open(String path) {
            int fd = libc.open(path, O_RDONLY | Linux.O_CLOEXEC);
            String call = "open(\"" + path + "\", O_RDONLY|O_CLOEXEC)";
            if (fd >= 0) Trace.line(call, Integer.toString(fd));
            if (fd < 0) {
                int errno = ffi.getLastError();
                Trace.line(call, "-1 (" + Linux.strerror(errno) + ")");
                throw new ContainerError("failed to open the network namespace " + path + ": " + Linux.strerror(errno));
            }
            return fd;
        }
    }
}
