package jocker.network;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The container's resolv.conf, hosts and hostname. */
class ResolvConfTest {

    @Test
    void loopbackAndIpv6NameserversAreDropped() {
        String host = "# from the host\nnameserver 127.0.0.53\nnameserver 10.255.255.53\nnameserver ::1\n"
                + "nameserver fd00::1\nsearch example.org\noptions edns0 trust-ad\n";
        assertEquals("# from the host\nnameserver 10.255.255.53\nsearch example.org\noptions edns0 trust-ad\n",
                ResolvConf.forContainer(host));
    }

    @Test
    void nothingLeftMeansPublicResolversAsDocker() {
        String out = ResolvConf.forContainer("nameserver 127.0.0.1\nsearch lan\n");
        assertEquals(List.of("8.8.8.8", "8.8.4.4"), ResolvConf.nameservers(out));
        assertTrue(out.contains("search lan\n"), out);
        assertEquals(List.of("8.8.8.8", "8.8.4.4"), ResolvConf.nameservers(ResolvConf.forContainer("")));
    }

    @Test
    void hostsNamesTheContainer() {
        String hosts = EtcFiles.hosts("box", "10.213.0.2");
        assertTrue(hosts.startsWith("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"), hosts);
        assertTrue(hosts.endsWith("\n10.213.0.2\tbox\n"), hosts);
        assertTrue(!EtcFiles.hosts("box", null).contains("box"));
    }

    @Test
    void filesAreWrittenIntoTheContainerDirectoryAndBindMounted(@TempDir Path dir) throws Exception {
        var mounts = EtcFiles.write(dir, "box", "10.213.0.2", "nameserver 10.0.0.1\n");
        assertEquals(List.of("/etc/hosts", "/etc/hostname", "/etc/resolv.conf"),
                mounts.stream().map(m -> m.destination).toList());
        assertEquals(dir.resolve("hostname").toString(), mounts.get(1).source);
        assertEquals(List.of("bind"), mounts.get(1).options);
        assertEquals("box\n", Files.readString(dir.resolve("hostname")));
        assertEquals("nameserver 10.0.0.1\n", Files.readString(dir.resolve("resolv.conf")));
    }
}
