//DEPS org.junit.platform:junit-platform-console-standalone:1.11.4
package jocker.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import jocker.runtime.ContainerError;

/**
 * Digests, and verifying a stream against its descriptor: short, long, altered. A stream that
 * never ends is a failure, not a hang: each test runs with a timeout on a thread of its own.
 */
@Timeout(value = 10, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class DigestTest {
    /** sha256 of "hello\n", as sha256sum prints it. */
    private static final String HELLO = "sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";
    private static final byte[] HELLO_BYTES = "hello\n".getBytes(StandardCharsets.UTF_8);

    private static ContainerError invalid(String text) {
        ContainerError e = assertThrows(ContainerError.class, () -> Digest.parse(text), text);
        assertTrue(e.getMessage().startsWith("invalid digest") || e.getMessage().startsWith("unsupported digest"), e.getMessage());
        return e;
    }

    @Test
    void parsesAndPrintsTheCanonicalForm() {
        Digest d = Digest.parse(HELLO);
        assertEquals("sha256", d.algorithm());
        assertEquals(HELLO.substring(7), d.encoded());
        assertEquals(HELLO, d.toString());
        assertEquals("blobs/sha256/" + HELLO.substring(7), d.layoutPath());
        assertEquals("5891b5b522d5", d.shortId());
        assertEquals(d, Digest.parse(HELLO));
        assertEquals(Digest.parse(HELLO), Digest.sha256(HELLO_BYTES));
        Digest.parse("sha512:" + "ab".repeat(64));
    }

    @Test
    void refusesEverythingElse() {
        assertTrue(invalid(HELLO.substring(0, HELLO.length() - 1)).getMessage().contains("64 hex digits, got 63"));
        invalid(HELLO + "0");
        invalid(HELLO.toUpperCase());
        invalid("SHA256:" + HELLO.substring(7));
        invalid("sha256:" + HELLO.substring(7).toUpperCase());
        invalid("sha256:");
        invalid("sha256");
        invalid("");
        invalid(":" + HELLO.substring(7));
        invalid(HELLO.substring(7));
        invalid("sha256:../../../../../etc/passwd");
        invalid("sha256:" + "g".repeat(64));
        invalid("sha256: " + HELLO.substring(8));
        invalid(HELLO + "\n");
        assertTrue(invalid("md5:d41d8cd98f00b204e9800998ecf8427e").getMessage().startsWith("unsupported digest algorithm \"md5\""));
        invalid("sha384:" + "a".repeat(96));
        assertThrows(ContainerError.class, () -> new Digest("sha256", "abc"));
        assertTrue(invalid("sha256:" + "a".repeat(100_000)).getMessage().length() < 300);
        invalid("a.".repeat(50_000) + "a:" + HELLO.substring(7));   // not a StackOverflowError
        invalid("a.".repeat(50_000) + ":" + HELLO.substring(7));
    }

    private static DigestingInputStream verifying(byte[] data, long size) {
        return new DigestingInputStream(new ByteArrayInputStream(data), Digest.parse(HELLO), size, "blob " + HELLO);
    }

    @Test
    void theRightBytesPass() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        DigestingInputStream in = verifying(HELLO_BYTES, HELLO_BYTES.length);
        assertNull(in.digest(), "nothing is verified before the end");
        assertEquals(Digest.parse(HELLO), in.copyTo(out));
        assertArrayEquals(HELLO_BYTES, out.toByteArray());
        assertEquals(6, in.count());
        assertEquals(-1, in.read(), "the end stays the end");
    }

    @Test
    void oneByteShortIsRefusedAtTheEnd() {
        byte[] shorter = "hello".getBytes(StandardCharsets.UTF_8);
        DigestingInputStream in = verifying(shorter, HELLO_BYTES.length);
        ContainerError e = assertThrows(ContainerError.class, () -> in.transferTo(OutputStream.nullOutputStream()));
        assertEquals("failed to verify blob " + HELLO + ": size mismatch: expected 6 bytes, got 5", e.getMessage());
        assertThrows(ContainerError.class, in::read, "a failed stream keeps failing");
        DigestingInputStream nothing = verifying(new byte[0], HELLO_BYTES.length);
        assertEquals("failed to verify blob " + HELLO + ": size mismatch: expected 6 bytes, got 0",
                assertThrows(ContainerError.class, nothing::finish).getMessage());
    }

    @Test
    void oneByteLongIsRefusedAsSoonAsItArrives() throws IOException {
        byte[] longer = "hello\n!".getBytes(StandardCharsets.UTF_8);
        // A source that must never be asked for more than one byte past the announced size.
        InputStream source = new ByteArrayInputStream(longer) {
            @Override
            public synchronized int read(byte[] b, int off, int len) {
                assertTrue(pos + len <= 7, "asked for " + len + " bytes at " + pos);
                return super.read(b, off, len);
            }
        };
        DigestingInputStream in = new DigestingInputStream(source, Digest.parse(HELLO), 6, "blob " + HELLO);
        byte[] buffer = new byte[1 << 16];
        ContainerError e = assertThrows(ContainerError.class, () -> {
            while (in.read(buffer, 0, buffer.length) >= 0) { /* read on */ }
        });
        assertEquals("failed to verify blob " + HELLO + ": size mismatch: expected 6 bytes, got more", e.getMessage());
    }

    @Test
    void anEndlessSourceCannotFillTheDisk() {
        InputStream endless = new InputStream() {
            long served;

            @Override
            public int read() {
                served++;
                assertTrue(served <= 1 << 20, "read far past the announced size");
                return 'x';
            }
        };
        DigestingInputStream in = new DigestingInputStream(endless, Digest.parse(HELLO), 1000, "blob");
        assertThrows(ContainerError.class, () -> in.transferTo(OutputStream.nullOutputStream()));
        assertEquals(1001, in.count());
    }

    @Test
    void aWrongByteIsRefusedNamingBothDigests() {
        byte[] altered = "hellO\n".getBytes(StandardCharsets.UTF_8);
        DigestingInputStream in = verifying(altered, 6);
        ContainerError e = assertThrows(ContainerError.class, in::finish);
        assertEquals("failed to verify blob " + HELLO + ": digest mismatch: expected " + HELLO + ", actual "
                + Digest.sha256(altered), e.getMessage());
    }

    @Test
    void readingByteByByteAndSkippingStillDigestsEverything() throws IOException {
        DigestingInputStream in = verifying(HELLO_BYTES, 6);
        assertEquals('h', in.read());
        assertEquals(2, in.skip(2));
        assertEquals(Digest.parse(HELLO), in.finish());
        DigestingInputStream altered = verifying("hexxo\n".getBytes(StandardCharsets.UTF_8), 6);
        altered.skip(4);
        assertThrows(ContainerError.class, altered::finish, "skipped bytes are digested too");
    }

    @Test
    void anEmptyBlobHasTheEmptyDigest() throws IOException {
        Digest empty = Digest.parse("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assertEquals(empty, new DigestingInputStream(new ByteArrayInputStream(new byte[0]), empty, 0, "empty").finish());
        assertThrows(ContainerError.class, () -> new DigestingInputStream(new ByteArrayInputStream(new byte[1]), empty, 0, "x").finish());
    }

    @Test
    void aCappedStreamComputesTheDigestAndRefusesTooMuch() throws IOException {
        DigestingInputStream in = DigestingInputStream.capped(new ByteArrayInputStream(HELLO_BYTES), 6, "manifest");
        assertEquals(Digest.parse(HELLO), in.finish());
        DigestingInputStream big = DigestingInputStream.capped(new ByteArrayInputStream(HELLO_BYTES), 5, "manifest");
        ContainerError e = assertThrows(ContainerError.class, big::finish);
        assertEquals("failed to verify manifest: larger than 5 bytes", e.getMessage());
    }

    /** The JDK's SHA-256, whatever Digest.newMessageDigest hands out (libcrypto's, see NativeSha256). */
    private static Digest jdkSha256(byte[] bytes) throws NoSuchAlgorithmException {
        return new Digest("sha256", HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)));
    }

    @Test
    void aLargeBlobVerifiesTheSameInAnyReadPattern() throws Exception {
        byte[] blob = new byte[3 << 20];
        new Random(5).nextBytes(blob);
        Digest expected = jdkSha256(blob);
        assertEquals(expected, Digest.sha256(blob));
        assertEquals(expected, new DigestingInputStream(new ByteArrayInputStream(blob), expected, blob.length, "layer")
                .copyTo(OutputStream.nullOutputStream()));
        // Odd sizes at odd offsets, single bytes and skips, as a decompressor might read.
        Random random = new Random(6);
        DigestingInputStream in = new DigestingInputStream(new ByteArrayInputStream(blob), expected, blob.length, "layer");
        byte[] buffer = new byte[70_000];
        for (int round = 0; in.digest() == null; round++) {
            if (round % 7 == 0) {
                in.read();
            } else if (round % 11 == 0) {
                in.skip(random.nextInt(3000));
            } else {
                int off = random.nextInt(1000);
                in.read(buffer, off, random.nextInt(buffer.length - off));
            }
        }
        assertEquals(expected, in.digest());
        assertEquals(blob.length, in.count());
        blob[blob.length - 1] ^= 1;
        DigestingInputStream altered = new DigestingInputStream(new ByteArrayInputStream(blob), expected, blob.length, "layer");
        assertEquals("failed to verify layer: digest mismatch: expected " + expected + ", actual " + jdkSha256(blob),
                assertThrows(ContainerError.class, altered::finish).getMessage());
    }

    @Test
    void eachAlgorithmGetsItsOwnFreshMessageDigest() {
        MessageDigest a = Digest.parse(HELLO).newMessageDigest();
        MessageDigest b = Digest.parse(HELLO).newMessageDigest();
        assertNotSame(a, b, "one per blob: parallel downloads must not share one");
        assertEquals("SHA-256", a.getAlgorithm());
        assertEquals(32, a.getDigestLength());
        a.update(HELLO_BYTES, 0, 3);
        b.update(HELLO_BYTES);
        assertEquals(HELLO, Digest.of("sha256", b).toString());
        MessageDigest sha512 = Digest.parse("sha512:" + "ab".repeat(64)).newMessageDigest();
        assertEquals("SHA-512", sha512.getAlgorithm());
        assertEquals(64, sha512.getDigestLength());
    }

    @Test
    void aBrokenConnectionStaysAnIOException() {
        InputStream broken = new InputStream() {
            @Override
            public int read() throws IOException { throw new IOException("connection reset"); }
        };
        DigestingInputStream in = new DigestingInputStream(broken, Digest.parse(HELLO), 6, "blob");
        assertEquals("connection reset", assertThrows(IOException.class, in::finish).getMessage());
    }
}
