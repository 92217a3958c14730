package jocker.runtime;

import java.io.IOException;
import java.nio.file.Path;

/**
 * For tests of other packages (the network's kernel test): an undo log of a directory, and the
 * replay a sweep does, which the runtime keeps to itself (Container creates the log, Leftovers
 * replays it).
 */
public final class UndoLogs {
    private UndoLogs() {}

    public static UndoLog create(Path containerDir) throws IOException { return UndoLog.create(containerDir); }

    /** What Leftovers.sweep does with a dead container's directory, before deleting it. */
    public static boolean replay(Path containerDir) throws IOException { return UndoLog.read(containerDir).replay(); }
}
