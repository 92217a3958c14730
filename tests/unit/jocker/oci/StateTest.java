//DEPS org.junit.platform:junit-platform-console-standalone:1.11.4
package jocker.oci;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;

/** state.json: the OCI runtime state as `runc state` prints it, plus our owner. */
class StateTest {

    /** A created container's state, every field set (JsonBindingTest writes it too). */
    static State sample() {
        State s = new State();
        s.id = "abc";
        s.status = "created";
        s.pid = 4711;
        s.bundle = "/var/lib/jocker/containers/abc";
        s.annotations.put("jocker.image", "busybox");
        s.owner = new State.Owner(42, 123456);
        return s;
    }

    @Test
    void fieldsHaveTheirOciNames(@TempDir Path tmp) throws Exception {
        State s = sample();
        Path file = tmp.resolve("state.json");
        s.write(file);
        JsonNode j = new com.fasterxml.jackson.databind.ObjectMapper().readTree(file.toFile());
        assertEquals("1.2.0", j.at("/ociVersion").asText());
        assertEquals("abc", j.at("/id").asText());
        assertEquals("created", j.at("/status").asText());
        assertEquals(4711, j.at("/pid").asInt());
        assertEquals("/var/lib/jocker/containers/abc", j.at("/bundle").asText());
        assertEquals("busybox", j.at("/annotations/jocker.image").asText());
        assertEquals(42, j.at("/owner/pid").asLong());
        assertEquals(123456, j.at("/owner/startTime").asLong());
        assertEquals(List.of("state.json"), Files.list(tmp).map(p -> p.getFileName().toString()).toList(),
                "written atomically: no temporary file left");
    }

    @Test
    void whatIsNotKnownYetIsNotWritten() throws Exception {
        State s = new State();
        s.id = "abc";
        s.status = "creating";
        JsonNode j = new com.fasterxml.jackson.databind.ObjectMapper().readTree(Json.text(s));
        assertTrue(j.at("/owner").isMissingNode(), j.toString());
        assertTrue(j.at("/bundle").isMissingNode(), j.toString());
        assertEquals(0, j.at("/pid").asInt(-1), "no process yet");
    }

    @Test
    void readBackIgnoresFieldsOfOtherRuntimes(@TempDir Path tmp) throws Exception {
        Path file = tmp.resolve("state.json");
        Files.writeString(file, """
                {"ociVersion": "1.0.2", "id": "abc", "pid": 99, "status": "running", "bundle": "/b",
                 "rootfs": "/b/rootfs", "created": "2024-01-01T00:00:00Z", "owner": {"pid": 7, "startTime": 8, "user": "root"},
                 "annotations": {"a": "b"}}
                """);
        State s = State.read(file);
        assertEquals("abc", s.id);
        assertEquals(99, s.pid);
        assertEquals("running", s.status);
        assertEquals("/b", s.bundle);
        assertEquals(7, s.owner.pid);
        assertEquals(8, s.owner.startTime);
        assertEquals("b", s.annotations.get("a"));
    }

    @Test
    void aStateWithoutOwnerReadsAsNone(@TempDir Path tmp) throws Exception {
        Path file = tmp.resolve("state.json");
        Files.writeString(file, "{\"id\": \"abc\", \"status\": \"stopped\"}");
        assertNull(State.read(file).owner);
    }

    @Test
    void aRewriteReplacesTheWholeDocument(@TempDir Path tmp) throws Exception {
        Path file = tmp.resolve("state.json");
        State s = new State();
        s.id = "a-long-identifier-that-makes-the-first-document-longer";
        s.status = "creating";
        s.write(file);
        s.id = "b";
        s.status = "running";
        s.write(file);
        State back = State.read(file);
        assertEquals("b", back.id);
        assertEquals("running", back.status);
    }
}
