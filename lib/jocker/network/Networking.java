package jocker.network;

import java.util.ArrayList;
import java.util.List;

import jocker.oci.Config;
import jocker.runtime.Container;
import jocker.runtime.Feature;
import jocker.runtime.Log;

/**
 * Step 08's feature: the container's network, one of Docker's three modes.
 * <pre>
 *  mode    namespace    what the container has
 *  bridge  its own      lo, and eth0 on the bridge with an address, a default route, NAT, -p ports
 *  none    its own      lo only
 *  host    the host's   everything the host has (no isolation at all)
 * </pre>
 * <pre>
 *  point        bridge
 *  prepare      ask for a network namespace; reserve the -p ports; make the network if it is the
 *               first use; lease an address (TODO 08.1); write hosts, hostname, resolv.conf
 *  attach(pid)  veth pair, peer born in the init's namespace as eth0 (TODO 08.2); configure eth0,
 *               lo and the default route inside (TODO 08.3); the -p rules (TODO 08.4)
 *  release      the rules, the veth pair, the lease, the ports; the network stays, like docker0
 * </pre>
 * Each thing made outside the container's directory (the lease, the veth, each rule) is written
 * down in the container's undo log before it is made, so that the sweep after a SIGKILL, by a run
 * of any step, removes it (runtime.UndoLog: kinds lease, link and rule). The port reservations
 * are sockets: they close with the runtime.
 */
public class Networking implements Feature {
    /** The config's annotations this feature reads, written by {@link NetworkOptions}. */
    public static final String MODE = "jocker.network", PORTS = "jocker.ports", SUBNET = "jocker.subnet";

    private final NetworkHooks hooks;
    private final Network.Spec spec;

    private Network network;
    private Integer address;
    private PortReservation reserved;
    private Endpoint endpoint;
    private List<Rule> rules = List.of();
    private String mode;

    /** The default network, {@code jocker0}, with overrides from the environment (see {@link #specFromEnvironment}). */
    public Networking(NetworkHooks hooks) { this(hooks, specFromEnvironment()); }

    public Networking(NetworkHooks hooks, Network.Spec spec) {
        this.hooks = hooks;
        this.spec = spec;
    }

    /**
     * The default network's spec; {@code JOCKER_BRIDGE}, {@code JOCKER_SUBNET} and
     * {@code JOCKER_CHAINS} (the prefix of our iptables chains) override it, so that tests can run
     * beside a real jocker0 without touching it; {@code JOCKER_FORWARDING=0} leaves the host's
     * net.ipv4.ip_forward as it is (containers then reach the bridge, each other and published
     * ports, but nothing beyond the host: what the checks want).
     */
    public static Network.Spec specFromEnvironment() {
        Network.Spec d = Network.Spec.defaults();
        String bridge = env("JOCKER_BRIDGE", d.bridge());
        String subnet = env("JOCKER_SUBNET", d.subnet().toString());
        String chains = env("JOCKER_CHAINS", d.chainPrefix());
        boolean forwarding = !env("JOCKER_FORWARDING", "1").equals("0") && d.forwarding();
        String name = bridge.equals(d.bridge()) ? d.name() : bridge;
        return new Network.Spec(name, bridge, Subnet.parse(subnet), chains, forwarding);
    }

    private static String env(String name, String otherwise) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? otherwise : v.strip();
    }

    public static String mode(Config config) { return config.annotations.getOrDefault(MODE, "bridge"); }

    public static List<PortMapping> ports(Config config) {
        String all = config.annotations.get(PORTS);
        if (all == null || all.isBlank()) return List.of();
        List<PortMapping> ports = new ArrayList<>();
        for (String p : all.split(",")) ports.add(PortMapping.parse(p));
        return ports;
    }

    /** The address the container got, or null (none, host, or not yet). */
    public String address() { return address == null ? null : Subnet.format(address); }

    public Network network() { return network; }

    // tag::prepare[]
    @Override
    public void prepare(Container container) throws Exception {
        Config config = container.config;
        mode = mode(config);
        if (!mode.equals("host")) config.withNamespace("network");      // man 7 network_namespaces
        String hostname = config.hostname != null ? config.hostname : container.shortId();
        String hostResolv = ResolvConf.hostFile();
        if (!mode.equals("bridge")) {
            String resolv = mode.equals("host") ? hostResolv : ResolvConf.forContainer(hostResolv);
            config.mounts.addAll(EtcFiles.write(container.dir, hostname, null, resolv));
            return;
        }
        reserved = PortReservation.reserve(ports(config));              // a taken port fails here, first
        Network.Spec s = config.annotations.containsKey(SUBNET)
                ? spec.withSubnet(Subnet.parse(config.annotations.get(SUBNET))) : spec;
        network = Network.ensure(Container.stateRoot(), s);
        address = network.ipam().allocate(container.id, hooks, lease -> container.undo().recordLease(lease, container.id));
        Log.verbose("container %s: address %s on %s", container.shortId(), address(), network);
        config.mounts.addAll(EtcFiles.write(container.dir, hostname, address(), ResolvConf.forContainer(hostResolv)));
    }
    // end::prepare[]

    // tag::attach[]
    @Override
    public void attach(Container container, int pid) throws Exception {
        if ("none".equals(mode)) {
            // As Docker: a container without a network still has a working loopback
            Sandbox.of(pid).ip(new IpCommands().add("link set lo up"), "bring lo up in container " + container.shortId());
        }
        if (network == null) return;
        endpoint = new Endpoint(container.id, network, address);
        endpoint.create(pid, hooks, container.undo()::recordLink);
        List<Rule> published = new ArrayList<>();
        for (PortMapping p : ports(container.config)) published.addAll(hooks.publishRules(p, endpoint, network.nat()));
        for (Rule r : published) container.undo().recordRule(r.args("-A"));   // written down first
        rules = published;
        network.nat().add(rules);
    }
    // end::attach[]

    // tag::release[]
    @Override
    public void release(Container container) throws Exception {
        RuntimeException first = null;
        try {
            if (!rules.isEmpty()) network.nat().delete(rules);
            rules = List.of();
        } catch (RuntimeException e) {
            first = e;
        }
        try {
            if (endpoint != null) endpoint.remove();   // usually gone already: with eth0's namespace
        } catch (RuntimeException e) {
            if (first == null) first = e;
        }
        try {
            if (address != null) network.ipam().release(address, container.id);
        } catch (RuntimeException e) {
            if (first == null) first = e;
        }
        if (reserved != null) reserved.close();
        if (first != null) throw first;
    }
    // end::release[]
}
