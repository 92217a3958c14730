//DEPS com.fasterxml.jackson.core:jackson-databind:2.18.2
package jocker.image;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import jocker.runtime.ContainerError;
import jocker.runtime.Log;

/**
 * The logins {@code docker login} keeps, in Docker's own file, so that {@code docker} and we share
 * them: {@code $DOCKER_CONFIG/config.json}, else {@code ~/.docker/config.json} (docker/cli,
 * cli/config/configfile). Each registry has an entry under {@code auths}, keyed by its host
 * ({@code 127.0.0.1:5000}), and Docker Hub, for historical reasons, by its v1 index URL:
 * <pre>
 *   { "auths": {
 *       "https://index.docker.io/v1/": { "auth": "dXNlcjpwYXNz" },    base64("user:pass")
 *       "127.0.0.1:5000":              { "auth": "..." } },
 *     "credsStore": "...", "psFormat": "...", ... }                  other keys: not ours, kept
 * </pre>
 * The password is only base64-encoded, not encrypted: what protects it is the file's mode, 0600.
 * So the file is never written in place. A new file is created next to it with mode 0600 from its
 * first byte (a chmod after writing would leave a moment in which others may read the secret),
 * written, flushed to disk (fsync), then renamed over the old one: rename(2) is atomic, so a
 * reader sees the old file or the new one, never half of one, even after a crash.
 * Credential helpers ({@code credsStore}, {@code credHelpers}) are not supported: their logins
 * live in a keychain, and an entry without {@code auth} is treated as no login.
 */
public final class Credentials {
    private Credentials() {}

    /** Docker Hub's key in {@code auths}, the URL of the v1 index that Docker Hub once was. */
    public static final String DOCKER_HUB_KEY = "https://index.docker.io/v1/";
    /** Every name Docker Hub goes by: all of them mean the same login. */
    private static final List<String> DOCKER_HUB_NAMES = List.of(Reference.DOCKER_HUB, "index.docker.io",
            Reference.DOCKER_HUB_API);

    /**
     * A user name and password. HTTP Basic authentication (RFC 7617) sends them as
     * {@code base64(user ":" password)}, so a user name cannot contain a colon.
     */
    public record Login(String username, String password) {
        public Login {
            if (username == null || username.isEmpty()) throw new ContainerError("a login needs a user name");
            if (username.indexOf(':') >= 0) throw new ContainerError("a user name cannot contain ':' (RFC 7617)");
            if (password == null) throw new ContainerError("a login needs a password");
        }

        /** The Authorization header value of HTTP Basic authentication: {@code Basic base64(user:password)}. */
        public String basic() { return "Basic " + encoded(); }

        /** {@code base64(user:password)}, what {@code auths.HOST.auth} holds. */
        String encoded() {
            return Base64.getEncoder().encodeToString((username + ":" + password).getBytes(StandardCharsets.UTF_8));
        }

        /** Never the password: records print their fields, and a Login may end up in a log. */
        @Override
        public String toString() { return "Login[username=" + username + ", password=***]"; }
    }

    /** {@code $DOCKER_CONFIG/config.json}, else {@code ~/.docker/config.json}, as docker reads it. */
    public static Path file() {
        String dir = System.getenv("DOCKER_CONFIG");
        if (dir != null && !dir.isEmpty()) return Path.of(dir, "config.json");
        return Path.of(System.getProperty("user.home"), ".docker", "config.json");
    }

    /** The stored login for a registry ({@code 127.0.0.1:5000}, {@code docker.io}), or null. */
    public static Login find(String registryHost) { return find(file(), registryHost); }

    /** Stores a login for a registry, replacing its old one; nothing else in the file changes. */
    public static void store(String registryHost, Login login) { store(file(), registryHost, login); }

    /** Removes a registry's login (under every key that names it); false if there was none. */
    public static boolean remove(String registryHost) { return remove(file(), registryHost); }

    /**
     * The key {@code docker login SERVER} stores under: the host[:port] alone (a scheme and a path,
     * as in {@code https://host:5000/v2/}, are dropped), and Docker Hub's v1 URL for any of its names.
     */
    public static String key(String server) {
        String host = host(server);
        return host.equals(Reference.DOCKER_HUB) ? DOCKER_HUB_KEY : host;
    }

    /** The registry host a server name or an {@code auths} key stands for (docker/cli's ConvertToHostname). */
    static String host(String server) {
        String s = server == null ? "" : server.trim();
        String lower = s.toLowerCase(Locale.ROOT);
        if (lower.startsWith("https://")) s = s.substring(8);
        else if (lower.startsWith("http://")) s = s.substring(7);
        int slash = s.indexOf('/');
        if (slash >= 0) s = s.substring(0, slash);
        if (s.isEmpty()) throw new ContainerError("invalid registry address \"" + Digest.clip(String.valueOf(server)) + "\"");
        return DOCKER_HUB_NAMES.contains(s.toLowerCase(Locale.ROOT)) ? Reference.DOCKER_HUB : s;
    }

    static Login find(Path file, String registryHost) {
        JsonNode auths = read(file).path("auths");
        if (!auths.isObject()) return null;
        // The exact key first (what login wrote), then any key naming the same host: older
        // docker versions wrote "https://HOST" or "http://HOST".
        JsonNode entry = auths.get(key(registryHost));
        if (entry == null) {
            List<String> others = keysFor(auths, registryHost);
            if (!others.isEmpty()) entry = auths.get(others.get(0));
        }
        return entry == null ? null : login(entry, file, registryHost);
    }

    /** An {@code auths} entry: {@code auth} (base64 of user:password), or separate fields. */
    private static Login login(JsonNode entry, Path file, String registryHost) {
        String auth = entry.path("auth").asText("");
        if (!auth.isEmpty()) {
            String pair;
            try {
                pair = new String(Base64.getDecoder().decode(auth.trim()), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                throw new ContainerError("invalid login for " + registryHost + " in " + file + ": auth is not base64");
            }
            int colon = pair.indexOf(':');
            if (colon <= 0) throw new ContainerError("invalid login for " + registryHost + " in " + file + ": auth is not user:password");
            return new Login(pair.substring(0, colon), pair.substring(colon + 1));
        }
        String user = entry.path("username").asText("");
        // An entry without credentials is what docker leaves when a credential helper holds them.
        return user.isEmpty() ? null : new Login(user, entry.path("password").asText(""));
    }

    static void store(Path file, String registryHost, Login login) {
        ObjectNode root = read(file);
        JsonNode found = root.get("auths");
        ObjectNode auths = found instanceof ObjectNode o ? o : root.putObject("auths");
        // One entry per registry: drop old spellings of the same host, so logout removes the login.
        for (String k : keysFor(auths, registryHost)) auths.remove(k);
        auths.putObject(key(registryHost)).put("auth", login.encoded());
        write(file, root);
    }

    static boolean remove(Path file, String registryHost) {
        ObjectNode root = read(file);
        if (!(root.get("auths") instanceof ObjectNode auths)) return false;
        List<String> keys = keysFor(auths, registryHost);
        if (keys.isEmpty()) return false;
        for (String k : keys) auths.remove(k);
        write(file, root);
        return true;
    }

    /** The keys of {@code auths} that name {@code registryHost}'s host. */
    private static List<String> keysFor(JsonNode auths, String registryHost) {
        String host = host(registryHost);
        List<String> keys = new ArrayList<>();
        for (Iterator<String> it = auths.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            try {
                if (host(k).equalsIgnoreCase(host)) keys.add(k);
            } catch (ContainerError e) {
                // an empty key names no host: not ours, keep it
            }
        }
        return keys;
    }

    /** The file as a JSON tree; an empty tree if there is no file (or only white space). */
    private static ObjectNode read(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return JsonNodeFactory.instance.objectNode();
        } catch (IOException e) {
            throw new ContainerError("failed to read " + file + ": " + Log.reason(e), e);
        }
        if (new String(bytes, StandardCharsets.UTF_8).isBlank()) return JsonNodeFactory.instance.objectNode();
        try {
            if (ImageJson.mapper().readTree(bytes) instanceof ObjectNode o) return o;
            throw new ContainerError("failed to read " + file + ": not a JSON object");
        } catch (IOException e) {
            throw new ContainerError("failed to read " + file + ": not JSON ("
                    + Log.oneLine(Digest.clip(String.valueOf(e.getMessage()).lines().findFirst().orElse(""))) + ")", e);
        }
    }

    /** Temp file created 0600, written, fsync'd, renamed over the file; the directory made 0700 if missing. */
    private static void write(Path file, ObjectNode root) {
        Path target = file;
        Path tmp = null;
        try {
            // A config.json that is a symbolic link (dotfiles in a repository) stays one: replace its target.
            if (Files.isSymbolicLink(file)) target = file.toAbsolutePath().getParent().resolve(Files.readSymbolicLink(file));
            Path dir = target.toAbsolutePath().getParent();
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            tmp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".tmp",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            byte[] bytes = (ImageJson.mapper().writeValueAsString(root) + "\n").getBytes(StandardCharsets.UTF_8);
            try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ByteBuffer buffer = ByteBuffer.wrap(bytes);
                while (buffer.hasRemaining()) out.write(buffer);
                out.force(true);   // the data is on disk before the rename makes it the file
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            tmp = null;
            // And the rename itself is on disk: fsync the directory (open(2) O_RDONLY, fsync(2)).
            try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
                d.force(true);
            }
        } catch (IOException e) {
            throw new ContainerError("failed to write " + target + ": " + Log.reason(e), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // the error that brought us here is the one to report
                }
            }
        }
    }
}
