//DEPS org.junit.platform:junit-platform-console-standalone:1.11.4
package jocker.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import jocker.image.WwwAuthenticate.Challenge;
import jocker.runtime.ContainerError;

/** RFC 7235 challenges as registries send them, and the token request they lead to. */
class WwwAuthenticateTest {
    private static final String HUB = "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
            + "scope=\"repository:library/busybox:pull\"";

    private static Challenge one(String header) {
        List<Challenge> all = WwwAuthenticate.parse(header);
        assertEquals(1, all.size(), all.toString());
        return all.get(0);
    }

    private static String refused(String header) {
        ContainerError e = assertThrows(ContainerError.class, () -> WwwAuthenticate.parse(header),
                jocker.runtime.Log.oneLine(Digest.clip(header)));
        assertTrue(e.getMessage().startsWith("invalid WWW-Authenticate header: "), e.getMessage());
        assertTrue(!e.getMessage().contains("\n") && e.getMessage().length() < 400, e.getMessage());
        return e.getMessage();
    }

    @Test
    void dockerHubsBearerChallenge() {
        Challenge c = one(HUB);
        assertEquals("bearer", c.scheme());
        assertTrue(c.is("Bearer"));
        assertEquals("https://auth.docker.io/token", c.realm());
        assertEquals("registry.docker.io", c.param("service"));
        assertEquals("repository:library/busybox:pull", c.param("SCOPE"));
        assertEquals(List.of("realm", "service", "scope"), List.copyOf(c.params().keySet()));
        assertNull(c.token68());
    }

    @Test
    void basicAndCaseInsensitiveSchemesAndNames() {
        Challenge basic = one("Basic realm=\"Registry Realm\"");
        assertTrue(basic.is("basic"));
        assertEquals("Registry Realm", basic.realm());
        Challenge upper = one("BEARER REALM=\"https://a/token\" , Service = reg");
        assertTrue(upper.is("bearer"));
        assertEquals("https://a/token", upper.realm());
        assertEquals("reg", upper.param("service"), "token values and spaces around '=' (BWS)");
        assertEquals(Map.of(), one("Negotiate").params());
    }

    @Test
    void quotedStringsUnescape() {
        Challenge c = one("Basic realm=\"a \\\"quoted\\\" realm, with a comma\\\\ and = sign\", charset=\"UTF-8\"");
        assertEquals("a \"quoted\" realm, with a comma\\ and = sign", c.realm());
        assertEquals("UTF-8", c.param("charset"));
        assertEquals("", one("Basic realm=\"\"").realm());
    }

    @Test
    void severalChallengesInOneHeaderOrSeveral() {
        List<Challenge> all = WwwAuthenticate.parse("Newauth realm=\"apps\", type=1, title=\"Login to \\\"apps\\\"\", Basic realm=\"simple\"");
        assertEquals(2, all.size());
        assertTrue(all.get(0).is("newauth"));
        assertEquals("1", all.get(0).param("type"));
        assertEquals("Login to \"apps\"", all.get(0).param("title"));
        assertEquals("simple", all.get(1).realm());
        all = WwwAuthenticate.parse(List.of("Basic realm=\"x\"", HUB));
        assertEquals(List.of("basic", "bearer"), all.stream().map(Challenge::scheme).toList());
        assertEquals("https://auth.docker.io/token", WwwAuthenticate.find(all, "BEARER").realm());
        assertNull(WwwAuthenticate.find(all, "digest"));
        all = WwwAuthenticate.parse("Basic, Bearer realm=\"r\"");
        assertEquals(List.of("basic", "bearer"), all.stream().map(Challenge::scheme).toList());
    }

    @Test
    void token68Challenges() {
        Challenge c = one("Custom dXNlcjpwYXNz==");
        assertEquals("dXNlcjpwYXNz==", c.token68());
        assertTrue(c.params().isEmpty());
        List<Challenge> two = WwwAuthenticate.parse("Custom abc, Basic realm=\"x\"");
        assertEquals("abc", two.get(0).token68());
        assertEquals("x", two.get(1).realm());
        // By the grammar, "realm=" alone is a token68, not a parameter: a bearer challenge without a realm.
        Challenge noRealm = one("Bearer realm=");
        assertEquals("realm=", noRealm.token68());
        assertThrows(ContainerError.class, () -> WwwAuthenticate.tokenUrl(noRealm, null, null));
    }

    @Test
    void anInsufficientScopeErrorIsReadable() {
        Challenge c = one(HUB.replace("pull\"", "pull,push\"") + ",error=\"insufficient_scope\"");
        assertEquals("insufficient_scope", c.param("error"));
        assertEquals("repository:library/busybox:pull,push", c.param("scope"));
    }

    @Test
    void garbageIsRefusedInOneLine() {
        refused("");
        refused("   ,  ");
        refused("Bearer realm=\"unterminated");
        refused("Bearer realm=\"ends in a backslash\\");
        refused("Bearer realm=\"x\", service=");
        refused("Bearer realm=\"x\" service=\"y\"");
        refused("Bearer realm=\"x\", realm=\"evil\"");
        refused("Bearer=x");
        refused("Basic/abc");                           // a token68 needs a space before it
        refused("\"Bearer\" realm=x");
        refused("Bearer realm=\"a\u0000b\"");
        refused("Bearer realm=\"a\nb\"");
        refused("Bearer realm=<x>");
        refused("Bearer realm=\"x\", y=\"" + "z".repeat(100_000));
        // ... though many challenges are grammatical: "yyy" is a scheme of its own.
        assertEquals(2, WwwAuthenticate.parse("Bearer realm=\"x\"," + "y".repeat(100_000)).size());
    }

    @Test
    void theTokenUrlIsTheRealmWithServiceAndScopeEncoded() {
        Challenge c = one(HUB);
        assertEquals("https://auth.docker.io/token?service=registry.docker.io&scope=repository%3Alibrary%2Fbusybox%3Apull",
                WwwAuthenticate.tokenUrl(c, List.of(), null));
        assertEquals("https://auth.docker.io/token?service=registry.docker.io&scope=repository%3Auser%2Fapp%3Apull"
                + "&scope=repository%3Auser%2Fbase%3Apull&account=me%40example.com",
                WwwAuthenticate.tokenUrl(c, List.of(WwwAuthenticate.pullScope("user/app"), "repository:user/base:pull"), "me@example.com"));
        Challenge withQuery = one("Bearer realm=\"http://127.0.0.1:5001/auth?x=1\",scope=\"a b\"");
        assertEquals("http://127.0.0.1:5001/auth?x=1&scope=a&scope=b", WwwAuthenticate.tokenUrl(withQuery, null, ""));
        assertEquals("https://r/t", WwwAuthenticate.tokenUrl(one("Bearer realm=\"https://r/t\""), null, null));
        assertEquals("https://r/t?service=a+b%26c%3Dd", WwwAuthenticate.tokenUrl(one("Bearer realm=\"https://r/t\",service=\"a b&c=d\""), null, null));
        assertEquals("repository:library/busybox:pull", WwwAuthenticate.pullScope("library/busybox"));
    }

    @Test
    void aRealmMustBeAnHttpUrl() {
        for (String realm : new String[] {"file:///etc/shadow", "/token", "ftp://x/y", "https://", "http://a b/", "https://x/#frag", ""}) {
            Challenge c = one("Bearer realm=\"" + realm + "\"");
            ContainerError e = assertThrows(ContainerError.class, () -> WwwAuthenticate.tokenUrl(c, null, null), realm);
            assertTrue(e.getMessage().startsWith("invalid bearer challenge"), e.getMessage());
        }
        assertThrows(ContainerError.class, () -> WwwAuthenticate.tokenUrl(one("Bearer service=\"x\""), null, null));
        assertThrows(IllegalArgumentException.class, () -> WwwAuthenticate.tokenUrl(one("Basic realm=\"https://x\""), null, null));
    }
}
