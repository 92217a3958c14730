package jocker.storage;

import jocker.image.ImageHooks;
import jocker.image.Layers;
import jocker.runtime.Container;

/**
 * Docker's {@code vfs} driver, and step 06's way: every container gets a full copy of its image,
 * every layer applied in order onto {@code containers/ID/rootfs} (whiteouts by step 06's
 * {@link ImageHooks#applyWhiteout}). Nothing is shared, so nothing can leak between containers and
 * it works on any filesystem; the price is the whole image unpacked, in time and in disk, per run.
 * The copy is inside the container's directory and goes with it.
 */
public final class Vfs implements StorageDriver {
    private final ImageHooks hooks;

    public Vfs(ImageHooks hooks) { this.hooks = hooks; }

    @Override
    public String name() { return "vfs"; }

    @Override
    public void create(Container container, ImageLayers image) throws Exception {
        Layers.applyAsRootfs(container, image.layers(), image.blobs(), hooks, image.name());
    }
}
