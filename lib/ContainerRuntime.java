import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The lifecycle every step shares: what {@code run} does in the runtime, and what {@code init}
 * does in the container's first process. A step is a subclass that adds its features and options;
 * step 01 supplies the two acts at the heart of it, {@link #waitForExit} and {@link #exec}.
 *
 * <pre>
 *   runtime: run(config)                        init(config.json)
 *     create the container directory
 *     prepare every feature
 *     spawn init in the features' namespaces --> READY
 *     attach every feature (init waits)
 *     GO ------------------------------------->  enter every feature
 *                                                 exec(process)          step 01
 *     waitForExit(pid)            step 01
 *     release every feature, in reverse
 *     delete the container directory
 * </pre>
 */
abstract class ContainerRuntime {

    /** The features of this step, in the order they act; a step adds to its predecessor's. */
    List<Feature> features() { return new ArrayList<>(); }

    /** The positional arguments of {@code run}: the command (step 01), or IMAGE COMMAND (step 02 on). */
    ConfigOption arguments() { return new RunOptions.CommandArgs(); }

    /** The options of {@code run}, each a picocli mixin that writes its part of the config. */
    List<ConfigOption> options() { return new ArrayList<>(List.of(new RunOptions.Env())); }

    /** In the init process: replace this process with the user's command. Does not return. */
    abstract void exec(Config.Process process);

    /** In the runtime: wait for the init process to end; return run's exit code, the shell's way. */
    abstract int waitForExit(int pid);

    /** Helper for steps: {@code list} with {@code more} appended. */
    @SafeVarargs
    static <T> List<T> plus(List<T> list, T... more) {
        List<T> all = new ArrayList<>(list);
        all.addAll(List.of(more));
        return all;
    }

    // ------------------------------------------------------------------------------------------
    // The runtime's side
    // ------------------------------------------------------------------------------------------

    /** Runs one container in the foreground; returns the exit code {@code run} should have. */
    final int run(Config config) throws Exception {
        handleSignals();
        Leftovers.sweep(this);
        Container container = Container.create(config);
        List<Feature> prepared = new ArrayList<>();
        InitProcess init = null;
        boolean reaped = false;
        try {
            // config.json is on disk from the start and after every feature's prepare: the init
            // process reads it, and a sweep after a SIGKILL finds in it what each feature made.
            container.config.write(container.configFile());
            int cloneFlags = 0;
            for (Feature f : features()) {
                prepared.add(f);
                try {
                    f.prepare(container);
                } finally {
                    container.config.write(container.configFile());
                }
                cloneFlags |= f.namespaces(container);
                stopIfSignalled(container);
            }
            init = InitProcess.start(initCommand(container), initEnvironment(), cloneFlags);
            Log.verbose("container %s: init process is pid %d", container.shortId(), init.pid);
            forwardSignalsTo(init.pid);

            // tag::handshake[]
            InitPipe.Received r = init.pipe.expect(InitPipe.Message.READY);
            if (r.message() == InitPipe.Message.EOF) {
                // It died before it could say anything: killed (by a signal we forwarded, say),
                // or the JVM could not start, in which case it has printed why.
                Linux.WaitStatus status = Linux.waitpid(init.pid, 0);
                reaped = true;
                init.reaped();
                // A JVM that a signal stops exits 128+N itself: that is a signal too.
                int code = status.signaled() ? 128 + status.termSignal()
                        : status.exitStatus() > 128 ? status.exitStatus() : ContainerError.RUNTIME;
                throw new ContainerError(code,
                        "failed to start container " + container.shortId()
                                + ": the init process " + (status.signaled() ? "was killed by signal "
                                + status.termSignal() : "exited with " + status.exitStatus())
                                + " before it was ready", null);
            }
            if (r.message() == InitPipe.Message.FAILED) throw new ContainerError(r.exitCode(), r.text(), null);
            for (Feature f : features()) f.attach(container, init.pid);
            init.pipe.send(InitPipe.Message.GO);

            r = init.pipe.receive();   // end of file: the pipe was closed by a successful execve
            if (r.message() == InitPipe.Message.FAILED) throw new ContainerError(r.exitCode(), r.text(), null);
            // end::handshake[]
            Log.verbose("container %s: running %s", container.shortId(), config.process.args);

            int exitCode = waitForExit(init.pid);
            reaped = true;
            init.reaped();
            Log.verbose("container %s: exited with %d", container.shortId(), exitCode);
            for (Feature f : prepared) {
                try {
                    f.exited(container, exitCode);
                } catch (Exception e) {
                    Log.error("failed to inspect %s of container %s: %s",
                            f.getClass().getSimpleName(), container.shortId(), Log.reason(e));
                }
            }
            return exitCode;
        } catch (Exception e) {
            // An interrupted write shows up as some I/O error: the signal is the real reason.
            if (init == null && pendingSignal != 0 && !(e instanceof ContainerError c && c.exitCode() > 128)) {
                stopIfSignalled(container);
            }
            throw e;
        } finally {
            if (init != null) {
                if (!reaped) init.killAndReap();
                init.pipe.close();
            }
            release(container, prepared);
        }
    }

    /** Undoes what {@code prepared} did, in reverse, and deletes the container's directory. */
    final void release(Container container, List<Feature> prepared) {
        for (int i = prepared.size() - 1; i >= 0; i--) {
            try {
                prepared.get(i).release(container);
            } catch (Exception e) {
                Log.error("failed to release %s of container %s: %s",
                        prepared.get(i).getClass().getSimpleName(), container.shortId(), Log.reason(e));
            }
        }
        try {
            RootfsTar.deleteTree(container.dir);
        } catch (Exception e) {
            Log.error("failed to remove %s: %s", container.dir, Log.reason(e));
        }
    }

    /**
     * The second stage: {@code java <same classpath> <this step's class> init config.json}. The
     * flags make a small JVM start fast (C1 only, serial GC) and keep it from writing
     * /tmp/hsperfdata files, which would collide between containers that all have pid 1.
     */
    private List<String> initCommand(Container container) {
        String java = ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        return List.of(java, "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-XX:-UsePerfData",
                "-Xshare:auto", "-cp", System.getProperty("java.class.path"),
                getClass().getName(), "init", container.configFile().toString());
    }

    private static List<String> initEnvironment() {
        Map<String, String> env = new HashMap<>(System.getenv());
        if (Linux.tracing()) env.put("JOCKER_TRACE", "1");
        if (Log.debug) env.put("JOCKER_DEBUG", "1");
        return env.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList();
    }

    /** The init process that signals go to, once there is one. */
    private volatile int signalTarget;
    /** A signal that came before there was an init process to pass it to. */
    private volatile int pendingSignal;

    /**
     * SIGINT, SIGTERM and SIGHUP sent to the runtime go on to the container's init, as with
     * {@code docker run}; what happens then is up to the container's PID 1. A signal that comes
     * while the container is still being prepared (a big image unpacking) interrupts the
     * preparation instead, so that the runtime cleans up and exits 128+N rather than dying with
     * a half-unpacked rootfs left on disk.
     */
    // sun.misc.Signal is the JDK's only way to catch a signal (built with -XDignore.symbol.file)
    private void handleSignals() {
        Thread runner = Thread.currentThread();
        for (String name : new String[] {"INT", "TERM", "HUP"}) {
            try {
                sun.misc.Signal.handle(new sun.misc.Signal(name), s -> {
                    int target = signalTarget;
                    if (target == 0) {
                        pendingSignal = s.getNumber();
                        runner.interrupt();
                    } else {
                        signalIfAlive(target, s.getNumber());
                    }
                });
            } catch (IllegalArgumentException ignoredByOurParent) {
                // The JVM leaves alone a signal that was ignored when it started (nohup, a
                // background job): then it stays ignored for us too.
            }
        }
    }

    private void forwardSignalsTo(int pid) {
        signalTarget = pid;
        Thread.interrupted();   // a signal forwarded from now on must not interrupt us
        int pending = pendingSignal;
        if (pending != 0) signalIfAlive(pid, pending);
    }

    private static void signalIfAlive(int pid, int signal) {
        try {
            Linux.kill(pid, signal);
        } catch (Linux.LinuxException gone) {
            // ESRCH: the container has exited already
        }
    }

    private void stopIfSignalled(Container container) {
        int pending = pendingSignal;
        if (pending != 0) {
            throw new ContainerError(128 + pending, "stopped by signal " + pending
                    + " while preparing container " + container.shortId(), null);
        }
    }

    // ------------------------------------------------------------------------------------------
    // The init process's side
    // ------------------------------------------------------------------------------------------

    /** Runs in the init process: wait for GO, enter every feature, exec. Never returns. */
    final void init(Path configFile) {
        InitPipe pipe = InitPipe.ofInit();
        int exitCode;
        String message;
        try {
            // tag::init-side[]
            // If the runtime dies, we die too: the kernel sends SIGKILL (see InitProcess).
            Linux.prctl(Linux.PR_SET_PDEATHSIG, Linux.SIGKILL);
            Linux.SignalState signals = Linux.signalState();   // read now: /proc may be gone later
            Config config = Config.read(configFile);
            pipe.send(InitPipe.Message.READY);
            if (pipe.receive().message() != InitPipe.Message.GO) {
                System.exit(ContainerError.RUNTIME);   // the runtime is gone: nothing to report to
            }
            for (Feature f : features()) f.enter(config);
            // Only stdin, stdout and stderr go on to the user's command; the pipe to the runtime
            // closes on exec, which is how the runtime learns that exec worked.
            Linux.closeOnExecFrom(3);
            // Ignored or blocked signals would stay so in the command: start it with the defaults.
            Linux.resetSignals(signals);
            exec(config.process);
            // end::init-side[]
            throw new ContainerError("exec returned without running " + config.process.args);
        } catch (Linux.LinuxException e) {
            exitCode = e.call().startsWith("exec") ? (e.errno() == Linux.ENOENT
                    ? ContainerError.NOT_FOUND : ContainerError.NOT_EXECUTABLE) : ContainerError.RUNTIME;
            message = exitCode == ContainerError.RUNTIME
                    ? "failed to set up the container: " + e.getMessage()
                    : execFailure(e);
            Log.debugTrace(e);
        } catch (ContainerError e) {
            exitCode = e.exitCode();
            message = e.getMessage();
            Log.debugTrace(e);
        } catch (Exception e) {
            exitCode = ContainerError.RUNTIME;
            message = "failed to set up the container: " + Log.reason(e);
            Log.debugTrace(e);
        }
        try {
            pipe.send(InitPipe.Message.FAILED, exitCode, message);
        } catch (RuntimeException runtimeGone) {
            Log.error("%s", message);
        }
        System.exit(exitCode);
    }

    /** Docker's wording for a command that cannot be run. */
    private static String execFailure(Linux.LinuxException e) {
        String call = e.call();
        String file = call.substring(call.indexOf('"') + 1, call.indexOf('"', call.indexOf('"') + 1));
        if (e.errno() == Linux.ENOENT && call.startsWith("execvpe")) {
            return "failed to exec \"" + file + "\": executable file not found in $PATH";
        }
        return "failed to exec \"" + file + "\": " + e.reason().toLowerCase();
    }
}
