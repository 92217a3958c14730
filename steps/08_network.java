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
        // TODO(08.1): choose the address of a new container. `subnet` is the network's, e.g.
        //   10.213.0.0/24; addresses are ints (Subnet.format(a) prints one: 10.213.0.2), so the
        //   next address is a + 1. Three are never a container's: subnet.network() (.0),
        //   subnet.gateway() (.1, the bridge's own address) and subnet.broadcast() (.255). `taken`
        //   holds the addresses that have a lease now. Return the lowest address above the gateway
        //   and below the broadcast address that is not taken, or null if every one is. The given
        //   code holds the networks' lock while you choose, and writes the lease.
        //   HINT: RFC 950 and RFC 919 (the network and broadcast addresses); man 7 ip
        //   QUESTION: why must choosing and writing the lease happen under one lock? What would two
        //   runs started at the same moment do without it?
        throw Todo.missing("08.1", "choose a free address for the container", "08-network.adoc");
    }
    // end::choose-address[]

    // tag::veth[]
    /** TODO 08.2: the endpoint: a veth pair from the bridge into the container's network namespace. */
    @Override
    public void createVethPair(IpCommands host, Endpoint e, int pid) {
        // TODO(08.2): plug the container into the bridge. Add to `host` the two ip commands (as you
        //   would type them after "ip") that
        //     create a veth pair: its host end is named e.hostEnd(), is a port of the bridge
        //       e.bridge() ("master BRIDGE") and has the bridge's MTU, e.mtu(); its other end, the
        //       peer, is named Endpoint.CONTAINER_END (eth0), has the same MTU and is born in the
        //       network namespace of process `pid` ("netns PID"), so it never needs moving;
        //     bring the host end up.
        //   host.add works like String.format: host.add("link set %s up", name). The given code runs
        //   them as one `ip -batch -` on the host.
        //   HINT: man 4 veth; ip-link(8): "ip link add NAME ... type veth peer name NAME ... netns PID",
        //   and the "master" option
        //   QUESTION: the host end is on the bridge, the other end in the container. What happens to
        //   the host end when the container's network namespace goes away?
        throw Todo.missing("08.2", "create the veth pair", "08-network.adoc");
    }
    // end::veth[]

    // tag::sandbox[]
    /** TODO 08.3: the sandbox: lo, eth0's address and the default route, inside the container's namespace. */
    @Override
    public void configureSandbox(IpCommands sandbox, Endpoint e) {
        // TODO(08.3): configure the container's side. Add to `sandbox` the ip commands that
        //     bring lo up (a new network namespace has a loopback interface, and it is down);
        //     give eth0 (Endpoint.CONTAINER_END) the container's address with its prefix,
        //       e.addressWithPrefix() (10.213.0.2/24);
        //     bring eth0 up;
        //     route everything else through the gateway, e.gateway() (the bridge's address).
        //   The given code runs them as one `ip -batch -` from a thread that has joined the
        //   container's network namespace with setns(2).
        //   HINT: ip-link(8) "set", ip-address(8) "add", ip-route(8) "add default via"
        //   QUESTION: the container's init process waits while this runs. Why must eth0 be
        //   configured before the user's command starts, and not by that command itself?
        throw Todo.missing("08.3", "configure lo, eth0 and the default route in the container", "08-network.adoc");
    }
    // end::sandbox[]

    // tag::publish[]
    /** TODO 08.4: a published port: DNAT from the host's port to the container's, and let it through. */
    @Override
    public List<Rule> publishRules(PortMapping p, Endpoint e, Nat nat) {
        // TODO(08.4): publish port `p`: return two iptables rules, each a Rule(table, chain, spec)
        //   whose spec is the list of arguments that would follow "iptables -t TABLE -A CHAIN":
        //     in table "nat", chain nat.dnatChain(): connections to the host's port p.hostPort() with
        //       protocol p.protocol() ("-p tcp --dport 8080"), and only to address p.hostIp()
        //       ("-d 127.0.0.1/32") unless p.anyHostIp(), get their destination rewritten to the
        //       container's e.address() and port p.containerPort()
        //       ("-j DNAT --to-destination 10.213.0.2:80");
        //     in table "filter", chain nat.forwardChain(): let what goes to the container's address
        //       ("-d 10.213.0.2/32"), out of the bridge ("-o BRIDGE", e.bridge()), with that protocol
        //       and the container's port through ("-j ACCEPT").
        //   Put Rule.comment(e.containerId()) into both specs, before "-j": it makes the rules the
        //   container's own, so that they are deleted by their exact spec when it ends.
        //   HINT: iptables(8); iptables-extensions(8): DNAT, "--to-destination"; tcp, "--dport";
        //   comment. Try it by hand first: chapter 08, "Exercises"
        //   QUESTION: a client on the host connects to 127.0.0.1:8080. Which chain of the nat table
        //   does its first packet go through: PREROUTING or OUTPUT? And why would the container's
        //   answer go nowhere without the MASQUERADE rule that the given code adds for 127.0.0.0/8?
        throw Todo.missing("08.4", "publish the port with DNAT", "08-network.adoc");
    }
    // end::publish[]
}
