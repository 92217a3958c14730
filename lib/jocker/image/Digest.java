//DEPS com.fasterxml.jackson.core:jackson-databind:2.18.2
package jocker.image;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.regex.Pattern;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

import jocker.runtime.ContainerError;

/**
 * A content digest, {@code sha256:<64 lowercase hex digits>}: the name of a blob or manifest that
 * is also its checksum. Digests are the trust anchor of a pull: a tag may move, a registry or a
 * proxy may lie, but bytes whose SHA-256 equals the digest we asked for are the bytes the image's
 * author pushed. (OCI image spec, descriptor.md, "Digests"; OCI distribution spec, "Pulling
 * blobs": a client SHOULD verify the digest of what it fetches.)
 * <pre>
 *   digest            ::= algorithm ":" encoded
 *   algorithm         ::= algorithm-component (algorithm-separator algorithm-component)*
 *   algorithm-component ::= [a-z0-9]+
 *   algorithm-separator ::= [+._-]
 *   encoded           ::= [a-zA-Z0-9=_-]+      (per algorithm: sha256 is [a-f0-9]{64})
 * </pre>
 * Only the registered algorithms are accepted (sha256, and sha512 which the spec also registers),
 * and only in their exact form: an uppercase or short hex string is refused, never normalised,
 * because a digest is also a file name under {@code blobs/} (a digest like {@code sha256:../../x}
 * must not get anywhere near a path). A {@code Digest} that exists is valid: the constructor checks.
 */
public record Digest(String algorithm, String encoded) {
    /** The registered algorithms: name, Java's MessageDigest name, length of the hex string. */
    private static final Map<String, String> JAVA_NAMES = Map.of("sha256", "SHA-256", "sha512", "SHA-512");
    private static final Map<String, Integer> HEX_LENGTHS = Map.of("sha256", 64, "sha512", 128);
    // Possessive (++, *+): Java's regex engine recurses once per repetition of a backtracking
    // group, and a hostile 100 KB algorithm name would overflow the stack.
    private static final Pattern ALGORITHM = Pattern.compile("[a-z0-9]++(?:[+._-][a-z0-9]++)*+");
    private static final Pattern LOWER_HEX = Pattern.compile("[a-f0-9]+");

    public Digest {
        if (algorithm == null || encoded == null) throw invalid(algorithm + ":" + encoded, "missing part");
        String text = algorithm + ":" + encoded;
        if (!ALGORITHM.matcher(algorithm).matches()) throw invalid(text, "malformed algorithm");
        Integer length = HEX_LENGTHS.get(algorithm);
        if (length == null) throw new ContainerError("unsupported digest algorithm \"" + clip(algorithm) + "\" (want sha256)");
        if (!LOWER_HEX.matcher(encoded).matches()) {
            throw invalid(text, algorithm + " wants lowercase hex digits [a-f0-9]");
        }
        if (encoded.length() != length) {
            throw invalid(text, algorithm + " wants " + length + " hex digits, got " + encoded.length());
        }
    }

    /** Parses {@code sha256:<hex>}; a ContainerError "invalid digest ..." for anything else. */
    @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
    public static Digest parse(String text) {
        if (text == null || text.isEmpty()) throw invalid("", "empty");
        int colon = text.indexOf(':');
        if (colon < 0) throw invalid(text, "want algorithm:hex");
        return new Digest(text.substring(0, colon), text.substring(colon + 1));
    }

    /** The SHA-256 digest of {@code bytes}. */
    public static Digest sha256(byte[] bytes) {
        return new Digest("sha256", HexFormat.of().formatHex(newMessageDigest("sha256").digest(bytes)));
    }

    /** A fresh MessageDigest for this digest's algorithm, to compute a digest while streaming. */
    public MessageDigest newMessageDigest() { return newMessageDigest(algorithm); }

    static MessageDigest newMessageDigest(String algorithm) {
        if (algorithm.equals("sha256")) {
            // libcrypto's SHA-256 where it loads: the JDK's runs ten times slower in our C1-only
            // JVMs (NativeSha256 says why). The same digest either way, verified the same way.
            MessageDigest md = NativeSha256.newInstanceOrNull();
            if (md != null) return md;
        }
        try {
            return MessageDigest.getInstance(JAVA_NAMES.get(algorithm));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK lacks " + algorithm, e);   // every JDK has both
        }
    }

    /** The finished digest of {@code md}, which ran {@code algorithm}. */
    static Digest of(String algorithm, MessageDigest md) {
        return new Digest(algorithm, HexFormat.of().formatHex(md.digest()));
    }

    /**
     * Where this blob lives inside an OCI image layout: {@code blobs/<alg>/<encoded>} (OCI image
     * spec, image-layout.md, "Blobs"). Safe to resolve against the layout's root: it holds no
     * {@code ..} and no further slash.
     */
    public String layoutPath() { return "blobs/" + algorithm + "/" + encoded; }

    /** The first 12 hex digits: Docker's short IMAGE ID. */
    public String shortId() { return encoded.substring(0, 12); }

    @JsonValue
    @Override
    public String toString() { return algorithm + ":" + encoded; }

    private static ContainerError invalid(String text, String why) {
        return new ContainerError("invalid digest \"" + clip(text) + "\": " + why);
    }

    /** Hostile input may be megabytes long; an error message quotes at most 100 characters of it. */
    static String clip(String text) {
        return text.length() <= 100 ? text : text.substring(0, 97) + "...";
    }
}
