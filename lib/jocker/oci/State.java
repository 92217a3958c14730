//DEPS com.fasterxml.jackson.core:jackson-databind:2.18.2
package jocker.oci;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * What a container is now: the OCI runtime spec's state
 * (https://github.com/opencontainers/runtime-spec/blob/main/runtime.md#state), as {@code runc state}
 * prints it, kept in {@code containers/ID/state.json} so that another process can read it.
 * <pre>
 *   creating   the runtime is preparing it (rootfs, cgroup) and starting its init process
 *   created    init runs in the container's namespaces and cgroup and waits for start
 *   running    init has exec'd the user's command
 *   stopped    the command has exited
 * </pre>
 * The spec allows more fields: {@link #owner} is ours, the process that holds the init process
 * and will clean up after it; if it is gone, the container is a leftover (see Leftovers).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public final class State {
    public String ociVersion = "1.2.0";
    public String id;
    public String status;
    /** The init process (later the user's command, same pid), as the host sees it; 0 before it exists. */
    public int pid;
    /** The container's directory: its config.json and rootfs. */
    public String bundle;
    public Map<String, String> annotations = new LinkedHashMap<>();
    /** The runtime process that owns the container: pid and start time (see jocker.kernel.Processes). */
    public Owner owner;

    public static final class Owner {
        public long pid;
        public long startTime;

        public Owner() {}

        public Owner(long pid, long startTime) {
            this.pid = pid;
            this.startTime = startTime;
        }
    }

    public void write(Path file) throws IOException { Json.write(file, this); }

    public static State read(Path file) throws IOException { return Json.read(file, State.class); }
}
