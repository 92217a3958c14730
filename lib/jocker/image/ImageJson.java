//DEPS com.fasterxml.jackson.core:jackson-databind:2.18.2
package jocker.image;

import java.io.IOException;
import java.util.List;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import jocker.oci.Json;
import jocker.runtime.ContainerError;
import jocker.runtime.Log;

/**
 * Reading the registry's JSON documents (index, manifest, image config) into our types. Two rules:
 * <ul>
 *   <li>Parse the exact bytes whose digest was verified, and store those bytes, never a
 *       re-serialisation: a manifest's digest is the digest of its bytes, and Jackson would
 *       reorder, re-indent and drop unknown fields.</li>
 *   <li>Whatever the registry sends, the user sees one line: "failed to parse &lt;what&gt;: &lt;reason&gt;".</li>
 * </ul>
 * The binding is {@link Json}'s (jackson-core's parser, without an ObjectMapper's start cost);
 * the few documents read as trees (credentials, token and error bodies) use {@link #mapper()}.
 */
public final class ImageJson {
    private ImageJson() {}

    /**
     * Parses {@code bytes} as a {@code type}; {@code what} names the document in errors. Unknown
     * fields are ignored, since the specs let documents grow (OCI image spec, considerations.md,
     * "Extensibility"): the binder skips them, every type also says so with
     * {@code @JsonIgnoreProperties(ignoreUnknown = true)} for an ObjectMapper, and the unit tests
     * feed each one unknown fields.
     */
    public static <T> T parse(byte[] bytes, Class<T> type, String what) {
        try {
            T value = Json.parse(bytes, type);
            if (value == null) throw new ContainerError("failed to parse " + what + ": null document");
            return value;
        } catch (IOException e) {
            // A value our types refuse (an invalid digest) arrives wrapped: show its own words.
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof ContainerError c) throw new ContainerError("failed to parse " + what + ": " + c.getMessage(), e);
            }
            String reason = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
            throw new ContainerError("failed to parse " + what + ": " + Digest.clip(Log.oneLine(String.valueOf(reason))), e);
        }
    }

    /**
     * Learns the shapes of the registry's documents and the writer of index.json ahead of their
     * first use (see Puller.warmUp).
     */
    static void warmUp() {
        for (Class<?> type : List.of(Index.class, Manifest.class, ImageConfig.class)) {
            try {
                Json.parse("{}".getBytes(java.nio.charset.StandardCharsets.UTF_8), type);
            } catch (IOException e) {
                // the pull will meet it and say so
            }
        }
        text(ImageLayout.emptyIndex());
    }

    /** The JSON text of {@code value} (index.json, oci-layout), indented. */
    public static String text(Object value) { return Json.text(value); }

    /**
     * An ObjectMapper for the documents read as trees. Made at first use: building one costs a
     * short-lived JVM ~30 ms of CPU, which a pull without credentials or errors need not pay.
     */
    public static ObjectMapper mapper() { return Mapper.INSTANCE; }

    private static final class Mapper {
        static final ObjectMapper INSTANCE = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    }
}
