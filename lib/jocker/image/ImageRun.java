//DEPS info.picocli:picocli:4.7.6
package jocker.image;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import jocker.image.ImageStore.Image;
import jocker.oci.Config;
import jocker.rootfs.ImageArgs;
import jocker.rootfs.Images;
import jocker.runtime.ConfigOption;
import jocker.runtime.ContainerError;

import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code run [--platform P] IMAGE [COMMAND [ARG...]]} from step 06 on: IMAGE is a pulled image
 * (looked up by name or ID), else a rootfs tarball as in steps 02-05, else it is pulled first, as
 * {@code docker run} does. A pulled image brings its own defaults, in its config
 * (OCI image spec, config.md), applied as Docker applies them:
 * <pre>
 *   process.args  Entrypoint + (COMMAND if given, else Cmd)     no command at all: refused
 *   process.env   the image's Env; the runtime's defaults and -e come on top
 *   process.cwd   WorkingDir, else /
 *   user          User (name, uid, name:group, uid:gid): resolved inside the container's
 *                 /etc/passwd and /etc/group when it starts (annotation jocker.image.user)
 * </pre>
 * Which image to unpack travels in the config's annotations: {@code jocker.image.manifest} (the
 * manifest's digest, which pins the exact layers) and {@code jocker.image.ref} (the name); a
 * tarball, as before, in {@code jocker.image}.
 */
public final class ImageRun implements ConfigOption {
    public static final String MANIFEST = "jocker.image.manifest";
    public static final String REF = "jocker.image.ref";
    public static final String USER = "jocker.image.user";
    /** A rootfs tarball's path (steps 02-05). */
    public static final String TARBALL = ImageArgs.TARBALL;

    private final ImageHooks hooks;

    @Option(names = "--platform", paramLabel = "OS/ARCH[/VARIANT]",
            description = "The platform of the image to run, pulled if the store has no image of that name for it "
                    + "(default: linux and this machine's architecture).")
    String platform;

    @Parameters(index = "0", paramLabel = "IMAGE",
            description = "A pulled image (busybox, host:5000/app:v1, an image ID), else a rootfs tarball "
                    + "(a name in the image directory, or a path), else an image to pull first.")
    String image;

    @Parameters(index = "1..*", arity = "0..*", paramLabel = "COMMAND",
            description = "The command and its arguments (default: the image's Entrypoint and Cmd).")
    List<String> command = new ArrayList<>();

    public ImageRun(ImageHooks hooks) { this.hooks = hooks; }

    @Override
    public void configure(Config config) {
        Platform wanted = platform == null ? null : Platform.parse(platform);
        // A run that pulls nothing only reads: no store is made for a tarball's run.
        Optional<ImageStore> existing = ImageStore.openExisting();
        Optional<Image> stored = existing.flatMap(s -> s.find(image))
                .filter(i -> wanted == null || wanted.matches(i.platform()));
        if (stored.isEmpty()) {
            Path tarball = tarball();
            if (tarball != null) {
                if (command.isEmpty()) throw new ContainerError("no command specified (" + image + " is a tarball: it has no Cmd)");
                ImageArgs.configure(config, tarball, command);
                return;
            }
            stored = Optional.of(pull(existing.orElseGet(ImageStore::open), wanted));
        }
        apply(stored.get(), wanted, config);
    }

    /** The tarball IMAGE names, as steps 02-05 found it; null if none. A path that is not there is an error. */
    private Path tarball() {
        try {
            return Images.resolve(image);
        } catch (ContainerError e) {
            boolean path = image.startsWith("/") || image.startsWith(".") || Images.hasTarballSuffix(image);
            if (path) throw e;
            return null;
        }
    }

    /**
     * docker run's automatic pull: its progress goes to stderr (stdout is the container's), from
     * the moment the registry has the image; an image that is nowhere gives its error's one line.
     */
    private Image pull(ImageStore store, Platform wanted) {
        Reference ref = Reference.parse(image);
        PullOutput out = PullOutput.heldUntilFound(System.err, "Unable to find image '" + ref.familiar() + "' locally");
        return new Puller(store, hooks, out).pull(ref, wanted, ImageCommands.Insecure.fromEnv());
    }

    /** The image's config, Docker's way, into the container's config. */
    void apply(Image img, Platform wanted, Config config) {
        if (wanted == null && !Platform.host().matches(img.platform()) && img.config().architecture != null) {
            System.err.println("WARNING: The requested image's platform (" + img.platform() + ") does not match the detected"
                    + " host platform (" + Platform.host() + ") and no specific platform was requested");
        }
        config.annotations.put(MANIFEST, img.manifestDigest().toString());
        config.annotations.put(REF, img.name().toString());
        ImageConfig.Run c = img.config().config;
        if (c.user != null && !c.user.isEmpty()) config.annotations.put(USER, c.user);
        config.process.args = args(c, command);
        if (c.env != null) c.env.forEach(config::setEnv);   // later entries win, as in docker
        String dir = c.workingDir == null || c.workingDir.isEmpty() ? "/" : c.workingDir;
        config.process.cwd = dir.startsWith("/") ? dir : "/" + dir;
    }

    /**
     * Docker's rule: Entrypoint, then COMMAND if given, else Cmd. An Entrypoint makes Cmd its default
     * arguments ({@code ENTRYPOINT ["top", "-b"]} with {@code CMD ["-c"]}: {@code top -b -c}).
     */
    static List<String> args(ImageConfig.Run c, List<String> command) {
        List<String> args = new ArrayList<>();
        if (c.entrypoint != null) args.addAll(c.entrypoint);
        if (!command.isEmpty()) args.addAll(command);
        else if (c.cmd != null) args.addAll(c.cmd);
        if (args.isEmpty()) throw new ContainerError("no command specified");
        return args;
    }
}
