package jocker.image;

import java.util.Locale;
import java.util.Set;

import jocker.runtime.ContainerError;

/**
 * The media types a pull meets, and what each one means for us. Two families name the same few
 * things: Docker's image manifest v2 schema 2 (distribution/distribution, docs/spec/manifest-v2-2.md)
 * and the OCI image spec (media-types.md), which grew out of it. Every registry today serves both;
 * Docker Hub's multi-architecture images are OCI indexes or Docker manifest lists.
 * <pre>
 *   index     OCI image index / Docker manifest list    one manifest per platform
 *   manifest  OCI image manifest / Docker schema 2      one config + ordered layers
 *   config    OCI / Docker image config                 env, cmd, rootfs.diff_ids, history
 *   layer     tar, tar+gzip, tar+zstd                   a filesystem changeset
 * </pre>
 * Docker's schema 1 (signed JSON, no content-addressed config) is gone from Docker Hub and is
 * refused: a registry only sends it to a client that forgets the Accept header.
 */
public final class MediaTypes {
    private MediaTypes() {}

    // Indexes: one manifest per platform (OCI image spec, image-index.md; Docker's manifest list).
    public static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
    public static final String DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";

    // Manifests: a config and layers (OCI image spec, manifest.md; Docker image manifest v2 schema 2).
    public static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
    public static final String DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
    /** Docker's schema 1, removed from Docker 20.10 on: recognised only to be refused clearly. */
    public static final String DOCKER_MANIFEST_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json";
    public static final String DOCKER_MANIFEST_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws";

    // Image configs (OCI image spec, config.md; Docker's image JSON).
    public static final String OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
    public static final String DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
    /** OCI 1.1's empty config/blob ({}) that artifacts use: not an image. */
    public static final String OCI_EMPTY = "application/vnd.oci.empty.v1+json";

    // Layers (OCI image spec, layer.md; Docker's rootfs.diff types).
    public static final String OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar";
    public static final String OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
    public static final String OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd";
    public static final String DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    /** Docker's uncompressed layer, rare but accepted by containerd. */
    public static final String DOCKER_LAYER_TAR = "application/vnd.docker.image.rootfs.diff.tar";
    /**
     * Layers a registry may not hold, fetched from the descriptor's {@code urls} instead (Windows base
     * images). Docker's foreign layer, and OCI's nondistributable layers, deprecated since OCI 1.1.
     */
    public static final String DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
    public static final String OCI_NONDISTRIBUTABLE_TAR = "application/vnd.oci.image.layer.nondistributable.v1.tar";
    public static final String OCI_NONDISTRIBUTABLE_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
    public static final String OCI_NONDISTRIBUTABLE_ZSTD = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";

    /**
     * The Accept header of a manifest request: all four kinds, so that a registry sends what it has
     * and never down-converts (Distribution answers a request without Accept with schema 1; OCI
     * distribution spec, "Pulling manifests": the client SHOULD include an Accept header).
     */
    public static final String ACCEPT_MANIFESTS = String.join(", ", OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST, DOCKER_MANIFEST);

    private static final Set<String> INDEXES = Set.of(OCI_INDEX, DOCKER_MANIFEST_LIST);
    private static final Set<String> MANIFESTS = Set.of(OCI_MANIFEST, DOCKER_MANIFEST);
    private static final Set<String> SCHEMA1 = Set.of(DOCKER_MANIFEST_SCHEMA1, DOCKER_MANIFEST_SCHEMA1_SIGNED);
    private static final Set<String> CONFIGS = Set.of(OCI_CONFIG, DOCKER_CONFIG);
    private static final Set<String> FOREIGN = Set.of(DOCKER_FOREIGN_LAYER, OCI_NONDISTRIBUTABLE_TAR,
            OCI_NONDISTRIBUTABLE_GZIP, OCI_NONDISTRIBUTABLE_ZSTD);

    /** How a layer's tar stream is compressed. */
    public enum Compression { NONE, GZIP, ZSTD }

    /**
     * A Content-Type header's media type alone: {@code application/json; charset=utf-8} is
     * {@code application/json}. Media types are case-insensitive (RFC 6838); ours are all lower case.
     */
    public static String base(String contentType) {
        if (contentType == null) return "";
        int semicolon = contentType.indexOf(';');
        return (semicolon < 0 ? contentType : contentType.substring(0, semicolon)).trim().toLowerCase(Locale.ROOT);
    }

    public static boolean isIndex(String mediaType) { return INDEXES.contains(base(mediaType)); }

    public static boolean isManifest(String mediaType) { return MANIFESTS.contains(base(mediaType)); }

    public static boolean isSchema1(String mediaType) { return SCHEMA1.contains(base(mediaType)); }

    public static boolean isConfig(String mediaType) { return CONFIGS.contains(base(mediaType)); }

    /** A layer to fetch from its descriptor's urls rather than from the registry. */
    public static boolean isForeignLayer(String mediaType) { return FOREIGN.contains(base(mediaType)); }

    /**
     * How to decompress a layer of this media type. Anything that is not a layer (a Helm chart, a
     * signature, an attestation) is refused: we would otherwise unpack garbage into a rootfs.
     */
    public static Compression compression(String mediaType) {
        switch (base(mediaType)) {
            case OCI_LAYER_TAR, DOCKER_LAYER_TAR, OCI_NONDISTRIBUTABLE_TAR:
                return Compression.NONE;
            case OCI_LAYER_GZIP, DOCKER_LAYER_GZIP, DOCKER_FOREIGN_LAYER, OCI_NONDISTRIBUTABLE_GZIP:
                return Compression.GZIP;
            case OCI_LAYER_ZSTD, OCI_NONDISTRIBUTABLE_ZSTD:
                return Compression.ZSTD;
            default:
                throw new ContainerError("unsupported layer media type \"" + Digest.clip(String.valueOf(mediaType)) + "\"");
        }
    }
}
