package jocker.network;

import java.io.Closeable;
import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.channels.DatagramChannel;
import java.util.ArrayList;
import java.util.List;

import jocker.runtime.ContainerError;

/**
 * The host ports a container publishes, held by the runtime for the container's whole life: one
 * socket bound to each {@code hostIp:hostPort}, as Docker reserves them. A port that a host
 * service or another container already has fails to bind (EADDRINUSE) before anything else is
 * made, and while we hold it nobody else can bind it. The TCP socket is bound but never listens:
 * connections to it are rewritten to the container by DNAT before they could reach it, and any
 * that are not (IPv6 ::1, which we do not publish) are refused at once rather than left hanging.
 */
public final class PortReservation implements Closeable {
    private final List<Closeable> sockets = new ArrayList<>();

    private PortReservation() {}

    /** Binds every port of {@code ports}; the first one taken closes the others and throws. */
    public static PortReservation reserve(List<PortMapping> ports) {
        PortReservation r = new PortReservation();
        try {
            for (PortMapping p : ports) r.sockets.add(bind(p));
        } catch (RuntimeException e) {
            r.close();
            throw e;
        }
        return r;
    }

    private static Closeable bind(PortMapping p) {
        InetSocketAddress where;
        try {
            where = new InetSocketAddress(InetAddress.getByName(p.hostIp()), p.hostPort());
        } catch (IOException e) {
            throw new ContainerError("failed to publish port " + p + ": " + e.getMessage(), e);
        }
        try {
            if (p.protocol().equals("udp")) {
                DatagramChannel ch = DatagramChannel.open();
                try {
                    ch.bind(where);
                } catch (IOException e) {
                    ch.close();
                    throw e;
                }
                return ch;
            }
            Socket s = new Socket();
            try {
                s.setReuseAddress(false);
                s.bind(where);
            } catch (IOException e) {
                s.close();
                throw e;
            }
            return s;
        } catch (BindException e) {
            String why = String.valueOf(e.getMessage()).toLowerCase();
            throw new ContainerError("failed to publish port " + p + ": " + p.hostIp() + ":" + p.hostPort() + "/"
                    + p.protocol() + " is " + (why.contains("in use") ? "already in use"
                    : why.contains("assign") ? "not an address of this host" : "not available (" + why + ")"), e);
        } catch (IOException e) {
            throw new ContainerError("failed to publish port " + p + ": " + e.getMessage(), e);
        }
    }

    /** Gives the ports back. */
    @Override
    public void close() {
        for (Closeable c : sockets) {
            try {
                c.close();
            } catch (IOException e) {
                // closing a socket that was never connected does not fail in practice
            }
        }
        sockets.clear();
    }
}
