//DEPS org.junit.platform:junit-platform-console-standalone:1.11.4
package jocker.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import jocker.kernel.Linux;

/**
 * {@code diff} without a mount: the image as overlay would show it, read from layer directories in
 * overlay's format ({@link LowerView}: whiteouts, opaque directories, a file over a lower
 * directory), and a container's upper directory judged path by path ({@link Changes}, with the
 * reference {@link StorageHooks#change}), sorted as {@code docker diff} prints it. Whiteouts are
 * character devices 0/0 and opaque markers trusted xattrs: root only, as the runtime is.
 */
class ChangesTest {
    private final StorageHooks hooks = new ReferenceStorageHooks();

    @TempDir Path tmp;
    private Path bottom, top, upper;

    static void file(Path p, String content) throws IOException {
        Files.createDirectories(p.getParent());
        Files.writeString(p, content);
    }

    static void whiteout(Path p) throws IOException {
        Files.createDirectories(p.getParent());
        Linux.mknod(p.toString(), Linux.S_IFCHR, Linux.makedev(0, 0));
    }

    static void opaque(Path dir) throws IOException {
        Files.createDirectories(dir);
        Linux.lsetxattr(dir.toString(), Overlay.OPAQUE_XATTR, "y".getBytes(StandardCharsets.UTF_8));
    }

    /**
     * bottom: etc/{passwd,x,y,gone}, opt/d/f, srv/a, usr/bin/sh, var/log/x, keep;
     * top: a whiteout of etc/gone, srv opaque with srv/b, a file var over bottom's directory.
     */
    @BeforeEach
    void layOut() throws IOException {
        bottom = Files.createDirectories(tmp.resolve("layers/bottom"));
        top = Files.createDirectories(tmp.resolve("layers/top"));
        upper = Files.createDirectories(tmp.resolve("upper"));
        for (String f : List.of("etc/passwd", "etc/x", "etc/y", "etc/gone", "opt/d/f", "srv/a", "usr/bin/sh", "var/log/x", "keep")) {
            file(bottom.resolve(f), f + "\n");
        }
        whiteout(top.resolve("etc/gone"));
        opaque(top.resolve("srv"));
        file(top.resolve("srv/b"), "b\n");
        file(top.resolve("var"), "a file over a directory\n");
    }

    private LowerView image() { return new LowerView(List.of(top, bottom)); }

    @Test
    void theLowerViewSeesWhatOverlayWouldShow() throws IOException {
        LowerView v = image();
        assertTrue(v.exists(""));
        for (String p : List.of("etc", "etc/x", "/etc/passwd", "opt/d/f", "srv", "srv/b", "usr/bin/sh", "var", "keep")) {
            assertTrue(v.exists(p), p + " is in the image");
        }
        for (String p : List.of("etc/gone", "srv/a", "var/log", "var/log/x", "nothing", "etc/nothing", "keep/x")) {
            assertFalse(v.exists(p), p + " is not in the image");
        }
        assertEquals(Set.of("etc", "keep", "opt", "srv", "usr", "var"), v.list(""));
        assertEquals(Set.of("passwd", "x", "y"), v.list("etc"), "a whiteout hides a lower name");
        assertEquals(Set.of("b"), v.list("srv"), "an opaque directory hides the lower directory's names");
        assertEquals(Set.of(), v.list("var"), "a file over a lower directory");
        assertEquals(Set.of(), v.list("etc/gone"));
        assertEquals(Set.of(), v.list("nothing"));
    }

    @Test
    void anOpaqueDirectoryAboveHidesEverythingBelowIt() throws IOException {
        Path third = Files.createDirectories(tmp.resolve("layers/third"));
        opaque(third.resolve("etc"));
        file(third.resolve("etc/only"), "only\n");
        LowerView v = new LowerView(List.of(third, top, bottom));
        assertEquals(Set.of("only"), v.list("etc"));
        assertFalse(v.exists("etc/passwd"));
        assertTrue(v.exists("etc/only"));
        assertTrue(v.exists("opt/d/f"), "the opaque etc hides nothing elsewhere");
    }

    @Test
    void changesAreAddedChangedAndDeletedSortedAsDockerDiffPrintsThem() throws IOException {
        file(upper.resolve("new"), "new\n");                  // echo new > /new
        whiteout(upper.resolve("etc/x"));                      // rm /etc/x (copies /etc up)
        file(upper.resolve("etc/y"), "y\nz\n");                // echo z >> /etc/y
        file(upper.resolve("etc/gone"), "back\n");             // the image deleted it: added again
        file(upper.resolve("etc-old"), "sorts between /etc and /etc/...\n");
        file(upper.resolve("tmp/f"), "f\n");                   // mkdir /tmp; echo f > /tmp/f
        file(upper.resolve("opt/d"), "file over a dir\n");     // rm -r /opt/d; echo > /opt/d
        opaque(upper.resolve("srv"));                          // rm -r /srv; mkdir /srv; echo > /srv/n
        file(upper.resolve("srv/n"), "n\n");
        whiteout(upper.resolve("usr"));                        // rm -r /usr

        List<String> got = Changes.of(upper, List.of(top, bottom), hooks).stream().map(Change::toString).toList();
        assertEquals(List.of(
                "C /etc",
                "A /etc-old",
                "A /etc/gone",
                "D /etc/x",
                "C /etc/y",
                "A /new",
                "C /opt",
                "C /opt/d",
                "C /srv",
                "D /srv/b",
                "A /srv/n",
                "A /tmp",
                "A /tmp/f",
                "D /usr"), got);
    }

    @Test
    void anUntouchedContainerHasNoChanges() throws IOException {
        assertEquals(List.of(), Changes.of(upper, List.of(top, bottom), hooks));
    }
}
