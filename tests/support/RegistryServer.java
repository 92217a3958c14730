import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import jocker.kernel.Trees;

/**
 * A real registry for the checks of step 06: Debian's {@code docker-registry} (Distribution 2.8,
 * the registry Docker Hub grew from) serving on a free port of 127.0.0.1, with its storage in a
 * temp directory of its own, and optionally htpasswd basic auth or bearer-token auth (with a
 * {@link TokenServer}).
 * <pre>
 *   try (RegistryServer registry = RegistryServer.start()) {
 *       ... registry.host() is "127.0.0.1:PORT"; plain HTTP, as a loopback registry may be
 *   }
 * </pre>
 * It is stopped through the {@link Process} that started it (never by name), and its temp
 * directory is removed, by {@link #close()}; a shutdown hook does both for a harness that is
 * interrupted. {@link #stop()} stops it and keeps the storage, e.g. in the middle of a pull.
 * {@link Relay} puts a slow TCP relay in front of it, which sees every request.
 */
final class RegistryServer implements AutoCloseable {

    /** How clients authenticate. */
    enum Auth { NONE, BASIC, TOKEN }

    private static final Set<RegistryServer> RUNNING = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            for (RegistryServer r : RUNNING) r.close();
        }, "registry-server-cleanup"));
    }

    private final Path dir;
    private final Auth auth;
    private final int port;
    private final Process process;
    private final List<Relay> relays = new CopyOnWriteArrayList<>();
    private final AtomicBoolean closed = new AtomicBoolean();

    private RegistryServer(Path dir, Auth auth, int port, Process process) {
        this.dir = dir;
        this.auth = auth;
        this.port = port;
        this.process = process;
    }

    /** A registry anyone may pull from and push to. */
    static RegistryServer start() throws IOException {
        return start(Auth.NONE, "");
    }

    /** A registry with htpasswd basic auth: only {@code user} with {@code password} may pull or push. */
    static RegistryServer startBasic(String user, String password) throws IOException {
        Path dir = Files.createTempDirectory("jocker-check-registry-");
        try {
            // bcrypt, the only hash Distribution's htpasswd accepts: apache2-utils' htpasswd -B.
            String line = Fixtures.tool(dir, List.of("htpasswd", "-Bbn", user, password), 60).strip();
            Files.writeString(dir.resolve("htpasswd"), line + "\n");
        } catch (IOException | RuntimeException e) {
            deleteQuietly(dir);
            throw e;
        }
        return start(dir, Auth.BASIC, "auth:\n  htpasswd:\n    realm: jocker-test-registry\n    path: "
                + dir.resolve("htpasswd") + "\n");
    }

    /** A registry with bearer-token auth: it trusts the tokens that {@code tokens} signs. */
    static RegistryServer startToken(TokenServer tokens) throws IOException {
        return start(Auth.TOKEN, "auth:\n  token:\n"
                + "    realm: " + tokens.realm() + "\n"
                + "    service: " + TokenServer.SERVICE + "\n"
                + "    issuer: " + TokenServer.ISSUER + "\n"
                + "    rootcertbundle: " + tokens.certificatePem() + "\n");
    }

    private static RegistryServer start(Auth auth, String authConfig) throws IOException {
        return start(Files.createTempDirectory("jocker-check-registry-"), auth, authConfig);
    }

    private static RegistryServer start(Path dir, Auth auth, String authConfig) throws IOException {
        Files.createDirectories(dir.resolve("storage"));
        String why = "";
        // A free port, found by binding port 0; another process may take it before the registry
        // does, so a failure to bind tries another one.
        for (int attempt = 0; attempt < 5; attempt++) {
            int port;
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                port = s.getLocalPort();
            }
            Path config = dir.resolve("config.yml");
            Files.writeString(config, "version: 0.1\n"
                    + "log:\n  level: warn\n  accesslog:\n    disabled: true\n"
                    + "storage:\n  filesystem:\n    rootdirectory: " + dir.resolve("storage") + "\n"
                    + "  delete:\n    enabled: true\n"
                    + "http:\n  addr: 127.0.0.1:" + port + "\n  secret: jocker-test-" + Jocker.token() + "\n"
                    + authConfig);
            Path log = dir.resolve("registry.log");
            Process p;
            try {
                p = new ProcessBuilder("docker-registry", "serve", config.toString())
                        .redirectErrorStream(true).redirectOutput(log.toFile())
                        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            } catch (IOException e) {
                deleteQuietly(dir);
                throw new IOException("cannot start docker-registry (./build.sh installs it: apt-get install docker-registry): " + e, e);
            }
            RegistryServer r = new RegistryServer(dir, auth, port, p);
            RUNNING.add(r);
            if (r.awaitReady(Duration.ofSeconds(30))) return r;
            r.stop();
            RUNNING.remove(r);
            why = r.log();
            if (!why.contains("address already in use")) break;
        }
        deleteQuietly(dir);
        throw new IOException("docker-registry did not start on 127.0.0.1; its log:\n" + why);
    }

    /** Waits until {@code GET /v2/} answers (200 without auth, 401 with). */
    private boolean awaitReady(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline && process.isAlive()) {
            try {
                HttpURLConnection c = (HttpURLConnection) URI.create(url("/v2/")).toURL().openConnection();
                c.setConnectTimeout(1000);
                c.setReadTimeout(2000);
                int status = c.getResponseCode();
                c.disconnect();
                if (status == 200 || status == 401) return true;
            } catch (IOException notYet) {
                // still starting
            }
            Jocker.sleep(50);
        }
        return false;
    }

    /** {@code 127.0.0.1:PORT}, as an image reference names the registry. */
    String host() { return "127.0.0.1:" + port; }

    int port() { return port; }

    Auth auth() { return auth; }

    /** {@code http://127.0.0.1:PORT} + path. */
    String url(String path) { return "http://" + host() + path; }

    /** The registry's storage directory (its filesystem driver's root). */
    Path storage() { return dir.resolve("storage"); }

    /** Where the registry keeps the bytes of a blob: {@code docker/registry/v2/blobs/sha256/XX/HEX/data}. */
    Path blobData(String digest) {
        String hex = digest.substring(digest.indexOf(':') + 1);
        return storage().resolve("docker/registry/v2/blobs/sha256").resolve(hex.substring(0, 2)).resolve(hex).resolve("data");
    }

    long pid() { return process.pid(); }

    boolean isRunning() { return process.isAlive(); }

    /** The registry's log (warnings and errors). */
    String log() {
        try {
            String s = Files.readString(dir.resolve("registry.log"), StandardCharsets.UTF_8);
            return s.length() > 4000 ? "..." + s.substring(s.length() - 4000) : s;
        } catch (IOException e) {
            return "(no log)";
        }
    }

    /** Kills the registry at once (SIGKILL to the process we started), keeping its storage. */
    void kill() {
        process.destroyForcibly();
        waitFor(10);
    }

    /** Stops the registry (SIGTERM, then SIGKILL after 5 s), keeping its storage. */
    void stop() {
        if (!process.isAlive()) return;
        process.destroy();
        if (!waitFor(5)) {
            process.destroyForcibly();
            waitFor(10);
        }
    }

    private boolean waitFor(int seconds) {
        try {
            return process.waitFor(seconds, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Stops the registry and its relays, and removes its temp directory. */
    @Override
    public void close() {
        // Once: a caller's close and the shutdown hook may race.
        if (!closed.compareAndSet(false, true)) return;
        for (Relay r : relays) r.close();
        stop();
        RUNNING.remove(this);
        deleteQuietly(dir);
    }

    /** A relay in front of this registry that forwards at most {@code bytesPerSecond} towards the client. */
    Relay relay(long bytesPerSecond) throws IOException {
        Relay r = new Relay(port, bytesPerSecond);
        relays.add(r);
        return r;
    }

    /**
     * A TCP relay on a free loopback port in front of the registry: it forwards both ways, the
     * registry's answers at a limited rate (so that a check can act in the middle of a download),
     * counts the bytes it forwarded to the client, and records each HTTP request line it passed
     * on ({@code GET /v2/x/blobs/sha256:...}): a check can tell what a client fetched.
     */
    static final class Relay implements AutoCloseable {
        private static final Pattern REQUEST = Pattern.compile("^(GET|HEAD|POST|PUT|PATCH|DELETE) (\\S+) HTTP/1\\.[01]\r?$");

        private final int upstream;
        private final long rate;
        private final ServerSocket listener;
        private final AtomicLong toClient = new AtomicLong();
        private final List<String> requests = new CopyOnWriteArrayList<>();
        private final List<Socket> sockets = new CopyOnWriteArrayList<>();
        private volatile boolean closed;

        Relay(int upstream, long bytesPerSecond) throws IOException {
            this.upstream = upstream;
            this.rate = bytesPerSecond;
            this.listener = new ServerSocket(0, 16, InetAddress.getLoopbackAddress());
            Thread t = new Thread(this::accept, "registry-relay-accept");
            t.setDaemon(true);
            t.start();
        }

        /** {@code 127.0.0.1:PORT} of the relay: image references name this host to go through it. */
        String host() { return "127.0.0.1:" + listener.getLocalPort(); }

        /** Bytes forwarded from the registry to clients so far. */
        long bytesToClient() { return toClient.get(); }

        /** The request lines forwarded so far: {@code GET /v2/...}. */
        List<String> requests() { return List.copyOf(requests); }

        /** Waits until at least {@code bytes} went to clients; false on timeout. */
        boolean awaitBytes(long bytes, Duration timeout) {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (toClient.get() < bytes) {
                if (System.nanoTime() > deadline) return false;
                Jocker.sleep(20);
            }
            return true;
        }

        private void accept() {
            while (!closed) {
                try {
                    Socket client = listener.accept();
                    sockets.add(client);
                    Socket server = new Socket();
                    sockets.add(server);
                    // A small receive buffer: what the registry sent is not piled up here, so a
                    // registry that stops stops the flow soon.
                    server.setReceiveBufferSize(32 * 1024);
                    try {
                        server.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), upstream), 5000);
                    } catch (IOException refused) {
                        closeQuietly(client);
                        closeQuietly(server);
                        continue;
                    }
                    pump(client, server, false);
                    pump(server, client, true);
                } catch (IOException e) {
                    if (closed) return;
                }
            }
        }

        private void pump(Socket from, Socket to, boolean towardsClient) {
            Thread t = new Thread(() -> {
                byte[] buf = new byte[towardsClient ? (int) Math.max(1024, Math.min(16 * 1024, rate / 20)) : 8192];
                StringBuilder line = new StringBuilder();
                long started = System.nanoTime();
                long sent = 0;
                try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                    for (int n; (n = in.read(buf)) > 0; ) {
                        if (towardsClient) {
                            out.write(buf, 0, n);
                            out.flush();
                            sent += n;
                            toClient.addAndGet(n);
                            long due = started + sent * 1_000_000_000L / rate;
                            long wait = due - System.nanoTime();
                            if (wait > 0) Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                        } else {
                            for (int i = 0; i < n; i++) {
                                char c = (char) (buf[i] & 0xff);
                                if (c == '\n') {
                                    Matcher m = REQUEST.matcher(line);
                                    if (m.matches()) requests.add(m.group(1) + " " + m.group(2));
                                    line.setLength(0);
                                } else if (line.length() < 4096) {
                                    line.append(c);
                                }
                            }
                            out.write(buf, 0, n);
                            out.flush();
                        }
                    }
                } catch (IOException | InterruptedException e) {
                    // one side went away: close both below
                } finally {
                    closeQuietly(from);
                    closeQuietly(to);
                }
            }, "registry-relay");
            t.setDaemon(true);
            t.start();
        }

        @Override
        public void close() {
            closed = true;
            closeQuietly(listener);
            for (Socket s : sockets) closeQuietly(s);
        }

        private static void closeQuietly(java.io.Closeable c) {
            try {
                c.close();
            } catch (IOException ignored) {
                // closing
            }
        }
    }

    @Override
    public String toString() {
        return "docker-registry at " + host() + " (pid " + process.pid() + ", auth " + auth + ", storage " + storage() + ")";
    }

    /** The blob files of the registry's storage, for a check that tampers with one. */
    List<Path> blobFiles() throws IOException {
        Path blobs = storage().resolve("docker/registry/v2/blobs/sha256");
        List<Path> files = new ArrayList<>();
        if (!Files.isDirectory(blobs)) return files;
        try (var s = Files.walk(blobs)) {
            s.filter(p -> p.getFileName().toString().equals("data")).forEach(files::add);
        }
        return files;
    }

    /**
     * Deletes a directory tree, reporting instead of throwing. Here rather than in TokenServer: a
     * class first touched during shutdown runs its static initializer then, and TokenServer's adds a
     * shutdown hook, which the JVM refuses at that point; the registry's directory stayed behind.
     */
    static void deleteQuietly(Path dir) {
        try {
            if (Files.exists(dir)) Trees.delete(dir);
        } catch (IOException | RuntimeException e) {
            System.err.println("checks: could not delete " + dir + ": " + e);
        }
    }
}
