import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Containers whose runtime was killed (SIGKILL gives it no chance to clean up) leave their
 * directory behind. Every {@code run} first sweeps those: a container directory whose
 * {@code runtime.pid} names a process that no longer exists gets its features released and is
 * deleted. The container's own process died with its runtime (PR_SET_PDEATHSIG), and so did every
 * mount made inside its mount namespace.
 *
 * <p>Several runs may start at once and find the same leftover. Each claims it first by renaming
 * it atomically to {@code .removing-ID-PID} (rename(2) succeeds for one of them only) and writing
 * its own pid into it, so that nobody else touches it while it is being removed.
 */
final class Leftovers {
    private Leftovers() {}

    private static final String CLAIMED = ".removing-";

    static void sweep(ContainerRuntime runtime) {
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
            Optional<Long> owner = owner(dir);
            if (owner.isEmpty() || ProcessHandle.of(owner.get()).isPresent()) continue;
            String id = idOf(dir.getFileName().toString());
            Path claim = containers.resolve(CLAIMED + id + "-" + me);
            try {
                Files.move(dir, claim, StandardCopyOption.ATOMIC_MOVE);
                Files.writeString(claim.resolve("runtime.pid"), Long.toString(me));
            } catch (NoSuchFileException | FileAlreadyExistsException takenByAnotherRun) {
                continue;
            } catch (Exception e) {
                Log.error("failed to claim leftovers of container %s: %s", id, Log.reason(e));
                continue;
            }
            Log.verbose("removing leftovers of container %s (its runtime, pid %d, is gone)", id, owner.get());
            try {
                Path configFile = claim.resolve("config.json");
                Config config = Files.exists(configFile) ? Config.read(configFile) : new Config();
                runtime.release(Container.existing(id, claim, config), new ArrayList<>(runtime.features()));
            } catch (Exception e) {
                Log.error("failed to remove leftovers of container %s: %s", id, Log.reason(e));
            }
        }
    }

    /** The container id in a directory name: ID, or .removing-ID-PID while a run removes it. */
    private static String idOf(String name) {
        if (!name.startsWith(CLAIMED)) return name;
        String rest = name.substring(CLAIMED.length());
        int dash = rest.lastIndexOf('-');
        return dash > 0 ? rest.substring(0, dash) : rest;
    }

    private static Optional<Long> owner(Path dir) {
        try {
            return Optional.of(Long.parseLong(Files.readString(dir.resolve("runtime.pid")).trim()));
        } catch (Exception e) {
            return Optional.empty();
        }
    }
}
