//DEPS org.junit.platform:junit-platform-console-standalone:1.11.4
package jocker.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The one mountinfo parser (man 5 proc, /proc/pid/mountinfo): fields, escapes, bad lines. */
class MountInfoTest {

    private static MountInfo one(String line) {
        List<MountInfo> mounts = MountInfo.parse(List.of(line));
        assertEquals(1, mounts.size(), "parsed mounts of: " + line);
        return mounts.get(0);
    }

    @Test
    void parsesEveryFieldOfALineWithOneOptionalField() {
        MountInfo m = one("36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue");
        assertEquals(36, m.id());
        assertEquals(35, m.parent());
        assertEquals("98:0", m.majorMinor());
        assertEquals("/mnt1", m.root());
        assertEquals("/mnt2", m.mountPoint());
        assertEquals("rw,noatime", m.options());
        assertEquals(List.of("master:1"), m.optional());
        assertEquals("ext3", m.fsType());
        assertEquals("/dev/root", m.source());
        assertEquals("rw,errors=continue", m.superOptions());
    }

    @Test
    void parsesALineWithoutOptionalFields() {
        MountInfo m = one("25 1 0:22 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory");
        assertEquals(List.of(), m.optional());
        assertEquals("cgroup", m.fsType());
        assertEquals("cgroup", m.source());
        assertEquals("rw,memory", m.superOptions());
    }

    @Test
    void parsesALineWithManyOptionalFields() {
        MountInfo m = one("40 30 0:50 / /a rw shared:7 master:3 propagate_from:2 unbindable - tmpfs tmpfs rw,size=64k");
        assertEquals(List.of("shared:7", "master:3", "propagate_from:2", "unbindable"), m.optional());
        assertEquals("/a", m.mountPoint());
        assertEquals("tmpfs", m.fsType());
        assertEquals("rw,size=64k", m.superOptions());
    }

    @Test
    void unescapesSpaceTabNewlineAndBackslash() {
        assertEquals("a b\tc\nd\\e", MountInfo.unescape("a\\040b\\011c\\012d\\134e"));
        assertEquals("/plain/path", MountInfo.unescape("/plain/path"));
        assertEquals("", MountInfo.unescape(""));
    }

    @Test
    void unescapesInOnePass() {
        // "\134" is a backslash; the "040" after it is text, not a second escape.
        assertEquals("\\040", MountInfo.unescape("\\134040"));
        // A backslash that starts no octal escape stays as it is.
        assertEquals("a\\9b\\", MountInfo.unescape("a\\9b\\"));
    }

    @Test
    void unescapesTheRootTheMountPointAndTheSource() {
        MountInfo m = one("50 1 0:60 /my\\040dir /mnt/with\\040space\\011tab rw - fuse.sshfs user@host:/a\\134b rw");
        assertEquals("/my dir", m.root());
        assertEquals("/mnt/with space\ttab", m.mountPoint());
        assertEquals("user@host:/a\\b", m.source());
    }

    @Test
    void skipsMalformedLinesAndKeepsTheOthers() {
        List<MountInfo> mounts = MountInfo.parse(List.of(
                "",
                "garbage",
                "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 ext3 /dev/root rw",   // no separator
                "36 35 98:0 /mnt1 - ext3 /dev/root rw",                           // too few fields on the left
                "36 35 98:0 / /x rw - ext3 /dev/root",                            // too few on the right
                "x 35 98:0 / /x rw - ext3 /dev/root rw",                          // id not a number
                "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw",
                "23 22 0:5 / /dev rw - devtmpfs udev rw,size=100k"));
        assertEquals(List.of("/", "/dev"), mounts.stream().map(MountInfo::mountPoint).toList());
    }

    @Test
    void isAtOrBelowComparesPathsNotStrings() {
        MountInfo ab = one("1 0 0:1 / /a/b rw - tmpfs t rw");
        MountInfo abc = one("2 0 0:1 / /a/bc rw - tmpfs t rw");
        MountInfo abcd = one("3 0 0:1 / /a/b/c/d rw - tmpfs t rw");
        MountInfo a = one("4 0 0:1 / /a rw - tmpfs t rw");
        assertTrue(ab.isAtOrBelow(Path.of("/a/b")), "a mount is at its own point");
        assertTrue(abcd.isAtOrBelow(Path.of("/a/b")), "/a/b/c/d is below /a/b");
        assertFalse(abc.isAtOrBelow(Path.of("/a/b")), "/a/bc is not below /a/b");
        assertFalse(a.isAtOrBelow(Path.of("/a/b")), "/a is above /a/b, not below");
        assertTrue(abc.isAtOrBelow(Path.of("/")), "everything is below /");
    }

    @Test
    void isAtOrBelowUsesTheUnescapedMountPoint() {
        MountInfo spaced = one("1 0 0:1 / /var/my\\040dir/x rw - tmpfs t rw");
        assertTrue(spaced.isAtOrBelow(Path.of("/var/my dir")));
        assertFalse(spaced.isAtOrBelow(Path.of("/var/my")));
    }

    @Test
    void readsAFileAndFailsOnAMissingOne(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("mountinfo");
        Files.writeString(file, "22 1 8:1 / / rw shared:1 - ext4 /dev/sda1 rw\n23 22 0:5 / /proc rw - proc proc rw\n");
        assertEquals(List.of("/", "/proc"), MountInfo.read(file).stream().map(MountInfo::mountPoint).toList());
        UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> MountInfo.read(dir.resolve("none")));
        assertTrue(e.getMessage().contains("none"), e.getMessage());
    }

    @Test
    void readsThisProcesssMounts() {
        List<MountInfo> mounts = MountInfo.read();
        assertFalse(mounts.isEmpty());
        assertTrue(mounts.stream().allMatch(m -> m.mountPoint().startsWith("/")), "absolute mount points: " + mounts);
    }
}
