//DEPS org.junit.platform:junit-platform-console-standalone:1.11.4
package jocker.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;

import jocker.image.ImageStore.Image;
import jocker.kernel.Trees;
import jocker.oci.Config;
import jocker.runtime.ContainerError;

/** Docker's rules for an image's Entrypoint, Cmd, Env, WorkingDir and User. */
class ImageRunTest {
    private static ImageConfig.Run run(List<String> entrypoint, List<String> cmd) {
        ImageConfig.Run r = new ImageConfig.Run();
        r.entrypoint = entrypoint;
        r.cmd = cmd;
        return r;
    }

    @Test
    void entrypointThenCommandElseCmd() {
        assertEquals(List.of("/bin/sh"), ImageRun.args(run(null, List.of("/bin/sh")), List.of()));
        assertEquals(List.of("ls", "-l"), ImageRun.args(run(null, List.of("/bin/sh")), List.of("ls", "-l")));
        assertEquals(List.of("top", "-b", "-c"), ImageRun.args(run(List.of("top", "-b"), List.of("-c")), List.of()));
        assertEquals(List.of("top", "-b", "-n1"), ImageRun.args(run(List.of("top", "-b"), List.of("-c")), List.of("-n1")));
        assertEquals(List.of("echo"), ImageRun.args(run(List.of("echo"), null), List.of()));
        ContainerError e = assertThrows(ContainerError.class, () -> ImageRun.args(run(null, null), List.of()));
        assertEquals("no command specified", e.getMessage());
        assertThrows(ContainerError.class, () -> ImageRun.args(run(List.of(), List.of()), List.of()));
    }

    @Test
    void theConfigsEnvWorkingDirAndUserGoIntoTheContainersConfig() throws Exception {
        Path dir = Files.createTempDirectory("image-run-test");
        try {
            ImageStore store = ImageStore.open(dir.resolve("images"));
            ImageStoreTest.Fixture f = ImageStoreTest.Fixture.of("2024-01-01T00:00:00Z", "a");
            String config = new String(f.config(), StandardCharsets.UTF_8).replace("\"config\":{",
                    "\"config\":{\"User\":\"nobody\",\"WorkingDir\":\"/srv\",\"Entrypoint\":[\"/entry\"],");
            Image img = store.find(fixtureWithConfig(store, f, config)).orElseThrow();
            Config c = new Config();
            ImageRun r = new ImageRun(ImageStoreTest.HOOKS);
            r.command = List.of("arg");
            r.apply(img, null, c);
            assertEquals(List.of("/entry", "arg"), c.process.args);
            assertEquals(List.of("PATH=/bin"), c.process.env);
            assertEquals("/srv", c.process.cwd);
            assertEquals("nobody", c.annotations.get(ImageRun.USER));
            assertEquals(img.manifestDigest().toString(), c.annotations.get(ImageRun.MANIFEST));
            assertEquals("docker.io/library/custom:latest", c.annotations.get(ImageRun.REF));
            assertNull(c.annotations.get(ImageRun.TARBALL));
        } finally {
            Trees.delete(dir);
        }
    }

    /** Stores the fixture with another config and names it custom. */
    private static String fixtureWithConfig(ImageStore store, ImageStoreTest.Fixture f, String config) throws Exception {
        byte[] bytes = config.getBytes(StandardCharsets.UTF_8);
        Descriptor cd = new Descriptor(MediaTypes.OCI_CONFIG, Digest.sha256(bytes), bytes.length);
        String manifest = new String(f.manifest(), StandardCharsets.UTF_8)
                .replace(f.configDescriptor().digest.toString(), cd.digest.toString())
                .replace("\"size\":" + f.configDescriptor().size + "}", "\"size\":" + cd.size + "}");
        byte[] m = manifest.getBytes(StandardCharsets.UTF_8);
        ImageStoreTest.write(store, cd, bytes);
        ImageStoreTest.write(store, f.layerDescriptors().get(0), f.layers().get(0));
        store.writeBytes(Digest.sha256(m), m);
        store.tag(Reference.parse("custom"), new Descriptor(MediaTypes.OCI_MANIFEST, Digest.sha256(m), m.length));
        return "custom";
    }
}
