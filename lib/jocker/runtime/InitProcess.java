package jocker.runtime;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;

import jocker.kernel.Linux;

// tag::why-not-fork[]
/**
 * The container's init process, seen from the runtime: the first stage of the two-stage model.
 *
 * <p>A JVM cannot fork(): it is multi-threaded, and a forked copy would hold only the calling
 * thread, with every lock another thread held stuck forever. So, like runc ({@code runc init}),
 * the runtime starts a fresh copy of itself, {@code java ... <Main> init config.json}, that sets up
 * the container from inside and then execs the user's command.
 *
 * <p>The child is spawned from a dedicated <em>owner</em> thread: that thread first unshares the
 * namespaces the container needs, which affects only itself, so the child is born into them while
 * the rest of the runtime stays where it was. After unshare(CLONE_NEWPID) the owner thread cannot
 * create threads any more, so it only spawns and then parks; it stays alive until the container is
 * reaped, because the child asks the kernel for SIGKILL when that thread dies
 * (PR_SET_PDEATHSIG): if the runtime is killed, its container goes with it.
 */
// end::why-not-fork[]
final class InitProcess {
    final int pid;
    final InitPipe pipe;
    private final CountDownLatch reaped;

    private InitProcess(int pid, InitPipe pipe, CountDownLatch reaped) {
        this.pid = pid;
        this.pipe = pipe;
        this.reaped = reaped;
    }

    /** Spawns {@code argv} with environment {@code env}, born into the namespaces of {@code cloneFlags}. */
    static InitProcess start(List<String> argv, List<String> env, int cloneFlags) {
        int[] toRuntime = Linux.pipe();
        int[] toInit = Linux.pipe();
        CompletableFuture<Integer> spawned = new CompletableFuture<>();
        CountDownLatch reaped = new CountDownLatch(1);
        // tag::owner-thread[]
        Thread owner = new Thread(() -> {
            try {
                if (cloneFlags != 0) Linux.unshare(cloneFlags);
                spawned.complete(Linux.posixSpawn(argv, env, Map.of(
                        toRuntime[1], InitPipe.CHILD_WRITE_FD, toInit[0], InitPipe.CHILD_READ_FD)));
            } catch (Throwable t) {
                spawned.completeExceptionally(t);
                return;
            }
            // Park until the container is reaped: the child's PR_SET_PDEATHSIG is tied to us.
            awaitQuietly(reaped);
        }, "init-owner");
        owner.setDaemon(true);
        owner.start();
        // end::owner-thread[]
        try {
            int pid = awaitUninterruptibly(spawned);   // a child exists now: it must not be lost
            return new InitProcess(pid, new InitPipe(toRuntime[0], toInit[1]), reaped);
        } catch (ExecutionException e) {
            Linux.close(toRuntime[0]);
            Linux.close(toInit[1]);
            if (e.getCause() instanceof RuntimeException r) throw r;
            throw new ContainerError("failed to start the init process: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ContainerError("interrupted while starting the init process");
        } finally {
            // The child has its own copies now; ours would keep the pipes from ever reaching EOF.
            Linux.close(toRuntime[1]);
            Linux.close(toInit[0]);
        }
    }

    /** Tells the owner thread that the child has been reaped, so it may end. */
    void reaped() {
        reaped.countDown();
    }

    /** Kills the init process if it still runs and reaps it; for the runtime's failure paths. */
    void killAndReap() {
        // A zombie still answers kill, so an init that has exited is reaped below all the same.
        jocker.kernel.Processes.signalIfAlive(pid, Linux.SIGKILL);
        try {
            Linux.waitpid(pid, 0);
        } catch (Linux.LinuxException e) {
            // ECHILD: someone reaped it already.
        }
        reaped();
    }

    private static int awaitUninterruptibly(CompletableFuture<Integer> spawned)
            throws ExecutionException, InterruptedException {
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return spawned.get();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) Thread.currentThread().interrupt();
        }
    }

    private static void awaitQuietly(CountDownLatch latch) {
        while (true) {
            try {
                latch.await();
                return;
            } catch (InterruptedException e) {
                // keep waiting: leaving now would kill the container
            }
        }
    }
}
