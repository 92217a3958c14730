//DEPS org.junit.platform:junit-platform-console-standalone:1.11.4
package jocker.oci;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;

/** config.json in the OCI runtime spec's field names, nothing empty written, unknown fields read. */
class ConfigTest {

    private static JsonNode tree(String json) throws Exception {
        return new com.fasterxml.jackson.databind.ObjectMapper().readTree(json);
    }

    private static Config sample() {
        Config c = new Config();
        c.process.args = List.of("sh", "-c", "echo hi");
        c.process.env = new java.util.ArrayList<>(List.of(Config.DEFAULT_PATH));
        c.process.cwd = "/";
        c.root = new Config.Root();
        c.root.path = "/var/lib/jocker/containers/abc/rootfs";
        c.hostname = "abc";
        c.withNamespace("mount").withNamespace("pid").withNamespace("mount");
        c.linux.resources = new Config.Resources();
        c.linux.resources.memory = new Config.Memory();
        c.linux.resources.memory.limit = 64L << 20;
        c.linux.cgroupsPath = "jocker/abc";
        c.mounts.add(new Config.Mount("/proc", "proc", "proc", List.of("nosuid", "noexec")));
        c.annotations.put("jocker.id", "abc");
        return c;
    }

    @Test
    void fieldsHaveTheirOciNames() throws Exception {
        JsonNode j = tree(sample().toJson());
        assertEquals("1.2.0", j.at("/ociVersion").asText());
        assertEquals("sh", j.at("/process/args/0").asText());
        assertEquals("echo hi", j.at("/process/args/2").asText());
        assertEquals(Config.DEFAULT_PATH, j.at("/process/env/0").asText());
        assertEquals("/", j.at("/process/cwd").asText());
        assertEquals("/var/lib/jocker/containers/abc/rootfs", j.at("/root/path").asText());
        assertEquals("abc", j.at("/hostname").asText());
        assertEquals("mount", j.at("/linux/namespaces/0/type").asText());
        assertEquals("pid", j.at("/linux/namespaces/1/type").asText());
        assertEquals(2, j.at("/linux/namespaces").size(), "withNamespace adds a type once");
        assertTrue(j.at("/linux/resources/memory/limit").isIntegralNumber());
        assertEquals(64L << 20, j.at("/linux/resources/memory/limit").asLong());
        assertEquals("jocker/abc", j.at("/linux/cgroupsPath").asText());
        assertEquals("/proc", j.at("/mounts/0/destination").asText());
        assertEquals("proc", j.at("/mounts/0/type").asText());
        assertEquals("noexec", j.at("/mounts/0/options/1").asText());
        assertEquals("abc", j.at("/annotations/jocker.id").asText());
    }

    @Test
    void emptyPartsAreNotWritten() throws Exception {
        JsonNode j = tree(new Config().toJson());
        for (String absent : List.of("/root", "/hostname", "/mounts", "/annotations", "/process/args", "/process/env",
                "/process/cwd", "/linux/namespaces", "/linux/resources", "/linux/cgroupsPath")) {
            assertTrue(j.at(absent).isMissingNode(), absent + " in " + j);
        }
        JsonNode limits = tree(sample().toJson()).at("/linux/resources");
        assertEquals(List.of("memory"), iterable(limits.fieldNames()), "no cpu or pids: " + limits);
        assertEquals(List.of("limit"), iterable(limits.at("/memory").fieldNames()), "no swap: " + limits);
    }

    private static List<String> iterable(java.util.Iterator<String> names) {
        List<String> list = new java.util.ArrayList<>();
        names.forEachRemaining(list::add);
        return list;
    }

    @Test
    void writeThenReadGivesTheSameConfig(@TempDir Path tmp) throws Exception {
        Path file = tmp.resolve("config.json");
        Config c = sample();
        c.write(file);
        Config back = Config.read(file);
        assertEquals(c.toJson(), back.toJson());
        assertEquals(List.of("config.json"), Files.list(tmp).map(p -> p.getFileName().toString()).toList(),
                "no temporary file left beside it");
    }

    @Test
    void unknownFieldsAreIgnored(@TempDir Path tmp) throws Exception {
        // A piece of what `runc spec` writes: fields we do not know at every level.
        Path file = tmp.resolve("config.json");
        Files.writeString(file, """
                {"ociVersion": "1.0.2-dev",
                 "process": {"terminal": true, "user": {"uid": 0, "gid": 0}, "args": ["sh"],
                             "capabilities": {"bounding": ["CAP_KILL"]}, "noNewPrivileges": true},
                 "root": {"path": "rootfs", "readonly": true},
                 "mounts": [{"destination": "/proc", "type": "proc", "source": "proc", "uidMappings": []}],
                 "linux": {"namespaces": [{"type": "pid", "path": "/proc/1/ns/pid"}, {"type": "network"}],
                           "resources": {"devices": [{"allow": false, "access": "rwm"}],
                                         "memory": {"limit": 1024, "reservation": 512}},
                           "maskedPaths": ["/proc/kcore"], "seccomp": {"defaultAction": "SCMP_ACT_ALLOW"}},
                 "hooks": {"prestart": []}}
                """);
        Config c = Config.read(file);
        assertEquals("1.0.2-dev", c.ociVersion);
        assertTrue(c.process.terminal);
        assertEquals(List.of("sh"), c.process.args);
        assertEquals("rootfs", c.root.path);
        assertTrue(c.root.readonly);
        assertEquals("/proc", c.mounts.get(0).destination);
        assertTrue(c.hasNamespace("pid") && c.hasNamespace("network"));
        assertFalse(c.hasNamespace("mount"));
        assertEquals(1024L, c.linux.resources.memory.limit);
        assertNull(c.linux.resources.cpu);
    }

    @Test
    void envLooksUpAndReplacesByKey() {
        Config c = new Config();
        c.setEnv("PATH=/bin");
        c.setEnv("PATHEXT=x");
        c.setEnv("HOME=/root");
        c.setEnv("PATH=/usr/bin:/bin");
        assertEquals("/usr/bin:/bin", c.env("PATH"));
        assertEquals("x", c.env("PATHEXT"));
        assertEquals(List.of("PATHEXT=x", "HOME=/root", "PATH=/usr/bin:/bin"), c.process.env);
        assertNull(c.env("PAT"));
        assertNull(c.env("TERM"));
        c.setEnv("EMPTY=");
        assertEquals("", c.env("EMPTY"));
    }
}
