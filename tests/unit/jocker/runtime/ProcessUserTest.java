//DEPS org.junit.platform:junit-platform-console-standalone:1.11.4
package jocker.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import jocker.oci.Config;

/** Resolving an image's USER against the container's /etc/passwd and /etc/group, as Docker does. */
class ProcessUserTest {
    @TempDir Path tmp;
    private Path passwd;
    private Path group;

    @BeforeEach
    void files() throws IOException {
        passwd = Files.writeString(tmp.resolve("passwd"), String.join("\n",
                "root:x:0:0:root:/root:/bin/sh",
                "# a comment, then a broken line that must grant nothing",
                "evil:x:notanumber:0::/:/bin/sh",
                "daemon:x:1:1:daemon:/usr/sbin:/bin/false",
                "bob:x:1000:1000:Bob:/home/bob:/bin/sh",
                "bob:x:1001:1001:second bob, never used:/home/bob2:/bin/sh",
                "nohome:x:1002:1002::",
                ""));
        group = Files.writeString(tmp.resolve("group"), String.join("\n",
                "root:x:0:root",
                "bin:x:1:root,bin,daemon",
                "wheel:x:10:root, bob",
                "staff:x:50:",
                "bob:x:1000:",
                "docker:x:999:alice,bob",
                ""));
    }

    private Config.User resolve(String spec) throws IOException { return ProcessUser.resolve(spec, passwd, group); }

    private static void assertUser(int uid, int gid, List<Integer> groups, Config.User u) {
        assertEquals(List.of(uid, gid, groups), List.of(u.uid, u.gid, u.additionalGids));
    }

    @Test
    void aNameTakesItsIdsFromPasswdAndItsGroupsFromGroupPrimaryFirst() throws IOException {
        assertUser(1000, 1000, List.of(1000, 10, 999), resolve("bob"));
        assertUser(1, 1, List.of(1), resolve("daemon"));
    }

    @Test
    void aUidInPasswdIsThatUserAndOneNotInPasswdRunsWithGidZero() throws IOException {
        assertUser(1000, 1000, List.of(1000, 10, 999), resolve("1000"));
        assertUser(4242, 0, List.of(0), resolve("4242"));
    }

    @Test
    void anEmptyUserIsRootWithRootsGroups() throws IOException {
        assertUser(0, 0, List.of(0, 1, 10), resolve(""));
        assertUser(0, 0, List.of(0, 1, 10), resolve("root"));
    }

    @Test
    void aGroupGivenReplacesTheGidAndTheSupplementaryGroups() throws IOException {
        assertUser(1000, 50, List.of(50), resolve("bob:staff"));
        assertUser(1000, 50, List.of(50), resolve("1000:50"));
        assertUser(1000, 4343, List.of(4343), resolve("bob:4343"));
        assertUser(4242, 999, List.of(999), resolve("4242:docker"));
    }

    @Test
    void anUnknownNameIsDockersOneLine() {
        ContainerError e = assertThrows(ContainerError.class, () -> resolve("alice"));
        assertEquals("unable to find user alice: no matching entries in passwd file", e.getMessage());
        e = assertThrows(ContainerError.class, () -> resolve("bob:nogroup"));
        assertEquals("unable to find group nogroup: no matching entries in group file", e.getMessage());
        e = assertThrows(ContainerError.class, () -> resolve("evil"));
        assertEquals("unable to find user evil: no matching entries in passwd file", e.getMessage());
    }

    @Test
    void missingFilesHaveNoEntries() throws IOException {
        Path none = tmp.resolve("none");
        ContainerError e = assertThrows(ContainerError.class, () -> ProcessUser.resolve("bob", none, none));
        assertEquals("unable to find user bob: no matching entries in passwd file", e.getMessage());
        assertUser(1000, 1000, List.of(1000), ProcessUser.resolve("1000:1000", none, none));
        assertUser(0, 0, List.of(0), ProcessUser.resolve("", none, none));
    }

    @Test
    void idsOutOfRangeAreRefused() {
        for (String spec : List.of("-1", "2147483648", "1000:-5", "99999999999999999999")) {
            ContainerError e = assertThrows(ContainerError.class, () -> resolve(spec));
            assertEquals("invalid user \"" + spec + "\": uids and gids must be in range 0-2147483647", e.getMessage());
        }
    }

    // ---- the config: process.user and HOME ---------------------------------------------------

    private Config config(String user, String home) {
        Config c = new Config();
        if (user != null) c.annotations.put(ProcessUser.ANNOTATION, user);
        c.setEnv("HOME=" + home);
        return c;
    }

    @Test
    void theAnnotationFillsProcessUserAndHome() throws IOException {
        Config c = config("bob", "/root");
        ProcessUser.prepare(c, passwd, group);
        assertUser(1000, 1000, List.of(1000, 10, 999), c.process.user);
        assertEquals("/home/bob", c.env("HOME"));
    }

    @Test
    void homeIsSlashWithoutAPasswdHomeAndKeptWhenSetOnPurposeOrForRoot() throws IOException {
        Config unknown = config("4242", "/root");
        ProcessUser.prepare(unknown, passwd, group);
        assertEquals("/", unknown.env("HOME"));
        Config noHome = config("nohome", "/root");
        ProcessUser.prepare(noHome, passwd, group);
        assertEquals("/", noHome.env("HOME"));
        Config own = config("bob", "/srv/bob");
        ProcessUser.prepare(own, passwd, group);
        assertEquals("/srv/bob", own.env("HOME"));
        Config root = config("root", "/root");
        ProcessUser.prepare(root, passwd, group);
        assertEquals("/root", root.env("HOME"));
    }

    @Test
    void aProcessUserSetDirectlyIsKeptAndWithoutEitherNothingChanges() throws IOException {
        Config direct = config(null, "/root");
        direct.process.user = new Config.User(1, 1, List.of(1));
        direct.process.user.umask = 077;
        ProcessUser.prepare(direct, passwd, group);
        assertUser(1, 1, List.of(1), direct.process.user);
        assertEquals("/usr/sbin", direct.env("HOME"));

        Config neither = config(null, "/root");
        ProcessUser.prepare(neither, passwd, group);
        assertNull(neither.process.user);
        assertEquals("/root", neither.env("HOME"));
    }

    @Test
    void processUserIsWrittenAsTheOciSpecHasIt() throws IOException {
        Config c = config("bob:staff", "/root");
        ProcessUser.prepare(c, passwd, group);
        String json = c.toJson().replaceAll("\\s", "");
        assertTrue(json.contains("\"user\":{\"uid\":1000,\"gid\":50,\"additionalGids\":[50]}"), json);
        Config root = new Config();
        root.process.user = new Config.User(0, 0, List.of(10));
        Path f = tmp.resolve("config.json");
        root.write(f);
        Config back = Config.read(f);
        assertUser(0, 0, List.of(10), back.process.user);
        assertTrue(Files.readString(f).replaceAll("\\s", "").contains("\"uid\":0,\"gid\":0"), Files.readString(f));
    }

    @Test
    void anEmptyUserAnnotationSurvivesTheConfigFile() throws IOException {
        Config c = config("", "/root");
        Path f = tmp.resolve("config.json");
        c.write(f);
        Config back = Config.read(f);
        ProcessUser.prepare(back, passwd, group);
        assertUser(0, 0, List.of(0, 1, 10), back.process.user);
    }
}
