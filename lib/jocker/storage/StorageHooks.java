package jocker.storage;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import jocker.image.Digest;

/**
 * The four places where the overlay storage driver needs a concept rather than plumbing, and which
 * step 07 writes (its runtime class implements this interface). The given code calls them: the
 * layer store to name a layer and to unpack it into a directory of its own, the overlay driver to
 * mount a container's root filesystem, and {@code diff} to read what a container changed.
 */
public interface StorageHooks {

    /**
     * TODO 07.1: the chain id of a layer whose diff id is {@code diffId}, on top of the layers whose
     * chain id is {@code parent} (null for the bottom layer). OCI image spec, config.md, "Layer
     * ChainID": {@code ChainID(L0) = DiffID(L0)}, {@code ChainID(L0|...|Ln) = SHA256(ChainID(L0|...|Ln-1)
     * + " " + DiffID(Ln))}, the digests in their text form ({@code sha256:...}).
     */
    Digest chainId(Digest parent, Digest diffId);

    /**
     * TODO 07.2: a layer's entry {@code name} in {@code dir} is being unpacked into the layer's own
     * directory. If it is a whiteout, write it the way overlayfs spells it and return true:
     * {@code .wh.NAME} becomes a character device NAME with device number 0/0, and
     * {@code .wh..wh..opq} becomes the xattr {@code trusted.overlay.opaque=y} on {@code dir}.
     * A whiteout of a path this layer wrote itself ({@code thisLayer}) deletes only what is below:
     * this layer's file already hides it; this layer's directory must become opaque. Return false
     * for any other entry: it is unpacked as usual.
     */
    boolean overlayWhiteout(Path dir, String name, Set<Path> thisLayer) throws IOException;

    /**
     * TODO 07.3: mount an overlay filesystem at {@code merged}: the layer directories
     * {@code lowerdirs} (bottom layer first, as the image lists them) read-only below, and
     * {@code upper} (with its scratch directory {@code work}, on the same filesystem) on top,
     * where every write lands. man 2 mount; filesystems/overlayfs.rst in the kernel's documentation.
     * The {@code lowerdirs} are short relative paths ({@code l/QX3V...}): the caller has made the
     * storage directory this thread's working directory, so that many layers fit in one page.
     */
    void mountOverlay(List<String> lowerdirs, Path upper, Path work, Path merged);

    /**
     * TODO 07.4: what a container did to one path, read from its upper directory: {@code entry} is
     * the path in the upper directory, {@code inImage} whether the image (the lower layers) has that
     * path. Return {@link Change.Kind#DELETED} for overlay's whiteout (a character device 0/0),
     * {@link Change.Kind#CHANGED} for a path the image has, {@link Change.Kind#ADDED} otherwise.
     */
    Change.Kind change(Path entry, boolean inImage) throws IOException;
}
