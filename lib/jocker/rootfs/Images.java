package jocker.rootfs;

import java.nio.file.Files;
import java.nio.file.Path;

import jocker.runtime.Container;
import jocker.runtime.ContainerError;

/**
 * Where a container's root filesystem comes from, until step 06 pulls real images: a rootfs
 * tarball, named either by a path or by a name in the image directory {@code STATE_ROOT/images},
 * where {@code ./build.sh setup} puts the embedded {@code busybox.tar}.
 */
public final class Images {
    private Images() {}

    public static Path dir() { return Container.stateRoot().resolve("images"); }

    /** Whether {@code image} ends as a tarball's file name does (.tar, .tar.gz, .tgz, .tar.zst). */
    public static boolean hasTarballSuffix(String image) {
        return image.matches(".*\\.(tar|tar\\.gz|tgz|tar\\.zst)$");
    }

    /** The tarball for {@code image}: a path (it has a slash, or ends in .tar) or a name. */
    public static Path resolve(String image) {
        boolean isPath = image.contains("/") || hasTarballSuffix(image);
        if (isPath) {
            Path p = Path.of(image).toAbsolutePath();
            if (!Files.isRegularFile(p)) {
                throw new ContainerError("failed to find image \"" + image + "\": no such file " + p);
            }
            return p;
        }
        if (!image.matches("[a-z0-9][a-z0-9._-]*")) {
            throw new ContainerError("invalid image name \"" + image + "\": use a name such as busybox, or a path to a tarball");
        }
        for (String ext : new String[] {".tar", ".tar.gz", ".tgz"}) {
            Path p = dir().resolve(image + ext);
            if (Files.isRegularFile(p)) return p;
        }
        throw new ContainerError("failed to find image \"" + image + "\": no " + image + ".tar in " + dir()
                + " (./build.sh setup builds busybox)");
    }
}
