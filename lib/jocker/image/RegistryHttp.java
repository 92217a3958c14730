//DEPS com.squareup.okhttp3:okhttp:4.12.0
package jocker.image;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.ProtocolException;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import javax.net.SocketFactory;
import javax.net.ssl.SSLException;

import jocker.runtime.ContainerError;
import jocker.runtime.Log;
import okhttp3.ConnectionSpec;
import okhttp3.HttpUrl;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;

/**
 * The HTTP under the registry client and the token service: which client a URL gets (TLS only for
 * https), the redirects of plain-HTTP registries, when plain HTTP is allowed at all, and a network
 * failure said in one line. Plumbing: the distribution protocol itself is in {@link Registry}.
 */
final class RegistryHttp {
    private RegistryHttp() {}

    /**
     * Sends a request by the client for its scheme. The plain-HTTP client follows no redirects
     * itself: a blob of a local registry may redirect to https storage, which that client cannot
     * reach. So its redirects are followed here, as OkHttp would (at most 20, Authorization
     * dropped when scheme, host or port change), each hop by the client for its scheme.
     */
    static Response call(Request request) throws IOException {
        Response r = client(request.url()).newCall(request).execute();
        for (int followUps = 1; r.isRedirect() && !r.request().url().isHttps(); followUps++) {
            String location = r.header("Location");
            HttpUrl from = r.request().url();
            HttpUrl to = location == null ? null : from.resolve(location);
            if (to == null) return r;   // no usable Location: the 3xx is the answer, as with OkHttp
            r.close();
            if (followUps > MAX_FOLLOW_UPS) throw new ProtocolException("Too many follow-up requests: " + followUps);
            Request.Builder next = r.request().newBuilder().url(to);
            boolean sameOrigin = from.scheme().equals(to.scheme()) && from.host().equals(to.host()) && from.port() == to.port();
            if (!sameOrigin) next.removeHeader("Authorization");
            r = client(to).newCall(next.build()).execute();
        }
        return r;
    }

    /**
     * A network failure as one line: "cannot reach registry HOST: connection refused" when no
     * connection could be made, "connection to HOST lost while fetching WHAT: ..." when it broke.
     */
    static ContainerError network(IOException e, String role, String host, String what) {
        return new ContainerError(Log.oneLine(connecting(e) ? "cannot reach " + role + " " + host + ": " + reason(e, host)
                : "connection to " + host + " lost while fetching " + what + ": " + reason(e, host)), e);
    }

    private static boolean connecting(IOException e) {
        return e instanceof ConnectException || e instanceof UnknownHostException || e instanceof NoRouteToHostException
                || e instanceof SSLException || (e instanceof SocketTimeoutException
                        && String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT).contains("connect"));
    }

    static String reason(IOException e, String host) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = String.valueOf(t.getMessage()).toLowerCase(Locale.ROOT);
            if (m.contains("connection refused")) return "connection refused";
            if (t instanceof UnknownHostException) return "no such host";
            if (t instanceof NoRouteToHostException) return "no route to host";
            if (t instanceof SocketTimeoutException) return "timed out";
            if (t instanceof SSLException) {
                // A registry that speaks plain HTTP answers a TLS hello with garbage.
                boolean hint = host.matches(".*:[0-9]+|[0-9.]+|\\[.*");
                return "TLS handshake failed: " + Log.reason(t)
                        + (hint ? " (if it serves plain HTTP: --insecure-registry " + host + ")" : "");
            }
        }
        return Log.reason(e);
    }

    /** OkHttp's own limit (RetryAndFollowUpInterceptor.MAX_FOLLOW_UPS), for the redirects {@link #call} follows. */
    private static final int MAX_FOLLOW_UPS = 20;

    /**
     * The client that speaks TLS, for every https request of a registry and for the token service:
     * one client, so that its connection pool lets parallel downloads reuse connections.
     */
    static OkHttpClient http() { return Http.CLIENT; }

    /**
     * The client for {@code url}: {@link #http()} for https, for plain http one that cannot speak
     * TLS. Building a TLS-capable OkHttpClient loads the JDK's trust store (~140 certificates,
     * ~0.15 s of CPU in our C1-only JVMs), which a pull from a local registry never needs: the
     * cleartext client skips that, and http() is built on the first https URL only.
     */
    static OkHttpClient client(HttpUrl url) { return url.isHttps() ? Http.CLIENT : Cleartext.CLIENT; }

    /** How long a read may wait for the registry's next bytes: between two reads, not for a whole layer. */
    static final int READ_TIMEOUT_MILLIS = 60_000;

    private static OkHttpClient.Builder builder() {
        return new OkHttpClient.Builder()
                .connectTimeout(10, TimeUnit.SECONDS)
                // The read timeout is the socket's own (SO_TIMEOUT, see TimedSockets), not OkHttp's:
                // OkHttp keeps its timeout by registering every read of 8 KiB with a watchdog thread,
                // under one lock that the parallel layer downloads share, and that bookkeeping cost
                // a 100 MB pull 8% of its CPU and 7% of its time. (A body closed before its end is
                // still drained for at most OkHttp's 100 ms: that deadline the watchdog keeps.)
                .readTimeout(0, TimeUnit.MILLISECONDS)
                .socketFactory(new TimedSockets(READ_TIMEOUT_MILLIS))
                .writeTimeout(60, TimeUnit.SECONDS)
                .addNetworkInterceptor(chain -> {        // a request's Aborter learns its socket
                    Aborter aborter = chain.request().tag(Aborter.class);
                    if (aborter != null && chain.connection() != null) aborter.connected(chain.connection().socket());
                    return chain.proceed(chain.request());
                });
    }

    /**
     * Stops a download from another thread: closes the socket its response comes over, so that a
     * read blocked on it fails at once (closing a socket is safe from any thread; closing an OkHttp
     * response is not: its close reads the rest of the body, racing the thread that reads it). A
     * request carries its Aborter as a tag, and the clients' network interceptor hands it each
     * socket the request (or a redirect of it) goes over. The connection is not reused after that.
     */
    static final class Aborter {
        private Socket socket;
        private boolean aborted;

        synchronized void connected(Socket s) throws IOException {
            socket = s;
            if (aborted) throw new IOException("download stopped");
        }

        synchronized void abort() {
            aborted = true;
            if (socket == null) return;
            try {
                socket.close();
            } catch (IOException e) {
                // closed already
            }
        }
    }

    /**
     * Sockets whose blocking reads time out ({@link #READ_TIMEOUT_MILLIS} for the registry), kept by the kernel
     * (SO_TIMEOUT) at no cost per read. OkHttp sets each connection's SO_TIMEOUT to its own read
     * timeout, 0 here, which would mean "wait forever": a socket of ours takes 0 to mean ours.
     * (With TLS the SSL socket is layered over this one and passes the setting down to it.)
     */
    static final class TimedSockets extends SocketFactory {
        private final int readTimeoutMillis;

        TimedSockets(int readTimeoutMillis) { this.readTimeoutMillis = readTimeoutMillis; }

        @Override public Socket createSocket() throws SocketException {
            Socket socket = new Socket() {
                @Override public void setSoTimeout(int timeout) throws SocketException {
                    super.setSoTimeout(timeout == 0 ? readTimeoutMillis : timeout);
                }
            };
            socket.setSoTimeout(0);
            return socket;
        }

        // OkHttp creates its sockets unconnected (above) and connects them itself; a SocketFactory
        // must also make connected ones, which are the same sockets, connected at once.
        @Override public Socket createSocket(String host, int port) throws IOException {
            return connected(new InetSocketAddress(host, port), null);
        }

        @Override public Socket createSocket(String host, int port, InetAddress local, int localPort) throws IOException {
            return connected(new InetSocketAddress(host, port), new InetSocketAddress(local, localPort));
        }

        @Override public Socket createSocket(InetAddress host, int port) throws IOException {
            return connected(new InetSocketAddress(host, port), null);
        }

        @Override public Socket createSocket(InetAddress host, int port, InetAddress local, int localPort) throws IOException {
            return connected(new InetSocketAddress(host, port), new InetSocketAddress(local, localPort));
        }

        private Socket connected(InetSocketAddress remote, InetSocketAddress local) throws IOException {
            Socket socket = createSocket();
            try {
                if (local != null) socket.bind(local);
                socket.connect(remote);
                return socket;
            } catch (IOException e) {
                socket.close();
                throw e;
            }
        }
    }

    private static final class Http {   // built on first use (the holder idiom: thread-safe, lazy)
        static final OkHttpClient CLIENT = builder()
                .followRedirects(true)                   // blobs redirect to storage; OkHttp drops
                .followSslRedirects(true)                // Authorization when the host changes
                .build();
    }

    private static final class Cleartext {
        static final OkHttpClient CLIENT = builder()
                .connectionSpecs(List.of(ConnectionSpec.CLEARTEXT))   // no TLS: no trust store loaded
                .followRedirects(false)                  // call() follows them, to https too
                .followSslRedirects(false)
                .build();
    }

    /** "host" or "host:port" (a non-default port), IPv6 in brackets. */
    static String hostPort(HttpUrl u) {
        String host = u.host().contains(":") ? "[" + u.host() + "]" : u.host();
        return u.port() == HttpUrl.defaultPort(u.scheme()) ? host : host + ":" + u.port();
    }

    /** Loopback (localhost, 127.0.0.0/8, [::1]) or named with --insecure-registry. */
    static boolean plainHttpAllowed(String hostPort, Set<String> insecure) {
        String host = hostPort.startsWith("[") ? hostPort.substring(0, hostPort.indexOf(']') + 1) : hostPort.replaceFirst(":[0-9]+$", "");
        if (host.equalsIgnoreCase("localhost") || host.equals("[::1]") || host.matches("127(\\.[0-9]{1,3}){3}")) return true;
        return insecure.stream().anyMatch(i -> i.equalsIgnoreCase(hostPort) || i.equalsIgnoreCase(host));
    }
}
