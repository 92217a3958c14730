package jocker.rootfs;

import jocker.oci.Config;
import jocker.runtime.Container;
import jocker.runtime.ContainerError;
import jocker.runtime.Feature;

/**
 * The container's root filesystem as a feature, in two parts that later steps change one at a
 * time: a {@link RootfsSource} (where the files come from: prepare and release) and a
 * {@link RootfsEntry} (how init enters them). A step names its two parts in the slots
 * {@code rootfsSource()} and {@code rootfsEntry()} of its runtime class, and overrides a slot to
 * change one part: step 03 swaps chroot for pivot_root, steps 06 and 07 swap where the files come from.
 */
public final class RootFs implements Feature {
    private final RootfsSource source;
    private final RootfsEntry entry;

    public RootFs(RootfsSource source, RootfsEntry entry) {
        this.source = source;
        this.entry = entry;
    }

    @Override
    public void prepare(Container container) throws Exception {
        if (container.config.root == null) container.config.root = new Config.Root();
        source.prepare(container);
        if (container.config.root.path == null) {
            throw new ContainerError("the rootfs source " + source.getClass().getSimpleName()
                    + " did not set config.root.path: where are the container's files?");
        }
        entry.prepare(container);
    }

    @Override
    public void enter(Config config) throws Exception {
        entry.enter(config);
    }

    @Override
    public void release(Container container) throws Exception {
        source.release(container);
    }
}
