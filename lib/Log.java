/**
 * The runtime's own messages. They all go to stderr, so that stdout carries nothing but the
 * container's output; status lines appear only with {@code --verbose}.
 */
final class Log {
    private Log() {}

    static volatile boolean verbose;
    static volatile boolean debug = "1".equals(System.getenv("JOCKER_DEBUG"));

    static void verbose(String format, Object... args) {
        if (verbose) System.err.println("jocker: " + String.format(format, args));
    }

    static void error(String format, Object... args) {
        System.err.println("jocker: " + String.format(format, args));
    }

    /** With {@code --debug}, the stack trace behind a one-line error. */
    static void debugTrace(Throwable t) {
        if (debug) t.printStackTrace();
    }

    /** The most useful one-line reason a throwable carries. */
    static String reason(Throwable t) {
        if (t instanceof java.nio.file.NoSuchFileException e) return "no such file " + e.getFile();
        if (t instanceof java.nio.file.AccessDeniedException e) return "permission denied: " + e.getFile();
        if (t instanceof java.nio.file.FileAlreadyExistsException e) return "file exists: " + e.getFile();
        String m = t.getMessage();
        return m == null || m.isBlank() ? t.getClass().getSimpleName() : m;
    }
}
