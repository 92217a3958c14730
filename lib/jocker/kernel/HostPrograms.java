package jocker.kernel;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.function.IntSupplier;

/**
 * Runs a program of the host and captures what it prints: how the runtime uses {@code ip} and
 * {@code iptables}, the programs every Linux distribution ships to talk to the kernel's network
 * stack (rtnetlink, man 7 rtnetlink; nf_tables or x_tables). Speaking netlink ourselves would be
 * many pages of byte layouts; the programs are what a learner uses by hand too, so a
 * {@code --trace} of jocker reads like the commands of chapter 08. Here in the kernel package
 * because the sweep of any step must be able to undo a network ({@link NetworkObjects}).
 *
 * <p>Children are spawned with {@link Linux#posixSpawn} (a JVM must not fork, see InitProcess)
 * from the calling thread, or from a short-lived thread that first joined a namespace: a child is
 * born into the namespaces of the thread that spawns it. Their stdout and stderr go to one pipe,
 * read in full before waitpid(2): these programs print a line or two, far less than a pipe holds.
 * No ProcessBuilder: its reaper thread would be a thread of ours in whatever namespace it started.
 */
public final class HostPrograms {
    private HostPrograms() {}

    /** Root's PATH, whatever ours is: ip and iptables live in /usr/sbin, not on every user's PATH. */
    public static final List<String> ENV = List.of("PATH=" + Processes.DEFAULT_PATH, "LC_ALL=C");

    /** What a program printed (stdout and stderr together) and how it ended. */
    public record Result(int exitCode, String output) {
        public boolean ok() { return exitCode == 0; }

        /** The program's first line of complaint, for a one-line error. */
        public String firstLine() {
            return output.lines().map(String::strip).filter(l -> !l.isEmpty()).findFirst()
                    .orElse("exit status " + exitCode);
        }
    }

    /** The absolute path of {@code program} on root's PATH, if it is installed. */
    public static Optional<String> find(String program) {
        return Processes.lookPath(program, ENV).map(Path::toString);
    }

    /**
     * The absolute path of {@code program}, or an IllegalStateException that says which Debian
     * package has it (callers that face a user check with {@link #find} first and say it better).
     */
    public static String require(String program, String debianPackage) {
        return find(program).orElseThrow(() -> new IllegalStateException(
                program + " not found (install the " + debianPackage + " package)"));
    }

    /** Runs {@code argv} in the caller's namespaces, {@code input} on its stdin. */
    public static Result run(List<String> argv, String input) {
        return run(argv, input, null);
    }

    /**
     * Runs {@code argv}; if {@code beforeSpawn} is not null, on a new thread that first calls it
     * (to join a namespace: it returns nothing, it throws to refuse) and then ends, so that no
     * thread of ours stays in that namespace.
     */
    public static Result run(List<String> argv, String input, Runnable beforeSpawn) {
        int[] in = Linux.pipe();
        int[] out = Linux.pipe();
        int pid;
        try {
            Linux.write(in[1], input.getBytes(StandardCharsets.UTF_8));   // fits: a pipe holds 64 KiB
            Linux.close(in[1]);
            in[1] = -1;
            // In this order: 2 becomes a copy of the new 1 (posix_spawn's file actions run in order).
            Map<Integer, Integer> fds = new LinkedHashMap<>();
            fds.put(in[0], 0);
            fds.put(out[1], 1);
            fds.put(1, 2);
            IntSupplier spawn = () -> Linux.posixSpawn(argv, ENV, fds);
            pid = beforeSpawn == null ? spawn.getAsInt() : onOwnThread(beforeSpawn, spawn);
        } finally {
            if (in[1] >= 0) Linux.close(in[1]);
            Linux.close(in[0]);
            Linux.close(out[1]);        // ours closed: end of file once the child has exited
        }
        String output = readAll(out[0]);
        Linux.WaitStatus status = Linux.waitpid(pid, 0);
        int code = status.exited() ? status.exitStatus() : 128 + status.termSignal();
        return new Result(code, output);
    }

    /** Spawns on a short-lived thread of its own: joins, spawns, ends. */
    private static int onOwnThread(Runnable join, IntSupplier spawn) {
        CompletableFuture<Integer> pid = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                join.run();
                pid.complete(spawn.getAsInt());
            } catch (Throwable e) {
                pid.completeExceptionally(e);
            }
        }, "netns-spawn");
        t.setDaemon(true);
        t.start();
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return pid.get();
                } catch (InterruptedException e) {
                    interrupted = true;   // a child may exist: we must reap it, so keep waiting
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof RuntimeException r) throw r;
                    if (e.getCause() instanceof Error r) throw r;
                    throw new IllegalStateException("failed to spawn " + e.getCause(), e.getCause());
                }
            }
        } finally {
            if (interrupted) Thread.currentThread().interrupt();
        }
    }

    private static String readAll(int fd) {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        try {
            for (int n; (n = Linux.read(fd, buf)) > 0; ) all.write(buf, 0, n);
        } finally {
            Linux.close(fd);
        }
        return all.toString(StandardCharsets.UTF_8);
    }
}
