import static org.junit.jupiter.api.Assertions.fail;

import java.util.List;

/**
 * Where a failed check points the learner: the TODO it is about, if any, and the section of the
 * chapter to read. Each step's checks name theirs in an enum that implements this ({@code Concept}),
 * and fail through the helpers below, so that every failure's first line ends with the same
 * bracket: {@code [TODO 07.3; read chapters/07-overlay.adoc, section "TODO 07.3: the mount"]}. The
 * first line, because the check report shows a run's failure by its first line (and the command,
 * exit code and stderr); a reason of several lines puts the bracket on its first.
 * Not in TODO(NN.M) form: that one is the runtime's own line, which the report quotes.
 */
interface Hint {
    String hint();

    /** Where a check meets a kernel feature or a program this machine lacks, it says this too. */
    String DOCTOR = "something missing? ./build.sh doctor says what this machine has";

    /** The bracket of a concept: {@code chapter} is the file name ("07-overlay.adoc"), {@code todo} may be null. */
    static String of(String chapter, String todo, String section) {
        return "[" + (todo == null ? "" : "TODO " + todo + "; ") + "read chapters/" + chapter + ", section \"" + section + "\"]";
    }

    /**
     * The bracket of a check that depends on more than one TODO, or that more than one section
     * explains: {@code [TODO 05.1 or TODO 05.4; read chapters/05-cgroups.adoc, sections "A" and "B"]};
     * when the sections are the TODOs' own, {@code [TODO 05.1 or TODO 05.2; read their sections in
     * chapters/05-cgroups.adoc]}.
     */
    static String of(String chapter, List<String> todos, List<String> sections) {
        String t = todos.isEmpty() ? "" : "TODO " + String.join(" or TODO ", todos) + "; ";
        if (todos.size() > 1 && sections.equals(todos.stream().map(x -> "TODO " + x).toList())) {
            return "[" + t + "read their sections in chapters/" + chapter + "]";
        }
        if (sections.size() == 1) return "[" + t + "read chapters/" + chapter + ", section \"" + sections.get(0) + "\"]";
        return "[" + t + "read chapters/" + chapter + ", sections \"" + String.join("\" and \"", sections) + "\"]";
    }

    /** The bracket for TODO ids given as one string, "01.1 01.2" (or "" for given code). */
    static String of(String chapter, String todos, String... sections) {
        return of(chapter, todos.isEmpty() ? List.of() : List.of(todos.split(" ")), List.of(sections));
    }

    /** The chapters of the steps, step 1 first. */
    List<String> CHAPTERS = List.of("01-fork-exec.adoc", "02-chroot.adoc", "03-mount-namespace.adoc", "04-pid-namespace.adoc",
            "05-cgroups.adoc", "06-pull-image.adoc", "07-overlay.adoc", "08-network.adoc");

    /**
     * {@code c}, for a check of step {@code own}: when it runs a later step's file, whose TODOs
     * change what every run does, the bracket sends the reader to that step's chapter too.
     */
    static Hint onStep(Jocker jocker, int own, Hint c) {
        int step = jocker.step();
        if (step <= own || step > CHAPTERS.size()) return c;
        String b = c.hint();
        return () -> b.substring(0, b.length() - 1) + "; this runs step " + String.format("%02d", step)
                + ": see its TODOs in chapters/" + CHAPTERS.get(step - 1) + " too]";
    }

    static void check(Jocker.Result r, boolean condition, String reason, Hint c) {
        r.check(condition, reason + " " + c.hint());
    }

    /** Fails unless the run exited 0. */
    static Jocker.Result succeeds(Jocker.Result r, String what, Hint c) {
        if (r.timedOut() || r.exitCode() != 0) {
            fail(what + ": expected exit code 0, got " + exitCode(r) + " " + c.hint() + "\n" + r);
        }
        return r;
    }

    /**
     * Fails unless the run was refused as a user error: exit 125, one line on stderr starting
     * "jocker: " and containing every part; and not because a TODO is not done.
     */
    static Jocker.Result refused(Jocker.Result r, String what, Hint c, String... parts) {
        if (r.timedOut() || r.exitCode() != 125) {
            fail(what + ": expected exit code 125, got " + exitCode(r) + " " + c.hint() + "\n" + r);
        }
        List<String> lines = r.stderrLines();
        if (lines.size() != 1 || !lines.get(0).startsWith("jocker: ")) {
            fail(what + ": expected exactly one line on stderr, starting \"jocker: \", got " + lines.size() + " " + c.hint() + "\n" + r);
        }
        if (lines.get(0).contains("is not done")) {
            fail(what + ": the run stopped at a TODO instead of refusing with the cause " + c.hint() + "\n" + r);
        }
        for (String part : parts) {
            if (!lines.get(0).toLowerCase().contains(part.toLowerCase())) {
                fail(what + ": expected the error line to mention " + Jocker.quote(part) + " " + c.hint() + "\n" + r);
            }
        }
        return r;
    }

    /** {@link Jocker.Result#assertExit} with the hint on the first line. */
    static Jocker.Result exits(Jocker.Result r, int code, Hint c) {
        if (r.timedOut()) fail("the run did not end within " + r.took().toSeconds() + " s (expected exit code " + code + ") "
                + c.hint() + "\n" + r);
        if (r.exitCode() != code) {
            fail("expected exit code " + code + ", got " + r.exitCode() + " " + c.hint() + doctor(r) + "\n" + r);
        }
        return r;
    }

    /**
     * " (something missing? ./build.sh doctor ...)" when the run failed because this machine lacks
     * a kernel feature or a program, as its error line says; else "".
     */
    static String doctor(Jocker.Result r) {
        String err = r.stderr();
        boolean lacks = r.exitCode() == 125 && (err.contains("no cgroup tree")
                || err.contains("controller") && err.contains("failed to enable")
                || err.contains("is not available here") || err.contains("failed to mount the overlay")
                || err.contains("No such device") || err.contains("not supported")
                || err.contains("iptables") && (err.contains("not found") || err.contains("No such file")));
        return lacks ? " (" + DOCTOR + ")" : "";
    }

    /** {@link Jocker.Result#assertStdout} with the hint on the first line. */
    static Jocker.Result stdoutIs(Jocker.Result r, String expected, Hint c) {
        if (!r.stdout().equals(expected)) {
            fail("expected stdout to be exactly " + Jocker.quote(expected) + ", got " + Jocker.quote(r.stdout()) + " " + c.hint() + "\n" + r);
        }
        return r;
    }

    /** {@link Jocker.Result#assertOneLineError} with the hint on the first line. */
    static Jocker.Result oneLineError(Jocker.Result r, Hint c, String... parts) {
        List<String> lines = r.stderrLines();
        if (lines.size() != 1) fail("expected exactly one line on stderr, got " + lines.size() + " " + c.hint() + "\n" + r);
        for (String part : parts) {
            if (!lines.get(0).contains(part)) fail("expected the error line to mention " + Jocker.quote(part) + " " + c.hint() + "\n" + r);
        }
        return r;
    }

    private static String exitCode(Jocker.Result r) {
        return r.timedOut() ? "none (killed after " + r.took().toSeconds() + " s)" : Integer.toString(r.exitCode());
    }
}
