import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * Runs tasks on a few workers, the longest first (so that no long one starts last and holds up the
 * end). A task that runs alone ({@link RunsAlone}: it measures time) runs before the others, with
 * nothing else running: the machine is quiet then, and no worker waits for the others to drain.
 */
final class Pool {
    private Pool() {}

    /** A unit of work: how long it is expected to take, and whether it must run alone. */
    interface Task {
        boolean alone();

        double estimate();

        void run();
    }

    /** How long the tasks that ran alone took, and the others (wall clock). */
    record Times(long aloneNanos, long sharedNanos) {}

    /** Runs every task; returns when all have finished. A task's exception is its own to report. */
    static Times runAll(List<? extends Task> tasks, int workers) {
        Comparator<Task> longestFirst = Comparator.comparingDouble(Task::estimate).reversed();
        long started = System.nanoTime();
        tasks.stream().filter(Task::alone).sorted(longestFirst).forEach(Pool::runQuietly);
        long alone = System.nanoTime() - started;
        List<Task> shared = tasks.stream().filter(t -> !t.alone()).sorted(longestFirst).map(t -> (Task) t).toList();
        if (shared.isEmpty()) return new Times(alone, 0);
        AtomicInteger n = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, Math.min(workers, shared.size())), r -> {
            Thread t = new Thread(r, "checks-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        List<Future<?>> futures = new ArrayList<>();
        for (Task t : shared) futures.add(pool.submit(() -> runQuietly(t)));   // FIFO: the longest start first
        pool.shutdown();
        for (Future<?> f : futures) {
            try {
                f.get();
            } catch (Exception e) {
                // runQuietly reports
            }
        }
        return new Times(alone, System.nanoTime() - started - alone);
    }

    private static void runQuietly(Task t) {
        try {
            t.run();
        } catch (RuntimeException | Error e) {
            System.err.println("checks: a job failed unexpectedly: " + Runner.describe(e));
        }
    }

    /**
     * Prints blocks in their given order as they become ready: block i prints once it and every
     * block before it are done. Output of parallel jobs stays in reading order.
     */
    static final class InOrder<T> {
        private final List<T> done = new ArrayList<>();
        private final Consumer<T> print;
        private int next;

        InOrder(int size, Consumer<T> print) {
            for (int i = 0; i < size; i++) done.add(null);
            this.print = print;
        }

        synchronized void done(int index, T block) {
            done.set(index, block);
            while (next < done.size() && done.get(next) != null) print.accept(done.get(next++));
        }
    }
}
