package jocker.storage;

import jocker.runtime.Container;

/**
 * Where a container's files come from, once an image is pulled: Docker's graph driver, the
 * "Storage Driver" box of the Docker-host diagram. Two here, as in Docker:
 * <ul>
 * <li>{@link Vfs}: a full copy of the image per container, the layers applied one over the other
 *     (step 06's way). Works on any filesystem; costs a copy of the image in time and disk per run.
 * <li>{@link Overlay}: each layer unpacked once, and a container's root an overlay mount of them
 *     with a directory of its own on top for its writes (copy-on-write). The default where the
 *     kernel has overlayfs.
 * </ul>
 */
public interface StorageDriver {
    /** {@code overlay} or {@code vfs}, as {@code --storage-driver} and {@code info} say it. */
    String name();

    /**
     * In the runtime, before the init process exists: make the container's root filesystem from
     * {@code image} and set {@code container.config.root.path} to it. Whatever it makes outside the
     * container's directory (a mount) it records in the container's undo log before making it.
     */
    void create(Container container, ImageLayers image) throws Exception;

    /** After the container has exited, or failed to start: undo create (it may be half done). */
    default void remove(Container container) throws Exception {}
}
