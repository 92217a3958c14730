package jocker.kernel;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Finding a program and signalling a process: the one PATH lookup and the one ESRCH-tolerant
 * kill of the runtime, its init process and its checks.
 */
public final class Processes {
    private Processes() {}

    /** Docker's default PATH, used when the environment has none. */
    public static final String DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /**
     * The files {@code file} may name, in the order execvp(3) tries them: itself if it has a slash,
     * else each directory of the {@code PATH} in {@code env} (an empty entry is the current
     * directory), keeping those that exist and are not directories.
     */
    public static List<Path> pathCandidates(String file, List<String> env) {
        if (file.contains("/")) return List.of(Path.of(file));
        String path = env.stream().filter(e -> e.startsWith("PATH=")).map(e -> e.substring(5))
                .reduce((first, last) -> last).orElse(DEFAULT_PATH);
        List<Path> found = new ArrayList<>();
        for (String dir : path.split(":", -1)) {
            Path candidate = Path.of(dir.isEmpty() ? "." : dir, file);
            if (Files.exists(candidate) && !Files.isDirectory(candidate)) found.add(candidate);
        }
        return found;
    }

    /** The first candidate that is executable: what a shell would run for {@code file}. */
    public static Optional<Path> lookPath(String file, List<String> env) {
        return pathCandidates(file, env).stream().filter(Files::isExecutable).findFirst();
    }

    /**
     * Sends {@code signal} to {@code pid} if it still exists: kill(2), where ESRCH (it has exited
     * and been reaped already) is an answer, not an error. Returns whether the signal was sent.
     * A zombie still takes a signal (and ignores it).
     */
    public static boolean signalIfAlive(long pid, int signal) {
        // kill(2) reads 0 as "my process group" and -1 as "every process I may signal": never here.
        if (pid <= 0 || pid > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("refused to signal pid " + pid + ": not one process");
        }
        try {
            Linux.kill((int) pid, signal);
            return true;
        } catch (Linux.LinuxException e) {
            if (e.errno() == Linux.ESRCH) return false;
            throw e;
        }
    }

    /** A signal's number from its name or number: {@code TERM}, {@code SIGTERM} and {@code 15} are 15. */
    public static int signalNumber(String name) {
        String n = name.trim().toUpperCase();
        if (n.matches("\\d+")) return Integer.parseInt(n);
        if (n.startsWith("SIG")) n = n.substring(3);
        return switch (n) {
            case "HUP" -> Linux.SIGHUP;
            case "INT" -> Linux.SIGINT;
            case "QUIT" -> Linux.SIGQUIT;
            case "KILL" -> Linux.SIGKILL;
            case "USR1" -> Linux.SIGUSR1;
            case "USR2" -> Linux.SIGUSR2;
            case "PIPE" -> Linux.SIGPIPE;
            case "ALRM" -> Linux.SIGALRM;
            case "TERM" -> Linux.SIGTERM;
            case "CHLD" -> Linux.SIGCHLD;
            case "CONT" -> Linux.SIGCONT;
            case "STOP" -> Linux.SIGSTOP;
            default -> throw new IllegalArgumentException("unknown signal \"" + name + "\"");
        };
    }

    /**
     * When process {@code pid} started, in clock ticks since boot (field 22 of /proc/PID/stat),
     * or empty if there is no such process. A pid and its start time name one process for good:
     * pids are reused, start times are not.
     */
    public static Optional<Long> startTime(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            // The command name (field 2) is in parentheses and may hold spaces: count after it.
            String[] rest = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Optional.of(Long.parseLong(rest[19]));
        } catch (java.io.IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** Whether process {@code pid} exists and is the one that started at {@code startTime}. */
    public static boolean isRunning(long pid, long startTime) {
        return startTime(pid).map(t -> t == startTime).orElse(false);
    }
}
