package jocker.storage;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * What a container changed, read from its upper directory alone: everything it wrote is there
 * (overlay copies a file up before its first write), and everything it deleted is a whiteout there.
 * Each path is judged by the step's {@link StorageHooks#change}; a directory the container emptied
 * and refilled ({@code rm -r /etc && mkdir /etc}: overlay makes it opaque) also deletes every name
 * the image had in it that the upper directory does not have again. Sorted by path, as
 * {@code docker diff} prints them.
 */
public final class Changes {
    private Changes() {}

    private static final LinkOption NOFOLLOW = LinkOption.NOFOLLOW_LINKS;

    /** The changes in {@code upper} against the image whose layer directories are {@code layersTopFirst}. */
    public static List<Change> of(Path upper, List<Path> layersTopFirst, StorageHooks hooks) throws IOException {
        List<Change> changes = new ArrayList<>();
        walk(upper, "", new LowerView(layersTopFirst), hooks, changes);
        Collections.sort(changes);
        return changes;
    }

    private static void walk(Path dir, String rel, LowerView image, StorageHooks hooks, List<Change> out) throws IOException {
        Set<String> names = new TreeSet<>();
        try (DirectoryStream<Path> children = Files.newDirectoryStream(dir)) {
            for (Path c : children) names.add(c.getFileName().toString());
        }
        for (String name : names) {
            Path entry = dir.resolve(name);
            String path = rel + "/" + name;
            boolean inImage = image.exists(path);
            Change.Kind kind = hooks.change(entry, inImage);
            out.add(new Change(kind, path));
            if (kind == Change.Kind.DELETED || !Files.isDirectory(entry, NOFOLLOW)) continue;
            if (inImage && LowerView.isOpaque(entry)) {
                Set<String> kept = new TreeSet<>();
                try (DirectoryStream<Path> children = Files.newDirectoryStream(entry)) {
                    for (Path c : children) kept.add(c.getFileName().toString());
                }
                for (String gone : image.list(path)) {
                    if (!kept.contains(gone)) out.add(new Change(Change.Kind.DELETED, path + "/" + gone));
                }
            }
            walk(entry, path, image, hooks, out);
        }
    }
}
