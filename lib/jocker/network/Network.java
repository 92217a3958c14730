package jocker.network;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

import jocker.kernel.DirectoryLock;
import jocker.kernel.HostPrograms;
import jocker.kernel.NetworkObjects;
import jocker.kernel.Trees;
import jocker.oci.Json;
import jocker.runtime.ContainerError;
import jocker.runtime.Log;

/**
 * A network, the CNM's word for a switch that containers plug into: a Linux bridge
 * ({@code jocker0}, like Docker's {@code docker0}) with a subnet, the gateway address on the bridge
 * itself, and the NAT rules that connect the subnet to the rest of the world. Made on first use and
 * kept while it exists, as docker0 is; {@link #remove} takes it away once no container uses it.
 *
 * <pre>
 * $JOCKER_ROOT/networks/
 *   .lock                          the lock of everything below (jocker.kernel.DirectoryLock)
 *   bridge/network.json            name, bridge, subnet, chain prefix (written before the bridge is made)
 *   bridge/leases/10.213.0.2       one file per address in use, holding its container's id (Ipam)
 * </pre>
 * A bridge is a switch in the kernel (ip-link(8), "type bridge"): the host ends of the containers'
 * veth pairs are its ports, and an address on the bridge makes the host one of its stations.
 */
public final class Network {
    /** The default network: Docker calls it "bridge" too. */
    public static final String DEFAULT_NAME = "bridge";
    public static final String DEFAULT_BRIDGE = "jocker0";
    /**
     * Unlikely to collide: not Docker's 172.17-31, podman's 10.88, libvirt's 192.168.122,
     * VirtualBox's 10.0.2 and 192.168.56, nor the usual home and cloud ranges.
     */
    public static final String DEFAULT_SUBNET = "10.213.0.0/24";

    /** What a network should be. {@code forwarding}: turn on net.ipv4.ip_forward if it is off. */
    public record Spec(String name, String bridge, Subnet subnet, String chainPrefix, boolean forwarding) {
        public static Spec defaults() {
            return new Spec(DEFAULT_NAME, DEFAULT_BRIDGE, Subnet.parse(DEFAULT_SUBNET), Nat.DEFAULT_PREFIX, true);
        }

        public Spec withSubnet(Subnet s) { return new Spec(name, bridge, s, chainPrefix, forwarding); }
    }

    /** network.json. {@code forwardingWasOff}: we turned ip_forward on, and remove turns it off again. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    record Saved(String name, String bridge, String subnet, String chainPrefix, boolean forwardingWasOff) {}

    private final Path networksDir;
    private final Path dir;
    private final Saved saved;
    private final Subnet subnet;
    private final Nat nat;
    private final Ipam ipam;

    private Network(Path networksDir, Saved saved) {
        this.networksDir = networksDir;
        this.dir = networksDir.resolve(saved.name());
        this.saved = saved;
        this.subnet = Subnet.parse(saved.subnet());
        this.nat = new Nat(saved.chainPrefix());
        this.ipam = new Ipam(dir, networksDir, subnet);
    }

    public String name() { return saved.name(); }

    public String bridge() { return saved.bridge(); }

    public Subnet subnet() { return subnet; }

    /** The bridge's own address: the containers' gateway. */
    public int gateway() { return subnet.gateway(); }

    public Nat nat() { return nat; }

    public Ipam ipam() { return ipam; }

    public Path dir() { return dir; }

    /** The bridge's MTU, which its ports take too; 1500 if it cannot be read. */
    public int mtu() {
        String mtu = Sysctl.read(Path.of("/sys/class/net", bridge(), "mtu"));
        return mtu.matches("\\d+") ? Integer.parseInt(mtu) : 1500;
    }

    /**
     * The lock of the networks directory: held while a network is made or removed and while an
     * address is given or given back (the sweep's release of a lease takes it too).
     */
    static DirectoryLock lock(Path networksDir) {
        try {
            return DirectoryLock.take(networksDir);
        } catch (IOException e) {
            throw new ContainerError("failed to lock " + networksDir.resolve(".lock") + ": " + Log.reason(e), e);
        }
    }

    /** The absolute path of the host's {@code program}, or a one-line error that names its package. */
    static String program(String program, String debianPackage) {
        return HostPrograms.find(program).orElseThrow(() -> new ContainerError(
                "failed to set up the network: " + program + " not found (install the " + debianPackage + " package)"));
    }

    /** The directory of all networks under {@code stateRoot}. */
    public static Path networksDir(Path stateRoot) { return stateRoot.resolve("networks"); }

    // ------------------------------------------------------------------------------------------
    // create on first use
    // ------------------------------------------------------------------------------------------

    /**
     * The network {@code spec} under {@code stateRoot}: made if it does not exist, repaired if part
     * of it is missing (after a reboot the bridge and the rules are gone, network.json is not).
     * If it exists with another subnet and no container uses it, it is made anew with the new one.
     */
    public static Network ensure(Path stateRoot, Spec spec) {
        Path networksDir = networksDir(stateRoot);
        try (DirectoryLock held = lock(networksDir)) {
            Saved saved = read(networksDir.resolve(spec.name()));
            if (saved != null && !saved.subnet().equals(spec.subnet().toString())) {
                Network old = new Network(networksDir, saved);
                if (!old.ipam.taken().isEmpty()) {
                    throw new ContainerError("failed to set up network " + spec.name() + ": it has subnet " + saved.subnet()
                            + " and " + old.ipam.taken().size() + " container(s) use it; cannot change it to "
                            + spec.subnet() + " now");
                }
                old.remove();
                saved = null;
            }
            boolean made = saved == null;
            if (made) {
                requireNoCollision(spec.subnet(), spec.bridge(), routes());
                boolean forwardingOff = spec.forwarding() && Sysctl.read(Sysctl.IP_FORWARD).equals("0");
                saved = new Saved(spec.name(), spec.bridge(), spec.subnet().toString(), spec.chainPrefix(), forwardingOff);
                write(networksDir.resolve(spec.name()), saved);   // first: what remove() undoes
            }
            Network n = new Network(networksDir, saved);
            try {
                n.setUp(spec.forwarding());
            } catch (RuntimeException e) {
                if (made) n.removeQuietly();
                throw e;
            }
            return n;
        }
    }

    /** Makes whatever of the network is missing: the bridge, its address, route_localnet, NAT. */
    private void setUp(boolean forwarding) {
        if (!Files.exists(Path.of("/sys/class/net", bridge()))) {
            Log.verbose("network %s: creating bridge %s with %s", name(), bridge(), subnet);
            // tag::bridge[]
            new IpCommands()
                    .add("link add %s type bridge", bridge())                                  // <.>
                    .add("addr add %s dev %s", subnet.withPrefix(gateway()), bridge())         // <.>
                    .add("link set %s up", bridge())
                    .run("create bridge " + bridge());
            // end::bridge[]
        }
        if (!Sysctl.read(Sysctl.routeLocalnet(bridge())).equals("1")) {
            Sysctl.write(Sysctl.routeLocalnet(bridge()), "1");  // for 127.0.0.1:PORT, see Nat
        }
        nat.setUp(bridge(), subnet);
        if (forwarding && Sysctl.read(Sysctl.IP_FORWARD).equals("0")) {
            Log.verbose("network %s: turning on net.ipv4.ip_forward, for containers to reach beyond the host", name());
            Sysctl.write(Sysctl.IP_FORWARD, "1");
        }
    }

    // ------------------------------------------------------------------------------------------
    // collisions with the host's networks
    // ------------------------------------------------------------------------------------------

    /** The host's IPv4 routes, the local table (its own addresses) included: {@code ip -4 -o route show table all}. */
    static List<String> routes() {
        HostPrograms.Result r = HostPrograms.run(List.of(program("ip", "iproute2"), "-4", "-o", "route", "show", "table", "all"), "");
        if (!r.ok()) throw new ContainerError("failed to read the host's routes: ip: " + r.firstLine());
        return r.output().lines().map(String::strip).filter(l -> !l.isEmpty()).toList();
    }

    private static final Set<String> ROUTE_TYPES = Set.of("unicast", "local", "broadcast", "multicast", "anycast",
            "blackhole", "unreachable", "prohibit", "throw", "nat");

    /**
     * Refuses a subnet that overlaps a route or an address of the host (other than our bridge's
     * own): containers could not reach that part of the world, or the host would lose it.
     */
    static void requireNoCollision(Subnet subnet, String bridge, List<String> routes) {
        for (String route : routes) {
            String[] words = route.split("\\s+");
            int i = ROUTE_TYPES.contains(words[0]) ? 1 : 0;
            if (i >= words.length || words[i].equals("default")) continue;
            if (List.of(words).contains("dev") && List.of(words).indexOf("dev") + 1 < words.length
                    && words[List.of(words).indexOf("dev") + 1].equals(bridge)) continue;   // our own
            String dest = words[i];
            int slash = dest.indexOf('/');
            int address;
            int prefix;
            try {
                address = Subnet.parseAddress(slash < 0 ? dest : dest.substring(0, slash));
                prefix = slash < 0 ? 32 : Integer.parseInt(dest.substring(slash + 1));
            } catch (IllegalArgumentException e) {
                continue;
            }
            int shorter = Math.min(prefix, subnet.prefix());
            if ((address & Subnet.mask(shorter)) == (subnet.network() & Subnet.mask(shorter))) {
                String shown = route.replaceAll("\\s+(proto|scope|metric|table)\\s+\\S+", "").strip();
                throw new ContainerError("failed to create network bridge " + bridge + ": its subnet " + subnet
                        + " collides with the host's route \"" + shown + "\"; choose another with --subnet");
            }
        }
    }

    // ------------------------------------------------------------------------------------------
    // remove
    // ------------------------------------------------------------------------------------------

    /** Whether a container has an address in it. */
    public boolean inUse() { return !ipam.taken().isEmpty(); }

    /**
     * Removes the network, for a future {@code network rm} or prune: its rules, our chains if no
     * other network needs them, the bridge, ip_forward if we turned it on and no network of ours is
     * left, and its directory. Refused while a container uses it.
     */
    public void remove() {
        try (DirectoryLock held = lock(networksDir)) {
            if (inUse()) {
                throw new ContainerError("failed to remove network " + name() + ": " + ipam.taken().size()
                        + " container(s) still use it");
            }
            nat.tearDown(bridge(), subnet);
            try {
                NetworkObjects.deleteLink(bridge());
                Trees.delete(dir);
            } catch (IOException e) {
                throw new ContainerError("failed to remove " + dir + ": " + Log.reason(e), e);
            }
            if (saved.forwardingWasOff() && noNetworkLeft()) Sysctl.write(Sysctl.IP_FORWARD, "0");
        }
    }

    private void removeQuietly() {
        try {
            remove();
        } catch (RuntimeException e) {
            Log.error("failed to clean up network %s: %s", name(), Log.reason(e));
        }
    }

    private boolean noNetworkLeft() {
        try (var list = Files.list(networksDir)) {
            return list.noneMatch(p -> Files.exists(p.resolve("network.json")));
        } catch (IOException e) {
            return false;
        }
    }

    /** A network that is only a description (nothing is made): for tests of rules and commands. */
    static Network forTest(String bridge, Subnet subnet) {
        return new Network(Path.of("/nonexistent/networks"), new Saved(bridge, bridge, subnet.toString(), Nat.DEFAULT_PREFIX, false));
    }

    /** The network {@code name} under {@code stateRoot} as it was made, or null if there is none. */
    public static Network find(Path stateRoot, String name) {
        Path networksDir = networksDir(stateRoot);
        Saved saved = read(networksDir.resolve(name));
        return saved == null ? null : new Network(networksDir, saved);
    }

    private static Saved read(Path dir) {
        try {
            return Json.read(dir.resolve("network.json"), Saved.class);
        } catch (NoSuchFileException | java.io.FileNotFoundException none) {
            return null;
        } catch (IOException e) {
            throw new ContainerError("failed to read " + dir.resolve("network.json") + ": " + Log.reason(e), e);
        }
    }

    private static void write(Path dir, Saved saved) {
        try {
            Files.createDirectories(dir);
            Json.write(dir.resolve("network.json"), saved);
        } catch (IOException e) {
            throw new ContainerError("failed to write " + dir.resolve("network.json") + ": " + Log.reason(e), e);
        }
    }

    @Override public String toString() { return name() + " (" + bridge() + ", " + subnet + ")"; }
}
