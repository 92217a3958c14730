package jocker.image;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What {@code pull} shows, in {@code docker pull}'s words. Given code: the concepts are elsewhere.
 * <p>
 * Not on a terminal (a pipe, a log, the checks) it prints one line per event, flushed at once so
 * that a reader sees each line as it happens:
 * <pre>
 *   Using default tag: latest
 *   latest: Pulling from library/busybox
 *   3f2a9c1b7d4e: Download complete
 *   9a8b7c6d5e4f: Already exists
 *   Digest: sha256:...
 *   Status: Downloaded newer image for busybox:latest
 *   docker.io/library/busybox:latest
 * </pre>
 * On a terminal, the layers get one line each that is redrawn in place as they download
 * ({@code Downloading [=====>      ]  12.35MB/45.6MB}): the cursor moves up over the block with the
 * ANSI sequence {@code ESC [ n A} and each line is rewritten after {@code ESC [ 2K} (erase line).
 * Redraws are throttled to ten a second; a layer that finishes is drawn at once. Layers download on
 * several threads, so every method is synchronized. Quiet ({@code -q}) prints only the last line.
 */
public final class PullOutput {
    private enum Mode { PLAIN, TERMINAL, QUIET }

    private static final long REDRAW_NANOS = 100_000_000L;
    private static final int BAR = 25;

    private final PrintStream out;
    private final Mode mode;
    /** The terminal's layer lines, by short id, in manifest order. */
    private final Map<String, String> rows = new LinkedHashMap<>();
    private boolean drawn;
    private long lastDraw;
    /** Lines kept back until the image is found (run's automatic pull); null: print at once. */
    private List<String> held;

    private PullOutput(PrintStream out, Mode mode) {
        this.out = out;
        this.mode = mode;
    }

    public static PullOutput plain(PrintStream out) { return new PullOutput(out, Mode.PLAIN); }

    public static PullOutput terminal(PrintStream out) { return new PullOutput(out, Mode.TERMINAL); }

    public static PullOutput quiet(PrintStream out) { return new PullOutput(out, Mode.QUIET); }

    /** For {@code out} (stdout, or stderr for run's pull): redrawn on a terminal, plain lines otherwise. */
    public static PullOutput to(PrintStream out, boolean quiet) {
        if (quiet) return quiet(out);
        return System.console() != null && System.getenv("TERM") != null && !"dumb".equals(System.getenv("TERM"))
                ? terminal(out) : plain(out);
    }

    /**
     * For run's automatic pull: {@code first} and the pull's opening lines are held back until the
     * registry has the image (its layers are known), so that an image that is nowhere gives the
     * one line of its error, not a pull's beginning before it.
     */
    public static PullOutput heldUntilFound(PrintStream out, String first) {
        PullOutput o = to(out, false);
        o.held = new ArrayList<>(List.of(first));
        return o;
    }

    /** The reference named no tag and no digest. */
    public synchronized void defaultTag(String tag) { line("Using default tag: " + tag); }

    /** {@code latest: Pulling from library/busybox}: the tag (or digest) and the repository path. */
    public synchronized void pulling(Reference ref) {
        line((ref.digest() != null ? ref.digest().toString() : ref.tag()) + ": Pulling from " + ref.path());
    }

    /** The layers about to be fetched (distinct, bottom first): on a terminal, their lines appear now. */
    public synchronized void layers(List<Descriptor> layers) {
        if (held != null) {
            List<String> lines = held;
            held = null;
            lines.forEach(this::line);
        }
        if (mode != Mode.TERMINAL) return;
        for (Descriptor d : layers) {
            rows.put(d.digest.shortId(), "Pulling fs layer");
        }
        draw(true);
    }

    /** The store had this layer: nothing fetched. */
    public synchronized void exists(Descriptor d) { layer(d, "Already exists"); }

    /** {@code bytes} of the layer {@code d} are on disk. */
    public synchronized void progress(Descriptor d, long bytes) {
        if (mode != Mode.TERMINAL) return;
        rows.put(d.digest.shortId(), "Downloading " + bar(bytes, d.size));
        draw(false);
    }

    /** The layer is fetched and verified. */
    public synchronized void complete(Descriptor d) { layer(d, "Download complete"); }

    /** {@code Digest: sha256:...}: the digest the tag names (the repository digest). */
    public synchronized void digest(Digest d) {
        finishBlock();
        line("Digest: " + d);
    }

    /** The status line: was anything new stored under {@code familiar}? */
    public synchronized void status(boolean downloaded, String familiar) {
        line("Status: " + (downloaded ? "Downloaded newer image for " : "Image is up to date for ") + familiar);
    }

    /** The last line, also in quiet mode: the canonical reference. */
    public synchronized void done(Reference name) {
        finishBlock();
        out.println(name);
        out.flush();
    }

    /** A warning, on stderr: it must not mix into stdout's lines that scripts read. */
    public synchronized void warning(String text) {
        System.err.println("WARNING: " + text);
        System.err.flush();
    }

    private void layer(Descriptor d, String status) {
        if (mode == Mode.TERMINAL) {
            rows.put(d.digest.shortId(), status);
            draw(true);
        } else {
            line(d.digest.shortId() + ": " + status);
        }
    }

    private void line(String text) {
        if (mode == Mode.QUIET) return;
        if (held != null) {
            held.add(text);
            return;
        }
        out.println(text);
        out.flush();
    }

    /** docker's progress bar, narrower so that a line fits 80 columns: {@code [====>    ]  1.2MB/3.4MB}. */
    static String bar(long current, long total) {
        int filled = total <= 0 ? 0 : (int) Math.min(BAR, current * BAR / total);
        String box = "[" + "=".repeat(Math.max(0, filled - 1)) + (filled > 0 ? ">" : "") + " ".repeat(BAR - filled) + "] ";
        return box + String.format("%8s/%s", Units.humanSize(current, 4), Units.humanSize(total, 4));
    }

    /** Redraws the block of layer lines in place; only every 100 ms unless {@code now}. */
    private void draw(boolean now) {
        long t = System.nanoTime();
        if (!now && drawn && t - lastDraw < REDRAW_NANOS) return;
        lastDraw = t;
        StringBuilder b = new StringBuilder();
        if (drawn) b.append("\033[").append(rows.size()).append('A');   // up to the block's first line
        for (Map.Entry<String, String> r : rows.entrySet()) {
            b.append("\r\033[2K").append(r.getKey()).append(": ").append(r.getValue()).append('\n');
        }
        out.print(b);
        out.flush();
        drawn = true;
    }

    /** Draws the block's final state once more, so that no throttled update is lost. */
    private void finishBlock() {
        if (mode == Mode.TERMINAL && drawn && !rows.isEmpty()) draw(true);
        rows.clear();
        drawn = false;
    }
}
