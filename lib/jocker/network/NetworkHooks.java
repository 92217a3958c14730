package jocker.network;

import java.util.List;
import java.util.Set;

/**
 * The four places where connecting a container to a network needs a concept rather than plumbing,
 * and which step 08 writes (its runtime class implements this interface). The given code calls
 * them: the IPAM when a container needs an address, the endpoint when it plugs a container into
 * the bridge and when it configures the container's side, and the NAT when a port is published.
 * Each is a few lines; what you write are the very commands you would type by hand (chapter 08).
 */
public interface NetworkHooks {

    /**
     * TODO 08.1: choose an address for a new container in {@code subnet}, one that is in none of
     * the leases in {@code taken}; or return null if there is none. The network address, the
     * gateway (the bridge's own) and the broadcast address are never a container's.
     * HINT: {@link Subnet#network()}, {@link Subnet#gateway()}, {@link Subnet#broadcast()}; addresses are ints.
     */
    Integer chooseAddress(Subnet subnet, Set<Integer> taken);

    /**
     * TODO 08.2: plug the container in. Add to {@code host} the {@code ip} commands that create a
     * veth pair whose one end, {@link Endpoint#hostEnd()}, is a port of the bridge
     * {@link Endpoint#bridge()} and is up, and whose other end is born in the network namespace of
     * process {@code pid} and named {@link Endpoint#CONTAINER_END} (eth0). Give both the bridge's
     * {@link Endpoint#mtu()}. They run on the host, in one {@code ip -batch}.
     * HINT: man 4 veth; ip-link(8): {@code link add NAME ... type veth peer name NAME netns PID}, {@code master}.
     */
    void createVethPair(IpCommands host, Endpoint endpoint, int pid);

    /**
     * TODO 08.3: configure the container's side. Add to {@code sandbox} the {@code ip} commands
     * that bring {@code lo} up, give eth0 the endpoint's address with its prefix
     * ({@link Endpoint#addressWithPrefix()}), bring eth0 up, and route everything else through the
     * gateway ({@link Endpoint#gateway()}). They run inside the container's network namespace.
     * HINT: ip-address(8), ip-route(8): {@code route add default via GATEWAY}.
     */
    void configureSandbox(IpCommands sandbox, Endpoint endpoint);

    /**
     * TODO 08.4: publish {@code port}: return the iptables rules that rewrite the destination of
     * connections to the host's {@code port.hostPort()} (on {@code port.hostIp()} unless it is
     * 0.0.0.0) to the container's address and {@code port.containerPort()} (a DNAT rule in
     * table nat, chain {@link Nat#dnatChain()}), and that let them through to the bridge (an
     * ACCEPT rule in table filter, chain {@link Nat#forwardChain()}). Mark each with
     * {@code Rule.comment(endpoint.containerId())}, so that it is yours alone and deletable by its spec.
     * HINT: iptables-extensions(8): DNAT {@code --to-destination}; {@code -p tcp --dport}.
     */
    List<Rule> publishRules(PortMapping port, Endpoint endpoint, Nat nat);
}
