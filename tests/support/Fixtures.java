import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPOutputStream;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Fixture images for the checks of step 06, made by tools that are not ours, so that a pull is
 * judged against what the rest of the world makes: umoci builds OCI image layouts
 * ({@link Layout}), skopeo pushes them to a {@link RegistryServer} (converting to Docker's
 * schema 2, or compressing with zstd, on the way), and where no tool makes what a check needs (an
 * image index, uncompressed layers, a hostile layer) the registry's own HTTP API takes the blobs
 * and manifests as they are ({@link Api}). Layers are tarballs written entry by entry ({@link
 * Layer}), whiteouts included, on top of the workbook's busybox image (build/images/busybox.tar),
 * so that a container of every fixture has a shell.
 */
final class Fixtures {
    private Fixtures() {}

    static final ObjectMapper JSON = new ObjectMapper();

    static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
    static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
    static final String DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
    static final String DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
    static final String OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
    static final String OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar";
    static final String OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
    static final String OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd";
    static final String ACCEPT = String.join(", ", OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST, DOCKER_MANIFEST);

    // ------------------------------------------------------------------------------------------
    // Running a tool
    // ------------------------------------------------------------------------------------------

    /**
     * Runs {@code command} in {@code dir} and returns its stdout; a tool that fails or hangs is an
     * IOException with its command line and output (the check class's setup fails with it).
     */
    static String tool(Path dir, List<String> command, int timeoutSeconds) throws IOException {
        Path out = Files.createTempFile("jocker-check-tool-", ".out");
        Path err = Files.createTempFile("jocker-check-tool-", ".err");
        Process p = null;
        try {
            ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile())
                    .redirectOutput(out.toFile()).redirectError(err.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            try {
                p = pb.start();
            } catch (IOException e) {
                throw new IOException("cannot run " + command.get(0) + " (./build.sh test installs docker-registry, skopeo, umoci"
                        + " and apache2-utils): " + e.getMessage(), e);
            }
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                throw new IOException("timed out after " + timeoutSeconds + " s: " + String.join(" ", command));
            }
            String stdout = Files.readString(out);
            if (p.exitValue() != 0) {
                throw new IOException(String.join(" ", command) + " failed (exit " + p.exitValue() + "):\n"
                        + Files.readString(err).strip() + (stdout.isBlank() ? "" : "\n" + stdout.strip()));
            }
            return stdout;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted: " + String.join(" ", command), e);
        } finally {
            if (p != null && p.isAlive()) p.destroyForcibly();
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    // ------------------------------------------------------------------------------------------
    // Bytes
    // ------------------------------------------------------------------------------------------

    static String sha256(byte[] bytes) {
        try {
            return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
            return "sha256:" + HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] gzip(byte[] bytes) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (GZIPOutputStream z = new GZIPOutputStream(b)) {
            z.write(bytes);
        }
        return b.toByteArray();
    }

    /** The 12 hex digits Docker shows for a digest. */
    static String shortHex(String digest) {
        return digest.substring(digest.indexOf(':') + 1, digest.indexOf(':') + 13);
    }

    // ------------------------------------------------------------------------------------------
    // Layers
    // ------------------------------------------------------------------------------------------

    /**
     * A layer's tarball, entry by entry, names kept exactly as given (a hostile layer is written
     * by hand, not by a careful tar). Whiteouts are what the OCI image spec (layer.md) says:
     * {@code DIR/.wh.NAME} deletes NAME of the layers below, {@code DIR/.wh..wh..opq} empties DIR
     * of what the layers below put there.
     */
    static final class Layer {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private final TarArchiveOutputStream tar;

        Layer() {
            tar = new TarArchiveOutputStream(bytes);
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
        }

        /**
         * The entries of the workbook's busybox image (a static busybox, its applet links,
         * /etc/passwd with nobody), all but its "./" entry, whose mode 0700 would lock every user
         * but root out of a rootfs unpacked from it.
         */
        Layer busybox(Path tarball) throws IOException {
            try (TarArchiveInputStream in = new TarArchiveInputStream(Files.newInputStream(tarball))) {
                for (TarArchiveEntry e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
                    String name = e.getName();
                    if (name.equals("./") || name.equals(".") || name.equals("/")) continue;
                    tar.putArchiveEntry(e);
                    if (e.isFile() && !e.isLink()) in.transferTo(tar);
                    tar.closeArchiveEntry();
                }
            }
            return this;
        }

        Layer file(String name, String content) throws IOException {
            return file(name, content.getBytes(StandardCharsets.UTF_8), 0644);
        }

        Layer file(String name, byte[] content, int mode) throws IOException {
            TarArchiveEntry e = new TarArchiveEntry(name, true);
            e.setSize(content.length);
            e.setMode(0100000 | mode);
            return add(e, content);
        }

        Layer dir(String name) throws IOException {
            TarArchiveEntry e = new TarArchiveEntry(name.endsWith("/") ? name : name + "/", TarConstants.LF_DIR, true);
            e.setMode(040755);
            return add(e, null);
        }

        /** A file with a mode of its own (setuid, 0600...) owned by {@code uid}:{@code gid}, numerically. */
        Layer file(String name, String content, int mode, int uid, int gid) throws IOException {
            byte[] bytes = content.getBytes(StandardCharsets.UTF_8);
            TarArchiveEntry e = new TarArchiveEntry(name, true);
            e.setSize(bytes.length);
            e.setMode(0100000 | mode);
            e.setUserId(uid);
            e.setGroupId(gid);
            return add(e, bytes);
        }

        /** A directory with a mode of its own (0700, setgid...) owned by {@code uid}:{@code gid}, numerically. */
        Layer dir(String name, int mode, int uid, int gid) throws IOException {
            TarArchiveEntry e = new TarArchiveEntry(name.endsWith("/") ? name : name + "/", TarConstants.LF_DIR, true);
            e.setMode(040000 | mode);
            e.setUserId(uid);
            e.setGroupId(gid);
            return add(e, null);
        }

        Layer symlink(String name, String target) throws IOException {
            return link(name, TarConstants.LF_SYMLINK, target);
        }

        Layer hardlink(String name, String target) throws IOException {
            return link(name, TarConstants.LF_LINK, target);
        }

        private Layer link(String name, byte type, String target) throws IOException {
            TarArchiveEntry e = new TarArchiveEntry(name, type, true);
            e.setLinkName(target);
            return add(e, null);
        }

        /** Adds an entry dated 2000-01-01, with its content when it has some (a regular file). */
        private Layer add(TarArchiveEntry e, byte[] content) throws IOException {
            e.setModTime(946684800000L);
            tar.putArchiveEntry(e);
            if (content != null) tar.write(content);
            tar.closeArchiveEntry();
            return this;
        }

        /** {@code DIR/.wh.NAME}: deletes {@code path} (DIR/NAME) of the layers below. */
        Layer whiteout(String path) throws IOException {
            int slash = path.lastIndexOf('/');
            return file(path.substring(0, slash + 1) + ".wh." + path.substring(slash + 1), new byte[0], 0644);
        }

        /** {@code DIR/.wh..wh..opq}: DIR keeps only what this layer puts there. */
        Layer opaque(String dir) throws IOException {
            return file((dir.endsWith("/") ? dir : dir + "/") + ".wh..wh..opq", new byte[0], 0644);
        }

        /** The uncompressed tarball (the layer cannot take entries after this). */
        byte[] tar() throws IOException {
            tar.finish();
            tar.close();
            return bytes.toByteArray();
        }
    }

    // ------------------------------------------------------------------------------------------
    // OCI image layouts, built with umoci
    // ------------------------------------------------------------------------------------------

    /** An OCI image layout made and changed by umoci; pushed by skopeo or the registry API. */
    static final class Layout {
        final Path dir;

        private Layout(Path dir) {
            this.dir = dir;
        }

        /** {@code umoci init}: an empty layout at {@code dir} (which must not exist). */
        static Layout init(Path dir) throws IOException {
            Files.createDirectories(dir.getParent());
            tool(dir.getParent(), List.of("umoci", "init", "--layout", dir.toString()), 60);
            return new Layout(dir);
        }

        private String image(String tag) { return dir + ":" + tag; }

        /** {@code umoci new}: an image with no layer, its config for linux and this machine's architecture. */
        Layout create(String tag) throws IOException {
            tool(dir, List.of("umoci", "new", "--image", image(tag)), 60);
            return this;
        }

        /** {@code umoci raw add-layer}: {@code layer} on top of {@code tag}, as {@code newTag} (gzip-compressed by umoci). */
        Layout addLayer(String tag, Layer layer, String newTag) throws IOException {
            Path tar = Files.createTempFile(dir.getParent(), "layer-", ".tar");
            try {
                Files.write(tar, layer.tar());
                List<String> cmd = new ArrayList<>(List.of("umoci", "raw", "add-layer", "--image", image(tag)));
                if (!newTag.equals(tag)) cmd.addAll(List.of("--tag", newTag));
                cmd.add(tar.toString());
                tool(dir, cmd, 120);
            } finally {
                Files.deleteIfExists(tar);
            }
            return this;
        }

        /** {@code umoci config --image DIR:TAG [--tag newTag] OPTIONS...}, e.g. {@code --config.user nobody}. */
        Layout config(String tag, String newTag, String... options) throws IOException {
            List<String> cmd = new ArrayList<>(List.of("umoci", "config", "--image", image(tag)));
            if (!newTag.equals(tag)) cmd.addAll(List.of("--tag", newTag));
            cmd.addAll(List.of(options));
            tool(dir, cmd, 60);
            return this;
        }

        /**
         * Pushes {@code tag} to {@code destination} ({@code HOST/NAME:TAG}, plain HTTP). As it is,
         * without options: through the registry API, byte for byte (a skopeo process costs ~0.12 s,
         * and a check class pushes a dozen images). With options, {@code skopeo copy oci:DIR:TAG
         * docker://HOST/NAME} does it ({@code --format v2s2}, {@code --dest-compress-format zstd},
         * {@code --dest-creds u:p}): a conversion, or credentials, are skopeo's to handle.
         */
        void push(String tag, String destination, String... options) throws IOException {
            if (options.length == 0) {
                int slash = destination.indexOf('/'), colon = destination.lastIndexOf(':');
                if (slash < 0 || colon < slash) throw new IllegalArgumentException("not HOST/NAME:TAG: " + destination);
                pushAs(new Api(destination.substring(0, slash)), destination.substring(slash + 1, colon),
                        destination.substring(colon + 1), manifestDescriptor(tag));
                return;
            }
            List<String> cmd = new ArrayList<>(List.of("skopeo", "copy", "--quiet", "--dest-tls-verify=false"));
            cmd.addAll(List.of(options));
            cmd.add("oci:" + image(tag));
            cmd.add("docker://" + destination);
            tool(dir, cmd, 180);
        }

        /** The descriptor of {@code tag}'s manifest in index.json. */
        JsonNode manifestDescriptor(String tag) throws IOException {
            JsonNode index = JSON.readTree(dir.resolve("index.json").toFile());
            for (JsonNode m : index.path("manifests")) {
                if (tag.equals(m.path("annotations").path("org.opencontainers.image.ref.name").asText())) return m;
            }
            throw new IOException("no tag " + tag + " in " + dir.resolve("index.json"));
        }

        byte[] blob(String digest) throws IOException {
            return Files.readAllBytes(dir.resolve("blobs/sha256").resolve(digest.substring(digest.indexOf(':') + 1)));
        }

        /**
         * Pushes {@code tag}'s manifest, config and layers through the registry API, byte for byte
         * (skopeo may rewrite a manifest; an index must name the exact digests), the manifest by
         * its digest only. Returns the manifest's descriptor.
         */
        ObjectNode pushByDigest(Api api, String repo, String tag) throws IOException {
            JsonNode d = manifestDescriptor(tag);
            String digest = d.path("digest").asText();
            byte[] manifest = pushAs(api, repo, digest, d);
            ObjectNode desc = JSON.createObjectNode();
            desc.put("mediaType", d.path("mediaType").asText(OCI_MANIFEST));
            desc.put("digest", digest);
            desc.put("size", manifest.length);
            return desc;
        }

        /**
         * Pushes the image of the manifest descriptor {@code d} (its config, layers and manifest)
         * through the registry API as they are, the manifest under {@code reference} (a tag, or its
         * digest); returns the manifest's bytes.
         */
        private byte[] pushAs(Api api, String repo, String reference, JsonNode d) throws IOException {
            byte[] manifest = blob(d.path("digest").asText());
            JsonNode m = JSON.readTree(manifest);
            api.pushBlob(repo, blob(m.path("config").path("digest").asText()));
            for (JsonNode l : m.path("layers")) api.pushBlob(repo, blob(l.path("digest").asText()));
            api.pushManifest(repo, reference, d.path("mediaType").asText(OCI_MANIFEST), manifest);
            return manifest;
        }

        /** The image config of {@code tag}. */
        JsonNode config(String tag) throws IOException {
            JsonNode m = JSON.readTree(blob(manifestDescriptor(tag).path("digest").asText()));
            return JSON.readTree(blob(m.path("config").path("digest").asText()));
        }
    }

    // ------------------------------------------------------------------------------------------
    // The registry's HTTP API (distribution spec), for what no tool pushes as it is
    // ------------------------------------------------------------------------------------------

    /** A blob or manifest as a manifest lists it. */
    record Blob(String mediaType, String digest, long size) {}

    /** An image as the registry serves it: what a check expects a pull to store. */
    record Image(String host, String repo, String tag, String digest, String mediaType, byte[] manifestBytes,
            String configDigest, JsonNode config, List<Blob> layers) {
        /** {@code HOST/REPO:TAG}, the canonical name of an image on a loopback registry. */
        String ref() { return host + "/" + repo + ":" + tag; }

        /** {@code HOST/REPO@DIGEST}. */
        String byDigest() { return host + "/" + repo + "@" + digest; }

        /** The same image under another name, e.g. through a relay's host. */
        Image at(String otherHost) {
            return new Image(otherHost, repo, tag, digest, mediaType, manifestBytes, configDigest, config, layers);
        }

        /** The manifest, config and layer digests. */
        List<String> blobs() {
            List<String> all = new ArrayList<>(List.of(digest, configDigest));
            for (Blob l : layers) all.add(l.digest());
            return all;
        }
    }

    /** The registry's HTTP API on a loopback registry (plain HTTP), anonymous or with basic credentials. */
    static final class Api {
        private final String host;
        private final String authorization;
        private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10)).build();

        Api(String host) {
            this(host, null, null);
        }

        Api(String host, String user, String password) {
            this.host = host;
            this.authorization = user == null ? null
                    : "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
        }

        private HttpRequest.Builder request(String pathOrUrl) {
            URI uri = pathOrUrl.startsWith("http") ? URI.create(pathOrUrl) : URI.create("http://" + host + pathOrUrl);
            HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(60));
            if (authorization != null) b.header("Authorization", authorization);
            return b;
        }

        private HttpResponse<byte[]> send(HttpRequest r) throws IOException {
            try {
                return http.send(r, HttpResponse.BodyHandlers.ofByteArray());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted: " + r.uri(), e);
            }
        }

        private static IOException unexpected(HttpRequest r, HttpResponse<byte[]> a) {
            return new IOException(r.method() + " " + r.uri() + ": HTTP " + a.statusCode() + " "
                    + new String(a.body(), StandardCharsets.UTF_8).strip());
        }

        boolean hasBlob(String repo, String digest) throws IOException {
            HttpRequest r = request("/v2/" + repo + "/blobs/" + digest).method("HEAD", HttpRequest.BodyPublishers.noBody()).build();
            return send(r).statusCode() == 200;
        }

        /** A monolithic upload (POST, then PUT with the bytes and their digest); returns the digest. */
        String pushBlob(String repo, byte[] bytes) throws IOException {
            String digest = sha256(bytes);
            if (hasBlob(repo, digest)) return digest;
            HttpRequest start = request("/v2/" + repo + "/blobs/uploads/").POST(HttpRequest.BodyPublishers.noBody()).build();
            HttpResponse<byte[]> a = send(start);
            if (a.statusCode() != 202) throw unexpected(start, a);
            String location = a.headers().firstValue("Location").orElseThrow(() -> new IOException("no Location in " + a));
            String put = location + (location.contains("?") ? "&" : "?") + "digest=" + digest;
            HttpRequest finish = request(put).header("Content-Type", "application/octet-stream")
                    .PUT(HttpRequest.BodyPublishers.ofByteArray(bytes)).build();
            HttpResponse<byte[]> b = send(finish);
            if (b.statusCode() != 201) throw unexpected(finish, b);
            return digest;
        }

        /** PUT a manifest (or index) under {@code reference} (a tag or its digest); returns its digest. */
        String pushManifest(String repo, String reference, String mediaType, byte[] bytes) throws IOException {
            HttpRequest r = request("/v2/" + repo + "/manifests/" + reference).header("Content-Type", mediaType)
                    .PUT(HttpRequest.BodyPublishers.ofByteArray(bytes)).build();
            HttpResponse<byte[]> a = send(r);
            if (a.statusCode() != 201) throw unexpected(r, a);
            return sha256(bytes);
        }

        /** GET a manifest with every media type accepted (without Accept, Distribution would down-convert to schema 1). */
        HttpResponse<byte[]> manifest(String repo, String reference) throws IOException {
            HttpRequest r = request("/v2/" + repo + "/manifests/" + reference).header("Accept", ACCEPT).GET().build();
            HttpResponse<byte[]> a = send(r);
            if (a.statusCode() != 200) throw unexpected(r, a);
            return a;
        }

        byte[] blob(String repo, String digest) throws IOException {
            HttpRequest r = request("/v2/" + repo + "/blobs/" + digest).GET().build();
            HttpResponse<byte[]> a = send(r);
            if (a.statusCode() != 200) throw unexpected(r, a);
            return a.body();
        }

        /** {@code repo:tag} as the registry serves it: an image manifest (not an index), its config and layers. */
        Image image(String repo, String tag) throws IOException {
            HttpResponse<byte[]> a = manifest(repo, tag);
            byte[] bytes = a.body();
            JsonNode m = JSON.readTree(bytes);
            String mediaType = a.headers().firstValue("Content-Type").orElse(m.path("mediaType").asText());
            String configDigest = m.path("config").path("digest").asText();
            JsonNode config = JSON.readTree(blob(repo, configDigest));
            List<Blob> layers = new ArrayList<>();
            for (JsonNode l : m.path("layers")) {
                layers.add(new Blob(l.path("mediaType").asText(), l.path("digest").asText(), l.path("size").asLong()));
            }
            return new Image(host, repo, tag, sha256(bytes), mediaType, bytes, configDigest, config, layers);
        }

        /**
         * Pushes an image made here (no tool makes it): its layers as given (uncompressed tar, or
         * gzip), a config listing their diff_ids and {@code configFields} (Cmd, Env ...), an OCI
         * manifest, tagged {@code tag}.
         */
        Image pushImage(String repo, String tag, List<byte[]> tars, boolean gzip, Map<String, Object> configFields)
                throws IOException {
            ArrayNode layers = JSON.createArrayNode();
            ObjectNode config = JSON.createObjectNode();
            config.put("created", "2024-01-01T00:00:00Z");
            config.put("architecture", hostArchitecture());
            config.put("os", "linux");
            config.set("config", JSON.valueToTree(configFields));
            ObjectNode rootfs = config.putObject("rootfs");
            rootfs.put("type", "layers");
            ArrayNode diffIds = rootfs.putArray("diff_ids");
            for (byte[] tar : tars) {
                byte[] blob = gzip ? gzip(tar) : tar;
                diffIds.add(sha256(tar));
                ObjectNode d = layers.addObject();
                d.put("mediaType", gzip ? OCI_LAYER_GZIP : OCI_LAYER_TAR);
                d.put("digest", pushBlob(repo, blob));
                d.put("size", blob.length);
            }
            byte[] configBytes = JSON.writeValueAsBytes(config);
            ObjectNode manifest = JSON.createObjectNode();
            manifest.put("schemaVersion", 2);
            manifest.put("mediaType", OCI_MANIFEST);
            ObjectNode c = manifest.putObject("config");
            c.put("mediaType", OCI_CONFIG);
            c.put("digest", pushBlob(repo, configBytes));
            c.put("size", configBytes.length);
            manifest.set("layers", layers);
            pushManifest(repo, tag, OCI_MANIFEST, JSON.writeValueAsBytes(manifest));
            return image(repo, tag);
        }
    }

    /** This machine's architecture in Go's names, as an image's config and an index say it. */
    static String hostArchitecture() {
        String a = System.getProperty("os.arch");
        return switch (a) {
            case "amd64", "x86_64" -> "amd64";
            case "aarch64", "arm64" -> "arm64";
            default -> a;
        };
    }

    /** An architecture that is not this machine's, for the first entry of an index. */
    static String otherArchitecture() {
        return hostArchitecture().equals("arm64") ? "amd64" : "arm64";
    }
}
