package jocker.network;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import jocker.kernel.HostPrograms;
import jocker.kernel.NetworkObjects;
import jocker.runtime.ContainerError;
import jocker.runtime.Log;

/**
 * The machine's own {@code iptables} (iptables(8)), whichever backend it has: Debian and Ubuntu
 * ship {@code iptables-nft}, which writes nf_tables rules that {@code iptables -S} still shows the
 * familiar way. Always with {@code -w}: another program (a firewall, another jocker) may hold the
 * xtables lock, and without {@code -w} iptables fails at once instead of waiting for it.
 *
 * <p>We only ever add chains of our own, insert a jump to them at the top of the host's chains,
 * and add or delete single rules by their exact spec. Nothing the host had is flushed or edited.
 */
final class Iptables {
    private Iptables() {}

    private static List<String> command(String program, List<String> args) {
        List<String> argv = new ArrayList<>();
        argv.add(Network.program(program, "iptables"));
        argv.add("-w");
        argv.addAll(args);
        return argv;
    }

    private static HostPrograms.Result run(List<String> args) {
        return HostPrograms.run(command("iptables", args), "");
    }

    /** Whether {@code rule} is in its chain ({@code -C}). */
    static boolean exists(Rule rule) { return run(rule.args("-C")).ok(); }

    /** Whether every rule is in its chain: one {@code iptables-restore --noflush} of {@code -C} lines. */
    static boolean allExist(List<Rule> rules) {
        return HostPrograms.run(command("iptables-restore", List.of("--noflush")), restoreFile(rules, "-C")).ok();
    }

    /** Whether {@code chain} exists in {@code table}. */
    static boolean chainExists(String table, String chain) {
        return run(List.of("-t", table, "-S", chain)).ok();
    }

    /** Whether {@code chain} has no rules ({@code -S CHAIN} shows only its {@code -N} line). */
    static boolean chainIsEmpty(String table, String chain) {
        HostPrograms.Result r = run(List.of("-t", table, "-S", chain));
        return r.ok() && r.output().lines().filter(l -> l.startsWith("-A ")).findAny().isEmpty();
    }

    /** Creates an empty chain, unless it is there already (another run may just have made it). */
    static void ensureChain(String table, String chain) {
        if (chainExists(table, chain)) return;
        HostPrograms.Result r = run(List.of("-t", table, "-N", chain));
        if (!r.ok() && !chainExists(table, chain)) {
            throw new ContainerError("failed to create iptables chain " + chain + " in table " + table + ": " + r.firstLine());
        }
    }

    /** Deletes an empty chain; returns false (and leaves it) if it still has rules or jumps to it. */
    static boolean deleteChainIfEmpty(String table, String chain) {
        if (!chainExists(table, chain)) return true;
        return run(List.of("-t", table, "-X", chain)).ok();
    }

    /** Inserts {@code rule} at the top of its chain unless it is there. */
    static void insertOnce(Rule rule) {
        if (exists(rule)) return;
        HostPrograms.Result r = run(rule.args("-I"));
        if (!r.ok()) throw new ContainerError("failed to add iptables rule " + rule + ": " + r.firstLine());
    }

    /** Appends {@code rule} unless it is there. */
    static void appendOnce(Rule rule) {
        if (exists(rule)) return;
        append(List.of(rule));
    }

    /**
     * Appends every rule with one {@code iptables-restore --noflush} process: all of them or, if
     * one is refused, none (a restore commits each table at once). --noflush keeps what the tables
     * have; we never declare a chain in the file, because with --noflush a declared chain that
     * exists is flushed.
     */
    static void append(List<Rule> rules) {
        if (rules.isEmpty()) return;
        HostPrograms.Result r = HostPrograms.run(command("iptables-restore", List.of("--noflush")), restoreFile(rules, "-A"));
        if (!r.ok()) {
            throw new ContainerError("failed to add iptables rules (" + rules.get(0)
                    + (rules.size() > 1 ? " and " + (rules.size() - 1) + " more" : "") + "): " + r.firstLine());
        }
        Log.verbose("iptables: added %d rule(s)%n  %s", rules.size(),
                String.join("\n  ", rules.stream().map(Rule::toString).toList()));
    }

    /**
     * Deletes every rule that is there; one that is not (never made, or already deleted) is fine.
     * One iptables-restore if all are there, else one {@code iptables -D} each. Returns whether
     * none was refused for another reason.
     */
    static boolean delete(List<Rule> rules) {
        if (rules.isEmpty()) return true;
        if (HostPrograms.run(command("iptables-restore", List.of("--noflush")), restoreFile(rules, "-D")).ok()) return true;
        boolean all = true;
        for (Rule rule : rules) all &= deleteOne(rule);
        return all;
    }

    /** {@code iptables -D} of one rule; a rule (or chain) that is not there counts as deleted. */
    static boolean deleteOne(Rule rule) {
        try {
            NetworkObjects.deleteRule(rule.args("-A"));          // what the sweep does, too
            return true;
        } catch (IOException e) {
            Log.error("failed to delete iptables rule %s: %s", rule, Log.reason(e));
            return false;
        }
    }

    private static String restoreFile(List<Rule> rules, String action) {
        Map<String, List<Rule>> byTable = new LinkedHashMap<>();
        for (Rule rule : rules) byTable.computeIfAbsent(rule.table(), t -> new ArrayList<>()).add(rule);
        StringBuilder b = new StringBuilder();
        byTable.forEach((table, list) -> {
            b.append('*').append(table).append('\n');
            for (Rule rule : list) b.append(rule.restoreLine(action)).append('\n');
            b.append("COMMIT\n");
        });
        return b.toString();
    }
}
