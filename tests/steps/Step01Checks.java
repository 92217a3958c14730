import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Step 01 fork-exec, black-box: {@code run COMMAND} runs the command with the terminal's stdin,
 * stdout and stderr, and exits the way a shell's {@code $?} would. These checks also run against
 * every later step (with the busybox image), so they use only commands busybox has.
 */
@DisplayName("step 01 fork-exec")
@ExtendWith(JockerExtension.class)
class Step01Checks {

    private final Jocker jocker;

    Step01Checks(Jocker jocker) {
        this.jocker = jocker;
    }

    /** A concept's hint, which also names the step whose file this runs, when it is a later one. */
    private Hint h(Hint c) { return Hint.onStep(jocker, 1, c); }

    @Test
    @Essential
    @Order(1)
    @DisplayName("the command's output reaches stdout, and nothing else does")
    void echoesAToken() {
        String token = Jocker.token();
        Jocker.Result r = jocker.run(jocker.container("echo", token));
        Hint.exits(r, 0, h(Concept.RUN));
        Hint.stdoutIs(r, token + "\n", h(Concept.RUN));
    }

    @Test
    @Essential
    @Order(2)
    @DisplayName("run exits with the command's exit code (sh -c 'exit 3' gives 3)")
    void passesTheExitCode() {
        Jocker.Result r = jocker.run(jocker.container("sh", "-c", "exit 3"));
        Hint.exits(r, 3, h(Concept.WAIT));
        Hint.stdoutIs(r, "", h(Concept.WAIT));
    }

    @Test
    @Order(3)
    @DisplayName("a file that is not executable gives 126 and one line on stderr")
    void notExecutable() {
        // /etc/passwd exists on the host and in the busybox image, and is not executable in either.
        Jocker.Result r = jocker.run(jocker.container("/etc/passwd"));
        Hint.exits(r, 126, h(Concept.EXEC_FAILS));
        Hint.oneLineError(r, h(Concept.EXEC_FAILS), "/etc/passwd");
        Hint.stdoutIs(r, "", h(Concept.EXEC_FAILS));
    }

    @Test
    @Essential
    @Order(4)
    @DisplayName("a command that does not exist gives 127 and one line on stderr")
    void notFound() {
        String missing = Jocker.token("no-such-command-");
        Jocker.Result r = jocker.run(jocker.container(missing));
        Hint.exits(r, 127, h(Concept.EXEC_FAILS));
        Hint.oneLineError(r, h(Concept.EXEC_FAILS), missing);
        Hint.stdoutIs(r, "", h(Concept.EXEC_FAILS));
    }

    @Test
    @Order(5)
    @DisplayName("a command killed by SIGKILL gives 128 + 9 = 137")
    void killedBySignal() {
        // The signal comes from the host: from step 04 on the command is PID 1 of its own PID
        // namespace, and the kernel ignores a SIGKILL that PID 1 gets from inside (kill -9 $$).
        String token = Jocker.token();
        Jocker.Running running = jocker.start(jocker.container("sh", "-c", "echo " + token + "; exec sleep 60"));
        if (running.awaitOutput(token, Jocker.TIMEOUT)) {
            running.init().ifPresent(ProcessHandle::destroyForcibly);   // SIGKILL
        }
        Jocker.Result r = running.await(Duration.ofSeconds(15));
        Hint.exits(r, 137, h(Concept.SIGNALED));
        Hint.stdoutIs(r, token + "\n", h(Concept.SIGNALED));
    }

    @Test
    @Order(6)
    @DisplayName("-e KEY=VALUE reaches the command's environment")
    void passesTheEnvironment() {
        String value = Jocker.token();
        Jocker.Result r = jocker.run(jocker.container(List.of("-e", "JOCKER_CHECK=" + value), "sh", "-c", "echo \"$JOCKER_CHECK\""));
        Hint.exits(r, 0, h(Concept.RUN));
        Hint.stdoutIs(r, value + "\n", h(Concept.EXEC));
    }

    @Test
    @Order(7)
    @DisplayName("the command reads run's stdin")
    void passesStdin() {
        String token = Jocker.token();
        Jocker.Result r = jocker.run(jocker.container("cat"), token + "\n");
        Hint.exits(r, 0, h(Concept.RUN));
        Hint.stdoutIs(r, token + "\n", h(Concept.EXEC));
    }

    @Test
    @Order(8)
    @DisplayName("run without a command exits with 125 and says why on stderr")
    void noCommand() {
        Jocker.Result r = jocker.run(jocker.container());
        Hint.exits(r, 125, h(Concept.USAGE));
        Hint.check(r, !r.stderrLines().isEmpty(), "expected an error message on stderr", h(Concept.USAGE));
        Hint.stdoutIs(r, "", h(Concept.USAGE));
    }

    @Test
    @Order(9)
    @DisplayName("run --trace shows the execve of the command on stderr, stdout stays clean")
    void traceShowsExecve() {
        String token = Jocker.token();
        Jocker.Result r = jocker.run(jocker.container(List.of("--trace"), "echo", token));
        Hint.exits(r, 0, h(Concept.RUN));
        Hint.stdoutIs(r, token + "\n", h(Concept.TRACE));
        Pattern execve = Pattern.compile("execve\\(\"[^\"]*echo\", \\[\"echo\", \"" + token + "\"\\]");
        Hint.check(r, execve.matcher(r.stderr()).find(),
                "expected the trace on stderr to show execve(\"/.../echo\", [\"echo\", \"" + token + "\"], ...)", h(Concept.TRACE));
    }

    @Test
    @Order(10)
    @DisplayName("the command starts with no signal ignored or blocked, whatever the runtime inherited")
    void defaultSignalState() {
        // The runtime is started with SIGINT and SIGQUIT ignored, as a shell starts a background
        // job; ignored signals and the signal mask survive execve, so a runtime that does not
        // reset them hands them on to the container.
        Jocker.Result r = jocker.runUnder(List.of("/bin/sh", "-c", "trap '' INT QUIT; exec \"$@\"", "sh"),
                jocker.container("sh", "-c", "grep -E '^Sig(Ign|Blk)' /proc/self/status 2>/dev/null || echo no-proc"));
        Hint.exits(r, 0, h(Concept.RUN));
        org.junit.jupiter.api.Assumptions.assumeFalse(r.stdout().contains("no-proc"),
                "the container has no /proc at this step (chroot without a /proc mount)");
        Hint.stdoutIs(r, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n", h(Concept.SIGNAL_STATE));
    }

    /**
     * What each check depends on: the TODOs whose code it runs, the sections of chapter 01 that
     * explain it (the exact titles). A failure's first line ends with its bracket.
     */
    enum Concept implements Hint {
        /** Anything that must run to the end: the exec, then the wait. */
        RUN("01.1 01.2", "TODO 01.1", "TODO 01.2"),
        EXEC("01.1", "TODO 01.1"),
        WAIT("01.2", "TODO 01.2"),
        /** 126 and 127: the exec fails, the given code reports why through the sync pipe. */
        EXEC_FAILS("01.1", "Exit codes, the Docker way"),
        SIGNALED("01.2", "Exit codes, the Docker way"),
        USAGE("", "Exit codes, the Docker way"),
        TRACE("01.1", "See what the runtime asks of the kernel: --trace"),
        /** Given code: the init resets signals before the exec. */
        SIGNAL_STATE("", "See what the runtime asks of the kernel: --trace");

        private final String hint;

        Concept(String todos, String... sections) { this.hint = Hint.of("01-fork-exec.adoc", todos, sections); }

        @Override
        public String hint() { return hint; }
    }
}
