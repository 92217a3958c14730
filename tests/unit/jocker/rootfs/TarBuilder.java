//DEPS org.apache.commons:commons-compress:1.27.1
//DEPS com.github.luben:zstd-jni:1.5.6-8
package jocker.rootfs;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.function.Consumer;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;
import org.apache.commons.compress.compressors.zstandard.ZstdCompressorOutputStream;

/**
 * A tar (a rootfs tarball, an image layer) built in memory for unit tests. Entries are owned by
 * the uid and gid given (the test's own, so that unpacking needs no root) unless an entry says
 * otherwise.
 */
public final class TarBuilder {
    private final List<Consumer<TarArchiveOutputStream>> entries = new ArrayList<>();
    private final int uid;
    private final int gid;
    private int longFileMode = TarArchiveOutputStream.LONGFILE_POSIX;

    public TarBuilder(int uid, int gid) {
        this.uid = uid;
        this.gid = gid;
    }

    /** A builder for the owner of {@code dir} (a test's temporary directory). */
    public static TarBuilder ownedLike(Path dir) throws IOException {
        return new TarBuilder((Integer) Files.getAttribute(dir, "unix:uid"), (Integer) Files.getAttribute(dir, "unix:gid"));
    }

    public TarBuilder dir(String name) { return dir(name, 0755); }

    public TarBuilder dir(String name, int mode) { return add(name, TarConstants.LF_DIR, null, null, mode, null); }

    public TarBuilder file(String name, String content) { return file(name, content, 0644); }

    public TarBuilder file(String name, String content, int mode) {
        return add(name, TarConstants.LF_NORMAL, null, content, mode, null);
    }

    public TarBuilder symlink(String name, String target) { return add(name, TarConstants.LF_SYMLINK, target, null, 0777, null); }

    public TarBuilder hardlink(String name, String target) { return add(name, TarConstants.LF_LINK, target, null, 0644, null); }

    public TarBuilder charDevice(String name) { return add(name, TarConstants.LF_CHR, null, null, 0666, null); }

    public TarBuilder fifo(String name) { return add(name, TarConstants.LF_FIFO, null, null, 0644, null); }

    /** An entry of any kind, adjusted by {@code tweak} (an mtime, an owner) before it is written. */
    public TarBuilder entry(String name, byte type, String link, String content, int mode, Consumer<TarArchiveEntry> tweak) {
        return add(name, type, link, content, mode, tweak);
    }

    /** Long names as GNU tar writes them (././@LongLink entries) instead of PAX headers. */
    public TarBuilder gnuLongNames() {
        longFileMode = TarArchiveOutputStream.LONGFILE_GNU;
        return this;
    }

    private TarBuilder add(String name, byte type, String link, String content, int mode, Consumer<TarArchiveEntry> tweak) {
        entries.add(out -> {
            try {
                TarArchiveEntry e = new TarArchiveEntry(name, type, true);
                if (link != null) e.setLinkName(link);
                e.setMode(mode);
                e.setUserId(uid);
                e.setGroupId(gid);
                e.setModTime(new Date(1_000_000_000_000L));   // 2001-09-09
                byte[] data = content == null ? new byte[0] : content.getBytes(StandardCharsets.UTF_8);
                e.setSize(data.length);
                if (tweak != null) tweak.accept(e);
                out.putArchiveEntry(e);
                out.write(data);
                out.closeArchiveEntry();
            } catch (IOException x) {
                throw new UncheckedIOException(x);
            }
        });
        return this;
    }

    public void write(OutputStream sink) throws IOException {
        try (TarArchiveOutputStream out = new TarArchiveOutputStream(sink)) {
            out.setLongFileMode(longFileMode);
            out.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
            for (var e : entries) e.accept(out);
        }
    }

    public byte[] bytes() throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        write(buf);
        return buf.toByteArray();
    }

    public byte[] gzip() throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (OutputStream out = new GzipCompressorOutputStream(buf)) {
            write(out);
        }
        return buf.toByteArray();
    }

    public byte[] zstd() throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (OutputStream out = new ZstdCompressorOutputStream(buf)) {
            write(out);
        }
        return buf.toByteArray();
    }
}
