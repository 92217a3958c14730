package jocker.runtime;

import jocker.oci.Config;

/**
 * One thing that confines a container, and the points of its lifecycle where it acts.
 *
 * <p>A container is a process born into new namespaces and confined by a list of features, one per
 * step of the book: the root filesystem, the mount namespace, the PID namespace, cgroups, and later
 * storage and network. The runtime makes the list once per container and calls every feature at
 * each point, in list order (release in reverse), on the side of the two-stage process model where
 * that point lives:
 *
 * <pre>
 *  point        side                     examples
 *  prepare      parent, before spawn     unpack the rootfs, create the cgroup, ask for namespaces
 *  attach(pid)  parent, init waiting     put the pid into the cgroup
 *  enter        init, before exec        mount /proc, pivot_root, sethostname
 *  exited       parent, after exit       read the cgroup's OOM counter
 *  release      parent, after exit       remove the cgroup, delete the rootfs
 * </pre>
 *
 * <p>The namespaces a container is born into are not a point of their own: a feature asks for one
 * in {@code prepare} by adding it to the config's {@code linux.namespaces}
 * ({@code config.withNamespace("pid")}), and {@link Namespaces} turns that list into clone flags.
 *
 * <p>Every method has a default that does nothing, so a feature implements only its points. One
 * instance serves one container from prepare to release, so a feature may keep what prepare made
 * in a field for release. {@code release} is called for every feature whose {@code prepare} was
 * called, also when a later step failed, so it must cope with a half-done prepare. What a feature
 * makes outside the container's directory (a cgroup, a mount) it records in the container's
 * {@link UndoLog} before it makes it: if the runtime is killed, the next run undoes it from there.
 */
public interface Feature {
    /** In the runtime, before the init process exists: make what the container will need. */
    default void prepare(Container container) throws Exception {}

    /** In the runtime, while the init process {@code pid} waits for the all-clear. */
    default void attach(Container container, int pid) throws Exception {}

    /** In the init process, inside the new namespaces, just before it execs the user's command. */
    default void enter(Config config) throws Exception {}

    /**
     * In the runtime, after the container's init has exited with {@code exitCode} and before
     * release: look at what happened (step 05 reads the cgroup's OOM counter here).
     */
    default void exited(Container container, int exitCode) throws Exception {}

    /** In the runtime, after the container has exited (or failed to start): undo prepare. */
    default void release(Container container) throws Exception {}
}
