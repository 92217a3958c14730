///usr/bin/env jbang "$0" "$@" ; exit $?
// Step 01 fork-exec: run a command as a child process and report how it ended.
//
// Goal:  the runtime starts the container's first process (init), which becomes the user's
//        command; the runtime waits for it and exits the way the command did.
// Usage: jbang steps/01_fork_exec.java run [-e KEY=VALUE]... COMMAND [ARG...]
// See:   chapters/01-fork-exec.adoc
//
//   $ jbang steps/01_fork_exec.java run sh -c 'echo hello from pid $$; exit 3'; echo "exit=$?"
//   hello from pid 4242
//   exit=3
//
//JAVA 17+
//JAVAC_OPTIONS -XDignore.symbol.file -XDstringConcat=inline -J-XX:TieredStopAtLevel=1 -J-XX:+UseSerialGC -J-XX:-UsePerfData
//JAVA_OPTIONS -XX:TieredStopAtLevel=1 -XX:CICompilerCount=1 -XX:+UseSerialGC -XX:-UsePerfData -Xshare:auto -Xlog:cds=off -Xlog:cds+dynamic=off
//CDS
//SOURCES ../lib/jocker/kernel/*.java ../lib/jocker/oci/*.java ../lib/jocker/runtime/*.java ../lib/jocker/cli/*.java
//MAIN ForkExec

import java.util.List;

import jocker.cli.Cli;
import jocker.cli.RunOptions;
import jocker.kernel.Linux;
import jocker.oci.Config;
import jocker.runtime.ConfigOption;
import jocker.runtime.ContainerRuntime;
import jocker.runtime.Feature;
import jocker.runtime.Todo;

/** Step 01: the two acts of every container runtime, starting a process and waiting for it. */
class ForkExec extends ContainerRuntime {

    public static void main(String[] args) {
        System.exit(Cli.execute(new ForkExec(), "01_fork_exec", args));
    }

    /** run's command line: {@code run [-e KEY=VALUE]... COMMAND [ARG...]}. */
    @Override
    public ConfigOption arguments() { return new RunOptions.CommandArgs(); }

    @Override
    public List<ConfigOption> options() { return List.of(new RunOptions.Env()); }

    /** Nothing confines the command yet: it runs on the host. Every later step adds a feature. */
    @Override
    public List<Feature> features() { return List.of(); }

    // tag::exec[]
    /** Runs in the init process, the child: become the user's command. */
    @Override
    public void exec(Config.Process process) {
        // execve(2) replaces this whole JVM with the command: same pid, same open files, new
        // program. execvpe looks args[0] up in the PATH of the container's environment. <.>
        Linux.execvpe(process.args.get(0), process.args, process.env);
    }
    // end::exec[]

    // tag::wait[]
    /** Runs in the runtime, the parent: wait for the child and report how it ended. */
    @Override
    public int waitForExit(int pid) {
        Linux.WaitStatus status = Linux.waitpid(pid, 0);    // <.>
        if (status.exited()) {
            return status.exitStatus();                     // <.>
        }
        return 128 + status.termSignal();                   // <.>
    }
    // end::wait[]
}
