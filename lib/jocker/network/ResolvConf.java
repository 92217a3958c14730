package jocker.network;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The container's {@code /etc/resolv.conf} (man 5 resolv.conf): the host's, with the nameservers a
 * container cannot reach taken out. A loopback nameserver (127.0.0.53 of systemd-resolved,
 * 127.0.0.1 of dnsmasq) is the host's own loopback, which the container's {@code lo} is not; an
 * IPv6 one is unreachable from our IPv4-only network. If none is left, Google's public DNS
 * (8.8.8.8, 8.8.4.4), as Docker does; {@code search} and {@code options} lines stay.
 *
 * <p>Like Docker, when the host's file names only systemd-resolved's stub (127.0.0.53), we read
 * the file systemd-resolved keeps with the real upstream servers instead.
 */
public final class ResolvConf {
    private ResolvConf() {}

    public static final Path HOST = Path.of("/etc/resolv.conf");
    /** systemd-resolved's list of upstream servers (systemd-resolved.service(8)). */
    public static final Path SYSTEMD_UPSTREAM = Path.of("/run/systemd/resolve/resolv.conf");
    public static final List<String> FALLBACK = List.of("8.8.8.8", "8.8.4.4");

    /** The host's resolv.conf to start from: systemd-resolved's upstream list if the stub is all there is. */
    public static String hostFile() {
        String text = read(HOST);
        List<String> servers = nameservers(text);
        if (!servers.isEmpty() && servers.stream().allMatch(s -> s.equals("127.0.0.53"))) {
            String upstream = read(SYSTEMD_UPSTREAM);
            return upstream.isEmpty() ? text : upstream;
        }
        return text;
    }

    // tag::rewrite[]
    /** {@code host}'s resolv.conf for a container on a bridge network. */
    public static String forContainer(String host) {
        List<String> out = new ArrayList<>();
        boolean kept = false;
        for (String line : host.lines().toList()) {
            String[] words = line.strip().split("\\s+");
            if (words.length >= 2 && words[0].equals("nameserver")) {
                if (!reachable(words[1])) continue;                 // the host's loopback is not ours
                kept = true;
            }
            out.add(line);
        }
        if (!kept) {
            out.add("# the host's nameservers are not reachable from a container: public ones instead");
            for (String s : FALLBACK) out.add("nameserver " + s);
        }
        return String.join("\n", out) + "\n";
    }
    // end::rewrite[]

    /** An IPv4 nameserver outside 127.0.0.0/8; IPv6 ones (::1 or not) are left out: our network has no IPv6. */
    static boolean reachable(String server) {
        if (server.contains(":")) return false;
        try {
            return (Subnet.parseAddress(server) >>> 24) != 127;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** The nameserver addresses of a resolv.conf. */
    static List<String> nameservers(String text) {
        return text.lines().map(String::strip).map(l -> l.split("\\s+"))
                .filter(w -> w.length >= 2 && w[0].equals("nameserver")).map(w -> w[1]).toList();
    }

    /** A file's content, or empty if it cannot be read (a host without /etc/resolv.conf). */
    private static String read(Path file) {
        try {
            return Files.readString(file).strip();
        } catch (IOException e) {
            return "";
        }
    }
}
