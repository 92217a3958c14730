package jocker.network;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

import jocker.runtime.ContainerError;

/** The parts of networks that need no root: collisions with the host's routes, ip's errors, rules. */
class NetworkPureTest {
    static final List<String> ROUTES = List.of(
            "default via 192.0.2.1 dev eth0",
            "192.0.2.0/24 dev eth0 proto kernel scope link src 192.0.2.2",
            "10.213.0.0/24 dev jocker0 proto kernel scope link src 10.213.0.1",
            "local 127.0.0.0/8 dev lo table local proto kernel scope host src 127.0.0.1",
            "local 192.0.2.2 dev eth0 table local proto kernel scope host src 192.0.2.2",
            "10.0.0.0/8 via 192.0.2.254 dev eth0");

    @Test
    void aSubnetInsideAHostRouteIsRefusedNamingBoth() {
        String m = assertThrows(ContainerError.class,
                () -> Network.requireNoCollision(Subnet.parse("10.213.7.0/24"), "jkt0", ROUTES)).getMessage();
        assertEquals("failed to create network bridge jkt0: its subnet 10.213.7.0/24 collides with the host's route "
                + "\"10.0.0.0/8 via 192.0.2.254 dev eth0\"; choose another with --subnet", m);
    }

    @Test
    void aHostAddressInsideTheSubnetIsRefused() {
        String m = assertThrows(ContainerError.class,
                () -> Network.requireNoCollision(Subnet.parse("192.0.0.0/16"), "jkt0", ROUTES.subList(0, 2))).getMessage();
        assertTrue(m.contains("collides"), m);
        assertTrue(assertThrows(ContainerError.class, () -> Network.requireNoCollision(Subnet.parse("192.0.2.0/25"),
                "jkt0", List.of("local 192.0.2.2 dev eth0 table local"))).getMessage().contains("local 192.0.2.2 dev eth0"));
    }

    @Test
    void theDefaultRouteAndOurOwnBridgeDoNotCollide() {
        Network.requireNoCollision(Subnet.parse("172.29.0.0/24"), "jkt0", ROUTES);
        Network.requireNoCollision(Subnet.parse("10.213.0.0/24"), "jocker0", ROUTES.subList(0, 3));
    }

    @Test
    void ipBatchErrorsNameTheCommandThatFailed() {
        IpCommands c = new IpCommands().add("link add jkt0 type bridge").add("ip addr add %s dev %s", "10.0.0.1/24", "jkt0");
        assertEquals(List.of("link add jkt0 type bridge", "addr add 10.0.0.1/24 dev jkt0"), c.lines());
        assertEquals("RTNETLINK answers: File exists (ip addr add 10.0.0.1/24 dev jkt0)",
                c.describe("RTNETLINK answers: File exists\nCommand failed -:2\n"));
    }

    @Test
    void rulesRoundTripThroughTheirArguments() {
        Rule r = Rule.of("nat", "JOCKER", "-p", "tcp", "--dport", "8080", "-j", "DNAT", "--to-destination", "10.213.0.2:80");
        assertEquals(List.of("-t", "nat", "-D", "JOCKER", "-p", "tcp", "--dport", "8080", "-j", "DNAT",
                "--to-destination", "10.213.0.2:80"), r.args("-D"));
        assertThrows(IllegalArgumentException.class, () -> Rule.of("nat", "JOCKER", "--comment", "two words"));
    }

    @Test
    void theReferencePublishRulesDnatAndAccept() {
        List<Rule> rules = new ReferenceHooks().publishRules(PortMapping.parse("127.0.0.1:8080:80"),
                endpointOn("jkt0", "10.213.0.2"), new Nat("JKT"));
        assertEquals("-t nat -A JKT -d 127.0.0.1/32 -p tcp --dport 8080 -m comment --comment jocker:"
                + "0123456789abcdef".repeat(4) + " -j DNAT --to-destination 10.213.0.2:80", rules.get(0).toString());
        assertEquals("filter", rules.get(1).table());
        assertEquals("JKT-FORWARD", rules.get(1).chain());
        assertTrue(rules.get(1).spec().containsAll(List.of("-d", "10.213.0.2/32", "-o", "jkt0", "--dport", "80", "ACCEPT")));
        assertEquals("veth0123456", Endpoint.hostEndName("0123456789abcdef".repeat(4)));
    }

    static Endpoint endpointOn(String bridge, String address) {
        return new Endpoint("0123456789abcdef".repeat(4), Network.forTest(bridge, Subnet.parse("10.213.0.0/24")),
                Subnet.parseAddress(address));
    }
}
