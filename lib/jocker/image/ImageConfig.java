//DEPS com.fasterxml.jackson.core:jackson-databind:2.18.2
package jocker.image;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * An image's configuration (OCI image spec, config.md; Docker's image JSON): what to run
 * ({@code config}: Env, Entrypoint, Cmd, WorkingDir, User, in Docker's capitalised names) and the
 * digests of the uncompressed layers ({@code rootfs.diff_ids}, one per layer of the manifest, same
 * order). The config's own digest is the image's ID, which {@code docker images} shows shortened.
 * <p>
 * The lists stay null when the image leaves them out, so that the step applying them can tell an
 * absent Cmd or Entrypoint from an empty one, as Docker's rules for combining them with the
 * command line do.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public final class ImageConfig {
    public String architecture;
    public String os;
    public String variant;
    /** RFC 3339, as Go writes it: {@code 2024-09-26T21:31:42.123456789Z}; see {@link #createdInstant}. */
    public String created;
    public String author;
    public Run config;
    public RootFs rootfs;
    public List<History> history = new ArrayList<>();

    /** The defaults of a container run from this image (config.md, "config"). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static final class Run {
        /** {@code user}, {@code uid}, {@code user:group} or {@code uid:gid}; empty is root. */
        @JsonProperty("User") public String user;
        /** KEY=VALUE, added to the container's environment. */
        @JsonProperty("Env") public List<String> env;
        @JsonProperty("Entrypoint") public List<String> entrypoint;
        @JsonProperty("Cmd") public List<String> cmd;
        @JsonProperty("WorkingDir") public String workingDir;
        @JsonProperty("Labels") public Map<String, String> labels;
        /** Keys like {@code 80/tcp}; the values are empty objects. */
        @JsonProperty("ExposedPorts") public Map<String, Object> exposedPorts;
        @JsonProperty("Volumes") public Map<String, Object> volumes;
        @JsonProperty("StopSignal") public String stopSignal;
    }

    /** The layers' uncompressed digests, bottom first (config.md, "rootfs"). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static final class RootFs {
        /** Always {@code layers}. */
        public String type;
        @JsonProperty("diff_ids") public List<Digest> diffIds = new ArrayList<>();
    }

    /** One build step; {@code empty_layer} steps (ENV, CMD ...) made no layer. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static final class History {
        public String created;
        @JsonProperty("created_by") public String createdBy;
        public String author;
        public String comment;
        @JsonProperty("empty_layer") public Boolean emptyLayer;
    }

    public static ImageConfig parse(byte[] bytes, String what) {
        ImageConfig c = ImageJson.parse(bytes, ImageConfig.class, what);
        if (c.config == null) c.config = new Run();   // FROM scratch images may have none
        return c;
    }

    /** {@link #created} as an instant, or null if absent or not RFC 3339. */
    public Instant createdInstant() {
        if (created == null) return null;
        try {
            return Instant.parse(created);   // RFC 3339, with Z or an offset
        } catch (DateTimeParseException e) {
            return null;
        }
    }

    /** The image's labels, never null. */
    public Map<String, String> labels() {
        return config == null || config.labels == null ? new LinkedHashMap<>() : config.labels;
    }
}
