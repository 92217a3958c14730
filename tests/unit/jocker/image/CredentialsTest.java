//DEPS org.junit.platform:junit-platform-console-standalone:1.11.4
package jocker.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;

import jocker.runtime.ContainerError;

/** docker's config.json: where logins are found, and how they are written (0600, atomic, nothing else lost). */
class CredentialsTest {
    @TempDir
    Path dockerConfig;

    private Path file() { return dockerConfig.resolve("config.json"); }

    private JsonNode json() throws Exception { return ImageJson.mapper().readTree(file().toFile()); }

    private static String b64(String s) { return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8)); }

    @Test
    void basicIsBase64OfUserColonPassword() {
        Credentials.Login login = new Credentials.Login("user", "pa:ss");
        assertEquals("Basic " + b64("user:pa:ss"), login.basic());
        assertFalse(login.toString().contains("pa:ss"), "a Login never prints its password");
        assertThrows(ContainerError.class, () -> new Credentials.Login("us:er", "x"));
    }

    @Test
    void storeWritesMode0600AndFindReadsItBack() throws Exception {
        Credentials.store(file(), "127.0.0.1:5000", new Credentials.Login("alice", "s3cret"));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file())));
        assertEquals(b64("alice:s3cret"), json().path("auths").path("127.0.0.1:5000").path("auth").asText());
        assertEquals(new Credentials.Login("alice", "s3cret"), Credentials.find(file(), "127.0.0.1:5000"));
        assertNull(Credentials.find(file(), "127.0.0.1:5001"));
        try (var leftovers = Files.list(dockerConfig)) {
            assertEquals(1, leftovers.count(), "no temporary file is left next to config.json");
        }
    }

    @Test
    void aMissingDirectoryIsCreatedPrivate() throws Exception {
        Path nested = dockerConfig.resolve("new/dir/config.json");
        Credentials.store(nested, "localhost:5000", new Credentials.Login("u", "p"));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(nested.getParent())));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(nested)));
    }

    @Test
    void otherKeysAndEntriesAreKept() throws Exception {
        Files.writeString(file(), """
                {"auths": {"other.example": {"auth": "%s", "email": "x@example"}},
                 "credHelpers": {"gcr.io": "gcloud"}, "psFormat": "table {{.ID}}", "proxies": {"default": {"httpProxy": "p"}}}
                """.formatted(b64("bob:pw")));
        Credentials.store(file(), "127.0.0.1:5000", new Credentials.Login("alice", "s3cret"));
        JsonNode json = json();
        assertEquals("table {{.ID}}", json.path("psFormat").asText());
        assertEquals("gcloud", json.path("credHelpers").path("gcr.io").asText());
        assertEquals("p", json.path("proxies").path("default").path("httpProxy").asText());
        assertEquals("x@example", json.path("auths").path("other.example").path("email").asText());
        assertEquals(new Credentials.Login("bob", "pw"), Credentials.find(file(), "other.example"));
    }

    @Test
    void dockerHubIsStoredUnderItsV1IndexUrl() throws Exception {
        Credentials.store(file(), "docker.io", new Credentials.Login("alice", "hub"));
        assertTrue(json().path("auths").has("https://index.docker.io/v1/"), json().toString());
        assertEquals(1, json().path("auths").size());
        for (String name : new String[] {"docker.io", "index.docker.io", "registry-1.docker.io", "https://index.docker.io/v1/"}) {
            assertEquals("alice", Credentials.find(file(), name).username(), name);
        }
        assertEquals("https://index.docker.io/v1/", Credentials.key("docker.io"));
        assertEquals("127.0.0.1:5000", Credentials.key("https://127.0.0.1:5000/v2/"));
    }

    @Test
    void olderSpellingsAndSeparateFieldsAreFound() throws Exception {
        Files.writeString(file(), """
                {"auths": {"https://reg.example:5000": {"auth": "%s"},
                           "http://plain.example/": {"username": "carol", "password": "pw2"},
                           "helper.example": {}}}
                """.formatted(b64("dave:pw1")));
        assertEquals(new Credentials.Login("dave", "pw1"), Credentials.find(file(), "reg.example:5000"));
        assertEquals(new Credentials.Login("carol", "pw2"), Credentials.find(file(), "plain.example"));
        assertNull(Credentials.find(file(), "helper.example"), "an entry a credential helper holds is no login of ours");
    }

    @Test
    void storeReplacesOldSpellingsAndRemoveTakesThemAll() throws Exception {
        Files.writeString(file(), """
                {"auths": {"https://reg.example": {"auth": "%s"}, "keep.example": {"auth": "%s"}}, "x": 1}
                """.formatted(b64("old:pw"), b64("k:pw")));
        Credentials.store(file(), "reg.example", new Credentials.Login("new", "pw"));
        assertFalse(json().path("auths").has("https://reg.example"));
        assertEquals("new", Credentials.find(file(), "reg.example").username());
        assertTrue(Credentials.remove(file(), "reg.example"));
        assertNull(Credentials.find(file(), "reg.example"));
        assertFalse(Credentials.remove(file(), "reg.example"), "nothing left to remove");
        assertEquals("k", Credentials.find(file(), "keep.example").username());
        assertEquals(1, json().path("x").asInt());
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file())));
    }

    @Test
    void noFileMeansNoLoginAndRemoveWritesNothing() {
        assertNull(Credentials.find(file(), "docker.io"));
        assertFalse(Credentials.remove(file(), "docker.io"));
        assertFalse(Files.exists(file()));
    }

    @Test
    void aFileThatIsNotJsonIsOneLineNamingIt() throws Exception {
        Files.writeString(file(), "{ not json\n\nat all");
        ContainerError e = assertThrows(ContainerError.class, () -> Credentials.find(file(), "docker.io"));
        assertTrue(e.getMessage().contains(file().toString()), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        assertThrows(ContainerError.class, () -> Credentials.store(file(), "x.example", new Credentials.Login("u", "p")));
        assertEquals("{ not json\n\nat all", Files.readString(file()), "a file we cannot read is never overwritten");
        Files.writeString(file(), "{\"auths\": {\"x.example\": {\"auth\": \"***\"}}}");
        assertThrows(ContainerError.class, () -> Credentials.find(file(), "x.example"));
    }

    @Test
    void aSymlinkedConfigStaysALink() throws Exception {
        Path real = dockerConfig.resolve("dotfiles/config.json");
        Files.createDirectories(real.getParent());
        Files.writeString(real, "{\"psFormat\": \"x\"}");
        Files.createSymbolicLink(file(), Path.of("dotfiles/config.json"));
        Credentials.store(file(), "a.example", new Credentials.Login("u", "p"));
        assertTrue(Files.isSymbolicLink(file()));
        assertEquals("u", Credentials.find(file(), "a.example").username());
        assertEquals("x", ImageJson.mapper().readTree(real.toFile()).path("psFormat").asText());
    }

    @Test
    void fileFollowsDockerConfig() {
        String env = System.getenv("DOCKER_CONFIG");
        Path expected = env != null && !env.isEmpty() ? Path.of(env, "config.json")
                : Path.of(System.getProperty("user.home"), ".docker", "config.json");
        assertEquals(expected, Credentials.file());
    }
}
