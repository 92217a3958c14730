//DEPS org.apache.commons:commons-compress:1.27.1
//DEPS com.github.luben:zstd-jni:1.5.6-8
package jocker.rootfs;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import jocker.kernel.Trees;
import jocker.runtime.ContainerError;
import jocker.runtime.Log;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;
import org.apache.commons.compress.compressors.zstandard.ZstdCompressorInputStream;

/**
 * Unpacks a rootfs tarball (plain, gzip or zstd) into a directory, or applies one layer of an image
 * onto a directory, and refuses to be tricked.
 *
 * <p>A tarball is hostile input: its entries may name {@code ../../etc/passwd}, may first plant a
 * symlink {@code evil -> /etc} and then write {@code evil/passwd} through it, or hard-link to a host
 * file. Every one of those would write outside the rootfs as root. So no path is ever handed to the
 * kernel to resolve: each entry's path is cleaned lexically, every directory on the way is looked
 * at without following links, and a symlink met on the way is resolved here, inside the rootfs.
 * An entry written with a leading {@code /} is taken relative to the rootfs, as Docker does. Modes
 * (setuid bits too), owners, mtimes, symlinks and hard links are kept; device nodes and fifos are
 * skipped (a container gets its own /dev, see step 03).
 *
 * <p>Two sets of rules ({@link Options}):
 * <ul>
 * <li><b>rootfs</b> (step 02): one tarball makes the whole tree. A path that would leave the rootfs,
 *     through {@code ..} or through a symlink that climbs out, is refused with a {@link ContainerError}:
 *     a rootfs tarball has no reason to contain one.
 * <li><b>layer</b> (step 06): one layer of an image (OCI image spec, layer.md) is <em>applied</em> onto
 *     the tree the layers below it made. Real images do hold symlinks such as {@code bin -> usr/bin}
 *     (usrmerge) or {@code lib64 -> /usr/lib64}, and a later entry {@code bin/sh} goes through them, so
 *     a symlink met on the way is resolved the way the kernel resolves it inside the container: an
 *     absolute target starts at the rootfs and {@code ..} at the top stays at the top. Names that climb
 *     out with {@code ..} are still refused. Before each entry is written, the {@link Whiteouts}
 *     callback may consume it (a {@code .wh.} entry deletes what lower layers put there).
 * </ul>
 * In both, what already exists at an entry's path is replaced (a directory entry over a directory
 * keeps the directory's content and takes the entry's mode and owner), and nothing ever lands
 * outside the root.
 */
public final class RootfsTar {
    private static final LinkOption NOFOLLOW = LinkOption.NOFOLLOW_LINKS;
    private static final int MAX_SYMLINKS = 40;   // the kernel's limit too (ELOOP)
    /** The prefix of a whiteout's name, and the name of an opaque whiteout (OCI image spec, layer.md). */
    public static final String WHITEOUT_PREFIX = ".wh.", OPAQUE_WHITEOUT = ".wh..wh..opq";

    /**
     * Decides, for one entry of a layer, whether it is a whiteout, and applies it. See
     * {@code jocker.image.ImageHooks#applyWhiteout}, which is what step 06 passes here.
     *
     * @param dir the entry's parent directory, already resolved safely inside the root (a real
     *     directory, no symlink left in its path)
     * @param name the entry's last path element; a {@code .wh.} name here always names something
     *     inside {@code dir}: {@code .wh.}, {@code .wh..} and {@code .wh...} are refused before, and
     *     AUFS's {@code .wh..wh.*} bookkeeping (but the opaque marker) and whiteouts under a path that
     *     is no directory are dropped before
     * @param thisLayer every path this layer has written so far, and every directory on the way to
     *     one, resolved like {@code dir}: what a whiteout must keep
     * @return true if the entry was a whiteout: it is then not written
     */
    @FunctionalInterface
    public interface Whiteouts {
        boolean apply(Path dir, String name, Set<Path> thisLayer) throws IOException;
    }

    /**
     * How to unpack: {@link #rootfs} for a whole rootfs tarball (step 02), {@link #layer} for one layer
     * of an image (step 06). {@code source} names the tarball or layer in error messages.
     */
    public record Options(String source, boolean layer, Whiteouts whiteouts, boolean ownDirectory) {
        public static Options rootfs(String source) { return new Options(source, false, (d, n, s) -> false, false); }

        /** A layer applied onto the tree of the layers below it (steps 06, and 07's vfs driver). */
        public static Options layer(String source, Whiteouts whiteouts) { return new Options(source, true, whiteouts, false); }

        /**
         * A layer unpacked into a directory of its own (step 07's overlay driver): nothing of the
         * layers below is there, so a whiteout's directory is made when missing (the whiteout must
         * be kept, as overlay's own format, for the mount to hide what is below), and a directory
         * entry that lands on this layer's own whiteout of the same name asks {@code whiteouts}
         * for an opaque marker in it instead (".wh.NAME" then "NAME/": the lower NAME is gone,
         * this layer's NAME stays).
         */
        public static Options ownDirectory(String source, Whiteouts whiteouts) { return new Options(source, true, whiteouts, true); }
    }

    /** What an extraction did: entries written, entries skipped (device nodes...), whiteouts applied. */
    public record Result(int entries, int skipped, int whiteouts) {
        public Result(int entries, int skipped) { this(entries, skipped, 0); }
    }

    private final Path root;
    private final Options options;
    /** Directories whose mode and mtime are set at the end; the last entry for a path wins. */
    private final Map<Path, TarArchiveEntry> directories = new LinkedHashMap<>();
    /** Cleaned parent paths ("usr/bin") already resolved to real directories; cleared on any removal. */
    private final Map<String, Path> resolved = new HashMap<>();
    private final Set<Path> thisLayer = new HashSet<>();
    private final Set<Path> thisLayerView = Collections.unmodifiableSet(thisLayer);
    private final byte[] buffer = new byte[128 * 1024];
    private int entries;
    private int skipped;
    private int whiteouts;

    private RootfsTar(Path root, Options options) {
        this.root = root;
        this.options = options;
    }

    /** Unpacks {@code tarball} into {@code target}, which is created and must not exist yet. */
    public static Result extract(Path tarball, Path target) throws IOException {
        Files.createDirectory(target);
        Result result;
        try (InputStream in = decompress(new BufferedInputStream(Files.newInputStream(tarball), 1 << 16))) {
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

    /** Unpacks an uncompressed tar stream into the existing directory {@code target}, step 02's rules. */
    public static Result extract(InputStream tar, Path target, String source) throws IOException {
        return extract(tar, target, Options.rootfs(source));
    }

    /** Unpacks an uncompressed tar stream into the existing directory {@code target}. */
    public static Result extract(InputStream tar, Path target, Options options) throws IOException {
        RootfsTar x = new RootfsTar(target.toAbsolutePath().normalize(), options);
        TarArchiveInputStream in = new TarArchiveInputStream(tar);
        for (TarArchiveEntry e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
            x.write(e, in);
        }
        x.finishDirectories();
        return new Result(x.entries, x.skipped, x.whiteouts);
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
        if (e.isCharacterDevice() || e.isBlockDevice() || e.isFIFO() || options.layer() && isAufsMetadata(parts)) {
            skipped++;
            return;
        }
        String name = parts.get(parts.size() - 1);
        boolean whiteout = options.layer() && name.startsWith(WHITEOUT_PREFIX);
        if (whiteout) checkWhiteout(name, e.getName());
        Path parent = !whiteout ? parent(parts.subList(0, parts.size() - 1), e.getName())
                : options.ownDirectory() ? madeParent(parts.subList(0, parts.size() - 1), e.getName())
                : existingParent(parts.subList(0, parts.size() - 1), e.getName());
        if (parent == null) {
            whiteouts++;   // under a path that is no directory (umoci writes such ones): nothing to delete
            return;
        }
        if (options.whiteouts().apply(parent, name, thisLayerView)) {
            whiteouts++;
            resolved.clear();   // it may have deleted a directory or a symlink we resolved through
            return;
        }
        Path path = parent.resolve(name);
        entries++;

        if (e.isDirectory()) {
            boolean whitedOut = false;
            if (Files.exists(path, NOFOLLOW) && !Files.isDirectory(path, NOFOLLOW)) {
                whitedOut = options.ownDirectory() && isOverlayWhiteout(path);
                remove(path);
            }
            if (!Files.exists(path, NOFOLLOW)) Files.createDirectory(path);
            if (whitedOut) options.whiteouts().apply(path, OPAQUE_WHITEOUT, thisLayerView);
            setOwner(path, e);
            directories.put(path, e);
        } else if (e.isSymbolicLink()) {
            remove(path);
            // The link is created as it is; it is only ever followed inside the container.
            Files.createSymbolicLink(path, Path.of(e.getLinkName()));
            setOwner(path, e);
        } else if (e.isLink()) {
            List<String> targetParts = clean(e.getLinkName(), e.getName());
            if (targetParts.isEmpty()) throw refuse(e.getName(), "hard link to the rootfs itself");
            Path targetDir = resolveInside(targetParts.subList(0, targetParts.size() - 1), e.getName(), false);
            Path target = targetDir.resolve(targetParts.get(targetParts.size() - 1));
            if (!Files.exists(target, NOFOLLOW) || Files.isDirectory(target, NOFOLLOW)) {
                throw refuse(e.getName(), "hard link to \"" + e.getLinkName() + "\", which is not a file in the "
                        + (options.layer() ? "image" : "archive"));
            }
            if (target.startsWith(path)) {
                throw refuse(e.getName(), "hard link to \"" + e.getLinkName() + "\", which it would replace");
            }
            remove(path);
            Files.createLink(path, target);
        } else if (e.isFile()) {
            remove(path);
            try (OutputStream out = Files.newOutputStream(path, StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE, NOFOLLOW)) {
                for (int n; (n = data.read(buffer)) > 0; ) out.write(buffer, 0, n);
            }
            setOwner(path, e);   // before the mode: chown(2) clears setuid and setgid bits
            Files.setAttribute(path, "unix:mode", e.getMode() & 07777, NOFOLLOW);
            setTimes(path, e);
        } else {
            skipped++;
            entries--;
            return;
        }
        mark(path);
    }

    /** Records that this layer wrote {@code path}, and so every directory on the way to it. */
    private void mark(Path path) {
        for (Path p = path; p != null && !p.equals(root) && thisLayer.add(p); p = p.getParent()) {
            // add() is false once a directory is known: its own parents were added with it
        }
    }

    /** Directory modes last and deepest first: a read-only directory must be filled before. */
    private void finishDirectories() throws IOException {
        List<Map.Entry<Path, TarArchiveEntry>> all = new ArrayList<>(directories.entrySet());
        all.sort(Comparator.comparingInt((Map.Entry<Path, TarArchiveEntry> d) -> d.getKey().getNameCount()).reversed());
        for (var d : all) {
            // A later entry or a whiteout may have replaced or removed it since.
            if (!Files.isDirectory(d.getKey(), NOFOLLOW)) continue;
            Files.setAttribute(d.getKey(), "unix:mode", d.getValue().getMode() & 07777, NOFOLLOW);
            setTimes(d.getKey(), d.getValue());
        }
    }

    /** AUFS's own bookkeeping ({@code .wh..wh.plnk}, {@code .wh..wh.aufs}): never part of the image. */
    private static boolean isAufsMetadata(List<String> parts) {
        for (int i = 0; i < parts.size(); i++) {
            String p = parts.get(i);
            if (p.startsWith(WHITEOUT_PREFIX + WHITEOUT_PREFIX) && !(i == parts.size() - 1 && p.equals(OPAQUE_WHITEOUT))) {
                return true;
            }
        }
        return false;
    }

    /** A whiteout must name something inside its directory: ".wh.", ".wh.." and ".wh..." do not. */
    private void checkWhiteout(String name, String entry) {
        String target = name.substring(WHITEOUT_PREFIX.length());
        if (target.isEmpty() || target.equals(".") || target.equals("..")) {
            throw refuse(entry, "whiteout \"" + name + "\" names no file");
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

    /** The directory an entry goes into, made if missing; remembered, as most entries share one. */
    private Path parent(List<String> parts, String entry) throws IOException {
        String key = String.join("/", parts);
        Path dir = resolved.get(key);
        if (dir == null) {
            dir = resolveInside(parts, entry, true);
            resolved.put(key, dir);
        }
        return dir;
    }

    /**
     * A whiteout's directory in a layer's own directory: made if missing; null if something on the
     * way is no directory (nothing below it to white out).
     */
    private Path madeParent(List<String> parts, String entry) throws IOException {
        try {
            return parent(parts, entry);
        } catch (ContainerError notADirectory) {
            return null;
        }
    }

    /** overlayfs's whiteout: a character device with device number 0/0 (filesystems/overlayfs.rst). */
    public static boolean isOverlayWhiteout(Path path) throws IOException {
        Map<String, Object> a;
        try {
            a = Files.readAttributes(path, "unix:mode,rdev", NOFOLLOW);
        } catch (NoSuchFileException missing) {
            return false;
        }
        int mode = (Integer) a.get("mode");
        return (mode & 0170000) == 0020000 && (Long) a.get("rdev") == 0L;
    }

    /** A whiteout's directory, if there is one; null if the path is missing or not a directory. */
    private Path existingParent(List<String> parts, String entry) throws IOException {
        Path dir = resolved.get(String.join("/", parts));
        if (dir != null) return dir;
        try {
            return resolveInside(parts, entry, false);
        } catch (ContainerError nothingThere) {   // missing, a file, a symlink loop: nothing to white out
            return null;
        }
    }

    // tag::resolve-inside[]
    /**
     * Walks {@code parts} down from the rootfs without letting the kernel follow anything: a
     * symlink on the way is read and resolved here, relative to the rootfs (an absolute target
     * starts at the rootfs, as it would inside the container). A target that climbs above the
     * rootfs is refused; in an image's layer it stops at the top instead, as the kernel's own
     * walk does inside the container. Missing directories are created when {@code create} is set.
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
                        if (!base.isEmpty()) {
                            base.removeLast();
                        } else if (!options.layer()) {
                            throw refuse(entry, "path goes through symlink \"/" + root.relativize(here)
                                    + "\" -> \"" + target + "\", which points outside the rootfs");
                        }   // else: "/.." is "/"
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

    /** Removes whatever is at {@code path}: a file, a symlink (never its target) or a whole tree. */
    private void remove(Path path) throws IOException {
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(path, BasicFileAttributes.class, NOFOLLOW);
        } catch (NoSuchFileException missing) {
            return;
        }
        if (a.isDirectory()) {
            Trees.delete(path);   // never crosses into a mount
        } else {
            Files.delete(path);
        }
        if (a.isDirectory() || a.isSymbolicLink()) resolved.clear();   // a cached walk may have gone through it
    }

    private static void setOwner(Path path, TarArchiveEntry e) throws IOException {
        Files.setAttribute(path, "unix:uid", (int) e.getLongUserId(), NOFOLLOW);
        Files.setAttribute(path, "unix:gid", (int) e.getLongGroupId(), NOFOLLOW);
    }

    private static void setTimes(Path path, TarArchiveEntry e) throws IOException {
        FileTime mtime = FileTime.from(e.getModTime().toInstant());
        Files.getFileAttributeView(path, BasicFileAttributeView.class, NOFOLLOW).setTimes(mtime, mtime, null);
    }

    private ContainerError refuse(String entry, String why) {
        return new ContainerError("refused to unpack " + options.source() + ": entry \"" + entry + "\": " + why);
    }
}
