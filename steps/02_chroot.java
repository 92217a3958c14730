///usr/bin/env jbang "$0" "$@" ; exit $?
// Step 02 chroot: give the container a filesystem of its own.
//
// Goal:  unpack an image (a rootfs tarball) into a fresh container directory, and make it the
//        root directory of the init process before it execs the command.
// Usage: jbang steps/02_chroot.java run [-e KEY=VALUE]... IMAGE COMMAND [ARG...]
// See:   chapters/02-chroot.adoc
//
//   $ jbang steps/02_chroot.java run busybox ls /
//   bin      dev      etc      home     linuxrc  mnt      proc
//   root     run      sbin     sys      tmp      usr      var
//
//CDS
//SOURCES 01_fork_exec.java
//SOURCES ../lib/jocker/rootfs/*.java
//MAIN Chroot

import java.nio.file.Path;
import java.util.List;

import jocker.cli.Cli;
import jocker.kernel.Linux;
import jocker.oci.Config;
import jocker.rootfs.ImageArgs;
import jocker.rootfs.RootFs;
import jocker.rootfs.RootfsEntry;
import jocker.rootfs.RootfsSource;
import jocker.rootfs.RootfsTar;
import jocker.runtime.ConfigOption;
import jocker.runtime.Container;
import jocker.runtime.Feature;
import jocker.runtime.Todo;

/** Step 02: the container sees an image's files as its whole filesystem. */
class Chroot extends ForkExec {

    public static void main(String[] args) {
        System.exit(Cli.execute(new Chroot(), "02_chroot", args));
    }

    /** From now on run takes IMAGE COMMAND [ARG...]. */
    @Override
    public ConfigOption arguments() { return new ImageArgs(); }

    // tag::features[]
    @Override
    public List<Feature> features() { return plus(super.features(), new RootFs(rootfsSource(), rootfsEntry())); }

    /** Where the container's files come from: unpacked from an image (steps 06 and 07 change this). */
    protected RootfsSource rootfsSource() { return new UnpackedImage(); }

    /** How the init process enters them: chroot (step 03 changes this). */
    protected RootfsEntry rootfsEntry() { return new ChrootEntry(); }
    // end::features[]

    /** The container's files: a directory unpacked from the image tarball. */
    static class UnpackedImage implements RootfsSource {

        // tag::prepare[]
        /** In the runtime: unpack the image into CONTAINER_DIR/rootfs. */
        @Override
        public void prepare(Container container) throws Exception {
            Path image = Path.of(container.config.annotations.get("jocker.image"));
            Path rootfs = container.rootfs();
            // TODO(02.1): unpack the image into `rootfs`, then record it in the config as the
            //   container's root: set container.config.root.path (a String; the given code has
            //   made container.config.root) to it, the same field as in an OCI config.json.
            //   RootfsTar.extract(tarball, directory) unpacks a tarball (here `image`) safely
            //   (it refuses entries that would land outside the directory).
            //   HINT: tar tvf /var/lib/jocker/images/busybox.tar | head
            throw Todo.missing("02.1", "unpack the image into the container's rootfs", "02-chroot.adoc");
        }
        // end::prepare[]
    }

    /** Entering the rootfs with chroot(2). */
    static class ChrootEntry implements RootfsEntry {

        // tag::enter[]
        /** In the init process: make the rootfs our root directory. */
        @Override
        public void enter(Config config) {
            // TODO(02.2): make config.root.path the root directory of this process, then move
            //   into it, so that "/" and "." both point inside the rootfs.
            //   HINT: man 2 chroot, man 2 chdir; Linux.chroot(path), Linux.chdir(path) (after the
            //   chroot, the rootfs is "/")
            //   QUESTION: what would ".." lead to if you chrooted but did not chdir?
            throw Todo.missing("02.2", "chroot into the container's rootfs", "02-chroot.adoc");
        }
        // end::enter[]
    }
}
