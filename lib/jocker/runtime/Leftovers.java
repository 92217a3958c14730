package jocker.runtime;

import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

import jocker.kernel.Processes;
import jocker.kernel.Trees;
import jocker.oci.State;

/**
 * Containers whose runtime was killed (SIGKILL gives it no chance to clean up) leave their
 * directory behind. Every {@code run} first sweeps those: a container whose owner (state.json's
 * {@code owner}: a pid and its start time, so that a reused pid does not count) no longer runs has
 * its {@link UndoLog} replayed and its directory deleted. Its init process died with its runtime
 * (PR_SET_PDEATHSIG), and so did every mount made inside its mount namespace and, with its
 * network namespace, the container's end of its veth pair; what it made outside (a cgroup, a mount
 * on the host, the host end of its veth, its iptables rules, its address lease) the undo log
 * names. The sweep needs nothing but those files, so a run of any step cleans up after a container
 * of any step.
 *
 * <p>Several runs may start at once and find the same leftover. Each claims it first by renaming
 * it atomically to {@code .removing-ID-PID} (rename(2) succeeds for one of them only), so that
 * nobody else touches it while it is being removed; a claim whose claimer died is claimed again.
 */
public final class Leftovers {
    private Leftovers() {}

    private static final String CLAIMED = ".removing-";

    public static void sweep() {
        Path containers = Container.containersDir();
        if (!Files.isDirectory(containers)) return;
        List<Path> dirs;
        try (var list = Files.list(containers)) {
            dirs = list.toList();
        } catch (Exception e) {
            return;
        }
        long me = ProcessHandle.current().pid();
        for (Path dir : dirs) {
            String name = dir.getFileName().toString();
            if (name.startsWith(".") && !name.startsWith(CLAIMED)) continue;   // a temporary file
            if (!abandoned(dir)) continue;
            String id = idOf(name);
            Path claim = containers.resolve(CLAIMED + id + "-" + me);
            try {
                Files.move(dir, claim, StandardCopyOption.ATOMIC_MOVE);
                State state = readState(claim);
                state.owner = new State.Owner(me, Processes.startTime(me).orElse(0L));
                state.write(claim.resolve("state.json"));
            } catch (NoSuchFileException | FileAlreadyExistsException takenByAnotherRun) {
                continue;
            } catch (Exception e) {
                Log.error("failed to claim leftovers of container %s: %s", id, Log.reason(e));
                continue;
            }
            Log.verbose("removing leftovers of container %s (its runtime is gone)", id);
            try {
                if (UndoLog.read(claim).replay()) Trees.delete(claim);
            } catch (Exception e) {
                Log.error("failed to remove leftovers of container %s: %s", id, Log.reason(e));
            }
        }
    }

    /** A container directory whose owner is gone; one without a readable state is not judged. */
    private static boolean abandoned(Path dir) {
        try {
            State.Owner owner = readState(dir).owner;
            return owner != null && !Processes.isRunning(owner.pid, owner.startTime);
        } catch (Exception e) {
            return false;
        }
    }

    private static State readState(Path dir) throws java.io.IOException {
        return State.read(dir.resolve("state.json"));
    }

    /** The container id in a directory name: ID, or .removing-ID-PID while a run removes it. */
    private static String idOf(String name) {
        if (!name.startsWith(CLAIMED)) return name;
        String rest = name.substring(CLAIMED.length());
        int dash = rest.lastIndexOf('-');
        return dash > 0 ? rest.substring(0, dash) : rest;
    }
}
