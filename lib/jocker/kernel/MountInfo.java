package jocker.kernel;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One line of {@code /proc/PID/mountinfo}: one mount of a mount namespace (man 5 proc,
 * "/proc/pid/mountinfo"). The one parser of that file, for the runtime and its checks alike.
 * <pre>
 * 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
 * (1)(2)(3)   (4)   (5)      (6)      (7)   (8) (9)   (10)         (11)
 * </pre>
 * (1) mount id, (2) parent id, (3) major:minor, (4) root of the mount within its filesystem,
 * (5) mount point, (6) per-mount options, (7) optional fields (shared:N, master:N) up to the
 * separator (8), (9) filesystem type, (10) source, (11) super options (a v1 cgroup's controllers).
 * Paths are escaped: a space is {@code \040}, a tab {@code \011}, a newline {@code \012}, a
 * backslash {@code \134}; {@link #unescape} undoes it.
 */
public record MountInfo(int id, int parent, String majorMinor, String root, String mountPoint, String options,
        List<String> optional, String fsType, String source, String superOptions) {

    /** The mounts this process sees, in the order the kernel lists them (parents before children). */
    public static List<MountInfo> read() {
        return read(Path.of("/proc/self/mountinfo"));
    }

    /** The mounts of a mountinfo file, e.g. /proc/PID/mountinfo of another process. */
    public static List<MountInfo> read(Path file) {
        try {
            return parse(Files.readAllLines(file));
        } catch (IOException e) {
            throw new UncheckedIOException("failed to read " + file + ": " + e.getMessage(), e);
        }
    }

    /** Parses mountinfo lines; a line that does not have the fields above is skipped. */
    public static List<MountInfo> parse(List<String> lines) {
        List<MountInfo> mounts = new ArrayList<>();
        for (String line : lines) {
            String[] halves = line.split(" - ", 2);
            if (halves.length < 2) continue;
            String[] left = halves[0].split(" ");
            String[] right = halves[1].split(" ");
            if (left.length < 6 || right.length < 3) continue;
            try {
                List<String> optional = left.length > 6 ? List.of(left).subList(6, left.length) : List.of();
                mounts.add(new MountInfo(Integer.parseInt(left[0]), Integer.parseInt(left[1]), left[2],
                        unescape(left[3]), unescape(left[4]), left[5], optional, right[0], unescape(right[1]),
                        right[2]));
            } catch (NumberFormatException e) {
                // not a mountinfo line
            }
        }
        return mounts;
    }

    private static final Pattern ESCAPE = Pattern.compile("\\\\([0-7]{3})");

    /** mountinfo writes a space as \040, a tab as \011, a newline as \012, a backslash as \134. */
    public static String unescape(String field) {
        Matcher m = ESCAPE.matcher(field);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            m.appendReplacement(out, Matcher.quoteReplacement(String.valueOf((char) Integer.parseInt(m.group(1), 8))));
        }
        m.appendTail(out);
        return out.toString();
    }

    /** Whether {@code path} is this mount's point or below it (a path, not a string prefix). */
    public boolean isAtOrBelow(Path path) {
        return Path.of(mountPoint).startsWith(path);
    }
}
