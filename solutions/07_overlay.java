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
        if (parent == null) return diffId;                                                      // <.>
        return Digest.sha256((parent + " " + diffId).getBytes(StandardCharsets.UTF_8));          // <.>
    }
    // end::chain-id[]

    // tag::overlay-whiteout[]
    /** TODO 07.2: write a whiteout the way overlayfs reads one. */
    @Override
    public boolean overlayWhiteout(Path dir, String name, Set<Path> thisLayer) throws IOException {
        if (!name.startsWith(".wh.")) return false;
        if (name.equals(".wh..wh..opq")) {
            makeOpaque(dir);                                                                     // <.>
            return true;
        }
        Path path = dir.resolve(name.substring(".wh.".length()));
        if (thisLayer.contains(path)) {
            // This layer wrote it: its file hides the lower one anyway; its directory must not
            // let the lower directory's content show through.
            if (Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) makeOpaque(path);               // <.>
            return true;
        }
        if (Files.exists(path, LinkOption.NOFOLLOW_LINKS)) return true;   // whited out already
        Linux.mknod(path.toString(), Linux.S_IFCHR, Linux.makedev(0, 0));                         // <.>
        return true;
    }

    private static void makeOpaque(Path dir) {
        Linux.lsetxattr(dir.toString(), "trusted.overlay.opaque", "y".getBytes(StandardCharsets.UTF_8));
    }
    // end::overlay-whiteout[]

    // tag::mount-overlay[]
    /** TODO 07.3: mount the layers, read-only, under the container's own upper directory. */
    @Override
    public void mountOverlay(List<String> lowerdirs, Path upper, Path work, Path merged) {
        List<String> topFirst = new ArrayList<>(lowerdirs);
        Collections.reverse(topFirst);                                                           // <.>
        String options = "lowerdir=" + String.join(":", topFirst)                                // <.>
                + ",upperdir=" + upper + ",workdir=" + work;
        Linux.mount("overlay", merged.toString(), "overlay", 0, options);                        // <.>
    }
    // end::mount-overlay[]

    // tag::change[]
    /** TODO 07.4: what the container did to one path of its upper directory. */
    @Override
    public Change.Kind change(Path entry, boolean inImage) throws IOException {
        Map<String, Object> a = Files.readAttributes(entry, "unix:mode,rdev", LinkOption.NOFOLLOW_LINKS);
        boolean characterDevice = ((Integer) a.get("mode") & 0170000) == 0020000;
        if (characterDevice && (Long) a.get("rdev") == 0L) return Change.Kind.DELETED;           // <.>
        return inImage ? Change.Kind.CHANGED : Change.Kind.ADDED;                                // <.>
    }
    // end::change[]
}
