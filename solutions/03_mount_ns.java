///usr/bin/env jbang "$0" "$@" ; exit $?
// Step 03 mount namespace: a mount table and a hostname of the container's own.
//
// Goal:  the init process is born into new mount and UTS namespaces. It makes every mount
//        private, mounts /proc, /sys and a fresh /dev inside the rootfs, then pivot_roots into
//        it and detaches the host's root, so that nothing of the host is left to climb back to.
//        --hostname NAME names the container (default: its short id).
// Usage: jbang steps/03_mount_ns.java run [-e KEY=VALUE]... [--hostname NAME] IMAGE COMMAND [ARG...]
// See:   chapters/03-mount-namespace.adoc
//
//   $ jbang steps/03_mount_ns.java run --hostname box busybox sh -c 'hostname; cut -d" " -f5 /proc/self/mountinfo'
//   box
//   /
//   /proc
//   /dev
//   /dev/pts
//   /dev/shm
//   /sys
//
//CDS
//SOURCES 02_chroot.java
//MAIN MountNs

import java.nio.file.Path;
import java.util.List;

import jocker.cli.Cli;
import jocker.kernel.Linux;
import jocker.oci.Config;
import jocker.rootfs.Devices;
import jocker.rootfs.Mounts;
import jocker.rootfs.RootfsEntry;
import jocker.runtime.ConfigOption;
import jocker.runtime.Container;
import jocker.runtime.ContainerError;
import jocker.runtime.Feature;
import jocker.runtime.Todo;

import picocli.CommandLine.Option;

/** Step 03: the container gets its own mount table and its own hostname. */
class MountNs extends Chroot {

    public static void main(String[] args) {
        System.exit(Cli.execute(new MountNs(), "03_mount_ns", args));
    }

    /** Step 02's rootfs, now entered with pivot_root in a mount namespace; plus a UTS namespace. */
    @Override
    protected RootfsEntry rootfsEntry() { return new PivotRootEntry(); }

    @Override
    public List<Feature> features() { return plus(super.features(), new UtsNamespace()); }

    @Override
    public List<ConfigOption> options() { return plus(super.options(), new Hostname()); }

    /**
     * Entering the rootfs in a mount table of the container's own (man 7 mount_namespaces): the
     * files come from step 02's source as before; entering them is now pivot_root(2), not chroot(2).
     */
    static class PivotRootEntry implements RootfsEntry {
        /** The old root's mount point, inside the new root, until it is detached. */
        static final String OLD_ROOT = ".old-root";

        /** In the runtime: ask for a mount namespace and list the mounts the container gets. */
        @Override
        public void prepare(Container container) {
            container.config.withNamespace("mount");
            if (container.config.mounts.isEmpty()) container.config.mounts.addAll(Mounts.defaults());
        }

        // tag::enter[]
        /** In the init process, inside the new mount namespace: build the container's tree and move in. */
        @Override
        public void enter(Config config) {
            String rootfs = config.root.path;
            Mounts.requireOwnMountNamespace(config);    // never pivot the host's root by mistake
            makeMountsPrivate();                                       // <.>
            bindMountOntoItself(rootfs);                               // <.>
            // Given code (lib/jocker/rootfs/Mounts.java, Devices.java): /proc, /dev, /dev/pts, /dev/shm,
            // /sys and the nodes of /dev, made under the rootfs while we still see both trees.
            for (Config.Mount m : config.mounts) Mounts.mount(rootfs, m);   // <.>
            Devices.create(Path.of(rootfs, "dev"));
            pivotRoot(rootfs);                                         // <.>
        }
        // end::enter[]

        // tag::private[]
        static void makeMountsPrivate() {
            // Our mount table is a copy of the host's, and a copy of a shared mount stays in the
            // host's peer group: what we mount below it would appear on the host too. So first
            // make every mount of the copy private, recursively (man 7 mount_namespaces,
            // "Shared subtrees"). runc uses MS_SLAVE|MS_REC, so that host mounts still reach it.
            Linux.mount(null, "/", null, Linux.MS_REC | Linux.MS_PRIVATE, null);    // <.>
        }
        // end::private[]

        // tag::bind[]
        static void bindMountOntoItself(String rootfs) {
            // pivot_root needs the new root to be a mount point; a directory is not one until
            // something is mounted on it, so mount the rootfs on itself. MS_REC brings along what
            // is mounted below it (nothing yet; a volume, later).
            Linux.mount(rootfs, rootfs, null, Linux.MS_BIND | Linux.MS_REC, null);    // <.>
        }
        // end::bind[]

        // tag::pivot-root[]
        static void pivotRoot(String rootfs) {
            // pivot_root makes the rootfs the root of our mount namespace and hangs the old root
            // below it, at put_old.
            String putOld = rootfs + "/" + OLD_ROOT;
            Linux.mkdir(putOld, 0700);
            Linux.pivotRoot(rootfs, putOld);                   // <.>
            Linux.chdir("/");                                  // <.>
            // The host's whole tree is now under /.old-root: detach it (MNT_DETACH, because this
            // JVM still has files open there) and remove the empty directory.
            Linux.umount2("/" + OLD_ROOT, Linux.MNT_DETACH);   // <.>
            Linux.rmdir("/" + OLD_ROOT);
        }
        // end::pivot-root[]
    }

    /** The container's own hostname (man 7 uts_namespaces). */
    static class UtsNamespace implements Feature {
        /** In the runtime: ask for a UTS namespace; without --hostname, the container is named by its short id, as in Docker. */
        @Override
        public void prepare(Container container) {
            container.config.withNamespace("uts");
            if (container.config.hostname == null) container.config.hostname = container.shortId();
        }

        // tag::hostname[]
        /** In the init process, inside the new UTS namespace. */
        @Override
        public void enter(Config config) {
            Linux.sethostname(config.hostname);    // <.>
        }
        // end::hostname[]
    }

    /** {@code --hostname NAME}, as {@code docker run --hostname}. */
    static class Hostname implements ConfigOption {
        @Option(names = "--hostname", paramLabel = "NAME",
                description = "The container's hostname (default: its short id).")
        String hostname;

        @Override
        public void configure(Config config) {
            if (hostname == null) return;
            // What sethostname(2) accepts (at most 64 bytes) and what a resolver would: RFC 1123.
            if (hostname.length() > 64 || !hostname.matches("[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?")) {
                throw new ContainerError("invalid hostname \"" + hostname
                        + "\": use up to 64 letters, digits, dots and hyphens");
            }
            config.hostname = hostname;
        }
    }
}
