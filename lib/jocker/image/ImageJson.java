//DEPS com.fasterxml.jackson.core:jackson-databind:2.18.2
package jocker.image;

import java.io.IOException;
import java.util.List;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import jocker.runtime.ContainerError;

/**
 * Reading the registry's JSON documents (index, manifest, image config) into our types. Two rules:
 * <ul>
 *   <li>Parse the exact bytes whose digest was verified, and store those bytes, never a
 *       re-serialisation: a manifest's digest is the digest of its bytes, and Jackson would
 *       reorder, re-indent and drop unknown fields.</li>
 *   <li>Whatever the registry sends, the user sees one line: "failed to parse &lt;what&gt;: &lt;reason&gt;".</li>
 * </ul>
 */
public final class ImageJson {
    private ImageJson() {}

    /**
     * Unknown fields must be ignored, since the specs let documents grow (OCI image spec,
     * considerations.md, "Extensibility"): every type says so itself with
     * {@code @JsonIgnoreProperties(ignoreUnknown = true)}, and the unit tests feed each one unknown
     * fields, so a type that forgets fails there rather than on a registry's newer manifest.
     */
    static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** Parses {@code bytes} as a {@code type}; {@code what} names the document in errors. */
    public static <T> T parse(byte[] bytes, Class<T> type, String what) {
        try {
            T value = MAPPER.readValue(bytes, type);
            if (value == null) throw new ContainerError("failed to parse " + what + ": null document");
            return value;
        } catch (JsonProcessingException e) {
            // A value our types refuse (an invalid digest) arrives wrapped: show its own words.
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof ContainerError c) throw new ContainerError("failed to parse " + what + ": " + c.getMessage(), e);
            }
            throw new ContainerError("failed to parse " + what + ": " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new ContainerError("failed to parse " + what + ": " + e.getMessage(), e);
        }
    }

    /**
     * Builds the readers of the registry's documents and the writer of index.json ahead of their
     * first use, which costs a fresh JVM tens of milliseconds of reflection (see Puller.warmUp).
     */
    static void warmUp() {
        for (Class<?> type : List.of(Index.class, Manifest.class, ImageConfig.class)) MAPPER.readerFor(type);
        text(ImageLayout.emptyIndex());
    }

    /** The JSON text of {@code value} (index.json, oci-layout), indented. */
    public static String text(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
