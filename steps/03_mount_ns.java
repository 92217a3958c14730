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
            // TODO(03.1): before mounting anything, make every mount of our new mount namespace
            //   private, recursively, starting at "/", so that nothing we mount propagates to the
            //   host's mount table (and nothing the host mounts later reaches us).
            //   Linux.mount(source, target, fstype, flags, data): a propagation change passes
            //   null for source, fstype and data, and the MS_* flags of the new propagation.
            //   HINT: man 7 mount_namespaces ("Shared subtrees"), man 2 mount (MS_PRIVATE, MS_REC)
            //   QUESTION: `findmnt -o TARGET,PROPAGATION /` on an Ubuntu host says "shared": what
            //   would the host see of our /proc mount if you left this out?
            throw Todo.missing("03.1", "make every mount private before mounting anything", "03-mount-namespace.adoc");
        }
        // end::private[]

        // tag::bind[]
        static void bindMountOntoItself(String rootfs) {
            // TODO(03.2): make the rootfs directory a mount point by bind-mounting it onto itself,
            //   recursively, so that whatever is mounted below it comes along:
            //   Linux.mount(source, target, null, flags, null), rootfs as both source and target.
            //   HINT: man 2 mount (MS_BIND, MS_REC); `mount --rbind DIR DIR` does it in a shell
            //   QUESTION: man 2 pivot_root lists the conditions new_root must meet; which one
            //   does this satisfy?
            throw Todo.missing("03.2", "bind-mount the rootfs onto itself", "03-mount-namespace.adoc");
        }
        // end::bind[]

        // tag::pivot-root[]
        static void pivotRoot(String rootfs) {
            // TODO(03.3): swap roots. Make the directory rootfs + "/" + OLD_ROOT, pivot_root into
            //   the rootfs with the old root put there, chdir to the new "/", then detach the old
            //   root (it is at "/" + OLD_ROOT now) and remove its empty directory, so that no path
            //   leads back to the host's files.
            //   Linux.mkdir(path, mode), Linux.pivotRoot(newRoot, putOld), Linux.chdir(path),
            //   Linux.umount2(target, flags), Linux.rmdir(path)
            //   HINT: man 2 pivot_root, man 2 umount2 (MNT_DETACH)
            //   QUESTION: why MNT_DETACH, and not a plain umount, for the old root?
            throw Todo.missing("03.3", "pivot_root into the rootfs and detach the old root", "03-mount-namespace.adoc");
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
            // TODO(03.4): give the container its hostname, config.hostname (from --hostname, or
            //   the short id the runtime chose).
            //   HINT: man 2 sethostname, man 7 uts_namespaces; Linux.sethostname(name)
            //   QUESTION: this process is root; why does the host keep its own hostname?
            throw Todo.missing("03.4", "set the container's hostname", "03-mount-namespace.adoc");
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
