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
 * An image manifest (OCI image spec, manifest.md) or Docker image manifest v2 schema 2: one image
 * for one platform, a config blob and the layers, in order, bottom first. Applying the layers in
 * this order, each over the last, gives the image's root filesystem.
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
@JsonIgnoreProperties(ignoreUnknown = true)
public final class Manifest {
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public int schemaVersion = 2;
    public String mediaType;
    public String artifactType;
    public Descriptor config;
    /** Bottom layer first. */
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public List<Descriptor> layers = new ArrayList<>();
    /** OCI 1.1: the manifest this one refers to (a signature's image). */
    public Descriptor subject;
    public Map<String, String> annotations = new LinkedHashMap<>();

    /**
     * Parses and checks a manifest: schemaVersion 2 (schema 1 gets its own message), a config
     * that is an image config (not a Helm chart's or an artifact's), layers with digest and size.
     */
    public static Manifest parse(byte[] bytes, String what) {
        Manifest m = ImageJson.parse(bytes, Manifest.class, what);
        if (m.schemaVersion == 1 || MediaTypes.isSchema1(m.mediaType)) {
            throw new ContainerError("failed to parse " + what + ": Docker image manifest schema 1 is not supported"
                    + " (the registry down-converted it, or the image is older than 2017)");
        }
        if (m.schemaVersion != 2) throw new ContainerError("failed to parse " + what + ": schemaVersion " + m.schemaVersion + ", want 2");
        if (m.config == null) throw new ContainerError("failed to parse " + what + ": no config");
        m.config.check("config of " + what);
        if (!MediaTypes.isConfig(m.config.mediaType)) {
            throw new ContainerError("failed to parse " + what + ": not a container image (config media type \""
                    + Digest.clip(m.config.mediaType) + "\")");
        }
        if (m.layers == null) throw new ContainerError("failed to parse " + what + ": no layers");
        for (int i = 0; i < m.layers.size(); i++) {
            if (m.layers.get(i) == null) throw new ContainerError("failed to parse " + what + ": layers[" + i + "] is null");
            m.layers.get(i).check("layers[" + i + "] of " + what);
        }
        return m;
    }
}
