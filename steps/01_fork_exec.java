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
        // TODO(01.1): replace this process with the user's command.
        //   process.args is the command and its arguments, process.env its whole environment.
        //   Linux.execvpe(file, argv, env) looks `file` (the command's name: the first of its
        //   args) up in the PATH of `env` and calls execve(2), which does not return when it works.
        //   HINT: man 2 execve, man 3 exec
        //   QUESTION: this JVM had a pid before the call; which pid does the command get?
        throw Todo.missing("01.1", "exec the user's command in the init process", "01-fork-exec.adoc");
    }
    // end::exec[]

    // tag::wait[]
    /** Runs in the runtime, the parent: wait for the child and report how it ended. */
    @Override
    public int waitForExit(int pid) {
        // TODO(01.2): wait for the init process to end, then return run's exit code the way a
        //   shell computes $?: the exit status if the process exited, 128 + N if signal N
        //   killed it (137 for SIGKILL).
        //   Linux.waitpid(pid, 0) blocks until the child ends and returns a Linux.WaitStatus:
        //   exited(), exitStatus(), signaled(), termSignal() are the macros of man 2 wait.
        //   HINT: man 2 waitpid
        //   QUESTION: what would happen to the child if nobody ever called waitpid?
        throw Todo.missing("01.2", "wait for the init process and return its exit code", "01-fork-exec.adoc");
    }
    // end::wait[]
}
