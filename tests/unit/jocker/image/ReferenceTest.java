//DEPS org.junit.platform:junit-platform-console-standalone:1.11.4
package jocker.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;

import org.junit.jupiter.api.Test;

import jocker.runtime.ContainerError;

/** Docker's reference grammar and normalisation (distribution/reference), hostile names included. */
class ReferenceTest {
    private static final String HEX = "7b3ccabffc97de872a30dfd234fd972a66d247c8cfc69b0550f276481852627c";

    private static String canonical(String text) { return Reference.parse(text).toString(); }

    private static String refused(String text) {
        ContainerError e = assertThrows(ContainerError.class, () -> Reference.parse(text), text);
        assertTrue(e.getMessage().startsWith("invalid reference format: "), e.getMessage());
        return e.getMessage();
    }

    @Test
    void officialImagesLiveInLibraryOnDockerHub() {
        Reference r = Reference.parse("busybox");
        assertEquals("docker.io", r.domain());
        assertEquals("library/busybox", r.path());
        assertEquals("latest", r.tag());
        assertNull(r.digest());
        assertEquals("docker.io/library/busybox:latest", r.toString());
        assertEquals("busybox:latest", r.familiar());
        assertEquals("busybox", r.familiarName());
    }

    @Test
    void userImagesAreOnDockerHubWithoutLibrary() {
        assertEquals("docker.io/user/app:latest", canonical("user/app"));
        assertEquals("user/app:v1", Reference.parse("user/app:v1").familiar());
        assertEquals("docker.io/library/busybox:1.36", canonical("docker.io/busybox:1.36"));
        assertEquals("docker.io/library/busybox:latest", canonical("index.docker.io/library/busybox"));
        assertEquals("docker.io/a/b/c:latest", canonical("a/b/c"));
        assertEquals("a/b/c:latest", Reference.parse("a/b/c").familiar());
        // library/ is hidden only for one-component official names.
        assertEquals("library/a/b:latest", Reference.parse("library/a/b").familiar());
    }

    @Test
    void firstComponentIsADomainOnlyIfItLooksLikeOne() {
        Reference local = Reference.parse("localhost:5000/x");
        assertEquals("localhost:5000", local.domain());
        assertEquals("x", local.path());
        assertEquals("localhost:5000/x:latest", local.toString());
        assertEquals("localhost:5000/x:latest", local.familiar());
        assertEquals("localhost", Reference.parse("localhost/x").domain());
        Reference other = Reference.parse("host.example/x/y:tag");
        assertEquals("host.example", other.domain());
        assertEquals("x/y", other.path());
        assertEquals("tag", other.tag());
        assertEquals("[::1]:5000", Reference.parse("[::1]:5000/x").domain());
        assertEquals("127.0.0.1:5000", Reference.parse("127.0.0.1:5000/a/b").domain());
        // No dot, no colon, not localhost: a Docker Hub user.
        assertEquals("docker.io", Reference.parse("myhost/x").domain());
        assertEquals("myhost/x", Reference.parse("myhost/x").path());
        // Docker (reference v0.6): an uppercase first component cannot be a path, so it is a host.
        assertEquals("Registry", Reference.parse("Registry/x").domain());
        // One component never names a domain: "localhost:5000" is library/localhost, tag 5000.
        Reference bare = Reference.parse("localhost:5000");
        assertEquals("library/localhost", bare.path());
        assertEquals("5000", bare.tag());
    }

    @Test
    void theApiOfDockerHubIsServedElsewhere() {
        assertEquals("registry-1.docker.io", Reference.parse("busybox").apiHost());
        assertEquals("registry-1.docker.io", Reference.parse("index.docker.io/user/app").apiHost());
        assertEquals("localhost:5000", Reference.parse("localhost:5000/x").apiHost());
        assertEquals("ghcr.io", Reference.parse("ghcr.io/o/r").apiHost());
    }

    @Test
    void aDigestWinsForPullingAndTheTagIsKept() {
        Reference byDigest = Reference.parse("x@sha256:" + HEX);
        assertNull(byDigest.tag(), "a digest without a tag gets no :latest");
        assertEquals("sha256:" + HEX, byDigest.digest().toString());
        assertEquals("sha256:" + HEX, byDigest.manifestReference());
        assertEquals("docker.io/library/x@sha256:" + HEX, byDigest.toString());
        assertEquals("x@sha256:" + HEX, byDigest.familiar());

        Reference both = Reference.parse("x:1.0@sha256:" + HEX);
        assertEquals("1.0", both.tag());
        assertEquals("sha256:" + HEX, both.manifestReference());
        assertEquals("docker.io/library/x:1.0@sha256:" + HEX, both.toString());
        assertEquals("localhost:5000/x/y:t@sha256:" + HEX, canonical("localhost:5000/x/y:t@sha256:" + HEX));

        assertEquals("latest", Reference.parse("x").manifestReference());
        assertEquals("docker.io/library/x:2", both.withTag("2").toString());
    }

    @Test
    void separatorsFollowTheGrammar() {
        for (String ok : new String[] {"a.b", "a_b", "a__b", "a-b", "a---b", "a1/b-2.c__d", "0"}) {
            Reference.parse(ok);
        }
        for (String bad : new String[] {"a..b", "a___b", "-a", "a-", "_a", "a/", "/a", "a//b", ".a", "a b", "a!b", ":tag", "a:"}) {
            refused(bad);
        }
    }

    @Test
    void uppercaseInTheRepositoryIsRefusedInDockersWords() {
        assertEquals("invalid reference format: repository name (library/Busybox) must be lowercase", refused("Busybox"));
        assertTrue(refused("library/Busybox").contains("(library/Busybox) must be lowercase"));
        assertTrue(refused("localhost:5000/Repo:tag").contains("(Repo) must be lowercase"));
        // Uppercase in a tag is fine (\w), and in a domain too.
        assertEquals("MiXeD", Reference.parse("busybox:MiXeD").tag());
    }

    @Test
    void tagsAreOneTo128WordCharacters() {
        String max = "t" + "a".repeat(127);
        assertEquals(max, Reference.parse("busybox:" + max).tag());
        assertTrue(refused("busybox:" + max + "b").contains("invalid tag"));
        assertEquals("1.36.1_musl-x", Reference.parse("busybox:1.36.1_musl-x").tag());
        assertEquals("_x", Reference.parse("busybox:_x").tag());
        refused("busybox:.x");
        refused("busybox:-x");
        refused("busybox:a+b");
        refused("busybox:a:b");
    }

    @Test
    void digestsAreValidatedExactly() {
        assertTrue(refused("x@sha256:" + HEX.substring(1)).contains("64 hex digits, got 63"));
        refused("x@sha256:" + HEX + "0");
        refused("x@sha256:" + HEX.toUpperCase());
        refused("x@sha256:");
        refused("x@" + HEX);
        refused("x@md5:" + HEX);
        refused("x@sha256:" + HEX + "@sha256:" + HEX);
        refused("x@sha256:../../../../etc/passwd");
    }

    @Test
    void hostileAndDegenerateInputsAreRefused() {
        refused("");
        refused(HEX);                                   // an image ID, not a name
        refused("a".repeat(256));                       // library/aaa... > 255
        Reference.parse("a".repeat(255 - "docker.io/library/".length()));   // the name is 255 long
        refused("a".repeat(256 - "docker.io/library/".length()));
        refused("host.example:port/x");
        refused("host..example/x");
        refused("-host.example/x");
        refused("[::1/x");
        refused("busybox\n");
        refused("busybox\u0000");
        refused("bu\u017fybox");                        // a long s: lower case, but not [a-z]
        refused("café");
        // One line, and the hostile part clipped.
        String message = refused("x:" + "y".repeat(10_000));
        assertTrue(message.length() < 300, message);
    }

    @Test
    void longHostileNamesAreRefusedInOneLineNotAStackOverflow() {
        // A backtracking regex recurses per repeated group: these overflow the stack of Go's grammar
        // written as a plain Java regex (StackOverflowError), and must stay one ContainerError.
        for (String evil : new String[] {"host.example/a" + "-a".repeat(20_000) + "!", "a" + "-a".repeat(20_000) + "-.b/x",
                "a.".repeat(20_000) + "-/x", "h.x/" + "a__".repeat(20_000) + "_", "h.x/" + "a/".repeat(20_000) + "A",
                "a-".repeat(20_000) + "a.b/x"}) {
            assertTimeoutPreemptively(Duration.ofSeconds(5), () -> refused(evil));
        }
    }

    @Test
    void loopbackRegistriesAreRecognised() {
        assertTrue(Reference.parse("localhost:5000/x").isLoopback());
        assertTrue(Reference.parse("localhost/x").isLoopback());
        assertTrue(Reference.parse("127.0.0.1:5000/x").isLoopback());
        assertTrue(Reference.parse("127.1.2.3/x").isLoopback());
        assertTrue(Reference.parse("[::1]:5000/x").isLoopback());
        assertFalse(Reference.parse("busybox").isLoopback());
        assertFalse(Reference.parse("127.0.0.1.example/x").isLoopback());
        assertFalse(Reference.parse("localhost.example/x").isLoopback());
        assertFalse(Reference.parse("10.0.0.1:5000/x").isLoopback());
    }

    @Test
    void aReferenceThatExistsIsValid() {
        assertThrows(ContainerError.class, () -> new Reference("docker.io", "Upper", "latest", null));
        assertThrows(ContainerError.class, () -> new Reference("docker.io", "x", "bad tag", null));
        assertThrows(ContainerError.class, () -> new Reference("bad host", "x", null, null));
        assertEquals("latest", new Reference("docker.io", "library/x", null, null).tag());
    }
}
