//DEPS com.fasterxml.jackson.core:jackson-databind:2.18.2
package jocker.image;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * The file names and shapes of an OCI image layout (OCI image spec, image-layout.md), the format of
 * our image store, so that skopeo ({@code oci:DIR:NAME}) and umoci read it as they read their own:
 * <pre>
 *   DIR/oci-layout            {"imageLayoutVersion": "1.0.0"}: marks the directory as a layout
 *   DIR/index.json            an {@link Index}: one entry per image, named by annotation
 *   DIR/blobs/sha256/HEX      every manifest, config and layer, under its digest ({@link Digest#layoutPath})
 * </pre>
 * Only the file names and JSON shapes are here; reading and writing the store (atomically, by
 * rename) is the image store's work.
 */
public final class ImageLayout {
    private ImageLayout() {}

    public static final String OCI_LAYOUT_FILE = "oci-layout";
    public static final String INDEX_FILE = "index.json";
    public static final String BLOBS_DIR = "blobs";
    public static final String LAYOUT_VERSION = "1.0.0";

    /**
     * The name of an image in index.json (annotations.md, "Pre-Defined Annotation Keys"). The
     * spec's grammar allows a full reference ({@code docker.io/library/busybox:latest}), which
     * skopeo accepts after the path: {@code oci:/var/lib/jocker/images:docker.io/library/busybox:latest}.
     */
    public static final String REF_NAME = "org.opencontainers.image.ref.name";
    /** containerd's annotation for the full image name, which {@code ctr import}/export write beside REF_NAME. */
    public static final String CONTAINERD_IMAGE_NAME = "io.containerd.image.name";
    /** The image's creation time, as RFC 3339 (annotations.md). */
    public static final String CREATED = "org.opencontainers.image.created";

    /** The content of {@code oci-layout}. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static final class OciLayout {
        public String imageLayoutVersion = LAYOUT_VERSION;
    }

    /** An empty {@code index.json}: schemaVersion 2, the OCI index media type, no manifests. */
    public static Index emptyIndex() {
        Index index = new Index();
        index.mediaType = MediaTypes.OCI_INDEX;
        return index;
    }
}
