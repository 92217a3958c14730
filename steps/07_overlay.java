///usr/bin/env jbang "$0" "$@" ; exit $?
// Step 07 overlay: unpack each layer once, and give every container a copy-on-write view of them.
//
// Goal:  run IMAGE mounts an overlay filesystem as the container's root: the image's layers,
//        each unpacked once into a directory of its own (named by its chain id, whiteouts in
//        overlay's format), read-only below, and a directory of the container's own on top where
//        every write lands. The second run of an image unpacks nothing. diff shows what a running
//        container changed; --storage-driver vfs still makes a full copy, as step 06 did.
// Usage: jbang steps/07_overlay.java run [--storage-driver overlay|vfs] IMAGE [COMMAND [ARG...]]
//        jbang steps/07_overlay.java diff CONTAINER | info
//        (and pull, images, rmi, login, logout as in step 06)
// See:   chapters/07-overlay.adoc
//
//   $ jbang steps/07_overlay.java run --verbose 127.0.0.1:5000/hello:v1 sh -c 'echo hi > /new'
//   jocker: storage driver: overlay (the default: the kernel mounts overlay over ext4 at ...)
//   jocker: overlay: 127.0.0.1:5000/hello:v1 has 2 layers: 0 unpacked now, 2 found in the layer store
//   ...
//   $ jbang steps/07_overlay.java diff 3f2a9c1b7d4e      (while it runs; its hostname is its id)
//   A /new
//
//CDS
//SOURCES 06_pull_image.java
//SOURCES ../lib/jocker/storage/*.java
//MAIN CopyOnWrite

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;

import jocker.cli.Cli;
import jocker.image.Digest;
import jocker.kernel.Linux;
import jocker.rootfs.RootfsSource;
import jocker.runtime.ConfigOption;
import jocker.runtime.Todo;
import jocker.storage.Change;
import jocker.storage.StorageCommands;
import jocker.storage.StorageHooks;
import jocker.storage.StorageOption;
import jocker.storage.StorageSource;

/** Step 07: a storage driver puts the image's layers under the container, copy-on-write. */
class CopyOnWrite extends PullImage implements StorageHooks {

    public static void main(String[] args) {
        System.exit(Cli.execute(new CopyOnWrite(), "07_overlay", args));
    }

    /** Step 06's commands (rmi now deletes unused layers too), diff and info. */
    @Override
    public List<Object> commands() { return StorageCommands.all(this, this); }

    /** --storage-driver overlay|vfs. */
    @Override
    public List<ConfigOption> options() { return plus(super.options(), new StorageOption()); }

    /** A pulled image goes to the storage driver; a rootfs tarball still unpacks as in step 02. */
    @Override
    protected RootfsSource rootfsSource() { return new StorageSource(this, this, new UnpackedImage()); }

    // tag::chain-id[]
    /** TODO 07.1: a layer's name in the layer store: its diff id on top of everything below it. */
    @Override
    public Digest chainId(Digest parent, Digest diffId) {
        // TODO(07.1): name a layer in the layer store by everything it stands on. The image config
        //   gives each layer's diff id: the digest of its uncompressed tar (rootfs.diff_ids). The
        //   chain id of the bottom layer is its diff id; the chain id of every other layer is the
        //   SHA-256 of its parent's chain id, one space, and its own diff id, both in their text
        //   form: Digest.sha256((parent + " " + diffId).getBytes(StandardCharsets.UTF_8)).
        //   `parent` is null for the bottom layer.
        //   HINT: OCI image spec, config.md, "Layer ChainID"
        //   QUESTION: two images both have a layer whose diff id is D, on different layers below.
        //   Why must the store keep two directories for them, and what would go wrong in the
        //   second image if it used the first one's?
        throw Todo.missing("07.1", "compute the layer's chain id", "07-overlay.adoc");
    }
    // end::chain-id[]

    // tag::overlay-whiteout[]
    /** TODO 07.2: write a whiteout the way overlayfs reads one. */
    @Override
    public boolean overlayWhiteout(Path dir, String name, Set<Path> thisLayer) throws IOException {
        // TODO(07.2): this layer is unpacked into a directory of its own, which overlay will stack
        //   on the layers below. A whiteout cannot delete anything here (the lower files are in
        //   other directories): it must be written down the way overlayfs reads one.
        //     not a whiteout (no ".wh." prefix): return false; the entry is unpacked as usual.
        //     ".wh..wh..opq": make `dir` opaque: makeOpaque(dir), below, sets its xattr
        //         trusted.overlay.opaque to "y". Overlay then shows none of the lower layers'
        //         entries in it.
        //     ".wh.NAME": NAME, in `dir`, is deleted. If this layer wrote that path itself
        //         (thisLayer.contains(path)), its own file already hides the lower one; its own
        //         directory must become opaque instead (the lower directory is gone, this layer's
        //         stays): makeOpaque(path). If something is already there, it is a whiteout already. Otherwise make
        //         overlay's whiteout: a character device with device number 0/0,
        //         Linux.mknod(path, Linux.S_IFCHR, Linux.makedev(0, 0)).
        //     return true for every whiteout: it is not unpacked as a file.
        //   HINT: the kernel's Documentation/filesystems/overlayfs.rst, "whiteouts and opaque
        //   directories"; man 2 mknod; man 7 xattr (the trusted namespace needs CAP_SYS_ADMIN)
        //   QUESTION: why a character device 0/0, of all things? What happens if a container
        //   tries to open one?
        throw Todo.missing("07.2", "write whiteouts in overlay's format", "07-overlay.adoc");
    }

    private static void makeOpaque(Path dir) {
        Linux.lsetxattr(dir.toString(), "trusted.overlay.opaque", "y".getBytes(StandardCharsets.UTF_8));
    }
    // end::overlay-whiteout[]

    // tag::mount-overlay[]
    /** TODO 07.3: mount the layers, read-only, under the container's own upper directory. */
    @Override
    public void mountOverlay(List<String> lowerdirs, Path upper, Path work, Path merged) {
        // TODO(07.3): mount the container's root filesystem: mount(2) with source "overlay",
        //   target `merged`, type "overlay", no flags, and the options
        //       lowerdir=TOP:...:BOTTOM,upperdir=UPPER,workdir=WORK
        //   `lowerdirs` come bottom layer first, as the image lists them; overlay wants the
        //   topmost lower layer first: reverse them, join them with ':'. They are short relative
        //   names (l/QX3V7KD2MA): the given code runs this method with the storage directory as
        //   the thread's working directory, so they resolve there.
        //   HINT: Documentation/filesystems/overlayfs.rst, "Multiple lower layers"; man 2 mount;
        //   try it by hand: chapter 07, "Exercises"
        //   QUESTION: the options of mount(2) must fit in one page (4096 bytes). How many layers
        //   would fit with absolute paths like /var/lib/jocker/storage/overlay/layers/<64 hex>/diff?
        throw Todo.missing("07.3", "mount the overlay", "07-overlay.adoc");
    }
    // end::mount-overlay[]

    // tag::change[]
    /** TODO 07.4: what the container did to one path of its upper directory. */
    @Override
    public Change.Kind change(Path entry, boolean inImage) throws IOException {
        // TODO(07.4): `entry` is in the container's upper directory: the container wrote it, or
        //   deleted it. Return what docker diff prints for it:
        //     Change.Kind.DELETED  overlay's whiteout: a character device whose device number is
        //                          0/0. Files.readAttributes(entry, "unix:mode,rdev",
        //                          LinkOption.NOFOLLOW_LINKS) gives the mode (an Integer: its
        //                          S_IFMT bits, mode & 0170000, are 0020000 for a character
        //                          device) and rdev (a Long).
        //     Change.Kind.CHANGED  the image has this path (`inImage`), so the container changed it
        //     Change.Kind.ADDED    otherwise
        //   HINT: man 7 inode ("The file type and mode"); docker diff's documentation
        //   QUESTION: a container appends one line to /etc/passwd. Why does diff also list /etc?
        throw Todo.missing("07.4", "tell added, changed and deleted apart", "07-overlay.adoc");
    }
    // end::change[]
}
