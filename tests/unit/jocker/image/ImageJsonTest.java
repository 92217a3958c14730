//DEPS org.junit.platform:junit-platform-console-standalone:1.11.4
package jocker.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import jocker.runtime.ContainerError;

/** The index, manifest and config documents in the specs' field names, read from hostile JSON too. */
class ImageJsonTest {
    private static final String A = "sha256:" + "a".repeat(64);
    private static final String B = "sha256:" + "b".repeat(64);
    private static final String C = "sha256:" + "c".repeat(64);
    private static final String D = "sha256:" + "d".repeat(64);

    private static byte[] json(String text) { return text.replace('\'', '"').getBytes(StandardCharsets.UTF_8); }

    /** Like Docker Hub's busybox: another platform first, an attestation, unknown fields everywhere. */
    private static final String INDEX = """
            {'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.index.v1+json', 'future': {'x': [1]},
             'manifests': [
              {'mediaType': 'application/vnd.oci.image.manifest.v1+json', 'digest': '%s', 'size': 610,
               'platform': {'architecture': 'arm', 'os': 'linux', 'variant': 'v7'}},
              {'mediaType': 'application/vnd.oci.image.manifest.v1+json', 'digest': '%s', 'size': 566,
               'annotations': {'vnd.docker.reference.type': 'attestation-manifest'},
               'platform': {'architecture': 'unknown', 'os': 'unknown'}},
              {'mediaType': 'application/vnd.oci.image.manifest.v1+json', 'digest': '%s', 'size': 611,
               'platform': {'architecture': 'arm64', 'os': 'linux', 'variant': 'v8', 'os.features': ['x']}},
              {'mediaType': 'application/vnd.oci.image.manifest.v1+json', 'digest': '%s', 'size': 612, 'newField': true,
               'platform': {'architecture': 'amd64', 'os': 'linux'}}
             ]}
            """.formatted(A, B, C, D);

    @Test
    void anIndexKeepsEveryEntrysPlatform() {
        Index index = Index.parse(json(INDEX), "index of busybox:latest");
        assertEquals(2, index.schemaVersion);
        assertEquals(MediaTypes.OCI_INDEX, index.mediaType);
        assertEquals(4, index.manifests.size());
        // Which entry a platform picks is step 06's TODO 06.2; here: what it has to decide with.
        Descriptor amd64 = index.manifests.get(3);
        assertEquals(D, amd64.digest.toString());
        assertEquals(612, amd64.size);
        assertTrue(Platform.parse("linux/amd64").matchesExactly(amd64.platform));
        assertTrue(Platform.parse("linux/arm64").matches(index.manifests.get(2).platform));
        assertTrue(Platform.parse("linux/arm/v7").matchesExactly(index.manifests.get(0).platform));
        assertFalse(Platform.parse("linux/amd64").matches(index.manifests.get(1).platform), "an attestation is no platform");
        assertEquals("attestation-manifest", index.manifests.get(1).annotation("vnd.docker.reference.type"));
        assertEquals("linux/arm/v7, unknown/unknown, linux/arm64/v8, linux/amd64", index.platforms());
    }

    @Test
    void aDockerManifestListReadsTheSame() {
        String list = """
                {'schemaVersion': 2, 'mediaType': 'application/vnd.docker.distribution.manifest.list.v2+json',
                 'manifests': [{'mediaType': 'application/vnd.docker.distribution.manifest.v2+json', 'digest': '%s',
                   'size': 527, 'platform': {'architecture': 'amd64', 'os': 'linux'}}]}
                """.formatted(A);
        Index index = Index.parse(json(list), "list");
        assertTrue(MediaTypes.isIndex(index.mediaType));
        assertTrue(Platform.parse("linux/amd64").matchesExactly(index.manifests.get(0).platform));
    }

    private static final String MANIFEST = """
            {'schemaVersion': 2, 'mediaType': 'application/vnd.docker.distribution.manifest.v2+json', 'extra': 1,
             'config': {'mediaType': 'application/vnd.docker.container.image.v1+json', 'size': 1457, 'digest': '%s'},
             'layers': [
              {'mediaType': 'application/vnd.docker.image.rootfs.diff.tar.gzip', 'size': 2152262, 'digest': '%s'},
              {'mediaType': 'application/vnd.oci.image.layer.v1.tar+zstd', 'size': 10, 'digest': '%s',
               'urls': ['https://example.com/x'], 'annotations': {'k': 'v'}}]}
            """.formatted(A, B, C);

    @Test
    void aManifestHasAConfigAndLayersInOrder() {
        Manifest m = Manifest.parse(json(MANIFEST), "manifest");
        assertEquals(MediaTypes.DOCKER_MANIFEST, m.mediaType);
        assertEquals(A, m.config.digest.toString());
        assertEquals(1457, m.config.size);
        assertEquals(List.of(B, C), m.layers.stream().map(l -> l.digest.toString()).toList());
        assertEquals(2152262, m.layers.get(0).size);
        assertEquals(MediaTypes.Compression.ZSTD, MediaTypes.compression(m.layers.get(1).mediaType));
        assertEquals(List.of("https://example.com/x"), m.layers.get(1).urls);
        assertEquals("v", m.layers.get(1).annotation("k"));
    }

    private static String refusedManifest(String text) {
        ContainerError e = assertThrows(ContainerError.class, () -> Manifest.parse(json(text), "manifest of x:1"), text);
        assertTrue(e.getMessage().startsWith("failed to parse manifest of x:1: ") || e.getMessage().startsWith("invalid "),
                e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        return e.getMessage();
    }

    @Test
    void malformedManifestsAreRefusedInOneLine() {
        assertTrue(refusedManifest("{'schemaVersion': 1, 'name': 'library/busybox', 'fsLayers': []}").contains("schema 1"));
        assertTrue(refusedManifest("{'schemaVersion': 2, 'mediaType': 'application/vnd.docker.distribution.manifest.v1+prettyjws'}").contains("schema 1"));
        assertTrue(refusedManifest("{'schemaVersion': 3, 'config': {}}").contains("schemaVersion 3"));
        assertTrue(refusedManifest("{'schemaVersion': 2, 'layers': []}").contains("no config"));
        assertTrue(refusedManifest(MANIFEST.replace(A, "sha256:1234"))
                .startsWith("failed to parse manifest of x:1: invalid digest \"sha256:1234\": sha256 wants 64 hex digits, got 4"));
        assertTrue(refusedManifest(MANIFEST.replace(B, "sha256:../../../etc/passwd")).contains("invalid digest"));
        assertTrue(refusedManifest(MANIFEST.replace("'size': 2152262, ", "")).contains("no size"));
        assertTrue(refusedManifest(MANIFEST.replace("application/vnd.docker.container.image.v1+json",
                "application/vnd.cncf.helm.config.v1+json")).contains("not a container image"));
        assertTrue(refusedManifest("{'schemaVersion': 2, 'config': {'mediaType': 'application/vnd.oci.image.config.v1+json', 'digest': '"
                + A + "', 'size': 2}, 'layers': [null]}").contains("layers[0] is null"));
        refusedManifest("{'schemaVersion': 2,");
        refusedManifest("<html>503 Service Unavailable</html>");
        refusedManifest("[]");
        refusedManifest("null");
        refusedManifest("");
        refusedManifest("{'schemaVersion': 'two'}");
        refusedManifest("{'schemaVersion': 2, 'layers': 'x'}");
    }

    @Test
    void malformedIndexesAreRefused() {
        assertThrows(ContainerError.class, () -> Index.parse(json("{'schemaVersion': 2, 'manifests': [{'size': 3}]}"), "index"));
        assertThrows(ContainerError.class, () -> Index.parse(json("{'schemaVersion': 2, 'manifests': null}"), "index"));
        assertThrows(ContainerError.class, () -> Index.parse(json("{'manifests': []}".replace("{", "{'schemaVersion': 1, ")), "index"));
        assertThrows(ContainerError.class, () -> Index.parse(json(INDEX.replace(D, D.toUpperCase())), "index"));
    }

    private static final String CONFIG = """
            {'architecture': 'amd64', 'os': 'linux', 'created': '2024-09-26T21:31:42.123456789Z', 'docker_version': '26',
             'config': {'Env': ['PATH=/usr/local/sbin:/usr/bin'], 'Cmd': ['sh'], 'Entrypoint': null,
                        'WorkingDir': '/srv', 'User': '1000:1000', 'Labels': {'a': 'b'}, 'ExposedPorts': {'80/tcp': {}},
                        'OnBuild': null, 'Image': 'sha256:x'},
             'rootfs': {'type': 'layers', 'diff_ids': ['%s', '%s']},
             'history': [{'created': '2024-09-26T21:31:42Z', 'created_by': 'ADD file:x in /'},
                         {'created_by': 'CMD [\\\"sh\\\"]', 'empty_layer': true, 'buildkit': {'new': 1}}]}
            """.formatted(A, B);

    @Test
    void anImageConfigInDockersNames() {
        ImageConfig c = ImageConfig.parse(json(CONFIG), "config");
        assertEquals("amd64", c.architecture);
        assertEquals("linux", c.os);
        assertEquals(Instant.parse("2024-09-26T21:31:42.123456789Z"), c.createdInstant());
        assertEquals(List.of("PATH=/usr/local/sbin:/usr/bin"), c.config.env);
        assertEquals(List.of("sh"), c.config.cmd);
        assertNull(c.config.entrypoint, "an absent Entrypoint stays null");
        assertEquals("/srv", c.config.workingDir);
        assertEquals("1000:1000", c.config.user);
        assertEquals("b", c.labels().get("a"));
        assertTrue(c.config.exposedPorts.containsKey("80/tcp"));
        assertEquals("layers", c.rootfs.type);
        assertEquals(List.of(Digest.parse(A), Digest.parse(B)), c.rootfs.diffIds);
        assertEquals(2, c.history.size());
        assertEquals("ADD file:x in /", c.history.get(0).createdBy);
        assertEquals(Boolean.TRUE, c.history.get(1).emptyLayer);
    }

    @Test
    void aBareConfigHasDefaults() {
        ImageConfig c = ImageConfig.parse(json("{'architecture': 'amd64', 'os': 'linux', 'created': 'yesterday'}"), "config");
        assertNull(c.config.cmd);
        assertNull(c.config.entrypoint);
        assertNull(c.config.env);
        assertNull(ImageConfig.parse(json("{'config': {'Cmd': ['sh']}}"), "config").config.entrypoint, "absent is null, not []");
        assertNull(c.createdInstant(), "an unparseable time is no time");
        assertTrue(c.labels().isEmpty());
        assertTrue(ImageConfig.parse(json("{'created': '2024-01-01T00:00:00+02:00'}"), "c").createdInstant()
                .equals(Instant.parse("2023-12-31T22:00:00Z")));
    }

    @Test
    void anImageLayoutIndexIsWrittenInOciNames() throws Exception {
        Index index = ImageLayout.emptyIndex();
        Descriptor d = new Descriptor(MediaTypes.OCI_MANIFEST, Digest.parse(A), 42);
        d.annotations.put(ImageLayout.REF_NAME, "docker.io/library/busybox:latest");
        index.manifests.add(d);
        JsonNode j = ImageJson.mapper().readTree(ImageJson.text(index));
        assertEquals(2, j.at("/schemaVersion").asInt());
        assertEquals("application/vnd.oci.image.index.v1+json", j.at("/mediaType").asText());
        assertEquals(A, j.at("/manifests/0/digest").asText());
        assertEquals(42, j.at("/manifests/0/size").asLong());
        assertEquals("docker.io/library/busybox:latest", j.at("/manifests/0/annotations/org.opencontainers.image.ref.name").asText());
        assertTrue(j.at("/manifests/0/urls").isMissingNode(), "empty fields are not written");
        assertTrue(j.at("/manifests/0/platform").isMissingNode());
        assertTrue(j.at("/annotations").isMissingNode());
        // Read back through the same parser a pull uses.
        Index back = Index.parse(ImageJson.text(index).getBytes(StandardCharsets.UTF_8), "index.json");
        assertEquals(d.digest, back.manifests.get(0).digest);
        assertEquals("docker.io/library/busybox:latest", back.manifests.get(0).annotation(ImageLayout.REF_NAME));

        JsonNode layout = ImageJson.mapper().readTree(ImageJson.text(new ImageLayout.OciLayout()));
        assertEquals("{\"imageLayoutVersion\":\"1.0.0\"}", layout.toString());
        ImageLayout.OciLayout read = ImageJson.parse(json("{'imageLayoutVersion': '1.0.0', 'x': 1}"), ImageLayout.OciLayout.class, "oci-layout");
        assertEquals("1.0.0", read.imageLayoutVersion);
        assertEquals("blobs", ImageLayout.BLOBS_DIR);
        assertEquals("index.json", ImageLayout.INDEX_FILE);
        assertEquals("oci-layout", ImageLayout.OCI_LAYOUT_FILE);
    }

    @Test
    void aPlatformIsWrittenWithoutEmptyFields() throws Exception {
        Descriptor d = new Descriptor(MediaTypes.OCI_MANIFEST, Digest.parse(A), 1);
        d.platform = Platform.parse("linux/amd64");
        JsonNode j = ImageJson.mapper().readTree(ImageJson.text(d));
        assertEquals("linux", j.at("/platform/os").asText());
        assertEquals("amd64", j.at("/platform/architecture").asText());
        assertTrue(j.at("/platform/variant").isMissingNode());
        assertEquals(d.platform, ImageJson.parse(ImageJson.text(d).getBytes(StandardCharsets.UTF_8), Descriptor.class, "d").platform);
    }

    @Test
    void documentsAreWrittenAndReadAsObjectMapperDid() throws Exception {
        com.fasterxml.jackson.databind.ObjectMapper jackson = new com.fasterxml.jackson.databind.ObjectMapper()
                .enable(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT)
                .disable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
        Index index = Index.parse(json(INDEX), "index");
        Manifest manifest = Manifest.parse(json(MANIFEST), "manifest");
        ImageConfig config = ImageConfig.parse(json(CONFIG), "config");
        for (Object doc : List.of(index, manifest, config, ImageLayout.emptyIndex(), new ImageLayout.OciLayout())) {
            assertEquals(jackson.writeValueAsString(doc), ImageJson.text(doc), doc.getClass().getSimpleName());
            String text = ImageJson.text(doc);
            Object ours = ImageJson.parse(text.getBytes(StandardCharsets.UTF_8), doc.getClass(), "doc");
            Object theirs = jackson.readValue(text, doc.getClass());
            assertEquals(jackson.writeValueAsString(theirs), ImageJson.text(ours), "read back alike");
        }
        assertEquals(jackson.writeValueAsString(jackson.readValue(json(CONFIG), ImageConfig.class)), ImageJson.text(
                ImageJson.parse(json(CONFIG), ImageConfig.class, "config")), "unknown and null fields read alike");
    }

    @Test
    void aDigestIsReadOnlyFromAString() {
        for (String bad : List.of("{'schemaVersion': 2, 'config': {'mediaType': 'm', 'size': 1, 'digest': {'a': 1}}}",
                "{'schemaVersion': 2, 'config': {'mediaType': 'm', 'size': 1, 'digest': ['" + A + "']}}",
                "{'schemaVersion': 2, 'config': {'mediaType': 'm', 'size': '1x', 'digest': '" + A + "'}}")) {
            ContainerError e = assertThrows(ContainerError.class, () -> Manifest.parse(json(bad), "manifest"), bad);
            assertTrue(e.getMessage().startsWith("failed to parse manifest: "), e.getMessage());
        }
    }

    @Test
    void aDescriptorChecksItsParts() {
        Descriptor d = new Descriptor(MediaTypes.OCI_MANIFEST, Digest.parse(A), 0);
        assertSame(d, d.check("x"));
        assertThrows(ContainerError.class, () -> new Descriptor(null, Digest.parse(A), 1).check("x"));
        assertThrows(ContainerError.class, () -> new Descriptor(MediaTypes.OCI_MANIFEST, null, 1).check("x"));
        assertEquals("invalid layer: no size", assertThrows(ContainerError.class,
                () -> new Descriptor(MediaTypes.OCI_LAYER_GZIP, Digest.parse(A), -1).check("layer")).getMessage());
    }
}
