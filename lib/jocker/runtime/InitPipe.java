package jocker.runtime;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

import jocker.kernel.Linux;

// tag::protocol[]
/**
 * The conversation between the runtime and the container's init process, over two pipes.
 *
 * <pre>
 *   runtime (parent)                              init (child, in the new namespaces)
 *   ----------------                              -----------------------------------
 *   prepare features
 *   posix_spawn(java ... init config.json) ---->  starts, reads config.json
 *                                         <----  READY            "I exist, put me in place"
 *   attach features (cgroup, network)
 *                                          ---->  GO               "you are in place, go on"
 *                                                 enter features (mounts, pivot_root, hostname)
 *                                                 execve(user's command)
 *                                         <----  end of file      the pipe is close-on-exec:
 *                                                                  exec worked
 *                                     or  <----  FAILED code text  exec or enter failed
 *   waitpid
 *   release features
 * </pre>
 *
 * Why wait at all: whatever the runtime does to the init process from outside (put it into a
 * cgroup, move a network device into its namespace) must be done before the user's command runs,
 * or the command would run unconfined for a moment. runc does the same (libcontainer/sync.go).
 * The init process finds its ends of the pipes at fixed descriptors, {@link #CHILD_WRITE_FD} and
 * {@link #CHILD_READ_FD}.
 */
// end::protocol[]
public final class InitPipe {
    /** The descriptor on which the init process writes to the runtime. */
    public static final int CHILD_WRITE_FD = 3;
    /** The descriptor on which the init process reads from the runtime. */
    public static final int CHILD_READ_FD = 4;

    // tag::messages[]
    /** What one side can say to the other. */
    public enum Message {
        /** init to runtime: I have started and wait for GO. */
        READY,
        /** runtime to init: you are attached, enter and exec. */
        GO,
        /** init to runtime: entering or exec failed; an exit code and one line follow. */
        FAILED,
        /** the other side closed its end: for init, that exec worked; otherwise it died. */
        EOF
    }
    // end::messages[]

    /** What was received: a message, and for FAILED its exit code and text. */
    record Received(Message message, int exitCode, String text) {}

    private final int readFd;
    private final int writeFd;

    InitPipe(int readFd, int writeFd) {
        this.readFd = readFd;
        this.writeFd = writeFd;
    }

    /** The init process's side, on its fixed descriptors. */
    static InitPipe ofInit() { return new InitPipe(CHILD_READ_FD, CHILD_WRITE_FD); }

    void send(Message message) { send(message, 0, ""); }

    void send(Message message, int exitCode, String text) {
        String line = message == Message.FAILED
                ? message + " " + exitCode + " " + text.replace('\n', ' ') + "\n"
                : message + "\n";
        Linux.write(writeFd, line.getBytes(StandardCharsets.UTF_8));
    }

    /** Reads one message (a line); end of file becomes {@link Message#EOF}. */
    Received receive() {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        byte[] one = new byte[1];
        while (true) {
            int n = Linux.read(readFd, one);
            if (n == 0) {
                if (line.size() == 0) return new Received(Message.EOF, 0, "");
                break;
            }
            if (one[0] == '\n') break;
            line.write(one[0]);
        }
        String text = line.toString(StandardCharsets.UTF_8);
        String[] parts = text.split(" ", 3);
        Message m;
        try {
            m = Message.valueOf(parts[0]);
        } catch (IllegalArgumentException e) {
            throw new ContainerError("unexpected message from the other side of the init pipe: " + text);
        }
        if (m == Message.FAILED) {
            try {
                return new Received(m, Integer.parseInt(parts[1]), parts.length > 2 ? parts[2] : "");
            } catch (ArrayIndexOutOfBoundsException | NumberFormatException e) {
                throw new ContainerError("malformed message from the other side of the init pipe: " + text);
            }
        }
        return new Received(m, 0, "");
    }

    /**
     * Receives and insists on {@code expected}; FAILED and EOF (the other side is gone) are
     * returned for the caller to handle, anything else is an error that names both.
     */
    Received expect(Message expected) {
        Received r = receive();
        if (r.message() != expected && r.message() != Message.FAILED && r.message() != Message.EOF) {
            throw new ContainerError("init pipe: expected " + expected + ", received " + r.message());
        }
        return r;
    }

    void close() {
        Linux.close(readFd);
        Linux.close(writeFd);
    }
}
