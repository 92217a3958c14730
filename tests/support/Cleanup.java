import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

import jocker.kernel.HostPrograms;
import jocker.kernel.Linux;
import jocker.kernel.MountInfo;
import jocker.kernel.Processes;
import jocker.kernel.Trees;

/**
 * What a check class leaves behind, found and removed after the class, whether its checks passed,
 * failed or timed out. Only the class's own names are touched: its runs, its cgroup parent, the
 * mounts under its state root, the state root.
 * <ol>
 *   <li>every run the class started that still runs: the runtime and its children, SIGKILLed and reaped;</li>
 *   <li>processes in the class's cgroup parent (in any hierarchy), SIGKILLed, and its cgroups removed;</li>
 *   <li>the class's network (step 08 on): veths on its bridge, the jumps to its iptables chains,
 *       the chains, the bridge; the leases under the state root;</li>
 *   <li>mounts under the state root, detached;</li>
 *   <li>container directories under the state root; then the state root is deleted.</li>
 * </ol>
 * A run still running after its check (one that failed midway, or timed out) is a leftover, and so
 * is anything a runtime left (a container directory, a mount, a cgroup, a process in it, a veth, a
 * lease, a container's iptables rule; the bridge and the network's own rules may stay, as jocker0
 * does, and are removed without a word): {@link
 * JockerExtension} reports them as a failing check, after removing them.
 *
 * <p>A shutdown hook does the same for the classes still open when the harness is interrupted.
 */
final class Cleanup {
    private Cleanup() {}

    private static final Set<Jocker> OPEN = ConcurrentHashMap.newKeySet();
    private static volatile boolean stopping;

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stopping = true;   // no class opens, no run starts from now on
            // Twice: a class or a run that was starting while the hook began is there the second time.
            for (int round = 0; round < 2; round++) {
                for (Jocker j : OPEN) {
                    try {
                        close(j);
                    } catch (RuntimeException e) {
                        // the harness is going away: best effort
                    }
                }
                Jocker.sleep(200);
            }
        }, "jocker-check-cleanup"));
    }

    static void register(Jocker jocker) {
        OPEN.add(jocker);
        refuseWhileStopping();
    }

    /** The harness is being stopped (Ctrl-C): nothing new starts. */
    static void refuseWhileStopping() {
        if (stopping) throw new IllegalStateException("the checks are being stopped");
    }

    /** Cleans up after a class; what the runtime left behind, one line each (empty: nothing). */
    static List<String> close(Jocker jocker) {
        if (!OPEN.remove(jocker)) return List.of();
        List<String> left = new ArrayList<>();
        jocker.stopRuns();
        left.addAll(jocker.stoppedRuns());
        left.addAll(removeCgroupParent(jocker.cgroupParent()));
        Path root = jocker.root();
        Path containers = root.resolve("containers");
        if (Files.isDirectory(containers)) {
            try (Stream<Path> s = Files.list(containers)) {
                s.sorted().forEach(d -> left.add("container directory " + d));
            } catch (IOException e) {
                left.add("cannot list " + containers + ": " + e);
            }
        }
        left.addAll(removeNetwork(jocker.network(), root));
        for (String mount : detachMountsUnder(root)) left.add("mount " + mount);
        try {
            Trees.delete(root);
        } catch (Exception e) {
            // a temp directory left behind is not worth failing a check for; say it all the same
            System.err.println("checks: could not delete the state root " + root + ": " + e);
        }
        return left;
    }

    // ------------------------------------------------------------------------------------------
    // Cgroups: the class's own parent, in every hierarchy (v1 trees, cgroup2)
    // ------------------------------------------------------------------------------------------

    /** The mount points of every cgroup hierarchy: v1 trees with controllers, and cgroup2. */
    static Set<Path> cgroupTrees() {
        Set<Path> trees = new LinkedHashSet<>();
        for (MountInfo m : MountInfo.read()) {
            if (m.fsType().equals("cgroup") || m.fsType().equals("cgroup2")) trees.add(Path.of(m.mountPoint()));
        }
        return trees;
    }

    /**
     * SIGKILLs every process in {@code parent}'s cgroups, removes the cgroups below it (deepest
     * first) and the parent itself, in every hierarchy. Returns the processes and cgroups found
     * below the parent: the parent itself is the class's, the rest a container's.
     */
    static List<String> removeCgroupParent(String parent) {
        List<String> left = new ArrayList<>();
        Set<Long> killed = new LinkedHashSet<>();
        List<Path> parents = new ArrayList<>();
        for (Path tree : cgroupTrees()) {
            Path p = tree.resolve(parent);
            if (Files.isDirectory(p)) parents.add(p);
        }
        for (Path p : parents) {
            for (Path cgroup : cgroupsUnder(p)) {
                if (!cgroup.equals(p)) left.add("cgroup " + cgroup);
                for (long pid : procs(cgroup)) {
                    if (killed.add(pid)) {
                        String what = ProcessHandle.of(pid).flatMap(h -> h.info().commandLine()).orElse("?");
                        left.add("process " + pid + " (" + what + ") in " + cgroup);
                        Processes.signalIfAlive(pid, Linux.SIGKILL);
                    }
                }
            }
        }
        for (Path p : parents) {
            List<Path> all = cgroupsUnder(p);
            all.sort(Comparator.comparingInt(Path::getNameCount).reversed());
            for (Path cgroup : all) rmdir(cgroup);
        }
        return left;
    }

    /** {@code top} and every cgroup below it. */
    private static List<Path> cgroupsUnder(Path top) {
        try (Stream<Path> s = Files.walk(top)) {
            return new ArrayList<>(s.filter(Files::isDirectory).toList());
        } catch (IOException | RuntimeException e) {
            return new ArrayList<>(List.of(top));
        }
    }

    private static List<Long> procs(Path cgroup) {
        try {
            return Files.readAllLines(cgroup.resolve("cgroup.procs")).stream().filter(l -> l.matches("\\d+"))
                    .map(Long::parseLong).toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    /** rmdir(2) of a cgroup, retried while its killed processes are still on their way out. */
    private static void rmdir(Path cgroup) {
        for (int i = 0; i < 100 && Files.isDirectory(cgroup); i++) {
            try {
                Files.delete(cgroup);
            } catch (IOException busy) {
                Jocker.sleep(50);
            }
        }
    }

    // ------------------------------------------------------------------------------------------
    // The network: the class's own bridge and chains, by their exact names
    // ------------------------------------------------------------------------------------------

    /**
     * Removes the class's network and returns what a container left in it: a veth still on the
     * bridge, a lease, a rule of a container (one with a {@code jocker:ID} comment) in the chains.
     * The bridge, the chains, the jumps to them and the network's own rules are the network's: they
     * stay after a run, as jocker0 does, and are removed here without being reported.
     */
    static List<String> removeNetwork(Jocker.TestNetwork net, Path root) {
        List<String> left = new ArrayList<>();
        Path networks = root.resolve("networks");
        boolean bridge = Files.exists(Path.of("/sys/class/net", net.bridge()));
        if (!bridge && !Files.isDirectory(networks)) {
            net.release();
            return left;                    // no run of this class made a network (steps 01-07)
        }
        try (Stream<Path> s = Files.walk(networks)) {
            s.filter(p -> p.getParent() != null && p.getParent().getFileName().toString().equals("leases"))
                    .sorted().forEach(p -> left.add("lease " + p));
        } catch (IOException | RuntimeException e) {
            // no networks directory: no lease
        }
        for (String port : portsOf(net.bridge())) {
            left.add("network interface " + port + " on bridge " + net.bridge());
            iproute("link", "delete", port);
        }
        List<String> chains = List.of(net.chains(), net.chains() + "-POSTROUTING", net.chains() + "-FORWARD");
        for (String table : List.of("nat", "filter")) {
            for (String line : iptables("-t", table, "-S").output().lines().toList()) {
                List<String> words = List.of(line.split(" "));
                int j = words.indexOf("-j");
                boolean ours = words.size() > 1 && chains.contains(words.get(1));
                if (ours && line.contains("jocker:")) left.add("iptables rule " + line);
                if (!ours && words.get(0).equals("-A") && j > 0 && j + 1 < words.size() && chains.contains(words.get(j + 1))
                        && !line.contains("\"")) {
                    List<String> delete = new ArrayList<>(List.of("-t", table, "-D"));
                    delete.addAll(words.subList(1, words.size()));
                    iptables(delete.toArray(new String[0]));   // a jump from a host chain to ours
                }
            }
            for (String chain : chains) {
                if (iptables("-t", table, "-S", chain).ok()) {
                    iptables("-t", table, "-F", chain);
                    iptables("-t", table, "-X", chain);
                }
            }
        }
        if (bridge) iproute("link", "delete", net.bridge());
        net.release();
        return left;
    }

    /** The interfaces whose master is {@code bridge}: /sys/class/net/BRIDGE/brif/. */
    private static List<String> portsOf(String bridge) {
        try (Stream<Path> s = Files.list(Path.of("/sys/class/net", bridge, "brif"))) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    private static HostPrograms.Result iptables(String... args) {
        List<String> argv = new ArrayList<>(List.of(HostPrograms.require("iptables", "iptables"), "-w"));
        argv.addAll(List.of(args));
        return HostPrograms.run(argv, "");
    }

    private static HostPrograms.Result iproute(String... args) {
        List<String> argv = new ArrayList<>(List.of(HostPrograms.require("ip", "iproute2")));
        argv.addAll(List.of(args));
        return HostPrograms.run(argv, "");
    }

    // ------------------------------------------------------------------------------------------
    // Mounts
    // ------------------------------------------------------------------------------------------

    /** Detaches (MNT_DETACH) every mount at or under {@code dir}, deepest first; returns their mount points. */
    static List<String> detachMountsUnder(Path dir) {
        String top;
        try {
            top = dir.toRealPath().toString();
        } catch (IOException e) {
            return List.of();
        }
        List<String> points = MountInfo.read().stream().map(MountInfo::mountPoint)
                .filter(p -> p.equals(top) || p.startsWith(top + "/")).distinct().toList();
        List<String> deepestFirst = new ArrayList<>(points);
        deepestFirst.sort(Comparator.comparingInt(String::length).reversed());
        for (String p : deepestFirst) {
            try {
                Linux.umount2(p, Linux.MNT_DETACH);
            } catch (RuntimeException e) {
                // gone with a mount above it, or busy: reported all the same
            }
        }
        return points;
    }
}
