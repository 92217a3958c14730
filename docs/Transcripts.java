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
//
// The host a transcript needs. What some commands print depends on the machine, not on the
// workbook: which cgroup trees it has, whether its PID 1 is systemd. Such a block says so with
// host=CONDITION in its brackets, and runs only on a host where the condition holds; elsewhere it
// is reported ("chapters/05-cgroups.adoc:46 shows a cgroup v2 host; this host is cgroup-hybrid:
// not replayed") and counted in the last line, never dropped silently. A chapter may pair two such blocks, one for the
// learners' VM (cgroup v2, systemd) and one for this book's CI machine (hybrid, no systemd). The
// conditions (the cgroup layout is lib/jocker/cgroups/Cgroups.detect's, as the runtime sees it):
//   cgroup-v2        every controller on cgroup2 (/sys/fs/cgroup), no v1 tree: the workshop VM
//   cgroup-hybrid    v1 trees for the controllers, and a cgroup2 mount beside them: the CI machine
//   cgroup-v1        v1 trees only
//   systemd          PID 1 is systemd (which makes / a shared mount at boot)
//   !CONDITION       the condition does not hold;  A+B  both hold
//
// A block shown from a file that the suite writes, not from a command typed here (what the
// cgroup v2 test VM printed), says from=PATH (relative to ROOT) and starts with a "# " line that
// says what ran there; the rest of the block is compared with the file as a command's output is.
// When the file is not there (the VM runs in ./build.sh test, on a host that is not cgroup v2
// itself) the block is reported as not verified, with that reason.
//
// How they run. A chapter's transcripts run in order, in one bash session, as a reader types them
// into one terminal: variables, the working directory and background jobs (&, $!, wait) carry
// from one command to the next and from one block to the next. Each "$ " line (a trailing \
// continues it, a here-document's lines go with it) runs as root, stdout and stderr together,
// stdin from /dev/null, in a scratch copy of the workbook whose steps/ are in the block's state
// (build/transcripts/work: links to everything but steps/). sudo runs the command as it is (the
// session is root already); pgrep and pkill see only the processes the session started, so that a
// transcript never signals a process of someone else. After a command that ends in &, the next one
// waits until the background job has printed as many lines as the chapter shows under it (a
// reader waits for "ready" too). A chapter starts with a state root of its own and ends with
// nothing of it left: a process still running then, a cgroup, a bridge or a chain of its own is a
// failure (and removed).
//
// What the chapters show, and what runs. A transcript shows the names a reader's machine has; the
// session runs with names of its own, so that it never touches the reader's, another worker's or
// a check's, and what it prints is mapped back:
//   /var/lib/jocker            a fresh state root per chapter (JOCKER_ROOT, as long: the trace cuts
//                              long strings at a length)
//   /sys/fs/cgroup/.../jocker  the cgroup parent jtcNNN (JOCKER_CGROUP_PARENT)
//   jocker0, JOCKER, 10.213.0. the bridge jtbNNNN, the chains JTNNNN and a subnet 10.213.250-254
//                              (JOCKER_BRIDGE, JOCKER_CHAINS, JOCKER_SUBNET; JOCKER_FORWARDING=0:
//                              the host's ip_forward is left alone)
//   127.0.0.1:5000             a registry started for the run (Debian's docker-registry on a free
//                              loopback port with 4 digits), which serves busybox:latest (the
//                              embedded busybox image, pushed by skopeo as OCI, created 20 days
//                              before), hello:v1 (the same, OCI) and hello:v2s2 (Docker schema 2)
//   8080                       a free port with 4 digits (a published port)
// and what differs from host to host, mapped to what the chapters show:
//   /user.slice/user-1000.slice/session-3.scope
//                              the session's own cgroup (a login shell's on a systemd machine), in
//                              whichever tree /proc/self/cgroup names one other than /
//   Debian GNU/Linux 12 (bookworm)  the host's PRETTY_NAME in /etc/os-release
//   6.18.44-fc-v657            the host's kernel release (uname -r)
//   /usr/lib/jvm/java-17-openjdk-amd64  the JDK that runs the workbook (JBang's, this JVM's too)
// The session has an IPC namespace of its own (ipcmk's ids start at 0 there) and every signal at
// its default disposition.
// A 12-digit id that a command printed and a later command uses (diff fb2efc81685b) is the id the
// run printed.
//
// Comparing. What a command prints must be the lines that follow it, up to the next "$ " line,
// once the parts that differ from run to run are set aside on both sides: times ("1.53 s",
// "12 ms"), hexadecimal ids of 12 digits and more (a chapter may write a path's id as ID or cut
// it, 46a5...), check tokens (tok...), "N at a time", pids (those of "[pid N]", "pid N" and what
// posix_spawn returns, and the kernel log's "pid=N" and "Killed process N", wherever they appear),
// the kernel log's time stamps ("[ 2248.805398]"), file descriptors of pipe2 and close, and other
// numbers of 4 digits and more, which must only match one to one: the same number in the same
// places. A chapter's line "..." stands for any number of lines, and "..." within a line for any
// text. The shell's own notices of its jobs ("bash: line 3: 4242 Killed ...") and the check
// harness's notes that a class's fixtures are ready (printed between any two classes, as they get
// ready) are not compared.
// Transcripts of `./build.sh check` (and of tests/vm/vm.sh check) take minutes each: they run only
// with --checks.
// --update writes what the commands printed into the blocks that differ (then read the diff).
// Exit 0 when every transcript matches, 1 with a diff per mismatch, 125 on a usage error.
//
//JAVA 17+
//JAVAC_OPTIONS -J-XX:TieredStopAtLevel=1 -J-XX:+UseSerialGC -J-XX:-UsePerfData
//SOURCES ../lib/jocker/cgroups/Cgroups.java ../lib/jocker/kernel/MountInfo.java ../lib/jocker/kernel/Trace.java
//SOURCES ../lib/jocker/runtime/ContainerError.java ../lib/jocker/runtime/Log.java

import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Reader;
import java.io.Writer;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import jocker.cgroups.Cgroups;
import jocker.kernel.MountInfo;

class Transcripts {
    static final Pattern BLOCK = Pattern.compile("^\\[source,console,(.*\\b)?role=transcript\\b(.*)\\]$");
    static final Pattern STEP = Pattern.compile("^(\\d\\d)_.*\\.java$");
    static final Pattern HEREDOC = Pattern.compile("<<(-?)\\s*(['\"]?)(\\w+)\\2");
    static final Pattern BACKGROUND = Pattern.compile("(?<![&|])&\\s*$");
    static final Random RANDOM = new Random();

    /** One "$ " command (its lines, here-document included; the first one's index), what the chapter shows it printing. */
    record Command(String text, List<String> expected, int firstLine) {
        boolean background() { return BACKGROUND.matcher(text).find(); }

        /** The lines of output a background job prints before the next command: what the chapter shows. */
        long shownLines() { return expected.stream().filter(l -> !l.equals("...")).count(); }
    }

    /**
     * A transcript block: where it is, its commands, and from its brackets: steps=done, host=CONDITION
     * (null: any host), from=PATH (null: its commands run here; else the file its output is compared with).
     */
    record Block(Path chapter, int line, boolean done, boolean check, List<Command> commands, int start, int end,
            String host, String from) {}

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

        long started = System.nanoTime();
        int ran = 0, skipped = 0, unverified = 0;
        // Blocks for another host, by the condition they need: "cgroup-v2" -> 5.
        Map<String, Integer> otherHost = new LinkedHashMap<>();
        List<String> failures = new ArrayList<>();
        Machine machine = Machine.detect();
        System.out.println("transcripts: this host is " + machine.cgroups + ", its PID 1 is " + machine.pid1);
        Host host = new Host(root);
        try {
            for (Path chapter : chapters) {
                List<String> lines = new ArrayList<>(Files.readAllLines(chapter));
                int nn = Integer.parseInt(chapter.getFileName().toString().substring(0, 2));
                List<Block> blocks = new ArrayList<>();
                for (Block b : parse(chapter, lines)) {
                    String where = root.relativize(chapter) + ":" + b.line();
                    if (b.host() != null && !machine.holds(b.host())) {
                        // Said, and counted: a block for another host is not a pass.
                        System.out.println("transcripts: " + where + " " + machine.mismatch(b.host()) + ": not replayed");
                        otherHost.merge(b.host(), 1, Integer::sum);
                    } else if (b.from() != null && !Files.isRegularFile(root.resolve(b.from()))) {
                        System.out.println("transcripts: " + where + " shows what " + b.from() + " holds, and this host has no such"
                                + " file (the suite writes it on some hosts only): not verified");
                        unverified++;
                    } else if (b.check() && !checks) {
                        skipped++;
                    } else {
                        blocks.add(b);
                    }
                }
                if (blocks.isEmpty()) continue;
                Map<Block, List<List<String>>> rewrite = new LinkedHashMap<>();
                long chapterStarted = System.nanoTime();
                List<Block> typed = blocks.stream().filter(b -> b.from() == null).toList();
                try (Chapter run = typed.isEmpty() ? null : new Chapter(root, work, host, typed)) {
                    for (Block block : blocks) {
                        if (block.from() != null) {
                            // Not run here: compared with the file the suite wrote.
                            ran++;
                            String where = root.relativize(chapter) + ":" + block.line();
                            Command command = block.commands().get(0);
                            List<String> printed = new ArrayList<>();
                            for (String l : Files.readAllLines(root.resolve(block.from()))) printed.add(Machine.shown(l));
                            List<String> expected = new ArrayList<>(List.of("# " + command.text())), actual = new ArrayList<>(expected);
                            expected.addAll(command.expected());
                            actual.addAll(printed);
                            boolean same = matches(normalize(expected), normalize(actual));
                            if (!same) {
                                failures.add(where + ": the transcript differs from " + block.from() + "\n" + diff(expected, actual));
                                rewrite.put(block, List.of(List.of("# " + command.text()), updated(command.expected(), printed)));
                            }
                            System.out.println("transcripts: " + where + " " + (same ? "ok" : "DIFFERS") + " (compared with " + block.from() + ")");
                            continue;
                        }
                        setSteps(root, work, nn, block.done());
                        List<String> expected = new ArrayList<>(), actual = new ArrayList<>();
                        List<List<String>> outputs = run.block(block);
                        for (int c = 0; c < block.commands().size(); c++) {
                            Command command = block.commands().get(c);
                            expected.add("$ " + command.text());
                            expected.addAll(command.expected());
                            actual.add("$ " + run.shown(command));
                            actual.addAll(outputs.get(c));
                        }
                        ran++;
                        String where = root.relativize(chapter) + ":" + block.line();
                        boolean same = matches(normalize(expected), normalize(actual));
                        if (!same && System.getenv("TRANSCRIPTS_DUMP") != null) {
                            Files.write(Path.of(System.getenv("TRANSCRIPTS_DUMP")), normalize(actual));
                            Files.write(Path.of(System.getenv("TRANSCRIPTS_DUMP") + ".expected"), normalize(expected));
                        }
                        if (!same) {
                            failures.add(where + ": the transcript differs from what the commands print now\n" + diff(expected, actual));
                            List<List<String>> body = new ArrayList<>();
                            for (int c = 0; c < block.commands().size(); c++) {
                                Command command = block.commands().get(c);
                                List<String> cmdLines = new ArrayList<>(List.of(run.shown(command).split("\n", -1)));
                                cmdLines.set(0, "$ " + cmdLines.get(0));
                                body.add(cmdLines);
                                body.add(updated(command.expected(), outputs.get(c)));
                            }
                            rewrite.put(block, body);
                        }
                        System.out.println("transcripts: " + where + " " + (same ? "ok" : "DIFFERS"));
                    }
                    String left = run == null ? "" : run.finish();
                    if (!left.isEmpty()) failures.add(root.relativize(chapter) + ": " + left);
                    System.out.printf("transcripts: %s: %d transcript(s) in %.0f s%n", root.relativize(chapter), blocks.size(),
                            (System.nanoTime() - chapterStarted) / 1e9);
                } catch (IOException e) {
                    // A command that never ended, or one bash cannot read: the other chapters still run.
                    failures.add(root.relativize(chapter) + ": " + e.getMessage());
                    System.out.println("transcripts: " + root.relativize(chapter) + ": stopped: " + e.getMessage());
                }
                if (update && !rewrite.isEmpty()) {
                    // From the last block up, so that the line numbers of the others hold.
                    List<Block> differing = new ArrayList<>(rewrite.keySet());
                    for (int b = differing.size() - 1; b >= 0; b--) {
                        Block block = differing.get(b);
                        List<String> body = new ArrayList<>();
                        rewrite.get(block).forEach(body::addAll);
                        for (int i = block.end() - 1; i >= block.start(); i--) lines.remove(i);
                        lines.addAll(block.start(), body);
                    }
                    Files.write(chapter, lines);
                }
            }
        } finally {
            host.close();
            String left = host.leftovers();
            if (!left.isEmpty()) failures.add(left);
        }
        List<String> notRun = new ArrayList<>();
        if (skipped > 0) notRun.add(skipped + " of ./build.sh check left to --checks");
        if (!otherHost.isEmpty()) {
            List<String> which = new ArrayList<>();
            otherHost.forEach((condition, n) -> which.add(n + " " + condition));
            notRun.add(otherHost.values().stream().mapToInt(Integer::intValue).sum() + " for another host (" + String.join(", ", which)
                    + "; this host is " + machine.cgroups + ", PID 1 " + machine.pid1 + ")");
        }
        if (unverified > 0) notRun.add(unverified + " whose file this host has not (see above)");
        System.out.printf("transcripts: %d transcript(s) run in %.0f s%s%n", ran, (System.nanoTime() - started) / 1e9,
                notRun.isEmpty() ? "" : "; not run: " + String.join(", ", notRun));
        if (!failures.isEmpty()) {
            failures.forEach(f -> System.out.println("transcripts: " + f));
            System.out.println("transcripts: " + failures.size() + " failure(s): transcripts in the chapters differ from what the"
                    + " commands print, or left something behind" + (update ? " (written into the chapters: review the diff)" : ""));
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
            Map<String, String> attributes = attributes(lines.get(i));
            boolean done = "done".equals(attributes.get("steps"));
            String host = attributes.get("host"), from = attributes.get("from");
            if (host != null) {
                String bad = Machine.unknown(host);
                if (bad != null) throw new IllegalStateException(chapter + ":" + (i + 1) + ": host=" + host + ": no such condition: "
                        + bad + " (see docs/Transcripts.java: " + String.join(", ", Machine.CONDITIONS) + ")");
            }
            int start = i + 2, end = start;
            while (end < lines.size() && !lines.get(end).equals("----")) end++;
            List<Command> commands = new ArrayList<>();
            boolean check = false;
            if (from != null) {
                // What ran elsewhere ("# ..."), then what it printed: compared with the file.
                if (start == end || !lines.get(start).startsWith("# ")) throw new IllegalStateException(chapter + ":" + (start + 1)
                        + ": a transcript from=" + from + " starts with a \"# \" line that says what ran");
                commands.add(new Command(lines.get(start).substring(2), new ArrayList<>(lines.subList(start + 1, end)), start));
                blocks.add(new Block(chapter, i + 1, done, false, commands, start, end, host, from));
                i = end;
                continue;
            }
            for (int j = start; j < end; ) {
                if (!lines.get(j).startsWith("$ ")) throw new IllegalStateException(chapter + ":" + (j + 1)
                        + ": a transcript starts with a \"$ \" line");
                int first = j;
                StringBuilder text = new StringBuilder(lines.get(j).substring(2));
                while (unfinished(text) && j + 1 < end) text.append('\n').append(lines.get(++j));
                Matcher h = HEREDOC.matcher(text);
                if (h.find()) {
                    String word = h.group(3);
                    boolean tabs = !h.group(1).isEmpty();
                    while (j + 1 < end) {
                        String l = lines.get(++j);
                        text.append('\n').append(l);
                        if ((tabs ? l.stripLeading() : l).equals(word)) break;
                    }
                }
                j++;
                List<String> expected = new ArrayList<>();
                while (j < end && !lines.get(j).startsWith("$ ")) expected.add(lines.get(j++));
                check |= text.toString().contains("./build.sh check") || text.toString().contains("vm.sh check");
                commands.add(new Command(text.toString(), expected, first));
            }
            blocks.add(new Block(chapter, i + 1, done, check, commands, start, end, host, from));
            i = end;
        }
        return blocks;
    }

    /** The named attributes of a block's brackets: [source,console,role=transcript,host=cgroup-v2] has role and host. */
    static Map<String, String> attributes(String line) {
        Map<String, String> named = new LinkedHashMap<>();
        for (String a : line.substring(1, line.length() - 1).split(",")) {
            int eq = a.indexOf('=');
            if (eq > 0) named.put(a.substring(0, eq).strip(), a.substring(eq + 1).strip().replaceAll("^\"(.*)\"$", "$1"));
        }
        return named;
    }

    /** A command that goes on on the next line: a trailing \\, or a quote still open. */
    static boolean unfinished(CharSequence text) {
        boolean single = false, dbl = false;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (single) single = c != '\'';
            else if (c == '\\') { if (++i == text.length()) return true; }
            else if (c == '\'' && !dbl) single = true;
            else if (c == '"') dbl = !dbl;
        }
        return single || dbl;
    }

    /** A scratch workbook: links to all of ROOT but steps/, which setSteps fills; and bin/, the session's shims. */
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
        Path bin = root.resolve("build/transcripts/bin");
        Files.createDirectories(bin);
        writeScript(bin.resolve("sudo"), "#!/bin/sh\n# The transcripts' sudo: the session is root already.\nexec \"$@\"\n");
        String pgrep = """
                #!/bin/bash
                # The transcripts' pgrep and pkill: as procps', with -f, -x and pkill's -SIGNAL, but only among
                # the processes that descend from the transcript's shell ($TRANSCRIPT_SHELL).
                name=${0##*/} full= exact= signal=TERM
                while [ $# -gt 0 ]; do
                  case "$1" in
                    -f) full=1 ;;
                    -x) exact=1 ;;
                    -[A-Z]*|-[0-9]*) [ "$name" = pkill ] || { echo "$name: $1: not supported here" >&2; exit 2; }; signal=${1#-} ;;
                    --) shift; break ;;
                    -*) echo "$name: $1: not supported in a transcript" >&2; exit 2 ;;
                    *) break ;;
                  esac
                  shift
                done
                [ $# -eq 1 ] || { echo "usage: $name [-f] [-x] PATTERN" >&2; exit 2; }
                pattern=$1
                [ -n "$exact" ] && pattern="^($pattern)\\$"
                ours() {
                  local p=$1 s
                  while [ "$p" -gt 1 ]; do
                    [ "$p" = "$TRANSCRIPT_SHELL" ] && return 0
                    s=$(cat "/proc/$p/stat" 2>/dev/null) || return 1
                    s=${s##*) }; set -- $s; p=$2
                  done
                  return 1
                }
                found=()
                for d in /proc/[0-9]*; do
                  p=${d#/proc/}
                  [ "$p" = $$ ] && continue
                  if [ -n "$full" ]; then what=$( { tr '\\0' ' ' < "$d/cmdline"; } 2>/dev/null); what=${what% }
                  else what=$( { cat "$d/comm"; } 2>/dev/null); fi
                  [ -n "$what" ] && [[ $what =~ $pattern ]] && ours "$p" && found+=("$p")
                done
                [ ${#found[@]} -gt 0 ] || exit 1
                if [ "$name" = pkill ]; then kill -"$signal" "${found[@]}"; else printf '%s\\n' "${found[@]}"; fi
                """;
        writeScript(bin.resolve("pgrep"), pgrep);
        writeScript(bin.resolve("pkill"), pgrep);
    }

    static void writeScript(Path file, String text) throws IOException {
        if (!Files.exists(file) || !Files.readString(file).equals(text)) Files.writeString(file, text);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
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

    // ------------------------------------------------------------------------------------------
    // What the whole run shares: names of its own, the registry, and what is left at the end
    // ------------------------------------------------------------------------------------------

    /** The run's own names (cgroup parent, bridge, chains, subnet) and, once a chapter needs it, its registry. */
    static final class Host implements AutoCloseable {
        final Path root;
        final String cgroupParent = "jtc" + hex(3);
        final String bridge = "jtb" + hex(4);
        final String chains = "JTN" + hex(3).toUpperCase();
        final int third;
        Registry registry;

        Host(Path root) {
            this.root = root;
            String routes = output(List.of("ip", "-4", "route", "show", "table", "all"));
            int t = 250 + RANDOM.nextInt(5);
            for (int i = 0; i < 5 && routes.contains("10.213." + t + "."); i++) t = 250 + (t - 250 + 1) % 5;
            third = t;
        }

        Registry registry() throws IOException, InterruptedException {
            if (registry == null) registry = Registry.start(root);
            return registry;
        }

        /** What the run left of its names on the host: cgroups, a bridge, chains (each also removed). */
        String leftovers() {
            List<String> left = new ArrayList<>();
            List<Path> parents = new ArrayList<>(List.of(Path.of("/sys/fs/cgroup", cgroupParent)));
            try (Stream<Path> s = Files.list(Path.of("/sys/fs/cgroup"))) {
                s.forEach(h -> parents.add(h.resolve(cgroupParent)));
            } catch (IOException e) {
                // no cgroup tree at all
            }
            for (Path p : parents) {
                if (!Files.isDirectory(p)) continue;
                try (Stream<Path> s = Files.list(p)) {
                    s.filter(Files::isDirectory).forEach(c -> {
                        left.add("cgroup " + c);
                        c.toFile().delete();
                    });
                } catch (IOException e) {
                    left.add("cgroup " + p + " (" + e + ")");
                }
                if (!p.toFile().delete()) left.add("cgroup " + p + " (not empty)");
            }
            return left.isEmpty() ? "" : "the transcripts left " + String.join(", ", left);
        }

        @Override
        public void close() {
            if (registry != null) registry.close();
        }
    }

    /**
     * What this host is, for the blocks that say host=CONDITION: its cgroup layout (as the runtime
     * finds it, Cgroups.detect) and its PID 1; and the details that differ from host to host, each
     * with what the chapters show instead.
     */
    static final class Machine {
        static final List<String> CONDITIONS = List.of("cgroup-v2", "cgroup-hybrid", "cgroup-v1", "systemd");
        /** How a chapter's condition reads in a sentence: "05:312 shows a cgroup v2 host". */
        static final Map<String, String> SHOWS = Map.of(
                "cgroup-v2", "a cgroup v2 host", "cgroup-hybrid", "a host with hybrid cgroups (v1 trees and a cgroup2 mount)",
                "cgroup-v1", "a cgroup v1 host", "systemd", "a host whose PID 1 is systemd");
        static final Map<String, String> SHOWS_NOT = Map.of(
                "cgroup-v2", "a host that is not pure cgroup v2", "cgroup-hybrid", "a host without hybrid cgroups",
                "cgroup-v1", "a host that is not cgroup v1", "systemd", "a host whose PID 1 is not systemd");

        /** cgroup-v2, cgroup-hybrid, cgroup-v1, or none (no cgroup tree serves a controller). */
        final String cgroups;
        /** The name of PID 1 (/proc/1/comm). */
        final String pid1;

        Machine(String cgroups, String pid1) {
            this.cgroups = cgroups;
            this.pid1 = pid1;
        }

        static Machine detect() {
            Cgroups.Layout layout = Cgroups.detect();
            boolean v1 = false, v2 = false;
            for (String c : knownControllers()) {
                Cgroups.Hierarchy h = layout.of(c);
                if (h == null) continue;
                if (h.version() == Cgroups.Version.V1) v1 = true;
                else v2 = true;
            }
            boolean cgroup2 = MountInfo.read().stream().anyMatch(m -> m.fsType().equals("cgroup2"));
            String cgroups = v1 ? (cgroup2 ? "cgroup-hybrid" : "cgroup-v1") : v2 ? "cgroup-v2" : "none";
            String pid1;
            try {
                pid1 = Files.readString(Path.of("/proc/1/comm")).strip();
            } catch (IOException e) {
                pid1 = "unknown";
            }
            return new Machine(cgroups, pid1);
        }

        /** The controllers this kernel has (/proc/cgroups), whichever tree serves them. */
        static List<String> knownControllers() {
            try {
                return Files.readAllLines(Path.of("/proc/cgroups")).stream().filter(l -> !l.startsWith("#") && !l.isBlank())
                        .map(l -> l.split("\\s+")[0]).toList();
            } catch (IOException e) {
                return List.of();
            }
        }

        /** The first unknown condition of an expression such as "cgroup-v2+!systemd", or null. */
        static String unknown(String expression) {
            for (String term : expression.split("\\+")) {
                String c = term.startsWith("!") ? term.substring(1) : term;
                if (!CONDITIONS.contains(c)) return term;
            }
            return null;
        }

        boolean holds(String expression) {
            for (String term : expression.split("\\+")) {
                boolean not = term.startsWith("!");
                if (holdsOne(not ? term.substring(1) : term) == not) return false;
            }
            return true;
        }

        boolean holdsOne(String condition) {
            return condition.equals("systemd") ? pid1.equals("systemd") : condition.equals(cgroups);
        }

        /** Why a block for {@code expression} does not run here: "shows a cgroup v2 host; this host is cgroup-hybrid". */
        String mismatch(String expression) {
            List<String> shows = new ArrayList<>(), is = new ArrayList<>();
            for (String term : expression.split("\\+")) {
                boolean not = term.startsWith("!");
                String c = not ? term.substring(1) : term;
                if (holdsOne(c) != not) continue;
                shows.add((not ? SHOWS_NOT : SHOWS).get(c));
                is.add(c.equals("systemd") ? "this host's PID 1 is " + pid1 : "this host is " + cgroups);
            }
            return "shows " + String.join(" and ", shows) + "; " + String.join(", ", is);
        }

        static final List<String[]> DETAILS = details();

        /** A line as a chapter shows it: this host's details replaced by what the chapters show. */
        static String shown(String printed) {
            String text = printed;
            for (String[] d : DETAILS) text = text.replace(d[1], d[0]);
            return text;
        }

        /** What differs from host to host in what commands print, each with what the chapters show. */
        static List<String[]> details() {
            List<String[]> shown = new ArrayList<>();
            String javaHome = System.getProperty("java.home");
            if (javaHome != null) shown.add(new String[] {"/usr/lib/jvm/java-17-openjdk-amd64", javaHome});
            try {
                for (String l : Files.readAllLines(Path.of("/etc/os-release"))) {
                    if (l.startsWith("PRETTY_NAME=")) shown.add(new String[] {"Debian GNU/Linux 12 (bookworm)",
                            l.substring("PRETTY_NAME=".length()).replaceAll("^\"(.*)\"$", "$1")});
                }
            } catch (IOException e) {
                // no os-release: nothing to map
            }
            shown.add(new String[] {"6.18.44-fc-v657", System.getProperty("os.version")});
            shown.removeIf(n -> n[1] == null || n[1].isEmpty() || n[0].equals(n[1]));
            return shown;
        }
    }

    static String hex(int digits) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < digits; i++) b.append(Character.forDigit(RANDOM.nextInt(16), 16));
        return b.toString();
    }

    /** A free port of 127.0.0.1 (and of 0.0.0.0) with 4 digits, as wide as the one a chapter shows. */
    static int freePort() throws IOException {
        for (int i = 0; i < 200; i++) {
            int port = 5001 + RANDOM.nextInt(4999);
            try (ServerSocket any = new ServerSocket()) {
                any.bind(new InetSocketAddress(port));
                return port;
            } catch (IOException taken) {
                // another one
            }
        }
        throw new IOException("no free port from 5001 to 9999");
    }

    static String output(List<String> command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor(60, TimeUnit.SECONDS);
            return out;
        } catch (IOException e) {
            return "";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "";
        }
    }

    /** Runs a tool, or fails with its command line and output. */
    static void tool(Path dir, List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(180, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", command) + " failed: " + out.strip());
        }
    }

    /**
     * The registry that a chapter shows as 127.0.0.1:5000: Debian's docker-registry (Distribution 2.8)
     * on a free loopback port, its storage in a temp directory, stopped through the Process that
     * started it. Its images are made as the checks make theirs (tests/support/Fixtures.java): umoci
     * stacks the embedded busybox image into an OCI layout, skopeo pushes it.
     */
    static final class Registry implements AutoCloseable {
        final Path dir;
        final int port;
        final Process process;

        Registry(Path dir, int port, Process process) {
            this.dir = dir;
            this.port = port;
            this.process = process;
        }

        static Registry start(Path root) throws IOException, InterruptedException {
            Path dir = Files.createTempDirectory("jocker-transcripts-registry-");
            Registry r = null;
            try {
                for (int attempt = 0; attempt < 5 && r == null; attempt++) {
                    int port = freePort();
                    Path config = dir.resolve("config.yml");
                    Files.writeString(config, "version: 0.1\n"
                            + "log:\n  level: warn\n  accesslog:\n    disabled: true\n"
                            + "storage:\n  filesystem:\n    rootdirectory: " + dir.resolve("storage") + "\n"
                            + "http:\n  addr: 127.0.0.1:" + port + "\n  secret: jocker-transcripts-" + hex(16) + "\n");
                    Process p = new ProcessBuilder("docker-registry", "serve", config.toString())
                            .redirectErrorStream(true).redirectOutput(dir.resolve("registry.log").toFile())
                            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
                    Registry candidate = new Registry(dir, port, p);
                    if (candidate.awaitReady()) r = candidate;
                    else candidate.stop();
                }
                if (r == null) throw new IOException("docker-registry did not start on 127.0.0.1: "
                        + Files.readString(dir.resolve("registry.log")).strip());
                Path oci = dir.resolve("oci");
                String image = oci + ":busybox";
                tool(dir, List.of("umoci", "init", "--layout", oci.toString()));
                tool(dir, List.of("umoci", "new", "--image", image));
                tool(dir, List.of("umoci", "raw", "add-layer", "--image", image, root.resolve("build/images/busybox.tar").toString()));
                // Created long enough ago that `images` shows it the same in every run: "2 weeks ago".
                String created = Instant.now().minus(20, ChronoUnit.DAYS).truncatedTo(ChronoUnit.SECONDS).toString();
                tool(dir, List.of("umoci", "config", "--image", image, "--config.cmd", "sh", "--created", created,
                        "--history.created", created, "--history.created_by", "transcripts: the embedded busybox image"));
                String host = "127.0.0.1:" + r.port;
                for (String[] push : new String[][] {{"busybox:latest"}, {"hello:v1"}, {"hello:v2s2", "--format", "v2s2"}}) {
                    List<String> cmd = new ArrayList<>(List.of("skopeo", "copy", "--quiet", "--dest-tls-verify=false"));
                    cmd.addAll(List.of(push).subList(1, push.length));
                    cmd.addAll(List.of("oci:" + image, "docker://" + host + "/" + push[0]));
                    tool(dir, cmd);
                }
                return r;
            } catch (IOException | InterruptedException | RuntimeException e) {
                if (r != null) r.close();
                else deleteTree(dir);
                throw e;
            }
        }

        boolean awaitReady() throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (System.nanoTime() < deadline && process.isAlive()) {
                try {
                    HttpURLConnection c = (HttpURLConnection) URI.create("http://127.0.0.1:" + port + "/v2/").toURL().openConnection();
                    c.setConnectTimeout(1000);
                    c.setReadTimeout(2000);
                    int status = c.getResponseCode();
                    c.disconnect();
                    if (status == 200) return true;
                } catch (IOException notYet) {
                    // still starting
                }
                Thread.sleep(50);
            }
            return false;
        }

        void stop() throws InterruptedException {
            process.destroy();
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        }

        @Override
        public void close() {
            try {
                stop();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            deleteTree(dir);
        }
    }

    // ------------------------------------------------------------------------------------------
    // A chapter's session
    // ------------------------------------------------------------------------------------------

    /** A chapter's bash session, its state root, and the names it shows and runs with. */
    static final class Chapter implements AutoCloseable {
        final Path root, work, state;
        final Host host;
        final Process bash;
        final Writer in;
        final StringBuilder out = new StringBuilder();
        final Thread reader;
        final String mark = "@@transcript-" + hex(12) + "-";
        /** Chapter text to the text that runs, and what runs prints back to the chapter's text, in order. */
        final List<String[]> names = new ArrayList<>();
        /** The cgroups the session is in (other than a tree's root), shown as a login shell's on a systemd machine. */
        final List<String> sessionCgroups = new ArrayList<>();
        static final String SESSION_CGROUP = "/user.slice/user-1000.slice/session-3.scope";
        /** Ids the chapter shows to the ids the run printed (a later command may use one). */
        final Map<String, String> ids = new LinkedHashMap<>();
        int count;

        Chapter(Path root, Path work, Host host, List<Block> blocks) throws IOException, InterruptedException {
            this.root = root;
            this.work = work;
            this.host = host;
            Path s = null;
            for (int i = 0; s == null; i++) {
                try {
                    // As long as /var/lib/jocker, which it is shown as: the trace cuts long strings at a length.
                    s = Files.createDirectory(Path.of(String.format("/tmp/jocker%04x", RANDOM.nextInt(0x10000))));
                } catch (java.nio.file.FileAlreadyExistsException e) {
                    if (i > 100) throw e;
                }
            }
            state = s;
            Files.createDirectories(state.resolve("images"));
            Files.createSymbolicLink(state.resolve("images/busybox.tar"), root.resolve("build/images/busybox.tar"));

            String all = blocks.stream().flatMap(b -> b.commands().stream()).map(Command::text).reduce("", String::concat);
            names.add(new String[] {"/var/lib/jocker", state.toString()});
            if (all.contains("127.0.0.1:5000")) names.add(new String[] {"127.0.0.1:5000", "127.0.0.1:" + host.registry().port});
            if (all.contains("8080")) names.add(new String[] {"8080", Integer.toString(freePort())});
            names.add(new String[] {"jocker0", host.bridge});
            names.add(new String[] {"JOCKER", host.chains});
            names.add(new String[] {"10.213.0.", "10.213." + host.third + "."});

            // Signals at their defaults, as in a reader's terminal, whatever the caller ignores (nohup,
            // a job in the background): an ignored signal stays ignored through exec, and --trace shows
            // init setting it back.
            ProcessBuilder pb = new ProcessBuilder("env", "--default-signal", "unshare", "--ipc", "bash", "--noprofile", "--norc")
                    .directory(work.toFile()).redirectErrorStream(true);
            Map<String, String> env = pb.environment();
            env.put("PATH", root.resolve("build/transcripts/bin") + ":" + env.getOrDefault("PATH", "/usr/bin:/bin"));
            env.put("LC_ALL", "C.UTF-8");
            env.put("JOCKER_ROOT", state.toString());
            env.put("JOCKER_CGROUP_PARENT", host.cgroupParent);
            env.put("JOCKER_BRIDGE", host.bridge);
            env.put("JOCKER_CHAINS", host.chains);
            env.put("JOCKER_SUBNET", "10.213." + host.third + ".0/24");
            env.put("JOCKER_FORWARDING", "0");
            env.remove("JOCKER_TRACE");
            env.remove("JOCKER_DEBUG");
            bash = pb.start();
            in = new OutputStreamWriter(bash.getOutputStream(), StandardCharsets.UTF_8);
            reader = new Thread(() -> {
                char[] buf = new char[8192];
                try (Reader r = new InputStreamReader(bash.getInputStream(), StandardCharsets.UTF_8)) {
                    for (int n; (n = r.read(buf)) > 0; ) {
                        synchronized (out) {
                            out.append(buf, 0, n);
                            out.notifyAll();
                        }
                    }
                } catch (IOException e) {
                    // the session ended
                }
            }, "transcript-output");
            reader.setDaemon(true);
            reader.start();
            send("export TRANSCRIPT_SHELL=$$\n");
            // The session's own cgroup, where /proc/PID/cgroup names one other than the root (a login
            // shell's session scope on a systemd machine; on this CI machine, its memory tree's cgroup).
            try {
                for (String l : Files.readAllLines(Path.of("/proc", Long.toString(bash.pid()), "cgroup"))) {
                    String path = l.split(":", 3)[2];
                    if (path.length() > 1 && sessionCgroups.stream().noneMatch(path::equals)) sessionCgroups.add(path);
                }
            } catch (IOException | ArrayIndexOutOfBoundsException e) {
                // no cgroups to name
            }
        }

        void send(String text) throws IOException {
            in.write(text);
            in.flush();
        }

        /** The command as the chapter shows it, with the ids the run printed. */
        String shown(Command command) {
            String text = command.text();
            for (Map.Entry<String, String> e : ids.entrySet()) text = text.replace(e.getKey(), e.getValue());
            return text;
        }

        String toRun(String shown) {
            String text = shown;
            for (String[] n : names) text = replace(text, n[0], n[1]);
            // The cgroup parent, where a path names it.
            return text.replaceAll("(/sys/fs/cgroup/(?:[^/\\s\"']+/)?)jocker(?=[/\\s\"']|$)", "$1" + host.cgroupParent);
        }

        String toChapter(String printed) {
            String text = printed.replace(work + "/", "");
            for (String[] n : names) text = replace(text, n[1], n[0]);
            for (String c : sessionCgroups) text = text.replaceAll(Pattern.quote(c) + "(?![\\w.-])", SESSION_CGROUP);
            return Machine.shown(replace(text, host.cgroupParent, "jocker"));
        }

        /** {@code from} as a whole word where it starts or ends with a letter or digit: 8080, not 18080. */
        static String replace(String text, String from, String to) {
            String regex = (Character.isLetterOrDigit(from.charAt(0)) ? "(?<![\\w.])" : "") + Pattern.quote(from)
                    + (Character.isLetterOrDigit(from.charAt(from.length() - 1)) ? "(?![\\w])" : "");
            return text.replaceAll(regex, Matcher.quoteReplacement(to));
        }

        /** Runs a block's commands; what each printed, as the chapter would show it. */
        List<List<String>> block(Block block) throws IOException, InterruptedException {
            for (Command command : block.commands()) {
                // An unfinished command (a quote left open) would make the session wait for the rest.
                Process check = new ProcessBuilder("bash", "-n").redirectErrorStream(true).start();
                check.getOutputStream().write(toRun(shown(command)).getBytes(StandardCharsets.UTF_8));
                check.getOutputStream().close();
                String why = new String(check.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
                if (check.waitFor() != 0) {
                    throw new IOException(block.chapter() + ":" + (command.firstLine() + 1) + ": not a command bash can run: " + why);
                }
            }
            // One command at a time, each between its own marks: an id one prints, a later one may use.
            int minutes = block.check() ? 30 : 5;
            List<Integer> marks = new ArrayList<>();
            for (Command command : block.commands()) {
                int n = count++;
                marks.add(n);
                String started = mark + "s" + n + "@@\n", ended = mark + "e" + n + "@@\n";
                send("printf '\\n%s\\n' '" + started.strip() + "'\n{ " + toRun(shown(command)) + "\n} </dev/null\n"
                        + (command.background() ? "" : "printf '\\n%s\\n' '" + ended.strip() + "'\n"));
                if (command.background()) {
                    // As a reader waits for it: what the job prints before the next command.
                    long lines = command.shownLines();
                    await(t -> {
                        int at = t.indexOf(started);
                        return at >= 0 && t.substring(at + started.length()).chars().filter(c -> c == '\n').count() >= lines;
                    }, 120);
                } else if (!await(t -> t.contains(ended), minutes * 60)) {
                    throw new IOException(block.chapter() + ":" + (command.firstLine() + 1) + ": the command ran for " + minutes + " minutes");
                }
                learnIds(command.expected(), printed(n));
            }
            List<List<String>> outputs = new ArrayList<>();
            for (int n : marks) outputs.add(printed(n));
            return outputs;
        }

        /** What command N printed so far, as the chapter would show it: from its mark to the next one. */
        List<String> printed(int n) {
            String all;
            synchronized (out) {
                all = out.toString();
            }
            String started = mark + "s" + n + "@@\n";
            int from = all.indexOf(started);
            if (from < 0) return List.of();
            from += started.length();
            int to = all.indexOf("\n" + mark, from);
            List<String> printed = new ArrayList<>();
            for (String line : toChapter(all.substring(from, to < 0 ? all.length() : to)).lines().toList()) {
                if (!JOB_NOTICE.matcher(line).matches()) printed.add(line);
            }
            return printed;
        }

        /** The ids of 12 hex digits and more that the chapter shows, paired with those printed, if as many. */
        void learnIds(List<String> expected, List<String> printed) {
            List<String> e = ids(expected), p = ids(printed);
            if (e.size() != p.size()) return;
            for (int i = 0; i < e.size(); i++) if (!e.get(i).equals(p.get(i))) ids.put(e.get(i), p.get(i));
        }

        static List<String> ids(List<String> lines) {
            List<String> found = new ArrayList<>();
            for (String l : lines) {
                Matcher m = ID.matcher(l);
                while (m.find()) found.add(m.group());
            }
            return found;
        }

        boolean await(Predicate<String> done, int seconds) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            synchronized (out) {
                while (!done.test(out.toString())) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0 || (!bash.isAlive() && !reader.isAlive())) return false;
                    out.wait(Math.max(1, Math.min(1000, left / 1_000_000)));
                }
            }
            return true;
        }

        /** Ends the session; what it left behind (processes, a network), each also removed. */
        String finish() throws IOException, InterruptedException {
            List<String> left = new ArrayList<>();
            // A job still running: the chapter should have ended it (kill, wait). Give it a moment.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            while (bash.descendants().findAny().isPresent() && System.nanoTime() < deadline) Thread.sleep(200);
            List<ProcessHandle> jobs = bash.descendants().toList();
            for (ProcessHandle p : jobs) {
                left.add("a process still running (pid " + p.pid() + ": " + p.info().commandLine().orElse("?") + ")");
                p.destroy();
            }
            for (ProcessHandle p : jobs) {
                try {
                    p.onExit().get(5, TimeUnit.SECONDS);
                } catch (Exception e) {
                    p.destroyForcibly();
                }
            }
            // The networks the chapter made: network rm, as a reader would.
            Path networks = state.resolve("networks");
            if (Files.isDirectory(networks)) {
                try (Stream<Path> s = Files.list(networks)) {
                    for (Path n : s.filter(d -> Files.isRegularFile(d.resolve("network.json"))).toList()) {
                        send("{ jbang solutions/08_network.java network rm " + n.getFileName() + "\n} </dev/null >/dev/null 2>&1\n");
                    }
                }
            }
            send("exit\n");
            in.close();
            if (!bash.waitFor(120, TimeUnit.SECONDS)) {
                left.add("the session did not end");
                bash.destroyForcibly();
            }
            if (Files.exists(Path.of("/sys/class/net", host.bridge))) {
                left.add("the bridge " + host.bridge);
                output(List.of("ip", "link", "del", host.bridge));
            }
            String rules = output(List.of("iptables-save"));
            if (rules.contains(host.chains)) {
                left.add("iptables rules of the chains " + host.chains + "*");
                removeChains(rules, host.chains);
            }
            for (String line : output(List.of("findmnt", "-rn", "-o", "TARGET")).lines().toList()) {
                if (line.startsWith(state + "/")) left.add("a mount " + line);
            }
            return left.isEmpty() ? "" : "the chapter's transcripts left " + String.join(", ", left);
        }

        @Override
        public void close() {
            bash.descendants().forEach(ProcessHandle::destroyForcibly);
            if (bash.isAlive()) bash.destroyForcibly();
            // Mounts that a chapter left would be deleted through: unmount them first.
            List<String> mounts = new ArrayList<>(output(List.of("findmnt", "-rn", "-o", "TARGET")).lines()
                    .filter(l -> l.startsWith(state + "/")).toList());
            java.util.Collections.reverse(mounts);
            for (String m : mounts) output(List.of("umount", "-l", m));
            deleteTree(state);
        }
    }

    /** Removes the rules that jump to our chains, then the chains, from an iptables-save listing. */
    static void removeChains(String rules, String prefix) {
        String table = null;
        List<String[]> chains = new ArrayList<>();
        for (String line : rules.lines().toList()) {
            if (line.startsWith("*")) table = line.substring(1);
            else if (line.startsWith(":" + prefix)) chains.add(new String[] {table, line.substring(1).split(" ")[0]});
            else if (line.startsWith("-A ") && line.contains(prefix) && !line.startsWith("-A " + prefix)) {
                List<String> cmd = new ArrayList<>(List.of("iptables", "-t", table));
                cmd.addAll(List.of(line.replaceFirst("^-A ", "-D ").split(" ")));
                output(cmd);
            }
        }
        for (String[] c : chains) output(List.of("iptables", "-t", c[0], "-F", c[1]));
        for (String[] c : chains) output(List.of("iptables", "-t", c[0], "-X", c[1]));
    }

    // ------------------------------------------------------------------------------------------
    // Comparing
    // ------------------------------------------------------------------------------------------

    static final Pattern JOB_NOTICE = Pattern.compile("^bash: line \\d+: +\\d+ [A-Z][a-z]+.*$");
    static final Pattern ID = Pattern.compile("\\b[0-9a-f]{12,}\\b");
    static final Pattern ELLIPSIS = Pattern.compile("(?<!\")\\.\\.\\.");
    static final Pattern FD = Pattern.compile("(?<=pipe2\\(\\[)(\\d+), (\\d+)|(?<=close\\()(\\d+)(?=\\))");
    static final Pattern PID = Pattern.compile("^\\[pid +");
    static final Pattern WRITTEN_NUMBER = Pattern.compile("(, \"<(?:n|pid)\\d+>\"\\) = )\\d+$");
    static final Pattern PIDS = Pattern.compile("^\\[pid +(\\d+)\\]|posix_spawn\\(.*\\) = (\\d+)$|\\bpid[ =](\\d+)\\b|\\bKilled process (\\d+)\\b");
    /** The kernel log's time stamp: seconds since boot, as dmesg prints it ("[ 2248.805398] "). */
    static final Pattern UPTIME = Pattern.compile("^\\[ *\\d+\\.\\d{6}\\]");
    static final Pattern NUMBER_ANY = Pattern.compile("\\b\\d+\\b");
    static final Pattern CALLOUT = Pattern.compile("(\\s+<\\d+>)+\\s*$");
    static final Pattern TIME = Pattern.compile("\\b\\d+ min \\d+ s\\b|\\b\\d+(\\.\\d+)? ?(s|ms|min)\\b");
    static final Pattern TOKEN = Pattern.compile("\\btok[0-9a-f]{6,}");
    static final Pattern HEX = Pattern.compile("\\b[0-9a-f]{12,}\\b|\\b[0-9a-f]{4,}(?=\\.\\.\\.)|(?<=/)ID(?=[/\"])");
    static final Pattern CGROUP_PARENT = Pattern.compile("mkdir\\(\"/sys/fs/cgroup/(?:[^\"/]+/)?jocker\", ");
    static final Pattern JAVAC_WARNING = Pattern.compile("^\\S+\\.java:\\d+: warning: ");
    static final Pattern JAVAC_COUNT = Pattern.compile("\\d+ warnings?");
    /** The check harness's note that a class's fixtures are ready: printed when they are, between any two classes. */
    static final Pattern CHECK_PROGRESS = Pattern.compile("^checks: \\w+: .* ready in .*$");
    static final Pattern JOBS = Pattern.compile("\\b\\d+ at a time\\b");
    static final Pattern NUMBER = Pattern.compile("\\b[1-9]\\d{3,}\\b");   // not 0755: modes are what they are

    /** The transcript with what varies from run to run set aside; big numbers renamed in order. */
    static List<String> normalize(List<String> lines) {
        Map<String, String> numbers = new HashMap<>(), fds = new HashMap<>();
        List<String> out = new ArrayList<>();
        // Pids: those in "[pid N]", "pid N" and those posix_spawn returns, wherever they appear, by order.
        Map<String, String> pids = new HashMap<>();
        for (String line : lines) {
            Matcher p = PIDS.matcher(line);
            while (p.find()) {
                String n = p.group(1) != null ? p.group(1) : p.group(2) != null ? p.group(2) : p.group(3) != null ? p.group(3) : p.group(4);
                if (Integer.parseInt(n) > 1) pids.computeIfAbsent(n, k -> "<pid" + pids.size() + ">");
            }
        }
        int skip = 0;
        for (String line : lines) {
            // A first build's notes, not the program's output: JBang's ("[jbang] Building jar for ..."),
            // and javac's warnings (the line, the source line, the caret) and its closing count.
            if (skip > 0) { skip--; continue; }
            if (line.startsWith("[jbang] ") || JAVAC_COUNT.matcher(line).matches() || CHECK_PROGRESS.matcher(line).matches()) continue;
            // The cgroup parent is made by the first run on a machine only: which run that is varies.
            if (CGROUP_PARENT.matcher(line).find()) continue;
            if (JAVAC_WARNING.matcher(line).find()) { skip = 2; continue; }
            String l = CALLOUT.matcher(line).replaceAll("").stripTrailing();
            l = PID.matcher(l).replaceAll("[pid ");
            l = TIME.matcher(l).replaceAll("<time>");
            l = UPTIME.matcher(l).replaceAll("[<uptime>]");
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

    /**
     * What --update writes for a command: the chapter's lines if they match (its "..." kept), else
     * what it printed, without a first build's notes, with the chapter's callouts kept on the lines
     * that still match.
     */
    static List<String> updated(List<String> expected, List<String> printed) {
        if (matches(normalize(expected), normalize(printed))) return expected;
        List<String> kept = new ArrayList<>();
        int skip = 0;
        for (String line : printed) {
            if (skip > 0) { skip--; continue; }
            if (line.startsWith("[jbang] ") || JAVAC_COUNT.matcher(line).matches() || CHECK_PROGRESS.matcher(line).matches()) continue;
            if (JAVAC_WARNING.matcher(line).find()) { skip = 2; continue; }
            kept.add(line);
        }
        for (int i = 0; i < Math.min(expected.size(), kept.size()); i++) {
            Matcher callout = CALLOUT.matcher(expected.get(i));
            if (callout.find() && matches(normalize(List.of(expected.get(i))), normalize(List.of(kept.get(i))))) {
                kept.set(i, expected.get(i));
            }
        }
        return kept;
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
        if (!Files.exists(dir)) return;
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            System.err.println("transcripts: could not remove " + dir + ": " + e);
        }
    }
}
