package jocker.runtime;

/**
 * A TODO of the workbook that is not done yet. Throwing it stops the run with one line that names
 * the TODO and the chapter section that explains it, and exit code 125, e.g.
 * <pre>jocker: TODO(02.2) is not done: chroot into the container's rootfs (see chapters/02-chroot.adoc, "TODO 02.2")</pre>
 */
public final class Todo extends ContainerError {
    Todo(String id, String what, String chapter) {
        super("TODO(" + id + ") is not done: " + what + " (see chapters/" + chapter + ", \"TODO " + id + "\")");
    }

    /** Use as {@code throw Todo.missing("01.1", "...", "01-fork-exec.adoc")}. */
    public static Todo missing(String id, String what, String chapter) { return new Todo(id, what, chapter); }
}
