//DEPS org.junit.platform:junit-platform-console-standalone:1.11.4
package jocker.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

import jocker.kernel.Linux;
import jocker.oci.Config;

/** The one table from linux.namespaces types to clone flags, and what init is born into. */
class NamespacesTest {

    private static Config with(String... types) {
        Config c = new Config();
        for (String t : types) c.linux.namespaces.add(new Config.Namespace(t));
        return c;
    }

    @Test
    void everyOciTypeHasItsCloneFlag() {
        assertEquals(Linux.CLONE_NEWPID, Namespaces.flag("pid"));
        assertEquals(Linux.CLONE_NEWNET, Namespaces.flag("network"));
        assertEquals(Linux.CLONE_NEWNS, Namespaces.flag("mount"));
        assertEquals(Linux.CLONE_NEWIPC, Namespaces.flag("ipc"));
        assertEquals(Linux.CLONE_NEWUTS, Namespaces.flag("uts"));
        assertEquals(Linux.CLONE_NEWUSER, Namespaces.flag("user"));
        assertEquals(Linux.CLONE_NEWCGROUP, Namespaces.flag("cgroup"));
        assertEquals(List.of("user", "pid", "network", "ipc", "uts", "mount", "cgroup"), List.copyOf(Namespaces.FLAGS.keySet()));
    }

    @Test
    void atSpawnIsEveryNamespaceButTheCgroupOne() {
        int expected = Linux.CLONE_NEWNS | Linux.CLONE_NEWPID | Linux.CLONE_NEWUTS | Linux.CLONE_NEWIPC | Linux.CLONE_NEWNET;
        assertEquals(expected, Namespaces.atSpawn(with("mount", "pid", "uts", "ipc", "network", "cgroup")));
        assertEquals(0, Namespaces.atSpawn(with("cgroup")), "init enters its cgroup namespace itself");
        assertEquals(Linux.CLONE_NEWNS, Namespaces.atSpawn(with("mount", "mount")));
    }

    @Test
    void noNamespacesIsNoFlags() {
        assertEquals(0, Namespaces.atSpawn(new Config()));
    }

    @Test
    void anUnknownTypeIsRefusedByName() {
        for (String bad : List.of("time", "net", "PID", "")) {
            ContainerError e = assertThrows(ContainerError.class, () -> Namespaces.atSpawn(with("pid", bad)), bad);
            assertTrue(e.getMessage().startsWith("unknown namespace type \"" + bad + "\" in linux.namespaces"), e.getMessage());
            assertTrue(e.getMessage().contains("pid, network"), "lists the known types: " + e.getMessage());
        }
    }
}
