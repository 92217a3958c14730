//DEPS org.junit.platform:junit-platform-console-standalone:1.11.4
package jocker.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** jffi's stub, copied once into a cache directory named after its jar, whole or not at all. */
class NativeStubTest {

    @Test
    void theCacheIsNamedAfterTheJarThatHoldsTheStub() {
        assertEquals("jffi-1.3.13-native.jar",
                NativeStub.key("jar:file:/root/.m2/repository/com/github/jnr/jffi/1.3.13/jffi-1.3.13-native.jar!/jni/x86_64-Linux/libjffi-1.2.so"));
        assertEquals("jffi-1.4.0-native.jar", NativeStub.key("jar:file:/x/jffi-1.4.0-native.jar!/jni/aarch64-Linux/libjffi-1.2.so"));
    }

    @Test
    void theNativeJarIsFoundOnTheClassPathByTheSameName() {
        String jar = "/root/.m2/repository/com/github/jnr/jffi/1.3.13/jffi-1.3.13-native.jar";
        assertEquals(NativeStub.key("jar:file:" + jar + "!/jni/x86_64-Linux/libjffi-1.2.so"),
                NativeStub.nativeJar("/a/app.jar:/x/jffi-1.3.13.jar:" + jar + ":/y/okio.jar"));
        assertNull(NativeStub.nativeJar("/a/app.jar:/x/jffi-1.3.13.jar"), "no native jar: look the resource up");
        assertNull(NativeStub.nativeJar("/a/jffi-1.3.13-native.jar:/b/jffi-1.4.0-native.jar"), "two: which one wins is the class loader's");
        assertNull(NativeStub.nativeJar(""));
    }

    @Test
    void aStubOutsideAJarGetsAHashNotAPath() {
        String key = NativeStub.key("file:/opt/jni/x86_64-Linux/libjffi-1.2.so");
        assertTrue(key.matches("[0-9a-f]+"), key);
        assertNotEquals(key, NativeStub.key("file:/opt/other/x86_64-Linux/libjffi-1.2.so"));
        assertTrue(NativeStub.key("jar:file:/x/..!/jni/libjffi-1.2.so").matches("[0-9a-f]+"), "a jar named .. is not a directory name");
    }

    @Test
    void theStubIsCopiedOnceAndNoPartialFileIsLeft(@TempDir Path tmp) throws Exception {
        Path source = tmp.resolve("src/libjffi-1.2.so");
        Files.createDirectories(source.getParent());
        byte[] bytes = new byte[150_000];
        for (int i = 0; i < bytes.length; i++) bytes[i] = (byte) (i * 31);
        Files.write(source, bytes);
        Path cache = tmp.resolve("cache");

        Path dir = NativeStub.cachedCopy(source.toUri().toURL(), cache);
        Path copy = dir.resolve("libjffi-1.2.so");
        assertArrayEquals(bytes, Files.readAllBytes(copy));
        assertEquals(cache, dir.getParent());
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(copy), s.toList(), "only the library, no .part file");
        }

        // A second start finds it and does not write it again.
        FileTime old = FileTime.fromMillis(1_000_000_000_000L);
        Files.setLastModifiedTime(copy, old);
        assertEquals(dir, NativeStub.cachedCopy(source.toUri().toURL(), cache));
        assertEquals(old, Files.getLastModifiedTime(copy));
    }
}
