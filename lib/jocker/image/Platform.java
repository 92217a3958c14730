//DEPS com.fasterxml.jackson.core:jackson-databind:2.18.2
package jocker.image;

import java.util.Locale;
import java.util.regex.Pattern;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;

import jocker.runtime.ContainerError;

/**
 * The platform an image is built for: operating system, CPU architecture and, for ARM, the
 * architecture's variant, in Go's names (GOOS/GOARCH), as an image index lists them (OCI image
 * spec, image-index.md, "platform"; the variants are listed there too). This is also the JSON shape
 * of a descriptor's {@code platform} (os.version and os.features, Windows-only, are ignored).
 * <p>
 * Matching follows containerd (containerd/platforms: Normalize and the default matcher), which
 * is what {@code docker pull} uses: both sides are normalised first ({@code aarch64} is
 * {@code arm64}, {@code x86_64} is {@code amd64}, arm64's {@code v8} is the same as no variant, a
 * bare {@code arm} is {@code arm/v7}); the variant must match only when one was asked for.
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
@JsonIgnoreProperties(ignoreUnknown = true)
public record Platform(String os, String architecture, String variant) {
    private static final Pattern COMPONENT = Pattern.compile("[A-Za-z0-9_.-]+");

    /** Parses {@code os/arch[/variant]}, as {@code --platform} takes it: {@code linux/arm64/v8}. */
    public static Platform parse(String text) {
        String[] parts = text == null ? new String[0] : text.split("/", -1);
        if (parts.length < 2 || parts.length > 3) {
            throw new ContainerError("invalid platform \"" + Digest.clip(String.valueOf(text)) + "\": want os/arch[/variant]");
        }
        for (String part : parts) {
            if (!COMPONENT.matcher(part).matches()) {
                throw new ContainerError("invalid platform \"" + Digest.clip(text) + "\": \"" + Digest.clip(part)
                        + "\" is not one of [A-Za-z0-9_.-]+");
            }
        }
        return new Platform(parts[0].toLowerCase(Locale.ROOT), goArch(parts[1]),
                parts.length == 3 ? parts[2].toLowerCase(Locale.ROOT) : null);
    }

    /** This machine's platform: linux and the JVM's architecture, in Go's naming. */
    public static Platform host() { return forJvmArch(System.getProperty("os.arch")); }

    /** The platform of a Linux machine whose JVM says {@code os.arch} is {@code jvmArch}. */
    static Platform forJvmArch(String jvmArch) {
        String arch = goArch(jvmArch);
        String variant = switch (arch) {
            case "arm64" -> "v8";   // what containerd's DefaultSpec reports on arm64
            case "arm" -> "v7";     // a 32-bit JVM on ARM: v7 (armhf) is all Debian still ships
            default -> null;
        };
        return new Platform("linux", arch, variant);
    }

    /**
     * Go's GOARCH for a JVM's {@code os.arch} (or a user's spelling): amd64 for amd64/x86_64,
     * arm64 for aarch64, 386 for x86, the rest as the JVM names them.
     */
    static String goArch(String arch) {
        String a = arch.toLowerCase(Locale.ROOT);
        return switch (a) {
            case "amd64", "x86_64", "x86-64" -> "amd64";
            case "aarch64", "arm64" -> "arm64";
            case "x86", "i386", "i486", "i586", "i686" -> "386";
            case "arm", "armhf", "armel", "armv7l", "aarch32" -> "arm";
            case "loongarch64" -> "loong64";
            case "mips64el" -> "mips64le";
            default -> a;
        };
    }

    /**
     * containerd's normal form: the OS in lower case ({@code macos} is {@code darwin}), the Go
     * architecture, and the variant that architecture implies: arm64 v8 (or 8, v8.0) is no
     * variant, amd64 v1 is no variant, arm with no variant is v7, arm 5/6/7/8 are v5/v6/v7/v8.
     */
    public Platform normalized() {
        String o = os == null ? "" : os.toLowerCase(Locale.ROOT);
        if (o.equals("macos")) o = "darwin";
        String a = architecture == null ? "" : architecture.toLowerCase(Locale.ROOT);
        String v = variant == null ? "" : variant.toLowerCase(Locale.ROOT);
        if (a.equals("armhf")) v = "v7";
        if (a.equals("armel")) v = "v6";
        a = goArch(a);
        switch (a) {
            case "arm64":
                if (v.equals("8") || v.equals("v8") || v.equals("v8.0")) v = "";
                else if (v.equals("9") || v.equals("9.0") || v.equals("v9.0")) v = "v9";
                break;
            case "amd64":
                if (v.equals("v1")) v = "";
                break;
            case "arm":
                if (v.isEmpty() || v.equals("7")) v = "v7";
                else if (v.equals("5") || v.equals("6") || v.equals("8")) v = "v" + v;
                break;
            default:
        }
        return new Platform(o, a, v.isEmpty() ? null : v);
    }

    /**
     * Whether an image built for {@code candidate} (an index entry's platform) is one this
     * platform asked for: same OS and architecture after normalisation, and the same variant if
     * this platform names one (linux/arm64 matches arm64/v8 and plain arm64; linux/arm64/v8 does not
     * match arm64/v9).
     */
    public boolean matches(Platform candidate) {
        if (candidate == null) return false;
        Platform want = normalized();
        Platform have = candidate.normalized();
        if (!want.os.equals(have.os) || !want.architecture.equals(have.architecture)) return false;
        boolean asked = variant != null && !variant.isEmpty();
        return !asked || java.util.Objects.equals(want.variant, have.variant);
    }

    /**
     * Whether {@code candidate} matches with exactly the variant this platform normalises to (none
     * for none): when several entries match, this is the one to prefer (linux/amd64 prefers
     * amd64 over amd64/v3, which this CPU may lack).
     */
    public boolean matchesExactly(Platform candidate) {
        return matches(candidate) && java.util.Objects.equals(normalized().variant, candidate.normalized().variant);
    }

    /** {@code linux/arm64/v8}, as --platform takes it and Docker prints it. */
    @Override
    public String toString() {
        return os + "/" + architecture + (variant == null || variant.isEmpty() ? "" : "/" + variant);
    }
}
