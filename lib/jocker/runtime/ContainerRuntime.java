package jocker.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import jocker.kernel.Linux;
import jocker.kernel.Processes;
import jocker.kernel.Signals;
import jocker.oci.Config;

/**
 * What every step is: a container runtime made of a command line, a list of features and the two
 * acts at the heart of it, which step 01 supplies: {@link #exec} in the container's init process
 * and {@link #waitForExit} in the runtime. A step is a subclass that adds its features and options.
 *
 * <pre>
 *   runtime: run(config)                          init(config.json)
 *     sweep the leftovers of killed runtimes
 *     create: prepare every feature
 *             spawn init in linux.namespaces  --> READY
 *             attach every feature (init waits)
 *     start:  GO ---------------------------->    enter every feature
 *                                                 exec(process)          step 01
 *     waitForExit(pid)            step 01
 *     delete: release every feature, in reverse
 * </pre>
 */
public abstract class ContainerRuntime {

    /**
     * The features of one container, in the order they act; a step adds to its predecessor's.
     * Called once per container: the instances it returns serve that container from prepare to
     * release (and once more in its init process, for enter).
     */
    public abstract List<Feature> features();

    /** The positional arguments of {@code run}: the command (step 01), or IMAGE COMMAND (step 02 on). */
    public abstract ConfigOption arguments();

    /** The options of {@code run}, each a picocli mixin that writes its part of the config. */
    public abstract List<ConfigOption> options();

    /**
     * Commands besides {@code run} (step 06: pull, images, rmi, login, logout): picocli command
     * objects, added as subcommands of the step's command line.
     */
    public List<Object> commands() { return List.of(); }

    /** In the init process: replace this process with the user's command. Does not return. */
    public abstract void exec(Config.Process process);

    /** In the runtime: wait for the init process to end; return run's exit code, the shell's way. */
    public abstract int waitForExit(int pid);

    /** Helper for steps: {@code list} with {@code more} appended. */
    @SafeVarargs
    public static <T> List<T> plus(List<T> list, T... more) {
        List<T> all = new ArrayList<>(list);
        all.addAll(List.of(more));
        return all;
    }

    // ------------------------------------------------------------------------------------------
    // The runtime's side
    // ------------------------------------------------------------------------------------------

    /** The container being created, once it has an id. */
    private volatile Container creating;
    /** The container that signals go to, once its init process exists. */
    private volatile Container signalTarget;
    /** A signal that came before there was an init process to pass it to. */
    private volatile int pendingSignal;

    /** Runs one container in the foreground: create, start, wait, delete. Returns run's exit code. */
    public final int run(Config config) throws Exception {
        handleSignals();
        Leftovers.sweep();
        Container container;
        try {
            container = Container.create(config, this, new Container.Progress() {
                @Override public void named(Container c) { creating = c; }

                @Override public void prepared(Container c) { stopIfSignalled(c); }

                @Override public void spawned(Container c, int pid) { forwardSignalsTo(c); }
            });
        } catch (Exception e) {
            // An interrupted write shows up as some I/O error: the signal is the real reason.
            boolean signalled = e instanceof ContainerError c && c.exitCode() > 128;
            if (signalTarget == null && pendingSignal != 0 && !signalled && creating != null) {
                stopIfSignalled(creating);
            }
            throw e;
        }
        try {
            container.start();
            return container.waitForExit();
        } finally {
            container.delete();
        }
    }

    /**
     * SIGINT, SIGTERM and SIGHUP sent to the runtime go on to the container's init, as with
     * {@code docker run}; what happens then is up to the container's PID 1. A signal that comes
     * while the container is still being prepared (a big image unpacking) interrupts the
     * preparation instead, so that the runtime cleans up and exits 128+N rather than dying with
     * a half-unpacked rootfs left on disk.
     */
    private void handleSignals() {
        Thread runner = Thread.currentThread();
        Signals.handle(Signals.FORWARDED, signal -> {
            Container target = signalTarget;
            if (target == null) {
                pendingSignal = signal;
                runner.interrupt();
            } else {
                target.kill(signal);
            }
        });
    }

    private void forwardSignalsTo(Container container) {
        signalTarget = container;
        Thread.interrupted();   // a signal forwarded from now on must not interrupt us
        int pending = pendingSignal;
        if (pending != 0) container.kill(pending);
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
    public final void init(Path configFile) {
        InitPipe pipe = InitPipe.ofInit();
        int exitCode;
        String message;
        try {
            // tag::init-side[]
            // If the runtime dies, we die too: the kernel sends SIGKILL (see InitProcess).
            Linux.prctl(Linux.PR_SET_PDEATHSIG, Linux.SIGKILL);
            Linux.SignalState signals = Linux.signalState();   // read now: /proc may be gone later
            Config config = Config.read(configFile);
            List<Feature> features = features();
            pipe.send(InitPipe.Message.READY);
            if (pipe.receive().message() != InitPipe.Message.GO) {
                System.exit(ContainerError.RUNTIME);   // the runtime is gone: nothing to report to
            }
            for (Feature f : features) f.enter(config);
            // The image's working directory and user (step 06), once the rootfs is entered.
            becomeProcess(config);
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

    /**
     * In the init process, after every feature has entered: the command's working directory (an
     * image's WorkingDir), made if missing as Docker does and entered while still root, as runc
     * does ("/" is where entering the rootfs left us); then the image's user, if it names one:
     * in the container's root, whose /etc/passwd names it, and last, once nothing needs root.
     */
    private static void becomeProcess(Config config) throws IOException {
        String cwd = config.process.cwd;
        if (cwd != null && !cwd.isEmpty() && !cwd.equals("/")) {
            Files.createDirectories(Path.of(cwd));
            Linux.chdir(cwd);
        }
        ProcessUser.apply(config);
        // Changing credentials clears the parent-death signal (the kernel's commit_creds): again.
        if (config.process.user != null) Linux.prctl(Linux.PR_SET_PDEATHSIG, Linux.SIGKILL);
    }

    /** Docker's wording for a command that cannot be run. */
    private static String execFailure(Linux.LinuxException e) {
        String call = e.call();
        String file = call.substring(call.indexOf('"') + 1, call.indexOf('"', call.indexOf('"') + 1));
        if (e.errno() == Linux.ENOENT && call.startsWith("execvpe")) {
            return notInPath(file);
        }
        return "failed to exec \"" + file + "\": " + e.reason().toLowerCase();
    }

    /** Docker's words for a command that no directory of the container's PATH holds. */
    private static String notInPath(String file) {
        return "failed to exec \"" + file + "\": executable file not found in $PATH";
    }

    /**
     * For a PID 1 that does not exec (step 04's --init): close the pipe to the runtime by hand,
     * which tells it, as a successful exec would, that the command runs.
     */
    public static void closeInitPipe() {
        Linux.close(InitPipe.CHILD_WRITE_FD);
        Linux.close(InitPipe.CHILD_READ_FD);
    }

    /** For a PID 1 that runs the command as its child: Processes.lookPath, as the container sees it. */
    public static String commandPath(Config.Process process) {
        String file = process.args.get(0);
        return Processes.lookPath(file, process.env).map(Path::toString).orElseThrow(() ->
                new ContainerError(ContainerError.NOT_FOUND, notInPath(file), null));
    }
}
