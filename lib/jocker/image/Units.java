package jocker.image;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.time.Duration;

/**
 * Sizes and ages the way the docker CLI prints them (github.com/docker/go-units: size.go and
 * duration.go), so that {@code images} reads like {@code docker images}: decimal units
 * ({@code 4.26MB} is 4 260 000 bytes, as registries and disks count, not MiB) and coarse ages
 * ({@code 2 years ago}, {@code About an hour ago}).
 */
public final class Units {
    private Units() {}

    private static final String[] DECIMAL = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};

    /**
     * {@code bytes} in decimal units with {@code digits} significant digits: docker images uses 3
     * ({@code 4.26MB}), the pull progress 4 ({@code 12.35MB}). Trailing zeros are dropped ({@code 2MB}),
     * as Go's %g does.
     */
    public static String humanSize(long bytes, int digits) {
        double size = bytes;
        int unit = 0;
        while (size >= 1000 && unit < DECIMAL.length - 1) {
            size /= 1000;
            unit++;
        }
        BigDecimal rounded = new BigDecimal(size).round(new MathContext(digits, RoundingMode.HALF_EVEN)).stripTrailingZeros();
        return rounded.toPlainString() + DECIMAL[unit];
    }

    /** {@code docker images}'s SIZE: three significant digits. */
    public static String humanSize(long bytes) { return humanSize(bytes, 3); }

    /** go-units' HumanDuration: how long ago, coarsely; {@code ago(d) + " ago"} is docker's CREATED. */
    public static String humanDuration(Duration d) {
        long seconds = d.getSeconds();
        if (seconds < 1) return "Less than a second";
        if (seconds == 1) return "1 second";
        if (seconds < 60) return seconds + " seconds";
        long minutes = d.toMinutes();
        if (minutes == 1) return "About a minute";
        if (minutes < 60) return minutes + " minutes";
        long hours = Math.round(d.toSeconds() / 3600.0);
        if (hours == 1) return "About an hour";
        if (hours < 48) return hours + " hours";
        if (hours < 24 * 7 * 2) return hours / 24 + " days";
        if (hours < 24 * 30 * 2) return hours / 24 / 7 + " weeks";
        if (hours < 24 * 365 * 2) return hours / 24 / 30 + " months";
        return d.toHours() / 24 / 365 + " years";
    }

    /** {@code 2 years ago}, or {@code N/A} for an image without a creation time. */
    public static String ago(java.time.Instant then, java.time.Instant now) {
        if (then == null) return "N/A";
        return humanDuration(Duration.between(then, now)) + " ago";
    }
}
