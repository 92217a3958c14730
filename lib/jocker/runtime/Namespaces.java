package jocker.runtime;

import java.util.LinkedHashMap;
import java.util.Map;

import jocker.kernel.Linux;
import jocker.oci.Config;

/**
 * The one table from the namespace types of an OCI config ({@code linux.namespaces}) to the clone
 * flags of man 7 namespaces, and the one place that computes what the init process is born into.
 */
public final class Namespaces {
    private Namespaces() {}

    // tag::flags[]
    /** Type in config.json, clone flag. In the order runc lists them. */
    static final Map<String, Integer> FLAGS = new LinkedHashMap<>();
    static {
        FLAGS.put("user", Linux.CLONE_NEWUSER);
        FLAGS.put("pid", Linux.CLONE_NEWPID);
        FLAGS.put("network", Linux.CLONE_NEWNET);
        FLAGS.put("ipc", Linux.CLONE_NEWIPC);
        FLAGS.put("uts", Linux.CLONE_NEWUTS);
        FLAGS.put("mount", Linux.CLONE_NEWNS);
        FLAGS.put("cgroup", Linux.CLONE_NEWCGROUP);
    }
    // end::flags[]

    /** The clone flag of a namespace type ("pid" is CLONE_NEWPID). */
    public static int flag(String type) {
        Integer flag = FLAGS.get(type);
        if (flag == null) {
            throw new ContainerError("unknown namespace type \"" + type + "\" in linux.namespaces: use one of "
                    + String.join(", ", FLAGS.keySet()));
        }
        return flag;
    }

    /**
     * The flags the runtime unshares before it spawns the init process, so that init is born into
     * them: every namespace of {@code linux.namespaces} except the cgroup namespace, which init
     * enters itself once the runtime has put it into its cgroup (step 05: a cgroup namespace is
     * rooted at the cgroup its creator is in at that moment).
     */
    public static int atSpawn(Config config) {
        int flags = 0;
        for (Config.Namespace ns : config.linux.namespaces) {
            if (!ns.type.equals("cgroup")) flags |= flag(ns.type);
        }
        return flags;
    }
}
