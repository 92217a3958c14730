package jocker.storage;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;

import jocker.image.Digest;
import jocker.image.ImageCommands;
import jocker.image.ImageHooks;
import jocker.image.ImageLayout;
import jocker.image.ImageStore;
import jocker.oci.Config;
import jocker.oci.Json;
import jocker.runtime.Container;
import jocker.runtime.ContainerError;
import jocker.runtime.Log;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Step 07's commands: the image commands of step 06 (whose {@code rmi} now also deletes the
 * unpacked layers no image and no container needs), {@code diff} and {@code info}.
 */
public final class StorageCommands {
    private StorageCommands() {}

    /** {@code StorageCommands.all(this, this)}: the commands for a step that implements both hooks. */
    public static List<Object> all(ImageHooks images, StorageHooks storage) {
        List<Object> all = new ArrayList<>(new ImageCommands(images, () -> pruneLayers(storage)).all());
        all.add(new Diff(storage));
        all.add(new Info(images, storage));
        return all;
    }

    /**
     * Deletes the unpacked layers that no image in the store and no container uses. The set to keep
     * is read under the layer store's exclusive lock: a container being made holds it shared until
     * its {@code lower} file names its layers.
     */
    static void pruneLayers(StorageHooks hooks) {
        LayerStore layers = LayerStore.open();
        if (!Files.isDirectory(layers.layersDir())) return;
        try {
            List<Digest> deleted = layers.prune(() -> inUse(hooks, layers));
            for (Digest d : deleted) Log.verbose("deleted unpacked layer %s", d.shortId());
        } catch (IOException | RuntimeException e) {
            Log.error("failed to delete unused layers: %s", Log.reason(e));
        }
    }

    private static Set<Digest> inUse(StorageHooks hooks, LayerStore layers) {
        Set<Digest> keep = new HashSet<>();
        if (Files.exists(jocker.rootfs.Images.dir().resolve(ImageLayout.INDEX_FILE))) {
            for (ImageStore.Image i : ImageStore.open().list()) {
                if (i.config().rootfs != null) keep.addAll(Overlay.chainIds(i.config().rootfs.diffIds, hooks));
            }
        }
        Path containers = Container.containersDir();
        if (Files.isDirectory(containers)) {
            try (DirectoryStream<Path> dirs = Files.newDirectoryStream(containers)) {
                for (Path dir : dirs) {
                    Path lower = dir.resolve("lower");
                    if (!Files.isRegularFile(lower)) continue;
                    for (String line : Files.readAllLines(lower)) if (!line.isBlank()) keep.add(Digest.parse(line.trim()));
                }
            } catch (IOException e) {
                throw new ContainerError("failed to read which layers containers use: " + Log.reason(e), e);
            }
        }
        return keep;
    }

    // ------------------------------------------------------------------------------------------

    @Command(name = "diff", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"Show what a running container changed in its image's files, read from its upper directory: "
                    + "A added, C changed, D deleted, one path per line, as docker diff prints them.",
                "CONTAINER is the id, or a unique prefix of it (the container's hostname is its first 12 digits). "
                    + "Needs the overlay storage driver."},
            footerHeading = "%nExample:%n", footer = {"  diff 3f2a9c1b7d4e"},
            exitCodeListHeading = "%nExit codes:%n", exitCodeList = {"0:the changes were printed",
                "125:no such container, or it keeps no upper directory (vfs)"})
    static final class Diff implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "CONTAINER", description = "The container.") String container;

        private final StorageHooks hooks;

        Diff(StorageHooks hooks) { this.hooks = hooks; }

        @Override public Integer call() throws IOException {
            Path dir = findContainer(container);
            Config config = Json.read(dir.resolve("config.json"), Config.class);
            String driver = config.annotations.get(StorageSource.DRIVER);
            if (!Drivers.OVERLAY.equals(driver) || !Files.isDirectory(dir.resolve("upper"))) {
                throw new ContainerError("container " + container + " runs on the " + (driver == null ? "tarball" : driver)
                        + " storage, which keeps no record of its changes (run it with --storage-driver overlay)");
            }
            List<Path> lowers = Overlay.layerDirsTopFirst(dir, LayerStore.open());
            // What the runtime itself made for its mounts (step 08's /etc/hosts over an image that
            // has none) is not the container's doing: Docker keeps those in an "init" layer.
            Set<String> mountPoints = new HashSet<>();
            for (Config.Mount m : config.mounts) mountPoints.add(Path.of("/").resolve(m.destination).normalize().toString());
            StringBuilder out = new StringBuilder();
            for (Change c : Changes.of(dir.resolve("upper"), lowers, hooks)) {
                if (c.kind() == Change.Kind.ADDED && mountPoints.contains(c.path())) continue;
                out.append(c).append('\n');
            }
            System.out.print(out);
            return 0;
        }
    }

    /** The directory of the container whose id is or starts with {@code idOrPrefix}. */
    static Path findContainer(String idOrPrefix) throws IOException {
        if (!idOrPrefix.matches("[0-9a-f]{1,64}")) throw new ContainerError("no such container: " + idOrPrefix);
        Path containers = Container.containersDir();
        List<Path> found = new ArrayList<>();
        if (Files.isDirectory(containers)) {
            try (DirectoryStream<Path> dirs = Files.newDirectoryStream(containers, idOrPrefix + "*")) {
                for (Path d : dirs) if (d.getFileName().toString().matches("[0-9a-f]{64}")) found.add(d);
            }
        }
        if (found.isEmpty()) throw new ContainerError("no such container: " + idOrPrefix);
        if (found.size() > 1) {
            throw new ContainerError("container id prefix " + idOrPrefix + " is ambiguous: " + found.size() + " containers");
        }
        return found.get(0);
    }

    // ------------------------------------------------------------------------------------------

    @Command(name = "info", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"Show which storage driver a run would use here and why, and what the state root holds."},
            exitCodeListHeading = "%nExit codes:%n", exitCodeList = {"0:printed", "125:the state root cannot be read"})
    static final class Info implements Callable<Integer> {
        @Option(names = "--storage-driver", paramLabel = "DRIVER", description = "Ask about this driver (overlay or vfs).")
        String driver = System.getenv("JOCKER_STORAGE_DRIVER");

        private final ImageHooks images;
        private final StorageHooks storage;

        Info(ImageHooks images, StorageHooks storage) {
            this.images = images;
            this.storage = storage;
        }

        @Override public Integer call() throws IOException {
            Drivers.Choice choice = Drivers.choose(driver == null || driver.isBlank() ? null : driver, images, storage);
            LayerStore layers = LayerStore.open();
            Path root = Container.stateRoot();
            boolean store = Files.exists(jocker.rootfs.Images.dir().resolve(ImageLayout.INDEX_FILE));
            StringBuilder out = new StringBuilder();
            out.append("Storage Driver: ").append(choice.driver().name()).append('\n');
            out.append(" Why: ").append(choice.why()).append('\n');
            out.append(" Backing Filesystem: ").append(Drivers.fsType(layers.home())).append('\n');
            out.append(" Layers: ").append(layers.list().size()).append(" unpacked in ").append(layers.layersDir()).append('\n');
            out.append("Images: ").append(store ? ImageStore.open().list().size() : 0).append('\n');
            out.append("Containers: ").append(countContainers()).append('\n');
            out.append("Root Dir: ").append(root).append('\n');
            out.append("Kernel Version: ").append(System.getProperty("os.version")).append('\n');
            System.out.print(out);
            return 0;
        }

        private static long countContainers() throws IOException {
            Path containers = Container.containersDir();
            if (!Files.isDirectory(containers)) return 0;
            try (var list = Files.list(containers)) {
                return list.filter(d -> d.getFileName().toString().matches("[0-9a-f]{64}")).count();
            }
        }
    }
}
