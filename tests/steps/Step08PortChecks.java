import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Step 08 network, black-box: published ports (TODO 08.4) and what a killed runtime leaves. busybox
 * httpd in a container with {@code -p HOSTPORT:80} is fetched from the host at 127.0.0.1:HOSTPORT
 * (the hairpin through nat OUTPUT and route_localnet) and at the bridge's address; a second
 * container asking for the same port gets one line and exit 125, and leaves nothing; when the
 * first ends, its rules, veth and lease go. A runtime killed with SIGKILL leaves its lease and its
 * rules, and the next run's sweep removes them. Helpers are {@link Step08Checks}'.
 */
@DisplayName("step 08 network: published ports and a killed runtime")
@ExtendWith(JockerExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class Step08PortChecks {
    private static final Step08Checks.Concept PUBLISH = Step08Checks.Concept.PUBLISH, CLEANUP = Step08Checks.Concept.CLEANUP;

    private final Jocker jocker;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    Step08PortChecks(Jocker jocker) {
        this.jocker = jocker;
    }

    /** A TCP port that nothing on the host listens on now. */
    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }

    /** GET {@code url}, retried until {@code within} is over (the server may still be starting); the body, or why not. */
    String fetch(String url, Duration within) {
        long deadline = System.nanoTime() + within.toNanos();
        String why;
        do {
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(3)).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) return r.body();
                why = "HTTP " + r.statusCode();
            } catch (IOException e) {
                why = e.toString();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return "interrupted";
            }
            Jocker.sleep(200);
        } while (System.nanoTime() < deadline);
        return "no answer: " + why;
    }

    @Test
    @Essential
    @Order(1)
    @DisplayName("busybox httpd in a container with -p HOSTPORT:80 answers at 127.0.0.1:HOSTPORT and at the bridge's address; a second container asking for that port gets one line and exit 125; the rules, veth and lease go with the container")
    void aPublishedPort() throws IOException {
        int port = freePort();
        String token = Jocker.token();
        Jocker.Running web = jocker.start(jocker.container(List.of("-p", port + ":80"), "sh", "-c",
                "trap 'exit 0' TERM; mkdir /www && echo " + token + " > /www/index.html;"
                        + " ping -c 1 -W 3 " + jocker.network().gateway() + " > /dev/null && echo reached;"
                        + " httpd -f -p 80 -h /www & echo ready; wait"));
        boolean ready = web.awaitOutput("ready", Jocker.TIMEOUT);
        String local = ready ? fetch("http://127.0.0.1:" + port + "/", Duration.ofSeconds(10)) : "";
        String bridge = ready ? fetch("http://" + jocker.network().gateway() + ":" + port + "/", Duration.ofSeconds(5)) : "";
        List<String> rulesWhileRunning = Step08Checks.containerRules(jocker);
        Jocker.Result taken = ready ? jocker.run(jocker.container(List.of("-p", port + ":80"), "true")) : null;
        int leasesWhileRunning = Step08Checks.leases(jocker).size();
        web.signal("TERM");
        Jocker.Result r = web.await();

        Step08Checks.check(r, ready, "expected the container to start and print \"ready\"", Step08Checks.Concept.of(r, PUBLISH));
        Step08Checks.check(r, r.stdout().contains("reached"), "expected the container to reach the bridge's address "
                + jocker.network().gateway() + " (ping) before its port can be reached", Step08Checks.Concept.REACH);
        Step08Checks.check(r, local.equals(token + "\n"), "expected GET http://127.0.0.1:" + port + "/ from the host to"
                + " reach httpd in the container (a DNAT rule in the nat chain " + jocker.network().chains() + ", which the host's"
                + " nat OUTPUT jumps to) and return " + token + "; got: " + local, PUBLISH);
        Step08Checks.check(r, bridge.equals(token + "\n"), "expected GET http://" + jocker.network().gateway() + ":" + port
                + "/ (the bridge's address) to reach it as well; got: " + bridge, PUBLISH);
        Step08Checks.check(r, rulesWhileRunning.size() >= 1 && rulesWhileRunning.stream().allMatch(l -> l.contains("jocker:")),
                "expected the container's rules, marked with its comment jocker:ID, in the chains " + jocker.network().chains()
                        + "...; found " + rulesWhileRunning, PUBLISH);
        Step08Checks.check(taken, taken.exitCode() == 125 && taken.stderrLines().size() == 1
                && taken.stderrLines().get(0).contains(Integer.toString(port)), "expected a second container asking for the"
                + " published port " + port + " to be refused with exit code 125 and one line that names the port", CLEANUP);
        Step08Checks.check(taken, leasesWhileRunning == 1, "expected the refused container to leave no lease (found "
                + leasesWhileRunning + " leases while only the first container ran)", CLEANUP);
        Step08Checks.check(r, r.exitCode() == 0, "expected the container to end with 0 on TERM", CLEANUP);
        Step08Checks.assertNothingLeft(jocker, r);
    }

    @Test
    @Order(2)
    @DisplayName("a runtime killed with SIGKILL leaves its lease and its port rules, and the next run's sweep removes them and its directory")
    void aKilledRuntimeIsSwept() throws IOException {
        int port = freePort();
        Jocker.Running running = jocker.start(jocker.container(List.of("-p", port + ":80"), "sh", "-c", "echo ready; exec sleep 60"));
        boolean ready = running.awaitOutput("ready", Jocker.TIMEOUT);
        List<Path> dirs = jocker.leftovers();
        long owner = -1;
        if (ready && dirs.size() == 1) {
            JsonNode state = Fixtures.JSON.readTree(dirs.get(0).resolve("state.json").toFile());
            owner = state.path("owner").path("pid").asLong(-1);
        }
        Optional<ProcessHandle> handle = owner > 0 ? ProcessHandle.of(owner) : Optional.empty();
        handle.ifPresent(ProcessHandle::destroyForcibly);   // SIGKILL: no release at all
        handle.ifPresent(h -> h.onExit().join());
        Jocker.Result killed = running.await();
        killed.check(ready && dirs.size() == 1 && handle.isPresent(), "expected a running container (\"ready\"), its directory"
                + " and its runtime's pid in state.json's owner (pid " + owner + ") " + Step08Checks.Concept.of(killed, CLEANUP).hint());
        int leases = Step08Checks.leases(jocker).size();
        List<String> rules = Step08Checks.containerRules(jocker);
        Step08Checks.check(killed, leases == 1 && !rules.isEmpty(), "expected the killed runtime to have left its lease and"
                + " its port rules for the sweep (found " + leases + " lease(s) and rules " + rules + ")", PUBLISH);

        // The sweep needs nothing but the undo log: a run of step 01, which knows no network, does it.
        Optional<Path> step01 = jocker.repo().map(r -> r.resolve("solutions/01_fork_exec.java")).filter(java.nio.file.Files::exists);
        Jocker.Result sweep = step01.isPresent() ? jocker.withScript(step01.get(), 1).run(List.of("run", "true"))
                : jocker.run(List.of("run", "--network", "none", "busybox", "true"));
        Step08Checks.succeeds(sweep, "the next run (of step 01's solution), which sweeps what the killed one left", CLEANUP);
        Step08Checks.assertNothingLeft(jocker, sweep);
    }
}
