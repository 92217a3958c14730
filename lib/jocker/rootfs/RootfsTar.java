//DEPS org.apache.commons:commons-compress:1.27.1
//DEPS com.github.luben:zstd-jni:1.5.6-8
package jocker.rootfs;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

import jocker.kernel.Trees;
import jocker.runtime.ContainerError;
import jocker.runtime.Log;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;
import org.apache.commons.compress.compressors.zstandard.ZstdCompressorInputStream;

/**
 * Unpacks a rootfs tarball (plain, gzip or zstd) into a directory, and refuses to be tricked.
 *
 * <p>A tarball is hostile input: its entries may name {@code ../../etc/passwd}, may first plant a
 * symlink {@code evil -> /etc} and then write {@code evil/passwd} through it, or hard-link to a host
 * file. Every one of those would write outside the rootfs as root. So no path is ever handed to the
 * kernel to resolve: each entry's path is cleaned lexically, every directory on the way is looked
 * at without following links, and a symlink met on the way is resolved here, inside the rootfs;
 * whatever would leave the rootfs is refused with a {@link ContainerError}. An entry written with a
 * leading {@code /} is taken relative to the rootfs, as Docker does. Modes, owners, symlinks and
 * hard links are kept; device nodes are skipped (a container gets its own /dev, see step 03).
 */
public final class RootfsTar {
    private static final LinkOption NOFOLLOW = LinkOption.NOFOLLOW_LINKS;
    private static final int MAX_SYMLINKS = 40;   // the kernel's limit too (ELOOP)

    private final Path root;
    private final String source;
    private final List<Path> directories = new ArrayList<>();
    private final List<Integer> directoryModes = new ArrayList<>();
    private int entries;
    private int skipped;

    private RootfsTar(Path root, String source) {
        this.root = root;
        this.source = source;
    }

    /** What an extraction did: how many entries it wrote and how many (device nodes) it skipped. */
    public record Result(int entries, int skipped) {}

    /** Unpacks {@code tarball} into {@code target}, which is created and must not exist yet. */
    public static Result extract(Path tarball, Path target) throws IOException {
        Files.createDirectory(target);
        Result result;
        try (InputStream in = decompress(new BufferedInputStream(Files.newInputStream(tarball)))) {
            result = extract(in, target, tarball.toString());
        } catch (IOException | IllegalArgumentException e) {
            // A truncated or corrupt archive, a full disk: say which image, in one line.
            throw new ContainerError("failed to unpack image " + tarball + ": " + Log.reason(e), e);
        }
        if (result.entries() == 0 && result.skipped() == 0) {
            throw new ContainerError("failed to unpack image " + tarball + ": it holds no files (is it a tar archive?)");
        }
        return result;
    }

    /** Unpacks an uncompressed tar stream into the existing directory {@code target}. */
    public static Result extract(InputStream tar, Path target, String source) throws IOException {
        RootfsTar x = new RootfsTar(target.toAbsolutePath(), source);
        TarArchiveInputStream in = new TarArchiveInputStream(tar);
        for (TarArchiveEntry e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
            x.write(e, in);
        }
        // Directory modes last and deepest first: a read-only directory must be filled before.
        for (int i = x.directories.size() - 1; i >= 0; i--) {
            Files.setAttribute(x.directories.get(i), "unix:mode", x.directoryModes.get(i), NOFOLLOW);
        }
        return new Result(x.entries, x.skipped);
    }

    /** Recognises gzip and zstd by their magic numbers; anything else is read as a plain tar. */
    public static InputStream decompress(BufferedInputStream in) throws IOException {
        in.mark(4);
        byte[] magic = in.readNBytes(4);
        in.reset();
        if (magic.length >= 2 && (magic[0] & 0xff) == 0x1f && (magic[1] & 0xff) == 0x8b) {
            return new GzipCompressorInputStream(in, true);
        }
        if (magic.length == 4 && (magic[0] & 0xff) == 0x28 && (magic[1] & 0xff) == 0xb5
                && (magic[2] & 0xff) == 0x2f && (magic[3] & 0xff) == 0xfd) {
            return new ZstdCompressorInputStream(in);
        }
        return in;
    }

    private void write(TarArchiveEntry e, InputStream data) throws IOException {
        List<String> parts = clean(e.getName(), e.getName());
        if (parts.isEmpty()) return;   // "./" itself: the rootfs directory we made
        if (e.isCharacterDevice() || e.isBlockDevice() || e.isFIFO()) {
            skipped++;
            return;
        }
        Path parent = resolveInside(parts.subList(0, parts.size() - 1), e.getName(), true);
        Path path = parent.resolve(parts.get(parts.size() - 1));
        entries++;

        if (e.isDirectory()) {
            if (Files.exists(path, NOFOLLOW) && !Files.isDirectory(path, NOFOLLOW)) Files.delete(path);
            if (!Files.exists(path, NOFOLLOW)) Files.createDirectory(path);
            setOwner(path, e);
            directories.add(path);
            directoryModes.add(e.getMode() & 07777);
            return;
        }
        removeExisting(path);
        if (e.isSymbolicLink()) {
            // The link is created as it is; it is only ever followed inside the container.
            Files.createSymbolicLink(path, Path.of(e.getLinkName()));
            setOwner(path, e);
        } else if (e.isLink()) {
            List<String> targetParts = clean(e.getLinkName(), e.getName());
            if (targetParts.isEmpty()) throw refuse(e.getName(), "hard link to the rootfs itself");
            Path targetDir = resolveInside(targetParts.subList(0, targetParts.size() - 1), e.getName(), false);
            Path target = targetDir.resolve(targetParts.get(targetParts.size() - 1));
            if (!Files.exists(target, NOFOLLOW) || Files.isDirectory(target, NOFOLLOW)) {
                throw refuse(e.getName(), "hard link to \"" + e.getLinkName() + "\", which is not a file in the archive");
            }
            Files.createLink(path, target);
        } else if (e.isFile()) {
            try (var out = Files.newOutputStream(path, StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE, NOFOLLOW)) {
                data.transferTo(out);
            }
            setOwner(path, e);
            Files.setAttribute(path, "unix:mode", e.getMode() & 07777, NOFOLLOW);
            Files.setLastModifiedTime(path, FileTime.from(e.getModTime().toInstant()));
        } else {
            skipped++;
            entries--;
        }
    }

    // tag::clean[]
    /**
     * Cleans a tar path lexically: drops a leading "/", "." and empty parts, and applies ".."
     * against what came before it. A ".." with nothing left to climb would leave the rootfs.
     */
    private List<String> clean(String name, String entry) {
        Deque<String> parts = new ArrayDeque<>();
        for (String p : name.split("/")) {
            if (p.isEmpty() || p.equals(".")) continue;
            if (p.equals("..")) {
                if (parts.isEmpty()) throw refuse(entry, "path \"" + name + "\" climbs out of the rootfs");
                parts.removeLast();
            } else {
                parts.addLast(p);
            }
        }
        return new ArrayList<>(parts);
    }
    // end::clean[]

    // tag::resolve-inside[]
    /**
     * Walks {@code parts} down from the rootfs without letting the kernel follow anything: a
     * symlink on the way is read and resolved here, relative to the rootfs (an absolute target
     * starts at the rootfs, as it would inside the container). A target that climbs above the
     * rootfs is refused. Missing directories are created when {@code create} is set.
     */
    private Path resolveInside(List<String> parts, String entry, boolean create) throws IOException {
        Deque<String> todo = new ArrayDeque<>(parts);
        List<String> done = new ArrayList<>();
        int links = 0;
        while (!todo.isEmpty()) {
            String part = todo.removeFirst();
            Path here = root.resolve(String.join("/", done)).resolve(part);
            if (Files.isSymbolicLink(here)) {
                if (++links > MAX_SYMLINKS) throw refuse(entry, "too many levels of symbolic links");
                String target = Files.readSymbolicLink(here).toString();
                Deque<String> base = new ArrayDeque<>(target.startsWith("/") ? List.of() : done);
                for (String p : target.split("/")) {
                    if (p.isEmpty() || p.equals(".")) continue;
                    if (p.equals("..")) {
                        if (base.isEmpty()) {
                            throw refuse(entry, "path goes through symlink \"/" + root.relativize(here)
                                    + "\" -> \"" + target + "\", which points outside the rootfs");
                        }
                        base.removeLast();
                    } else {
                        base.addLast(p);
                    }
                }
                // Re-walk the link's target from the top, then the rest of the path.
                List<String> rest = new ArrayList<>(base);
                rest.addAll(todo);
                todo = new ArrayDeque<>(rest);
                done.clear();
                continue;
            }
            if (!Files.exists(here, NOFOLLOW)) {
                if (!create) throw refuse(entry, "\"/" + root.relativize(here) + "\" does not exist");
                Files.createDirectory(here);
            } else if (!Files.isDirectory(here, NOFOLLOW)) {
                throw refuse(entry, "\"/" + root.relativize(here) + "\" is not a directory");
            }
            done.add(part);
        }
        return done.isEmpty() ? root : root.resolve(String.join("/", done));
    }
    // end::resolve-inside[]

    private void removeExisting(Path path) throws IOException {
        if (!Files.exists(path, NOFOLLOW)) return;
        if (Files.isDirectory(path, NOFOLLOW)) {
            Trees.delete(path);
        } else {
            Files.delete(path);
        }
    }

    private static void setOwner(Path path, TarArchiveEntry e) throws IOException {
        Files.setAttribute(path, "unix:uid", (int) e.getLongUserId(), NOFOLLOW);
        Files.setAttribute(path, "unix:gid", (int) e.getLongGroupId(), NOFOLLOW);
    }

    private ContainerError refuse(String entry, String why) {
        return new ContainerError("refused to unpack " + source + ": entry \"" + entry + "\": " + why);
    }
}
