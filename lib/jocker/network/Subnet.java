package jocker.network;

import jocker.runtime.ContainerError;

/**
 * An IPv4 subnet in CIDR notation ({@code 10.213.0.0/24}): the range of addresses a network hands
 * out. Addresses are kept as ints (IPv4 is 32 bits), so that "the next address" is {@code + 1}.
 *
 * <pre>
 *   10.213.0.0     the network address: names the subnet, never given to anybody
 *   10.213.0.1     the gateway: the bridge's own address, the containers' default route
 *   10.213.0.2 ..  the containers
 *   10.213.0.255   broadcast: every host of the subnet at once, never given to anybody
 * </pre>
 * man 7 ip; RFC 4632 (CIDR), RFC 1918 (private ranges).
 */
public record Subnet(int network, int prefix) {

    public Subnet {
        if (prefix < 8 || prefix > 30) {
            throw new IllegalArgumentException("prefix /" + prefix + " out of range /8 to /30");
        }
        network &= mask(prefix);
    }

    /**
     * Parses {@code A.B.C.D/N}. Host bits must be zero ({@code 10.213.0.5/24} is refused, as Docker
     * refuses it), so that a typo does not silently become another range.
     */
    public static Subnet parse(String cidr) {
        int slash = cidr.indexOf('/');
        if (slash < 0) throw bad(cidr, "use A.B.C.D/N, e.g. 10.213.0.0/24");
        int address;
        int prefix;
        try {
            address = parseAddress(cidr.substring(0, slash));
            prefix = Integer.parseInt(cidr.substring(slash + 1));
        } catch (IllegalArgumentException e) {
            throw bad(cidr, "use A.B.C.D/N, e.g. 10.213.0.0/24");
        }
        if (prefix < 8 || prefix > 30) throw bad(cidr, "the prefix must be between /8 and /30");
        if ((address & ~mask(prefix)) != 0) {
            throw bad(cidr, "host bits are set; did you mean " + format(address & mask(prefix)) + "/" + prefix + "?");
        }
        return new Subnet(address, prefix);
    }

    private static ContainerError bad(String cidr, String why) {
        return new ContainerError("invalid subnet \"" + cidr + "\": " + why);
    }

    /** The netmask of a prefix length: /24 is 255.255.255.0. */
    public static int mask(int prefix) { return prefix == 0 ? 0 : -1 << (32 - prefix); }

    /** The gateway: the first usable address, the bridge's own (Docker's choice too). */
    public int gateway() { return network + 1; }

    public int broadcast() { return network | ~mask(prefix); }

    /** How many addresses the subnet spans, network and broadcast included. */
    public long size() { return 1L << (32 - prefix); }

    public boolean contains(int address) { return (address & mask(prefix)) == network; }

    /** Whether the two ranges share an address (one contains the other's network address). */
    public boolean overlaps(Subnet other) {
        int shorter = Math.min(prefix, other.prefix);
        return (network & mask(shorter)) == (other.network & mask(shorter));
    }

    /** {@code 10.213.0.2/24}: an address of this subnet with its prefix, as {@code ip addr add} wants it. */
    public String withPrefix(int address) { return format(address) + "/" + prefix; }

    @Override public String toString() { return format(network) + "/" + prefix; }

    /** Dotted quad to int: {@code "10.213.0.1"} is {@code 0x0AD50001}. */
    public static int parseAddress(String dotted) {
        String[] parts = dotted.split("\\.", -1);
        if (parts.length != 4) throw new IllegalArgumentException("not an IPv4 address: " + dotted);
        int value = 0;
        for (String p : parts) {
            if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(Character::isDigit)) {
                throw new IllegalArgumentException("not an IPv4 address: " + dotted);
            }
            int octet = Integer.parseInt(p);
            if (octet > 255) throw new IllegalArgumentException("not an IPv4 address: " + dotted);
            value = value << 8 | octet;
        }
        return value;
    }

    /** Int to dotted quad. */
    public static String format(int address) {
        return (address >>> 24) + "." + (address >>> 16 & 255) + "." + (address >>> 8 & 255) + "." + (address & 255);
    }
}
