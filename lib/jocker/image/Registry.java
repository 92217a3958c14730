//DEPS com.squareup.okhttp3:okhttp:4.12.0
//DEPS com.fasterxml.jackson.core:jackson-databind:2.18.2
package jocker.image;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;


import com.fasterxml.jackson.databind.JsonNode;

import jocker.runtime.ContainerError;
import jocker.runtime.Log;
import okhttp3.HttpUrl;
import okhttp3.Request;
import okhttp3.Response;

/**
 * A client for one repository of one registry, speaking the OCI distribution spec's pull API
 * (github.com/opencontainers/distribution-spec, spec.md), which Docker's registry API v2 became:
 * <pre>
 *   GET /v2/                              "Determining support": 200, or 401 with a challenge
 *   GET /v2/NAME/manifests/TAG|DIGEST     "Pulling manifests": an index or a manifest
 *   GET /v2/NAME/blobs/DIGEST             "Pulling blobs": a config or a layer, often a 307
 *                                         redirect to storage (S3, a CDN) that we follow
 * </pre>
 * What the spec asks of a client, and why:
 * <ul>
 *   <li>Send an {@code Accept} header listing the manifest types we understand. Without it a
 *       registry may down-convert to Docker's schema 1 (Distribution does), which has no
 *       content-addressed config and which we refuse.</li>
 *   <li>Authenticate only when asked: a request goes out bare, and a 401 carries a
 *       {@code WWW-Authenticate} challenge saying how (RFC 7235; the token dance of
 *       {@link TokenService}, or Basic). The header that answered is kept for the next requests,
 *       and renewed when the registry says 401 again (tokens expire after minutes).</li>
 *   <li>Trust digests, not the registry: the {@code Docker-Content-Digest} header is a hint, the
 *       caller verifies every byte against the digest it asked for (DigestingInputStream).</li>
 *   <li>Failures carry a JSON body {@code {"errors":[{"code","message","detail"}]}} ("Error
 *       codes": MANIFEST_UNKNOWN, NAME_UNKNOWN, BLOB_UNKNOWN, UNAUTHORIZED, DENIED,
 *       TOOMANYREQUESTS...): we turn it into one line a user can act on.</li>
 * </ul>
 * Plain HTTP is used only for a registry on this machine or one the user named with
 * --insecure-registry: anywhere else, a network attacker could swap the manifest (and so every
 * digest in it) and read passwords.
 */
public final class Registry {
    static final String USER_AGENT = "jocker-workbook/0.6";
    /** An error body is a few hundred bytes; read no more than this of one. */
    private static final int MAX_ERROR_BODY = 64 << 10;

    /** A manifest or index as received: its exact bytes, its media type and the registry's digest (or null). */
    public record Fetched(byte[] bytes, String mediaType, Digest dockerContentDigest) {}

    private final String domain;       // as the user names the registry: docker.io, 127.0.0.1:5000
    private final String apiHost;      // where the API is served: registry-1.docker.io
    private final String repository;   // library/busybox; null for a registry-wide login check
    private final HttpUrl base;        // http(s)://apiHost/v2/
    private final ImageHooks hooks;
    private final Credentials.Login login;
    private final TokenService tokens;
    /** The Authorization header that answered the last challenge; shared by parallel downloads. */
    private volatile String authorization;

    /** The repository {@code ref} names, with the login stored for its registry (if any). */
    public Registry(Reference ref, ImageHooks hooks, Set<String> insecure) {
        this(ref, hooks, insecure, Credentials.find(ref.domain()));
    }

    /** The same with an explicit login (null: anonymous). */
    public Registry(Reference ref, ImageHooks hooks, Set<String> insecure, Credentials.Login login) {
        this(ref.domain(), ref.apiHost(), ref.path(), ref.isLoopback(), hooks, insecure, login);
    }

    private Registry(String domain, String apiHost, String repository, boolean loopback, ImageHooks hooks,
            Set<String> insecure, Credentials.Login login) {
        Set<String> plain = insecure == null ? Set.of() : insecure;
        this.domain = domain;
        this.apiHost = apiHost;
        this.repository = repository;
        this.hooks = hooks;
        this.login = login;
        this.tokens = new TokenService(plain);
        boolean http = loopback || RegistryHttp.plainHttpAllowed(domain, plain) || RegistryHttp.plainHttpAllowed(apiHost, plain);
        this.base = HttpUrl.get((http ? "http://" : "https://") + apiHost + "/v2/");
    }

    /** Builds the HTTP client this registry's requests will use (see Puller.warmUp). */
    void warmUp() { RegistryHttp.client(base); }

    /**
     * For {@code login SERVER}: the registry itself, to check {@code login} against with
     * {@link #checkLogin}, answering its challenge through the step's {@code hooks} as a pull does.
     */
    public static Registry forLogin(String server, Credentials.Login login, Set<String> insecure, ImageHooks hooks) {
        String host = Credentials.host(server);
        Reference probe;   // a Reference checks the host[:port] and knows loopback and Docker Hub's API host
        try {
            probe = new Reference(host, "x", null, null);
        } catch (ContainerError e) {
            throw new ContainerError("invalid registry address \"" + Log.oneLine(Digest.clip(server)) + "\"");
        }
        return new Registry(probe.domain(), probe.apiHost(), null, probe.isLoopback(), hooks, insecure, login);
    }

    /** "127.0.0.1:5000/x", "docker.io/library/busybox": the repository, for messages. */
    public String describe() { return repository == null ? domain : domain + "/" + repository; }

    /** The registry as the user names it (docker.io, 127.0.0.1:5000). */
    public String domain() { return domain; }

    /** GETs a manifest or index by tag or digest: exact bytes (at most 4 MiB), media type, registry's digest. */
    public Fetched manifest(String tagOrDigest) {
        HttpUrl url = url("manifests", tagOrDigest);
        String what = "manifest " + tagOrDigest + " of " + describe();
        try (Response r = send(url, MediaTypes.ACCEPT_MANIFESTS, what)) {
            if (!r.isSuccessful()) throw failure(r, "manifests", tagOrDigest);
            if (r.body().contentLength() > DigestingInputStream.MAX_MANIFEST) {
                throw error("the " + what + " is larger than " + (DigestingInputStream.MAX_MANIFEST >> 20) + " MiB");
            }
            byte[] bytes;
            try (InputStream in = DigestingInputStream.capped(r.body().byteStream(), DigestingInputStream.MAX_MANIFEST, what)) {
                bytes = in.readAllBytes();
            } catch (IOException e) {
                throw RegistryHttp.network(e, "registry", apiHost, what);
            }
            String type = mediaType(r.header("Content-Type"), bytes);
            Digest digest = null;
            try {
                String header = r.header("Docker-Content-Digest");
                if (header != null) digest = Digest.parse(header.trim());
            } catch (ContainerError ignored) {
                // a malformed hint is no hint: the caller computes the digest itself
            }
            return new Fetched(bytes, type, digest);
        }
    }

    /**
     * GETs a blob. The caller reads the stream to its end through a verifying stream and closes it;
     * an IOException while reading names the registry and the blob.
     */
    public Blob blob(Descriptor d) {
        HttpUrl url = url("blobs", d.digest.toString());
        String what = d.digest.toString();
        RegistryHttp.Aborter aborter = new RegistryHttp.Aborter();
        Response r = send(url, null, what, aborter);
        if (!r.isSuccessful()) {
            try (r) {
                throw failure(r, "blobs", what);
            }
        }
        return new Blob(r, what, aborter);
    }

    /**
     * For {@code login}: GET /v2/ and answer its challenge with the login, as {@code docker login}
     * does. For Bearer that means a token for no scope at all: it proves the password to the token
     * service without asking for any repository.
     */
    public void checkLogin() {
        if (login == null) throw new IllegalStateException("checkLogin needs a login");
        Request.Builder request = request(base, null);
        String header = null;
        for (int attempt = 0; ; attempt++) {
            try (Response r = execute(request, header, "/v2/")) {
                if (r.isSuccessful()) return;
                if (r.code() != 401) throw failure(r, null, null);
                if (attempt > 0) throw error("unauthorized: wrong username or password");
                // No scope: docker login asks the token service only whether the password is right.
                header = authorize(withoutScope(challenge(r.headers("WWW-Authenticate"))), null);
            }
        }
    }

    /** tokenUrl falls back to the challenge's own scope; a login check asks for none at all. */
    private static WwwAuthenticate.Challenge withoutScope(WwwAuthenticate.Challenge c) {
        Map<String, String> params = new LinkedHashMap<>(c.params());
        params.remove("scope");
        return new WwwAuthenticate.Challenge(c.scheme(), params, c.token68());
    }

    // ---- requests and the auth challenge ----

    private HttpUrl url(String kind, String reference) {
        if (repository == null) throw new IllegalStateException("no repository: this Registry only checks logins");
        return base.newBuilder().addPathSegments(repository).addPathSegment(kind).addPathSegment(reference).build();
    }

    private static Request.Builder request(HttpUrl url, String accept) {
        Request.Builder b = new Request.Builder().url(url).header("User-Agent", USER_AGENT);
        return accept == null ? b : b.header("Accept", accept);
    }

    /** A request with the cached Authorization; on 401 the challenge is answered and the request sent once more. */
    private Response send(HttpUrl url, String accept, String what) {
        return send(url, accept, what, null);
    }

    /** The same, with an {@code aborter} that another thread may use to stop the download (a blob's). */
    private Response send(HttpUrl url, String accept, String what, RegistryHttp.Aborter aborter) {
        Request.Builder request = request(url, accept);
        if (aborter != null) request.tag(RegistryHttp.Aborter.class, aborter);
        String used = authorization;
        Response r = execute(request, used, what);
        if (r.code() != 401) return r;
        List<String> challenges;
        try (r) {
            challenges = r.headers("WWW-Authenticate");
        }
        Response again = execute(request, answer(challenges, used), what);
        if (again.code() != 401) return again;
        try (again) {
            throw unauthorized(again);
        }
    }

    /**
     * Answers a challenge through the step's hook, once for all threads: parallel layer downloads
     * that meet the same 401 wait here, and reuse the header the first one got.
     */
    private synchronized String answer(List<String> challenges, String used) {
        String current = authorization;
        if (current != null && !current.equals(used)) return current;
        authorization = authorize(challenge(challenges), WwwAuthenticate.pullScope(repository));
        return authorization;
    }

    /** The step's hook (TODO 06.1), with a network failure of the token service said in one line. */
    private String authorize(WwwAuthenticate.Challenge c, String scope) {
        try {
            return hooks.authorize(c, scope, login, tokens);
        } catch (IOException e) {
            HttpUrl realm = c.realm() == null ? null : HttpUrl.parse(c.realm());
            throw RegistryHttp.network(e, "token service", realm == null ? apiHost : RegistryHttp.hostPort(realm), "a token");
        }
    }

    /** Bearer if offered (the token dance keeps the password off the registry), else Basic. */
    private WwwAuthenticate.Challenge challenge(List<String> headers) {
        List<WwwAuthenticate.Challenge> all = WwwAuthenticate.parse(headers);
        WwwAuthenticate.Challenge c = WwwAuthenticate.find(all, "bearer");
        if (c == null) c = WwwAuthenticate.find(all, "basic");
        if (c != null) return c;
        if (all.isEmpty()) throw error("unauthorized: the registry at " + apiHost + " answered 401 without a WWW-Authenticate challenge");
        throw error("unauthorized: the registry at " + apiHost + " wants the unsupported auth scheme " + all.get(0).scheme());
    }

    private Response execute(Request.Builder request, String auth, String what) {
        Request built;
        try {
            built = (auth == null ? request.removeHeader("Authorization") : request.header("Authorization", auth)).build();
        } catch (IllegalArgumentException e) {
            throw error("the Authorization header for " + apiHost + " is not a valid header value");
        }
        try {
            return RegistryHttp.call(built);
        } catch (IOException e) {
            throw RegistryHttp.network(e, "registry", apiHost, what);
        }
    }

    // ---- errors: one line each ----

    private ContainerError unauthorized(Response r) {
        if (login == null) return error("unauthorized: authentication required (log in with: login " + domain + ")");
        // RFC 6750 section 3.1: a valid token for too small a scope is "insufficient_scope", not a bad password.
        try {
            WwwAuthenticate.Challenge c = WwwAuthenticate.find(WwwAuthenticate.parse(r.headers("WWW-Authenticate")), "bearer");
            if (c != null && "insufficient_scope".equals(c.param("error"))) {
                return error("unauthorized: " + login.username() + " may not pull " + describe() + " (insufficient_scope)");
            }
        } catch (ContainerError ignored) {
            // a garbled challenge: fall back to the usual cause
        }
        return error("unauthorized: wrong username or password");
    }

    /** A non-2xx answer as one line; {@code kind} is "manifests", "blobs" or null for GET /v2/. */
    private ContainerError failure(Response r, String kind, String reference) {
        String[] registry = errorBody(r);   // code, message from {"errors":[...]}, or nulls
        String detail = registry[1] == null ? "" : ": " + registry[1];
        int status = r.code();
        if (status == 403) return error("denied: " + (registry[1] != null ? registry[1] : "access to " + describe() + " is denied"));
        if (status == 404 && "manifests".equals(kind)) {
            if ("NAME_UNKNOWN".equals(registry[0])) return error("name unknown: no repository " + describe());
            return error("manifest unknown: no " + (reference.contains(":") ? "digest " : "tag ") + reference + " in " + describe());
        }
        if (status == 404 && "blobs".equals(kind)) return error("blob unknown: " + reference + " in " + describe());
        if (status == 404) return error("the server at " + apiHost + " is not a registry (GET /v2/ answered 404)");
        if (status == 429) {
            String retry = r.header("Retry-After");
            return error("toomanyrequests: rate limited by the registry (" + (registry[1] != null ? registry[1] : "HTTP 429")
                    + (retry != null ? "; retry after " + retry + (retry.matches("[0-9]+") ? " s" : "") : "") + ")");
        }
        return error("the registry at " + apiHost + " answered HTTP " + status + detail);
    }

    /** The first error of the distribution spec's error body: {code, message}, each may be null. */
    private static String[] errorBody(Response r) {
        try (InputStream in = r.body().byteStream()) {
            JsonNode first = ImageJson.mapper().readTree(in.readNBytes(MAX_ERROR_BODY)).path("errors").path(0);
            String code = first.path("code").asText(null);
            String message = first.path("message").asText(null);
            return new String[] {code, message == null ? null : Digest.clip(message)};
        } catch (IOException | RuntimeException e) {
            return new String[2];   // no JSON body (an HTML error page, say): the status alone speaks
        }
    }

    /**
     * The media type of a 200 answer, which must be JSON and a manifest or index. Some registries
     * label manifests application/json: then the document's own mediaType, or for an OCI document
     * that left it out (allowed before OCI 1.1), its shape decides, as containerd does.
     */
    private String mediaType(String contentType, byte[] bytes) {
        String type = MediaTypes.base(contentType);
        JsonNode json;
        try {
            json = ImageJson.mapper().readTree(bytes);
        } catch (IOException e) {
            json = null;
        }
        if (json == null || !json.isObject()) throw notAManifest(contentType);
        if (MediaTypes.isSchema1(type) || json.path("schemaVersion").asInt() == 1) {
            throw error("the registry at " + apiHost + " sent a schema 1 manifest, which Docker retired in 20.10 and we"
                    + " do not read: push the image again with a current tool");
        }
        if (MediaTypes.isIndex(type) || MediaTypes.isManifest(type)) return type;
        String own = MediaTypes.base(json.path("mediaType").asText(""));
        if (MediaTypes.isIndex(own) || MediaTypes.isManifest(own)) return own;
        if (own.isEmpty() && json.path("schemaVersion").asInt() == 2) {
            if (json.has("manifests")) return MediaTypes.OCI_INDEX;
            if (json.has("config") && json.has("layers")) return MediaTypes.OCI_MANIFEST;
        }
        throw notAManifest(contentType);
    }

    private ContainerError notAManifest(String contentType) {
        return error("the registry at " + apiHost + " answered something that is not a manifest (content-type "
                + (contentType == null ? "none" : Digest.clip(contentType)) + ")");
    }

    private static ContainerError error(String message) { return new ContainerError(Log.oneLine(message)); }

    /**
     * A blob's body: closing it closes the response; a read that fails names the registry and the
     * blob. Only the thread that reads it may close it (OkHttp's close reads what is left of the
     * body): another thread stops the download with {@link #abort}.
     */
    final class Blob extends FilterInputStream {
        private final Response response;
        private final String what;
        private final RegistryHttp.Aborter aborter;

        Blob(Response response, String what, RegistryHttp.Aborter aborter) {
            super(response.body().byteStream());
            this.response = response;
            this.what = what;
            this.aborter = aborter;
        }

        /** From any thread: closes the connection, so that a read blocked on it fails at once. */
        void abort() { aborter.abort(); }

        @Override
        public int read() throws IOException {
            try {
                return super.read();
            } catch (IOException e) {
                throw lost(e);
            }
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            try {
                return super.read(b, off, len);
            } catch (IOException e) {
                throw lost(e);
            }
        }

        private IOException lost(IOException e) {
            return new IOException(Log.oneLine("connection to " + apiHost + " lost while fetching " + what + ": "
                    + RegistryHttp.reason(e, apiHost)), e);
        }

        @Override
        public void close() { response.close(); }
    }
}
