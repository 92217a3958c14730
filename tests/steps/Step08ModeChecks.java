import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

import jocker.kernel.HostPrograms;

/**
 * Step 08 network, black-box: the other two modes, the image's own /etc files, and the errors.
 * {@code --network none} has only lo, and it is up; {@code --network host} sees the host's
 * interfaces; the container's /etc/hosts, /etc/hostname and /etc/resolv.conf cover the image's,
 * which stay as they were; a port the host already has, a subnet that collides with the host's and
 * a mode that does not exist are one line and exit 125, with nothing left. Helpers are
 * {@link Step08Checks}'.
 */
@DisplayName("step 08 network: none, host, /etc files and errors")
@ExtendWith(JockerExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class Step08ModeChecks {
    private static final Step08Checks.Concept MODES = Step08Checks.Concept.MODES, ETC = Step08Checks.Concept.ETC,
            CLEANUP = Step08Checks.Concept.CLEANUP;

    private final Jocker jocker;

    Step08ModeChecks(Jocker jocker) {
        this.jocker = jocker;
    }

    /** The interface names of {@code ip -o link} output. */
    static Set<String> names(String ipLink) {
        Set<String> names = new TreeSet<>();
        for (String l : ipLink.lines().toList()) {
            String[] w = l.split(":\\s+", 3);
            if (w.length >= 2) names.add(w[1].replaceFirst("@.*", ""));
        }
        return names;
    }

    static Set<String> hostInterfaces() throws IOException {
        try (Stream<Path> s = Files.list(Path.of("/sys/class/net"))) {
            return new TreeSet<>(s.map(p -> p.getFileName().toString()).toList());
        }
    }

    @Test
    @Essential
    @Order(1)
    @DisplayName("--network none: only lo, and it is up; /etc/hosts names no address; no veth, no lease")
    void none() {
        Jocker.Result r = jocker.run(jocker.container(List.of("--network", "none"), "sh", "-c",
                "ip -o link; echo --; ip -4 -o addr; echo --; cat /etc/hosts"));
        Step08Checks.succeeds(r, "run --network none", MODES);
        List<String> s = Step08Checks.sections(r);
        Step08Checks.check(r, s.size() == 3 && names(s.get(0)).equals(Set.of("lo")), "expected --network none to give the"
                + " container a network namespace with nothing but lo", MODES);
        Step08Checks.check(r, s.get(0).matches("(?s).*<[^>]*\\bUP\\b[^>]*>.*") && s.get(1).matches("(?s).*lo\\s+inet 127\\.0\\.0\\.1/8.*"),
                "expected lo to be up, with 127.0.0.1/8, as Docker has it", MODES);
        Step08Checks.check(r, s.get(2).contains("localhost") && !s.get(2).contains("10.213."),
                "expected /etc/hosts to name localhost and no address of a network", ETC);
        Step08Checks.assertNothingLeft(jocker, r);
    }

    @Test
    @Order(2)
    @DisplayName("--network host: the container sees the host's interfaces; no veth, no lease")
    void host() throws IOException {
        Set<String> before = hostInterfaces();
        Jocker.Result r = jocker.run(jocker.container(List.of("--network", "host"), "ip", "-o", "link"));
        Set<String> steady = hostInterfaces();
        steady.retainAll(before);
        steady.removeIf(n -> n.startsWith("veth") || n.startsWith("jkt"));   // other checks' come and go
        Step08Checks.succeeds(r, "run --network host", MODES);
        Set<String> seen = names(r.stdout());
        Step08Checks.check(r, seen.containsAll(steady), "expected --network host to show the host's interfaces " + steady
                + " in the container (it stays in the host's network namespace); it saw " + seen, MODES);
        Step08Checks.assertNothingLeft(jocker, r);
    }

    @Test
    @Order(3)
    @DisplayName("the container's /etc/hosts, /etc/hostname and /etc/resolv.conf cover the image's, which stay as they were")
    void etcFilesCoverTheImagesOwn() throws IOException {
        String token = Jocker.token();
        Path tar = jocker.root().resolve("etc-" + token + ".tar");
        String imageHosts = "10.9.9.9 image-" + token + "\n", imageHostname = "image-" + token + "\n",
                imageResolv = "nameserver 127.0.0.53\nsearch image-" + token + "\n";
        try (TarArchiveOutputStream out = Step02Checks.tarOut(tar)) {
            Step02Checks.copyEntries(jocker.image(), out);     // the busybox image, plus three files of its own
            Step02Checks.file(out, "etc/hosts", imageHosts);
            Step02Checks.file(out, "etc/hostname", imageHostname);
            Step02Checks.file(out, "etc/resolv.conf", imageResolv);
        }
        String sum = Fixtures.sha256(tar);
        String hostname = Jocker.token("h");
        try {
            Jocker.Result r = jocker.run(Jocker.containerOf(tar.toString(), List.of("--network", "none", "--hostname", hostname),
                    "sh", "-c", "cat /etc/hosts; echo --; cat /etc/hostname; echo --; cat /etc/resolv.conf; echo --;"
                            + " echo 10.8.8.8 added >> /etc/hosts;"
                            + " umount /etc/hosts /etc/hostname /etc/resolv.conf && cat /etc/hosts /etc/hostname /etc/resolv.conf"));
            Step08Checks.succeeds(r, "a run of an image with its own /etc/hosts, /etc/hostname and /etc/resolv.conf", ETC);
            List<String> s = Step08Checks.sections(r);
            Step08Checks.check(r, s.size() == 4, "expected 4 sections of output, separated by lines \"--\"", ETC);
            Step08Checks.check(r, s.get(0).contains("localhost") && !s.get(0).contains("image-" + token),
                    "expected the container's own /etc/hosts over the image's", ETC);
            Step08Checks.check(r, s.get(1).equals(hostname + "\n"), "expected /etc/hostname to be the container's hostname", ETC);
            Step08Checks.check(r, !s.get(2).contains("image-" + token), "expected the container's own /etc/resolv.conf", ETC);
            Step08Checks.check(r, s.get(3).equals(imageHosts + imageHostname + imageResolv), "expected the image's own files"
                    + " under the container's (bind mounts over them, nothing written into the image), unchanged: what the"
                    + " container wrote to /etc/hosts went to its own file", ETC);
            Step08Checks.check(r, sum.equals(Fixtures.sha256(tar)), "expected the image to be left as it was", ETC);
            Step08Checks.assertNothingLeft(jocker, r);
        } finally {
            Files.deleteIfExists(tar);
        }
    }

    @Test
    @Order(4)
    @DisplayName("a published port the host already has: one line, exit 125, nothing left")
    void aTakenPort() throws IOException {
        try (ServerSocket hostService = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            int port = hostService.getLocalPort();
            Jocker.Result r = jocker.run(jocker.container(List.of("-p", port + ":80"), "true"));
            Step08Checks.check(r, r.exitCode() == 125 && r.stderrLines().size() == 1
                    && r.stderrLines().get(0).contains(Integer.toString(port)) && r.stdout().isEmpty(),
                    "expected a port the host has (" + port + ", a server on 127.0.0.1) to be refused: exit code 125, one line"
                            + " on stderr that names the port", CLEANUP);
            Step08Checks.assertNothingLeft(jocker, r);
        }
    }

    @Test
    @Order(5)
    @DisplayName("a subnet that collides with the host's routes, and a network mode that does not exist: one line, exit 125, nothing made")
    void badNetworks() {
        String other = jocker.network().bridge() + "c";
        Map<String, String> env = new HashMap<>(Map.of("JOCKER_BRIDGE", other, "JOCKER_SUBNET", "127.0.0.0/24"));
        try {
            Jocker.Result r = jocker.run(jocker.container("true"), env, null, Jocker.TIMEOUT);
            Step08Checks.check(r, r.exitCode() == 125 && r.stderrLines().size() == 1
                    && r.stderrLines().get(0).contains("127.0.0.0/24"), "expected a subnet that collides with the host's"
                    + " (127.0.0.0/24: the loopback's 127.0.0.0/8) to be refused: exit code 125, one line that names it", MODES);
            Step08Checks.check(r, !Files.exists(Path.of("/sys/class/net", other)) && !Files.exists(jocker.root().resolve("networks/" + other)),
                    "expected nothing of the refused network to be made (bridge " + other + ")", CLEANUP);
            Step08Checks.assertNothingLeft(jocker, r);
        } finally {
            if (Files.exists(Path.of("/sys/class/net", other))) {
                HostPrograms.run(List.of(HostPrograms.require("ip", "iproute2"), "link", "delete", other), "");
            }
        }
        Jocker.Result bogus = jocker.run(jocker.container(List.of("--network", "bogus"), "true"));
        Step08Checks.check(bogus, bogus.exitCode() == 125 && bogus.stderrLines().size() == 1
                && bogus.stderrLines().get(0).contains("bogus"), "expected --network bogus to be refused: exit code 125, one line", MODES);
        Step08Checks.assertNothingLeft(jocker, bogus);
    }

    @Test
    @Order(6)
    @DisplayName("network ls lists the network and its subnet; network rm removes its bridge, rules and chains, and refuses a network that is not there")
    void networkRm() {
        String name = jocker.network().bridge();   // a network is named after its bridge here (JOCKER_BRIDGE)
        Step08Checks.ensureBridge(jocker);
        Jocker.Result ls = jocker.run(List.of("network", "ls"));
        Step08Checks.succeeds(ls, "network ls", CLEANUP);
        Step08Checks.check(ls, ls.stdout().lines().anyMatch(l -> l.startsWith(name + " ") && l.contains(".0/24")),
                "expected network ls to list the network " + name + " with its subnet", CLEANUP);
        Jocker.Result rm = jocker.run(List.of("network", "rm", name));
        Step08Checks.succeeds(rm, "network rm " + name, CLEANUP);
        List<String> left = new java.util.ArrayList<>();
        if (Files.exists(Path.of("/sys/class/net", name))) left.add("bridge " + name);
        if (Files.exists(jocker.root().resolve("networks/" + name))) left.add("directory networks/" + name);
        for (String table : List.of("nat", "filter")) {
            Step08Checks.iptables("-t", table, "-S").lines().filter(l -> l.contains(jocker.network().chains()))
                    .forEach(l -> left.add("iptables " + table + ": " + l));
        }
        Step08Checks.check(rm, left.isEmpty(), "expected network rm to remove the network's bridge, its rules and our chains,"
                + " found:\n  " + String.join("\n  ", left), CLEANUP);
        Jocker.Result again = jocker.run(List.of("network", "rm", name));
        Step08Checks.check(again, again.exitCode() == 125 && again.stderrLines().size() == 1
                && again.stderrLines().get(0).contains(name), "expected network rm of a network that is gone: exit code 125,"
                + " one line naming it", CLEANUP);
    }
}
