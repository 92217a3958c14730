//DEPS info.picocli:picocli:4.7.6
package jocker.cli;

import java.util.ArrayList;
import java.util.List;

import jocker.oci.Config;
import jocker.runtime.ConfigOption;
import jocker.runtime.ContainerError;

import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The options and arguments of {@code run} that every step has. */
public final class RunOptions {
    private RunOptions() {}

    /** {@code COMMAND [ARG...]}: what to run (step 01, on the host's filesystem). */
    public static final class CommandArgs implements ConfigOption {
        @Parameters(index = "0..*", arity = "1..*", paramLabel = "COMMAND",
                description = "The command to run and its arguments, looked up in the container's PATH.")
        List<String> command = new ArrayList<>();

        @Override public void configure(Config config) {
            config.process.args = new ArrayList<>(command);
        }
    }

    /** {@code -e KEY=VALUE}: the container's environment, as {@code docker run -e}. */
    public static final class Env implements ConfigOption {
        @Option(names = {"-e", "--env"}, paramLabel = "KEY=VALUE",
                description = "Set an environment variable in the container (repeatable). "
                        + "-e KEY alone passes the runtime's own value of KEY.")
        List<String> env = new ArrayList<>();

        @Override public void configure(Config config) {
            // An image's own Env (step 06) is already in the config: the defaults only fill gaps,
            // and -e goes on top, as with docker run.
            if (config.env("PATH") == null) config.setEnv(Config.DEFAULT_PATH);
            if (config.env("HOME") == null) config.setEnv("HOME=/root");
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
