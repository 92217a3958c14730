import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Containers whose runtime was killed (SIGKILL gives it no chance to clean up) leave their
 * directory behind. Every {@code run} first sweeps those: a container directory whose
 * {@code runtime.pid} names a process that no longer exists gets its features released and is
 * deleted. The container's own process died with its runtime (PR_SET_PDEATHSIG), and so did every
 * mount made inside its mount namespace.
 */
final class Leftovers {
    private Leftovers() {}

    static void sweep(ContainerRuntime runtime) {
        Path containers = Container.containersDir();
        if (!Files.isDirectory(containers)) return;
        List<Path> dirs;
        try (var list = Files.list(containers)) {
            dirs = list.toList();
        } catch (Exception e) {
            return;
        }
        for (Path dir : dirs) {
            Optional<Long> owner = owner(dir);
            if (owner.isEmpty() || ProcessHandle.of(owner.get()).isPresent()) continue;
            Log.verbose("removing leftovers of container %s (its runtime, pid %d, is gone)",
                    dir.getFileName(), owner.get());
            try {
                Config config = Files.exists(dir.resolve("config.json"))
                        ? Config.read(dir.resolve("config.json")) : new Config();
                runtime.release(Container.existing(dir, config), new ArrayList<>(runtime.features()));
            } catch (Exception e) {
                Log.error("failed to remove leftovers of %s: %s", dir, Log.reason(e));
            }
        }
    }

    private static Optional<Long> owner(Path dir) {
        try {
            return Optional.of(Long.parseLong(Files.readString(dir.resolve("runtime.pid")).trim()));
        } catch (Exception e) {
            return Optional.empty();
        }
    }
}
