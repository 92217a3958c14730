///usr/bin/env jbang "$0" "$@" ; exit $?
// Opens the built book in headless Chromium and checks that a reader sees what the sources say.
//
// Usage: jbang docs/BookCheck.java BOOK_DIR SCREENSHOT_DIR   (./build.sh docs --check does this)
//
// For every page of BOOK_DIR (index.html, NN-name.html, answers.html) it checks that
//  - the page loads and renders: a title, a body of text, no "Unresolved directive" left by an
//    include that failed;
//  - every figure loaded: each <img> has a natural width above 0 (a broken path gives 0), each
//    inline <svg> and each <object> holding an image has a size;
//  - every source block with a language is highlighted: Book.java configures Rouge, which turns
//    <code data-lang="..."> into spans with classes, and the embedded Rouge style gives its
//    keywords a colour of their own;
// and keeps a screenshot of the top of each page as SCREENSHOT_DIR/NAME.png for a person to look at.
// Exit 0 when every page passes, 1 with one line per problem, 125 when Chromium cannot be driven.
//
// Chromium (Debian's /usr/bin/chromium) is driven over the DevTools protocol, with the JDK's own
// HTTP client and WebSocket: no browser driver, no npm.
//
//JAVA 17+
//JAVAC_OPTIONS -J-XX:TieredStopAtLevel=1 -J-XX:+UseSerialGC -J-XX:-UsePerfData
//DEPS com.fasterxml.jackson.core:jackson-databind:2.18.2

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

class BookCheck {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String CHROMIUM = System.getenv().getOrDefault("CHROMIUM", "/usr/bin/chromium");

    /** What the page reports about itself: run in the page once it has loaded. */
    static final String INSPECT = """
        (async () => {
          const problems = [];
          // Images may still be decoding after the load event: wait for each, briefly.
          await Promise.all([...document.images].map(i => i.complete ? null
              : new Promise(r => { i.onload = i.onerror = r; setTimeout(r, 5000); })));
          const title = document.querySelector('h1');
          if (!title || !title.textContent.trim()) problems.push('no title (h1)');
          const content = document.querySelector('#content');
          if (!content || content.innerText.trim().length < 200) problems.push('no content (#content is empty)');
          if (document.body.innerText.includes('Unresolved directive'))
            problems.push('an include did not resolve ("Unresolved directive" in the page)');
          const images = [...document.images];
          for (const i of images) if (!(i.naturalWidth > 0))
            problems.push('figure did not load: ' + i.getAttribute('src'));
          const svgs = [...document.querySelectorAll('#content svg')].filter(s => !s.parentElement.closest('svg'));
          for (const s of svgs) { const r = s.getBoundingClientRect();
            if (!(r.width > 0 && r.height > 0)) problems.push('inline svg has no size: ' + (s.id || s.outerHTML.slice(0, 60))); }
          const objects = [...document.querySelectorAll('#content object')];
          for (const o of objects) if (!(o.getBoundingClientRect().width > 0) || !o.contentDocument)
            problems.push('figure did not load: ' + o.getAttribute('data'));
          const blocks = [...document.querySelectorAll('pre > code[data-lang]')];
          let highlighted = 0;
          for (const c of blocks) {
            const pre = c.parentElement;
            if (!pre.classList.contains('rouge') || !c.querySelector('span[class]')) {
              problems.push('source block (' + c.dataset.lang + ') not highlighted: '
                  + c.textContent.trim().split('\\n')[0].slice(0, 70));
            } else highlighted++;
          }
          // The Rouge stylesheet is embedded: a keyword has a colour other than the code's own.
          const keyword = document.querySelector('pre.rouge code span.k, pre.rouge code span.kd, pre.rouge code span.kt');
          if (keyword && getComputedStyle(keyword).color === getComputedStyle(keyword.closest('code')).color)
            problems.push('highlighted code has no colours: the Rouge stylesheet is missing');
          return JSON.stringify({ problems, images: images.length + svgs.length + objects.length,
                                  blocks: blocks.length, highlighted });
        })()
        """;

    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("book-check: usage: jbang docs/BookCheck.java BOOK_DIR SCREENSHOT_DIR");
            System.exit(125);
        }
        Path book = Path.of(args[0]).toAbsolutePath().normalize();
        Path shots = Path.of(args[1]).toAbsolutePath().normalize();
        List<Path> pages;
        try (Stream<Path> s = Files.list(book)) {
            pages = s.filter(p -> p.toString().endsWith(".html")).sorted().toList();
        }
        if (pages.isEmpty()) fail125("no pages in " + book + " (run ./build.sh docs first)");
        if (!Files.isExecutable(Path.of(CHROMIUM))) fail125(CHROMIUM + " not found (apt-get install chromium)");
        Files.createDirectories(shots);
        try (Stream<Path> old = Files.list(shots)) {
            for (Path p : old.filter(p -> p.toString().endsWith(".png")).toList()) Files.delete(p);
        }

        long started = System.nanoTime();
        Path profile = Files.createTempDirectory("book-check-chromium");
        ProcessBuilder browser = new ProcessBuilder(CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--user-data-dir=" + profile, "--remote-debugging-port=0",
                "--remote-allow-origins=*", "--window-size=1280,1000", "about:blank")
                .redirectErrorStream(true).redirectOutput(profile.resolve("chromium.log").toFile());
        // Chromium also makes a directory of its own in $TMPDIR (org.chromium.Chromium.XXXXXX) and
        // leaves it when it is stopped: inside the profile, it goes with the profile.
        browser.environment().put("TMPDIR", profile.toString());
        Process chromium = browser.start();
        List<String> problems = new ArrayList<>();
        try {
            Cdp page = Cdp.connect(devtoolsPort(profile, chromium));
            page.call("Page.enable", JSON.createObjectNode());
            page.call("Emulation.setDeviceMetricsOverride", JSON.createObjectNode()
                    .put("width", 1280).put("height", 1000).put("deviceScaleFactor", 1).put("mobile", false));
            for (Path html : pages) {
                String name = html.getFileName().toString().replaceFirst("\\.html$", "");
                page.events.clear();
                page.call("Page.navigate", JSON.createObjectNode().put("url", html.toUri().toString()));
                page.await("Page.loadEventFired", 30);
                JsonNode result = page.call("Runtime.evaluate", JSON.createObjectNode().put("expression", INSPECT)
                        .put("awaitPromise", true).put("returnByValue", true));
                JsonNode value = result.path("result").path("value");
                if (!value.isTextual()) {
                    problems.add(name + ".html: the page's inspection failed: " + result);
                    continue;
                }
                JsonNode report = JSON.readTree(value.asText());
                report.path("problems").forEach(p -> problems.add(name + ".html: " + p.asText()));
                JsonNode shot = page.call("Page.captureScreenshot", JSON.createObjectNode().put("format", "png"));
                Files.write(shots.resolve(name + ".png"), Base64.getDecoder().decode(shot.path("data").asText()));
                System.out.printf("book-check: %-26s %2d figure(s), %3d source block(s), %3d highlighted, %s%n",
                        name + ".html", report.path("images").asInt(), report.path("blocks").asInt(),
                        report.path("highlighted").asInt(), report.path("problems").isEmpty() ? "ok" : "FAILED");
            }
            page.close();
        } finally {
            chromium.destroy();
            if (!chromium.waitFor(10, TimeUnit.SECONDS)) chromium.destroyForcibly().waitFor();
            deleteTree(profile);
        }
        System.out.printf("book-check: %d page(s) in %.1f s, screenshots in %s%n", pages.size(),
                (System.nanoTime() - started) / 1e9, shots);
        if (!problems.isEmpty()) {
            problems.forEach(p -> System.out.println("book-check: FAIL " + p));
            System.out.println("book-check: the built book has " + problems.size() + " problem(s) in Chromium");
            System.exit(1);
        }
    }

    /** Chromium writes its DevTools port into the profile once it listens. */
    static int devtoolsPort(Path profile, Process chromium) throws Exception {
        Path file = profile.resolve("DevToolsActivePort");
        for (int i = 0; i < 300; i++) {
            if (Files.isRegularFile(file)) {
                List<String> lines = Files.readAllLines(file);
                if (!lines.isEmpty() && !lines.get(0).isBlank()) return Integer.parseInt(lines.get(0).trim());
            }
            if (!chromium.isAlive()) break;
            Thread.sleep(100);
        }
        String log = Files.isRegularFile(profile.resolve("chromium.log")) ? Files.readString(profile.resolve("chromium.log")) : "";
        fail125("Chromium did not open its DevTools port: " + log.strip().lines().reduce((a, b) -> b).orElse("(no output)"));
        return -1;
    }

    static void fail125(String why) {
        System.out.println("book-check: " + why);
        System.exit(125);
    }

    static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (Exception e) {
            System.err.println("book-check: could not remove " + dir + ": " + e);
        }
    }

    /** One DevTools protocol session with a page: calls by id, events queued by name. */
    static final class Cdp implements WebSocket.Listener {
        final Map<Integer, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
        final LinkedBlockingQueue<JsonNode> events = new LinkedBlockingQueue<>();
        final AtomicInteger ids = new AtomicInteger();
        final StringBuilder partial = new StringBuilder();
        WebSocket socket;

        static Cdp connect(int port) throws Exception {
            HttpClient http = HttpClient.newHttpClient();
            String list = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/json/list")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            String url = null;
            for (JsonNode target : JSON.readTree(list)) {
                if (target.path("type").asText().equals("page")) { url = target.path("webSocketDebuggerUrl").asText(); break; }
            }
            if (url == null) throw new IllegalStateException("Chromium has no page target: " + list);
            Cdp cdp = new Cdp();
            cdp.socket = http.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(10))
                    .buildAsync(URI.create(url), cdp).get(10, TimeUnit.SECONDS);
            return cdp;
        }

        JsonNode call(String method, ObjectNode params) throws Exception {
            int id = ids.incrementAndGet();
            CompletableFuture<JsonNode> reply = new CompletableFuture<>();
            pending.put(id, reply);
            ObjectNode message = JSON.createObjectNode().put("id", id).put("method", method);
            message.set("params", params);
            socket.sendText(JSON.writeValueAsString(message), true).get(10, TimeUnit.SECONDS);
            JsonNode answer = reply.get(60, TimeUnit.SECONDS);
            if (answer.has("error")) throw new IllegalStateException(method + " failed: " + answer.get("error"));
            return answer.path("result");
        }

        void await(String event, int seconds) throws Exception {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            while (System.nanoTime() < deadline) {
                JsonNode e = events.poll(100, TimeUnit.MILLISECONDS);
                if (e != null && e.path("method").asText().equals(event)) return;
            }
            throw new IllegalStateException("no " + event + " within " + seconds + " s");
        }

        void close() {
            socket.sendClose(WebSocket.NORMAL_CLOSURE, "done");
        }

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            partial.append(data);
            if (last) {
                try {
                    JsonNode message = JSON.readTree(partial.toString());
                    if (message.has("id")) {
                        CompletableFuture<JsonNode> f = pending.remove(message.get("id").asInt());
                        if (f != null) f.complete(message);
                    } else {
                        events.add(message);
                    }
                } catch (Exception e) {
                    System.err.println("book-check: unreadable DevTools message: " + e);
                }
                partial.setLength(0);
            }
            ws.request(1);
            return null;
        }
    }
}
