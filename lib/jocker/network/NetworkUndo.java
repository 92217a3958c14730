package jocker.network;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;

import jocker.oci.Json;
import jocker.runtime.ContainerError;
import jocker.runtime.Log;

/**
 * Where a container's network things are written down <em>before</em> they are made, so that a
 * sweep after a SIGKILL can undo them: a link by its name, a rule by its iptables arguments, a
 * lease by its path and owner ({@link Undo} does each).
 *
 * <p>INTERIM: until jocker.runtime.UndoLog has the kinds LINK, RULE and LEASE (the proposed change
 * is in /tmp/net-notes.md), this writes {@code containers/ID/network-undo.json}, with entries of
 * exactly the shape the proposed UndoLog entries have, and {@link #replay} undoes them. Once UndoLog
 * has the kinds, {@link #of} records into {@code container.undo()} instead and replay goes away.
 */
public final class NetworkUndo {

    /** One thing made; the shape proposed for UndoLog.Entry: kind, path, and args. */
    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Entry(String kind, String path, List<String> args) {}

    private final Path file;
    private final List<Entry> entries = new ArrayList<>();

    private NetworkUndo(Path file) { this.file = file; }

    /** The network undo log of the container whose directory is {@code containerDir}. */
    public static NetworkUndo of(Path containerDir) { return new NetworkUndo(containerDir.resolve("network-undo.json")); }

    /** A network interface of the host, by name: undone by {@link Undo#deleteLink}. */
    public void link(String name) { add(new Entry("LINK", name, List.of())); }

    /** An iptables rule: undone by {@link Undo#deleteRule} with its arguments. */
    public void rule(Rule rule) { add(new Entry("RULE", rule.table() + "/" + rule.chain(), rule.args("-A"))); }

    /** A lease file and the container that holds it: undone by {@link Undo#releaseLease}. */
    public void lease(Path file, String containerId) { add(new Entry("LEASE", file.toString(), List.of(containerId))); }

    public synchronized List<Entry> entries() { return List.copyOf(entries); }

    private synchronized void add(Entry e) {
        entries.add(e);
        try {
            Json.write(file, entries);
        } catch (IOException x) {
            throw new ContainerError("failed to write the undo log " + file + ": " + Log.reason(x), x);
        }
    }

    /** Undoes one entry: what the proposed UndoLog.undo does for the kinds LINK, RULE and LEASE. */
    public static void undo(Entry e) {
        switch (e.kind()) {
            case "LINK" -> Undo.deleteLink(e.path());
            case "RULE" -> Undo.deleteRule(e.args());
            case "LEASE" -> Undo.releaseLease(Path.of(e.path()), e.args().get(0));
            default -> throw new IllegalArgumentException("unknown kind " + e.kind());
        }
    }

    /**
     * Undoes every entry of {@code containerDir}'s network undo log, the last first; what a sweep
     * does. Returns whether all were undone.
     */
    public static boolean replay(Path containerDir) {
        Entry[] all;
        try {
            all = Json.read(containerDir.resolve("network-undo.json"), Entry[].class);
        } catch (NoSuchFileException | java.io.FileNotFoundException none) {
            return true;
        } catch (IOException e) {
            Log.error("failed to read %s: %s", containerDir.resolve("network-undo.json"), Log.reason(e));
            return false;
        }
        boolean ok = true;
        for (int i = all.length - 1; i >= 0; i--) {
            try {
                undo(all[i]);
            } catch (RuntimeException x) {
                ok = false;
                Log.error("failed to undo %s %s: %s", all[i].kind().toLowerCase(), all[i].path(), Log.reason(x));
            }
        }
        return ok;
    }
}
