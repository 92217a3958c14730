//DEPS org.junit.platform:junit-platform-console-standalone:1.11.4
package jocker.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import jocker.runtime.ContainerError;

/**
 * The redirects of a plain-HTTP registry, which Registry follows itself (its cleartext client
 * cannot reach https storage): to another origin without the Authorization header, to the same
 * origin with it, to https by the TLS client, and no more than 20.
 */
@Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class RegistryRedirectTest {
    interface Handler { void handle(HttpExchange ex) throws IOException; }

    private static final Credentials.Login LOGIN = new Credentials.Login("u", "p");
    private static final Descriptor BLOB = new Descriptor(MediaTypes.OCI_LAYER_TAR, Digest.parse("sha256:" + "e".repeat(64)), 5);

    private final List<HttpServer> servers = new CopyOnWriteArrayList<>();
    private final List<String> seen = new CopyOnWriteArrayList<>();

    /** A server on 127.0.0.1 that logs "PORT PATH AUTHORIZATION" of each request; its host:port. */
    private String serve(Handler handler) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        int port = server.getAddress().getPort();
        server.createContext("/", ex -> {
            seen.add(port + " " + ex.getRequestURI().getPath() + " " + ex.getRequestHeaders().getFirst("Authorization"));
            try (ex) {
                handler.handle(ex);
            }
        });
        server.start();
        servers.add(server);
        return "127.0.0.1:" + port;
    }

    @AfterEach
    void stop() { servers.forEach(s -> s.stop(0)); }

    private static void answer(HttpExchange ex, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        if (bytes.length > 0) ex.getResponseBody().write(bytes);
    }

    private static void redirect(HttpExchange ex, String location) throws IOException {
        if (location != null) ex.getResponseHeaders().set("Location", location);
        answer(ex, 307, "");
    }

    /** A registry that wants Basic auth for everything, then answers blobs with {@code blob}. */
    private String registry(Handler blob) throws IOException {
        return serve(ex -> {
            if (!LOGIN.basic().equals(ex.getRequestHeaders().getFirst("Authorization"))) {
                ex.getResponseHeaders().set("WWW-Authenticate", "Basic realm=\"test\"");
                answer(ex, 401, "");
                return;
            }
            blob.handle(ex);
        });
    }

    private static String read(String host) throws IOException {
        Registry r = new Registry(Reference.parse(host + "/r:t"), RegistryTest.HOOKS, Set.of(), LOGIN);
        try (InputStream in = r.blob(BLOB)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static String error(String host) {
        return assertThrows(ContainerError.class, () -> read(host)).getMessage();
    }

    @Test
    void anotherOriginGetsNoAuthorization() throws IOException {
        String storage = serve(ex -> answer(ex, 200, "bytes"));
        String registry = registry(ex -> redirect(ex, "http://" + storage + "/storage/blob?signature=x"));
        assertEquals("bytes", read(registry));
        String last = seen.get(seen.size() - 1);
        assertEquals(storage.split(":")[1] + " /storage/blob null", last, seen.toString());
        assertTrue(seen.contains(registry.split(":")[1] + " /v2/r/blobs/" + BLOB.digest + " " + LOGIN.basic()), seen.toString());
    }

    @Test
    void theSameOriginKeepsItAndRelativeLocationsResolve() throws IOException {
        String registry = registry(ex -> {
            if (ex.getRequestURI().getPath().startsWith("/storage/")) answer(ex, 200, "bytes");
            else redirect(ex, "../../../storage/blob");
        });
        assertEquals("bytes", read(registry));
        assertEquals(registry.split(":")[1] + " /storage/blob " + LOGIN.basic(), seen.get(seen.size() - 1));
    }

    @Test
    void httpsStorageIsReachedByTheTlsClient() throws Exception {
        // Not a TLS server: it records the first byte the client sends. 0x16 opens a TLS handshake.
        AtomicInteger first = new AtomicInteger(-1);
        try (ServerSocket tls = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
            Thread t = new Thread(() -> {
                try (Socket s = tls.accept()) {
                    first.set(s.getInputStream().read());
                } catch (IOException ignored) {
                    // the test fails on the assertion below
                }
            });
            t.start();
            String registry = registry(ex -> redirect(ex, "https://127.0.0.1:" + tls.getLocalPort() + "/storage/blob"));
            String message = error(registry);
            t.join(10_000);
            assertEquals(0x16, first.get(), "a TLS ClientHello, not plain HTTP; the error was: " + message);
            assertTrue(message.startsWith("cannot reach registry " + registry + ": TLS handshake failed"), message);
        }
    }

    @Test
    void twentyRedirectsAndNoMore() throws IOException {
        AtomicInteger hops = new AtomicInteger();
        String registry = registry(ex -> redirect(ex, "/hop/" + hops.incrementAndGet()));
        assertEquals("connection to " + registry + " lost while fetching " + BLOB.digest + ": Too many follow-up requests: 21",
                error(registry));
        assertEquals(21, hops.get());
        AtomicInteger twenty = new AtomicInteger();
        String fine = registry(ex -> {
            if (twenty.incrementAndGet() <= 20) redirect(ex, "/hop/" + twenty.get());
            else answer(ex, 200, "bytes");
        });
        assertEquals("bytes", read(fine));
    }

    @Test
    void aRedirectWithoutLocationIsTheAnswer() throws IOException {
        String registry = registry(ex -> redirect(ex, null));
        assertEquals("the registry at " + registry + " answered HTTP 307", error(registry));
    }
}
