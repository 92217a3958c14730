///usr/bin/env jbang "$0" "$@" ; exit $?
// Step 04 PID namespace: the container's command is PID 1 and sees only its own processes.
//
// Goal:  the init process is also born into new PID and IPC namespaces, so the user's command
//        is PID 1, ps lists only the container's processes, and the host's System V IPC objects
//        are out of sight. --init puts a small reaper in front of the command, as docker run --init.
// Usage: jbang steps/04_pid_ns.java run [-e KEY=VALUE]... [--hostname NAME] [--init] IMAGE COMMAND [ARG...]
// See:   chapters/04-pid-namespace.adoc
//
//   $ jbang steps/04_pid_ns.java run busybox sh -c 'sleep 10 & sleep 0.5; ps -o pid,comm; exit 0'
//   PID   COMMAND
//       1 sh
//      17 sleep
//      19 ps
//   (2 to 16 went to the threads of the JVM that was PID 1 before it exec'd sh)
//
//CDS
//SOURCES 03_mount_ns.java
//MAIN PidNs

import java.util.List;
import java.util.Map;

import jocker.cli.Cli;
import jocker.kernel.Linux;
import jocker.kernel.Signals;
import jocker.oci.Config;
import jocker.runtime.ConfigOption;
import jocker.runtime.Container;
import jocker.runtime.ContainerRuntime;
import jocker.runtime.Feature;
import jocker.runtime.Todo;

import picocli.CommandLine.Option;

/** Step 04: the container gets its own process ids and its own System V IPC objects. */
class PidNs extends MountNs {

    public static void main(String[] args) {
        System.exit(Cli.execute(new PidNs(), "04_pid_ns", args));
    }

    @Override
    public List<Feature> features() { return plus(super.features(), new PidNamespace(), new IpcNamespace()); }

    @Override
    public List<ConfigOption> options() { return plus(super.options(), new InitOption()); }

    /** Set in the init process when the container runs with --init (see PidNamespace.enter). */
    static volatile boolean withReaper;

    /** With --init, the init process stays as PID 1, a reaper, and runs the command as its child. */
    @Override
    public void exec(Config.Process process) {
        if (withReaper) System.exit(Reaper.run(process));
        super.exec(process);
    }

    /** The container's own process ids (man 7 pid_namespaces). */
    static class PidNamespace implements Feature {
        // tag::pid-flag[]
        @Override
        public void prepare(Container container) {
            // TODO(04.1): ask for a new PID namespace, so that the init process is born into it:
            //   add the type "pid" to the config's linux.namespaces
            //   (container.config.withNamespace(type)).
            //   The runtime turns that list into clone flags (jocker.runtime.Namespaces) and
            //   unshares them before it spawns init.
            //   HINT: man 7 pid_namespaces; the OCI runtime spec, config-linux.md, "Namespaces"
            //   QUESTION: unshare(2) with CLONE_NEWPID leaves the calling thread in its own PID
            //   namespace; which process becomes PID 1? And why does /proc have to be mounted by
            //   the init process (step 03 does), not by the runtime?
            throw Todo.missing("04.1", "give the container a PID namespace", "04-pid-namespace.adoc");
        }
        // end::pid-flag[]

        @Override
        public void enter(Config config) {
            withReaper = "true".equals(config.annotations.get("jocker.init"));
        }
    }

    /** The container's own System V IPC objects and POSIX message queues (man 7 ipc_namespaces). */
    static class IpcNamespace implements Feature {
        /** POSIX message queues live in a filesystem of their own, one per IPC namespace. */
        @Override
        public void prepare(Container container) {
            container.config.mounts.add(new Config.Mount("/dev/mqueue", "mqueue", "mqueue",
                    List.of("nosuid", "noexec", "nodev")));
            // tag::ipc-flag[]
            // TODO(04.2): ask for a new IPC namespace, the same way as for the PID namespace.
            //   HINT: man 7 ipc_namespaces; `ipcs` (util-linux) lists what the host has
            //   QUESTION: which objects does this hide, and why is /dev/mqueue (just above) a
            //   fresh mount rather than the host's?
            throw Todo.missing("04.2", "give the container an IPC namespace", "04-pid-namespace.adoc");
            // end::ipc-flag[]
        }
    }

    /** {@code --init}, as {@code docker run --init}. */
    static class InitOption implements ConfigOption {
        @Option(names = "--init", description = "Run a small init as PID 1 that forwards signals "
                + "to the command and reaps zombies (as docker run --init).")
        boolean init;

        @Override
        public void configure(Config config) {
            if (init) config.annotations.put("jocker.init", "true");
        }
    }

    /**
     * What Docker's {@code --init} (tini) does, in Java: stay as PID 1, run the command as a
     * child, pass signals on to it, reap every process that ends in the container, and exit the
     * way the command did. Ours is a JVM, so it costs some memory; tini is a small static binary.
     */
    static final class Reaper {
        static int run(Config.Process process) {
            String path = ContainerRuntime.commandPath(process);
            int child = Linux.posixSpawn(path, process.args, process.env, Map.of());
            // We do not exec, so close the pipe to the runtime ourselves: that is its sign that
            // the command runs (see InitPipe).
            ContainerRuntime.closeInitPipe();
            // A PID 1 gets only the signals it has a handler for: we have one, and pass them on.
            Signals.forward(List.of("INT", "TERM", "HUP", "USR1", "USR2"), child);
            // tag::reap[]
            // TODO(04.3): be a good PID 1. Reap every child that ends, whichever it is (the
            //   container's orphans are handed to PID 1), until `child` is among them; then return
            //   the exit code run should have: its exit status, or 128 + the signal that killed it.
            //   Linux.waitpid(pid, options) with pid -1 and options 0 waits for any child; the
            //   WaitStatus it returns has pid(), exited(), exitStatus(), termSignal().
            //   HINT: man 2 waitpid; tini's README; `ps -o pid,stat,comm` shows a zombie as Z
            //   QUESTION: what would become of the orphans if we waited only for `child`?
            throw Todo.missing("04.3", "reap every child as PID 1 until the command exits", "04-pid-namespace.adoc");
            // end::reap[]
        }
    }
}
