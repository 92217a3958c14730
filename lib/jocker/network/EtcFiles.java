package jocker.network;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import jocker.oci.Config;
import jocker.runtime.ContainerError;
import jocker.runtime.Log;

/**
 * The three files of /etc that say who a container is on the network: {@code /etc/hosts} (its
 * hostname and address, man 5 hosts), {@code /etc/hostname} (man 5 hostname) and
 * {@code /etc/resolv.conf} (its nameservers, {@link ResolvConf}). Written into the container's
 * directory and bind-mounted over the image's by the init process (they are entries of the config's
 * {@code mounts}), so nothing is written into the image and the runtime can change them while the
 * container runs, as Docker does with {@code containers/ID/hosts}.
 */
public final class EtcFiles {
    private EtcFiles() {}

    // tag::hosts[]
    /** Docker's /etc/hosts: localhost for IPv4 and IPv6, then the container's own name, if it has an address. */
    public static String hosts(String hostname, String address) {
        StringBuilder b = new StringBuilder()
                .append("127.0.0.1\tlocalhost\n")
                .append("::1\tlocalhost ip6-localhost ip6-loopback\n")
                .append("fe00::0\tip6-localnet\n")
                .append("ff00::0\tip6-mcastprefix\n")
                .append("ff02::1\tip6-allnodes\n")
                .append("ff02::2\tip6-allrouters\n");
        if (address != null) b.append(address).append('\t').append(hostname).append('\n');
        return b.toString();
    }
    // end::hosts[]

    /**
     * Writes hosts, hostname and resolv.conf into {@code containerDir} and returns the bind mounts
     * that put them at /etc/hosts, /etc/hostname and /etc/resolv.conf. {@code address} is null
     * for a container without one ({@code --network none}).
     */
    public static List<Config.Mount> write(Path containerDir, String hostname, String address, String resolvConf) {
        List<Config.Mount> mounts = new ArrayList<>();
        mounts.add(file(containerDir, "hosts", hosts(hostname, address)));
        mounts.add(file(containerDir, "hostname", hostname + "\n"));
        mounts.add(file(containerDir, "resolv.conf", resolvConf));
        return mounts;
    }

    private static Config.Mount file(Path containerDir, String name, String content) {
        Path file = containerDir.resolve(name);
        try {
            Files.writeString(file, content);
        } catch (IOException e) {
            throw new ContainerError("failed to write " + file + ": " + Log.reason(e), e);
        }
        return new Config.Mount("/etc/" + name, "bind", file.toString(), List.of("bind"));
    }
}
