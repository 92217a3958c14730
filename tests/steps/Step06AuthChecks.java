import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Step 06 pull image, black-box: a registry that wants credentials. One registry with bearer-token
 * auth (the token dance: a 401 names the realm of a {@link TokenServer}, which signs RS256 JWTs
 * with an x5c header), one with htpasswd basic auth, each holding one image pushed by skopeo with
 * credentials. {@code login} checks the credentials and writes {@code $DOCKER_CONFIG/config.json},
 * {@code pull} uses them, {@code logout} removes them; anonymous pulls and wrong passwords are
 * refused with one line and change nothing.
 */
@DisplayName("step 06 pull image: auth")
@ExtendWith(JockerExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class Step06AuthChecks extends Step06Checks.Base {

    static final String USER = "alice";
    static final String PASSWORD = "s3cret-" + Jocker.token("");

    private TokenServer tokens;
    private RegistryServer token;
    private RegistryServer basic;
    private String secret;

    Step06AuthChecks(Jocker jocker) {
        super(jocker);
    }

    @BeforeAll
    void setUp() throws IOException {
        long started = System.nanoTime();
        tokens = TokenServer.start(Map.of(USER, PASSWORD));
        token = RegistryServer.startToken(tokens);
        basic = RegistryServer.startBasic(USER, PASSWORD);
        secret = Jocker.token("secret-");
        Fixtures.Layout oci = Fixtures.Layout.init(jocker.root().resolve("fixtures/oci"));
        oci.create("empty");
        oci.addLayer("empty", new Fixtures.Layer().busybox(jocker.image()).file("secret", secret + "\n"), "secret");
        for (RegistryServer r : List.of(token, basic)) {
            oci.push("secret", r.host() + "/secret:t", "--dest-creds", USER + ":" + PASSWORD);
        }
        Step06Checks.ready(this, "registries, token service and fixture images", started);
    }

    /** In place of Base's: this class's registries are two, with a token service. */
    @Override
    @AfterAll
    void tearDown() {
        if (basic != null) basic.close();
        if (token != null) token.close();
        if (tokens != null) tokens.close();
    }

    // ------------------------------------------------------------------------------------------

    @Test
    @Essential
    @Order(1)
    @DisplayName("token auth: an anonymous pull is refused; login writes config.json (0600); pull and run work; logout removes the entry")
    void tokenAuth() throws IOException {
        loginPullRunLogout(token, "token");
    }

    @Test
    @Order(2)
    @DisplayName("basic auth (htpasswd): an anonymous pull is refused; login, pull, run, logout")
    void basicAuth() throws IOException {
        loginPullRunLogout(basic, "basic");
    }

    private void loginPullRunLogout(RegistryServer registry, String kind) throws IOException {
        Step06Checks.Root root = root(kind);
        String ref = registry.host() + "/secret:t";
        Jocker.Result anonymous = root.run("pull", ref);
        refused(anonymous, "an anonymous pull from a registry with " + kind + " auth", AUTH,
                ref, "unauthorized");
        check(anonymous, root.refs().isEmpty() && root.blobs().isEmpty(), "something was stored by a refused pull", AUTH);

        Jocker.Result login = root.run("login", "-u", USER, "-p", PASSWORD, registry.host());
        succeeds(login, "login to a registry with " + kind + " auth", AUTH);
        check(login, login.stdout().contains("Login Succeeded"), "expected \"Login Succeeded\"", AUTH);
        Path file = root.dockerConfig.resolve("config.json");
        JsonNode config = Step06Checks.dockerConfig(root);
        String auth = config == null ? null : config.path("auths").path(registry.host()).path("auth").asText(null);
        check(login, Step06Checks.basic(USER, PASSWORD).equals(auth), "expected $DOCKER_CONFIG/config.json to hold"
                + " auths.\"" + registry.host() + "\".auth = base64(user:password), got " + (config == null ? "no file" : config),
                AUTH);
        Set<PosixFilePermission> mode = Files.getPosixFilePermissions(file);
        check(login, mode.equals(PosixFilePermissions.fromString("rw-------")), "expected config.json's mode to be"
                + " 0600 (it holds a password), got " + PosixFilePermissions.toString(mode), AUTH);

        Jocker.Result pull = root.run("pull", ref);
        succeeds(pull, "pull after login (" + kind + " auth)", AUTH);
        if (registry == token) {
            List<String> asked = tokens.requests();
            check(pull, asked.stream().anyMatch(l -> l.startsWith(USER + " ") && l.contains("repository:secret:pull")
                            && l.endsWith("-> 200")), "expected the token service to be asked, as " + USER + ", for the scope"
                            + " repository:secret:pull; it was asked: " + asked, AUTH);
        }
        Jocker.Result run = root.run("run", ref, "cat", "/secret");
        succeeds(run, "run of the image pulled with " + kind + " auth", WHITEOUT);
        check(run, run.stdout().equals(secret + "\n"), "expected the image's /secret", WHITEOUT);
        root.assertNoContainerLeft(run);

        Jocker.Result logout = root.run("logout", registry.host());
        succeeds(logout, "logout " + registry.host(), AUTH);
        check(logout, logout.stdout().contains("Removing login credentials for " + registry.host()),
                "expected \"Removing login credentials for " + registry.host() + "\"", AUTH);
        JsonNode after = Step06Checks.dockerConfig(root);
        check(logout, after != null && !after.path("auths").has(registry.host()), "expected logout to remove"
                + " auths.\"" + registry.host() + "\" from config.json, got " + after, AUTH);
        Jocker.Result again = root.run("logout", registry.host());
        succeeds(again, "a second logout " + registry.host(), AUTH);
        check(again, again.stdout().contains("Not logged in to " + registry.host()),
                "expected \"Not logged in to " + registry.host() + "\"", AUTH);
    }

    @Test
    @Order(3)
    @DisplayName("a wrong password: login fails with 125 and one line, config.json is left as it was (both kinds of auth)")
    void wrongPassword() throws IOException {
        for (RegistryServer registry : List.of(token, basic)) {
            Step06Checks.Root root = root("wrong");
            Path file = root.dockerConfig.resolve("config.json");
            String before = "{\n  \"auths\": {\n    \"registry.example:5000\": {\"auth\": \"" + Step06Checks.basic("x", "y")
                    + "\"}\n  },\n  \"jocker-check\": \"" + Jocker.token() + "\"\n}\n";
            Files.writeString(file, before);
            // --password-stdin: -p makes docker (and jocker) warn on stderr, which is not the error line.
            Jocker.Result r = root.runWithInput("wrong-" + PASSWORD + "\n", "login", "-u", USER, "--password-stdin", registry.host());
            refused(r, "login with a wrong password (" + registry.auth() + " auth)", AUTH,
                    registry.host(), "unauthorized");
            check(r, Files.readString(file).equals(before), "config.json was changed by a failed login", AUTH);

            // Credentials stored earlier that are wrong now: the pull is refused the same way.
            Files.writeString(file, "{\"auths\": {\"" + registry.host() + "\": {\"auth\": \""
                    + Step06Checks.basic(USER, "stale-" + PASSWORD) + "\"}}}\n");
            String ref = registry.host() + "/secret:t";
            Jocker.Result pull = root.run("pull", ref);
            refused(pull, "pull with stale credentials (" + registry.auth() + " auth)", AUTH,
                    ref, "unauthorized");
            check(pull, root.refs().isEmpty() && root.blobs().isEmpty(), "something was stored by a refused pull", AUTH);
        }
    }

    @Test
    @Order(4)
    @DisplayName("login --password-stdin keeps the other keys and logins of config.json")
    void loginKeepsTheRest() throws IOException {
        Step06Checks.Root root = root("keep");
        Path file = root.dockerConfig.resolve("config.json");
        String mark = Jocker.token();
        String other = Step06Checks.basic("x", "y");
        Files.writeString(file, "{\"auths\": {\"registry.example:5000\": {\"auth\": \"" + other + "\"}}, \"jocker-check\": \""
                + mark + "\"}\n");
        Jocker.Result r = root.runWithInput(PASSWORD + "\n", "login", "-u", USER, "--password-stdin", token.host());
        succeeds(r, "login --password-stdin", AUTH);
        JsonNode config = Step06Checks.dockerConfig(root);
        check(r, config != null && mark.equals(config.path("jocker-check").asText())
                        && other.equals(config.path("auths").path("registry.example:5000").path("auth").asText())
                        && Step06Checks.basic(USER, PASSWORD).equals(config.path("auths").path(token.host()).path("auth").asText()),
                "expected config.json to keep its other keys and logins and add " + token.host() + "'s, got " + config,
                AUTH);
        Jocker.Result logout = root.run("logout", token.host());
        succeeds(logout, "logout", AUTH);
        JsonNode after = Step06Checks.dockerConfig(root);
        check(logout, after != null && mark.equals(after.path("jocker-check").asText())
                        && other.equals(after.path("auths").path("registry.example:5000").path("auth").asText()),
                "expected logout to keep config.json's other keys and logins, got " + after, AUTH);
        check(logout, Arrays.asList(Files.readString(file, StandardCharsets.UTF_8)).stream().noneMatch(s ->
                s.contains(Step06Checks.basic(USER, PASSWORD))), "the password is still in config.json after logout", AUTH);
    }
}
