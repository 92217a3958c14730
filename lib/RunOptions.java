import java.util.ArrayList;
import java.util.List;

import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The options and arguments of {@code run} that every step has. */
final class RunOptions {
    private RunOptions() {}

    /** {@code COMMAND [ARG...]}: what to run (step 01, on the host's filesystem). */
    static final class CommandArgs implements ConfigOption {
        @Parameters(index = "0..*", arity = "1..*", paramLabel = "COMMAND",
                description = "The command to run and its arguments, looked up in the container's PATH.")
        List<String> command = new ArrayList<>();

        @Override public void configure(Config config) {
            config.process.args = new ArrayList<>(command);
        }
    }

    /** {@code IMAGE COMMAND [ARG...]}: from step 02 on, the command runs in an image's filesystem. */
    static final class ImageArgs implements ConfigOption {
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

    /** {@code -e KEY=VALUE}: the container's environment, as {@code docker run -e}. */
    static final class Env implements ConfigOption {
        @Option(names = {"-e", "--env"}, paramLabel = "KEY=VALUE",
                description = "Set an environment variable in the container (repeatable). "
                        + "-e KEY alone passes the runtime's own value of KEY.")
        List<String> env = new ArrayList<>();

        @Override public void configure(Config config) {
            config.setEnv(Config.DEFAULT_PATH);
            config.setEnv("HOME=/root");
            for (String e : env) {
                if (e.isEmpty() || e.startsWith("=")) {
                    throw new ContainerError("invalid environment variable \"" + e + "\": use KEY=VALUE");
                }
                if (e.contains("=")) {
                    config.setEnv(e);
                } else if (System.getenv(e) != null) {
                    config.setEnv(e + "=" + System.getenv(e));
                }
            }
        }
    }
}
