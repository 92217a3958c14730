//DEPS com.fasterxml.jackson.core:jackson-databind:2.18.2
package jocker.image;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;

import jocker.runtime.ContainerError;

/**
 * A pointer to content: what it is (mediaType), which bytes exactly (digest) and how many (size).
 * Everything in an image points at everything else through descriptors: index to manifests,
 * manifest to config and layers (OCI image spec, descriptor.md). The digest is checked when the
 * JSON is read ({@link Digest}'s constructor refuses anything malformed), so a descriptor's digest
 * is always safe to turn into a blob path.
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
@JsonIgnoreProperties(ignoreUnknown = true)
public final class Descriptor {
    public String mediaType;
    public Digest digest;
    /** Bytes; -1 when the document left it out (which the spec does not allow: see {@link #check}). */
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public long size = -1;
    /** Where else the blob may be fetched from (foreign layers); we fetch from the registry only. */
    public List<String> urls = new ArrayList<>();
    public Map<String, String> annotations = new LinkedHashMap<>();
    /** In an index: the platform the manifest is for. */
    public Platform platform;
    /** OCI 1.1: the type of an artifact (a signature, an SBOM); images have none. */
    public String artifactType;

    public Descriptor() {}

    public Descriptor(String mediaType, Digest digest, long size) {
        this.mediaType = mediaType;
        this.digest = digest;
        this.size = size;
    }

    /** The annotation {@code key}, or null. */
    public String annotation(String key) { return annotations == null ? null : annotations.get(key); }

    /** Refuses a descriptor that lacks its digest or size; {@code what} names it in the error. */
    public Descriptor check(String what) {
        if (mediaType == null || mediaType.isEmpty()) throw new ContainerError("invalid " + what + ": no mediaType");
        if (digest == null) throw new ContainerError("invalid " + what + ": no digest");
        if (size < 0) throw new ContainerError("invalid " + what + ": no size");
        return this;
    }

    @Override
    public String toString() {
        return mediaType + " " + digest + " (" + size + " bytes" + (platform == null ? "" : ", " + platform) + ")";
    }
}
