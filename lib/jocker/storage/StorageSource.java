package jocker.storage;

import java.util.List;

import jocker.image.ImageConfig;
import jocker.image.ImageHooks;
import jocker.image.ImageRun;
import jocker.image.ImageStore;
import jocker.image.Layers;
import jocker.image.Manifest;
import jocker.rootfs.RootfsSource;
import jocker.runtime.Container;
import jocker.runtime.Log;

/**
 * Step 07's root filesystem: a pulled image goes to the storage driver that {@link Drivers} picks
 * (overlay by default, vfs on request or where overlay cannot work); a rootfs tarball, which
 * {@link ImageRun} names instead, still goes to {@code tarballs} (step 02's unpacking).
 */
public final class StorageSource extends Layers.Source {
    /** The annotation {@link StorageOption} sets: the driver asked for, if any. */
    public static final String DRIVER = "jocker.storage.driver";

    private final ImageHooks images;
    private final StorageHooks storage;
    private StorageDriver driver;

    public StorageSource(ImageHooks images, StorageHooks storage, RootfsSource tarballs) {
        super(images, tarballs);
        this.images = images;
        this.storage = storage;
    }

    @Override
    protected void prepareImage(Container container, ImageStore store, Manifest m, String name) throws Exception {
        Drivers.Choice choice = Drivers.choose(container.config.annotations.get(DRIVER), images, storage);
        Log.verbose("storage driver: %s (%s)", choice.driver().name(), choice.why());
        container.config.annotations.put(DRIVER, choice.driver().name());
        ImageConfig config = ImageConfig.parse(store.read(m.config.digest), "config " + m.config.digest);
        ImageLayers image = new ImageLayers(name, m.layers, config.rootfs == null ? List.of() : config.rootfs.diffIds,
                store::blobPath);
        driver = choice.driver();
        driver.create(container, image);
    }

    @Override
    public void release(Container container) throws Exception {
        if (driver != null) {
            driver.remove(container);
        } else {
            super.release(container);
        }
    }
}
