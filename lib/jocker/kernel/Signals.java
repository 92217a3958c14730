package jocker.kernel;

import java.util.List;
import java.util.function.IntConsumer;

/**
 * Catching signals in a JVM: the one place that installs handlers, used by the runtime (which
 * passes SIGINT, SIGTERM and SIGHUP on to its container) and by {@code --init}'s reaper (which
 * passes them on to the command).
 */
public final class Signals {
    private Signals() {}

    /** The signals {@code docker run} passes on to its container. */
    public static final List<String> FORWARDED = List.of("INT", "TERM", "HUP");

    /**
     * Calls {@code handler} with the signal's number whenever one of {@code names} arrives. A
     * signal the JVM keeps for itself, or one that was ignored when the JVM started (nohup, a
     * background job of a shell), is left alone: sun.misc.Signal refuses it, and it stays as it was.
     */
    // sun.misc.Signal is the JDK's only way to catch a signal (built with -XDignore.symbol.file)
    public static void handle(List<String> names, IntConsumer handler) {
        for (String name : names) {
            try {
                sun.misc.Signal.handle(new sun.misc.Signal(name), s -> handler.accept(s.getNumber()));
            } catch (IllegalArgumentException keptAsItWas) {
                // the JVM uses it, or it was ignored when we started
            }
        }
    }

    /** Passes every signal of {@code names} on to {@code pid}, if it is still there. */
    public static void forward(List<String> names, int pid) {
        handle(names, signal -> Processes.signalIfAlive(pid, signal));
    }
}
