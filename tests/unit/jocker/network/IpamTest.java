package jocker.network;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import jocker.runtime.ContainerError;

/** Address allocation: lowest free first, never twice, not even from several threads and processes at once. */
class IpamTest {
    static final String A = "a".repeat(64), B = "b".repeat(64);

    private static Ipam ipam(Path networks, String subnet) {
        return new Ipam(networks.resolve("test"), networks, Subnet.parse(subnet));
    }

    @Test
    void theReferenceChoiceSkipsNetworkGatewayBroadcastAndTaken() {
        Subnet s = Subnet.parse("10.213.0.0/30");   // .0 network, .1 gateway, .2 the only one, .3 broadcast
        ReferenceHooks hooks = new ReferenceHooks();
        assertEquals(s.network() + 2, hooks.chooseAddress(s, Set.of()));
        assertNull(hooks.chooseAddress(s, Set.of(s.network() + 2)));
        Subnet t = Subnet.parse("10.213.0.0/24");
        assertEquals(t.network() + 3, hooks.chooseAddress(t, Set.of(t.network() + 2, t.network() + 4)));
    }

    @Test
    void leasesAreFilesNamingTheirContainer(@TempDir Path tmp) throws Exception {
        Ipam ipam = ipam(tmp, "10.213.0.0/24");
        List<Path> recorded = new ArrayList<>();
        int a = ipam.allocate(A, new ReferenceHooks(), recorded::add);
        assertEquals("10.213.0.2", Subnet.format(a));
        assertEquals(List.of(tmp.resolve("test/leases/10.213.0.2")), recorded, "told before the lease is made");
        assertEquals(A, Files.readString(ipam.leaseFile(a)));
        int b = ipam.allocate(B, new ReferenceHooks(), p -> {});
        assertEquals("10.213.0.3", Subnet.format(b));
        ipam.release(a, B);                                   // not B's: stays
        assertEquals(A, ipam.owner(a));
        ipam.release(a, A);
        assertNull(ipam.owner(a));
        assertEquals(a, ipam.allocate(B, new ReferenceHooks(), p -> {}), "a released address is given again");
    }

    @Test
    void aFullSubnetIsOneClearLine(@TempDir Path tmp) {
        Ipam ipam = ipam(tmp, "10.213.0.0/30");
        ipam.allocate(A, new ReferenceHooks(), p -> {});
        String m = assertThrows(ContainerError.class, () -> ipam.allocate(B, new ReferenceHooks(), p -> {})).getMessage();
        assertEquals("failed to allocate an address in 10.213.0.0/30: all 1 are in use", m);
    }

    @Test
    void aChoiceOfTheGatewayIsRefused(@TempDir Path tmp) {
        Ipam ipam = ipam(tmp, "10.213.0.0/24");
        NetworkHooks wrong = new ReferenceHooks() {
            @Override public Integer chooseAddress(Subnet s, Set<Integer> taken) { return s.gateway(); }
        };
        assertTrue(assertThrows(ContainerError.class, () -> ipam.allocate(A, wrong, p -> {})).getMessage()
                .contains("10.213.0.1 was chosen, but it is not an address a container may have"));
    }

    @Test
    void anEmptyLeaseOfADeadAllocatorIsReleased(@TempDir Path tmp) throws Exception {
        Ipam ipam = ipam(tmp, "10.213.0.0/24");
        Path lease = ipam.leaseFile(Subnet.parseAddress("10.213.0.9"));
        Files.createDirectories(lease.getParent());
        Files.createFile(lease);                              // made, never written: its maker died
        ipam.release(Subnet.parseAddress("10.213.0.9"), A);
        assertTrue(Files.notExists(lease));
    }

    @Test
    void manyThreadsAtOnceGetDifferentAddresses(@TempDir Path tmp) throws Exception {
        Ipam ipam = ipam(tmp, "10.213.0.0/24");
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<Integer>> got = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                String id = String.format("%064x", i);
                got.add(pool.submit(() -> ipam.allocate(id, new ReferenceHooks(), p -> {})));
            }
            Set<Integer> distinct = new HashSet<>();
            for (Future<Integer> f : got) distinct.add(f.get(10, TimeUnit.SECONDS));
            assertEquals(40, distinct.size());
            assertEquals(40, ipam.taken().size());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void severalProcessesAtOnceGetDifferentAddresses(@TempDir Path tmp) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<Process> probes = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            probes.add(new ProcessBuilder(java, "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto",
                    "-cp", System.getProperty("java.class.path"), IpamProbe.class.getName(),
                    tmp.toString(), "10.213.0.0/24", "15").redirectErrorStream(true).start());
        }
        List<String> all = new ArrayList<>();
        for (Process p : probes) {
            String out = new String(p.getInputStream().readAllBytes());
            assertTrue(p.waitFor(20, TimeUnit.SECONDS) && p.exitValue() == 0, out);
            all.addAll(out.lines().toList());
        }
        assertEquals(45, all.size(), all.toString());
        assertEquals(45, new HashSet<>(all).size(), "an address was given twice: " + all);
    }

}
