import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;


/**
 * A token service for a registry's bearer-token auth (the Docker registry token spec, "Token
 * Authentication Specification" of distribution/distribution), on loopback, for the checks of step
 * 06: a client that gets 401 with {@code WWW-Authenticate: Bearer realm=...,service=...,scope=...}
 * asks {@code GET realm?service=S&scope=repository:NAME:pull} here (with Basic credentials, or
 * none), and gets {@code {"token": JWT}}; the registry accepts the JWT on the retry.
 *
 * <p>The JWT is signed with RS256 by a key whose self-signed certificate is both in the token's
 * {@code x5c} header and in the registry's {@code rootcertbundle} ({@link #certificatePem()}): that
 * is how Distribution 2.8 checks it (registry/auth/token/token.go, verifySigningKey). The key pair
 * and certificate come from the JDK's keytool, run once per JVM (the JDK has no public API to
 * make a certificate).
 *
 * <p>Users with the right password get the actions they ask for; anyone else (no credentials)
 * gets a token that grants nothing, as a registry's anonymous user of a private repository does,
 * so that the registry refuses the retry with 401; a wrong password gets 401 here.
 */
final class TokenServer implements AutoCloseable {

    /** What the registry's config must name: aud and iss of every token. */
    static final String SERVICE = "jocker-test-registry";
    static final String ISSUER = "jocker-test-token-issuer";

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final java.util.Set<TokenServer> RUNNING = java.util.concurrent.ConcurrentHashMap.newKeySet();

    static {
        // A harness that is interrupted still removes the key and certificate.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            for (TokenServer t : RUNNING) t.close();
        }, "token-server-cleanup"));
    }
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Base64.Encoder URL64 = Base64.getUrlEncoder().withoutPadding();

    private final Path dir;
    private final Map<String, String> users;
    private final PrivateKey key;
    private final X509Certificate certificate;
    private final HttpServer server;
    private final ExecutorService executor;
    /** Every request, as "ACCOUNT SCOPES -> STATUS": a check can tell what its client asked for. */
    private final List<String> requests = new CopyOnWriteArrayList<>();

    private TokenServer(Path dir, Map<String, String> users, PrivateKey key, X509Certificate certificate) throws IOException {
        this.dir = dir;
        this.users = Map.copyOf(users);
        this.key = key;
        this.certificate = certificate;
        this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        this.executor = Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "token-server");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(executor);
        server.createContext("/token", this::token);
        server.start();
        RUNNING.add(this);
    }

    /** Starts a token service that knows {@code users} (name to password). */
    static TokenServer start(Map<String, String> users) throws IOException {
        Path dir = Files.createTempDirectory("jocker-check-token-");
        try {
            Signer signer = Signer.get();
            Files.writeString(dir.resolve("root.pem"), "-----BEGIN CERTIFICATE-----\n"
                    + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(signer.certificate.getEncoded())
                    + "\n-----END CERTIFICATE-----\n");
            return new TokenServer(dir, users, signer.key, signer.certificate);
        } catch (IOException | RuntimeException e) {
            deleteQuietly(dir);
            throw e;
        } catch (Exception e) {
            deleteQuietly(dir);
            throw new IOException("failed to make the token service's key and certificate: " + e, e);
        }
    }

    /**
     * The signing key and its self-signed certificate, made once per JVM: keytool is a JVM of its
     * own that makes a 2048-bit RSA key, about 1.8 s, and a harness starts a token service for
     * every run of the auth checks (each phase, each learner). Every service trusts its own copy
     * of the certificate (its root.pem), so sharing the key changes nothing a check can see.
     */
    private record Signer(PrivateKey key, X509Certificate certificate) {
        private static Signer made;

        static synchronized Signer get() throws Exception {
            if (made == null) made = make();
            return made;
        }

        private static Signer make() throws Exception {
            Path dir = Files.createTempDirectory("jocker-check-token-key-");
            try {
                Path store = dir.resolve("token.p12");
                String password = HexFormat.of().formatHex(bytes(12));
                // A self-signed RSA certificate, valid from an hour ago (clocks) for two days.
                Fixtures.tool(dir, List.of("keytool", "-genkeypair", "-keyalg", "RSA", "-keysize", "2048", "-alias", "token",
                        "-dname", "CN=jocker-test-token-service", "-validity", "2", "-startdate", "-1H",
                        "-storetype", "PKCS12", "-keystore", store.toString(), "-storepass", password, "-keypass", password,
                        "-noprompt"), 60);
                KeyStore ks = KeyStore.getInstance("PKCS12");
                try (InputStream in = Files.newInputStream(store)) {
                    ks.load(in, password.toCharArray());
                }
                return new Signer((PrivateKey) ks.getKey("token", password.toCharArray()),
                        (X509Certificate) ks.getCertificate("token"));
            } finally {
                deleteQuietly(dir);
            }
        }
    }

    /** The realm a registry names in its challenge: {@code http://127.0.0.1:PORT/token}. */
    String realm() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/token";
    }

    /** The certificate (PEM) the registry trusts: its {@code auth.token.rootcertbundle}. */
    Path certificatePem() { return dir.resolve("root.pem"); }

    /** The requests so far, one line each: {@code ACCOUNT SCOPE... -> STATUS}. */
    List<String> requests() { return List.copyOf(requests); }

    @Override
    public void close() {
        RUNNING.remove(this);
        server.stop(0);
        executor.shutdownNow();
        try {
            executor.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        deleteQuietly(dir);
    }

    // ------------------------------------------------------------------------------------------

    private void token(HttpExchange x) throws IOException {
        try (x) {
            Map<String, List<String>> query = query(x.getRequestURI().getRawQuery());
            List<String> scopes = query.getOrDefault("scope", List.of());
            String account = null;
            String authorization = x.getRequestHeaders().getFirst("Authorization");
            if (authorization != null) {
                String[] userPass = basic(authorization);
                if (userPass == null || !userPass[1].equals(users.get(userPass[0]))) {
                    requests.add((userPass == null ? "?" : userPass[0]) + " " + scopes + " -> 401");
                    send(x, 401, "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"wrong username or password\"}]}");
                    return;
                }
                account = userPass[0];
            }
            if (!SERVICE.equals(first(query, "service"))) {
                requests.add(account + " " + scopes + " -> 400 (service " + first(query, "service") + ")");
                send(x, 400, "{\"errors\":[{\"code\":\"DENIED\",\"message\":\"unknown service\"}]}");
                return;
            }
            String jwt = jwt(account, account == null ? List.of() : scopes);
            requests.add((account == null ? "(anonymous)" : account) + " " + scopes + " -> 200");
            ObjectNode body = JSON.createObjectNode();
            body.put("token", jwt);
            body.put("access_token", jwt);
            body.put("expires_in", 300);
            body.put("issued_at", Instant.now().toString());
            send(x, 200, JSON.writeValueAsString(body));
        } catch (Exception e) {
            requests.add("error " + e);
            try {
                send(x, 500, "{\"errors\":[{\"code\":\"UNKNOWN\",\"message\":\"token service failed\"}]}");
            } catch (IOException ignored) {
                // the client went away
            }
        }
    }

    /** A JWT for {@code account} (null: anonymous) granting {@code scopes} ({@code repository:NAME:ACTIONS}). */
    private String jwt(String account, List<String> scopes) throws Exception {
        ObjectNode header = JSON.createObjectNode();
        header.put("typ", "JWT");
        header.put("alg", "RS256");
        header.putArray("x5c").add(Base64.getEncoder().encodeToString(certificate.getEncoded()));
        long now = Instant.now().getEpochSecond();
        ObjectNode claims = JSON.createObjectNode();
        claims.put("iss", ISSUER);
        claims.put("sub", account == null ? "" : account);
        claims.put("aud", SERVICE);
        claims.put("exp", now + 300);
        claims.put("nbf", now - 10);
        claims.put("iat", now);
        claims.put("jti", HexFormat.of().formatHex(bytes(16)));
        ArrayNode access = claims.putArray("access");
        for (String scope : scopes) {
            for (String one : scope.split(" ")) {
                // TYPE:NAME:ACTIONS (repository:x:pull,push); NAME never holds the registry's host:port.
                int first = one.indexOf(':'), last = one.lastIndexOf(':');
                if (first < 0 || last <= first) continue;
                ObjectNode a = access.addObject();
                a.put("type", one.substring(0, first));
                a.put("name", one.substring(first + 1, last));
                ArrayNode actions = a.putArray("actions");
                for (String action : one.substring(last + 1).split(",")) {
                    if (!action.isEmpty()) actions.add(action);
                }
            }
        }
        String signingInput = URL64.encodeToString(JSON.writeValueAsBytes(header)) + "."
                + URL64.encodeToString(JSON.writeValueAsBytes(claims));
        Signature rs256 = Signature.getInstance("SHA256withRSA");
        rs256.initSign(key);
        rs256.update(signingInput.getBytes(StandardCharsets.US_ASCII));
        return signingInput + "." + URL64.encodeToString(rs256.sign());
    }

    private static String[] basic(String authorization) {
        if (!authorization.regionMatches(true, 0, "Basic ", 0, 6)) return null;
        try {
            String decoded = new String(Base64.getDecoder().decode(authorization.substring(6).trim()), StandardCharsets.UTF_8);
            int colon = decoded.indexOf(':');
            return colon < 0 ? null : new String[] {decoded.substring(0, colon), decoded.substring(colon + 1)};
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static Map<String, List<String>> query(String raw) {
        Map<String, List<String>> q = new LinkedHashMap<>();
        if (raw == null) return q;
        for (String pair : raw.split("&")) {
            if (pair.isEmpty()) continue;
            int eq = pair.indexOf('=');
            String k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
            String v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            q.computeIfAbsent(k, key -> new ArrayList<>()).add(v);
        }
        return q;
    }

    private static String first(Map<String, List<String>> q, String key) {
        List<String> v = q.get(key);
        return v == null || v.isEmpty() ? null : v.get(0);
    }

    private static void send(HttpExchange x, int status, String json) throws IOException {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        x.getResponseHeaders().set("Content-Type", "application/json");
        if (status == 401) x.getResponseHeaders().set("WWW-Authenticate", "Basic realm=\"jocker-test-token\"");
        x.sendResponseHeaders(status, body.length);
        x.getResponseBody().write(body);
    }

    private static byte[] bytes(int n) {
        byte[] b = new byte[n];
        RANDOM.nextBytes(b);
        return b;
    }

    static void deleteQuietly(Path dir) { RegistryServer.deleteQuietly(dir); }
}
