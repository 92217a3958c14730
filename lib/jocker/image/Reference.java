package jocker.image;

import java.util.regex.Pattern;

import jocker.runtime.ContainerError;

/**
 * An image reference as {@code docker pull} reads it, normalised the way Docker does
 * (github.com/distribution/reference: regexp.go for the grammar, normalize.go for the defaults):
 * <pre>
 *   reference        ::= name [ ":" tag ] [ "@" digest ]
 *   name             ::= [ domain "/" ] path                    (at most 255 characters)
 *   domain           ::= host [ ":" port ]
 *   host             ::= domain-component ( "." domain-component )* | "[" ipv6 "]"
 *   domain-component ::= [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
 *   path             ::= path-component ( "/" path-component )*
 *   path-component   ::= [a-z0-9]+ ( separator [a-z0-9]+ )*
 *   separator        ::= [._] | "__" | "-"+
 *   tag              ::= [\w][\w.-]{0,127}
 *   digest           ::= see {@link Digest}
 * </pre>
 * The first component is a registry's domain only if it looks like a host name: it contains a
 * {@code .} or a {@code :}, or is {@code localhost} (or, as Docker decides since reference v0.6,
 * has an uppercase letter, which a path may not). Otherwise the image is on Docker Hub:
 * <pre>
 *   busybox                      docker.io/library/busybox:latest   (official images live in library/)
 *   user/app                     docker.io/user/app:latest
 *   localhost:5000/x             localhost:5000/x:latest
 *   host.example/x/y:tag         host.example/x/y:tag
 *   x@sha256:...                 docker.io/library/x@sha256:...     (no tag: the digest names it)
 *   x:tag@sha256:...             docker.io/library/x:tag@sha256:... (the digest is pulled, the tag kept as a name)
 * </pre>
 * A reference that does not parse is refused with one line: "invalid reference format: ...".
 * {@code tag} is null when a digest was given without one; {@code digest} is null without a digest.
 */
public record Reference(String domain, String path, String tag, Digest digest) {
    /** Docker Hub's name in references. */
    public static final String DOCKER_HUB = "docker.io";
    /** Docker Hub's old name, still accepted and normalised to {@link #DOCKER_HUB}. */
    static final String LEGACY_DOCKER_HUB = "index.docker.io";
    /** Where Docker Hub serves the distribution API: docker.io itself is a website. */
    public static final String DOCKER_HUB_API = "registry-1.docker.io";
    /** Docker Hub's official images live under library/. */
    static final String OFFICIAL_PREFIX = "library/";
    public static final String DEFAULT_TAG = "latest";
    /** The longest name (domain/path) a registry must accept. */
    public static final int NAME_MAX = 255;

    // The same language as [a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9], written so that nothing
    // needs backtracking (possessive quantifiers: see PATH_COMPONENT).
    private static final String DOMAIN_COMPONENT = "[a-zA-Z0-9](?:-*+[a-zA-Z0-9]++)*+";
    private static final Pattern DOMAIN = Pattern.compile(
            "(?:" + DOMAIN_COMPONENT + "(?:\\." + DOMAIN_COMPONENT + ")*+|\\[[a-fA-F0-9:]++\\])(?::[0-9]++)?");
    // Possessive quantifiers (++, *+): the letters of an alphanumeric run and of a separator are
    // disjoint, so there is nothing to backtrack into. Java's regex engine recurses once per
    // repetition of a backtracking group: Go's grammar written as a plain Java regex overflows the
    // stack on a hostile name of a few tens of kilobytes (a StackOverflowError, not one line).
    private static final Pattern PATH_COMPONENT = Pattern.compile("[a-z0-9]++(?:(?:[._]|__|-++)[a-z0-9]++)*+");
    private static final Pattern TAG = Pattern.compile("[\\w][\\w.-]{0,127}");
    /** An image ID: Docker refuses a bare 64-hex name, which would be ambiguous with an ID. */
    private static final Pattern IDENTIFIER = Pattern.compile("[a-f0-9]{64}");

    /** Checks every part, in the order Docker does, so that a Reference that exists is valid. */
    public Reference {
        if (domain == null || path == null) throw new IllegalArgumentException("domain and path are required");
        checkPath(path);
        checkDomain(domain);
        if (tag != null && !TAG.matcher(tag).matches()) {
            throw invalid("invalid tag \"" + Digest.clip(tag) + "\" (a tag is 1 to 128 of [A-Za-z0-9_.-], not starting with . or -)");
        }
        if (domain.length() + 1 + path.length() > NAME_MAX) {
            throw invalid("repository name must not be more than " + NAME_MAX + " characters");
        }
        if (tag == null && digest == null) tag = DEFAULT_TAG;
    }

    /**
     * Parses and normalises a reference as {@code docker pull} does (ParseNormalizedNamed plus
     * TagNameOnly: no tag and no digest means {@code :latest}).
     */
    public static Reference parse(String text) {
        if (text == null || text.isEmpty()) throw invalid("repository name must have at least one component");
        if (IDENTIFIER.matcher(text).matches()) {
            throw invalid("repository name (" + text + ") cannot be a 64-byte hexadecimal string (that is an image ID)");
        }
        // The digest is everything after the first '@' (no other part may contain '@').
        String rest = text;
        Digest digest = null;
        int at = text.indexOf('@');
        if (at >= 0) {
            digest = parseDigest(text.substring(at + 1));
            rest = text.substring(0, at);
        }
        // The domain, if the first component is one (splitDockerDomain in normalize.go).
        String domain = DOCKER_HUB;
        String remainder = rest;
        int slash = rest.indexOf('/');
        if (slash >= 0) {
            String first = rest.substring(0, slash);
            if (first.equals("localhost") || first.contains(".") || first.contains(":")
                    || !first.equals(first.toLowerCase(java.util.Locale.ROOT))) {
                domain = first;
                remainder = rest.substring(slash + 1);
            }
        }
        if (domain.equals(LEGACY_DOCKER_HUB)) domain = DOCKER_HUB;
        // The tag: after a ':' in the remainder (a port's ':' went with the domain).
        String path = remainder;
        String tag = null;
        int colon = remainder.indexOf(':');
        if (colon >= 0) {
            path = remainder.substring(0, colon);
            tag = remainder.substring(colon + 1);
        }
        if (domain.equals(DOCKER_HUB) && !path.contains("/")) path = OFFICIAL_PREFIX + path;
        return new Reference(domain, path, tag, digest);
    }

    private static Digest parseDigest(String text) {
        try {
            return Digest.parse(text);
        } catch (ContainerError e) {
            throw invalid(e.getMessage());
        }
    }

    private static void checkDomain(String domain) {
        if (!DOMAIN.matcher(domain).matches()) {
            throw invalid("invalid registry domain \"" + Digest.clip(domain) + "\" (want host[:port])");
        }
    }

    private static void checkPath(String path) {
        if (!path.equals(path.toLowerCase(java.util.Locale.ROOT))) {
            throw invalid("repository name (" + Digest.clip(path) + ") must be lowercase");   // Docker's words
        }
        for (String component : path.split("/", -1)) {
            if (!PATH_COMPONENT.matcher(component).matches()) {
                throw invalid("invalid repository name component \"" + Digest.clip(component) + "\" in \""
                        + Digest.clip(path) + "\" (want [a-z0-9]+ joined by '.', '_', '__' or dashes)");
            }
        }
    }

    private static ContainerError invalid(String why) {
        return new ContainerError("invalid reference format: " + why);
    }

    /** The repository's full name: {@code docker.io/library/busybox}. */
    public String name() { return domain + "/" + path; }

    /**
     * The host (and port) that serves the distribution API for this reference's domain:
     * {@code registry-1.docker.io} for Docker Hub, the domain itself for any other registry.
     */
    public String apiHost() { return domain.equals(DOCKER_HUB) ? DOCKER_HUB_API : domain; }

    /**
     * What goes into {@code /v2/<path>/manifests/<reference>}: the digest if there is one (it pins
     * the content, the tag is only a name then), otherwise the tag.
     */
    public String manifestReference() { return digest != null ? digest.toString() : tag; }

    /**
     * Whether the registry is on this machine (localhost, 127.0.0.0/8, [::1]): the only registries
     * spoken to over plain HTTP without being named with --insecure-registry.
     */
    public boolean isLoopback() {
        String host = domain.startsWith("[") ? domain.substring(0, domain.indexOf(']') + 1) : domain.replaceFirst(":[0-9]+$", "");
        return host.equalsIgnoreCase("localhost") || host.equals("[::1]")
                || host.matches("127\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}");
    }

    /** The same repository with another tag and no digest (the name a pull may record). */
    public Reference withTag(String newTag) { return new Reference(domain, path, newTag, null); }

    /** The short name {@code docker images} shows: {@code busybox}, {@code user/app}, {@code localhost:5000/x}. */
    public String familiarName() {
        if (!domain.equals(DOCKER_HUB)) return name();
        if (path.startsWith(OFFICIAL_PREFIX) && path.indexOf('/', OFFICIAL_PREFIX.length()) < 0) {
            return path.substring(OFFICIAL_PREFIX.length());
        }
        return path;
    }

    /** The short form for display: {@code busybox:latest}, {@code user/app@sha256:...}. */
    public String familiar() { return familiarName() + suffix(); }

    /** The canonical form: {@code docker.io/library/busybox:latest}. */
    @Override
    public String toString() { return name() + suffix(); }

    private String suffix() {
        return (tag != null ? ":" + tag : "") + (digest != null ? "@" + digest : "");
    }
}
