package jocker.runtime;

/**
 * An error the user should see as one line, with the exit code Docker would use:
 * 125 when the runtime itself failed, 126 when the command cannot be executed, 127 when it
 * cannot be found. Messages follow {@code failed to <verb> <object>: <reason>}, lower case.
 */
public class ContainerError extends RuntimeException {
    public static final int RUNTIME = 125;
    public static final int NOT_EXECUTABLE = 126;
    public static final int NOT_FOUND = 127;

    private final int exitCode;

    public ContainerError(String message) { this(RUNTIME, message, null); }

    public ContainerError(String message, Throwable cause) { this(RUNTIME, message, cause); }

    public ContainerError(int exitCode, String message, Throwable cause) {
        super(message, cause);
        this.exitCode = exitCode;
    }

    public int exitCode() { return exitCode; }
}
