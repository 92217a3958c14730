package jocker.storage;

import jocker.image.Digest;
import jocker.image.ImageConfig;
import jocker.image.ImageHooks;
import jocker.image.ImageRun;
import jocker.image.ImageStore;
import jocker.image.Manifest;
import jocker.image.StoreLock;
import jocker.rootfs.RootfsSource;
import jocker.runtime.Container;
import jocker.runtime.Log;

/**
 * Step 07's root filesystem: a pulled image goes to the storage driver that {@link Drivers} picks
 * (overlay by default, vfs on request or where overlay cannot work); a rootfs tarball, which
 * {@link ImageRun} names instead, still goes to {@code tarballs} (step 02's unpacking).
 */
public final class StorageSource implements RootfsSource {
    /** The annotation {@link StorageOption} sets: the driver asked for, if any. */
    public static final String DRIVER = "jocker.storage.driver";

    private final ImageHooks images;
    private final StorageHooks storage;
    private final RootfsSource tarballs;
    private StorageDriver driver;

    public StorageSource(ImageHooks images, StorageHooks storage, RootfsSource tarballs) {
        this.images = images;
        this.storage = storage;
        this.tarballs = tarballs;
    }

    @Override
    public void prepare(Container container) throws Exception {
        String manifest = container.config.annotations.get(ImageRun.MANIFEST);
        if (manifest == null) {
            tarballs.prepare(container);
            return;
        }
        Drivers.Choice choice = Drivers.choose(container.config.annotations.get(DRIVER), images, storage);
        Log.verbose("storage driver: %s (%s)", choice.driver().name(), choice.why());
        container.config.annotations.put(DRIVER, choice.driver().name());
        ImageStore store = ImageStore.open();
        // Shared: an rmi meanwhile waits instead of deleting a blob we are reading.
        try (StoreLock.Held held = store.lockShared()) {
            Digest digest = Digest.parse(manifest);
            Manifest m = Manifest.parse(store.read(digest), "manifest " + digest);
            ImageConfig config = ImageConfig.parse(store.read(m.config.digest), "config " + m.config.digest);
            String name = container.config.annotations.getOrDefault(ImageRun.REF, manifest);
            ImageLayers image = new ImageLayers(name, m.layers, config.rootfs == null ? java.util.List.of()
                    : config.rootfs.diffIds, store::blobPath);
            driver = choice.driver();
            driver.create(container, image);
        }
    }

    @Override
    public void release(Container container) throws Exception {
        if (driver != null) {
            driver.remove(container);
        } else {
            tarballs.release(container);
        }
    }
}
