//DEPS org.junit.platform:junit-platform-console-standalone:1.11.4
package jocker.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import org.junit.jupiter.api.Test;

/** Docker's sizes and ages, the pull's lines and progress bar, and the images table. */
class UnitsTest {
    @Test
    void sizesAreDecimalWithDockersSignificantDigits() {
        assertEquals("0B", Units.humanSize(0));
        assertEquals("999B", Units.humanSize(999));
        assertEquals("1kB", Units.humanSize(1000));
        assertEquals("4.26MB", Units.humanSize(4_261_234));
        assertEquals("1.2GB", Units.humanSize(1_200_000_000L));
        assertEquals("30MB", Units.humanSize(30_001_000));
        assertEquals("12.35MB", Units.humanSize(12_345_678, 4));
        assertEquals("481B", Units.humanSize(481, 4));
    }

    @Test
    void agesAreDockersCoarseWords() {
        assertEquals("Less than a second", Units.humanDuration(Duration.ofMillis(300)));
        assertEquals("1 second", Units.humanDuration(Duration.ofSeconds(1)));
        assertEquals("59 seconds", Units.humanDuration(Duration.ofSeconds(59)));
        assertEquals("About a minute", Units.humanDuration(Duration.ofSeconds(90)));
        assertEquals("59 minutes", Units.humanDuration(Duration.ofMinutes(59)));
        assertEquals("About an hour", Units.humanDuration(Duration.ofMinutes(80)));
        assertEquals("47 hours", Units.humanDuration(Duration.ofHours(47)));
        assertEquals("13 days", Units.humanDuration(Duration.ofDays(13)));
        assertEquals("8 weeks", Units.humanDuration(Duration.ofDays(59)));
        assertEquals("23 months", Units.humanDuration(Duration.ofDays(700)));
        assertEquals("2 years", Units.humanDuration(Duration.ofDays(800)));
        Instant now = Instant.parse("2026-01-01T00:00:00Z");
        assertEquals("2 years ago", Units.ago(Instant.parse("2023-11-01T00:00:00Z"), now));
        assertEquals("N/A", Units.ago(null, now));
    }

    @Test
    void plainOutputIsOneFlushedLinePerEventAndQuietOnlyTheName() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PullOutput out = PullOutput.plain(new PrintStream(bytes, false, StandardCharsets.UTF_8));
        Reference ref = Reference.parse("busybox");
        Descriptor layer = new Descriptor(MediaTypes.OCI_LAYER_GZIP, new Digest("sha256", "3f2a9c1b7d4e" + "0".repeat(52)), 10);
        out.defaultTag("latest");
        out.pulling(ref);
        out.layers(List.of(layer));
        out.progress(layer, 5);
        out.complete(layer);
        out.exists(layer);
        out.digest(layer.digest);
        out.status(true, ref.familiar());
        out.done(ref);
        assertEquals("""
                Using default tag: latest
                latest: Pulling from library/busybox
                3f2a9c1b7d4e: Download complete
                3f2a9c1b7d4e: Already exists
                Digest: %s
                Status: Downloaded newer image for busybox:latest
                docker.io/library/busybox:latest
                """.formatted(layer.digest), bytes.toString(StandardCharsets.UTF_8));

        bytes.reset();
        PullOutput quiet = PullOutput.quiet(new PrintStream(bytes, false, StandardCharsets.UTF_8));
        quiet.pulling(ref);
        quiet.complete(layer);
        quiet.done(ref);
        assertEquals("docker.io/library/busybox:latest\n", bytes.toString(StandardCharsets.UTF_8));
    }

    @Test
    void theTerminalRedrawsTheLayersInPlace() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PullOutput out = PullOutput.terminal(new PrintStream(bytes, false, StandardCharsets.UTF_8));
        Descriptor a = new Descriptor(MediaTypes.OCI_LAYER_GZIP, new Digest("sha256", "a".repeat(64)), 2_000_000);
        Descriptor b = new Descriptor(MediaTypes.OCI_LAYER_GZIP, new Digest("sha256", "b".repeat(64)), 10);
        out.layers(List.of(a, b));
        out.complete(b);
        out.progress(a, 1_000_000);
        out.complete(a);
        out.digest(a.digest);
        String text = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("\033[2A"), "the cursor goes back up over the two layer lines");
        assertTrue(text.endsWith("aaaaaaaaaaaa: Download complete\n\r\033[2Kbbbbbbbbbbbb: Download complete\nDigest: " + a.digest + "\n"),
                text);
        assertEquals("[" + "=".repeat(11) + ">" + " ".repeat(13) + "]      1MB/2MB", PullOutput.bar(1_000_000, 2_000_000));
        assertEquals("[" + "=".repeat(24) + ">]  12.35MB/12.35MB", PullOutput.bar(12_345_678, 12_345_678));
        assertFalse(PullOutput.bar(0, 100).contains(">"));
    }

    @Test
    void theImagesTableIsLeftAlignedWithThreeSpaces() {
        assertEquals("""
                REPOSITORY   TAG      SIZE
                busybox      latest   4.26MB
                x            <none>   1kB
                """, ImageCommands.Images.table(List.of(List.of("REPOSITORY", "TAG", "SIZE"),
                List.of("busybox", "latest", "4.26MB"), List.of("x", "<none>", "1kB"))));
        assertTrue(ImageCommands.Pull.namesTagOrDigest("localhost:5000/x:1"));
        assertFalse(ImageCommands.Pull.namesTagOrDigest("localhost:5000/x"));
        assertTrue(ImageCommands.Pull.namesTagOrDigest("x@sha256:" + "a".repeat(64)));
    }
}
