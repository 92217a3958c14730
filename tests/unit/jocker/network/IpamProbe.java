package jocker.network;

import java.nio.file.Path;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A separate process for IpamTest: allocates N addresses under the networks directory given and
 * prints them, one a line. Several of these at once must never print the same address.
 * Usage: java -cp ... jocker.network.IpamProbe NETWORKS_DIR SUBNET N
 */
public class IpamProbe {
    public static void main(String[] args) {
        Path networks = Path.of(args[0]);
        Ipam ipam = new Ipam(networks.resolve("test"), networks, Subnet.parse(args[1]));
        int n = Integer.parseInt(args[2]);
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < n; i++) {
            byte[] id = new byte[32];
            ThreadLocalRandom.current().nextBytes(id);
            out.append(Subnet.format(ipam.allocate(HexFormat.of().formatHex(id), new ReferenceHooks(), lease -> {})))
                    .append('\n');
        }
        System.out.print(out);
    }
}
