package jocker.image;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.AccessDeniedException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

import jocker.runtime.ContainerError;
import jocker.runtime.Log;

/**
 * The image store's two locks: fcntl(2) record locks on two bytes of {@code images/.lock}, so that
 * pulls, {@code rmi} and {@code run} of several processes at once keep the store consistent.
 * <pre>
 *   byte 0  content lock   shared:    a pull, from its first blob to its tag; a run while it reads layers
 *                          exclusive: garbage collection (rmi), which deletes unnamed blobs, so it
 *                                     never deletes a blob that a pull wrote and is about to name
 *   byte 1  index lock     exclusive: around each read-modify-write of index.json, so that two
 *                                     pulls tagging at once both keep their entry
 * </pre>
 * Why fcntl record locks (what {@link FileChannel#lock} takes on Linux): the kernel releases them
 * when their process dies, so a pull killed with SIGKILL never blocks the next one, and two byte
 * ranges give two independent locks on one file (a pull holds byte 0 shared while it takes byte 1).
 * <p>
 * Two facts of the JVM shape this class. A record lock belongs to the process, not the thread, and
 * the JVM answers an overlapping lock from a second thread with OverlappingFileLockException instead
 * of waiting: so the threads of one JVM first queue on ordinary Java locks, and only the first
 * shared holder (or the one exclusive holder) asks the kernel. And POSIX drops every lock a process
 * has on a file when it closes <em>any</em> descriptor of that file (fcntl(2), "Advisory record
 * locking"): so one JVM keeps one channel per lock file, open as long as any lock is held.
 */
public final class StoreLock {
    private static final Map<Path, StoreLock> LOCKS = new ConcurrentHashMap<>();

    private final Path file;
    private final ReentrantReadWriteLock content = new ReentrantReadWriteLock();
    private final ReentrantLock index = new ReentrantLock();
    private final Object channelMutex = new Object();
    private final Object sharedMutex = new Object();
    private FileChannel channel;
    private int channelUsers;
    private FileLock sharedLock;
    private int sharedHolders;

    private StoreLock(Path file) { this.file = file; }

    /** The one StoreLock of this JVM for {@code lockFile}. */
    public static StoreLock of(Path lockFile) {
        return LOCKS.computeIfAbsent(lockFile.toAbsolutePath().normalize(), StoreLock::new);
    }

    /** A held lock; close releases it (in the thread that took it). */
    public interface Held extends AutoCloseable {
        @Override void close();
    }

    /** The content lock, shared (pulls, runs). Blocks while a garbage collection runs. */
    public Held shared() {
        content.readLock().lock();
        try {
            synchronized (sharedMutex) {
                if (sharedHolders == 0) sharedLock = kernelLock(0, true);
                sharedHolders++;
            }
        } catch (RuntimeException e) {
            content.readLock().unlock();
            throw e;
        }
        return () -> {
            synchronized (sharedMutex) {
                if (--sharedHolders == 0) release(sharedLock);
            }
            content.readLock().unlock();
        };
    }

    /** The content lock, exclusive (garbage collection). Blocks until every pull has finished. */
    public Held exclusive() {
        content.writeLock().lock();
        FileLock lock;
        try {
            lock = kernelLock(0, false);
        } catch (RuntimeException e) {
            content.writeLock().unlock();
            throw e;
        }
        return () -> {
            release(lock);
            content.writeLock().unlock();
        };
    }

    /** The index lock, for one read-modify-write of index.json. */
    Held index() {
        index.lock();
        FileLock lock;
        try {
            lock = kernelLock(1, false);
        } catch (RuntimeException e) {
            index.unlock();
            throw e;
        }
        return () -> {
            release(lock);
            index.unlock();
        };
    }

    /** Takes byte {@code position} of the lock file from the kernel, waiting for other processes. */
    private FileLock kernelLock(long position, boolean shared) {
        FileChannel ch = openChannel();
        try {
            return ch.lock(position, 1, shared);
        } catch (IOException | RuntimeException e) {
            closeChannel();
            if (e instanceof RuntimeException r) throw r;
            throw new ContainerError("failed to lock the image store " + file + ": " + Log.reason(e), e);
        }
    }

    private void release(FileLock lock) {
        try {
            lock.release();
        } catch (IOException e) {
            // The channel is closed below anyway, which releases the lock too.
        } finally {
            closeChannel();
        }
    }

    private FileChannel openChannel() {
        synchronized (channelMutex) {
            if (channel == null) {
                try {
                    // READ for a shared lock (F_RDLCK), WRITE for an exclusive one (F_WRLCK).
                    channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                            StandardOpenOption.WRITE);
                } catch (AccessDeniedException e) {
                    throw ImageStore.notWritable(file.getParent(), e);
                } catch (IOException e) {
                    throw new ContainerError("failed to open the image store's lock " + file + ": " + Log.reason(e), e);
                }
            }
            channelUsers++;
            return channel;
        }
    }

    private void closeChannel() {
        synchronized (channelMutex) {
            if (--channelUsers > 0) return;
            try {
                channel.close();
            } catch (IOException e) {
                // nothing to do: the kernel drops the locks with the descriptor
            }
            channel = null;
        }
    }
}
