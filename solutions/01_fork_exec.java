///usr/bin/env jbang "$0" "$@" ; exit $?
// Step 01 fork-exec: run a command as a child process and report how it ended.
//
// Goal:  the runtime starts the container's first process (init), which becomes the user's
//        command; the runtime waits for it and exits the way the command did.
// Usage: jbang steps/01_fork_exec.java run [-e KEY=VALUE]... COMMAND [ARG...]
// See:   chapters/01-fork-exec.adoc
//
//   $ jbang steps/01_fork_exec.java run sh -c 'echo hello from $$; exit 3'; echo "exit=$?"
//   hello from 4242
//   exit=3
//
//JAVA 17+
//JAVAC_OPTIONS -XDignore.symbol.file
//DEPS info.picocli:picocli:4.7.6
//DEPS com.github.jnr:jnr-posix:3.1.19
//DEPS com.fasterxml.jackson.core:jackson-databind:2.18.2
//DEPS org.apache.commons:commons-compress:1.27.1
//DEPS com.github.luben:zstd-jni:1.5.6-8
//SOURCES ../lib/Linux.java ../lib/Config.java ../lib/ConfigOption.java ../lib/Feature.java
//SOURCES ../lib/Container.java ../lib/ContainerError.java ../lib/ContainerRuntime.java
//SOURCES ../lib/InitPipe.java ../lib/InitProcess.java ../lib/Leftovers.java ../lib/Log.java
//SOURCES ../lib/RunOptions.java ../lib/Cli.java ../lib/Images.java ../lib/RootfsTar.java ../lib/Todo.java
//MAIN ForkExec

import java.util.List;

/** Step 01: the two acts of every container runtime, starting a process and waiting for it. */
class ForkExec extends ContainerRuntime {

    public static void main(String[] args) {
        System.exit(Cli.execute(new ForkExec(), "01_fork_exec", args));
    }

    // tag::exec[]
    /** Runs in the init process, the child: become the user's command. */
    @Override
    void exec(Config.Process process) {
        // execve(2) replaces this whole JVM with the command: same pid, same open files, new
        // program. execvpe looks args[0] up in the PATH of the container's environment. <.>
        Linux.execvpe(process.args.get(0), process.args, process.env);
    }
    // end::exec[]

    // tag::wait[]
    /** Runs in the runtime, the parent: wait for the child and report how it ended. */
    @Override
    int waitForExit(int pid) {
        Linux.WaitStatus status = Linux.waitpid(pid, 0);    // <.>
        if (status.exited()) {
            return status.exitStatus();                     // <.>
        }
        return 128 + status.termSignal();                   // <.>
    }
    // end::wait[]
}
