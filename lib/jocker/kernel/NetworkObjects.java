package jocker.kernel;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * How the network things a container makes on the host are undone, knowing nothing but what its
 * undo log holds: a network interface by its name, an iptables rule by its arguments, an address
 * lease by its file and its owner. Here in the kernel package, beside mounts and cgroups, so that
 * the sweep of any step removes what a killed step-08 container left (runtime.UndoLog calls these
 * for its kinds LINK, RULE and LEASE) without knowing networks; step 08's own release calls them
 * too. Each is idempotent: undoing what was never made, or is gone already, does nothing.
 */
public final class NetworkObjects {
    private NetworkObjects() {}

    /**
     * Deletes network interface {@code name} of the host, if it exists: {@code ip link delete
     * NAME}. For a veth pair, deleting one end deletes both (man 4 veth); if the container's end
     * went with its namespace, the host end went with it, and there is nothing to do.
     */
    public static void deleteLink(String name) throws IOException {
        if (!name.matches("[A-Za-z0-9_.-]{1,15}")) throw new IOException("not a network interface name: \"" + name + "\"");
        if (!Files.exists(Path.of("/sys/class/net", name))) return;
        HostPrograms.Result r = HostPrograms.run(List.of(program("ip", "iproute2"), "link", "delete", name), "");
        if (!r.ok() && Files.exists(Path.of("/sys/class/net", name))) {
            throw new IOException("ip link delete " + name + ": " + r.firstLine());
        }
    }

    /**
     * Deletes one iptables rule: {@code args} are the arguments that appended it,
     * {@code -t TABLE -A CHAIN SPEC...}, and the same with {@code -D} delete it (iptables(8): a
     * rule is deleted by its exact spec, nothing else in the chain is touched). A rule or chain
     * that is not there counts as deleted.
     */
    public static void deleteRule(List<String> args) throws IOException {
        if (args.size() < 4 || !args.get(0).equals("-t") || !args.get(2).equals("-A")) {
            throw new IOException("not the arguments of an appended iptables rule: " + args);
        }
        List<String> argv = new ArrayList<>(List.of(program("iptables", "iptables"), "-w"));
        argv.addAll(args);
        argv.set(4, "-D");                                    // iptables -w -t TABLE -D CHAIN ...
        HostPrograms.Result r = HostPrograms.run(argv, "");
        if (!r.ok() && !ruleNotThere(r.output())) {
            throw new IOException("iptables " + String.join(" ", argv.subList(1, argv.size())) + ": " + r.firstLine());
        }
    }

    /** What iptables (legacy or nft) says when the rule, or its chain, does not exist. */
    public static boolean ruleNotThere(String output) {
        return output.contains("does a matching rule exist") || output.contains("No chain/target/match")
                || output.contains("doesn't exist") || output.contains("does not exist");
    }

    /**
     * Deletes lease file {@code lease} ({@code networks/NAME/leases/ADDRESS}) if it still names
     * {@code owner}, or is empty (its maker died between creating and writing it). Under the
     * networks directory's {@link DirectoryLock}, the one the allocator holds, so that it never
     * deletes a lease that another container has just been given for the same address.
     */
    public static void releaseLease(Path lease, String owner) throws IOException {
        Path abs = lease.toAbsolutePath().normalize();
        Path leases = abs.getParent();
        if (leases == null || !leases.getFileName().toString().equals("leases") || leases.getParent() == null
                || leases.getParent().getParent() == null) {
            throw new IOException("not a lease file: " + lease);
        }
        try (DirectoryLock held = DirectoryLock.take(leases.getParent().getParent())) {
            String holder;
            try {
                holder = Files.readString(abs, StandardCharsets.UTF_8).strip();
            } catch (NoSuchFileException gone) {
                return;
            }
            if (holder.isEmpty() || holder.equals(owner)) Files.deleteIfExists(abs);
        }
    }

    private static String program(String name, String debianPackage) throws IOException {
        return HostPrograms.find(name).orElseThrow(() -> new IOException(
                name + " not found (install the " + debianPackage + " package)"));
    }
}
