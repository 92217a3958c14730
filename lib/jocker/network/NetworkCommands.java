package jocker.network;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import jocker.runtime.Container;
import jocker.runtime.ContainerError;
import jocker.runtime.Log;

import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code network ls} and {@code network rm NAME}: a network stays while no container uses it, as
 * Docker keeps docker0 (its bridge, its subnet's rules, our chains); this is what removes it, with
 * ip_forward set back to 0 if the network turned it on and no network of ours is left.
 */
@Command(name = "network", mixinStandardHelpOptions = true,
        description = "List or remove networks: the bridge jocker0 and its rules stay after the last container, as docker0 does.",
        subcommands = {NetworkCommands.Ls.class, NetworkCommands.Rm.class})
public final class NetworkCommands implements Callable<Integer> {

    @Override
    public Integer call() {
        throw new ContainerError("network needs a command: ls or rm (see network --help)");
    }

    @Command(name = "ls", mixinStandardHelpOptions = true, description = "List the networks: name, bridge, subnet, containers.")
    static final class Ls implements Callable<Integer> {
        @Override public Integer call() throws IOException {
            StringBuilder out = new StringBuilder(String.format("%-12s %-12s %-18s %s%n", "NAME", "BRIDGE", "SUBNET", "CONTAINERS"));
            for (Network n : all()) {
                out.append(String.format("%-12s %-12s %-18s %d%n", n.name(), n.bridge(), n.subnet(), n.ipam().taken().size()));
            }
            System.out.print(out);
            return 0;
        }
    }

    @Command(name = "rm", mixinStandardHelpOptions = true,
            description = "Remove networks: the bridge, the subnet's rules, our chains once no network needs them. "
                    + "Refused while a container has an address in it.",
            exitCodeListHeading = "%nExit codes:%n", exitCodeList = {"0:removed", "125:no such network, or still in use"})
    static final class Rm implements Callable<Integer> {
        @Parameters(arity = "1..*", paramLabel = "NAME", description = "The networks (the default one is \"bridge\").")
        List<String> names;

        @Override public Integer call() {
            int rc = 0;
            for (String name : names) {
                try {
                    Network n = name.matches("[A-Za-z0-9][A-Za-z0-9_.-]*") ? Network.find(Container.stateRoot(), name) : null;
                    if (n == null) throw new ContainerError("no such network: " + name);
                    n.remove();
                    System.out.println(name);
                } catch (ContainerError e) {
                    if (names.size() == 1) throw e;
                    Log.error("%s", e.getMessage());
                    rc = e.exitCode();
                }
            }
            return rc;
        }
    }

    private static List<Network> all() throws IOException {
        List<Network> all = new ArrayList<>();
        Path dir = Network.networksDir(Container.stateRoot());
        if (!Files.isDirectory(dir)) return all;
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(dir)) {
            for (Path d : dirs) {
                if (!Files.isRegularFile(d.resolve("network.json"))) continue;
                Network n = Network.find(Container.stateRoot(), d.getFileName().toString());
                if (n != null) all.add(n);
            }
        }
        return all;
    }
}
