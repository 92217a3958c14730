///usr/bin/env jbang "$0" "$@" ; exit $?
// The workshop VM's checks: the Vagrantfile is valid, and vagrant/provision.sh provisions a
// pristine Debian root, twice. Slow (a JDK and more from apt, the first time a debootstrap), so
// ./build.sh test --all runs them, after the harness; they need root, vagrant and debootstrap.
//
//   jbang tests/workshop/WorkshopChecks.java --root REPO [--reports DIR] [--only METHOD]
//                                     (--only vagrantValidate: that check alone, in seconds)
//
// The Debian root is debootstrap's minbase (no procps, no curl, no Java), made once and kept in
// build/minbase/bookworm.tar (tests/workshop/minbase.sh), unpacked anew under a temporary
// directory for every run, with the repository's git-tracked files in /root/jocker. provision.sh
// runs there twice, chrooted, in a mount namespace of its own; then the checks look at what it
// left: a JDK, JBang, the busybox image, a container run by the last solution, busybox and alpine
// pulled or one line saying there is no network, and a second run that changed nothing.
//
//JAVA 17+
//JAVAC_OPTIONS -J-XX:TieredStopAtLevel=1 -J-XX:+UseSerialGC -J-XX:-UsePerfData
//DEPS org.junit.platform:junit-platform-console-standalone:1.11.4

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.discovery.DiscoverySelectors;
import org.junit.platform.launcher.EngineFilter;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.reporting.legacy.xml.LegacyXmlReportGeneratingListener;

@DisplayName("the workshop VM")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)   // the checks share two provisioning runs
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
public class WorkshopChecks {

    /** The one line provision.sh says when Docker Hub cannot be reached. */
    static final Pattern NO_NETWORK = Pattern.compile("==> provision: no network to Docker Hub \\(.*\\): skipped pulling busybox alpine; .*");
    static final long RUN_MINUTES = 30;   // one provisioning run: apt, Maven Central, the warm-up

    // ------------------------------------------------------------------------------------------
    // Running the checks: this class, with JUnit's launcher, one line per check as the harness prints
    // ------------------------------------------------------------------------------------------

    public static void main(String[] args) throws IOException {
        Path repo = Path.of(".");
        Path reports = null;
        String only = null;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--root") && i + 1 < args.length) repo = Path.of(args[++i]);
            else if (args[i].equals("--reports") && i + 1 < args.length) reports = Path.of(args[++i]);
            else if (args[i].equals("--only") && i + 1 < args.length) only = args[++i];
            else {
                System.err.println("workshop checks: usage: WorkshopChecks.java --root REPO [--reports DIR] [--only METHOD]");
                System.exit(125);
            }
        }
        repo = repo.toAbsolutePath().normalize();
        if (!Files.isRegularFile(repo.resolve("vagrant/provision.sh"))) {
            System.err.println("workshop checks: not the workbook's root (no vagrant/provision.sh): " + repo);
            System.exit(125);
        }
        int[] counts = new int[3];   // passed, failed, skipped
        TestExecutionListener printer = new TestExecutionListener() {
            @Override public void executionSkipped(TestIdentifier id, String reason) {
                if (!id.isTest()) return;
                counts[2]++;
                System.out.printf("SKIP  workshop: %s: %s%n", id.getDisplayName(), reason);
            }

            @Override public void executionFinished(TestIdentifier id, TestExecutionResult result) {
                boolean ok = result.getStatus() == TestExecutionResult.Status.SUCCESSFUL;
                if (!id.isTest() && ok) return;
                String why = result.getThrowable().map(t -> t instanceof AssertionError && t.getMessage() != null
                        ? t.getMessage() : t.toString()).orElse("");
                if (result.getStatus() == TestExecutionResult.Status.ABORTED) {
                    counts[2]++;
                    System.out.printf("SKIP  workshop: %s: %s%n", id.getDisplayName(), why);
                } else if (ok) {
                    counts[0]++;
                    System.out.printf("PASS  workshop: %s%n", id.getDisplayName());
                } else {
                    counts[1]++;
                    System.out.printf("FAIL  workshop: %s%n%s%n", id.isTest() ? id.getDisplayName() : "(setup of the workshop checks)",
                            why.lines().map(l -> "      " + l).reduce((a, b) -> a + "\n" + b).orElse(""));
                }
            }
        };
        System.setProperty("workshop.repo", repo.toString());   // this JVM runs this class alone
        var request = LauncherDiscoveryRequestBuilder.request()
                .selectors(only == null ? DiscoverySelectors.selectClass(WorkshopChecks.class)
                        : DiscoverySelectors.selectMethod(WorkshopChecks.class, only))
                .filters(EngineFilter.includeEngines("junit-jupiter"))
                .build();
        Path tmp = null;
        List<TestExecutionListener> listeners = new ArrayList<>(List.of(printer));
        if (reports != null) {
            Files.createDirectories(reports);
            tmp = Files.createTempDirectory(reports, ".junit-");
            listeners.add(new LegacyXmlReportGeneratingListener(tmp, new PrintWriter(System.err, true)));
        }
        LauncherFactory.create().execute(request, listeners.toArray(TestExecutionListener[]::new));
        if (tmp != null) {
            Path xml = tmp.resolve("TEST-junit-jupiter.xml");
            if (Files.exists(xml)) Files.move(xml, reports.resolve("TEST-workshop.xml"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            try (Stream<Path> left = Files.list(tmp)) {
                for (Path f : left.toList()) Files.delete(f);
            }
            Files.delete(tmp);
        }
        System.out.printf("workshop: %d passed, %d failed%s%n", counts[0], counts[1], counts[2] > 0 ? ", " + counts[2] + " skipped" : "");
        System.exit(counts[1] == 0 ? 0 : 1);
    }

    // ------------------------------------------------------------------------------------------
    // One provisioning, twice, in a fresh minbase
    // ------------------------------------------------------------------------------------------

    /** What one command in the minbase root did. */
    record Run(int code, String output, double seconds) {
        String tail() {
            List<String> lines = output.lines().toList();
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size()));
        }
    }

    Path repo;
    Path minbase;   // the script that makes, enters and cleans the root
    Path tmp;       // ours: the root is tmp/root
    Path root;
    Path logs;      // build/workshop: every run's output, kept for a failure's reader
    Run first;
    Run second;
    String before;
    String after;
    String cgroupParent = "jocker-workshop-" + ProcessHandle.current().pid();

    @BeforeAll
    void repository() {
        repo = Path.of(System.getProperty("workshop.repo", ".")).toAbsolutePath().normalize();
    }

    /** Set up lazily by the first check that needs the minbase, so that a failing vagrant check does not wait for it. */
    synchronized void provisioned() throws Exception {
        if (first != null) return;
        minbase = repo.resolve("tests/workshop/minbase.sh");
        logs = Files.createDirectories(repo.resolve("build/workshop"));
        long t = System.nanoTime();
        Run image = sh(List.of(minbase.toString(), "image"), logs.resolve("image.log"), 20);
        check(image.code() == 0, "could not make the Debian minbase (tests/workshop/minbase.sh image):\n" + image.tail());
        System.out.printf("      (the minbase: %.1f s)%n", (System.nanoTime() - t) / 1e9);
        tmp = Files.createTempDirectory("jocker-workshop-");
        root = tmp.resolve("root");
        Run made = sh(List.of(minbase.toString(), "make", root.toString()), logs.resolve("make.log"), 10);
        check(made.code() == 0, "could not unpack the minbase into " + root + ":\n" + made.tail());
        first = inRoot("vagrant/provision.sh", "provision-1.log", RUN_MINUTES);
        System.out.printf("      (provision.sh, first run: %.1f s)%n", first.seconds());
        before = inRoot(STATE, "state-1.log", 5).output();
        second = inRoot("vagrant/provision.sh", "provision-2.log", RUN_MINUTES);
        System.out.printf("      (provision.sh, second run: %.1f s)%n", second.seconds());
        after = inRoot(STATE, "state-2.log", 5).output();
    }

    /**
     * What a second run must not change: the packages, and the content of every file under
     * /usr/local (JBang), /etc, the state root and the built image.
     */
    static final String STATE = "dpkg-query -W -f '${Package} ${Version} ${Status}\\n'; "
            + "find /usr/local /etc /var/lib/jocker /root/jocker/build/images -type f -print0 | sort -z | xargs -0 sha256sum";

    @AfterAll
    void cleanUp() throws Exception {
        if (tmp != null) {
            Run clean = sh(List.of(minbase.toString(), "clean", tmp.toString()), logs.resolve("clean.log"), 5);
            if (clean.code() != 0) System.err.println("workshop checks: cleaning " + tmp + " failed:\n" + clean.tail());
        }
        // The cgroup parent of the container run below, in every hierarchy, once empty.
        try (Stream<Path> trees = Files.list(Path.of("/sys/fs/cgroup"))) {
            for (Path p : Stream.concat(Stream.of(Path.of("/sys/fs/cgroup")), trees).toList()) {
                Files.deleteIfExists(p.resolve(cgroupParent));
            }
        } catch (IOException e) {
            System.err.println("workshop checks: could not remove the cgroup " + cgroupParent + ": " + e);
        }
    }

    // ------------------------------------------------------------------------------------------
    // The checks
    // ------------------------------------------------------------------------------------------

    @Test
    @Order(1)
    @DisplayName("vagrant validate passes on the Vagrantfile (provider blocks aside: no provider runs here)")
    void vagrantValidate() throws Exception {
        // In a copy: vagrant writes .vagrant/ where it runs. --ignore-provider: without a usable
        // provider (VirtualBox, a running libvirtd) vagrant validates nothing at all.
        Path dir = Files.createTempDirectory("jocker-vagrant-");
        try {
            Files.copy(repo.resolve("Vagrantfile"), dir.resolve("Vagrantfile"));
            Files.createDirectories(dir.resolve("vagrant"));
            Files.copy(repo.resolve("vagrant/provision.sh"), dir.resolve("vagrant/provision.sh"));
            Run v = sh(List.of("vagrant", "validate", "--ignore-provider"), dir, null, 5);
            check(v.code() == 0 && v.output().contains("validated successfully"),
                    "vagrant validate --ignore-provider exited " + v.code() + ":\n" + v.tail());
        } finally {
            sh(List.of("rm", "-rf", "--one-file-system", dir.toString()), null, 1);
        }
    }

    @Test
    @Order(2)
    @DisplayName("provision.sh runs in a pristine Debian minbase, as root, from where the repository is")
    void provisionRuns() throws Exception {
        provisioned();
        check(first.code() == 0, "provision.sh exited " + first.code() + " (build/workshop/provision-1.log):\n" + first.tail());
    }

    @Test
    @Order(3)
    @DisplayName("after it, a JDK 17 or newer and JBang are installed")
    void jdkAndJBang() throws Exception {
        provisioned();
        Run java = inRoot("java -version 2>&1 | head -1; jbang version", "tools.log", 5);
        check(java.code() == 0, "java -version; jbang version exited " + java.code() + ":\n" + java.tail());
        check(java.output().matches("(?s).*version \"(1[7-9]|[2-9]\\d)[.\"].*"), "no JDK 17 or newer: " + java.tail());
    }

    @Test
    @Order(4)
    @DisplayName("after it, the embedded busybox image is built and in the state root")
    void busyboxImage() throws Exception {
        provisioned();
        Path image = root.resolve("root/jocker/build/images/busybox.tar");
        check(Files.isRegularFile(image) && Files.size(image) > 100_000, "no build/images/busybox.tar");
        check(Files.isRegularFile(root.resolve("var/lib/jocker/images/busybox.tar")), "no /var/lib/jocker/images/busybox.tar");
    }

    @Test
    @Order(5)
    @DisplayName("after it, step 01 and the last solution run (a container from the busybox image)")
    void stepsRun() throws Exception {
        provisioned();
        Run one = inRoot("jbang solutions/01_fork_exec.java run echo provisioned", "step01.log", 5);
        check(one.code() == 0 && one.output().lines().anyMatch(l -> l.equals("provisioned")),
                "jbang solutions/01_fork_exec.java run echo provisioned exited " + one.code() + ":\n" + one.tail());
        Run last = inRoot("JOCKER_CGROUP_PARENT=" + cgroupParent + " jbang \"$(ls solutions/[0-9][0-9]_*.java | tail -1)\""
                + " run --network none busybox sh -c 'echo in a container; hostname'", "last.log", 5);
        check(last.code() == 0 && last.output().lines().anyMatch(l -> l.equals("in a container")),
                "the last solution's run --network none busybox exited " + last.code() + ":\n" + last.tail());
    }

    @Test
    @Order(6)
    @DisplayName("busybox and alpine are pulled, or one line says there is no network to Docker Hub")
    void pulledOrSaid() throws Exception {
        provisioned();
        long said = first.output().lines().filter(l -> NO_NETWORK.matcher(l).matches()).count();
        if (said == 0) {
            Run images = inRoot("jbang \"$(ls solutions/[0-9][0-9]_*.java | tail -1)\" images", "images.log", 5);
            check(images.output().lines().anyMatch(l -> l.startsWith("busybox "))
                            && images.output().lines().anyMatch(l -> l.startsWith("alpine ")),
                    "neither the no-network line nor busybox and alpine in images:\n" + images.tail());
        } else {
            check(said == 1, "the no-network line more than once:\n" + first.tail());
            check(first.output().lines().noneMatch(l -> l.contains("Pulling from") || l.startsWith("jocker:")),
                    "more than the one line about the network:\n" + first.tail());
        }
    }

    @Test
    @Order(7)
    @DisplayName("a second run succeeds and changes nothing: no package, no file of JBang, the state root or the image")
    void secondRunChangesNothing() throws Exception {
        provisioned();
        check(second.code() == 0, "the second run exited " + second.code() + " (build/workshop/provision-2.log):\n" + second.tail());
        check(second.output().lines().noneMatch(l -> l.startsWith("==> installing") || l.contains("building the embedded")),
                "the second run installed or built something:\n" + second.tail());
        List<String> a = before.lines().toList();
        List<String> b = after.lines().toList();
        List<String> changed = new ArrayList<>();
        for (String l : a) if (!b.contains(l)) changed.add("- " + l);
        for (String l : b) if (!a.contains(l)) changed.add("+ " + l);
        check(changed.isEmpty() && !a.isEmpty(), "the second run changed:\n" + String.join("\n", changed.subList(0, Math.min(20, changed.size()))));
    }

    // ------------------------------------------------------------------------------------------
    // Helpers
    // ------------------------------------------------------------------------------------------

    /** A failed check says what happened, without JUnit's "expected: <true>". */
    static void check(boolean ok, String message) {
        if (!ok) throw new AssertionError(message);
    }

    /** A shell command in /root/jocker of the minbase root, its output kept in build/workshop/LOG. */
    Run inRoot(String command, String log, long minutes) throws Exception {
        return sh(List.of(minbase.toString(), "run", root.toString(), command), logs.resolve(log), minutes);
    }

    Run sh(List<String> command, Path log, long minutes) throws Exception {
        return sh(command, repo, log, minutes);
    }

    /** Runs a command, output and error together; past its deadline it and every process it started are killed. */
    static Run sh(List<String> command, Path dir, Path log, long minutes) throws Exception {
        long t = System.nanoTime();
        Path out = log != null ? log : Files.createTempFile("jocker-workshop-", ".log");
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(out.toFile()).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        boolean done = p.waitFor(minutes, TimeUnit.MINUTES);
        if (!done) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            p.waitFor();
        }
        String text = Files.readString(out, StandardCharsets.UTF_8);
        if (log == null) Files.delete(out);
        if (!done) text += "\n(stopped after " + minutes + " minutes)";
        return new Run(done ? p.exitValue() : 124, text, (System.nanoTime() - t) / 1e9);
    }
}
