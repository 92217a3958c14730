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

    @Test
    @Essential
    @Order(1)
    @DisplayName("the command's output reaches stdout, and nothing else does")
    void echoesAToken() {
        String token = Jocker.token();
        jocker.run(jocker.container("echo", token))
                .assertExit(0)
                .assertStdout(token + "\n");
    }

    @Test
    @Essential
    @Order(2)
    @DisplayName("run exits with the command's exit code (sh -c 'exit 3' gives 3)")
    void passesTheExitCode() {
        jocker.run(jocker.container("sh", "-c", "exit 3"))
                .assertExit(3)
                .assertStdout("");
    }

    @Test
    @Order(3)
    @DisplayName("a file that is not executable gives 126 and one line on stderr")
    void notExecutable() {
        // /etc/passwd exists on the host and in the busybox image, and is not executable in either.
        jocker.run(jocker.container("/etc/passwd"))
                .assertExit(126)
                .assertOneLineError("/etc/passwd")
                .assertStdout("");
    }

    @Test
    @Essential
    @Order(4)
    @DisplayName("a command that does not exist gives 127 and one line on stderr")
    void notFound() {
        String missing = Jocker.token("no-such-command-");
        jocker.run(jocker.container(missing))
                .assertExit(127)
                .assertOneLineError(missing)
                .assertStdout("");
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
        running.await(Duration.ofSeconds(15))
                .assertExit(137)
                .assertStdout(token + "\n");
    }

    @Test
    @Order(6)
    @DisplayName("-e KEY=VALUE reaches the command's environment")
    void passesTheEnvironment() {
        String value = Jocker.token();
        jocker.run(jocker.container(List.of("-e", "JOCKER_CHECK=" + value), "sh", "-c", "echo \"$JOCKER_CHECK\""))
                .assertExit(0)
                .assertStdout(value + "\n");
    }

    @Test
    @Order(7)
    @DisplayName("the command reads run's stdin")
    void passesStdin() {
        String token = Jocker.token();
        jocker.run(jocker.container("cat"), token + "\n")
                .assertExit(0)
                .assertStdout(token + "\n");
    }

    @Test
    @Order(8)
    @DisplayName("run without a command exits with 125 and says why on stderr")
    void noCommand() {
        Jocker.Result r = jocker.run(jocker.container());
        r.assertExit(125)
                .check(!r.stderrLines().isEmpty(), "expected an error message on stderr")
                .assertStdout("");
    }

    @Test
    @Order(9)
    @DisplayName("run --trace shows the execve of the command on stderr, stdout stays clean")
    void traceShowsExecve() {
        String token = Jocker.token();
        Jocker.Result r = jocker.run(jocker.container(List.of("--trace"), "echo", token));
        r.assertExit(0).assertStdout(token + "\n");
        Pattern execve = Pattern.compile("execve\\(\"[^\"]*echo\", \\[\"echo\", \"" + token + "\"\\]");
        r.check(execve.matcher(r.stderr()).find(),
                "expected the trace on stderr to show execve(\"/.../echo\", [\"echo\", \"" + token + "\"], ...)");
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
        r.assertExit(0);
        org.junit.jupiter.api.Assumptions.assumeFalse(r.stdout().contains("no-proc"),
                "the container has no /proc at this step (chroot without a /proc mount)");
        r.assertStdout("SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
    }
}
