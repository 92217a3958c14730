package jocker.runtime;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;

import jocker.kernel.Linux;
import jocker.oci.Config;

/**
 * Who the user's command runs as: an image's {@code USER} (Dockerfile), resolved the way Docker
 * resolves it, then set with setgroups(2), setgid(2) and setuid(2) just before exec.
 *
 * <p>An image names its user as {@code NAME}, {@code UID}, {@code NAME:GROUP} or {@code UID:GID}
 * (any mix). Names mean what the <em>container's</em> /etc/passwd and /etc/group say, not the
 * host's: {@code nobody} may be 65534 in one image and 99 in another. So the runtime passes the
 * text on (the annotation {@value #ANNOTATION}) and the init process resolves it once it stands in
 * the container's root, like runc does. The rules, as Docker's (moby/sys/user, GetExecUser):
 * <ul>
 * <li>A name must have a passwd entry ({@code unable to find user bob: no matching entries in
 *     passwd file}); a number need not, and then runs with gid 0 and HOME {@code /}.
 * <li>Without a group, the gid is the passwd entry's, and the supplementary groups are those whose
 *     member list in /etc/group names the user. With a group, that group is the gid and there are
 *     no others. Docker puts the gid itself first in the supplementary list too.
 * <li>An empty USER is root (uid 0), with root's groups from /etc/group.
 * </ul>
 * The result lands in {@code config.process.user}, the OCI runtime spec's numeric form; a config
 * that sets {@code process.user} itself is applied as it is.
 */
public final class ProcessUser {
    private ProcessUser() {}

    /** The annotation through which the runtime passes the image's USER (or a -u) to the init process. */
    public static final String ANNOTATION = "jocker.image.user";
    /** The HOME every container gets unless told otherwise (RunOptions.Env); meant for root. */
    static final String DEFAULT_HOME = "/root";

    record User(String name, int uid, int gid, String home) {}

    record Group(String name, int gid, List<String> members) {}

    /**
     * In the init process, after every feature's enter (we are in the container's root, still with
     * every capability): resolve the image's user, then become it. Does nothing for a container
     * with neither the annotation nor {@code process.user}.
     */
    public static void apply(Config config) throws IOException {
        prepare(config, Path.of("/etc/passwd"), Path.of("/etc/group"));
        if (config.process.user != null) switchTo(config.process.user);
    }

    /** Fills {@code config.process.user} from the annotation, and HOME for a user who is not root. */
    static void prepare(Config config, Path passwd, Path group) throws IOException {
        String spec = config.annotations.get(ANNOTATION);
        if (spec != null) {
            Config.User resolved = resolve(spec, passwd, group);
            if (config.process.user != null) resolved.umask = config.process.user.umask;
            config.process.user = resolved;
        }
        Config.User user = config.process.user;
        if (user != null && user.uid != 0 && DEFAULT_HOME.equals(config.env("HOME"))) {
            // As runc does: the home of the passwd entry with that uid, or / if there is none.
            String home = find(passwd, u -> u.uid() == user.uid).map(User::home).filter(h -> !h.isEmpty()).orElse("/");
            config.setEnv("HOME=" + home);
        }
    }

    /** USER's text ({@code bob}, {@code 1000:1000}, {@code bob:staff}, {@code ""}) as numeric ids. */
    static Config.User resolve(String spec, Path passwd, Path group) throws IOException {
        int colon = spec.indexOf(':');
        String userArg = colon < 0 ? spec : spec.substring(0, colon);
        String groupArg = colon < 0 ? "" : spec.substring(colon + 1);
        Integer uidArg = number(userArg, spec);
        Integer gidArg = number(groupArg, spec);

        Optional<User> entry = find(passwd, u -> userArg.isEmpty() ? u.uid() == 0
                : uidArg != null ? u.uid() == uidArg : u.name().equals(userArg));
        if (entry.isEmpty() && !userArg.isEmpty() && uidArg == null) {
            throw new ContainerError("unable to find user " + userArg + ": no matching entries in passwd file");
        }
        int uid = entry.map(User::uid).orElse(uidArg == null ? 0 : uidArg);
        int gid = entry.map(User::gid).orElse(0);
        List<Integer> additional = new ArrayList<>();
        if (!groupArg.isEmpty()) {
            Optional<Group> g = groups(group).stream()
                    .filter(x -> gidArg != null ? x.gid() == gidArg : x.name().equals(groupArg)).findFirst();
            if (g.isEmpty() && gidArg == null) {
                throw new ContainerError("unable to find group " + groupArg + ": no matching entries in group file");
            }
            gid = g.map(Group::gid).orElse(gidArg == null ? 0 : gidArg);
        } else if (entry.isPresent()) {
            // Supplementary groups come with a user known by name, and only when no group was named.
            for (Group g : groups(group)) {
                if (g.members().contains(entry.get().name()) && !additional.contains(g.gid())) additional.add(g.gid());
            }
        }
        // Docker lists the primary group among the supplementary ones too (moby's getUser), so that
        // access checks by group, which look at both, agree with what `id` shows.
        additional.remove(Integer.valueOf(gid));
        additional.add(0, gid);
        return new Config.User(uid, gid, additional);
    }

    /**
     * Becomes {@code user}: groups first, then the gid, then the uid. Changing groups and gid needs
     * CAP_SETGID, and setuid away from 0 drops every capability, so any other order fails with
     * EPERM, or, worse, leaves the command in root's groups.
     */
    static void switchTo(Config.User user) {
        if (user.umask != null) Linux.umask(user.umask);
        Linux.setgroups(user.additionalGids.stream().mapToInt(Integer::intValue).toArray());
        Linux.setgid(user.gid);
        Linux.setuid(user.uid);
    }

    /** A uid or gid written as a number (0 to 2^31-1, as Docker allows); null for a name. */
    private static Integer number(String s, String spec) {
        if (!s.matches("-?[0-9]+")) return null;
        long n = s.length() > 12 ? -1 : Long.parseLong(s);
        if (n < 0 || n > Integer.MAX_VALUE) {
            throw new ContainerError("invalid user \"" + spec + "\": uids and gids must be in range 0-2147483647");
        }
        return (int) n;
    }

    /** The first passwd entry that {@code match} accepts: the first wins, as in libc. */
    private static Optional<User> find(Path passwd, Predicate<User> match) throws IOException {
        for (String[] f : lines(passwd)) {
            if (f.length < 4) continue;
            Integer uid = id(f[2]), gid = id(f[3]);
            if (uid == null || gid == null) continue;   // a broken line grants nothing
            User u = new User(f[0], uid, gid, f.length > 5 ? f[5] : "");
            if (match.test(u)) return Optional.of(u);
        }
        return Optional.empty();
    }

    private static List<Group> groups(Path group) throws IOException {
        List<Group> all = new ArrayList<>();
        for (String[] f : lines(group)) {
            Integer gid = f.length < 3 ? null : id(f[2]);
            if (gid == null) continue;
            List<String> members = f.length < 4 || f[3].isBlank() ? List.of() : List.of(f[3].trim().split("\\s*,\\s*"));
            all.add(new Group(f[0], gid, members));
        }
        return all;
    }

    /** The colon-separated fields of each line; a missing file has no lines, as runc treats it. */
    private static List<String[]> lines(Path file) throws IOException {
        List<String> text;
        try {
            text = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException missing) {
            return List.of();
        } catch (java.nio.charset.MalformedInputException notUtf8) {
            text = Files.readAllLines(file, StandardCharsets.ISO_8859_1);
        }
        List<String[]> out = new ArrayList<>();
        for (String line : text) {
            String l = line.trim();
            if (!l.isEmpty() && !l.startsWith("#")) out.add(l.split(":", -1));
        }
        return out;
    }

    private static Integer id(String s) {
        try {
            int n = Integer.parseInt(s.trim());
            return n >= 0 ? n : null;
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
