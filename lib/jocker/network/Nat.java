package jocker.network;

import java.util.List;

/**
 * The iptables side of a network: NAT (man 8 iptables-extensions: MASQUERADE, DNAT, addrtype,
 * conntrack) and forwarding, in chains of our own that the host's chains jump to.
 *
 * <pre>
 *  table   host chain    jumps to                         holds
 *  nat     PREROUTING    JOCKER    (dst-type LOCAL)       DNAT of published ports: packets from elsewhere
 *  nat     OUTPUT        JOCKER    (dst-type LOCAL)       the same for the host's own connections,
 *                                                         127.0.0.1 included (the hairpin, below)
 *  nat     POSTROUTING   JOCKER-POSTROUTING               MASQUERADE: the subnet going out; 127/8 going
 *                                                         into the bridge
 *  filter  FORWARD       JOCKER-FORWARD                   ACCEPT the bridge's traffic and published ports
 * </pre>
 *
 * <p>A client on the host that connects to 127.0.0.1:8080 goes through nat OUTPUT, where our DNAT
 * rewrites the destination to the container's 10.213.0.2:80. The packet still has source
 * 127.0.0.1, which the kernel never routes out of an interface other than lo ("martian")
 * unless that interface has {@code route_localnet=1}: we set it on our bridge only
 * (ip-sysctl.rst). And the container would answer 127.0.0.1, its own loopback: so 127.0.0.0/8
 * going into the bridge is masqueraded to the bridge's address. This is what Docker does with
 * {@code userland-proxy=false}; no proxy process has to stay alive for a port to work.
 */
public final class Nat {
    /** Docker's are DOCKER, DOCKER-FORWARD...; ours have another prefix, so both can coexist. */
    public static final String DEFAULT_PREFIX = "JOCKER";

    private final String prefix;

    public Nat(String prefix) {
        if (!prefix.matches("[A-Z][A-Z0-9_-]{0,15}")) throw new IllegalArgumentException("bad chain prefix " + prefix);
        this.prefix = prefix;
    }

    public String prefix() { return prefix; }

    /** nat: where published ports are DNATed. */
    public String dnatChain() { return prefix; }

    /** nat: where the subnet is masqueraded. */
    public String postroutingChain() { return prefix + "-POSTROUTING"; }

    /** filter: what may be forwarded to and from the bridge. */
    public String forwardChain() { return prefix + "-FORWARD"; }

    /** The jumps from the host's chains into ours, inserted first in them. */
    List<Rule> jumps() {
        return List.of(
                Rule.of("nat", "PREROUTING", "-m", "addrtype", "--dst-type", "LOCAL", "-j", dnatChain()),
                Rule.of("nat", "OUTPUT", "-m", "addrtype", "--dst-type", "LOCAL", "-j", dnatChain()),
                Rule.of("nat", "POSTROUTING", "-j", postroutingChain()),
                Rule.of("filter", "FORWARD", "-j", forwardChain()));
    }

    // tag::network-rules[]
    /** The rules of one network: they stay while the network exists, like Docker's for docker0. */
    public List<Rule> networkRules(String bridge, Subnet subnet) {
        return List.of(
                // containers going elsewhere leave with the host's address
                Rule.of("nat", postroutingChain(), "-s", subnet.toString(), "!", "-o", bridge, "-j", "MASQUERADE"),
                // the host's 127.0.0.1 connecting to a published port: answer the bridge, not 127.0.0.1
                Rule.of("nat", postroutingChain(), "-s", "127.0.0.0/8", "-o", bridge, "-j", "MASQUERADE"),
                // anything from the containers may be forwarded (out, and to each other through
                // br_netfilter), and the answers to it may come back
                Rule.of("filter", forwardChain(), "-i", bridge, "-j", "ACCEPT"),
                Rule.of("filter", forwardChain(), "-o", bridge, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED",
                        "-j", "ACCEPT"));
    }
    // end::network-rules[]

    /** Makes our chains, the jumps to them and a network's rules, whichever are missing. */
    void setUp(String bridge, Subnet subnet) {
        List<Rule> all = new java.util.ArrayList<>(jumps());
        all.addAll(networkRules(bridge, subnet));
        if (Iptables.allExist(all)) return;                  // the usual case: one process, not eleven
        Iptables.ensureChain("nat", dnatChain());
        Iptables.ensureChain("nat", postroutingChain());
        Iptables.ensureChain("filter", forwardChain());
        for (Rule jump : jumps()) Iptables.insertOnce(jump);
        for (Rule rule : networkRules(bridge, subnet)) Iptables.appendOnce(rule);
    }

    /**
     * Deletes a network's rules, then our chains and the jumps to them if no other network has
     * rules there any more.
     */
    void tearDown(String bridge, Subnet subnet) {
        Iptables.delete(networkRules(bridge, subnet));
        List<String[]> chains = List.of(new String[] {"nat", dnatChain()}, new String[] {"nat", postroutingChain()},
                new String[] {"filter", forwardChain()});
        for (String[] c : chains) {
            if (Iptables.chainExists(c[0], c[1]) && !Iptables.chainIsEmpty(c[0], c[1])) return;   // still in use
        }
        Iptables.delete(jumps());
        for (String[] c : chains) Iptables.deleteChainIfEmpty(c[0], c[1]);
    }

    /** Adds a container's rules, all or none. */
    public void add(List<Rule> rules) { Iptables.append(rules); }

    /** Deletes a container's rules; those not there are fine. */
    public boolean delete(List<Rule> rules) { return Iptables.delete(rules); }
}
