package jocker.storage;

import jocker.oci.Config;
import jocker.runtime.ConfigOption;
import jocker.runtime.ContainerError;

import picocli.CommandLine.Option;

/** {@code run --storage-driver overlay|vfs}: which driver makes the container's root filesystem. */
public final class StorageOption implements ConfigOption {
    @Option(names = "--storage-driver", paramLabel = "DRIVER",
            description = "overlay (layers shared, copy-on-write; the default where the kernel can) or vfs (a full copy "
                    + "per container). Also JOCKER_STORAGE_DRIVER. --verbose says which one runs and why.")
    String driver = System.getenv("JOCKER_STORAGE_DRIVER");

    @Override
    public void configure(Config config) {
        if (driver == null || driver.isBlank()) return;
        if (!driver.equals(Drivers.OVERLAY) && !driver.equals(Drivers.VFS)) {
            throw new ContainerError("unknown storage driver \"" + driver + "\" (overlay or vfs)");
        }
        config.annotations.put(StorageSource.DRIVER, driver);
    }
}
