package jocker.network;

import java.io.IOException;
import java.util.function.Consumer;

import jocker.kernel.NetworkObjects;
import jocker.runtime.ContainerError;
import jocker.runtime.Log;

/**
 * A container's place on a network, the CNM's <em>endpoint</em>: a veth pair (man 4 veth), two
 * network interfaces joined like the two ends of a cable, whatever goes in one comes out of the
 * other. One end is a port of the bridge on the host; the other is in the container's network
 * namespace, named {@code eth0}, with the container's address and a default route via the bridge.
 *
 * <pre>
 *   host                                          container (its own network namespace)
 *   jocker0 10.213.0.1/24 ── veth1a2b3c4 ═══════ eth0 10.213.0.2/24, default via 10.213.0.1
 *   (bridge)                 (its port)    veth    lo 127.0.0.1
 * </pre>
 * The host end is named as Docker names it, {@code veth} and 7 hex digits: ours are the first 7 of
 * the container's id, so a name says whose it is (an interface name has at most 15 characters).
 */
public final class Endpoint {
    /** The container's end, as Docker names it. */
    public static final String CONTAINER_END = "eth0";

    private final String containerId;
    private final Network network;
    private final int address;

    public Endpoint(String containerId, Network network, int address) {
        this.containerId = containerId;
        this.network = network;
        this.address = address;
    }

    /** The host end's name for container {@code containerId}: {@code veth} + 7 hex digits of its id. */
    public static String hostEndName(String containerId) { return "veth" + containerId.substring(0, 7); }

    public String containerId() { return containerId; }

    public String hostEnd() { return hostEndName(containerId); }

    public String bridge() { return network.bridge(); }

    public int mtu() { return network.mtu(); }

    public Subnet subnet() { return network.subnet(); }

    /** The container's address, {@code 10.213.0.2}. */
    public String address() { return Subnet.format(address); }

    public int addressValue() { return address; }

    /** The container's address with the subnet's prefix, {@code 10.213.0.2/24}, for {@code ip addr add}. */
    public String addressWithPrefix() { return network.subnet().withPrefix(address); }

    /** The gateway, the bridge's address: {@code 10.213.0.1}. */
    public String gateway() { return Subnet.format(network.gateway()); }

    // tag::plug[]
    /**
     * Plugs the container whose init is {@code pid} (waiting, in its new network namespace) into
     * the network: the veth pair from the host, then eth0's configuration from inside. Two
     * processes in all. {@code beforeLink} is told the host end's name before it is made.
     */
    public void create(int pid, NetworkHooks hooks, Consumer<String> beforeLink) {
        beforeLink.accept(hostEnd());
        IpCommands host = new IpCommands();
        hooks.createVethPair(host, this, pid);                                        // <.>
        host.run("create veth pair " + hostEnd() + " for container " + containerId.substring(0, 12));
        IpCommands sandbox = new IpCommands();
        hooks.configureSandbox(sandbox, this);                                         // <.>
        Sandbox.of(pid).ip(sandbox, "configure " + CONTAINER_END + " of container " + containerId.substring(0, 12));
    }
    // end::plug[]

    /** Unplugs: deleting the host end deletes the pair (and eth0 with it). */
    public void remove() {
        try {
            NetworkObjects.deleteLink(hostEnd());
        } catch (IOException e) {
            throw new ContainerError("failed to delete network interface " + hostEnd() + ": " + Log.reason(e), e);
        }
    }

    @Override public String toString() { return hostEnd() + " " + addressWithPrefix() + " on " + bridge(); }
}
