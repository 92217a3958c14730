package jocker.network;

import java.util.ArrayList;
import java.util.List;

import jocker.kernel.HostPrograms;
import jocker.runtime.ContainerError;
import jocker.runtime.Log;

/**
 * A list of {@code ip} commands run by one {@code ip -batch -} process: one line per command, as
 * you would type them after {@code ip} (ip(8), "-batch"). One process for the whole list keeps a
 * container's network setup at two spawns (one on the host, one in its sandbox). {@code ip} stops
 * at the first command that fails and says which line it was.
 *
 * <pre>
 *   IpCommands host = new IpCommands();
 *   host.add("link add %s type veth peer name eth0 netns %d", "veth1a2b3c4", pid);
 *   host.add("link set %s up", "veth1a2b3c4");
 * </pre>
 */
public final class IpCommands {
    private final List<String> lines = new ArrayList<>();

    /** Adds one command, {@code String.format}-style, without the leading {@code ip}. */
    public IpCommands add(String format, Object... args) {
        String line = String.format(format, args).strip();
        if (line.startsWith("ip ")) line = line.substring(3);   // a natural slip: "ip link ..."
        if (line.contains("\n")) throw new IllegalArgumentException("one command per add: " + line);
        lines.add(line);
        return this;
    }

    public List<String> lines() { return List.copyOf(lines); }

    public boolean isEmpty() { return lines.isEmpty(); }

    /** Runs the commands on the host; {@code what} names the goal in an error. */
    public void run(String what) { run(null, what); }

    /** Runs the commands inside {@code sandbox}, or on the host if it is null. */
    void run(Sandbox sandbox, String what) {
        if (lines.isEmpty()) return;
        List<String> argv = List.of(Network.program("ip", "iproute2"), "-batch", "-");
        String input = String.join("\n", lines) + "\n";
        Log.verbose("%s: ip -batch -%s%n  %s", what, sandbox == null ? "" : " (in " + sandbox + ")",
                String.join("\n  ", lines));
        HostPrograms.Result r = sandbox == null ? HostPrograms.run(argv, input) : sandbox.run(argv, input);
        if (!r.ok()) throw new ContainerError("failed to " + what + ": ip: " + describe(r.output()));
    }

    /**
     * ip's complaint in one line, with the command that failed: ip -batch ends its message with
     * "Command failed -:N", the line number in its input.
     */
    String describe(String output) {
        String first = output.lines().map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("Command failed"))
                .findFirst().orElse(output.strip());
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("Command failed -:(\\d+)").matcher(output);
        if (m.find()) {
            int n = Integer.parseInt(m.group(1));
            if (n >= 1 && n <= lines.size()) return first + " (ip " + lines.get(n - 1) + ")";
        }
        return first;
    }

    @Override public String toString() { return String.join("\n", lines); }
}
