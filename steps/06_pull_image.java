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
        // TODO(06.1): answer the registry's 401 with the Authorization header it asks for.
        //   `challenge` is its WWW-Authenticate header, parsed: challenge.is("Basic"),
        //   challenge.is("Bearer"), challenge.scheme(), challenge.param("realm").
        //     Basic:  the registry checks a username and password on every request. With a login,
        //             return login.basic() ("Basic " + base64(user:password)); without one (null),
        //             throw a ContainerError: "unauthorized: ..." and what the user should do.
        //     Bearer: the registry trusts tokens signed by the token service at the realm. Build
        //             the token's URL with WwwAuthenticate.tokenUrl(challenge, scopes, account):
        //             scopes is List.of(scope) (repository:NAME:pull), or List.of() when scope is
        //             null (login: it asks only whether the password is right); account is the login's
        //             username, or null. tokens.fetch(url, login) GETs the token (sending the login
        //             as Basic auth when there is one); return "Bearer " + the token.
        //     any other scheme: throw a ContainerError that names it.
        //   HINT: Docker's token authentication spec (distribution, docs/spec/auth/token.md);
        //   RFC 7235 section 4.1 (WWW-Authenticate); RFC 7617 (Basic);
        //   curl -si http://127.0.0.1:PORT/v2/NAME/manifests/TAG shows a registry's challenge
        //   QUESTION: anyone may pull busybox, yet Docker Hub wants a token even for that. Why
        //   does the registry not decide who may pull by itself?
        throw Todo.missing("06.1", "answer the registry's auth challenge", "06-pull-image.adoc");
    }
    // end::authorize[]

    // tag::choose-manifest[]
    /** TODO 06.2: from an index (one image, many platforms), the manifest for {@code platform}. */
    @Override
    public Descriptor chooseManifest(Index index, Platform platform, String image) {
        // TODO(06.2): a tag named an index: one image, one manifest per platform. Return the entry
        //   of index.manifests (Descriptors; entry.platform may be null) that is for `platform`:
        //     - platform.matches(entry.platform) says whether an entry will do: same OS and
        //       architecture once both are normalised (aarch64 is arm64, x86_64 is amd64), and
        //       the same variant only if `platform` names one;
        //     - of those, prefer the first that platform.matchesExactly(entry.platform), variant
        //       and all; if there is none, take the first that matches;
        //     - if none matches, throw new ContainerError("no matching manifest for " + platform
        //       + " in " + image + ...), naming what the index has: index.platforms().
        //   HINT: OCI image spec, image-index.md ("platform"); containerd's platforms package
        //   (Normalize, the default matcher), which docker pull uses
        //   QUESTION: why not simply take manifests.get(0)? What would run do with it on this
        //   machine if the first entry were linux/arm64?
        throw Todo.missing("06.2", "choose the platform's manifest from the index", "06-pull-image.adoc");
    }
    // end::choose-manifest[]

    // tag::copy-verified[]
    /** TODO 06.3: copy a blob and prove, as it streams, that it is the one its digest names. */
    @Override
    public void copyVerified(InputStream body, Descriptor expected, OutputStream out, String what) throws IOException {
        // TODO(06.3): copy `body` into `out`, and prove while it streams that these are the bytes
        //   `expected` names: exactly expected.size bytes whose SHA-256 is expected.digest. Refuse
        //   (a ContainerError that names `what`) the first byte past the size, a stream that ends
        //   short, and a digest that differs. The store renames its temporary file into blobs/
        //   only if this returns normally, so read to the very end before you return.
        //   Given: new DigestingInputStream(in, digest, size, what) counts and hashes the bytes as
        //   they pass and checks both at end of stream; its copyTo(out) reads to the end.
        //   HINT: OCI image spec, descriptor.md ("Digests", "Verification"); the OCI distribution
        //   spec, "Pulling blobs"; java.security.MessageDigest
        //   QUESTION: the digest alone would catch a blob that is too long. Why check the size
        //   as the bytes arrive as well?
        throw Todo.missing("06.3", "verify the blob's digest while it streams", "06-pull-image.adoc");
    }
    // end::copy-verified[]

    // tag::whiteout[]
    /** TODO 06.4: a whiteout entry deletes what the layers below put there. */
    @Override
    public boolean applyWhiteout(Path dir, String name, Set<Path> thisLayer) throws IOException {
        // TODO(06.4): a layer is a changeset: besides files, it says which files to delete.
        //   `name` is an entry's file name, in directory `dir` of the rootfs (resolved safely).
        //     - not starting with ".wh.": an ordinary entry; return false, and it is unpacked.
        //     - ".wh..wh..opq", the opaque marker: what the layers below put into `dir` is gone.
        //       Hide every child of `dir` (Files.newDirectoryStream) with hideLower(child, thisLayer)
        //       (given, below: it keeps what this layer has written so far); return true.
        //     - ".wh.NAME": NAME was deleted. Hide dir.resolve(NAME) with hideLower (a file, a
        //       symlink itself, or a whole directory); return true. (The given unpacker has
        //       already refused names that are no whiteout a tool writes, such as ".wh..".)
        //   Either way the marker itself is never written into the rootfs.
        //   HINT: OCI image spec, layer.md, "Whiteouts" and "Opaque Whiteout"
        //   QUESTION: the spec lets ".wh..wh..opq" come after entries of the same directory in
        //   the same layer. What would a layer lose if the marker deleted them too?
        throw Todo.missing("06.4", "apply the layer's whiteouts", "06-pull-image.adoc");
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
