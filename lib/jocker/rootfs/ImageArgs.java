//DEPS info.picocli:picocli:4.7.6
package jocker.rootfs;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import jocker.oci.Config;
import jocker.runtime.ConfigOption;

import picocli.CommandLine.Parameters;

/** {@code IMAGE COMMAND [ARG...]}: from step 02 on, the command runs in an image's filesystem. */
public final class ImageArgs implements ConfigOption {
    /** The annotation that names the tarball; the rootfs source of step 02 unpacks it. */
    public static final String TARBALL = "jocker.image";

    @Parameters(index = "0", paramLabel = "IMAGE",
            description = "A rootfs tarball: a name in the image directory (busybox) or a path.")
    String image;

    @Parameters(index = "1..*", arity = "1..*", paramLabel = "COMMAND",
            description = "The command to run inside the image, and its arguments.")
    List<String> command = new ArrayList<>();

    @Override public void configure(Config config) { configure(config, Images.resolve(image), command); }

    /** A container of the rootfs tarball {@code tarball} that runs {@code command} in "/". */
    public static void configure(Config config, Path tarball, List<String> command) {
        config.annotations.put(TARBALL, tarball.toString());
        config.process.args = new ArrayList<>(command);
        config.process.cwd = "/";
    }
}
