//DEPS com.fasterxml.jackson.core:jackson-databind:2.18.2
package jocker.image;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;

import jocker.runtime.ContainerError;

/**
 * An image index (OCI image spec, image-index.md) or Docker manifest list: one manifest per
 * platform, so that {@code docker pull busybox} gets the amd64 image on a PC and the arm64 one on
 * a Raspberry Pi. The same shape is the {@code index.json} at the top of an OCI image layout
 * (image-layout.md, "index.json file"), where each entry names an image through the
 * {@code org.opencontainers.image.ref.name} annotation.
 * <p>
 * Besides the platforms' manifests, an index built by BuildKit lists attestations (SBOM,
 * provenance) with the platform {@code unknown/unknown}: they match no platform and are never pulled.
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
@JsonIgnoreProperties(ignoreUnknown = true)
public final class Index {
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public int schemaVersion = 2;
    public String mediaType;
    public String artifactType;
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public List<Descriptor> manifests = new ArrayList<>();
    public Map<String, String> annotations = new LinkedHashMap<>();

    /** Parses and checks an index: schemaVersion 2, a list of manifests each with digest and size. */
    public static Index parse(byte[] bytes, String what) {
        Index index = ImageJson.parse(bytes, Index.class, what);
        if (index.schemaVersion != 2) {
            throw new ContainerError("failed to parse " + what + ": schemaVersion " + index.schemaVersion + ", want 2");
        }
        if (index.manifests == null) throw new ContainerError("failed to parse " + what + ": no manifests");
        for (int i = 0; i < index.manifests.size(); i++) {
            if (index.manifests.get(i) == null) throw new ContainerError("failed to parse " + what + ": manifests[" + i + "] is null");
            index.manifests.get(i).check("manifests[" + i + "] of " + what);
        }
        return index;
    }

    /**
     * The platforms the index offers, in its order and without repeats ({@code linux/amd64,
     * linux/arm64/v8}): what an error names when none is the one asked for.
     */
    public String platforms() {
        return manifests.stream().filter(d -> d.platform != null).map(d -> d.platform.toString())
                .distinct().collect(Collectors.joining(", "));
    }
}
