package jocker.network;

import java.util.Locale;

import jocker.runtime.ContainerError;

/**
 * One published port, Docker's {@code -p [IP:]HOSTPORT:CONTAINERPORT[/tcp|/udp]}: connections to
 * {@code HOSTPORT} on the host (on {@code IP} only, if given) reach {@code CONTAINERPORT} in the
 * container. {@code hostIp} is {@code 0.0.0.0} for every address of the host.
 */
public record PortMapping(String hostIp, int hostPort, int containerPort, String protocol) {

    public static final String ANY = "0.0.0.0";

    /** Parses one {@code -p} value; a bad one is a {@link ContainerError} that says what is wrong. */
    public static PortMapping parse(String spec) {
        String rest = spec.strip();
        String protocol = "tcp";
        int slash = rest.lastIndexOf('/');
        if (slash >= 0) {
            protocol = rest.substring(slash + 1).toLowerCase(Locale.ROOT);
            rest = rest.substring(0, slash);
            if (!protocol.equals("tcp") && !protocol.equals("udp")) {
                throw bad(spec, "the protocol \"" + protocol + "\" is neither tcp nor udp");
            }
        }
        if (rest.startsWith("[")) throw bad(spec, "IPv6 addresses are not supported: networks here are IPv4 only");
        String[] parts = rest.split(":", -1);
        String hostIp = ANY;
        String hostPort;
        String containerPort;
        switch (parts.length) {
            case 2 -> { hostPort = parts[0]; containerPort = parts[1]; }
            case 3 -> { hostIp = parts[0]; hostPort = parts[1]; containerPort = parts[2]; }
            case 1 -> throw bad(spec, "give the host port as well: HOSTPORT:CONTAINERPORT, e.g. 8080:80");
            default -> throw bad(spec, "use [IP:]HOSTPORT:CONTAINERPORT[/tcp|/udp], e.g. 127.0.0.1:8080:80");
        }
        if (hostIp.isEmpty()) hostIp = ANY;
        try {
            Subnet.parseAddress(hostIp);
        } catch (IllegalArgumentException e) {
            throw bad(spec, "the host address \"" + hostIp + "\" is not an IPv4 address");
        }
        return new PortMapping(hostIp, port(spec, "host", hostPort), port(spec, "container", containerPort), protocol);
    }

    private static int port(String spec, String which, String text) {
        if (text.contains("-")) throw bad(spec, "port ranges are not supported");
        try {
            int port = Integer.parseInt(text);
            if (port >= 1 && port <= 65535 && text.chars().allMatch(Character::isDigit)) return port;
        } catch (NumberFormatException e) {
            // said below
        }
        throw bad(spec, "the " + which + " port \"" + text + "\" is not a number from 1 to 65535");
    }

    private static ContainerError bad(String spec, String why) {
        return new ContainerError("invalid value \"" + spec + "\" for --publish: " + why);
    }

    /** Whether the port is published on every address of the host, not one. */
    public boolean anyHostIp() { return hostIp.equals(ANY); }

    /** Back in Docker's spelling, the way {@code docker port} shows it: {@code 0.0.0.0:8080->80/tcp}. */
    @Override public String toString() { return hostIp + ":" + hostPort + "->" + containerPort + "/" + protocol; }

    /** The spelling {@code -p} takes, to carry a mapping through the config's annotations. */
    public String spec() { return hostIp + ":" + hostPort + ":" + containerPort + "/" + protocol; }
}
