//DEPS org.junit.platform:junit-platform-console-standalone:1.11.4
package jocker.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * libcrypto's SHA-256 against the JDK's, byte for byte: empty, single bytes, random sizes fed in
 * random chunks at random offsets, reuse after digest and reset, clones, parallel instances. On a
 * machine without a usable libcrypto the tests are skipped (the JDK's SHA-256 is used there).
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class NativeSha256Test {
    private static final HexFormat HEX = HexFormat.of();

    @BeforeEach
    void needsLibcrypto() {
        assumeTrue(NativeSha256.available(), "no usable libcrypto here: Digest uses the JDK's SHA-256");
    }

    private static MessageDigest nativeSha() {
        MessageDigest md = NativeSha256.newInstanceOrNull();
        assumeTrue(md != null, "native digests are off here (JOCKER_NATIVE_DIGEST)");
        return md;
    }

    private static MessageDigest jdkSha() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    private static String hex(byte[] digest) { return HEX.formatHex(digest); }

    @Test
    void knownAnswers() {
        MessageDigest md = nativeSha();
        assertEquals("SHA-256", md.getAlgorithm());
        assertEquals(32, md.getDigestLength());
        assertEquals("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", hex(md.digest()));
        // FIPS 180-2 appendix B.2: 56 bytes, so the padding needs a second block.
        md.update("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".getBytes(StandardCharsets.US_ASCII));
        assertEquals("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", hex(md.digest()));
        md.update("hello\n".getBytes(StandardCharsets.US_ASCII));
        assertEquals("5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03", hex(md.digest()));
    }

    @Test
    void everySingleByteAndEveryLengthAroundABlock() {
        MessageDigest md = nativeSha();
        MessageDigest jdk = jdkSha();
        for (int b = 0; b < 256; b++) {
            md.update((byte) b);                             // update(byte)
            assertEquals(hex(jdk.digest(new byte[] {(byte) b})), hex(md.digest()), "byte " + b);
        }
        byte[] data = new byte[300];
        new Random(7).nextBytes(data);
        for (int n = 0; n <= data.length; n++) {          // 55, 56, 63, 64, 65, 119, 120, 128...: padding edges
            md.update(data, 0, n);
            jdk.update(data, 0, n);
            assertEquals(hex(jdk.digest()), hex(md.digest()), n + " bytes");
        }
    }

    /** Small updates are gathered in Java before they go to libcrypto: across that buffer's edges too. */
    @Test
    void byteByByteAndSmallPiecesBetweenLargeOnes() {
        byte[] data = new byte[50_000];
        new Random(11).nextBytes(data);
        MessageDigest md = nativeSha();
        for (byte b : data) md.update(b);
        assertEquals(hex(jdkSha().digest(data)), hex(md.digest()));
        int p = 0;
        for (int n : new int[] {1, 1023, 1024, 8191, 3, 8192, 5000, 5000, 1, 20_000}) {
            md.update(data, p, n);
            p += n;
        }
        assertEquals(hex(jdkSha().digest(java.util.Arrays.copyOf(data, p))), hex(md.digest()));
    }

    @Test
    void randomSizesInRandomChunksAtRandomOffsets() {
        Random random = new Random(42);
        byte[] data = new byte[4 << 20];
        random.nextBytes(data);
        MessageDigest md = nativeSha();   // one instance throughout: digest() must leave it fresh
        for (int round = 0; round < 12; round++) {
            int size = round == 0 ? data.length : random.nextInt(round < 6 ? 5000 : data.length);
            int start = random.nextInt(data.length - size + 1);
            MessageDigest jdk = jdkSha();
            jdk.update(data, start, size);
            for (int p = start; p < start + size; ) {
                int n = Math.min(start + size - p, random.nextInt(random.nextBoolean() ? 200 : 70_000));
                md.update(data, p, n);    // n == 0 too
                p += n;
            }
            assertEquals(hex(jdk.digest()), hex(md.digest()), size + " bytes from " + start);
        }
    }

    @Test
    void resetStartsOverAndDigestLeavesItFresh() {
        MessageDigest md = nativeSha();
        byte[] abc = "abc".getBytes(StandardCharsets.US_ASCII);
        md.update("something else".getBytes(StandardCharsets.US_ASCII));
        md.reset();
        md.update(abc);
        byte[] first = md.digest();
        assertEquals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", hex(first));
        assertArrayEquals(first, md.digest(abc), "digest() left the context fresh");
        byte[] into = new byte[40];
        md.update(abc);
        try {
            assertEquals(32, md.digest(into, 4, 32));
        } catch (java.security.DigestException e) {
            throw new AssertionError(e);
        }
        assertArrayEquals(first, java.util.Arrays.copyOfRange(into, 4, 36));
    }

    @Test
    void aCloneCarriesOnIndependently() throws CloneNotSupportedException {
        MessageDigest md = nativeSha();
        MessageDigest jdk = jdkSha();
        byte[] head = "the first part, ".repeat(10).getBytes(StandardCharsets.US_ASCII);
        md.update(head);
        jdk.update(head);
        MessageDigest copy = (MessageDigest) md.clone();
        MessageDigest jdkCopy = (MessageDigest) jdk.clone();
        assertNotSame(md, copy);
        md.update("one ending".getBytes(StandardCharsets.US_ASCII));
        jdk.update("one ending".getBytes(StandardCharsets.US_ASCII));
        copy.update("another".getBytes(StandardCharsets.US_ASCII));
        jdkCopy.update("another".getBytes(StandardCharsets.US_ASCII));
        assertEquals(hex(jdkCopy.digest()), hex(copy.digest()));
        assertEquals(hex(jdk.digest()), hex(md.digest()));
    }

    @Test
    void byteBuffersHeapAndDirect() {
        byte[] data = new byte[100_000];
        new Random(3).nextBytes(data);
        String expected = hex(jdkSha().digest(java.util.Arrays.copyOfRange(data, 10, 90_010)));
        MessageDigest md = nativeSha();
        md.update(ByteBuffer.wrap(data, 10, 90_000));
        assertEquals(expected, hex(md.digest()));
        ByteBuffer direct = ByteBuffer.allocateDirect(data.length);
        direct.put(data).position(10).limit(90_010);
        md.update(direct);
        assertEquals(expected, hex(md.digest()));
        assertFalse(direct.hasRemaining());
    }

    @Test
    void badArgumentsAreRefusedBeforeTheyReachC() {
        MessageDigest md = nativeSha();
        byte[] b = new byte[10];
        assertThrows(IllegalArgumentException.class, () -> md.update(b, 5, 6));      // MessageDigest checks these
        assertThrows(IllegalArgumentException.class, () -> md.update(null, 0, 1));
        assertThrows(IndexOutOfBoundsException.class, () -> md.update(b, -1, 2));    // and we these, as the JDK's
        assertThrows(IndexOutOfBoundsException.class, () -> md.update(b, 2, -1));
        assertEquals("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", hex(md.digest()),
                "a refused update changed nothing");
    }

    /** One instance per blob, as parallel layer downloads use them. */
    @Test
    void parallelInstancesDoNotMix() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<String[]>> results = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int seed = t;
                results.add(pool.submit(() -> {
                    Random random = new Random(seed);
                    byte[] data = new byte[random.nextInt(1 << 20) + 1];
                    random.nextBytes(data);
                    MessageDigest md = nativeSha();
                    for (int p = 0; p < data.length; p += 8192) md.update(data, p, Math.min(8192, data.length - p));
                    return new String[] {hex(jdkSha().digest(data)), hex(md.digest())};
                }));
            }
            for (Future<String[]> f : results) {
                String[] pair = f.get();
                assertEquals(pair[0], pair[1]);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void turnedOffByZeroOrFalse() {
        assertTrue(NativeSha256.enabled(null));
        assertTrue(NativeSha256.enabled(""));
        assertTrue(NativeSha256.enabled("1"));
        assertFalse(NativeSha256.enabled("0"));
        assertFalse(NativeSha256.enabled("false"));
        assertFalse(NativeSha256.enabled("FALSE"));
    }

    @Test
    void digestPicksItForSha256Only() {
        MessageDigest sha256 = Digest.newMessageDigest("sha256");
        assertNotNull(sha256);
        assertEquals(NativeSha256.enabled(), sha256 instanceof NativeSha256);
        assertFalse(Digest.newMessageDigest("sha512") instanceof NativeSha256);
        assertEquals("SHA-512", Digest.newMessageDigest("sha512").getAlgorithm());
    }
}
