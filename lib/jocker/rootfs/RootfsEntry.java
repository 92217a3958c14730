package jocker.rootfs;

import jocker.oci.Config;
import jocker.runtime.Container;

/**
 * How the init process enters the container's files: the second half of its root filesystem.
 * Step 02 does it with chroot(2); step 03 with pivot_root(2) in a mount namespace of its own.
 */
public interface RootfsEntry {
    /** In the runtime, before spawn: what entering needs, in the config (a namespace, mounts). */
    default void prepare(Container container) throws Exception {}

    /** In the init process, just before exec: make {@code config.root.path} the root directory. */
    void enter(Config config) throws Exception;
}
