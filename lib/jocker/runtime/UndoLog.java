package jocker.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;

import jocker.kernel.Linux;
import jocker.kernel.NetworkObjects;
import jocker.kernel.Processes;
import jocker.kernel.Trees;
import jocker.oci.Json;

/**
 * What a container made outside its own directory, written down <em>before</em> it is made:
 * {@code containers/ID/undo.json}. If the runtime is killed (SIGKILL leaves it no chance to
 * release anything), the next run of any step finds the container's directory, reads this log and
 * undoes every entry in reverse order ({@link Leftovers}). Because the entry comes first, there is
 * no moment in which a thing exists that the log does not name; undoing a thing that was never
 * made (the runtime died between the entry and the mkdir) finds nothing to do.
 *
 * <p>The entries are kernel objects, so that a run of step 04 can undo what a step-05 or step-08
 * container made without knowing cgroups or networks:
 * <pre>
 *  kind     undone by
 *  mount    umount2(path, MNT_DETACH)
 *  cgroup   SIGKILL whatever is still in it, then rmdir(path), retried while it is busy
 *  tree     deleting the directory tree, never crossing a mount point
 *  file     unlink(path)
 * </pre>
 * The normal path does not use the log: each feature's {@code release} undoes what it made.
 */
public final class UndoLog {

    /** The kinds of things a container can make, and how each is undone. */
    public enum Kind {
        MOUNT, CGROUP, TREE, FILE, LINK, RULE, LEASE;

        /** Whether the entry's path is a path (relative to the container's directory if inside it). */
        boolean isPath() { return this == MOUNT || this == CGROUP || this == TREE || this == FILE; }
    }

    /**
     * One thing made: its kind, where it is (relative to the container's directory if inside it),
     * and what else its undo needs ({@code args}: a rule's iptables arguments, a lease's owner).
     * A log written before {@code args} existed reads as entries without any.
     */
    @JsonIgnoreProperties(ignoreUnknown = true)
    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    public record Entry(Kind kind, String path, List<String> args) {
        public Entry {
            args = args == null ? List.of() : List.copyOf(args);
        }

        public Entry(Kind kind, String path) { this(kind, path, List.of()); }
    }

    private final Path file;
    private final Path containerDir;
    private final List<Entry> entries;

    private UndoLog(Path containerDir, List<Entry> entries) {
        this.containerDir = containerDir.toAbsolutePath().normalize();
        this.file = this.containerDir.resolve("undo.json");
        this.entries = entries;
    }

    /** An empty log for a new container. */
    static UndoLog create(Path containerDir) throws IOException {
        UndoLog log = new UndoLog(containerDir, new ArrayList<>());
        Json.write(log.file, log.entries);
        return log;
    }

    /** The log of an existing container directory; empty if it has none. */
    static UndoLog read(Path containerDir) throws IOException {
        Path file = containerDir.resolve("undo.json");
        List<Entry> entries = new ArrayList<>();
        try {
            entries.addAll(List.of(Json.read(file, Entry[].class)));
        } catch (NoSuchFileException | java.io.FileNotFoundException none) {
            // a container that made nothing yet
        }
        return new UndoLog(containerDir, entries);
    }

    /**
     * Writes down that {@code path}, a thing of {@code kind}, is about to be made. Call it before
     * making it; the log is on disk when this returns.
     */
    public synchronized void record(Kind kind, Path path) {
        if (!kind.isPath()) throw new IllegalArgumentException(kind + " is not a path: use its own record method");
        Path abs = path.toAbsolutePath().normalize();
        String where = abs.startsWith(containerDir) ? containerDir.relativize(abs).toString() : abs.toString();
        add(new Entry(kind, where));
    }

    /** Writes down that network interface {@code name} of the host is about to be made. */
    public void recordLink(String name) { add(new Entry(Kind.LINK, name)); }

    /**
     * Writes down that an iptables rule is about to be added; {@code iptablesArgs} are those that
     * add it, {@code -t TABLE -A CHAIN SPEC...}.
     */
    public void recordRule(List<String> iptablesArgs) {
        if (iptablesArgs.size() < 4 || !iptablesArgs.get(0).equals("-t") || !iptablesArgs.get(2).equals("-A")) {
            throw new IllegalArgumentException("not -t TABLE -A CHAIN SPEC...: " + iptablesArgs);
        }
        add(new Entry(Kind.RULE, iptablesArgs.get(1) + "/" + iptablesArgs.get(3), iptablesArgs));
    }

    /** Writes down that lease file {@code lease}, naming container {@code owner}, is about to be made. */
    public void recordLease(Path lease, String owner) {
        add(new Entry(Kind.LEASE, lease.toAbsolutePath().normalize().toString(), List.of(owner)));
    }

    private synchronized void add(Entry entry) {
        entries.add(entry);
        try {
            Json.write(file, entries);
        } catch (IOException e) {
            throw new ContainerError("failed to write the undo log " + file + ": " + Log.reason(e), e);
        }
    }

    public synchronized List<Entry> entries() { return List.copyOf(entries); }

    /**
     * Undoes every entry, the last first. A failure is reported and the rest is still undone;
     * returns whether everything was.
     */
    synchronized boolean replay() {
        boolean all = true;
        for (int i = entries.size() - 1; i >= 0; i--) {
            Entry e = entries.get(i);
            String what = e.kind().isPath() ? containerDir.resolve(e.path()).toString() : e.path();
            try {
                undo(e);
            } catch (Exception x) {
                all = false;
                Log.error("failed to undo %s %s: %s", e.kind().name().toLowerCase(), what, Log.reason(x));
            }
        }
        return all;
    }

    private void undo(Entry e) throws IOException, InterruptedException {
        Path path = e.kind().isPath() ? containerDir.resolve(e.path()) : null;
        switch (e.kind()) {
            case MOUNT -> {
                try {
                    Linux.umount2(path.toString(), Linux.MNT_DETACH);
                } catch (Linux.LinuxException x) {
                    if (x.errno() != Linux.EINVAL && x.errno() != Linux.ENOENT) throw x;   // not mounted
                }
            }
            case CGROUP -> removeCgroup(path);
            case TREE -> Trees.delete(path);
            case FILE -> Files.deleteIfExists(path);
            case LINK -> NetworkObjects.deleteLink(e.path());
            case RULE -> NetworkObjects.deleteRule(e.args());
            case LEASE -> {
                if (e.args().size() != 1) throw new IOException("a lease entry needs its owner");
                NetworkObjects.releaseLease(Path.of(e.path()), e.args().get(0));
            }
        }
    }

    /** Empties a cgroup with SIGKILL and removes it; the kernel refuses rmdir while it has processes. */
    private static void removeCgroup(Path dir) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (Files.isDirectory(dir)) {
            Path procs = dir.resolve("cgroup.procs");
            if (Files.exists(procs)) {
                for (String pid : Files.readAllLines(procs)) {
                    if (!pid.isBlank()) Processes.signalIfAlive(Long.parseLong(pid.trim()), Linux.SIGKILL);
                }
            }
            try {
                Linux.rmdir(dir.toString());
                return;
            } catch (Linux.LinuxException e) {
                if (e.errno() == Linux.ENOENT) return;
                if (e.errno() != Linux.EBUSY || System.nanoTime() > deadline) throw e;
            }
            Thread.sleep(20);
        }
    }
}
