package jocker.image;

import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import jocker.runtime.ContainerError;

/**
 * The {@code WWW-Authenticate} header of a 401 answer: how the registry wants us to authenticate
 * (RFC 7235 section 4.1, with the grammar of section 2.1 and RFC 9110 section 11). Docker Hub says
 * <pre>
 *   Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"
 * </pre>
 * which means: fetch a token from the realm, for that service and scope, then repeat the request
 * with {@code Authorization: Bearer TOKEN} (the token dance of Docker's token authentication
 * specification, distribution/docs/spec/auth/token.md). A registry with htpasswd says
 * {@code Basic realm="Registry Realm"}: send the user and password with every request.
 * <pre>
 *   header     ::= challenge *( OWS "," OWS challenge )
 *   challenge  ::= auth-scheme [ 1*SP ( token68 / auth-param *( OWS "," OWS auth-param ) ) ]
 *   auth-param ::= token BWS "=" BWS ( token / quoted-string )
 *   quoted-string ::= DQUOTE *( qdtext / "\" CHAR ) DQUOTE
 * </pre>
 * Schemes and parameter names are case-insensitive: both are kept in lower case here. A header
 * that does not follow the grammar is refused with one line; a registry that sends garbage gets no
 * guess from us.
 */
public final class WwwAuthenticate {
    private WwwAuthenticate() {}

    /**
     * One challenge: a scheme ({@code bearer}, {@code basic}, lower case), its parameters (names in
     * lower case, values unquoted and unescaped) or, rarely, a token68 instead of parameters.
     */
    public record Challenge(String scheme, Map<String, String> params, String token68) {
        public Challenge {
            params = Collections.unmodifiableMap(new LinkedHashMap<>(params));
        }

        /** Whether this challenge is of {@code scheme} (case-insensitive). */
        public boolean is(String name) { return scheme.equalsIgnoreCase(name); }

        /** The parameter {@code name} (case-insensitive), or null. */
        public String param(String name) { return params.get(name.toLowerCase(Locale.ROOT)); }

        public String realm() { return param("realm"); }
    }

    /** Parses the challenges of several header lines, in order. */
    public static List<Challenge> parse(List<String> headers) {
        List<Challenge> all = new ArrayList<>();
        for (String h : headers) all.addAll(parse(h));
        return all;
    }

    /** Parses one header line, which may hold several challenges. */
    public static List<Challenge> parse(String header) {
        return new Parser(header == null ? "" : header).challenges();
    }

    /** The first challenge of {@code scheme}, or null. */
    public static Challenge find(List<Challenge> challenges, String scheme) {
        return challenges.stream().filter(c -> c.is(scheme)).findFirst().orElse(null);
    }

    /** The scope that lets us pull {@code repository} (library/busybox): {@code repository:library/busybox:pull}. */
    public static String pullScope(String repository) { return "repository:" + repository + ":pull"; }

    /**
     * The URL to GET a bearer token from: the realm, with {@code service}, one {@code scope} per
     * scope (those given, else the challenge's own) and, when logging in, {@code account}, all
     * URL-encoded as Docker encodes them ({@code scope=repository%3Alibrary%2Fbusybox%3Apull}).
     * The realm must be an absolute http or https URL: a registry may not send us to a file.
     */
    public static String tokenUrl(Challenge bearer, List<String> scopes, String account) {
        if (!bearer.is("bearer")) throw new IllegalArgumentException("not a bearer challenge: " + bearer.scheme());
        String realm = bearer.realm();
        if (realm == null || realm.isEmpty()) throw new ContainerError("invalid bearer challenge: no realm");
        URI uri;
        try {
            uri = new URI(realm);
        } catch (java.net.URISyntaxException e) {
            throw new ContainerError("invalid bearer challenge: realm \"" + Digest.clip(realm) + "\" is not a URL");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!(scheme.equals("https") || scheme.equals("http")) || uri.getHost() == null || uri.getFragment() != null) {
            throw new ContainerError("invalid bearer challenge: realm \"" + Digest.clip(realm) + "\" is not an http(s) URL");
        }
        List<String> query = new ArrayList<>();
        if (bearer.param("service") != null) query.add("service=" + encode(bearer.param("service")));
        List<String> wanted = scopes;
        if (wanted == null || wanted.isEmpty()) {
            String own = bearer.param("scope");
            wanted = own == null || own.isBlank() ? List.of() : List.of(own.trim().split(" +"));
        }
        for (String s : wanted) query.add("scope=" + encode(s));
        if (account != null && !account.isEmpty()) query.add("account=" + encode(account));
        if (query.isEmpty()) return realm;
        return realm + (uri.getRawQuery() == null ? "?" : "&") + String.join("&", query);
    }

    private static String encode(String value) { return URLEncoder.encode(value, StandardCharsets.UTF_8); }

    /** A recursive-descent reader over one header value. */
    private static final class Parser {
        private final String s;
        private int i;

        Parser(String s) { this.s = s; }

        List<Challenge> challenges() {
            List<Challenge> out = new ArrayList<>();
            while (true) {
                skipOwsAndCommas();
                if (i >= s.length()) break;
                out.add(challenge());
            }
            if (out.isEmpty()) throw error("no challenge");
            return out;
        }

        private Challenge challenge() {
            String scheme = token();
            if (scheme.isEmpty()) throw error("expected an auth scheme");
            scheme = scheme.toLowerCase(Locale.ROOT);
            Map<String, String> params = new LinkedHashMap<>();
            int afterScheme = i;
            skipOws();
            if (i >= s.length() || s.charAt(i) == ',') return new Challenge(scheme, params, null);
            if (i == afterScheme) throw error("expected a space after the scheme " + scheme);
            // token68: a blob such as "Basic dXNlcg==", alone up to the end or the next comma.
            int end = token68End(i);
            if (end > i && atEndOrComma(end)) {
                String token68 = s.substring(i, end);
                i = end;
                return new Challenge(scheme, params, token68);
            }
            while (true) {
                String name = token();
                if (name.isEmpty()) throw error("expected a parameter name");
                skipOws();
                if (i >= s.length() || s.charAt(i) != '=') throw error("expected '=' after " + name);
                i++;
                skipOws();
                boolean isQuoted = i < s.length() && s.charAt(i) == '"';
                String value = isQuoted ? quoted() : token();
                if (!isQuoted && value.isEmpty()) throw error("expected a value for " + name);
                name = name.toLowerCase(Locale.ROOT);
                if (params.putIfAbsent(name, value) != null) throw error("parameter " + name + " given twice");
                skipOws();
                if (i >= s.length()) break;
                if (s.charAt(i) != ',') throw error("expected ',' after the value of " + name);
                // A comma separates parameters, or this challenge from the next: a parameter is
                // "token =", a new challenge is a token followed by a space or the end.
                int save = i;
                skipOwsAndCommas();
                int start = i;
                String next = token();
                skipOws();
                boolean isParam = !next.isEmpty() && i < s.length() && s.charAt(i) == '=' && !atEndOrComma(token68End(start));
                i = isParam ? start : save;
                if (!isParam) break;
            }
            return new Challenge(scheme, params, null);
        }

        /** A token: 1*tchar (RFC 9110 section 5.6.2); empty if none is here. */
        private String token() {
            int start = i;
            while (i < s.length() && isTchar(s.charAt(i))) i++;
            return s.substring(start, i);
        }

        private static boolean isTchar(char c) {
            return c < 0x7f && (Character.isLetterOrDigit(c) || "!#$%&'*+-.^_`|~".indexOf(c) >= 0);
        }

        /** Where a token68 starting at {@code from} ends (== from if there is none). */
        private int token68End(int from) {
            int j = from;
            while (j < s.length() && isToken68(s.charAt(j))) j++;
            if (j == from) return from;
            while (j < s.length() && s.charAt(j) == '=') j++;
            return j;
        }

        private static boolean isToken68(char c) {
            return c < 0x7f && (Character.isLetterOrDigit(c) || "-._~+/".indexOf(c) >= 0);
        }

        private boolean atEndOrComma(int j) {
            while (j < s.length() && (s.charAt(j) == ' ' || s.charAt(j) == '\t')) j++;
            return j >= s.length() || s.charAt(j) == ',';
        }

        /** A quoted-string, unescaped: {@code "a \"b\""} is {@code a "b"}. */
        private String quoted() {
            StringBuilder b = new StringBuilder();
            i++;   // the opening quote
            while (i < s.length()) {
                char c = s.charAt(i++);
                if (c == '"') return b.toString();
                if (c == '\\') {
                    if (i >= s.length()) break;
                    c = s.charAt(i++);
                }
                if ((c < 0x20 && c != '\t') || c == 0x7f) throw error("control character in a quoted string");
                b.append(c);
            }
            throw error("unterminated quoted string");
        }

        private void skipOws() {
            while (i < s.length() && (s.charAt(i) == ' ' || s.charAt(i) == '\t')) i++;
        }

        private void skipOwsAndCommas() {
            while (i < s.length() && (s.charAt(i) == ' ' || s.charAt(i) == '\t' || s.charAt(i) == ',')) i++;
        }

        private ContainerError error(String why) {
            return new ContainerError("invalid WWW-Authenticate header: " + why + " at offset " + i + " in \""
                    + jocker.runtime.Log.oneLine(Digest.clip(s)) + "\"");
        }
    }
}
