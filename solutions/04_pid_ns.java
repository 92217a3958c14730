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
            // The runtime's owner thread unshares the namespaces of linux.namespaces before it
            // spawns init (jocker.runtime.Namespaces: "pid" is CLONE_NEWPID): init is born as
            // PID 1 of the new namespace, and the /proc that step 03 mounts from inside it shows
            // that namespace's processes only.
            container.config.withNamespace("pid");    // <.>
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
            container.config.withNamespace("ipc");    // <.>
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
            // Every process of the container whose parent dies is handed to us, PID 1; when it
            // ends it stays a zombie until we wait for it. So wait for any child (-1), again
            // and again, and stop when the one we started is among them.
            while (true) {
                Linux.WaitStatus status = Linux.waitpid(-1, 0);                     // <.>
                if (status.pid() == child) {                                        // <.>
                    return status.exited() ? status.exitStatus() : 128 + status.termSignal();
                }
            }
            // end::reap[]
        }
    }
}
