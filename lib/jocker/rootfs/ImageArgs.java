//DEPS info.picocli:picocli:4.7.6
package jocker.rootfs;

import java.util.ArrayList;
import java.util.List;

import jocker.oci.Config;
import jocker.runtime.ConfigOption;

import picocli.CommandLine.Parameters;

/** {@code IMAGE COMMAND [ARG...]}: from step 02 on, the command runs in an image's filesystem. */
public final class ImageArgs implements ConfigOption {
    @Parameters(index = "0", paramLabel = "IMAGE",
            description = "A rootfs tarball: a name in the image directory (busybox) or a path.")
    String image;

    @Parameters(index = "1..*", arity = "1..*", paramLabel = "COMMAND",
            description = "The command to run inside the image, and its arguments.")
    List<String> command = new ArrayList<>();

    @Override public void configure(Config config) {
        config.annotations.put("jocker.image", Images.resolve(image).toString());
        config.process.args = new ArrayList<>(command);
        config.process.cwd = "/";
    }
}
