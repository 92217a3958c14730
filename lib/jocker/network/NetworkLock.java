package jocker.network;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

import jocker.runtime.ContainerError;
import jocker.runtime.Log;

/**
 * The one lock of {@code networks/}: held while a network is created or removed and while an
 * address is chosen, so that two runs starting at once never make the same bridge twice nor get
 * the same address. An fcntl(2) record lock on {@code networks/.lock} (what FileChannel.lock takes
 * on Linux): the kernel drops it when its process dies, so a runtime killed with SIGKILL never
 * blocks the next one.
 *
 * <p>A record lock belongs to the process, and the JVM answers a second lock of the same file from
 * another thread with OverlappingFileLockException instead of waiting. So the threads of one JVM
 * first queue on an ordinary Java lock, and the thread that holds it takes the kernel's lock.
 * Reentrant: creating a network and choosing an address may nest.
 */
final class NetworkLock implements AutoCloseable {
    private static final Map<Path, ReentrantLock> IN_JVM = new ConcurrentHashMap<>();
    private static final Map<Path, FileChannel> CHANNELS = new ConcurrentHashMap<>();

    private final Path file;
    private final ReentrantLock threads;

    private NetworkLock(Path file, ReentrantLock threads) {
        this.file = file;
        this.threads = threads;
    }

    /** Takes the lock of the networks directory {@code dir}, waiting for other threads and processes. */
    static NetworkLock take(Path dir) {
        Path file = dir.toAbsolutePath().normalize().resolve(".lock");
        ReentrantLock threads = IN_JVM.computeIfAbsent(file, f -> new ReentrantLock());
        threads.lock();
        if (threads.getHoldCount() == 1) {
            try {
                Files.createDirectories(dir);
                FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                try {
                    FileLock ignored = ch.lock();   // released when the channel is closed
                } catch (IOException | RuntimeException e) {
                    ch.close();
                    throw e;
                }
                CHANNELS.put(file, ch);
            } catch (IOException | RuntimeException e) {
                threads.unlock();
                throw new ContainerError("failed to lock " + file + ": " + Log.reason(e), e);
            }
        }
        return new NetworkLock(file, threads);
    }

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
