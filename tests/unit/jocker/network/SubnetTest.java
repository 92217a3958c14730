package jocker.network;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import jocker.runtime.ContainerError;

/** CIDR arithmetic: the addresses a network has, and which ranges collide. */
class SubnetTest {

    @Test
    void aSlash24HasNetworkGatewayAndBroadcast() {
        Subnet s = Subnet.parse("10.213.0.0/24");
        assertEquals("10.213.0.0", Subnet.format(s.network()));
        assertEquals("10.213.0.1", Subnet.format(s.gateway()));
        assertEquals("10.213.0.255", Subnet.format(s.broadcast()));
        assertEquals(256, s.size());
        assertEquals("10.213.0.7/24", s.withPrefix(s.network() + 7));
        assertEquals("10.213.0.0/24", s.toString());
    }

    @Test
    void addressesRoundTrip() {
        for (String a : new String[] {"0.0.0.0", "10.213.0.1", "255.255.255.255", "192.168.1.200"}) {
            assertEquals(a, Subnet.format(Subnet.parseAddress(a)));
        }
        assertEquals(0x0AD50001, Subnet.parseAddress("10.213.0.1"));
    }

    @Test
    void badSubnetsAreOneClearLine() {
        assertTrue(assertThrows(ContainerError.class, () -> Subnet.parse("10.213.0.5/24")).getMessage()
                .contains("did you mean 10.213.0.0/24?"));
        assertTrue(assertThrows(ContainerError.class, () -> Subnet.parse("10.213.0.0")).getMessage()
                .startsWith("invalid subnet \"10.213.0.0\""));
        assertThrows(ContainerError.class, () -> Subnet.parse("10.213.0.0/31"));
        assertThrows(ContainerError.class, () -> Subnet.parse("10.213.0.256/24"));
        assertThrows(ContainerError.class, () -> Subnet.parse("10.213..0/24"));
        assertThrows(ContainerError.class, () -> Subnet.parse("a.b.c.d/24"));
    }

    @Test
    void overlapIsContainmentEitherWay() {
        Subnet small = Subnet.parse("10.213.5.0/24");
        assertTrue(small.overlaps(Subnet.parse("10.0.0.0/8")));
        assertTrue(Subnet.parse("10.0.0.0/8").overlaps(small));
        assertFalse(small.overlaps(Subnet.parse("10.213.6.0/24")));
        assertTrue(small.contains(Subnet.parseAddress("10.213.5.77")));
        assertFalse(small.contains(Subnet.parseAddress("10.213.6.77")));
    }
}
