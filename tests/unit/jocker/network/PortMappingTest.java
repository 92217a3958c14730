package jocker.network;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

import jocker.runtime.ContainerError;

/** Docker's -p spellings, and one clear line for each way to get it wrong. */
class PortMappingTest {

    @Test
    void hostPortAndContainerPort() {
        assertEquals(new PortMapping("0.0.0.0", 8080, 80, "tcp"), PortMapping.parse("8080:80"));
        assertEquals(new PortMapping("0.0.0.0", 5353, 53, "udp"), PortMapping.parse("5353:53/udp"));
        assertEquals(new PortMapping("0.0.0.0", 8080, 80, "tcp"), PortMapping.parse("8080:80/TCP"));
    }

    @Test
    void withAHostAddress() {
        assertEquals(new PortMapping("127.0.0.1", 8080, 80, "tcp"), PortMapping.parse("127.0.0.1:8080:80"));
        assertEquals(new PortMapping("0.0.0.0", 8080, 80, "tcp"), PortMapping.parse(":8080:80"));
        assertEquals("127.0.0.1:8080->80/udp", PortMapping.parse("127.0.0.1:8080:80/udp").toString());
    }

    @Test
    void specRoundTrips() {
        PortMapping p = PortMapping.parse("127.0.0.1:8080:80/udp");
        assertEquals(p, PortMapping.parse(p.spec()));
    }

    @Test
    void badValuesSayWhatIsWrong() {
        assertEquals("invalid value \"80\" for --publish: give the host port as well: HOSTPORT:CONTAINERPORT, e.g. 8080:80",
                message("80"));
        assertEquals("invalid value \"8080:http\" for --publish: the container port \"http\" is not a number from 1 to 65535",
                message("8080:http"));
        assertEquals("invalid value \"0:80\" for --publish: the host port \"0\" is not a number from 1 to 65535",
                message("0:80"));
        assertEquals("invalid value \"8080:70000\" for --publish: the container port \"70000\" is not a number from 1 to 65535",
                message("8080:70000"));
        assertEquals("invalid value \"8080:80/sctp\" for --publish: the protocol \"sctp\" is neither tcp nor udp",
                message("8080:80/sctp"));
        assertEquals("invalid value \"localhost:8080:80\" for --publish: the host address \"localhost\" is not an IPv4 address",
                message("localhost:8080:80"));
        assertEquals("invalid value \"8080-8081:80\" for --publish: port ranges are not supported", message("8080-8081:80"));
        assertEquals("invalid value \"[::1]:8080:80\" for --publish: IPv6 addresses are not supported: networks here are IPv4 only",
                message("[::1]:8080:80"));
        assertEquals("invalid value \"1:2:3:4\" for --publish: use [IP:]HOSTPORT:CONTAINERPORT[/tcp|/udp], e.g. 127.0.0.1:8080:80",
                message("1:2:3:4"));
        assertEquals("invalid value \"+80:80\" for --publish: the host port \"+80\" is not a number from 1 to 65535",
                message("+80:80"));
    }

    private static String message(String spec) {
        return assertThrows(ContainerError.class, () -> PortMapping.parse(spec)).getMessage();
    }
}
