package jocker.network;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import jocker.kernel.HostPrograms;
import jocker.kernel.Linux;
import jocker.kernel.NetworkObjects;
import jocker.runtime.ContainerError;
import jocker.runtime.UndoLog;
import jocker.runtime.UndoLogs;

/**
 * Networks on the real kernel: a bridge, veth pairs into network namespaces of test processes,
 * NAT rules, and real traffic through them. Root only. Every name is this test's own (bridge
 * {@code jktNNNNN}, chains {@code JKTNNNNN}, a subnet in 10.213.200-249.0/24), and @AfterEach removes
 * all of it even when a test failed. No packet leaves the machine: the traffic stays on loopback,
 * the bridge and the test's namespaces, and ip_forward is not touched (forwarding=false).
 */
class NetworkKernelTest {
    @TempDir Path root;

    private final String tag = String.format("%05d", ThreadLocalRandom.current().nextInt(100000));
    private final String bridge = "jkt" + tag;
    private final String chains = "JKT" + tag;
    private final ReferenceHooks hooks = new ReferenceHooks();
    private final List<Process> sandboxes = new ArrayList<>();
    private final List<String> links = new ArrayList<>();
    private Network network;

    @BeforeEach
    void rootWithTools() {
        assumeTrue(Linux.geteuid() == 0, "needs root");
        assumeTrue(Files.isDirectory(Path.of("/sys/class/net")), "needs /sys/class/net");
        for (String program : List.of("ip", "iptables", "iptables-restore", "unshare")) {
            assumeTrue(HostPrograms.find(program).isPresent(), "needs " + program);
        }
    }

    @AfterEach
    void removeEverythingOfOurs() throws IOException {
        for (Process p : sandboxes) {
            p.destroyForcibly();
            try {
                p.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (String link : links) NetworkObjects.deleteLink(link);
        // Our chains have names of their own: take the jumps out, then flush and delete them.
        Nat nat = new Nat(chains);
        Iptables.delete(nat.jumps());
        for (String[] c : new String[][] {{"nat", nat.dnatChain()}, {"nat", nat.postroutingChain()},
                {"filter", nat.forwardChain()}}) {
            if (Iptables.chainExists(c[0], c[1])) {
                HostPrograms.run(List.of(HostPrograms.require("iptables", "iptables"), "-w", "-t", c[0], "-F", c[1]), "");
                Iptables.deleteChainIfEmpty(c[0], c[1]);
            }
        }
        NetworkObjects.deleteLink(bridge);
        assertNothingLeft();
    }

    private void assertNothingLeft() {
        assertFalse(Files.exists(Path.of("/sys/class/net", bridge)), "bridge " + bridge + " is left");
        for (String link : links) assertFalse(Files.exists(Path.of("/sys/class/net", link)), link + " is left");
        for (String table : List.of("nat", "filter")) {
            String rules = HostPrograms.run(List.of(HostPrograms.require("iptables", "iptables"), "-w", "-t", table, "-S"), "").output();
            assertFalse(rules.contains(chains) || rules.contains(bridge), "rules of ours left in " + table + ":\n" + rules);
        }
    }

    // ------------------------------------------------------------------------------------------

    @Test
    void containersReachTheBridgeEachOtherAndPublishedPorts() throws Exception {
        network = ensure();
        Network again = Network.ensure(root, new Network.Spec(bridge, bridge, network.subnet(), chains, false));
        assertEquals(network.subnet(), again.subnet(), "a second use finds the same network");
        assertEquals(Subnet.format(network.gateway()) + "/24",
                run("ip", "-4", "-o", "addr", "show", "dev", bridge).output().split("\\s+")[3]);
        assertEquals("1", Sysctl.read(Sysctl.routeLocalnet(bridge)));

        int pidA = sandbox();
        int pidB = sandbox();
        Endpoint a = plug(pidA);
        Endpoint b = plug(pidB);
        assertEquals("10.213." + (network.subnet().network() >>> 8 & 255) + ".2", a.address());
        assertEquals(Subnet.format(a.addressValue() + 1), b.address());

        // eth0 is configured inside, lo is up, the default route goes through the bridge
        String inside = Sandbox.of(pidA).run(List.of(HostPrograms.require("ip", "iproute2"), "-o", "-4", "addr"), "").output();
        assertTrue(inside.contains("lo    inet 127.0.0.1/8"), inside);
        assertTrue(inside.contains("eth0    inet " + a.addressWithPrefix()), inside);
        String routes = Sandbox.of(pidA).run(List.of(HostPrograms.require("ip", "iproute2"), "route"), "").output();
        assertTrue(routes.contains("default via " + a.gateway() + " dev eth0"), routes);

        // a container reaches a server on the bridge address
        try (ServerSocket host = new ServerSocket(0, 5, InetAddress.getByName(a.gateway()))) {
            String token = serveOnce(host);
            assertEquals(token, inside(pidA, () -> fetch(a.gateway(), host.getLocalPort())));
        }
        // two containers reach each other through the bridge
        try (ServerSocket inB = inside(pidB, () -> new ServerSocket(7000, 5, InetAddress.getByName(b.address())))) {
            String token = serveOnce(inB);
            assertEquals(token, inside(pidA, () -> fetch(b.address(), 7000)));
        }
        // a published port is reached from the host at 127.0.0.1 (the hairpin) and at the bridge address
        int hostPort = freePort();
        PortMapping p = PortMapping.parse(hostPort + ":80");
        try (PortReservation held = PortReservation.reserve(List.of(p))) {
            List<Rule> rules = hooks.publishRules(p, b, network.nat());
            network.nat().add(rules);
            try (ServerSocket web = inside(pidB, () -> new ServerSocket(80, 5))) {
                String first = serveOnce(web);
                assertEquals(first, fetch("127.0.0.1", hostPort));
                String second = serveOnce(web);
                assertEquals(second, fetch(a.gateway(), hostPort));
            }
            assertTrue(network.nat().delete(rules));
        }

        // release: veths, leases; then the network, which leaves nothing
        a.remove();
        b.remove();
        network.ipam().release(a.addressValue(), a.containerId());
        network.ipam().release(b.addressValue(), b.containerId());
        assertFalse(Files.exists(Path.of("/sys/class/net", a.hostEnd())));
        network.remove();
        assertNothingLeft();
        assertFalse(Files.exists(network.dir()));
    }

    @Test
    void theSweepUndoesWhatAKilledRuntimeLeft() throws Exception {
        network = ensure();
        Path containerDir = Files.createDirectories(root.resolve("containers/c1"));
        UndoLog undo = UndoLogs.create(containerDir);
        String id = newId();
        int address = network.ipam().allocate(id, hooks, lease -> undo.recordLease(lease, id));
        Endpoint e = new Endpoint(id, network, address);
        links.add(e.hostEnd());
        int pid = sandbox();
        e.create(pid, hooks, undo::recordLink);
        List<Rule> rules = hooks.publishRules(PortMapping.parse(freePort() + ":80"), e, network.nat());
        for (Rule r : rules) undo.recordRule(r.args("-A"));
        network.nat().add(rules);
        assertEquals(List.of(UndoLog.Kind.LEASE, UndoLog.Kind.LINK, UndoLog.Kind.RULE, UndoLog.Kind.RULE),
                undo.entries().stream().map(UndoLog.Entry::kind).toList());

        // The runtime is "killed" here: nothing is released. A later run, of any step, reads the
        // container's undo log and undoes it (Leftovers.sweep): the same replay as here.
        assertTrue(UndoLogs.replay(containerDir));
        assertFalse(Files.exists(Path.of("/sys/class/net", e.hostEnd())), "veth left");
        assertFalse(Files.exists(network.ipam().leaseFile(address)), "lease left");
        for (Rule r : rules) assertFalse(Iptables.exists(r), "rule left: " + r);
        assertTrue(UndoLogs.replay(containerDir), "undoing twice does nothing");
        network.remove();
    }

    @Test
    void aSubnetThatCollidesIsRefusedAndNothingIsMade() throws Exception {
        network = ensure();
        String other = "jkt" + String.format("%05d", (Integer.parseInt(tag) + 1) % 100000);
        Subnet overlapping = Subnet.parse(Subnet.format(network.subnet().network()) + "/25");
        ContainerError e = assertThrows(ContainerError.class, () -> Network.ensure(root,
                new Network.Spec(other, other, overlapping, chains, false)));
        assertTrue(e.getMessage().startsWith("failed to create network bridge " + other + ": its subnet " + overlapping
                + " collides with the host's route \"" + network.subnet() + " dev " + bridge), e.getMessage());
        assertFalse(Files.exists(Path.of("/sys/class/net", other)));
        assertFalse(Files.exists(Network.networksDir(root).resolve(other)));
        network.remove();
    }

    @Test
    void aTakenPortIsOneLineAndNothingIsHeld() throws Exception {
        try (ServerSocket hostService = new ServerSocket(0, 5, InetAddress.getByName("127.0.0.1"))) {
            int port = hostService.getLocalPort();
            ContainerError e = assertThrows(ContainerError.class,
                    () -> PortReservation.reserve(List.of(PortMapping.parse("9:9"), PortMapping.parse(port + ":80"))));
            assertEquals("failed to publish port 0.0.0.0:" + port + "->80/tcp: 0.0.0.0:" + port + "/tcp is already in use",
                    e.getMessage());
        }
        int port = freePort();
        try (PortReservation first = PortReservation.reserve(List.of(PortMapping.parse(port + ":80")))) {
            assertThrows(ContainerError.class, () -> PortReservation.reserve(List.of(PortMapping.parse(port + ":81"))),
                    "a second container cannot have it");
        }
        PortReservation.reserve(List.of(PortMapping.parse(port + ":80"))).close();   // given back
    }

    // ------------------------------------------------------------------------------------------

    /** Our network, on a subnet of 10.213.200-249.0/24 that collides with nothing (another is tried if it does). */
    private Network ensure() {
        for (int attempt = 0; ; attempt++) {
            int third = 200 + ThreadLocalRandom.current().nextInt(50);
            try {
                return Network.ensure(root, new Network.Spec(bridge, bridge, Subnet.parse("10.213." + third + ".0/24"), chains, false));
            } catch (ContainerError e) {
                if (!e.getMessage().contains("collides") || attempt == 5) throw e;
            }
        }
    }

    /** A process in a network namespace of its own, and its pid once it is in it. */
    private int sandbox() throws Exception {
        Process p = new ProcessBuilder(HostPrograms.require("unshare", "util-linux"), "-n", "sleep", "30").start();
        sandboxes.add(p);
        String mine = Files.readSymbolicLink(Path.of("/proc/self/ns/net")).toString();
        Path ns = Path.of("/proc/" + p.pid() + "/ns/net");
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (Files.readSymbolicLink(ns).toString().equals(mine)) {   // unshare has not run yet
            if (System.nanoTime() > deadline) throw new IllegalStateException("unshare -n did not unshare");
            Thread.sleep(2);
        }
        return (int) p.pid();
    }

    private Endpoint plug(int pid) {
        String id = newId();
        int address = network.ipam().allocate(id, hooks, lease -> {});
        Endpoint e = new Endpoint(id, network, address);
        links.add(e.hostEnd());
        e.create(pid, hooks, name -> {});
        return e;
    }

    private static String newId() {
        byte[] b = new byte[32];
        ThreadLocalRandom.current().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    private static HostPrograms.Result run(String... argv) {
        List<String> a = new ArrayList<>(List.of(argv));
        a.set(0, HostPrograms.require(a.get(0), "iproute2"));
        return HostPrograms.run(a, "");
    }

    /** Runs {@code what} on a new thread that has joined the network namespace of {@code pid}. */
    private static <T> T inside(int pid, Callable<T> what) throws Exception {
        CompletableFuture<T> result = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                Sandbox.of(pid).join();
                result.complete(what.call());
            } catch (Throwable e) {
                result.completeExceptionally(e);
            }
        });
        t.start();
        return result.get(10, TimeUnit.SECONDS);
    }

    /** Accepts one connection on {@code server} (in the background) and writes a fresh token to it. */
    private static String serveOnce(ServerSocket server) {
        String token = newId().substring(0, 16);
        Thread t = new Thread(() -> {
            try (Socket s = server.accept()) {
                s.getOutputStream().write(token.getBytes(StandardCharsets.US_ASCII));
            } catch (IOException e) {
                // the test's fetch fails and says so
            }
        });
        t.setDaemon(true);
        t.start();
        return token;
    }

    private static String fetch(String address, int port) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(address, port), 3000);
            s.setSoTimeout(3000);
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
