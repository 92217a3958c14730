package jocker.runtime;

import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import jocker.kernel.Linux;
import jocker.kernel.Processes;
import jocker.kernel.Trees;
import jocker.oci.Config;
import jocker.oci.State;

/**
 * One container and its lifecycle, split as the OCI runtime spec splits it
 * (https://github.com/opencontainers/runtime-spec/blob/main/runtime.md#lifecycle):
 *
 * <pre>
 *   create   make the container directory, prepare every feature, spawn init into the
 *            namespaces of linux.namespaces, READY, attach every feature       -> created
 *            (init now waits at the sync point: nothing of the user's has run yet)
 *   start    GO: init enters every feature and execs the command             -> running
 *   waitForExit   until the command ends; every feature looks at how         -> stopped
 *   kill     a signal to the container's process
 *   delete   release every feature, in reverse, and remove the directory
 * </pre>
 *
 * {@code run} in the foreground is create, start, waitForExit and delete (see ContainerRuntime).
 * The container's features are made once, by create, and that one set of instances serves every
 * point until delete. Its directory under the state root holds what another process needs:
 * <pre>
 * /var/lib/jocker/                ($JOCKER_ROOT)
 *   containers/ID/config.json     the OCI config the init process reads
 *   containers/ID/state.json      the OCI state: status, init's pid, the owner (this runtime)
 *   containers/ID/undo.json       what was made outside the directory, to sweep after a SIGKILL
 *   containers/ID/rootfs/         the container's root filesystem (step 02 on)
 * </pre>
 */
public final class Container {
    public final String id;
    public final Path dir;
    public final Config config;

    private final ContainerRuntime runtime;
    private final List<Feature> features;
    private final List<Feature> prepared = new ArrayList<>();
    private final UndoLog undo;
    private final State state = new State();
    private volatile InitProcess init;
    private volatile boolean reaped;

    /** What the caller of create hears of while it works (the runtime's signal handling). */
    public interface Progress {
        /** The container has its id and directory; nothing is prepared yet. */
        default void named(Container container) {}

        /** After each feature's prepare: throw to stop creating (a signal came). */
        default void prepared(Container container) {}

        /** The init process exists: signals may go to it from now on. */
        default void spawned(Container container, int pid) {}
    }

    private Container(String id, Path dir, Config config, ContainerRuntime runtime, UndoLog undo) {
        this.id = id;
        this.dir = dir;
        this.config = config;
        this.runtime = runtime;
        this.features = List.copyOf(runtime.features());
        this.undo = undo;
    }

    /** The state root: {@code $JOCKER_ROOT}, else {@code /var/lib/jocker}. */
    public static Path stateRoot() {
        String root = System.getenv("JOCKER_ROOT");
        return Path.of(root == null || root.isBlank() ? "/var/lib/jocker" : root).toAbsolutePath().normalize();
    }

    public static Path containersDir() { return stateRoot().resolve("containers"); }

    /** The first 12 hex digits of the id, as Docker shows it. */
    public String shortId() { return id.substring(0, 12); }

    public Path configFile() { return dir.resolve("config.json"); }

    public Path stateFile() { return dir.resolve("state.json"); }

    public Path rootfs() { return dir.resolve("rootfs"); }

    /** Where to write down what the container makes outside its directory, before making it. */
    public UndoLog undo() { return undo; }

    /** The OCI status: creating, created, running or stopped. */
    public String status() { return state.status; }

    /** The init process's pid (the user's command's, once started), as the host sees it. */
    public int pid() { return state.pid; }

    @Override public String toString() { return shortId(); }

    // ------------------------------------------------------------------------------------------
    // create
    // ------------------------------------------------------------------------------------------

    /**
     * Creates a container from {@code config} with the features of {@code runtime}: everything up
     * to the point where its init process waits for {@link #start}. On failure everything made so
     * far is undone and the error is thrown.
     */
    public static Container create(Config config, ContainerRuntime runtime, Progress progress) throws Exception {
        Container c = makeDirectory(config, runtime);
        try {
            progress.named(c);
            c.prepareAndSpawn(progress);
            return c;
        } catch (Exception | Error e) {
            c.delete();
            throw e;
        }
    }

    /** A fresh directory with a new random id, like Docker's 64 hex digits, and state "creating". */
    private static Container makeDirectory(Config config, ContainerRuntime runtime) throws IOException {
        // 32 bytes from the kernel's random source, as Docker takes them (Go's crypto/rand).
        // SecureRandom reads the same device, after loading the JDK's security providers first.
        byte[] random = new byte[32];
        try (InputStream in = new FileInputStream("/dev/urandom")) {
            if (in.readNBytes(random, 0, random.length) != random.length) throw new IOException("short read from /dev/urandom");
        }
        String id = HexFormat.of().formatHex(random);
        Path dir = containersDir().resolve(id);
        Container c;
        try {
            Files.createDirectories(dir.getParent());
            Files.createDirectory(dir);
            config.annotations.put("jocker.id", id);
            c = new Container(id, dir, config, runtime, UndoLog.create(dir));
            c.state.id = id;
            c.state.bundle = dir.toString();
            long me = ProcessHandle.current().pid();
            c.state.owner = new State.Owner(me, Processes.startTime(me).orElse(0L));
            c.setStatus("creating");
        } catch (IOException e) {
            throw new ContainerError("failed to create the container directory " + dir + ": " + Log.reason(e), e);
        }
        return c;
    }

    private void prepareAndSpawn(Progress progress) throws Exception {
        // config.json is on disk from the start and after every feature's prepare: the init
        // process reads it once it is spawned.
        config.write(configFile());
        for (Feature f : features) {
            prepared.add(f);
            try {
                f.prepare(this);
            } finally {
                config.write(configFile());
            }
            progress.prepared(this);
        }
        init = InitProcess.start(initCommand(), initEnvironment(), Namespaces.atSpawn(config));
        state.pid = init.pid;
        setStatus("creating");
        Log.verbose("container %s: init process is pid %d", shortId(), init.pid);
        progress.spawned(this, init.pid);

        // tag::handshake-create[]
        InitPipe.Received r = init.pipe.expect(InitPipe.Message.READY);
        if (r.message() == InitPipe.Message.EOF) throw diedBeforeReady();
        if (r.message() == InitPipe.Message.FAILED) throw new ContainerError(r.exitCode(), r.text(), null);
        for (Feature f : features) f.attach(this, init.pid);
        // end::handshake-create[]
        setStatus("created");
    }

    /**
     * Init died before it could say anything: killed (by a signal we forwarded, say), or the JVM
     * could not start, in which case it has printed why.
     */
    private ContainerError diedBeforeReady() {
        Linux.WaitStatus status = Linux.waitpid(init.pid, 0);
        markReaped();
        // A JVM that a signal stops exits 128+N itself: that is a signal too.
        int code = status.signaled() ? 128 + status.termSignal()
                : status.exitStatus() > 128 ? status.exitStatus() : ContainerError.RUNTIME;
        return new ContainerError(code, "failed to start container " + shortId() + ": the init process "
                + (status.signaled() ? "was killed by signal " + status.termSignal() : "exited with " + status.exitStatus())
                + " before it was ready", null);
    }

    // ------------------------------------------------------------------------------------------
    // start, wait, kill
    // ------------------------------------------------------------------------------------------

    /** Lets init go on: it enters every feature and execs the command. Returns once exec worked. */
    public void start() throws IOException {
        requireStatus("created", "start");
        // tag::handshake-start[]
        init.pipe.send(InitPipe.Message.GO);
        InitPipe.Received r = init.pipe.receive();   // end of file: a successful execve closed it
        if (r.message() == InitPipe.Message.FAILED) throw new ContainerError(r.exitCode(), r.text(), null);
        // end::handshake-start[]
        setStatus("running");
        Log.verbose("container %s: running %s", shortId(), config.process.args);
    }

    /** Waits until the command has ended and returns run's exit code (step 01's waitForExit). */
    public int waitForExit() throws IOException {
        requireStatus("running", "wait for");
        int exitCode = runtime.waitForExit(init.pid);
        markReaped();
        setStatus("stopped");
        Log.verbose("container %s: exited with %d", shortId(), exitCode);
        for (Feature f : prepared) {
            try {
                f.exited(this, exitCode);
            } catch (Exception e) {
                Log.error("failed to inspect %s of container %s: %s",
                        f.getClass().getSimpleName(), shortId(), Log.reason(e));
            }
        }
        return exitCode;
    }

    /** Sends {@code signal} to the container's process, if it still runs. */
    public void kill(int signal) {
        if (init != null && !reaped) Processes.signalIfAlive(init.pid, signal);
    }

    // ------------------------------------------------------------------------------------------
    // delete
    // ------------------------------------------------------------------------------------------

    /**
     * Stops what is left of the container (SIGKILL to a process that still runs), releases every
     * prepared feature in reverse order and deletes the directory. Failures are reported, and the
     * rest is still released.
     */
    public void delete() {
        if (init != null) {
            if (!reaped) {
                init.killAndReap();
                markReaped();
            }
            init.pipe.close();
        }
        for (int i = prepared.size() - 1; i >= 0; i--) {
            try {
                prepared.get(i).release(this);
            } catch (Exception e) {
                Log.error("failed to release %s of container %s: %s",
                        prepared.get(i).getClass().getSimpleName(), shortId(), Log.reason(e));
            }
        }
        prepared.clear();
        try {
            Trees.delete(dir);
        } catch (Exception e) {
            Log.error("failed to remove %s: %s", dir, Log.reason(e));
        }
    }

    private void markReaped() {
        reaped = true;
        init.reaped();
    }

    private void requireStatus(String expected, String verb) {
        if (!expected.equals(state.status)) {
            throw new ContainerError("cannot " + verb + " container " + shortId() + ": it is " + state.status
                    + ", not " + expected);
        }
    }

    private void setStatus(String status) throws IOException {
        state.status = status;
        state.write(stateFile());
    }

    // ------------------------------------------------------------------------------------------
    // The init process's command line
    // ------------------------------------------------------------------------------------------

    /**
     * The second stage: {@code java <same classpath> <this step's class> init config.json}. The
     * flags make a small JVM start fast (C1 only, with one compiler thread: a JVM that lives half
     * a second gains nothing from a second one on a busy 2-core machine; serial GC) and keep it
     * from writing /tmp/hsperfdata files, which would collide between containers that all have
     * pid 1. The class-data archive this runtime JVM was started with (JBang's //CDS, made static
     * by setup with the classes of both JVMs) serves the init JVM as well: same classpath; a stale
     * one is ignored (-Xshare:auto).
     */
    private List<String> initCommand() {
        ProcessHandle.Info self = ProcessHandle.current().info();
        String java = self.command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> command = new ArrayList<>(List.of(java, "-XX:TieredStopAtLevel=1", "-XX:CICompilerCount=1",
                "-XX:+UseSerialGC", "-XX:-UsePerfData", "-Xshare:auto", "-Xlog:cds=off", "-Xlog:cds+dynamic=off"));
        for (String arg : self.arguments().orElse(new String[0])) {
            if (arg.startsWith("-XX:SharedArchiveFile=")) command.add(arg);
        }
        command.addAll(List.of("-cp", System.getProperty("java.class.path"),
                runtime.getClass().getName(), "init", configFile().toString()));
        return command;
    }

    private static List<String> initEnvironment() {
        Map<String, String> env = new HashMap<>(System.getenv());
        if (Linux.tracing()) env.put("JOCKER_TRACE", "1");
        if (Log.debug) env.put("JOCKER_DEBUG", "1");
        return env.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList();
    }
}
