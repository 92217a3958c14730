package jocker.storage;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import jocker.kernel.Linux;
import jocker.rootfs.RootfsTar;

/**
 * The image as an overlay mount would show it, read straight from its layer directories without
 * mounting anything: a path exists if the topmost layer that says anything about it has it, where a
 * whiteout (a character device 0/0) says "deleted", a file says "nothing below me", and an opaque
 * directory ({@code trusted.overlay.opaque=y}) says "nothing of the lower layers in here".
 * filesystems/overlayfs.rst, "whiteouts and opaque directories". {@code diff} asks it whether the
 * image had a path the container's upper directory now holds.
 */
final class LowerView {
    private static final LinkOption NOFOLLOW = LinkOption.NOFOLLOW_LINKS;

    /** The layer directories, top first: the order in which overlay looks. */
    private final List<Path> layers;

    LowerView(List<Path> layersTopFirst) { this.layers = List.copyOf(layersTopFirst); }

    /** Whether the image has {@code rel} ("etc/passwd", relative to the root). */
    boolean exists(String rel) throws IOException {
        String[] parts = split(rel);
        if (parts.length == 0) return true;
        for (Path layer : layers) {
            Say say = look(layer, parts);
            if (say == Say.PRESENT) return true;
            if (say == Say.ABSENT_HIDES_BELOW) return false;
        }
        return false;
    }

    /** The names in directory {@code rel} of the image (empty if it has no such directory). */
    Set<String> list(String rel) throws IOException {
        String[] parts = split(rel);
        Set<String> names = new TreeSet<>();
        Set<String> decided = new HashSet<>();
        for (Path layer : layers) {
            Say say = parts.length == 0 ? Say.PRESENT : look(layer, parts);
            if (say == Say.ABSENT_HIDES_BELOW) break;
            if (say == Say.ABSENT) continue;
            Path dir = layer.resolve(String.join("/", parts));
            if (!Files.isDirectory(dir, NOFOLLOW)) break;   // a file here: nothing below is a directory
            try (DirectoryStream<Path> children = Files.newDirectoryStream(dir)) {
                for (Path c : children) {
                    String name = c.getFileName().toString();
                    if (!decided.add(name)) continue;   // a higher layer said it first
                    if (!RootfsTar.isOverlayWhiteout(c)) names.add(name);
                }
            }
            if (isOpaque(dir)) break;
        }
        return names;
    }

    private enum Say { PRESENT, ABSENT, ABSENT_HIDES_BELOW }

    /** What one layer says about a path: it has it, it has nothing, or it hides the lower ones' too. */
    private static Say look(Path layer, String[] parts) throws IOException {
        Path p = layer;
        boolean opaqueAbove = false;
        for (int i = 0; i < parts.length; i++) {
            p = p.resolve(parts[i]);
            BasicFileAttributes a;
            try {
                a = Files.readAttributes(p, BasicFileAttributes.class, NOFOLLOW);
            } catch (NoSuchFileException missing) {
                return opaqueAbove ? Say.ABSENT_HIDES_BELOW : Say.ABSENT;
            }
            boolean last = i == parts.length - 1;
            if (last) return RootfsTar.isOverlayWhiteout(p) ? Say.ABSENT_HIDES_BELOW : Say.PRESENT;
            if (!a.isDirectory()) return Say.ABSENT_HIDES_BELOW;   // a whiteout or a file over the directory
            if (isOpaque(p)) opaqueAbove = true;
        }
        throw new AssertionError("unreachable");
    }

    static boolean isOpaque(Path dir) {
        byte[] v = Linux.lgetxattr(dir.toString(), Overlay.OPAQUE_XATTR);
        return v != null && v.length == 1 && v[0] == 'y';
    }

    private static String[] split(String rel) {
        List<String> parts = new ArrayList<>();
        for (String p : rel.split("/")) if (!p.isEmpty()) parts.add(p);
        return parts.toArray(new String[0]);
    }
}
