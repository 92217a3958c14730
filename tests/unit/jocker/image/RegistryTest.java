//DEPS org.junit.platform:junit-platform-console-standalone:1.11.4
package jocker.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import jocker.runtime.ContainerError;

/**
 * The registry client against a small fake registry in this process (the JDK's HttpServer): the
 * token dance, token renewal, and every kind of failure a real registry seldom produces on demand.
 * The checks of step 06 test the same client against the real Distribution server.
 */
class RegistryTest {
    interface Handler { void handle(HttpExchange ex) throws IOException; }

    private static final String MANIFEST = "{\"schemaVersion\":2,\"mediaType\":\"" + MediaTypes.OCI_MANIFEST
            + "\",\"config\":{\"mediaType\":\"" + MediaTypes.OCI_CONFIG + "\",\"digest\":\"sha256:" + "a".repeat(64)
            + "\",\"size\":2},\"layers\":[]}";

    private HttpServer server;
    private volatile Handler handler;
    private String host;
    private final List<String> seen = Collections.synchronizedList(new ArrayList<>());

    /** The step's hook as the solution writes it: Basic with the login, Bearer via the token service. */
    static final ImageHooks HOOKS = new ImageHooks() {
        public String authorize(WwwAuthenticate.Challenge c, String scope, Credentials.Login login, TokenService tokens) {
            if (c.is("basic")) return login == null ? null : login.basic();
            String url = WwwAuthenticate.tokenUrl(c, scope == null ? List.of() : List.of(scope), login == null ? null : login.username());
            return "Bearer " + tokens.fetch(url, login);
        }

        public Descriptor chooseManifest(Index index, Platform platform, String image) { throw new UnsupportedOperationException(); }

        public void copyVerified(InputStream body, Descriptor expected, OutputStream out, String what) { throw new UnsupportedOperationException(); }

        public boolean applyWhiteout(Path dir, String name, Set<Path> thisLayer) { throw new UnsupportedOperationException(); }
    };

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", ex -> {
            seen.add(ex.getRequestURI() + " " + ex.getRequestHeaders().getFirst("Authorization"));
            try (ex) {
                handler.handle(ex);
            }
        });
        server.start();
        host = "127.0.0.1:" + server.getAddress().getPort();
    }

    @AfterEach
    void stop() { server.stop(0); }

    private static void answer(HttpExchange ex, int status, String contentType, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        if (contentType != null) ex.getResponseHeaders().set("Content-Type", contentType);
        ex.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        if (bytes.length > 0) ex.getResponseBody().write(bytes);
    }

    private Registry registry(Credentials.Login login) {
        return new Registry(Reference.parse(host + "/r:t"), HOOKS, Set.of(), login);
    }

    private static String error(Executable e) {
        String message = assertThrows(ContainerError.class, e).getMessage();
        assertFalse(message.contains("\n"), message);
        return message;
    }

    /** A registry that wants bearer tokens from /token, and accepts a token {@code uses} times. */
    private void bearerRegistry(AtomicInteger tokensIssued, int uses) {
        AtomicInteger used = new AtomicInteger();
        handler = ex -> {
            String path = ex.getRequestURI().getPath();
            String auth = ex.getRequestHeaders().getFirst("Authorization");
            if (path.equals("/token")) {
                String query = ex.getRequestURI().getQuery();
                if (auth != null && !auth.equals(new Credentials.Login("u", "p").basic())) {
                    answer(ex, 401, null, "");
                    return;
                }
                int n = tokensIssued.incrementAndGet();
                used.set(0);
                answer(ex, 200, "application/json", "{\"access_token\":\"tok" + n + "\",\"q\":\"" + query + "\"}");
                return;
            }
            if (auth == null || !auth.equals("Bearer tok" + tokensIssued.get()) || used.incrementAndGet() > uses) {
                ex.getResponseHeaders().add("WWW-Authenticate", "Bearer realm=\"http://" + host
                        + "/token\",service=\"fake\",scope=\"repository:r:pull\"");
                answer(ex, 401, "application/json", "{\"errors\":[{\"code\":\"UNAUTHORIZED\"}]}");
                return;
            }
            if (path.startsWith("/v2/r/blobs/")) {
                answer(ex, 200, "application/octet-stream", "layer");
                return;
            }
            ex.getResponseHeaders().set("Docker-Content-Digest", Digest.sha256(MANIFEST.getBytes(StandardCharsets.UTF_8)).toString());
            answer(ex, 200, MediaTypes.OCI_MANIFEST, MANIFEST);
        };
    }

    @Test
    void theTokenDanceFetchesOneTokenForTheScopeAndReusesIt() throws IOException {
        AtomicInteger issued = new AtomicInteger();
        bearerRegistry(issued, 100);
        Registry r = registry(null);
        Registry.Fetched f = r.manifest("t");
        assertArrayEquals(MANIFEST.getBytes(StandardCharsets.UTF_8), f.bytes());
        assertEquals(MediaTypes.OCI_MANIFEST, f.mediaType());
        assertEquals(Digest.sha256(f.bytes()), f.dockerContentDigest());
        Descriptor layer = new Descriptor(MediaTypes.OCI_LAYER_TAR, Digest.parse("sha256:" + "b".repeat(64)), 5);
        try (InputStream in = r.blob(layer)) {
            assertEquals("layer", new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
        assertEquals(1, issued.get(), "one token for the manifest and the blob");
        assertTrue(seen.contains("/token?service=fake&scope=repository%3Ar%3Apull null"), seen.toString());
    }

    @Test
    void anExpiredTokenIsRenewedOnce() {
        AtomicInteger issued = new AtomicInteger();
        bearerRegistry(issued, 1);   // each token is good for one request
        Registry r = registry(new Credentials.Login("u", "p"));
        r.manifest("t");
        r.manifest("t");
        assertEquals(2, issued.get());
        assertTrue(seen.stream().anyMatch(s -> s.contains("account=u") && s.endsWith(new Credentials.Login("u", "p").basic())), seen.toString());
    }

    @Test
    void theTokenServiceRefusingIsOneLine() {
        bearerRegistry(new AtomicInteger(), 100);
        assertEquals("unauthorized: wrong username or password", error(() -> registry(new Credentials.Login("u", "bad")).manifest("t")));
        handler = ex -> {
            if (ex.getRequestURI().getPath().equals("/token")) {
                answer(ex, 401, null, "");
                return;
            }
            ex.getResponseHeaders().add("WWW-Authenticate", "Bearer realm=\"http://" + host + "/token\",service=\"fake\"");
            answer(ex, 401, null, "");
        };
        assertEquals("unauthorized: the token service refused anonymous access", error(() -> registry(null).manifest("t")));
    }

    @Test
    void aTokenTooSmallForTheScopeIsNotABadPassword() {
        handler = ex -> {
            if (ex.getRequestURI().getPath().equals("/token")) {
                answer(ex, 200, "application/json", "{\"token\":\"t\"}");
                return;
            }
            ex.getResponseHeaders().add("WWW-Authenticate", "Bearer realm=\"http://" + host
                    + "/token\",service=\"fake\",scope=\"repository:r:pull\",error=\"insufficient_scope\"");
            answer(ex, 401, null, "");
        };
        assertEquals("unauthorized: u may not pull " + host + "/r (insufficient_scope)",
                error(() -> registry(new Credentials.Login("u", "p")).manifest("t")));
        assertEquals("unauthorized: authentication required (log in with: login " + host + ")", error(() -> registry(null).manifest("t")));
    }

    @Test
    void loginAsksForATokenWithoutScope() {
        AtomicInteger issued = new AtomicInteger();
        bearerRegistry(issued, 100);
        Registry.forLogin("http://" + host + "/", new Credentials.Login("u", "p"), Set.of(), HOOKS).checkLogin();
        assertTrue(seen.contains("/token?service=fake&account=u " + new Credentials.Login("u", "p").basic()), seen.toString());
        assertEquals("unauthorized: wrong username or password",
                error(() -> Registry.forLogin(host, new Credentials.Login("u", "bad"), Set.of(), HOOKS).checkLogin()));
    }

    @Test
    void registryErrorsBecomeOneLineEach() {
        handler = ex -> answer(ex, 429, "application/json", "{\"errors\":[{\"code\":\"TOOMANYREQUESTS\",\"message\":\"You have reached\\nyour pull rate limit.\"}]}");
        assertEquals("toomanyrequests: rate limited by the registry (You have reached\\nyour pull rate limit.)", error(() -> registry(null).manifest("t")));
        handler = ex -> answer(ex, 503, "text/html", "<html>down</html>");
        assertEquals("the registry at " + host + " answered HTTP 503", error(() -> registry(null).manifest("t")));
        handler = ex -> answer(ex, 403, "application/json", "{\"errors\":[{\"code\":\"DENIED\",\"message\":\"requested access to the resource is denied\"}]}");
        assertEquals("denied: requested access to the resource is denied", error(() -> registry(null).manifest("t")));
        handler = ex -> answer(ex, 404, "application/json", "{\"errors\":[{\"code\":\"NAME_UNKNOWN\",\"message\":\"repository name not known to registry\"}]}");
        assertEquals("name unknown: no repository " + host + "/r", error(() -> registry(null).manifest("t")));
        handler = ex -> answer(ex, 404, "text/plain", "404 page not found");
        assertEquals("manifest unknown: no tag t in " + host + "/r", error(() -> registry(null).manifest("t")));
    }

    @Test
    void onlyManifestsAreManifests() {
        handler = ex -> answer(ex, 200, "text/html", "<html>a captive portal</html>");
        assertEquals("the registry at " + host + " answered something that is not a manifest (content-type text/html)",
                error(() -> registry(null).manifest("t")));
        handler = ex -> answer(ex, 200, MediaTypes.DOCKER_MANIFEST_SCHEMA1_SIGNED, "{\"schemaVersion\":1,\"name\":\"r\"}");
        assertTrue(error(() -> registry(null).manifest("t")).contains("schema 1"));
        // An OCI manifest may leave mediaType out, and a registry may call it application/json.
        handler = ex -> answer(ex, 200, "application/json", MANIFEST.replace("\"mediaType\":\"" + MediaTypes.OCI_MANIFEST + "\",", ""));
        Registry.Fetched f = registry(null).manifest("t");
        assertEquals(MediaTypes.OCI_MANIFEST, f.mediaType());
        assertNull(f.dockerContentDigest());
        handler = ex -> {
            ex.getResponseHeaders().set("Content-Type", MediaTypes.OCI_MANIFEST);
            ex.sendResponseHeaders(200, DigestingInputStream.MAX_MANIFEST + 1);
        };
        assertTrue(error(() -> registry(null).manifest("t")).contains("larger than 4 MiB"));
    }

    @Test
    void blobsFollowARedirectToStorage() throws IOException {
        handler = ex -> {
            if (ex.getRequestURI().getPath().startsWith("/storage/")) {
                answer(ex, 200, "application/octet-stream", "bytes");
                return;
            }
            ex.getResponseHeaders().set("Location", "http://" + host + "/storage/blob?signature=x");
            answer(ex, 307, null, "");
        };
        Descriptor d = new Descriptor(MediaTypes.OCI_LAYER_TAR, Digest.parse("sha256:" + "d".repeat(64)), 5);
        try (InputStream in = registry(null).blob(d)) {
            assertEquals("bytes", new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
        assertEquals("/v2/r/blobs/" + d.digest, seen.get(0).split(" ")[0]);
    }

    @Test
    void unreachableIsOneLine() throws IOException {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        int closed = port;
        assertEquals("cannot reach registry 127.0.0.1:" + closed + ": connection refused",
                error(() -> new Registry(Reference.parse("127.0.0.1:" + closed + "/r"), HOOKS, Set.of()).manifest("t")));
    }

    @Test
    void aConnectionDroppedMidBlobIsAnIoExceptionNamingTheBlob() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            Thread t = new Thread(() -> {
                try (Socket c = s.accept()) {
                    c.getInputStream().read(new byte[8192]);   // the request (small: one read is enough)
                    OutputStream out = c.getOutputStream();
                    out.write("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    out.write(new byte[1000]);
                    out.flush();
                } catch (IOException ignored) {
                    // the test sees the result on its side
                }
            });
            t.start();
            Digest d = Digest.parse("sha256:" + "c".repeat(64));
            Registry r = new Registry(Reference.parse("127.0.0.1:" + s.getLocalPort() + "/r"), HOOKS, Set.of());
            try (InputStream in = r.blob(new Descriptor(MediaTypes.OCI_LAYER_TAR, d, 100000))) {
                IOException e = assertThrows(IOException.class, in::readAllBytes);
                assertTrue(e.getMessage().startsWith("connection to 127.0.0.1:" + s.getLocalPort() + " lost while fetching " + d + ": "),
                        e.getMessage());
            }
            t.join();
        }
    }
}
