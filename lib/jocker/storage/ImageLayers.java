package jocker.storage;

import java.nio.file.Path;
import java.util.List;
import java.util.function.Function;

import jocker.image.Descriptor;
import jocker.image.Digest;
import jocker.runtime.ContainerError;

/**
 * What a storage driver needs of a pulled image: its layers as the manifest lists them (bottom
 * first), the digest of each one's uncompressed tar as the image config lists them
 * ({@code rootfs.diff_ids}), where each blob is, and a name for messages.
 */
public record ImageLayers(String name, List<Descriptor> layers, List<Digest> diffIds, Function<Digest, Path> blobs) {
    public ImageLayers {
        if (diffIds.size() != layers.size()) {
            throw new ContainerError("image " + name + " is inconsistent: its manifest has " + layers.size()
                    + " layers, its config lists " + diffIds.size() + " diff_ids");
        }
    }

    /** "layer 3f2a9c1b7d4e of busybox:latest" */
    public String what(int i) { return "layer " + layers.get(i).digest.shortId() + " of " + name; }
}
