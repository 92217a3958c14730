package jocker.oci;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import jocker.runtime.UndoLog;

/**
 * The binder behind {@link Json} against the ObjectMapper it replaces: the same text, byte for
 * byte, for every document the runtime writes, and the same objects back from it. Files written
 * by a runtime before the binder (with ObjectMapper) must read as they did.
 */
class JsonBindingTest {
    /** The mapper Json used to be: indented output, unknown fields ignored. */
    private static final ObjectMapper JACKSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    @TempDir Path tmp;

    static Config fullConfig() {
        Config c = new Config();
        c.process.terminal = true;
        c.process.args = List.of("sh", "-c", "echo \"hi\" \\ \u00e9\t\u0001");
        c.process.env = new ArrayList<>(List.of(Config.DEFAULT_PATH, "EMPTY="));
        c.process.cwd = "/work";
        c.process.user = new Config.User(1000, 100, List.of(4, 27));
        c.process.user.umask = 18;
        c.root = new Config.Root();
        c.root.path = "/var/lib/jocker/containers/abc/rootfs";
        c.root.readonly = true;
        c.hostname = "abc";
        c.withNamespace("mount").withNamespace("pid").withNamespace("network");
        c.mounts.add(new Config.Mount("/proc", "proc", "proc", List.of("nosuid", "noexec")));
        c.mounts.add(new Config.Mount("/dev", "tmpfs", "tmpfs", List.of()));
        c.linux.resources = new Config.Resources();
        c.linux.resources.memory = new Config.Memory();
        c.linux.resources.memory.limit = 64L << 20;
        c.linux.resources.memory.swap = -1L;
        c.linux.resources.cpu = new Config.Cpu();
        c.linux.resources.cpu.quota = 50_000L;
        c.linux.resources.cpu.period = 100_000L;
        c.linux.resources.pids = new Config.Pids();
        c.linux.resources.pids.limit = Long.MAX_VALUE;
        c.linux.cgroupsPath = "jocker/abc";
        c.annotations.put("jocker.id", "abc");
        c.annotations.put("jocker.image", "");
        return c;
    }

    static List<UndoLog.Entry> undoEntries() {
        return List.of(new UndoLog.Entry(UndoLog.Kind.MOUNT, "rootfs"),
                new UndoLog.Entry(UndoLog.Kind.RULE, "nat/JOCKER", List.of("-t", "nat", "-A", "JOCKER", "-j", "RETURN")),
                new UndoLog.Entry(UndoLog.Kind.LEASE, "/run/x", List.of("abc")));
    }

    /** A record that is not public, as network.json's is, with a primitive and a nested list. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Hidden(String name, boolean off, long size, List<List<String>> nested, Map<String, Object> any) {}

    @Test
    void writesWhatObjectMapperWrote() throws Exception {
        for (Object doc : List.of(new Config(), fullConfig(), new State(), StateTest.sample(), undoEntries(), List.of(),
                new Hidden("br0", true, 5, List.of(List.of("a"), List.of()), Map.of("k", List.of(1, "x", true))),
                new Hidden(null, false, 0, null, null))) {
            assertEquals(JACKSON.writeValueAsString(doc), Json.text(doc), doc.getClass().getSimpleName());
        }
    }

    @Test
    void writesTheFileAtomicallyAsText(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("config.json");
        Json.write(file, fullConfig());
        assertEquals(JACKSON.writeValueAsString(fullConfig()), Files.readString(file));
        try (var listed = Files.list(dir)) {
            assertEquals(List.of(file), listed.toList(), "no temporary file left beside it");
        }
    }

    @Test
    void readsBackWhatItWrote() throws Exception {
        Path file = tmp.resolve("doc.json");
        Json.write(file, fullConfig());
        assertEquals(Json.text(fullConfig()), Json.text(Json.read(file, Config.class)));
        Json.write(file, StateTest.sample());
        assertEquals(Json.text(StateTest.sample()), Json.text(Json.read(file, State.class)));
        Json.write(file, undoEntries());
        assertArrayEquals(undoEntries().toArray(), Json.read(file, UndoLog.Entry[].class));
        Hidden h = new Hidden("br0", true, 5, List.of(List.of("a", "b")), Map.of("n", 1, "m", Map.of()));
        Json.write(file, h);
        assertEquals(h, Json.read(file, Hidden.class));
    }

    @Test
    void readsWhatObjectMapperReads() throws Exception {
        // Unknown fields (a newer writer's), numbers in strings and strings from numbers, nulls.
        String json = "{\"ociVersion\":\"1.0.2\",\"future\":{\"a\":[1,{\"b\":null}]},\"hostname\":7,"
                + "\"process\":{\"args\":[\"true\"],\"user\":{\"uid\":\"12\",\"gid\":0,\"umask\":null}},"
                + "\"root\":null,\"linux\":{\"resources\":{\"memory\":{\"limit\":1048576}}},"
                + "\"annotations\":{\"a\":\"b\",\"c\":null}}";
        Path file = tmp.resolve("config.json");
        Files.writeString(file, json);
        Config ours = Json.read(file, Config.class);
        Config theirs = JACKSON.readValue(json, Config.class);
        assertEquals(JACKSON.writeValueAsString(theirs), Json.text(ours));
        assertEquals("7", ours.hostname);
        assertEquals(12, ours.process.user.uid);
        assertNull(ours.process.user.umask);
        assertNull(ours.root);
        assertTrue(ours.annotations.containsKey("c"));
    }

    @Test
    void aRecordGetsItsDefaultsAndItsOwnChecks() throws Exception {
        Path file = tmp.resolve("undo.json");
        Files.writeString(file, "[{\"kind\":\"FILE\",\"path\":\"x\"}]");   // written before args existed
        assertEquals(List.of(new UndoLog.Entry(UndoLog.Kind.FILE, "x")), List.of(Json.read(file, UndoLog.Entry[].class)));
        Files.writeString(file, "{\"name\":\"n\"}");
        assertEquals(new Hidden("n", false, 0, null, null), Json.read(file, Hidden.class));
    }

    @Test
    void aDocumentOfTheWrongShapeFailsNamingTheFile() throws Exception {
        Path file = tmp.resolve("state.json");
        for (String bad : List.of("", "[]", "{\"pid\":\"x\"}", "{\"pid\":99999999999}",
                "{\"annotations\":[]}", "{\"owner\":7}", "{\"status\":[\"a\"]}", "{\"id\":\"a\"", "nul")) {
            Files.writeString(file, bad);
            IOException e = assertThrows(IOException.class, () -> Json.read(file, State.class), bad);
            assertTrue(e.getMessage().startsWith(file + ": "), e.getMessage());
            assertThrows(IOException.class, () -> JACKSON.readValue(bad, State.class), "ObjectMapper refuses " + bad + " too");
        }
        Files.writeString(file, "[{\"kind\":\"NOPE\",\"path\":\"x\"}]");
        assertThrows(IOException.class, () -> Json.read(file, UndoLog.Entry[].class));
    }

    @Test
    void aMissingFileIsNoSuchFile() {
        assertThrows(NoSuchFileException.class, () -> Json.read(tmp.resolve("none.json"), State.class));
    }
}
