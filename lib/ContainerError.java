/**
 * An error the user should see as one line, with the exit code Docker would use:
 * 125 when the runtime itself failed, 126 when the command cannot be executed, 127 when it
 * cannot be found. Messages follow {@code failed to <verb> <object>: <reason>}, lower case.
 */
class ContainerError extends RuntimeException {
    static final int RUNTIME = 125;
    static final int NOT_EXECUTABLE = 126;
    static final int NOT_FOUND = 127;

    private final int exitCode;

    ContainerError(String message) { this(RUNTIME, message, null); }

    ContainerError(String message, Throwable cause) { this(RUNTIME, message, cause); }

    ContainerError(int exitCode, String message, Throwable cause) {
        super(message, cause);
        this.exitCode = exitCode;
    }

    int exitCode() { return exitCode; }
}
