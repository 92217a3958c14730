package jocker.runtime;

/**
 * The runtime's own messages. They all go to stderr, so that stdout carries nothing but the
 * container's output; status lines appear only with {@code --verbose}.
 */
public final class Log {
    private Log() {}

    public static volatile boolean verbose;
    public static volatile boolean debug = "1".equals(System.getenv("JOCKER_DEBUG"));

    public static void verbose(String format, Object... args) {
        if (verbose) System.err.println("jocker: " + String.format(format, args));
    }

    public static void error(String format, Object... args) {
        System.err.println("jocker: " + oneLine(String.format(format, args)));
    }

    /** Longest error line we print: a hostile tar entry name may be thousands of characters. */
    public static final int MAX_LINE = 512;

    /**
     * An error stays one line, whatever it quotes: newlines and other control characters (a tar
     * entry named with terminal escape sequences, say) are shown escaped, never sent to the
     * terminal, and an overlong line is cut in the middle.
     */
    public static String oneLine(String text) {
        StringBuilder b = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\n') b.append("\\n");
            else if (c == '\t') b.append("\\t");
            else if (c < 0x20 || c == 0x7f) b.append(String.format("\\x%02x", (int) c));
            else b.append(c);
        }
        if (b.length() <= MAX_LINE) return b.toString();
        return b.substring(0, MAX_LINE / 2 - 3) + " ... " + b.substring(b.length() - MAX_LINE / 2 + 2);
    }

    /** With {@code --debug}, the stack trace behind a one-line error. */
    public static void debugTrace(Throwable t) {
        if (debug) t.printStackTrace();
    }

    /** The most useful one-line reason a throwable carries. */
    public static String reason(Throwable t) {
        if (t instanceof java.nio.file.NoSuchFileException e) return "no such file " + e.getFile();
        if (t instanceof java.nio.file.AccessDeniedException e) return "permission denied: " + e.getFile();
        if (t instanceof java.nio.file.FileAlreadyExistsException e) return "file exists: " + e.getFile();
        String m = t.getMessage();
        return m == null || m.isBlank() ? t.getClass().getSimpleName() : m;
    }
}
