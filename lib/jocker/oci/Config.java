//DEPS com.fasterxml.jackson.core:jackson-databind:2.18.2
package jocker.oci;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * A container's whole configuration: one JSON document that the runtime writes and the
 * container's init reads. The field names are those of the OCI runtime spec's config.json
 * (https://github.com/opencontainers/runtime-spec/blob/main/config.md), so what you build here is
 * the real format: {@code process.args}, {@code root.path}, {@code linux.namespaces} and so on.
 * Each step fills in the part it is about and leaves the rest empty (empty parts are not written).
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
@JsonIgnoreProperties(ignoreUnknown = true)
public final class Config {
    /** The default PATH Docker gives a container. */
    public static final String DEFAULT_PATH = "PATH=" + jocker.kernel.Processes.DEFAULT_PATH;

    public String ociVersion = "1.2.0";
    public Process process = new Process();
    public Root root;
    public String hostname;
    public List<Mount> mounts = new ArrayList<>();
    public Linux linux = new Linux();
    /** Free-form facts about the container; we keep the runtime's own ("jocker.id", "jocker.image"). */
    public Map<String, String> annotations = new LinkedHashMap<>();

    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static final class Process {
        public boolean terminal;
        /** The command and its arguments; args[0] is looked up in the PATH of {@link #env}. */
        public List<String> args = new ArrayList<>();
        /** KEY=VALUE strings: the command's whole environment, nothing is inherited. */
        public List<String> env = new ArrayList<>();
        /** The working directory inside the container; empty keeps the runtime's own. */
        public String cwd;
        /** Who the command runs as; null: as the runtime itself (root). */
        public User user;
    }

    /**
     * {@code process.user} of the OCI runtime spec (config.md, "User", POSIX platforms): numeric ids
     * only. Names ({@code USER bob} in an image) are resolved to numbers in the container's own
     * /etc/passwd and /etc/group, which is the runtime's job before it writes these fields or, in
     * jocker, its init's job just before exec (see jocker.runtime.ProcessUser).
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static final class User {
        public int uid;
        public int gid;
        /** The file mode creation mask of the command; null keeps the runtime's own (usually 022). */
        public Integer umask;
        /** Supplementary groups, as setgroups(2) sets them; empty: none, not even the runtime's own. */
        public List<Integer> additionalGids = new ArrayList<>();

        public User() {}

        public User(int uid, int gid, List<Integer> additionalGids) {
            this.uid = uid;
            this.gid = gid;
            this.additionalGids = new ArrayList<>(additionalGids);
        }
    }

    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static final class Root {
        /** The container's root filesystem, an absolute path on the host. */
        public String path;
        public boolean readonly;
    }

    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static final class Mount {
        public String destination;
        public String type;
        public String source;
        public List<String> options = new ArrayList<>();

        public Mount() {}

        public Mount(String destination, String type, String source, List<String> options) {
            this.destination = destination;
            this.type = type;
            this.source = source;
            this.options = new ArrayList<>(options);
        }
    }

    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static final class Linux {
        /** One entry per namespace the container gets: {"type": "mount"}, {"type": "pid"}, ... */
        public List<Namespace> namespaces = new ArrayList<>();
        public Resources resources;
        public String cgroupsPath;
    }

    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static final class Namespace {
        /** "pid", "network", "mount", "ipc", "uts", "user" or "cgroup". */
        public String type;

        public Namespace() {}

        public Namespace(String type) { this.type = type; }
    }

    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static final class Resources {
        public Memory memory;
        public Cpu cpu;
        public Pids pids;
    }

    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static final class Memory {
        /** Bytes. */
        public Long limit;
        public Long swap;
    }

    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static final class Cpu {
        /** Microseconds of CPU time the container may use in each {@link #period}. */
        public Long quota;
        public Long period;
        public Long shares;
    }

    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static final class Pids {
        public Long limit;
    }

    /** Adds a namespace to {@code linux.namespaces} unless it is there already. */
    public Config withNamespace(String type) {
        if (linux.namespaces.stream().noneMatch(n -> n.type.equals(type))) {
            linux.namespaces.add(new Namespace(type));
        }
        return this;
    }

    public boolean hasNamespace(String type) {
        return linux.namespaces.stream().anyMatch(n -> n.type.equals(type));
    }

    /** The value of KEY in {@code process.env}, or null. */
    public String env(String key) {
        return process.env.stream().filter(e -> e.startsWith(key + "="))
                .map(e -> e.substring(key.length() + 1)).reduce((a, b) -> b).orElse(null);
    }

    /** Sets KEY=VALUE in {@code process.env}, replacing an earlier value of KEY. */
    public void setEnv(String keyValue) {
        String key = keyValue.contains("=") ? keyValue.substring(0, keyValue.indexOf('=')) : keyValue;
        process.env.removeIf(e -> e.equals(key) || e.startsWith(key + "="));
        process.env.add(keyValue);
    }

    /** Writes this config to {@code file}, atomically (see {@link Json}). */
    public void write(Path file) throws IOException { Json.write(file, this); }

    public static Config read(Path file) throws IOException { return Json.read(file, Config.class); }

    public String toJson() { return Json.text(this); }
}
