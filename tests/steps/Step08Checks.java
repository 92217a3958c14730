import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

import jocker.kernel.HostPrograms;

/**
 * Step 08 network, black-box: what a container on the bridge has and reaches. Each class has a
 * network of its own (a bridge jktXXXXXXXX, chains JKTXXXXXXXX, a subnet 10.213.N.0/24: see
 * {@link Jocker.TestNetwork}), removed after the class by its exact names, whatever happened; the
 * host's ip_forward is never touched, and every packet stays on loopback, the bridge and the
 * containers' namespaces.
 * <ul>
 *   <li>a container has lo and eth0 up, an address of the subnet with its prefix, a default route
 *       via the bridge, and reaches the bridge's address (TODO 08.2, TODO 08.3); its /etc/hosts
 *       names it with that address, /etc/hostname and /etc/resolv.conf are right;</li>
 *   <li>a container reaches a server the host listens with on the bridge address;</li>
 *   <li>two containers ping each other; five containers started at once, all alive at the same
 *       moment, get five different addresses (TODO 08.1);</li>
 *   <li>after every run, no veth is left on the bridge, no lease and no container's rule.</li>
 * </ul>
 * {@link Step08PortChecks} has published ports (TODO 08.4) and the sweep after a killed runtime,
 * {@link Step08ModeChecks} --network none and host, the image's own /etc files, and the errors.
 * The helpers here serve all three.
 */
@DisplayName("step 08 network: the bridge")
@ExtendWith(JockerExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class Step08Checks {

    private final Jocker jocker;

    Step08Checks(Jocker jocker) {
        this.jocker = jocker;
    }

    /** What a check is about, and where the chapter explains it. */
    enum Concept implements Hint {
        IPAM("08.1", "TODO 08.1"),
        VETH("08.2", "TODO 08.2: the endpoint"),
        SANDBOX("08.3", "TODO 08.3: the sandbox"),
        PUBLISH("08.4", "TODO 08.4"),
        /** Reaching anything over eth0 needs both: the veth pair up on the bridge, and eth0 configured. */
        REACH("08.2", "TODO 08.2: the endpoint", "08.3", "TODO 08.3: the sandbox"),
        MODES(null, "Network namespaces"),
        /** The files are given code, explained beside the sandbox they belong to. */
        ETC(null, "TODO 08.3: the sandbox"),
        CLEANUP(null, "The lifecycle of a container's network");

        final String todo;
        final String section;
        final String todo2;
        final String section2;

        Concept(String todo, String section) {
            this(todo, section, null, null);
        }

        Concept(String todo, String section, String todo2, String section2) {
            this.todo = todo;
            this.section = section;
            this.todo2 = todo2;
            this.section2 = section2;
        }

        @Override
        public String hint() {
            if (todo2 != null) {
                return "[TODO " + todo + " or TODO " + todo2 + "; read chapters/08-network.adoc, sections \"" + section
                        + "\" and \"" + section2 + "\"]";
            }
            return Hint.of("08-network.adoc", todo, section);
        }

        /**
         * The concept a failed run points at by its own words (the given code says which step of
         * the plumbing failed), else {@code otherwise}.
         */
        static Concept of(Jocker.Result r, Concept otherwise) {
            String err = r.stderr();
            Matcher todo = Pattern.compile("TODO\\((08\\.\\d)\\)").matcher(err);
            if (todo.find()) {
                for (Concept c : values()) if (c.todo2 == null && todo.group(1).equals(c.todo)) return c;
            }
            if (err.contains("failed to allocate")) return IPAM;
            if (err.contains("failed to create veth pair")) return VETH;
            if (err.contains("failed to configure eth0")) return SANDBOX;
            if (err.contains("iptables rule")) return PUBLISH;
            return otherwise;
        }
    }

    static void check(Jocker.Result r, boolean condition, String reason, Concept c) {
        if (!condition) fail(reason + " " + c.hint() + "\n" + r);
    }

    /** Fails unless {@code r} exited 0, naming the concept its error points at. */
    static void succeeds(Jocker.Result r, String what, Concept otherwise) {
        Hint.succeeds(r, what, Concept.of(r, otherwise));
    }

    // ------------------------------------------------------------------------------------------
    // What the host sees of a class's network
    // ------------------------------------------------------------------------------------------

    /** The interfaces plugged into the class's bridge now (the host ends of veth pairs). */
    static List<String> portsOnBridge(Jocker jocker) {
        try (Stream<Path> s = Files.list(Path.of("/sys/class/net", jocker.network().bridge(), "brif"))) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    /** The lease files under the class's state root. */
    static List<Path> leases(Jocker jocker) {
        Path networks = jocker.root().resolve("networks");
        if (!Files.isDirectory(networks)) return List.of();
        try (Stream<Path> s = Files.walk(networks)) {
            return s.filter(p -> p.getParent() != null && p.getParent().getFileName().toString().equals("leases")).sorted().toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    /** The rules of containers ({@code jocker:ID} comments) in the class's chains, as iptables -S shows them. */
    static List<String> containerRules(Jocker jocker) {
        List<String> rules = new ArrayList<>();
        for (String table : List.of("nat", "filter")) {
            for (String line : iptables("-t", table, "-S").lines().toList()) {
                if (line.startsWith("-A " + jocker.network().chains()) && line.contains("jocker:")) rules.add(table + ": " + line);
            }
        }
        return rules;
    }

    static String iptables(String... args) {
        List<String> argv = new ArrayList<>(List.of(HostPrograms.require("iptables", "iptables"), "-w"));
        argv.addAll(Arrays.asList(args));
        return HostPrograms.run(argv, "").output();
    }

    /** The container directories left under the state root. */
    static List<String> containers(Jocker jocker) {
        return jocker.leftovers().stream().map(p -> p.getFileName().toString()).toList();
    }

    /** After runs have ended: no veth on the bridge, no lease, no container's rule, no container directory. */
    static void assertNothingLeft(Jocker jocker, Jocker.Result r) {
        List<String> left = new ArrayList<>();
        portsOnBridge(jocker).forEach(p -> left.add("network interface " + p + " on bridge " + jocker.network().bridge()));
        leases(jocker).forEach(p -> left.add("lease " + p));
        containerRules(jocker).forEach(rule -> left.add("iptables rule " + rule));
        containers(jocker).forEach(d -> left.add("container directory " + d));
        check(r, left.isEmpty(), "expected nothing of the container's to be left once it ended (its veth, its lease, its"
                + " rules, its directory), found:\n  " + String.join("\n  ", left), Concept.CLEANUP);
    }

    /**
     * Makes sure the class's bridge exists (a server can listen on its address only then): the
     * network is made by a container's first run. Fails with that run if it is still missing.
     */
    static void ensureBridge(Jocker jocker) {
        if (Files.exists(Path.of("/sys/class/net", jocker.network().bridge()))) return;
        Jocker.Result r = jocker.run(jocker.container("true"));
        check(r, Files.exists(Path.of("/sys/class/net", jocker.network().bridge())), "expected a run to make the network's"
                + " bridge " + jocker.network().bridge() + " (JOCKER_BRIDGE), so that a server can listen on its address",
                Concept.of(r, Concept.VETH));
    }

    /** The sections of a run's stdout between lines "--". */
    static List<String> sections(Jocker.Result r) {
        return List.of(r.stdout().split("(?m)^--\n", -1));
    }

    static final Pattern ETH0_ADDRESS = Pattern.compile("eth0\\s+inet (10\\.213\\.\\d+\\.(\\d+))/(\\d+)");

    /** The address eth0 has in {@code ip -4 -o addr} output, or empty. */
    static Optional<String> eth0Address(String ipAddr) {
        Matcher m = ETH0_ADDRESS.matcher(ipAddr);
        return m.find() ? Optional.of(m.group(1)) : Optional.empty();
    }

    /**
     * A server on {@code address}: it accepts {@code n} connections, then writes {@code token} to
     * every one of them and closes them; after {@code wait} it does so with those it has.
     */
    static final class Barrier implements AutoCloseable {
        final ServerSocket server;
        final CompletableFuture<Integer> accepted = new CompletableFuture<>();

        Barrier(String address, int n, String token, Duration wait) throws IOException {
            server = new ServerSocket(0, 16, InetAddress.getByName(address));
            Thread t = new Thread(() -> {
                List<Socket> clients = new ArrayList<>();
                long deadline = System.nanoTime() + wait.toNanos();
                try {
                    while (clients.size() < n && System.nanoTime() < deadline) {
                        server.setSoTimeout((int) Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
                        try {
                            clients.add(server.accept());
                        } catch (SocketTimeoutException e) {
                            break;
                        }
                    }
                } catch (IOException e) {
                    // closed: answer those we have
                }
                for (Socket s : clients) {
                    try (s; OutputStream out = s.getOutputStream()) {
                        out.write((token + "\n").getBytes(StandardCharsets.US_ASCII));
                    } catch (IOException e) {
                        // that client is gone: its run says so
                    }
                }
                accepted.complete(clients.size());
            }, "barrier");
            t.setDaemon(true);
            t.start();
        }

        int port() { return server.getLocalPort(); }

        @Override
        public void close() throws IOException { server.close(); }
    }

    // ------------------------------------------------------------------------------------------
    // The checks
    // ------------------------------------------------------------------------------------------

    @Test
    @Essential
    @Order(1)
    @DisplayName("a container on the bridge has lo and eth0 up, an address of the subnet, a default route via the bridge, reaches the bridge's address, and its /etc/hosts, /etc/hostname and /etc/resolv.conf; nothing is left after")
    void aContainerOnTheBridge() {
        Jocker.TestNetwork net = jocker.network();
        String hostname = Jocker.token("h");
        Jocker.Result r = jocker.run(jocker.container(List.of("--hostname", hostname), "sh", "-c",
                "ip -o link; echo --; ip -4 -o addr; echo --; ip route; echo --;"
                        + " ping -c 1 -W 3 " + net.gateway() + " >/dev/null && echo reached; echo --;"
                        + " cat /etc/hosts; echo --; cat /etc/hostname; echo --; cat /etc/resolv.conf"));
        succeeds(r, "a run on the bridge network (the default)", Concept.VETH);
        List<String> s = sections(r);
        check(r, s.size() == 7, "expected 7 sections of output, separated by lines \"--\"", Concept.SANDBOX);
        List<String> links = s.get(0).lines().toList();
        Optional<String> eth0 = links.stream().filter(l -> l.matches("\\d+: eth0[@:].*")).findFirst();
        Optional<String> lo = links.stream().filter(l -> l.matches("\\d+: lo:.*")).findFirst();
        check(r, eth0.isPresent() && lo.isPresent() && links.size() == 2, "expected the container to have exactly two"
                + " interfaces, lo and eth0 (the veth pair's end, born in its network namespace with that name)", Concept.VETH);
        check(r, lo.get().matches(".*<[^>]*\\bUP\\b[^>]*>.*"), "expected lo to be up (ip link set lo up)", Concept.SANDBOX);
        check(r, eth0.get().matches(".*<[^>]*\\bUP\\b[^>]*>.*"), "expected eth0 to be up", Concept.SANDBOX);
        check(r, eth0.get().contains("LOWER_UP"), "expected eth0's carrier (LOWER_UP): the veth pair's host end must be up",
                Concept.VETH);

        Matcher m = ETH0_ADDRESS.matcher(s.get(1));
        check(r, m.find(), "expected eth0 to have an IPv4 address of 10.213.N.0/24 (ip -4 -o addr)", Concept.SANDBOX);
        String address = m.group(1);
        check(r, address.startsWith("10.213." + net.third() + ".") && m.group(3).equals("24"), "expected eth0's address"
                + " to be in the network's subnet " + net.subnet() + ", with its prefix /24", Concept.SANDBOX);
        int last = Integer.parseInt(m.group(2));
        check(r, last >= 2 && last <= 254, "expected an address other than the network's (.0), the gateway's (.1) and the"
                + " broadcast address (.255)", Concept.IPAM);
        check(r, s.get(1).contains("lo    inet 127.0.0.1/8") || s.get(1).matches("(?s).*lo\\s+inet 127\\.0\\.0\\.1/8.*"),
                "expected lo to have 127.0.0.1/8 (it has, once it is up)", Concept.SANDBOX);
        check(r, s.get(2).lines().anyMatch(l -> l.startsWith("default via " + net.gateway() + " dev eth0")),
                "expected a default route via the bridge's address " + net.gateway() + " (ip route)", Concept.SANDBOX);
        check(r, s.get(3).strip().equals("reached"), "expected the container to reach the bridge's address " + net.gateway()
                + " (ping): the host end of the veth pair must be a port of the bridge " + net.bridge() + " and up", Concept.VETH);

        List<String> hosts = s.get(4).lines().map(String::strip).toList();
        check(r, hosts.contains("127.0.0.1\tlocalhost") || hosts.stream().anyMatch(l -> l.matches("127\\.0\\.0\\.1\\s+localhost.*")),
                "expected /etc/hosts to name localhost 127.0.0.1", Concept.ETC);
        check(r, hosts.stream().anyMatch(l -> l.matches(Pattern.quote(address) + "\\s+" + Pattern.quote(hostname) + "(\\s.*)?")),
                "expected /etc/hosts to name the container, " + hostname + ", with its address " + address, Concept.ETC);
        check(r, s.get(5).equals(hostname + "\n"), "expected /etc/hostname to hold the container's hostname", Concept.ETC);
        List<String> servers = s.get(6).lines().map(String::strip).filter(l -> l.startsWith("nameserver")).toList();
        check(r, !servers.isEmpty() && servers.stream().noneMatch(l -> l.matches("nameserver\\s+(127\\..*|::1)")),
                "expected /etc/resolv.conf to have nameservers, none on loopback (the container's lo is not the host's)", Concept.ETC);
        assertNothingLeft(jocker, r);
    }

    @Test
    @Order(2)
    @DisplayName("a container reaches a server that listens on the bridge's address on the host")
    void aServerOnTheBridgeAddress() throws IOException {
        ensureBridge(jocker);
        String token = Jocker.token();
        try (Barrier server = new Barrier(jocker.network().gateway(), 1, token, Duration.ofSeconds(30))) {
            Jocker.Result r = jocker.run(jocker.container("nc", jocker.network().gateway(), Integer.toString(server.port())));
            succeeds(r, "nc GATEWAY PORT in a container", Concept.REACH);
            check(r, r.stdout().equals(token + "\n"), "expected the container to read the token " + token + " from a server"
                    + " on the bridge's address " + jocker.network().gateway() + ":" + server.port(), Concept.REACH);
            assertNothingLeft(jocker, r);
        }
    }

    @Test
    @Order(3)
    @DisplayName("two containers on the bridge ping each other, and have two different addresses")
    void twoContainersPingEachOther() {
        Jocker.Running a = jocker.start(jocker.container("sh", "-c",
                "trap 'exit 0' TERM; ip -4 -o addr show eth0; echo ready; sleep 30 & wait"));
        boolean ready = a.awaitOutput("ready", Jocker.TIMEOUT);
        Optional<String> addressA = eth0Address(a.stdoutSoFar());
        Jocker.Result b = null;
        if (ready && addressA.isPresent()) {
            b = jocker.run(jocker.container("sh", "-c", "ip -4 -o addr show eth0; ping -c 2 -W 3 " + addressA.get()));
        }
        a.signal("TERM");
        Jocker.Result first = a.await();
        check(first, ready && addressA.isPresent(), "expected the first container to print its eth0 address and \"ready\"",
                Concept.of(first, Concept.SANDBOX));
        succeeds(b, "a second container's ping of the first one's address " + addressA.get(), Concept.REACH);
        Optional<String> addressB = eth0Address(b.stdout());
        check(b, addressB.isPresent() && !addressB.get().equals(addressA.get()), "expected the second container to have an"
                + " address other than the first one's, " + addressA.get(), Concept.IPAM);
        check(first, first.exitCode() == 0, "expected the first container to end with 0 on TERM", Concept.CLEANUP);
        assertNothingLeft(jocker, b);
    }

    @Test
    @Order(4)
    @DisplayName("five containers started at once, all running at the same moment, get five different addresses")
    void fiveAtOnce() throws IOException {
        ensureBridge(jocker);
        int n = 5;
        String token = Jocker.token();
        List<Jocker.Result> results = new ArrayList<>();
        try (Barrier barrier = new Barrier(jocker.network().gateway(), n, token, Duration.ofSeconds(50))) {
            // Each prints its address, then waits at the barrier until all five are connected.
            List<Jocker.Running> runs = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                runs.add(jocker.start(jocker.container("sh", "-c", "ip -4 -o addr show eth0; nc " + jocker.network().gateway()
                        + " " + barrier.port())));
            }
            for (Jocker.Running run : runs) results.add(run.await(Duration.ofSeconds(60)));
        }
        Set<String> addresses = new LinkedHashSet<>();
        for (Jocker.Result r : results) {
            succeeds(r, "each of five containers started at once (each printing its address, then waiting at a server on"
                    + " the bridge's address until all five are there)", Concept.REACH);
            Optional<String> a = eth0Address(r.stdout());
            check(r, a.isPresent(), "expected each container to print its eth0 address", Concept.SANDBOX);
            check(r, r.stdout().endsWith(token + "\n"), "expected each container to get through the barrier (a server on the"
                    + " bridge's address that answers once all five are connected)", Concept.REACH);
            addresses.add(a.get());
        }
        check(results.get(n - 1), addresses.size() == n, "expected five different addresses, got " + addresses
                + " (one per container: the choice is made under the networks' lock, from the leases there are)", Concept.IPAM);
        assertNothingLeft(jocker, results.get(n - 1));
    }
}
