package jocker.kernel;

/**
 * The one trace format, strace's: {@code [pid  4711] unshare(CLONE_NEWNS) = 0}. Every system call of
 * {@link Linux} and every cgroup file the runtime writes is traced through here, on both sides of
 * the two-stage process model, when {@code --trace} (or {@code JOCKER_TRACE=1}) is on.
 */
public final class Trace {
    private Trace() {}

    private static volatile boolean enabled = "1".equals(System.getenv("JOCKER_TRACE"));

    /** Turns tracing on; the init process inherits it through {@code JOCKER_TRACE=1}. */
    public static void enable() { enabled = true; }

    public static boolean enabled() { return enabled; }

    /** Prints {@code [pid N] call ...} for a call that does not return when it works (execve). */
    public static void pending(String call) {
        if (enabled) System.err.printf("[pid %5d] %s ...%n", ProcessHandle.current().pid(), call);
    }

    /** Prints {@code [pid N] call = result} on stderr, if tracing is on. */
    public static void line(String call, String result) {
        if (enabled) System.err.printf("[pid %5d] %s = %s%n", ProcessHandle.current().pid(), call, result);
    }
}
