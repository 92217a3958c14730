//DEPS info.picocli:picocli:4.7.6
package jocker.image;

import java.io.Console;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;

import jocker.image.ImageStore.Image;
import jocker.runtime.ContainerError;
import jocker.runtime.Log;
import jocker.runtime.WarmsUp;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * The image commands of step 06, as picocli subcommands beside {@code run}: {@code pull},
 * {@code images}, {@code rmi}, {@code login}, {@code logout}, with docker's options and output.
 * They need no root, only write access to the state root (login and logout: to the docker config
 * directory). The step's {@link ImageHooks} answer the auth challenges and verify the blobs:
 * {@code new ImageCommands(hooks).all()} is what {@code ContainerRuntime.commands()} returns.
 */
public final class ImageCommands {
    private final ImageHooks hooks;
    private final Runnable afterRmi;

    public ImageCommands(ImageHooks hooks) { this(hooks, () -> {}); }

    /** {@code afterRmi} runs after rmi removed images: step 07 deletes the unpacked layers no image needs. */
    public ImageCommands(ImageHooks hooks, Runnable afterRmi) {
        this.hooks = hooks;
        this.afterRmi = afterRmi;
    }

    /** The five commands, ready for {@code CommandLine.addSubcommand}. */
    public List<Object> all() { return List.of(new Pull(hooks), new Images(), new Rmi(afterRmi), new Login(hooks), new Logout()); }

    /** {@code ImageCommands.all(this)}: the commands for a step that implements the hooks. */
    public static List<Object> all(ImageHooks hooks) { return new ImageCommands(hooks).all(); }

    /** {@code --insecure-registry HOST[:PORT]}, repeatable, plus {@code JOCKER_INSECURE_REGISTRY=h1,h2}. */
    public static final class Insecure {
        @Option(names = "--insecure-registry", paramLabel = "HOST[:PORT]",
                description = "Speak plain HTTP to this registry (repeatable; also JOCKER_INSECURE_REGISTRY=h1,h2). "
                        + "Loopback registries (localhost, 127.0.0.0/8, [::1]) always get plain HTTP; any other "
                        + "gets HTTPS, since over plain HTTP anyone on the way could swap the manifest.")
        List<String> hosts = new ArrayList<>();

        public Set<String> hosts() {
            Set<String> all = new LinkedHashSet<>(hosts);
            all.addAll(fromEnv());
            return all;
        }

        /** {@code JOCKER_INSECURE_REGISTRY}, comma-separated. */
        public static Set<String> fromEnv() {
            Set<String> all = new LinkedHashSet<>();
            String env = System.getenv("JOCKER_INSECURE_REGISTRY");
            if (env != null) for (String h : env.split(",")) if (!h.isBlank()) all.add(h.trim());
            return all;
        }
    }

    @Command(name = "pull", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"Pull an image from a registry into the image store (an OCI image layout under the state root).",
                "NAME follows docker's rules: busybox is docker.io/library/busybox:latest, user/app is on Docker Hub, "
                        + "host[:port]/path names another registry. Every manifest and blob is verified against its digest."},
            footerHeading = "%nExamples:%n",
            footer = {"  pull busybox", "  pull --platform linux/arm64 busybox:1.36",
                "  pull 127.0.0.1:5000/app@sha256:<64 hex digits>", "  pull -q localhost:5000/app:v2"},
            exitCodeListHeading = "%nExit codes:%n", exitCodeList = {"0:pulled, or already up to date",
                "125:the pull failed (bad reference, auth, network, digest mismatch); nothing was named"})
    static final class Pull implements Callable<Integer>, WarmsUp {
        private final ImageHooks hooks;

        @Option(names = "--platform", paramLabel = "OS/ARCH[/VARIANT]",
                description = "Pull the image for this platform (default: linux and this machine's architecture).")
        String platform;

        @Option(names = {"-q", "--quiet"}, description = "Print only the image's full name.")
        boolean quiet;

        @Mixin Insecure insecure;

        @Parameters(index = "0", paramLabel = "NAME[:TAG|@DIGEST]", description = "The image to pull.")
        String name;

        Pull(ImageHooks hooks) { this.hooks = hooks; }

        @Override public Integer call() {
            Reference ref = Reference.parse(name);
            Platform p = platform == null ? null : Platform.parse(platform);
            PullOutput out = PullOutput.to(System.out, quiet);
            if (!namesTagOrDigest(name)) out.defaultTag(Reference.DEFAULT_TAG);
            new Puller(ImageStore.open(), hooks, out).pull(ref, p, insecure.hosts());
            return 0;
        }

        /** NAME is pull's one positional argument: the last word, unless that is an option. */
        @Override public void warmUp(String[] args) {
            String last = args[args.length - 1];
            if (last.startsWith("-")) return;
            Set<String> insecure = new LinkedHashSet<>(Insecure.fromEnv());
            for (int i = 0; i < args.length; i++) {
                if (args[i].equals("--insecure-registry") && i + 1 < args.length) insecure.add(args[i + 1]);
                if (args[i].startsWith("--insecure-registry=")) insecure.add(args[i].substring("--insecure-registry=".length()));
            }
            Puller.warmUp(Reference.parse(last), insecure);
        }

        /** Whether the user typed a tag or digest (a ':' after the last '/', or an '@'). */
        static boolean namesTagOrDigest(String text) {
            return text.contains("@") || text.substring(text.lastIndexOf('/') + 1).contains(":");
        }
    }

    @Command(name = "images", mixinStandardHelpOptions = true, sortOptions = false,
            description = "List the images in the store, newest first: REPOSITORY, TAG, IMAGE ID (the config's digest), "
                    + "CREATED and SIZE (compressed layers plus config, in decimal units as docker shows them).",
            footerHeading = "%nExamples:%n", footer = {"  images", "  images --digests busybox", "  images -q"},
            exitCodeListHeading = "%nExit codes:%n", exitCodeList = {"0:success", "125:the store cannot be read"})
    static final class Images implements Callable<Integer> {
        @Option(names = {"-q", "--quiet"}, description = "Print only the image IDs.") boolean quiet;

        @Option(names = "--digests", description = "Add a DIGEST column: the digest the tag named when pulled.")
        boolean digests;

        @Option(names = "--no-trunc", description = "Print full image IDs.") boolean noTrunc;

        @Parameters(index = "0", arity = "0..1", paramLabel = "REPOSITORY[:TAG]", description = "Only images of this repository.")
        String filter;

        @Override public Integer call() {
            // No store yet (nothing pulled): an empty table, without creating one.
            boolean exists = java.nio.file.Files.exists(jocker.rootfs.Images.dir().resolve(ImageLayout.INDEX_FILE));
            List<Image> images = exists ? ImageStore.open().list() : List.of();
            if (filter != null) {
                Reference f = Reference.parse(filter);
                boolean withTag = Pull.namesTagOrDigest(filter);
                images = images.stream().filter(i -> i.name().name().equals(f.name())
                        && (!withTag || java.util.Objects.equals(i.name().tag(), f.tag()))).toList();
            }
            List<List<String>> rows = new ArrayList<>();
            rows.add(digests ? List.of("REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED", "SIZE")
                    : List.of("REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"));
            Instant now = Instant.now();
            for (Image i : images) {
                String id = noTrunc ? i.configDigest().toString() : i.configDigest().shortId();
                if (quiet) {
                    System.out.println(id);
                    continue;
                }
                List<String> row = new ArrayList<>(List.of(i.name().familiarName(), i.name().tag() == null ? "<none>" : i.name().tag()));
                if (digests) row.add(i.repoDigest().toString());
                row.addAll(List.of(id, Units.ago(i.config().createdInstant(), now), Units.humanSize(i.size())));
                rows.add(row);
            }
            if (!quiet) System.out.print(table(rows));
            return 0;
        }

        /** Left-aligned columns, each as wide as its widest cell plus 3 spaces (docker's look). */
        static String table(List<List<String>> rows) {
            int[] width = new int[rows.get(0).size()];
            for (List<String> r : rows) for (int c = 0; c < r.size(); c++) width[c] = Math.max(width[c], r.get(c).length());
            StringBuilder b = new StringBuilder();
            for (List<String> r : rows) {
                for (int c = 0; c < r.size(); c++) {
                    b.append(c == r.size() - 1 ? r.get(c) : String.format("%-" + (width[c] + 3) + "s", r.get(c)));
                }
                b.append('\n');
            }
            return b.toString();
        }
    }

    @Command(name = "rmi", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"Remove images: untag each NAME, then delete every blob (manifest, config, layers) "
                    + "that no other image uses.", "NAME is a name (busybox, busybox:1.36, host:5000/app@sha256:...) "
                    + "or an image ID (prefix); an ID with several names needs --force."},
            footerHeading = "%nExamples:%n", footer = {"  rmi busybox", "  rmi 3f2a9c1b7d4e", "  rmi -f 3f2a9c1b7d4e"},
            exitCodeListHeading = "%nExit codes:%n", exitCodeList = {"0:every image was removed",
                "125:an image was not found, or could not be removed"})
    static final class Rmi implements Callable<Integer> {
        @Option(names = {"-f", "--force"}, description = "Remove every name of an image given by ID.") boolean force;

        @Parameters(arity = "1..*", paramLabel = "NAME", description = "The images to remove.") List<String> names;

        private final Runnable afterRmi;

        Rmi(Runnable afterRmi) { this.afterRmi = afterRmi; }

        @Override public Integer call() {
            ImageStore store = ImageStore.open();
            int rc = 0;
            for (String name : names) {
                try {
                    ImageStore.Removal r = store.remove(name, force);
                    r.untagged().forEach(u -> System.out.println("Untagged: " + u));
                    r.deleted().forEach(d -> System.out.println("Deleted: " + d));
                } catch (ContainerError e) {
                    if (names.size() == 1) throw e;
                    Log.error("%s", e.getMessage());   // docker goes on with the others
                    rc = e.exitCode();
                }
            }
            afterRmi.run();
            return rc;
        }
    }

    @Command(name = "login", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"Log in to a registry: check the credentials against it, then store them in "
                    + "$DOCKER_CONFIG/config.json (else ~/.docker/config.json, mode 0600), where docker keeps them too.",
                "The password comes from -p, from stdin with --password-stdin, or from a prompt on a terminal."},
            footerHeading = "%nExamples:%n",
            footer = {"  login -u alice 127.0.0.1:5000            (prompts for the password)",
                "  echo \"$PASS\" | login -u alice --password-stdin registry.example.com"},
            exitCodeListHeading = "%nExit codes:%n", exitCodeList = {"0:Login Succeeded",
                "125:wrong credentials, registry unreachable, or no way to read the password; nothing was stored"})
    static final class Login implements Callable<Integer> {
        private final ImageHooks hooks;

        Login(ImageHooks hooks) { this.hooks = hooks; }

        @Option(names = {"-u", "--username"}, paramLabel = "USER", description = "The user name.") String username;

        @Option(names = {"-p", "--password"}, paramLabel = "PASS",
                description = "The password (visible to other users in ps: prefer --password-stdin).") String password;

        @Option(names = "--password-stdin", description = "Read the password from stdin.") boolean passwordStdin;

        @Mixin Insecure insecure;

        @Parameters(index = "0", arity = "0..1", paramLabel = "SERVER", defaultValue = Reference.DOCKER_HUB,
                description = "The registry's host[:port] (default: ${DEFAULT-VALUE}).")
        String server;

        @Override public Integer call() throws IOException {
            if (password != null && passwordStdin) throw new ContainerError("--password and --password-stdin are mutually exclusive");
            Console console = System.console();
            if (username == null || username.isEmpty()) {
                if (console == null || passwordStdin) {
                    throw new ContainerError("failed to log in to " + server + ": no user name: give -u USER (there is no terminal to ask on)");
                }
                username = console.readLine("Username: ");
            }
            String secret = password;
            if (secret != null) {
                System.err.println("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
            } else if (passwordStdin) {
                secret = new String(System.in.readAllBytes(), StandardCharsets.UTF_8).replaceAll("\r?\n$", "");
            } else if (console != null) {
                char[] typed = console.readPassword("Password: ");
                secret = typed == null ? "" : new String(typed);
            } else {
                throw new ContainerError("failed to log in to " + server + ": no password: give -p PASS or --password-stdin"
                        + " (there is no terminal to ask on)");
            }
            if (secret.isEmpty()) throw new ContainerError("failed to log in to " + server + ": the password is empty");
            Credentials.Login login;
            try {
                login = new Credentials.Login(username.trim(), secret);
                Registry.forLogin(server, login, insecure.hosts(), hooks).checkLogin();
            } catch (ContainerError e) {
                throw new ContainerError(e.exitCode(), "failed to log in to " + server + ": " + e.getMessage(), e);
            }
            Credentials.store(server, login);
            System.out.println("Login Succeeded");
            return 0;
        }
    }

    @Command(name = "logout", mixinStandardHelpOptions = true,
            description = "Remove a registry's stored credentials from $DOCKER_CONFIG/config.json (else ~/.docker/config.json).",
            footerHeading = "%nExamples:%n", footer = {"  logout 127.0.0.1:5000", "  logout            (Docker Hub)"},
            exitCodeListHeading = "%nExit codes:%n", exitCodeList = {"0:logged out, or was not logged in",
                "125:the config file cannot be read or written"})
    static final class Logout implements Callable<Integer> {
        @Parameters(index = "0", arity = "0..1", paramLabel = "SERVER", defaultValue = Reference.DOCKER_HUB,
                description = "The registry's host[:port] (default: ${DEFAULT-VALUE}).")
        String server;

        @Override public Integer call() {
            System.out.println(Credentials.remove(server) ? "Removing login credentials for " + server : "Not logged in to " + server);
            return 0;
        }
    }
}
