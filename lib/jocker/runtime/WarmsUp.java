package jocker.runtime;

/**
 * A command whose first run in a fresh JVM pays for slow first uses (an HTTP client, the JSON types
 * it reads, a native library) that need not wait for its command line to be parsed. The command
 * line calls {@link #warmUp} on a second thread as soon as it knows which command was asked for,
 * and parses meanwhile, so that on a machine with two cores the two overlap.
 */
public interface WarmsUp {
    /**
     * Makes the slow first uses the command will make, from {@code args} (the whole command line,
     * not yet parsed: guess, and guess safely). Must change nothing a user can see; a failure here
     * is ignored, since the command meets it again and reports it.
     */
    void warmUp(String[] args) throws Exception;
}
