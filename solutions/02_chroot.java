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
//SOURCES 01_fork_exec.java
//MAIN Chroot

import java.nio.file.Path;

/** Step 02: the container sees an image's files as its whole filesystem. */
class Chroot extends ForkExec {

    public static void main(String[] args) {
        System.exit(Cli.execute(new Chroot(), "02_chroot", args));
    }

    /** From now on run takes IMAGE COMMAND [ARG...]. */
    @Override
    ConfigOption arguments() { return new RunOptions.ImageArgs(); }

    // tag::features[]
    @Override
    java.util.List<Feature> features() { return plus(super.features(), new RootFs()); }
    // end::features[]

    /** The container's root filesystem: a directory unpacked from the image. */
    static class RootFs implements Feature {

        // tag::prepare[]
        /** In the runtime: unpack the image into CONTAINER_DIR/rootfs. */
        @Override
        public void prepare(Container container) throws Exception {
            Path image = Path.of(container.config.annotations.get("jocker.image"));
            Path rootfs = container.rootfs();
            RootfsTar.extract(image, rootfs);                  // <.>
            container.config.root = new Config.Root();
            container.config.root.path = rootfs.toString();    // <.>
        }
        // end::prepare[]

        // tag::enter[]
        /** In the init process: make the rootfs our root directory. */
        @Override
        public void enter(Config config) {
            Linux.chroot(config.root.path);    // <.>
            Linux.chdir("/");                  // <.>
        }
        // end::enter[]
    }
}
