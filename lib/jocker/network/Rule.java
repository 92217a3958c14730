package jocker.network;

import java.util.ArrayList;
import java.util.List;

/**
 * One iptables rule: its table, its chain and its match and target, exactly as given to
 * {@code iptables -t TABLE -A CHAIN SPEC...}. The same arguments with {@code -D} delete it, which
 * is how a container's rules go away: by their exact spec, never by flushing a chain, so that
 * nothing else in the chain is touched (iptables(8), "-D"). Every per-container rule carries a
 * comment naming its container ({@code -m comment --comment jocker:ID}, iptables-extensions(8)),
 * so that {@code iptables -S} shows whose it is and no two containers' rules are ever the same.
 */
public record Rule(String table, String chain, List<String> spec) {

    public Rule {
        spec = List.copyOf(spec);
        for (String s : spec) {
            // iptables-restore reads lines of words: a word with a space would need quoting
            if (s.isEmpty() || s.chars().anyMatch(Character::isWhitespace)) {
                throw new IllegalArgumentException("iptables argument \"" + s + "\" is empty or has a space");
            }
        }
    }

    /** A rule of {@code table}'s {@code chain}: {@code Rule.of("nat", "JOCKER", "-p", "tcp", ...)}. */
    public static Rule of(String table, String chain, String... spec) { return new Rule(table, chain, List.of(spec)); }

    /** The arguments of {@code iptables} that {@code action} (-A, -I, -D, -C) this rule. */
    public List<String> args(String action) {
        List<String> args = new ArrayList<>(List.of("-t", table, action, chain));
        args.addAll(spec);
        return args;
    }

    /** The line of an iptables-restore file (iptables-restore(8)) that {@code action} this rule. */
    String restoreLine(String action) { return action + " " + chain + " " + String.join(" ", spec); }

    /** The comment match that names a container's rules. */
    public static List<String> comment(String containerId) {
        return List.of("-m", "comment", "--comment", "jocker:" + containerId);
    }

    /** As {@code iptables -S} would show it (near enough for a message). */
    @Override public String toString() { return "-t " + table + " -A " + chain + " " + String.join(" ", spec); }
}
