//DEPS com.github.jnr:jnr-ffi:2.2.16
package jocker.image;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Objects;

import jnr.ffi.LibraryLoader;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;
import jnr.ffi.annotations.Pinned;
import jnr.ffi.types.size_t;

/**
 * SHA-256 computed by OpenSSL's libcrypto instead of the JDK: the same digest, ten to fifteen
 * times faster in the JVMs the workbook starts. {@link Digest#newMessageDigest} hands one out for
 * every sha256 digest when libcrypto loads here, else the JDK's.
 *
 * <p>Why it exists: every step runs with {@code -XX:TieredStopAtLevel=1} (step 01's
 * {@code //JAVA_OPTIONS}, needed for start latency), which leaves a JVM the C1 compiler only, and
 * only C2 has the intrinsic that runs the JDK's SHA-256 ({@code sun.security.provider.SHA2}) on the
 * CPU's SHA instructions. Under C1 it is plain Java: 55-90 MB/s here for 100 MB in 8 KiB updates
 * (35-40 MB/s inside a loaded pull), against 1050 MB/s for the same JDK with C2; hashing was 40% of
 * the CPU time of pulling a 100 MB image. Through this class libcrypto hashes 900-1100 MB/s
 * ({@code openssl speed sha256}: 1150 MB/s), and pulling a 61 MB image took 1.1 s of CPU instead
 * of 2.1 s. What it costs: loading jnr-ffi and libcrypto once per JVM, ~35 ms of a small pull with
 * the script's class archive (~100 ms without one).
 *
 * <p>What it does not change: the verification. {@link DigestingInputStream} still counts the
 * bytes and compares size and digest with the descriptor at end of stream; this class only
 * computes the digest it compares. A self-test at load time (the digest of "abc") keeps a
 * libcrypto that answers wrong from being used at all.
 *
 * <p>How: OpenSSL's low-level SHA-256 API ({@code SHA256_Init/Update/Final}, openssl/sha.h;
 * deprecated in OpenSSL 3 in favour of EVP, still exported by libcrypto.so.3 and .so.1.1, and it
 * skips EVP's provider and config loading), bound with jnr-ffi as {@code jocker.kernel.Linux}
 * binds libc. The {@code SHA256_CTX} (112 bytes of plain data, no pointers) lives in a Java
 * {@code int[]}: nothing native is allocated, so nothing needs freeing and nothing can leak.
 * Context and data are passed {@code @Pinned} (JNI critical arrays, not copied), the data as a
 * ByteBuffer view of the caller's array, which carries the offset without a copy either. One
 * instance per blob, like any MessageDigest: not thread-safe, never shared (DigestingInputStream
 * makes one per stream, so parallel layer downloads each have their own).
 * Off with {@code JOCKER_NATIVE_DIGEST=0} (or {@code -Djocker.native.digest=0}), to compare.
 */
final class NativeSha256 extends MessageDigest implements Cloneable {
    /** The three calls we use of libcrypto. {@code SHA256_CTX} is 112 bytes; we give it 128. */
    public interface LibCrypto {
        int SHA256_Init(@Pinned @Out int[] ctx);

        int SHA256_Update(@Pinned @In @Out int[] ctx, @Pinned @In ByteBuffer data, @size_t long len);

        int SHA256_Final(@Pinned @Out byte[] md, @Pinned @In @Out int[] ctx);
    }

    private static final int CTX_INTS = 32;
    private static final int LENGTH = 32;
    /**
     * Updates shorter than this are gathered in {@code pending} first: a call into libcrypto costs
     * ~1 us, more than hashing 64 bytes in Java, so a stream read byte by byte would otherwise
     * hash at 1 MB/s. Bulk reads (transferTo's 8 KiB) go to libcrypto directly.
     */
    private static final int SMALL = 1024;
    private static final int PENDING = 8192;

    static {
        // As in jocker.kernel.Linux, whichever of the two loads jnr first: the property is read
        // once per JVM, and ASM code generation for Linux's libc interface would cost a short-lived
        // JVM most of its jnr start if we let it default to on here.
        if (System.getProperty("jnr.ffi.asm.enabled") == null) System.setProperty("jnr.ffi.asm.enabled", "false");
    }

    /** Loaded on first use: a pull needs it, most commands never do. */
    private static final class Holder {
        static final LibCrypto CRYPTO = load();
    }

    private final LibCrypto crypto;
    private int[] ctx = new int[CTX_INTS];
    private byte[] pending;   // made on the first small update
    private int pendingLength;

    private NativeSha256(LibCrypto crypto) {
        super("SHA-256");
        this.crypto = crypto;
        check(crypto.SHA256_Init(ctx), "SHA256_Init");
    }

    /** A new native SHA-256, or null when it is turned off or libcrypto cannot be used here. */
    static MessageDigest newInstanceOrNull() {
        if (!enabled()) return null;
        LibCrypto crypto = Holder.CRYPTO;
        return crypto == null ? null : new NativeSha256(crypto);
    }

    /** False with JOCKER_NATIVE_DIGEST=0 (or =false) in the environment, or -Djocker.native.digest=0. */
    static boolean enabled() {
        return enabled(System.getProperty("jocker.native.digest", System.getenv("JOCKER_NATIVE_DIGEST")));
    }

    static boolean enabled(String setting) { return !("0".equals(setting) || "false".equalsIgnoreCase(setting)); }

    /** Whether libcrypto loaded and passed its self-test (for the tests). */
    static boolean available() { return Holder.CRYPTO != null; }

    /**
     * libcrypto, by the names it has: OpenSSL 3's soname first, which jnr hands to dlopen(3) as it
     * is; then "crypto", for which jnr lists every directory of the library path to find the
     * highest libcrypto.so.N (~20 ms of a JVM's start, see Linux.bindLibc); then OpenSSL 1.1's
     * soname. Whichever loads must compute SHA-256("abc") right, else we stay with the JDK.
     */
    private static LibCrypto load() {
        for (String name : new String[] {"libcrypto.so.3", "crypto", "libcrypto.so.1.1"}) {
            try {
                LibCrypto crypto = LibraryLoader.create(LibCrypto.class).load(name);
                if (selfTest(crypto)) return crypto;
            } catch (LinkageError | RuntimeException e) {
                // not here (UnsatisfiedLinkError), or without these symbols: try the next name
            }
        }
        return null;
    }

    /** FIPS 180-2, appendix B.1: SHA-256("abc"). */
    private static boolean selfTest(LibCrypto crypto) {
        NativeSha256 md = new NativeSha256(crypto);
        md.update(new byte[] {'a', 'b', 'c'});
        return HexFormat.of().formatHex(md.digest())
                .equals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    private static void check(int ok, String call) {
        if (ok != 1) throw new IllegalStateException("libcrypto's " + call + " failed");   // it cannot, for SHA-256
    }

    @Override
    protected int engineGetDigestLength() { return LENGTH; }

    @Override
    protected void engineUpdate(byte input) {
        if (pending == null) pending = new byte[PENDING];
        if (pendingLength == PENDING) flush();
        pending[pendingLength++] = input;
    }

    @Override
    protected void engineUpdate(byte[] input, int offset, int len) {
        Objects.checkFromIndexSize(offset, len, input.length);   // no bad address reaches C
        if (len < SMALL) {
            if (pending == null) pending = new byte[PENDING];
            if (pendingLength + len > PENDING) flush();
            System.arraycopy(input, offset, pending, pendingLength, len);
            pendingLength += len;
            return;
        }
        flush();
        hash(input, offset, len);
    }

    private void flush() {
        if (pendingLength > 0) hash(pending, 0, pendingLength);
        pendingLength = 0;
    }

    /** The ByteBuffer is a view: libcrypto reads the array in place, from {@code offset}. */
    private void hash(byte[] input, int offset, int len) {
        check(crypto.SHA256_Update(ctx, ByteBuffer.wrap(input, offset, len), len), "SHA256_Update");
    }

    @Override
    protected byte[] engineDigest() {
        flush();
        byte[] md = new byte[LENGTH];
        check(crypto.SHA256_Final(md, ctx), "SHA256_Final");
        engineReset();   // a MessageDigest starts over after digest()
        return md;
    }

    @Override
    protected void engineReset() {
        pendingLength = 0;
        check(crypto.SHA256_Init(ctx), "SHA256_Init");
    }

    /** The state is plain data in Java arrays: copies of them are a copy of the digest. */
    @Override
    public Object clone() throws CloneNotSupportedException {
        NativeSha256 copy = (NativeSha256) super.clone();
        copy.ctx = ctx.clone();
        copy.pending = pending == null ? null : pending.clone();
        return copy;
    }
}
