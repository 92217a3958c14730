//DEPS com.squareup.okhttp3:okhttp:4.12.0
//DEPS com.fasterxml.jackson.core:jackson-databind:2.18.2
package jocker.image;

import java.io.IOException;
import java.io.InputStream;
import java.util.Set;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;

import jocker.runtime.ContainerError;
import jocker.runtime.Log;
import okhttp3.HttpUrl;
import okhttp3.Request;
import okhttp3.Response;

/**
 * The second half of the token dance (Docker's token authentication specification,
 * distribution/docs/spec/auth/token.md, "Requesting a Token"): a registry that wants a bearer
 * token answers 401 with {@code WWW-Authenticate: Bearer realm=...,service=...,scope=...}; the
 * client GETs a token from the realm, asking for that service and scope, and sends it back as
 * {@code Authorization: Bearer TOKEN}.
 * <pre>
 *   client                          registry                       token service (realm)
 *     | GET /v2/x/manifests/latest ->  |                                  |
 *     | <- 401 WWW-Authenticate: Bearer realm,service,scope               |
 *     | GET realm?service=..&scope=repository:x:pull  (Basic user:pass, if logged in) -> |
 *     | <------------------------------------------- 200 {"token": "eyJ..."}            |
 *     | GET /v2/x/manifests/latest, Authorization: Bearer eyJ... ->       |
 *     | <- 200 the manifest           |   (the registry checks the token's signature   |
 *                                          and its access claims, never asks the service)
 * </pre>
 * The password goes to the token service only, never to the registry: the token it returns is
 * short-lived and limited to the scope asked for. Anonymous pulls (Docker Hub's public images)
 * take the same path without a password. The answer is JSON with {@code token} or, as OAuth 2
 * names it, {@code access_token}; either will do (the spec: "token" is required,
 * "access_token" is accepted for compatibility with OAuth 2.0).
 */
public final class TokenService {
    /** A token is a few kilobytes at most; a larger answer is not a token. */
    private static final long MAX_ANSWER = 1 << 20;
    /** RFC 6750 section 2.1's b64token: what may follow "Bearer " in a header. */
    private static final Pattern B64TOKEN = Pattern.compile("[A-Za-z0-9._~+/-]+=*");

    private final Set<String> insecure;

    public TokenService() { this(Set.of()); }

    /**
     * {@code insecure}: hosts (host[:port]) the user named with --insecure-registry; a password is
     * sent over plain HTTP only to them and to loopback token services.
     */
    public TokenService(Set<String> insecure) { this.insecure = insecure == null ? Set.of() : Set.copyOf(insecure); }

    /**
     * GETs a token from {@code url} (built with {@link WwwAuthenticate#tokenUrl}), with HTTP Basic
     * authentication when {@code login} is not null. Every failure is one ContainerError line.
     */
    public String fetch(String url, Credentials.Login login) {
        HttpUrl u = HttpUrl.parse(url);
        if (u == null) throw new ContainerError("invalid token service URL \"" + Log.oneLine(Digest.clip(url)) + "\"");
        String host = RegistryHttp.hostPort(u);
        if (login != null && !u.isHttps() && !RegistryHttp.plainHttpAllowed(host, insecure)) {
            throw new ContainerError("refusing to send the password for " + login.username()
                    + " over plain HTTP to the token service " + host + " (it is neither loopback nor --insecure-registry)");
        }
        Request.Builder request = new Request.Builder().url(u).header("User-Agent", Registry.USER_AGENT);
        if (login != null) request.header("Authorization", login.basic());
        try (Response r = RegistryHttp.call(request.build())) {
            if (r.code() == 401 || r.code() == 403) {
                throw new ContainerError(login != null ? "unauthorized: wrong username or password"
                        : "unauthorized: the token service refused anonymous access");
            }
            if (!r.isSuccessful()) throw new ContainerError("the token service at " + host + " answered HTTP " + r.code());
            byte[] body;
            try (InputStream in = r.body().byteStream()) {
                body = in.readNBytes((int) MAX_ANSWER + 1);
            }
            if (body.length > MAX_ANSWER) throw new ContainerError("the token service at " + host + " answered more than 1 MiB");
            return token(body, host);
        } catch (IOException e) {
            throw RegistryHttp.network(e, "token service", host, "a token");
        }
    }

    /** {"token": "..."} or {"access_token": "..."}; anything else is not a token. */
    private static String token(byte[] body, String host) {
        JsonNode json;
        try {
            json = ImageJson.mapper().readTree(body);
        } catch (IOException e) {
            json = null;
        }
        if (json == null || !json.isObject()) throw new ContainerError("the token service at " + host + " answered something that is not JSON");
        String token = json.path("token").asText("");
        if (token.isEmpty()) token = json.path("access_token").asText("");
        if (token.isEmpty()) throw new ContainerError("the token service at " + host + " answered no token");
        // The token goes into a header: refuse what would break the header (or smuggle another).
        if (!B64TOKEN.matcher(token).matches()) throw new ContainerError("the token service at " + host + " answered a malformed token");
        return token;
    }
}
