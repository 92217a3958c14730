package jocker.network;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import jocker.kernel.Trace;
import jocker.runtime.ContainerError;
import jocker.runtime.Log;

/**
 * The network's kernel settings, files under /proc/sys/net (sysctl(8); the kernel's
 * Documentation/networking/ip-sysctl.rst). They belong to the network namespace of the thread
 * that opens them: the runtime's, the host's.
 */
final class Sysctl {
    private Sysctl() {}

    /** {@code net.ipv4.ip_forward}: may the host route packets from one interface to another? */
    static final Path IP_FORWARD = Path.of("/proc/sys/net/ipv4/ip_forward");

    /** {@code net.ipv4.conf.IFACE.route_localnet}: may 127/8 be routed through {@code iface}? */
    static Path routeLocalnet(String iface) { return Path.of("/proc/sys/net/ipv4/conf", iface, "route_localnet"); }

    /** A file's content without its trailing newline, or empty if it cannot be read. */
    static String read(Path file) {
        try {
            return Files.readString(file).strip();
        } catch (IOException e) {
            return "";
        }
    }

    static void write(Path file, String value) {
        try {
            Files.writeString(file, value);
            Trace.line("write(\"" + file + "\", \"" + value + "\")", "ok");
        } catch (IOException e) {
            Trace.line("write(\"" + file + "\", \"" + value + "\")", "-1 (" + Log.reason(e) + ")");
            throw new ContainerError("failed to set " + file + " to " + value + ": " + Log.reason(e), e);
        }
    }
}
