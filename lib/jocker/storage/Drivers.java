package jocker.storage;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import jocker.image.ImageHooks;
import jocker.kernel.Linux;
import jocker.kernel.Trees;
import jocker.runtime.ContainerError;
import jocker.runtime.Log;

/**
 * Which storage driver a container gets, and why: the one {@code --storage-driver} (or
 * {@code JOCKER_STORAGE_DRIVER}) names, else overlay where it works here, else vfs. "Works here" is
 * decided the way Docker decides it, by trying: an overlay mount of a scratch directory under the
 * storage directory, with an opaque marker set in it (the layers need trusted xattrs). That costs a
 * few milliseconds and catches what reading /proc/filesystems cannot: a state root on a filesystem
 * overlay cannot use as its upper layer (overlayfs itself, some network filesystems).
 */
public final class Drivers {
    private Drivers() {}

    public static final String OVERLAY = "overlay", VFS = "vfs";

    /** A driver and the reason it was chosen, for {@code --verbose} and {@code info}. */
    public record Choice(StorageDriver driver, String why) {}

    /** The driver for {@code requested} ({@code overlay}, {@code vfs} or null: the default). */
    public static Choice choose(String requested, ImageHooks images, StorageHooks storage) {
        LayerStore layers = LayerStore.open();
        if (VFS.equals(requested)) return new Choice(new Vfs(images), "chosen with --storage-driver");
        Optional<String> problem = overlayProblem(layers.home());
        if (OVERLAY.equals(requested)) {
            if (problem.isPresent()) {
                throw new ContainerError("storage driver overlay is not available here: " + problem.get()
                        + " (use --storage-driver vfs)");
            }
            return new Choice(new Overlay(storage, layers), "chosen with --storage-driver");
        }
        if (requested != null) throw new ContainerError("unknown storage driver \"" + requested + "\" (overlay or vfs)");
        if (problem.isPresent()) return new Choice(new Vfs(images), "the default here: overlay is not available: " + problem.get());
        return new Choice(new Overlay(storage, layers), "the default: the kernel mounts overlay over "
                + fsType(layers.home()) + " at " + layers.home());
    }

    /** Why overlay cannot work with its directories under {@code home}; empty if it can. */
    static Optional<String> overlayProblem(Path home) {
        Path probe = home.resolve(".probe-" + ProcessHandle.current().pid());
        try {
            Files.createDirectories(home);
            removeDeadProbes(home);
            Path lower = Files.createDirectories(probe.resolve("lower"));
            Path upper = Files.createDirectories(probe.resolve("upper"));
            Path work = Files.createDirectories(probe.resolve("work"));
            Path merged = Files.createDirectories(probe.resolve("merged"));
            try {
                Linux.lsetxattr(lower.toString(), Overlay.OPAQUE_XATTR, "y".getBytes(StandardCharsets.UTF_8));
            } catch (Linux.LinuxException e) {
                return Optional.of("the filesystem of " + home + " (" + fsType(home) + ") keeps no trusted xattrs: "
                        + e.reason());
            }
            try {
                Linux.mount("overlay", merged.toString(), "overlay", 0,
                        "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work);
            } catch (Linux.LinuxException e) {
                if (e.errno() == Linux.ENODEV) return Optional.of("the kernel has no overlay filesystem (ENODEV: modprobe overlay)");
                return Optional.of("the kernel refused an overlay mount over " + fsType(home) + " at " + home + ": "
                        + e.reason());
            }
            Linux.umount2(merged.toString(), 0);
            return Optional.empty();
        } catch (IOException | RuntimeException e) {
            return Optional.of("failed to try an overlay mount under " + home + ": " + Log.reason(e));
        } finally {
            try {
                Trees.delete(probe);
            } catch (IOException e) {
                Log.error("failed to remove %s: %s", probe, Log.reason(e));
            }
        }
    }

    /** Probes of runtimes that were killed in the middle of one. */
    private static void removeDeadProbes(Path home) throws IOException {
        try (DirectoryStream<Path> probes = Files.newDirectoryStream(home, ".probe-*")) {
            for (Path p : probes) {
                long pid;
                try {
                    pid = Long.parseLong(p.getFileName().toString().substring(".probe-".length()));
                } catch (NumberFormatException e) {
                    continue;
                }
                if (ProcessHandle.of(pid).isPresent()) continue;
                try {
                    Linux.umount2(p.resolve("merged").toString(), Linux.MNT_DETACH);
                } catch (Linux.LinuxException notMounted) {
                    // EINVAL: nothing mounted there
                }
                Trees.delete(p);
            }
        }
    }

    static String fsType(Path path) {
        try {
            return Files.getFileStore(path).type();
        } catch (IOException e) {
            return "an unknown filesystem";
        }
    }
}
