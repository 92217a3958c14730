package jocker.kernel;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * jffi's native stub (the small C library under jnr-ffi), loaded from a copy kept in a cache
 * instead of the copy jffi writes to /tmp at every start.
 *
 * <p>Why: without a library path, jffi copies {@code libjffi-1.2.so} out of its jar into a new
 * temporary file on each start (a random name, a write of ~140 kB, a delete on exit). A run of a
 * step starts two JVMs, and that copy cost each of them about a tenth of its CPU time. Here the
 * stub is copied once, to {@code ~/.cache/jocker/jffi/JAR/}, and jffi is pointed at it with its
 * own {@code jffi.boot.library.path} property. JAR is the name of the jar the stub comes from,
 * which names jffi's version, so a new jffi gets a directory of its own. The copy is written
 * to a temporary file and renamed, so a JVM never loads a half-written one.
 *
 * <p>Anything unexpected (no such resource in a future jffi, a home that cannot be written, a
 * property set by the user) leaves jffi to do what it always does: this only makes a start faster.
 */
final class NativeStub {
    private NativeStub() {}

    private static final String PROPERTY = "jffi.boot.library.path";
    private static final String LIBRARY = "libjffi-1.2.so";

    /** Points jffi at the cached stub, copying it there first if it is not there yet. */
    static void useCachedCopy() {
        if (System.getProperty(PROPERTY) != null) return;
        String arch = switch (System.getProperty("os.arch")) {
            case "amd64", "x86_64" -> "x86_64";
            case "aarch64" -> "aarch64";
            default -> null;
        };
        String home = System.getProperty("user.home");
        if (arch == null || home == null || home.isEmpty()) return;
        Path cache = Path.of(home, ".cache", "jocker", "jffi");
        // The copy made before, found by the native jar's name on the class path: looking the
        // resource up instead opens every jar before that one, ~2% of a run's CPU.
        String jar = nativeJar(System.getProperty("java.class.path", ""));
        if (jar != null && Files.isRegularFile(cache.resolve(jar).resolve(LIBRARY))) {
            System.setProperty(PROPERTY, cache.resolve(jar).toString());
            return;
        }
        URL stub = NativeStub.class.getClassLoader().getResource("jni/" + arch + "-Linux/" + LIBRARY);
        if (stub == null) return;
        try {
            System.setProperty(PROPERTY, cachedCopy(stub, cache).toString());
        } catch (IOException | RuntimeException e) {
            // jffi extracts it as usual
        }
    }

    /**
     * The file name of jffi's native jar ({@code jffi-1.3.13-native.jar}) on {@code classPath}, the
     * key {@link #key} gives a stub from it; null if there is none, or more than one.
     */
    static String nativeJar(String classPath) {
        String found = null;
        for (String entry : classPath.split(java.io.File.pathSeparator)) {
            String name = entry.substring(entry.lastIndexOf('/') + 1);
            if (name.startsWith("jffi-") && name.endsWith("-native.jar")) {
                if (found != null && !found.equals(name)) return null;
                found = name;
            }
        }
        return found;
    }

    /** The directory under {@code cache} that holds a copy of {@code stub}, made if missing. */
    static Path cachedCopy(URL stub, Path cache) throws IOException {
        Path dir = cache.resolve(key(stub.toString()));
        Path library = dir.resolve(LIBRARY);
        if (!Files.isRegularFile(library)) copy(stub, dir, library);
        return dir;
    }

    private static void copy(URL stub, Path dir, Path library) throws IOException {
        Files.createDirectories(dir);
        Path part = Files.createTempFile(dir, LIBRARY, ".part",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try {
            try (InputStream in = stub.openStream()) {
                Files.copy(in, part, StandardCopyOption.REPLACE_EXISTING);
            }
            try {
                Files.move(part, library, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(part, library, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(part);
        }
    }

    /**
     * The name of the jar the stub comes from ({@code jar:file:/.../jffi-1.3.13-native.jar!/jni/...}
     * gives {@code jffi-1.3.13-native.jar}), or a hash of the URL when it is not in a jar. (No
     * MessageDigest: loading the security providers would cost what this class saves.)
     */
    static String key(String source) {
        int end = source.indexOf("!/");
        if (source.startsWith("jar:") && end > 0) {
            String jar = source.substring(source.lastIndexOf('/', end) + 1, end);
            if (!jar.isEmpty() && !jar.startsWith(".")) return jar;
        }
        return Integer.toHexString(source.hashCode());
    }
}
