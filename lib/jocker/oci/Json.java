//DEPS com.fasterxml.jackson.core:jackson-databind:2.18.2
package jocker.oci;

import java.io.IOException;
import java.io.InputStream;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;

/**
 * Reading and writing JSON documents: the runtime's own (config.json, state.json, the undo log),
 * and from step 06 the registries' ({@link #parse}).
 * A write is atomic: the text goes to a temporary file beside the target, which is then renamed
 * over it (rename(2) replaces a file in one step), so that another process reading the file sees
 * the old document or the new one, never half of one.
 *
 * <p>The text is Jackson's, indented as its ObjectMapper indents; the binding to our classes is
 * {@link JsonBinding}'s, which spares each short-lived JVM the ObjectMapper's start.
 */
public final class Json {
    private Json() {}

    private static final JsonFactory FACTORY = new JsonFactory();

    public static void write(Path file, Object value) throws IOException {
        Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp-" + ProcessHandle.current().pid());
        try {
            try (Writer out = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
                write(out, value);
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Reads {@code file} as a {@code type}; a document that is not one fails with the file's name. */
    public static <T> T read(Path file, Class<T> type) throws IOException {
        try (InputStream in = Files.newInputStream(file); JsonParser p = FACTORY.createParser(in)) {
            return bind(p, type);
        } catch (NoSuchFileException e) {
            throw e;   // callers tell "not there yet" from "broken"
        } catch (IOException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    /** Parses {@code bytes} as a {@code type}: null for the document {@code null}. */
    public static <T> T parse(byte[] bytes, Class<T> type) throws IOException {
        try (JsonParser p = FACTORY.createParser(bytes)) {
            return bind(p, type);
        }
    }

    private static <T> T bind(JsonParser p, Class<T> type) throws IOException {
        if (p.nextToken() == null) throw new IOException("empty document");
        return type.cast(JsonBinding.read(p, type));
    }

    public static String text(Object value) {
        StringWriter out = new StringWriter();
        try {
            write(out, value);
        } catch (IOException e) {
            throw new UncheckedIOException(e);   // a StringWriter does not fail
        }
        return out.toString();
    }

    private static void write(Writer out, Object value) throws IOException {
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            g.useDefaultPrettyPrinter();
            JsonBinding.write(g, value);
        }
    }
}
