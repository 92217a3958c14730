//DEPS org.junit.platform:junit-platform-console-standalone:1.11.4
package jocker.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import jocker.runtime.ContainerError;

/** --platform parsing, this machine's platform, and matching an index entry as containerd does. */
class PlatformTest {

    private static Platform p(String text) { return Platform.parse(text); }

    private static Platform entry(String os, String arch, String variant) { return new Platform(os, arch, variant); }

    @Test
    void parsesOsArchAndVariant() {
        assertEquals(new Platform("linux", "amd64", null), p("linux/amd64"));
        assertEquals(new Platform("linux", "arm64", "v8"), p("linux/arm64/v8"));
        assertEquals(new Platform("linux", "arm64", null), p("Linux/AArch64"));
        assertEquals(new Platform("linux", "amd64", null), p("linux/x86_64"));
        assertEquals("linux/arm/v7", p("linux/arm/v7").toString());
        assertEquals("linux/amd64", p("linux/amd64").toString());
    }

    @Test
    void refusesOtherShapes() {
        for (String bad : new String[] {"", "linux", "linux/", "/amd64", "linux/amd64/v8/x", "linux/amd 64", "linux/amd64\n", "lin\u00fcx/amd64"}) {
            ContainerError e = assertThrows(ContainerError.class, () -> p(bad), bad);
            assertTrue(e.getMessage().startsWith("invalid platform"), e.getMessage());
        }
        assertThrows(ContainerError.class, () -> Platform.parse(null));
    }

    @Test
    void theJvmsArchitectureInGoNames() {
        assertEquals("amd64", Platform.goArch("amd64"));
        assertEquals("amd64", Platform.goArch("x86_64"));
        assertEquals("arm64", Platform.goArch("aarch64"));
        assertEquals("arm", Platform.goArch("arm"));
        assertEquals("386", Platform.goArch("x86"));
        assertEquals("386", Platform.goArch("i386"));
        assertEquals("ppc64le", Platform.goArch("ppc64le"));
        assertEquals("s390x", Platform.goArch("s390x"));
        assertEquals("riscv64", Platform.goArch("riscv64"));
        assertEquals("loong64", Platform.goArch("loongarch64"));
    }

    @Test
    void thisMachineIsLinuxOnItsOwnArchitecture() {
        Platform host = Platform.host();
        assertEquals("linux", host.os());
        String jvm = System.getProperty("os.arch");
        if (jvm.equals("amd64") || jvm.equals("x86_64")) assertEquals(new Platform("linux", "amd64", null), host);
        if (jvm.equals("aarch64")) assertEquals(new Platform("linux", "arm64", "v8"), host);
        assertTrue(host.matches(host));
        assertEquals(new Platform("linux", "amd64", null), Platform.forJvmArch("amd64"));
        assertEquals(new Platform("linux", "amd64", null), Platform.forJvmArch("x86_64"));
        assertEquals(new Platform("linux", "arm64", "v8"), Platform.forJvmArch("aarch64"));
        assertEquals(new Platform("linux", "arm", "v7"), Platform.forJvmArch("arm"));
        assertEquals(new Platform("linux", "riscv64", null), Platform.forJvmArch("riscv64"));
    }

    @Test
    void normalisesAsContainerdDoes() {
        assertEquals(entry("linux", "arm64", null), entry("linux", "aarch64", "v8").normalized());
        assertEquals(entry("linux", "arm64", null), entry("linux", "arm64", "8").normalized());
        assertEquals(entry("linux", "arm64", "v9"), entry("linux", "arm64", "9").normalized());
        assertEquals(entry("linux", "arm", "v7"), entry("linux", "arm", null).normalized());
        assertEquals(entry("linux", "arm", "v6"), entry("linux", "arm", "6").normalized());
        assertEquals(entry("linux", "arm", "v7"), entry("linux", "armhf", null).normalized());
        assertEquals(entry("linux", "arm", "v6"), entry("linux", "armel", null).normalized());
        assertEquals(entry("linux", "amd64", null), entry("Linux", "x86_64", "v1").normalized());
        assertEquals(entry("darwin", "arm64", null), entry("macos", "arm64", null).normalized());
    }

    @Test
    void osAndArchitectureMustMatch() {
        assertTrue(p("linux/amd64").matches(entry("linux", "amd64", null)));
        assertFalse(p("linux/amd64").matches(entry("linux", "arm64", null)));
        assertFalse(p("linux/amd64").matches(entry("windows", "amd64", null)));
        assertFalse(p("linux/amd64").matches(entry("unknown", "unknown", null)), "attestations match nothing");
        assertFalse(p("linux/amd64").matches(null));
        assertFalse(p("linux/amd64").matches(entry(null, null, null)));
        assertFalse(p("linux/arm/v7").matches(entry("linux", "arm64", null)), "no fallback across architectures");
    }

    @Test
    void theVariantMattersOnlyWhenAskedFor() {
        assertTrue(p("linux/arm64").matches(entry("linux", "arm64", "v8")));
        assertTrue(p("linux/arm64").matches(entry("linux", "arm64", null)));
        assertTrue(p("linux/arm64/v8").matches(entry("linux", "arm64", null)), "arm64 with no variant is v8");
        assertTrue(p("linux/arm64/v8").matches(entry("linux", "arm64", "v8")));
        assertFalse(p("linux/arm64/v8").matches(entry("linux", "arm64", "v9")));
        assertTrue(p("linux/arm/v7").matches(entry("linux", "arm", null)), "arm with no variant is v7");
        assertFalse(p("linux/arm/v7").matches(entry("linux", "arm", "v6")));
        assertFalse(p("linux/arm/v6").matches(entry("linux", "arm", "v7")));
        assertTrue(p("linux/amd64").matches(entry("linux", "amd64", "v3")));
        assertFalse(p("linux/amd64/v2").matches(entry("linux", "amd64", "v3")));
    }

    @Test
    void anExactVariantIsPreferred() {
        assertTrue(p("linux/amd64").matchesExactly(entry("linux", "amd64", null)));
        assertFalse(p("linux/amd64").matchesExactly(entry("linux", "amd64", "v3")));
        assertTrue(p("linux/arm64/v8").matchesExactly(entry("linux", "arm64", null)));
    }
}
