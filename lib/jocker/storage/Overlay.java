package jocker.storage;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import jocker.image.Digest;
import jocker.kernel.Linux;
import jocker.runtime.Container;
import jocker.runtime.ContainerError;
import jocker.runtime.Log;
import jocker.runtime.UndoLog;

/**
 * Docker's {@code overlay2} driver: a container's root filesystem is an overlay mount of its
 * image's layers, each unpacked once into the {@link LayerStore}, with two directories of the
 * container's own on top:
 * <pre>
 *   containers/ID/rootfs    merged: what the container sees, the mount point
 *   containers/ID/upper     where every write lands (a file is copied up before its first write)
 *   containers/ID/work      overlay's scratch space, on the same filesystem as upper
 *   containers/ID/lower     the chain ids of the layers below, bottom first (for diff and prune)
 * </pre>
 * The mount is made in the runtime's mount namespace before the init process exists, as Docker's
 * graph driver does, and recorded in the container's undo log first: the init process then sees it
 * in its own copy of the mount table and pivots into it; release unmounts it; after a SIGKILL of
 * the runtime the next run's sweep does.
 *
 * <h2>One page of options</h2>
 * mount(2) passes the options as one string, and the kernel reads at most one page of it (4096
 * bytes with the final NUL). With absolute paths of 80-odd bytes, that is about 45 layers. Docker's
 * answer, taken here: every layer also has a short name, {@code l/QX3V7KD2MA} (13 bytes with its
 * separator), and the mount is made with the storage directory as the working directory, so those
 * relative names resolve. About 300 layers fit; the kernel itself stacks at most 500. The working
 * directory belongs to the whole process, so the mount runs on a thread of its own that first stops
 * sharing it with the other threads ({@code unshare(CLONE_FS)}).
 */
public final class Overlay implements StorageDriver {
    /** overlayfs's opaque directory marker (filesystems/overlayfs.rst). */
    public static final String OPAQUE_XATTR = "trusted.overlay.opaque";
    /** The most mount options the kernel reads: one page, the final NUL included. */
    static final int PAGE = 4096;

    private final StorageHooks hooks;
    private final LayerStore layers;
    private boolean mounted;

    public Overlay(StorageHooks hooks, LayerStore layers) {
        this.hooks = hooks;
        this.layers = layers;
    }

    @Override
    public String name() { return "overlay"; }

    @Override
    public void create(Container container, ImageLayers image) throws Exception {
        long t0 = System.nanoTime();
        // Shared: a prune waits until our layers are named in containers/ID/lower.
        try (var held = layers.lockShared()) {
            List<Digest> chain = chainIds(image.diffIds(), hooks);
            int unpacked = 0;
            for (int i = 0; i < chain.size(); i++) {
                var source = new LayerStore.Source(image.layers().get(i), image.blobs().apply(image.layers().get(i).digest),
                        image.diffIds().get(i), image.what(i));
                if (layers.ensure(chain.get(i), source, hooks)) unpacked++;
            }
            Log.verbose("overlay: %s has %d layer%s: %d unpacked now, %d found in the layer store", image.name(),
                    chain.size(), chain.size() == 1 ? "" : "s", unpacked, chain.size() - unpacked);
            List<String> lines = new ArrayList<>();
            List<String> lowerdirs = new ArrayList<>();
            for (Digest d : chain) {
                lines.add(d.toString());
                lowerdirs.add(layers.shortLink(d));
            }
            Files.write(container.dir.resolve("lower"), lines);
            Path upper = Files.createDirectory(container.dir.resolve("upper"));
            Path work = Files.createDirectory(container.dir.resolve("work"));
            Path merged = Files.createDirectory(container.rootfs());
            checkFitsInOnePage(lowerdirs, upper, work, image);
            container.undo().record(UndoLog.Kind.MOUNT, merged);
            long t1 = System.nanoTime();
            mount(lowerdirs, upper, work, merged);
            mounted = true;
            container.config.root.path = merged.toString();
            Log.verbose("overlay: mounted %s in %d ms (%d ms in all)", merged, (System.nanoTime() - t1) / 1_000_000,
                    (System.nanoTime() - t0) / 1_000_000);
        }
    }

    /** The chain id of every layer, bottom first, from their diff ids, by the step's {@link StorageHooks#chainId}. */
    public static List<Digest> chainIds(List<Digest> diffIds, StorageHooks hooks) {
        List<Digest> chain = new ArrayList<>();
        Digest parent = null;
        for (Digest diffId : diffIds) {
            parent = hooks.chainId(parent, diffId);
            chain.add(parent);
        }
        return chain;
    }

    void mount(List<String> lowerdirs, Path upper, Path work, Path merged) throws InterruptedException {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        // tag::mount-thread[]
        Thread t = new Thread(() -> {
            try {
                Linux.unshare(Linux.CLONE_FS);          // this thread's working directory only
                Linux.chdir(layers.home().toString());  // where l/QX3V7KD2MA resolves
                hooks.mountOverlay(lowerdirs, upper, work, merged);
            } catch (Throwable e) {
                failure.set(e);
            }
        }, "overlay-mount");
        t.start();
        t.join();
        // end::mount-thread[]
        Throwable e = failure.get();
        if (e instanceof Linux.LinuxException x) {
            throw new ContainerError("failed to mount the overlay at " + merged + ": " + x.reason() + hint(x), x);
        }
        if (e instanceof RuntimeException r) throw r;
        if (e instanceof Error err) throw err;
        if (e != null) throw new ContainerError("failed to mount the overlay at " + merged + ": " + Log.reason(e), e);
    }

    private static String hint(Linux.LinuxException x) {
        if (x.errno() == Linux.EINVAL) {
            return " (check the options' order and that upper and work are on one filesystem; the kernel says why in dmesg)";
        }
        if (x.errno() == Linux.ENOENT) return " (a lower, upper or work directory is missing)";
        return "";
    }

    static void checkFitsInOnePage(List<String> lowerdirs, Path upper, Path work, ImageLayers image) {
        int length = "lowerdir=".length() + String.join(":", lowerdirs).length() + ",upperdir=".length()
                + upper.toString().length() + ",workdir=".length() + work.toString().length();
        if (length >= PAGE) {
            throw new ContainerError("image " + image.name() + " has too many layers (" + lowerdirs.size()
                    + ") for one overlay mount: its options would take " + length + " bytes, the kernel reads "
                    + (PAGE - 1) + " (use --storage-driver vfs)");
        }
    }

    @Override
    public void remove(Container container) throws Exception {
        if (!mounted) return;
        String merged = container.rootfs().toString();
        try {
            Linux.umount2(merged, 0);
        } catch (Linux.LinuxException e) {
            if (e.errno() != Linux.EBUSY) throw e;
            // Something still uses it (a process that escaped the container's PID namespace):
            // detach it now; the kernel frees it when the last user goes.
            Linux.umount2(merged, Linux.MNT_DETACH);
        }
        mounted = false;
    }

    /** The layer directories of a container made by this driver, top first (for diff). */
    public static List<Path> layerDirsTopFirst(Path containerDir, LayerStore layers) throws IOException {
        List<Path> dirs = new ArrayList<>();
        for (String line : Files.readAllLines(containerDir.resolve("lower"))) {
            if (!line.isBlank()) dirs.add(0, layers.diffDir(Digest.parse(line.trim())));
        }
        return dirs;
    }
}
