package jocker.image;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * How the image store writes a file so that nobody ever sees half of one: write it under a
 * temporary name in the same directory, fsync it, then rename(2) it to its real name, which
 * replaces the name in one step (and only works within one file system, hence the same directory).
 * <ul>
 *   <li>Temporary names start with {@code .tmp-}: never a digest, so never mistaken for a blob, and
 *       never trusted. A JVM that exits (SIGINT, SIGTERM) deletes its own in a shutdown hook; a
 *       killed one (SIGKILL) leaves them for {@link #sweep}, which the store runs only when no pull
 *       can be writing (garbage collection, under the exclusive lock).</li>
 *   <li>fsync(2) before the rename, so that after a crash the name never points at missing data;
 *       and for index.json, fsync of the directory after it, so that the rename itself is kept.</li>
 * </ul>
 */
final class TempFiles {
    private TempFiles() {}

    static final String PREFIX = ".tmp-";
    /** The temporary files of this JVM that are not yet renamed or deleted. */
    private static final Set<Path> OPEN = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            for (Path p : OPEN) {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    // the JVM is going away: the next garbage collection removes it
                }
            }
        }, "image-store-temp-files"));
    }

    /** A fresh name {@code dir/.tmp-STEM-RANDOM}, deleted if the JVM exits before {@link #done}. */
    static Path reserve(Path dir, String stem) {
        // Unique, not secret: every writer opens it with CREATE_NEW, so a clash fails instead of
        // sharing a file. (SecureRandom would first load the JDK's security providers: ~2% of a pull.)
        long random = ThreadLocalRandom.current().nextLong() & 0xffff_ffff_ffffL;   // 12 hex digits
        Path tmp = dir.resolve(PREFIX + stem + "-" + Long.toHexString(random | 1L << 48).substring(1));
        OPEN.add(tmp);
        return tmp;
    }

    /** The temporary file is finished with: deleted if it is still there (not renamed: a failure). */
    static void done(Path tmp) {
        try {
            Files.deleteIfExists(tmp);
        } catch (IOException e) {
            // the error that brought us here is the one to report; a sweep removes it later
        }
        OPEN.remove(tmp);
    }

    /** Writes {@code bytes} into a new temporary file and fsyncs it. */
    static void write(Path tmp, byte[] bytes) throws IOException {
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer buffer = ByteBuffer.wrap(bytes);
            while (buffer.hasRemaining()) ch.write(buffer);
            ch.force(false);
        }
    }

    /** Replaces {@code file} with {@code bytes}: temporary file, fsync, rename, fsync of the directory. */
    static void replace(Path file, byte[] bytes) throws IOException {
        Path tmp = reserve(file.getParent(), file.getFileName().toString());
        try {
            write(tmp, bytes);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
            try (FileChannel d = FileChannel.open(file.getParent(), StandardOpenOption.READ)) {
                d.force(true);
            }
        } finally {
            done(tmp);
        }
    }

    /** Deletes every temporary file in {@code dirs}: only when no writer can be alive. */
    static int sweep(Path... dirs) throws IOException {
        int removed = 0;
        for (Path d : dirs) {
            try (DirectoryStream<Path> s = Files.newDirectoryStream(d, PREFIX + "*")) {
                for (Path p : s) {
                    if (Files.deleteIfExists(p)) removed++;
                }
            }
        }
        return removed;
    }
}
