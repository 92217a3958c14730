package jocker.kernel;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;

/** Removing a directory tree the way a runtime must: without ever leaving it. */
public final class Trees {
    private Trees() {}

    /**
     * Deletes a directory tree without following symlinks out of it and without crossing into
     * another filesystem: a mount left inside (a bind mount of a host directory, say) stops the
     * deletion with an error instead of emptying what is mounted there. A missing tree is fine.
     */
    public static void delete(Path dir) throws IOException {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) return;
        // A bind mount from the same filesystem has the same st_dev: ask the mount table too.
        Path top = dir.toRealPath(LinkOption.NOFOLLOW_LINKS);
        for (MountInfo m : MountInfo.read()) {
            if (m.isAtOrBelow(top)) {
                throw new IOException("refused to delete " + dir + ": " + m.mountPoint() + " is a mount point");
            }
        }
        Object device = Files.getAttribute(dir, "unix:dev", LinkOption.NOFOLLOW_LINKS);
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) throws IOException {
                if (!device.equals(Files.getAttribute(d, "unix:dev", LinkOption.NOFOLLOW_LINKS))) {
                    throw new IOException("refused to delete " + d + ": something is mounted there");
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                if (e != null) throw e;
                Files.delete(d);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
