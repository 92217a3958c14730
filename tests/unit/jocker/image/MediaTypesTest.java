//DEPS org.junit.platform:junit-platform-console-standalone:1.11.4
package jocker.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

import jocker.image.MediaTypes.Compression;
import jocker.runtime.ContainerError;

/** The media types of the OCI image spec and Docker's schema 2, and what a pull makes of each. */
class MediaTypesTest {

    @Test
    void theAcceptHeaderNamesAllFourManifestKinds() {
        List<String> accepted = List.of(MediaTypes.ACCEPT_MANIFESTS.split(", "));
        assertEquals(List.of("application/vnd.oci.image.index.v1+json",
                "application/vnd.docker.distribution.manifest.list.v2+json",
                "application/vnd.oci.image.manifest.v1+json",
                "application/vnd.docker.distribution.manifest.v2+json"), accepted);
        assertFalse(MediaTypes.ACCEPT_MANIFESTS.contains("v1+prettyjws"), "never ask for schema 1");
        assertFalse(MediaTypes.ACCEPT_MANIFESTS.contains("*/*"));
    }

    @Test
    void indexesManifestsAndConfigsAreTold() {
        assertTrue(MediaTypes.isIndex(MediaTypes.OCI_INDEX));
        assertTrue(MediaTypes.isIndex(MediaTypes.DOCKER_MANIFEST_LIST));
        assertFalse(MediaTypes.isIndex(MediaTypes.OCI_MANIFEST));
        assertTrue(MediaTypes.isManifest(MediaTypes.OCI_MANIFEST));
        assertTrue(MediaTypes.isManifest(MediaTypes.DOCKER_MANIFEST));
        assertFalse(MediaTypes.isManifest(MediaTypes.DOCKER_MANIFEST_LIST));
        assertFalse(MediaTypes.isManifest(MediaTypes.DOCKER_MANIFEST_SCHEMA1_SIGNED));
        assertTrue(MediaTypes.isSchema1("application/vnd.docker.distribution.manifest.v1+prettyjws"));
        assertTrue(MediaTypes.isConfig("application/vnd.oci.image.config.v1+json"));
        assertTrue(MediaTypes.isConfig("application/vnd.docker.container.image.v1+json"));
        assertFalse(MediaTypes.isConfig("application/vnd.cncf.helm.config.v1+json"));
        assertFalse(MediaTypes.isConfig(MediaTypes.OCI_EMPTY));
        assertFalse(MediaTypes.isIndex(null));
    }

    @Test
    void contentTypeParametersAndCaseAreIgnored() {
        assertEquals("application/json", MediaTypes.base("application/json; charset=utf-8"));
        assertTrue(MediaTypes.isManifest("Application/VND.oci.image.manifest.v1+json ; charset=utf-8"));
        assertEquals("", MediaTypes.base(null));
    }

    @Test
    void layersDecompressByTheirType() {
        assertEquals(Compression.NONE, MediaTypes.compression("application/vnd.oci.image.layer.v1.tar"));
        assertEquals(Compression.GZIP, MediaTypes.compression("application/vnd.oci.image.layer.v1.tar+gzip"));
        assertEquals(Compression.ZSTD, MediaTypes.compression("application/vnd.oci.image.layer.v1.tar+zstd"));
        assertEquals(Compression.GZIP, MediaTypes.compression("application/vnd.docker.image.rootfs.diff.tar.gzip"));
        assertEquals(Compression.NONE, MediaTypes.compression("application/vnd.docker.image.rootfs.diff.tar"));
        assertEquals(Compression.GZIP, MediaTypes.compression(MediaTypes.DOCKER_FOREIGN_LAYER));
        assertEquals(Compression.ZSTD, MediaTypes.compression(MediaTypes.OCI_NONDISTRIBUTABLE_ZSTD));
        assertTrue(MediaTypes.isForeignLayer(MediaTypes.DOCKER_FOREIGN_LAYER));
        assertTrue(MediaTypes.isForeignLayer(MediaTypes.OCI_NONDISTRIBUTABLE_GZIP));
        assertFalse(MediaTypes.isForeignLayer(MediaTypes.OCI_LAYER_GZIP));
    }

    @Test
    void whatIsNotALayerIsRefused() {
        for (String other : new String[] {"application/vnd.cncf.helm.chart.content.v1.tar+gzip",
                "application/vnd.in-toto+json", "application/vnd.oci.image.layer.v1.tar+bzip2", "", null}) {
            ContainerError e = assertThrows(ContainerError.class, () -> MediaTypes.compression(other), other);
            assertTrue(e.getMessage().startsWith("unsupported layer media type"), e.getMessage());
        }
    }
}
