package jocker.cli;

import java.nio.file.Path;

import jocker.kernel.Linux;
import jocker.oci.Config;
import jocker.oci.Json;
import jocker.oci.State;
import jocker.runtime.WarmsUp;

/**
 * The second core's share of a short-lived JVM's start. A run, and the init process it spawns,
 * each need slow things at first use: jnr-ffi binding libc (the {@link Linux} class, tens of
 * milliseconds of class loading and code generation) and the JSON binding learning the shape of
 * the config and the state (their first read or write, a few milliseconds of reflection; see
 * jocker.oci.JsonBinding). The main thread would meet them one after the other. Here a daemon
 * thread meets them first, while the main thread parses the command line (run) or binds libc
 * (init); the main thread then finds them ready, or waits on the class-initialisation lock for
 * what is still under way, never doing it twice.
 *
 * <p>Nothing here changes what a run does: if the warm-up fails, the main thread meets the same
 * failure itself, where it is reported as usual.
 */
final class Warmup {
    private Warmup() {}

    /** For {@code run}: libc first (the root check needs it), then the config and state's JSON. */
    static void forRun() {
        start(() -> {
            Linux.load();
            new Config().toJson();
            State state = new State();
            state.owner = new State.Owner();
            Json.text(state);
        });
    }

    /** For {@code init}: the config's JSON, by reading the very file init reads next. */
    static void forInit(Path configFile) {
        start(() -> Config.read(configFile));
    }

    /** For a command of a later step that says what it will need (step 06's pull). */
    static void forCommand(WarmsUp command, String[] args) {
        start(() -> command.warmUp(args));
    }

    private interface Work {
        void run() throws Exception;
    }

    private static void start(Work work) {
        Thread t = new Thread(() -> {
            try {
                work.run();
            } catch (Exception | LinkageError e) {
                // the main thread will meet it and say so
            }
        }, "warmup");
        t.setDaemon(true);
        t.start();
    }
}
