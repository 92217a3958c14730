package jocker.kernel;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The one lock of a directory, {@code DIR/.lock}, for all processes and threads: the networks
 * directory's, held while a network is made or removed and while an address is chosen or given
 * back, so that two runs starting at once never make the same bridge twice nor get the same
 * address, and a sweep never releases a lease in the middle of an allocation. An fcntl(2) record
 * lock on the file (what FileChannel.lock takes on Linux): the kernel drops it when its process
 * dies, so a runtime killed with SIGKILL never blocks the next one.
 *
 * <p>A record lock belongs to the process, and the JVM answers a second lock of the same file from
 * another thread with OverlappingFileLockException instead of waiting; worse, closing any
 * descriptor of the file drops the process's record locks on it. So every user in one JVM goes
 * through this class: the threads first queue on an ordinary Java lock, and the thread that holds
 * it takes the kernel's lock through the one channel. Reentrant: making a network and choosing an
 * address may nest.
 */
public final class DirectoryLock implements AutoCloseable {
    private static final Map<Path, ReentrantLock> IN_JVM = new ConcurrentHashMap<>();
    private static final Map<Path, FileChannel> CHANNELS = new ConcurrentHashMap<>();

    private final Path file;
    private final ReentrantLock threads;

    private DirectoryLock(Path file, ReentrantLock threads) {
        this.file = file;
        this.threads = threads;
    }

    /** Takes the lock of {@code dir} (made if missing), waiting for other threads and processes. */
    public static DirectoryLock take(Path dir) throws IOException {
        return acquire(dir, true);
    }

    /**
     * Takes the lock of {@code dir} (made if missing) if no other thread or process holds it;
     * null if one does. For a question like "is anybody still working on this?".
     */
    public static DirectoryLock tryTake(Path dir) throws IOException {
        return acquire(dir, false);
    }

    private static DirectoryLock acquire(Path dir, boolean wait) throws IOException {
        Path file = dir.toAbsolutePath().normalize().resolve(".lock");
        ReentrantLock threads = IN_JVM.computeIfAbsent(file, f -> new ReentrantLock());
        if (wait) {
            threads.lock();
        } else if (!threads.tryLock()) {
            return null;
        }
        if (threads.getHoldCount() == 1) {
            try {
                Files.createDirectories(file.getParent());
                FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                FileLock lock;
                try {
                    lock = wait ? ch.lock() : ch.tryLock();   // released when the channel is closed
                } catch (IOException | RuntimeException e) {
                    ch.close();
                    throw e;
                }
                if (lock == null) {   // another process has it
                    ch.close();
                    threads.unlock();
                    return null;
                }
                CHANNELS.put(file, ch);
            } catch (IOException | RuntimeException e) {
                threads.unlock();
                throw e;
            }
        }
        return new DirectoryLock(file, threads);
    }

    /** The lock file. */
    public Path file() { return file; }

    @Override
    public void close() {
        try {
            if (threads.getHoldCount() == 1) {
                FileChannel ch = CHANNELS.remove(file);
                if (ch != null) ch.close();   // closing drops the record lock
            }
        } catch (IOException e) {
            // the descriptor is gone either way, and with it the lock
        } finally {
            threads.unlock();
        }
    }
}
