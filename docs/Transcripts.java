///usr/bin/env jbang "$0" "$@" ; exit $?
// Runs the commands that the chapters show, and compares what they print with what the chapter says.
//
// Usage: jbang docs/Transcripts.java ROOT [--checks] [--update] [CHAPTER...]
//        (./build.sh test runs it; --checks also in ./build.sh test --all)
//
// A transcript is a console block marked with the role "transcript":
//
//   [source,console,role=transcript]           the state of chapter NN: steps 01 to NN-1 done,
//   ----                                       step NN not yet (a skeleton)
//   $ sudo jbang solutions/01_fork_exec.java run nosuchcmd; echo "exit=$?"
//   jocker: failed to exec "nosuchcmd": executable file not found in $PATH
//   exit=127
//   ----
//
// with steps=done in the brackets for a transcript taken once the chapter's TODOs are done.
// Each "$ " line (a trailing \ continues it) runs under bash as root, stdout and stderr together,
// from a scratch copy of the workbook whose steps/ are in that state (build/transcripts/work, with
// links to everything but steps/), with its own JOCKER_ROOT, shown as /var/lib/jocker. What it
// prints must be the lines that follow it, up to the next "$ " line, once the parts that differ
// from run to run are set aside on both sides: times ("1.53 s", "12 ms"), hexadecimal ids of 12
// digits and more (a chapter may write a path's id as ID or cut it, 46a5...), check tokens (tok...), "N at a time", pids (those of "[pid N]" and what posix_spawn
// returns, wherever they appear), file descriptors of pipe2 and close, and other numbers of 4
// digits and more, which must only match one to one: the same number in the same places.
// Transcripts of `./build.sh check` take minutes each: they run only with --checks.
// --update writes what the commands printed into the chapters instead (then read the diff).
// Exit 0 when every transcript matches, 1 with a diff per mismatch, 125 on a usage error.
//
//JAVA 17+

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

class Transcripts {
    static final Pattern BLOCK = Pattern.compile("^\\[source,console,(.*\\b)?role=transcript\\b(.*)\\]$");
    static final Pattern STEP = Pattern.compile("^(\\d\\d)_.*\\.java$");

    record Command(String text, List<String> expected, int firstLine, int lastLine) {}
    record Block(Path chapter, int line, boolean done, boolean check, List<Command> commands) {}

    public static void main(String[] args) throws Exception {
        if (args.length < 1) usage();
        Path root = Path.of(args[0]).toAbsolutePath().normalize();
        boolean checks = false, update = false;
        List<String> only = new ArrayList<>();
        for (int i = 1; i < args.length; i++) {
            switch (args[i]) {
                case "--checks" -> checks = true;
                case "--update" -> update = true;
                default -> { if (args[i].startsWith("-")) usage(); only.add(args[i]); }
            }
        }
        List<Path> chapters;
        try (Stream<Path> s = Files.list(root.resolve("chapters"))) {
            chapters = s.filter(p -> p.getFileName().toString().matches("\\d\\d-.*\\.adoc"))
                    .filter(p -> only.isEmpty() || only.stream().anyMatch(o -> p.getFileName().toString().startsWith(o)))
                    .sorted().toList();
        }
        Path work = root.resolve("build/transcripts/work");
        prepareWork(root, work);
        // As long as /var/lib/jocker, which it is shown as: the trace cuts long strings at a length.
        Path state = null;
        for (int i = 0; state == null; i++) {
            try {
                state = Files.createDirectory(Path.of(String.format("/tmp/jocker%04x", new java.util.Random().nextInt(0x10000))));
            } catch (java.nio.file.FileAlreadyExistsException e) {
                if (i > 100) throw e;
            }
        }
        Files.createDirectories(state.resolve("images"));
        Files.createSymbolicLink(state.resolve("images/busybox.tar"), root.resolve("build/images/busybox.tar"));

        long started = System.nanoTime();
        int ran = 0, skipped = 0;
        List<String> failures = new ArrayList<>();
        try {
            for (Path chapter : chapters) {
                List<String> lines = new ArrayList<>(Files.readAllLines(chapter));
                int nn = Integer.parseInt(chapter.getFileName().toString().substring(0, 2));
                List<Block> blocks = parse(chapter, lines);
                // From the last block up, so that --update keeps the line numbers of the others.
                for (int b = blocks.size() - 1; b >= 0; b--) {
                    Block block = blocks.get(b);
                    if (block.check() && !checks) { skipped++; continue; }
                    setSteps(root, work, nn, block.done());
                    List<String> expected = new ArrayList<>(), actual = new ArrayList<>();
                    for (int c = block.commands().size() - 1; c >= 0; c--) {
                        Command command = block.commands().get(c);
                        List<String> out = run(work, state, command.text());
                        if (update) {
                            for (int i = command.lastLine(); i > command.firstLine(); i--) lines.remove(i);
                            lines.addAll(command.firstLine() + 1, out);
                        }
                        expected.add(0, "$ " + command.text());
                        expected.addAll(1, command.expected());
                        actual.add(0, "$ " + command.text());
                        actual.addAll(1, out);
                    }
                    ran++;
                    String where = root.relativize(chapter) + ":" + block.line();
                    boolean same = matches(normalize(expected), normalize(actual));
                    if (!same && System.getenv("TRANSCRIPTS_DUMP") != null) {
                        Files.write(Path.of(System.getenv("TRANSCRIPTS_DUMP")), normalize(actual));
                        Files.write(Path.of(System.getenv("TRANSCRIPTS_DUMP") + ".expected"), normalize(expected));
                    }
                    if (!same) {
                        failures.add(where + ": the transcript differs from what the commands print now\n"
                                + diff(expected, actual));
                    }
                    System.out.println("transcripts: " + where + " " + (same ? "ok" : "DIFFERS"));
                }
                if (update) Files.write(chapter, lines);
            }
        } finally {
            deleteTree(state);
        }
        System.out.printf("transcripts: %d transcript(s) run in %.0f s%s%n", ran, (System.nanoTime() - started) / 1e9,
                skipped > 0 ? ", " + skipped + " of ./build.sh check left to --checks" : "");
        if (!failures.isEmpty()) {
            failures.forEach(f -> System.out.println("transcripts: " + f));
            System.out.println("transcripts: " + failures.size() + " transcript(s) in the chapters differ from what the commands print"
                    + (update ? " (written into the chapters: review the diff)" : ""));
            System.exit(1);
        }
    }

    static void usage() {
        System.err.println("transcripts: usage: jbang docs/Transcripts.java ROOT [--checks] [--update] [CHAPTER...]");
        System.exit(125);
    }

    static List<Block> parse(Path chapter, List<String> lines) {
        List<Block> blocks = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            Matcher m = BLOCK.matcher(lines.get(i));
            if (!m.matches() || i + 1 >= lines.size() || !lines.get(i + 1).equals("----")) continue;
            boolean done = lines.get(i).contains("steps=done");
            int start = i + 2, end = start;
            while (end < lines.size() && !lines.get(end).equals("----")) end++;
            List<Command> commands = new ArrayList<>();
            boolean check = false;
            for (int j = start; j < end; ) {
                if (!lines.get(j).startsWith("$ ")) throw new IllegalStateException(chapter + ":" + (j + 1)
                        + ": a transcript starts with a \"$ \" line");
                StringBuilder text = new StringBuilder(lines.get(j).substring(2));
                int first = j;
                while (text.toString().endsWith("\\") && j + 1 < end) { j++; text.append('\n').append(lines.get(j)); first = j; }
                j++;
                List<String> expected = new ArrayList<>();
                while (j < end && !lines.get(j).startsWith("$ ")) expected.add(lines.get(j++));
                check |= text.toString().contains("./build.sh check");
                commands.add(new Command(text.toString(), expected, first, j - 1));
            }
            blocks.add(new Block(chapter, i + 1, done, check, commands));
            i = end;
        }
        return blocks;
    }

    /** A scratch workbook: links to all of ROOT but steps/, which setSteps fills. */
    static void prepareWork(Path root, Path work) throws IOException {
        Files.createDirectories(work.resolve("steps"));
        try (Stream<Path> s = Files.list(root)) {
            for (Path p : s.toList()) {
                String name = p.getFileName().toString();
                if (name.equals("steps") || name.startsWith(".")) continue;
                Path link = work.resolve(name);
                if (Files.isSymbolicLink(link)) continue;
                Files.createSymbolicLink(link, p);
            }
        }
    }

    /** steps/ as in chapter NN: the steps before it done (the solutions), NN done or not, later ones not. */
    static void setSteps(Path root, Path work, int nn, boolean done) throws IOException {
        try (Stream<Path> s = Files.list(root.resolve("steps"))) {
            for (Path skeleton : s.toList()) {
                Matcher m = STEP.matcher(skeleton.getFileName().toString());
                if (!m.matches()) continue;
                int step = Integer.parseInt(m.group(1));
                Path from = step < nn || (step == nn && done) ? root.resolve("solutions").resolve(skeleton.getFileName()) : skeleton;
                Path to = work.resolve("steps").resolve(skeleton.getFileName());
                byte[] content = Files.readAllBytes(from);
                // Unchanged files keep their timestamps, so JBang's cache of them holds.
                if (!Files.exists(to) || !java.util.Arrays.equals(Files.readAllBytes(to), content)) Files.write(to, content);
            }
        }
    }

    static List<String> run(Path work, Path state, String command) throws Exception {
        String script = command.startsWith("sudo ") ? command.substring(5) : command;
        ProcessBuilder pb = new ProcessBuilder("bash", "-c", script).directory(work.toFile()).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().put("JOCKER_ROOT", state.toString());
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(30, TimeUnit.MINUTES)) p.destroyForcibly();
        String text = new String(out, StandardCharsets.UTF_8)
                .replace(state.toString(), "/var/lib/jocker")
                .replace(work.toString() + "/", "");
        List<String> lines = new ArrayList<>(text.lines().toList());
        return lines;
    }

    static final Pattern ELLIPSIS = Pattern.compile("(?<!\")\\.\\.\\.");
    static final Pattern FD = Pattern.compile("(?<=pipe2\\(\\[)(\\d+), (\\d+)|(?<=close\\()(\\d+)(?=\\))");
    static final Pattern PID = Pattern.compile("^\\[pid +");
    static final Pattern WRITTEN_NUMBER = Pattern.compile("(, \"<(?:n|pid)\\d+>\"\\) = )\\d+$");
    static final Pattern PIDS = Pattern.compile("^\\[pid +(\\d+)\\]|posix_spawn\\(.*\\) = (\\d+)$");
    static final Pattern NUMBER_ANY = Pattern.compile("\\b\\d+\\b");
    static final Pattern CALLOUT = Pattern.compile("(\\s+<\\d+>)+\\s*$");
    static final Pattern TIME = Pattern.compile("\\b\\d+ min \\d+ s\\b|\\b\\d+(\\.\\d+)? ?(s|ms|min)\\b");
    static final Pattern TOKEN = Pattern.compile("\\btok[0-9a-f]{6,}");
    static final Pattern HEX = Pattern.compile("\\b[0-9a-f]{12,}\\b|\\b[0-9a-f]{4,}(?=\\.\\.\\.)|(?<=/)ID(?=[/\"])");
    static final Pattern CGROUP_PARENT = Pattern.compile("mkdir\\(\"/sys/fs/cgroup/(?:[^\"/]+/)?jocker\", ");
    static final Pattern JAVAC_WARNING = Pattern.compile("^\\S+\\.java:\\d+: warning: ");
    static final Pattern JAVAC_COUNT = Pattern.compile("\\d+ warnings?");
    static final Pattern JOBS = Pattern.compile("\\b\\d+ at a time\\b");
    static final Pattern NUMBER = Pattern.compile("\\b[1-9]\\d{3,}\\b");   // not 0755: modes are what they are

    /** The transcript with what varies from run to run set aside; big numbers renamed in order. */
    static List<String> normalize(List<String> lines) {
        Map<String, String> numbers = new HashMap<>(), fds = new HashMap<>();
        List<String> out = new ArrayList<>();
        // Pids: those in "[pid N]" and those posix_spawn returns, wherever they appear, by order.
        Map<String, String> pids = new HashMap<>();
        for (String line : lines) {
            Matcher p = PIDS.matcher(line);
            while (p.find()) {
                String n = p.group(1) != null ? p.group(1) : p.group(2);
                if (Integer.parseInt(n) > 1) pids.computeIfAbsent(n, k -> "<pid" + pids.size() + ">");
            }
        }
        int skip = 0;
        for (String line : lines) {
            // A first build's notes, not the program's output: JBang's ("[jbang] Building jar for ..."),
            // and javac's warnings (the line, the source line, the caret) and its closing count.
            if (skip > 0) { skip--; continue; }
            if (line.startsWith("[jbang] ") || JAVAC_COUNT.matcher(line).matches()) continue;
            // The cgroup parent is made by the first run on a machine only: which run that is varies.
            if (CGROUP_PARENT.matcher(line).find()) continue;
            if (JAVAC_WARNING.matcher(line).find()) { skip = 2; continue; }
            String l = CALLOUT.matcher(line).replaceAll("").stripTrailing();
            l = PID.matcher(l).replaceAll("[pid ");
            l = TIME.matcher(l).replaceAll("<time>");
            l = TOKEN.matcher(l).replaceAll("<token>");
            l = HEX.matcher(l).replaceAll("<id>");
            l = JOBS.matcher(l).replaceAll("<n> at a time");
            // File descriptors: which numbers the JVM has free differs from run to run.
            Matcher f = FD.matcher(l);
            StringBuilder fb = new StringBuilder();
            while (f.find()) {
                String r = f.group(3) != null ? fd(fds, f.group(3)) : fd(fds, f.group(1)) + ", " + fd(fds, f.group(2));
                f.appendReplacement(fb, Matcher.quoteReplacement(r));
            }
            f.appendTail(fb);
            l = fb.toString();
            Matcher q = NUMBER_ANY.matcher(l);
            StringBuilder qb = new StringBuilder();
            while (q.find()) q.appendReplacement(qb, Matcher.quoteReplacement(pids.getOrDefault(q.group(), q.group())));
            q.appendTail(qb);
            l = qb.toString();
            Matcher m = NUMBER.matcher(l);
            StringBuilder sb = new StringBuilder();
            while (m.find()) m.appendReplacement(sb, numbers.computeIfAbsent(m.group(), k -> "<n" + numbers.size() + ">"));
            m.appendTail(sb);
            // A pid written to a file: its length is write's result, and pids differ in length.
            out.add(WRITTEN_NUMBER.matcher(sb.toString()).replaceAll("$1<length>"));
        }
        return out;
    }

    static String fd(Map<String, String> fds, String n) {
        return fds.computeIfAbsent(n, k -> "<fd" + fds.size() + ">");
    }

    /** Line by line; a chapter's line "..." stands for any number of lines it leaves out. */
    static boolean matches(List<String> expected, List<String> actual) {
        return matches(expected, 0, actual, 0);
    }

    static boolean matches(List<String> e, int i, List<String> a, int j) {
        if (i == e.size()) return j == a.size();
        if (e.get(i).equals("...")) {
            for (int k = j; k <= a.size(); k++) if (matches(e, i + 1, a, k)) return true;
            return false;
        }
        return j < a.size() && line(e.get(i)).matcher(a.get(j)).matches() && matches(e, i + 1, a, j + 1);
    }

    /** A chapter's line as a pattern: "..." within it (not right after a quote, where it is the
     *  trace's own mark of a cut string) stands for any text the chapter leaves out. */
    static Pattern line(String expected) {
        StringBuilder regex = new StringBuilder();
        int from = 0;
        Matcher m = ELLIPSIS.matcher(expected);
        while (m.find()) {
            regex.append(Pattern.quote(expected.substring(from, m.start()))).append(".*");
            from = m.end();
        }
        return Pattern.compile(regex.append(Pattern.quote(expected.substring(from))).toString());
    }

    /** The lines that differ, each side with its line in the block. */
    static String diff(List<String> expected, List<String> actual) {
        List<String> a = normalize(expected), b = normalize(actual);
        StringBuilder sb = new StringBuilder();
        int n = Math.max(a.size(), b.size());
        for (int i = 0; i < n; i++) {
            String x = i < a.size() ? a.get(i) : null, y = i < b.size() ? b.get(i) : null;
            if (x != null && y != null && line(x).matcher(y).matches()) continue;
            if (x != null) sb.append("    chapter: ").append(x).append('\n');
            if (y != null) sb.append("    printed: ").append(y).append('\n');
            if (x != null && x.equals("...")) break;
        }
        return sb.toString().stripTrailing();
    }

    static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            System.err.println("transcripts: could not remove " + dir + ": " + e);
        }
    }
}
