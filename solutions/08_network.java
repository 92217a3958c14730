///usr/bin/env jbang "$0" "$@" ; exit $?
// Step 08 network: give every container a network of its own, plugged into a bridge on the host.
//
// Goal:  run puts the container into a network namespace of its own with lo, and an eth0 that is
//        one end of a veth pair whose other end is a port of the jocker0 bridge; the container gets
//        a free address of the bridge's subnet (a lease under the state root), a default route via
//        the bridge, and its own /etc/hosts, /etc/hostname and /etc/resolv.conf. -p HOSTPORT:PORT
//        publishes a port with DNAT rules in chains of our own. --network none gives only lo,
//        --network host the host's network. Whatever a container made goes when it ends.
// Usage: jbang steps/08_network.java run [--network bridge|none|host] [-p [IP:]HOSTPORT:PORT[/udp]]
//                                        [--subnet CIDR] IMAGE [COMMAND [ARG...]]
//        jbang steps/08_network.java network ls | rm NAME
//        (and pull, images, rmi, login, logout, diff, info as in step 07)
// See:   chapters/08-network.adoc
//
//   $ jbang steps/08_network.java run busybox ip -4 -o addr
//   1: lo    inet 127.0.0.1/8 scope host lo\       valid_lft forever preferred_lft forever
//   2: eth0    inet 10.213.0.2/24 scope global eth0\       valid_lft forever preferred_lft forever
//   $ jbang steps/08_network.java run -p 8080:80 busybox httpd -f -p 80 -h /etc &
//   $ wget -qO- http://127.0.0.1:8080/hostname
//   3f2a9c1b7d4e
//
//CDS
//SOURCES 07_overlay.java
//SOURCES ../lib/jocker/network/*.java
//MAIN Networked

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import jocker.cli.Cli;
import jocker.network.Endpoint;
import jocker.network.IpCommands;
import jocker.network.Nat;
import jocker.network.NetworkCommands;
import jocker.network.NetworkHooks;
import jocker.network.NetworkOptions;
import jocker.network.Networking;
import jocker.network.PortMapping;
import jocker.network.Rule;
import jocker.network.Subnet;
import jocker.runtime.ConfigOption;
import jocker.runtime.Feature;
import jocker.runtime.Todo;

/** Step 08: a network namespace per container, plugged into a bridge: CNM's network, endpoint and sandbox. */
class Networked extends CopyOnWrite implements NetworkHooks {

    public static void main(String[] args) {
        System.exit(Cli.execute(new Networked(), "08_network", args));
    }

    /** --network bridge|none|host, -p/--publish, --subnet. */
    @Override
    public List<ConfigOption> options() { return plus(super.options(), new NetworkOptions()); }

    /** Step 07's commands, and network ls|rm: what removes the bridge once no container needs it. */
    @Override
    public List<Object> commands() { return plus(super.commands(), new NetworkCommands()); }

    /** The network feature: given code that calls the four methods below. */
    @Override
    public List<Feature> features() { return plus(super.features(), new Networking(this)); }

    // tag::choose-address[]
    /** TODO 08.1: the address management (IPAM): a free address of the subnet for a new container. */
    @Override
    public Integer chooseAddress(Subnet subnet, Set<Integer> taken) {
        // The lowest free one, as Docker's IPAM does: .0 is the network, .1 the gateway (the bridge).
        for (int a = subnet.gateway() + 1; a < subnet.broadcast(); a++) {                       // <.>
            if (!taken.contains(a)) return a;                                                    // <.>
        }
        return null;                                          // full
    }
    // end::choose-address[]

    // tag::veth[]
    /** TODO 08.2: the endpoint: a veth pair from the bridge into the container's network namespace. */
    @Override
    public void createVethPair(IpCommands host, Endpoint e, int pid) {
        // The peer is born in the container's namespace, already named eth0: no rename, no move.
        host.add("link add %s mtu %d master %s type veth peer name %s mtu %d netns %d",           // <.>
                e.hostEnd(), e.mtu(), e.bridge(), Endpoint.CONTAINER_END, e.mtu(), pid);
        host.add("link set %s up", e.hostEnd());                                                 // <.>
    }
    // end::veth[]

    // tag::sandbox[]
    /** TODO 08.3: the sandbox: lo, eth0's address and the default route, inside the container's namespace. */
    @Override
    public void configureSandbox(IpCommands sandbox, Endpoint e) {
        sandbox.add("link set lo up");                                                           // <.>
        sandbox.add("addr add %s dev %s", e.addressWithPrefix(), Endpoint.CONTAINER_END);        // <.>
        sandbox.add("link set %s up", Endpoint.CONTAINER_END);
        sandbox.add("route add default via %s", e.gateway());                                    // <.>
    }
    // end::sandbox[]

    // tag::publish[]
    /** TODO 08.4: a published port: DNAT from the host's port to the container's, and let it through. */
    @Override
    public List<Rule> publishRules(PortMapping p, Endpoint e, Nat nat) {
        List<String> dnat = new ArrayList<>();
        if (!p.anyHostIp()) dnat.addAll(List.of("-d", p.hostIp() + "/32"));
        dnat.addAll(List.of("-p", p.protocol(), "--dport", Integer.toString(p.hostPort())));
        dnat.addAll(Rule.comment(e.containerId()));
        dnat.addAll(List.of("-j", "DNAT", "--to-destination", e.address() + ":" + p.containerPort()));   // <.>

        List<String> accept = new ArrayList<>(List.of("-d", e.address() + "/32", "-o", e.bridge(),
                "-p", p.protocol(), "--dport", Integer.toString(p.containerPort())));
        accept.addAll(Rule.comment(e.containerId()));
        accept.addAll(List.of("-j", "ACCEPT"));                                                  // <.>
        return List.of(new Rule("nat", nat.dnatChain(), dnat), new Rule("filter", nat.forwardChain(), accept));
    }
    // end::publish[]
}
