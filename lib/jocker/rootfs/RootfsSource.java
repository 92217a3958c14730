package jocker.rootfs;

import jocker.runtime.Container;

/**
 * Where a container's files come from: the first half of its root filesystem. Step 02 unpacks an
 * image tarball into the container's directory; step 06 will unpack a pulled image, and step 07
 * hands the job to a storage driver (vfs, overlay), as Docker's graph drivers do.
 */
public interface RootfsSource {
    /**
     * In the runtime, before the init process exists: put the container's files in place and set
     * {@code container.config.root.path} to the directory that holds them.
     */
    void prepare(Container container) throws Exception;

    /**
     * In the runtime, after the container has exited (or failed to start): undo prepare. The
     * container's directory, with everything below it, is deleted after this anyway; a source
     * that made something elsewhere (a mount) undoes it here.
     */
    default void release(Container container) throws Exception {}
}
