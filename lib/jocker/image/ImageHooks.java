package jocker.image;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.Set;

/**
 * The four places where pulling and unpacking an image needs a concept rather than plumbing, and
 * which step 06 writes (its runtime class implements this interface). The given code calls them:
 * the registry client when a registry answers 401, the puller when a tag names an index, the image
 * store for every blob it writes, and the layer unpacker for every entry of a layer.
 */
public interface ImageHooks {

    /**
     * TODO 06.1: a registry answered 401 with {@code challenge} (its WWW-Authenticate header).
     * Return the value of the Authorization header that answers it: {@code Basic base64(user:password)}
     * for a Basic challenge, {@code Bearer TOKEN} for a Bearer challenge, where TOKEN comes from the
     * challenge's realm, asked for {@code scope} (see {@link TokenService#fetch}). {@code scope} is
     * null when {@code login} checks a password: a token for no repository at all.
     *
     * @param login the credentials for this registry (from {@code login}), or null: anonymous
     */
    String authorize(WwwAuthenticate.Challenge challenge, String scope, Credentials.Login login,
            TokenService tokens) throws IOException;

    /**
     * TODO 06.2: a tag named an index (a multi-platform image): return the descriptor of the
     * manifest for {@code platform}, or throw a ContainerError that names the platforms there are.
     */
    Descriptor chooseManifest(Index index, Platform platform, String image);

    /**
     * TODO 06.3: copy a blob's {@code body} into {@code out} and prove it is the blob that
     * {@code expected} names (size and digest), while it streams; throw if it is not. The store
     * keeps what was written only if this returns normally.
     */
    void copyVerified(InputStream body, Descriptor expected, OutputStream out, String what) throws IOException;

    /**
     * TODO 06.4: a layer's entry {@code name} in directory {@code dir} (already resolved safely
     * inside the rootfs) is being unpacked. If it is a whiteout ({@code .wh.NAME}: NAME was deleted;
     * {@code .wh..wh..opq}: the directory's lower content was deleted), apply it and return true;
     * otherwise return false and the entry is unpacked as usual. {@code thisLayer} holds the paths
     * this layer has already written: an opaque whiteout keeps those.
     */
    boolean applyWhiteout(Path dir, String name, Set<Path> thisLayer) throws IOException;
}
