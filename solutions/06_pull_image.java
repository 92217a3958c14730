///usr/bin/env jbang "$0" "$@" ; exit $?
// Step 06 pull image: speak the OCI distribution protocol, keep images in an OCI layout, run them.
//
// Goal:  pull NAME[:TAG|@DIGEST] from Docker Hub or any OCI registry: answer its auth challenge,
//        pick this machine's manifest from a multi-platform index, verify every manifest and
//        blob against its digest while it streams, and store it all as an OCI image layout.
//        run IMAGE applies the image's layers in order, whiteouts included, and its config.
// Usage: jbang steps/06_pull_image.java pull [--platform OS/ARCH] NAME[:TAG|@DIGEST]
//        jbang steps/06_pull_image.java images | rmi IMAGE | login SERVER | logout SERVER
//        jbang steps/06_pull_image.java run [OPTIONS] IMAGE [COMMAND [ARG...]]
// See:   chapters/06-pull-image.adoc
//
//   $ jbang steps/06_pull_image.java pull 127.0.0.1:5000/hello:v1
//   v1: Pulling from hello
//   3f2a9c1b7d4e: Download complete
//   Digest: sha256:5a1b...
//   Status: Downloaded newer image for 127.0.0.1:5000/hello:v1
//   127.0.0.1:5000/hello:v1
//
//CDS
//SOURCES 05_cgroups.java
//SOURCES ../lib/jocker/image/*.java
//MAIN PullImage

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import jocker.cli.Cli;
import jocker.image.Credentials;
import jocker.image.Descriptor;
import jocker.image.DigestingInputStream;
import jocker.image.ImageCommands;
import jocker.image.ImageHooks;
import jocker.image.ImageRun;
import jocker.image.Index;
import jocker.image.Layers;
import jocker.image.Platform;
import jocker.image.TokenService;
import jocker.image.WwwAuthenticate;
import jocker.kernel.Trees;
import jocker.rootfs.RootfsSource;
import jocker.runtime.ConfigOption;
import jocker.runtime.ContainerError;
import jocker.runtime.Todo;

/** Step 06: images come from registries, verified, and are kept in an OCI image layout. */
class PullImage extends ControlGroups implements ImageHooks {

    public static void main(String[] args) {
        System.exit(Cli.execute(new PullImage(), "06_pull_image", args));
    }

    /** pull, images, rmi, login and logout: given code that calls the four methods below. */
    @Override
    public List<Object> commands() { return ImageCommands.all(this); }

    /** run takes IMAGE [COMMAND [ARG...]] now: a pulled image brings its own command. */
    @Override
    public ConfigOption arguments() { return new ImageRun(this); }

    /** A pulled image's layers, applied in order; a rootfs tarball still unpacks as in step 02. */
    @Override
    protected RootfsSource rootfsSource() { return new Layers.Source(this, new UnpackedImage()); }

    // tag::authorize[]
    /** TODO 06.1: answer a registry's 401 with the Authorization header its challenge asks for. */
    @Override
    public String authorize(WwwAuthenticate.Challenge challenge, String scope, Credentials.Login login,
            TokenService tokens) throws IOException {
        if (challenge.is("Basic")) {
            // The registry itself checks a username and password on every request.
            if (login == null) {
                throw new ContainerError("unauthorized: the registry wants a username and password (log in first)");
            }
            return login.basic();                                                  // <.>
        }
        if (challenge.is("Bearer")) {
            // The registry trusts tokens signed by its token service: ask the realm for one that
            // grants this scope (repository:NAME:pull), with our login if we have one.
            List<String> scopes = scope == null ? List.of() : List.of(scope);
            String url = WwwAuthenticate.tokenUrl(challenge, scopes, login == null ? null : login.username());  // <.>
            return "Bearer " + tokens.fetch(url, login);                          // <.>
        }
        throw new ContainerError("unsupported authentication scheme \"" + challenge.scheme() + "\"");
    }
    // end::authorize[]

    // tag::choose-manifest[]
    /** TODO 06.2: from an index (one image, many platforms), the manifest for {@code platform}. */
    @Override
    public Descriptor chooseManifest(Index index, Platform platform, String image) {
        Descriptor loose = null;
        for (Descriptor entry : index.manifests) {
            if (!platform.matches(entry.platform)) continue;            // <.>
            if (platform.matchesExactly(entry.platform)) return entry;  // <.>
            if (loose == null) loose = entry;
        }
        if (loose != null) return loose;
        throw new ContainerError("no matching manifest for " + platform + " in " + image   // <.>
                + " (it has " + index.platforms() + ")");
    }
    // end::choose-manifest[]

    // tag::copy-verified[]
    /** TODO 06.3: copy a blob and prove, as it streams, that it is the one its digest names. */
    @Override
    public void copyVerified(InputStream body, Descriptor expected, OutputStream out, String what) throws IOException {
        DigestingInputStream verifying = new DigestingInputStream(body, expected.digest, expected.size, what);  // <.>
        verifying.copyTo(out);   // <.>
    }
    // end::copy-verified[]

    // tag::whiteout[]
    /** TODO 06.4: a whiteout entry deletes what the layers below put there. */
    @Override
    public boolean applyWhiteout(Path dir, String name, Set<Path> thisLayer) throws IOException {
        if (!name.startsWith(".wh.")) return false;                       // <.>
        if (name.equals(".wh..wh..opq")) {
            // Opaque: the directory's lower content is gone; what this layer put there stays.
            try (DirectoryStream<Path> children = Files.newDirectoryStream(dir)) {
                for (Path child : children) hideLower(child, thisLayer);  // <.>
            }
            return true;
        }
        hideLower(dir.resolve(name.substring(".wh.".length())), thisLayer);  // <.>
        return true;
    }

    /**
     * Deletes what the layers below put at {@code path}: a file, a symlink (never what it points
     * to) or a whole directory tree. What this layer wrote stays, and in a directory this layer
     * wrote into, only the lower content goes: a whiteout never hides its own layer's files.
     */
    private static void hideLower(Path path, Set<Path> thisLayer) throws IOException {
        if (!thisLayer.contains(path)) {
            if (Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) Trees.delete(path);
            else Files.deleteIfExists(path);
        } else if (Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
            try (DirectoryStream<Path> children = Files.newDirectoryStream(path)) {
                for (Path child : children) hideLower(child, thisLayer);
            }
        }
    }
    // end::whiteout[]
}
