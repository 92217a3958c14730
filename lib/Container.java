import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * One container as the runtime sees it: an id, a directory under the state root that holds its
 * config.json (and, from step 02, its rootfs), and the config itself.
 *
 * <p>The state root is {@code /var/lib/jocker}, or {@code $JOCKER_ROOT}:
 * <pre>
 * /var/lib/jocker/
 *   images/busybox.tar          rootfs tarballs by name (steps 02-05); OCI images from step 06
 *   containers/ID/config.json   the OCI-shaped config the init process reads
 *   containers/ID/rootfs/       the container's root filesystem (step 02 on)
 *   containers/ID/runtime.pid   the pid of the runtime that owns it, to sweep leftovers
 * </pre>
 */
final class Container {
    final String id;
    final Path dir;
    final Config config;

    private Container(String id, Path dir, Config config) {
        this.id = id;
        this.dir = dir;
        this.config = config;
    }

    /** The state root: {@code $JOCKER_ROOT}, else {@code /var/lib/jocker}. */
    static Path stateRoot() {
        String root = System.getenv("JOCKER_ROOT");
        return Path.of(root == null || root.isBlank() ? "/var/lib/jocker" : root).toAbsolutePath();
    }

    static Path containersDir() { return stateRoot().resolve("containers"); }

    /** Makes a fresh container directory with a new random id, like Docker's 64 hex digits. */
    static Container create(Config config) throws IOException {
        byte[] random = new byte[32];
        new SecureRandom().nextBytes(random);
        String id = HexFormat.of().formatHex(random);
        Path dir = containersDir().resolve(id);
        try {
            Files.createDirectories(dir.getParent());
            Files.createDirectory(dir);
            Files.writeString(dir.resolve("runtime.pid"), Long.toString(ProcessHandle.current().pid()));
        } catch (IOException e) {
            throw new ContainerError("failed to create the container directory " + dir + ": " + Log.reason(e), e);
        }
        config.annotations.put("jocker.id", id);
        return new Container(id, dir, config);
    }

    /** A container directory found on disk, e.g. the leftovers of a killed runtime. */
    static Container existing(String id, Path dir, Config config) {
        return new Container(id, dir, config);
    }

    /** The first 12 hex digits of the id, as Docker shows it. */
    String shortId() { return id.substring(0, 12); }

    Path configFile() { return dir.resolve("config.json"); }

    Path rootfs() { return dir.resolve("rootfs"); }

    @Override public String toString() { return shortId(); }
}
