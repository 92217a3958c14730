//DEPS org.junit.platform:junit-platform-console-standalone:1.11.4
package jocker.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import jocker.kernel.Linux;
import jocker.runtime.UndoLog.Entry;
import jocker.runtime.UndoLog.Kind;

/** The undo log: written before things are made, read back and replayed by another run. */
class UndoLogTest {

    @Test
    void aNewLogIsEmptyOnDisk(@TempDir Path tmp) throws Exception {
        UndoLog log = UndoLog.create(tmp);
        assertEquals(List.of(), log.entries());
        assertTrue(Files.exists(tmp.resolve("undo.json")));
        assertEquals(List.of(), UndoLog.read(tmp).entries());
    }

    @Test
    void aDirectoryWithoutLogReadsAsEmpty(@TempDir Path tmp) throws Exception {
        UndoLog log = UndoLog.read(tmp);
        assertEquals(List.of(), log.entries());
        assertTrue(log.replay());
    }

    @Test
    void recordedEntriesAreOnDiskInOrder(@TempDir Path tmp) throws Exception {
        UndoLog log = UndoLog.create(tmp);
        log.record(Kind.MOUNT, tmp.resolve("rootfs"));
        log.record(Kind.CGROUP, Path.of("/sys/fs/cgroup/jocker/abc"));
        log.record(Kind.TREE, tmp.resolve("rootfs/x/../y"));
        log.record(Kind.FILE, Path.of("/run/jocker/abc.lock"));
        List<Entry> expected = List.of(new Entry(Kind.MOUNT, "rootfs"),
                new Entry(Kind.CGROUP, "/sys/fs/cgroup/jocker/abc"),
                new Entry(Kind.TREE, "rootfs/y"),
                new Entry(Kind.FILE, "/run/jocker/abc.lock"));
        assertEquals(expected, log.entries());
        assertEquals(expected, UndoLog.read(tmp).entries(), "another process reads the same");
        String json = Files.readString(tmp.resolve("undo.json"));
        assertTrue(json.contains("\"kind\"") && json.contains("\"CGROUP\"") && json.contains("\"path\""), json);
    }

    @Test
    void unknownFieldsInTheLogAreIgnored(@TempDir Path tmp) throws Exception {
        Files.writeString(tmp.resolve("undo.json"), "[{\"kind\":\"FILE\",\"path\":\"x\",\"since\":\"step 09\"}]");
        assertEquals(List.of(new Entry(Kind.FILE, "x")), UndoLog.read(tmp).entries());
    }

    @Test
    void aLogWrittenBeforeArgsExistedStillReads(@TempDir Path tmp) throws Exception {
        // undo.json of a container made by an older jocker: entries have kind and path only
        Files.writeString(tmp.resolve("undo.json"), "[{\"kind\":\"MOUNT\",\"path\":\"rootfs\"},"
                + "{\"kind\":\"CGROUP\",\"path\":\"/sys/fs/cgroup/jocker/abc\"}]");
        List<Entry> read = UndoLog.read(tmp).entries();
        assertEquals(List.of(new Entry(Kind.MOUNT, "rootfs"), new Entry(Kind.CGROUP, "/sys/fs/cgroup/jocker/abc")), read);
        assertEquals(List.of(), read.get(0).args());
    }

    @Test
    void networkEntriesKeepTheirArgumentsAndPathEntriesWriteNone(@TempDir Path tmp) throws Exception {
        UndoLog log = UndoLog.create(tmp);
        log.record(Kind.MOUNT, tmp.resolve("rootfs"));
        Path lease = tmp.resolve("networks/bridge/leases/10.213.0.2");
        log.recordLease(lease, "abc");
        log.recordLink("vethabc1234");
        List<String> rule = List.of("-t", "nat", "-A", "JOCKER", "-p", "tcp", "--dport", "8080",
                "-j", "DNAT", "--to-destination", "10.213.0.2:80");
        log.recordRule(rule);
        List<Entry> expected = List.of(new Entry(Kind.MOUNT, "rootfs"),
                new Entry(Kind.LEASE, lease.toString(), List.of("abc")),
                new Entry(Kind.LINK, "vethabc1234"),
                new Entry(Kind.RULE, "nat/JOCKER", rule));
        assertEquals(expected, UndoLog.read(tmp).entries());
        String json = Files.readString(tmp.resolve("undo.json"));
        assertFalse(json.substring(0, json.indexOf("LEASE")).contains("args"), "a path entry has no args: " + json);
        assertThrows(IllegalArgumentException.class, () -> log.recordRule(List.of("-t", "nat", "-I", "JOCKER", "-j", "X")));
        assertThrows(IllegalArgumentException.class, () -> log.record(Kind.LINK, tmp.resolve("veth")));
    }

    @Test
    void aLeaseIsReleasedOnlyIfItStillNamesItsContainer(@TempDir Path tmp) throws Exception {
        Path leases = Files.createDirectories(tmp.resolve("networks/bridge/leases"));
        Path mine = Files.writeString(leases.resolve("10.213.0.2"), "abc");
        Path reused = Files.writeString(leases.resolve("10.213.0.3"), "another");   // given again since
        Path empty = Files.createFile(leases.resolve("10.213.0.4"));                 // its maker died mid-way
        Path dir = Files.createDirectory(tmp.resolve("abc"));
        UndoLog log = UndoLog.create(dir);
        log.recordLease(mine, "abc");
        log.recordLease(reused, "abc");
        log.recordLease(empty, "abc");
        log.recordLease(leases.resolve("10.213.0.5"), "abc");                          // never made
        log.recordLink("vethnotthere");                                                 // gone with its namespace
        assertTrue(UndoLog.read(dir).replay());
        assertFalse(Files.exists(mine));
        assertTrue(Files.exists(reused), "another container's lease stays");
        assertFalse(Files.exists(empty));
        assertTrue(Files.exists(tmp.resolve("networks/.lock")), "released under the networks' lock");
    }

    @Test
    void pathsInsideTheContainerFollowARenamedDirectory(@TempDir Path tmp) throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("abc"));
        UndoLog log = UndoLog.create(dir);
        log.record(Kind.FILE, dir.resolve("marker"));
        log.record(Kind.TREE, dir.resolve("rootfs"));
        Files.writeString(dir.resolve("marker"), "made");
        Files.createDirectories(dir.resolve("rootfs/bin"));
        Files.writeString(dir.resolve("rootfs/bin/sh"), "#!");
        // The sweep claims a leftover by renaming it (Leftovers: .removing-ID-PID) before replaying.
        Path claimed = Files.move(dir, tmp.resolve(".removing-abc-1"));
        assertTrue(UndoLog.read(claimed).replay());
        assertFalse(Files.exists(claimed.resolve("marker")));
        assertFalse(Files.exists(claimed.resolve("rootfs")));
        assertTrue(Files.exists(claimed.resolve("undo.json")));
    }

    @Test
    void aFileOutsideTheContainerIsUndoneByItsAbsolutePath(@TempDir Path tmp) throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("abc"));
        Path outside = tmp.resolve("abc.hosts");
        UndoLog log = UndoLog.create(dir);
        log.record(Kind.FILE, outside);
        Files.writeString(outside, "127.0.0.1 abc\n");
        assertEquals(List.of(new Entry(Kind.FILE, outside.toString())), log.entries());
        assertTrue(UndoLog.read(dir).replay());
        assertFalse(Files.exists(outside));
    }

    @Test
    void undoingWhatWasNeverMadeIsFine(@TempDir Path tmp) throws Exception {
        UndoLog log = UndoLog.create(tmp);
        log.record(Kind.FILE, tmp.resolve("never-written"));
        log.record(Kind.TREE, tmp.resolve("never-made"));
        log.record(Kind.CGROUP, tmp.resolve("no-such-cgroup"));
        log.record(Kind.MOUNT, tmp.resolve("no-such-mount-point"));
        assertTrue(UndoLog.read(tmp).replay());
    }

    @Test
    void replayGoesLastFirst(@TempDir Path tmp) throws Exception {
        // A child cgroup is made after its parent, so it must be removed first: rmdir of a
        // directory that still has a child fails.
        UndoLog log = UndoLog.create(tmp);
        log.record(Kind.CGROUP, tmp.resolve("parent"));
        log.record(Kind.CGROUP, tmp.resolve("parent/child"));
        Files.createDirectories(tmp.resolve("parent/child"));
        assertTrue(UndoLog.read(tmp).replay());
        assertFalse(Files.exists(tmp.resolve("parent")));
    }

    @Test
    void aFailedUndoIsReportedAndTheRestStillUndone(@TempDir Path tmp) throws Exception {
        UndoLog log = UndoLog.create(tmp);
        log.record(Kind.FILE, tmp.resolve("first"));
        log.record(Kind.FILE, tmp.resolve("busy"));      // a non-empty directory: unlink fails
        Files.writeString(tmp.resolve("first"), "x");
        Files.createDirectories(tmp.resolve("busy/inside"));
        java.io.PrintStream err = System.err;
        var said = new java.io.ByteArrayOutputStream();
        System.setErr(new java.io.PrintStream(said, true));
        try {
            assertFalse(UndoLog.read(tmp).replay());
        } finally {
            System.setErr(err);
        }
        assertTrue(said.toString().contains("jocker: failed to undo file " + tmp.resolve("busy") + ": "), said.toString());
        assertFalse(Files.exists(tmp.resolve("first")), "undone despite the failure after it");
    }

    @Test
    void aMountOnADirectoryThatIsNotMountedIsFine(@TempDir Path tmp) throws Exception {
        // umount2 of a directory that is no mount point: EINVAL for root; an unprivileged caller
        // gets EPERM first, which is a real failure, so this needs root.
        assumeTrue(Linux.geteuid() == 0, "needs root: umount2 is EPERM otherwise");
        Path dir = Files.createDirectory(tmp.resolve("rootfs"));
        UndoLog log = UndoLog.create(tmp);
        log.record(Kind.MOUNT, dir);
        assertTrue(UndoLog.read(tmp).replay());
        assertTrue(Files.isDirectory(dir), "a mount's undo does not remove its directory");
    }

    /**
     * $JOCKER_ROOT=./state gives a container directory such as /cwd/./state/containers/ID
     * (Container.stateRoot() makes it absolute, not normal). Its paths must still be stored
     * relative, or the sweep, which renames the directory first, undoes the old paths: a rootfs
     * mount stays, and the directory cannot be deleted.
     */
    @Test
    void aContainerDirectoryWrittenWithDotsStillStoresRelativePaths(@TempDir Path tmp) throws Exception {
        Files.createDirectories(tmp.resolve("containers/abc"));
        Path dotted = tmp.resolve("./containers/../containers/abc");
        UndoLog log = UndoLog.create(dotted);
        log.record(Kind.MOUNT, dotted.resolve("rootfs"));
        assertEquals(List.of(new Entry(Kind.MOUNT, "rootfs")), log.entries());
    }
}
