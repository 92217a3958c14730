package jocker.network;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import jocker.oci.Config;
import jocker.runtime.ConfigOption;
import jocker.runtime.ContainerError;

import picocli.CommandLine.Option;

/**
 * {@code --network bridge|none|host}, {@code -p [IP:]HOSTPORT:CONTAINERPORT[/tcp|/udp]} (repeatable)
 * and {@code --subnet CIDR}: Docker's spellings, carried to the {@link Networking} feature in the
 * config's annotations (the OCI config has no field for them: a runtime gets a network namespace
 * and the engine above it does the rest). Bad values are refused here, before anything is made.
 */
public class NetworkOptions implements ConfigOption {
    public static final List<String> MODES = List.of("bridge", "none", "host");

    @Option(names = "--network", paramLabel = "MODE",
            description = "bridge (default): an address on the " + Network.DEFAULT_BRIDGE + " bridge and NAT; "
                    + "none: only a loopback interface; host: the host's own network. Also JOCKER_NETWORK.")
    String network = fromEnvironment("JOCKER_NETWORK", "bridge");

    @Option(names = {"-p", "--publish"}, paramLabel = "[IP:]HOSTPORT:CONTAINERPORT[/PROTO]",
            description = "Publish a container's port on the host, e.g. -p 8080:80 or -p 127.0.0.1:5353:53/udp.")
    List<String> publish = new ArrayList<>();

    @Option(names = "--subnet", paramLabel = "CIDR",
            description = "The subnet of the default network, if it collides with one of yours (default "
                    + Network.DEFAULT_SUBNET + "; taken only while no container uses the network).")
    String subnet;

    private static String fromEnvironment(String name, String otherwise) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? otherwise : v.strip();
    }

    @Override
    public void configure(Config config) {
        String mode = network.toLowerCase(Locale.ROOT);
        if (!MODES.contains(mode)) {
            throw new ContainerError("invalid value \"" + network + "\" for --network: use bridge, none or host");
        }
        List<String> ports = new ArrayList<>();
        for (String p : publish) ports.add(PortMapping.parse(p).spec());
        if (!ports.isEmpty() && !mode.equals("bridge")) {
            throw new ContainerError("--publish needs --network bridge: with --network " + mode + " there is no "
                    + "container address to forward to");
        }
        if (subnet != null) config.annotations.put(Networking.SUBNET, Subnet.parse(subnet).toString());
        config.annotations.put(Networking.MODE, mode);
        if (!ports.isEmpty()) config.annotations.put(Networking.PORTS, String.join(",", ports));
    }
}
