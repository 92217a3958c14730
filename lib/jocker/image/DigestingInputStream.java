package jocker.image;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.MessageDigest;

import jocker.runtime.ContainerError;

/**
 * Verifies a blob or manifest while it streams past: counts the bytes and feeds them to SHA-256,
 * and when the stream ends, compares both with what the descriptor announced. Reading through it
 * costs no extra pass over the data and no copy in memory, so a 100 MB layer is verified as it is
 * written to disk. (OCI image spec, descriptor.md, "Digests" and "size": "the size SHOULD be used
 * to verify the content"; OCI distribution spec, "Pulling blobs".)
 * <ul>
 *   <li>More bytes than announced are refused the moment the first surplus byte arrives: a lying or
 *       broken registry cannot fill the disk. We never ask the source for more than one byte past
 *       the announced size.</li>
 *   <li>Fewer bytes, or other bytes, are refused at end of stream, naming expected and actual.</li>
 *   <li>Nothing is verified until end of stream: the caller must read to the end (transferTo does)
 *       or call {@link #finish()}, and must not trust, rename or keep what it wrote before then.</li>
 * </ul>
 * The errors are ContainerErrors (unchecked), so they pass through {@code transferTo} and
 * decompressors unchanged; an IOException of the source (a dropped connection) stays an IOException.
 */
public final class DigestingInputStream extends FilterInputStream {
    /**
     * The largest manifest or index we read, for {@link #capped}: Distribution refuses to store a
     * larger one (registry/handlers/manifests.go, maxManifestBodySize = 4 MiB).
     */
    public static final long MAX_MANIFEST = 4 << 20;

    private final Digest expected;
    private final long size;
    private final long limit;
    private final String what;
    private final String algorithm;
    private final MessageDigest md;
    private long count;
    private Digest actual;

    /**
     * Checks the stream against a descriptor: exactly {@code size} bytes whose digest is
     * {@code expected}. {@code what} names the object in errors ("layer sha256:... of busybox:latest").
     */
    public DigestingInputStream(InputStream in, Digest expected, long size, String what) {
        this(in, expected, size, size, what);
        if (expected == null) throw new IllegalArgumentException("expected digest is null");
        if (size < 0) throw new IllegalArgumentException("size " + size + " < 0");
    }

    private DigestingInputStream(InputStream in, Digest expected, long size, long limit, String what) {
        super(in);
        this.expected = expected;
        this.size = size;
        this.limit = limit;
        this.what = what;
        this.algorithm = expected == null ? "sha256" : expected.algorithm();
        this.md = Digest.newMessageDigest(algorithm);
    }

    /**
     * Digests a stream whose digest is not known in advance (a manifest fetched by tag), refusing
     * more than {@code limit} bytes; read {@link #digest()} at the end and compare it with the
     * registry's Docker-Content-Digest header, or keep it as the manifest's name.
     */
    public static DigestingInputStream capped(InputStream in, long limit, String what) {
        return new DigestingInputStream(in, null, -1, limit, what);
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (actual != null) return -1;
        if (len == 0) return 0;
        // Ask for at most one byte beyond the limit: enough to see that it was exceeded.
        long room = limit - count;
        int want = room >= len ? len : (int) room + 1;
        int n = in.read(b, off, want);
        if (n < 0) {
            end();
            return -1;
        }
        count += n;
        if (count > limit) {
            throw new ContainerError("failed to verify " + what + ": "
                    + (expected == null ? "larger than " + limit + " bytes" : "size mismatch: expected " + size + " bytes, got more"));
        }
        md.update(b, off, n);
        return n;
    }

    /** The source ended: the count and the digest must be what was announced. */
    private void end() {
        Digest digest = Digest.of(algorithm, md);
        if (expected != null && count != size) {
            throw new ContainerError("failed to verify " + what + ": size mismatch: expected " + size
                    + " bytes, got " + count);
        }
        if (expected != null && !expected.equals(digest)) {
            throw new ContainerError("failed to verify " + what + ": digest mismatch: expected " + expected
                    + ", actual " + digest);
        }
        actual = digest;
    }

    /** Reads what is left to the end (so that it is verified) and returns the digest. */
    public Digest finish() throws IOException {
        byte[] buffer = new byte[8192];
        while (read(buffer, 0, buffer.length) >= 0) {
            // discard: a decompressor may stop before the end (gzip padding), the digest must not
        }
        return actual;
    }

    /** Copies the whole stream to {@code out}, verified; returns the digest. */
    public Digest copyTo(OutputStream out) throws IOException {
        transferTo(out);
        return actual;
    }

    /** The verified digest, once the stream has ended; null before. */
    public Digest digest() { return actual; }

    /** Bytes read so far. */
    public long count() { return count; }

    @Override
    public long skip(long n) throws IOException {
        // Skipped bytes must be digested too: read them instead.
        byte[] buffer = new byte[(int) Math.min(8192, Math.max(n, 1))];
        long skipped = 0;
        while (skipped < n) {
            int r = read(buffer, 0, (int) Math.min(buffer.length, n - skipped));
            if (r < 0) break;
            skipped += r;
        }
        return skipped;
    }

    @Override
    public boolean markSupported() { return false; }

    @Override
    public synchronized void mark(int readlimit) {}

    @Override
    public synchronized void reset() throws IOException { throw new IOException("mark/reset not supported"); }
}
