import static org.junit.jupiter.api.Assertions.fail;

import java.util.List;

/**
 * Where a failed check points the learner: the TODO it is about, if any, and the section of the
 * chapter to read. Each step's checks name theirs in an enum that implements this ({@code Concept}),
 * and fail through the three helpers below, so that every failure's first line ends with the same
 * bracket: {@code [TODO 07.3; read chapters/07-overlay.adoc, section "TODO 07.3: the mount"]}.
 * Not in TODO(NN.M) form: that one is the runtime's own line, which the report quotes.
 */
interface Hint {
    String hint();

    /** The bracket of a concept: {@code chapter} is the file name ("07-overlay.adoc"), {@code todo} may be null. */
    static String of(String chapter, String todo, String section) {
        return "[" + (todo == null ? "" : "TODO " + todo + "; ") + "read chapters/" + chapter + ", section \"" + section + "\"]";
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

    private static String exitCode(Jocker.Result r) {
        return r.timedOut() ? "none (killed after " + r.took().toSeconds() + " s)" : Integer.toString(r.exitCode());
    }
}
