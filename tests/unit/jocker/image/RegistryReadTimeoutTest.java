//DEPS org.junit.platform:junit-platform-console-standalone:1.11.4
package jocker.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import okhttp3.HttpUrl;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;

/**
 * The registry clients' read timeout is the socket's own (SO_TIMEOUT), since OkHttp's costs a
 * watchdog registration per read: a registry that stops sending in the middle of a body must
 * still end the read, though OkHttp asks its sockets for no timeout at all.
 */
@Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class RegistryReadTimeoutTest {

    @Test
    void both_clients_leave_the_read_timeout_to_their_sockets() {
        for (String url : new String[] {"http://127.0.0.1:5000/v2/", "https://registry.example/v2/"}) {
            OkHttpClient client = RegistryHttp.client(HttpUrl.get(url));
            assertEquals(0, client.readTimeoutMillis(), url);
            assertInstanceOf(RegistryHttp.TimedSockets.class, client.socketFactory(), url);
        }
    }

    @Test
    void a_socket_told_to_wait_forever_waits_the_timeout_and_keeps_any_other() throws IOException {
        try (Socket s = new RegistryHttp.TimedSockets(1234).createSocket()) {
            assertEquals(1234, s.getSoTimeout());
            s.setSoTimeout(0);   // what OkHttp does with a read timeout of 0
            assertEquals(1234, s.getSoTimeout());
            s.setSoTimeout(50);
            assertEquals(50, s.getSoTimeout());
        }
    }

    @Test
    void a_body_that_stops_coming_times_out_through_okhttp() throws Exception {
        try (StallingRegistry registry = new StallingRegistry()) {
            OkHttpClient client = new OkHttpClient.Builder().readTimeout(0, TimeUnit.MILLISECONDS)
                    .socketFactory(new RegistryHttp.TimedSockets(300)).build();
            long start = System.nanoTime();
            try (Response r = client.newCall(registry.request()).execute()) {
                InputStream body = registry.readFirstBytes(r);
                assertThrows(SocketTimeoutException.class, body::read);
            }
            long millis = (System.nanoTime() - start) / 1_000_000;
            assertTrue(millis >= 250 && millis < 10_000, "timed out after " + millis + " ms");
        }
    }

    /**
     * A body closed before its end (a manifest over its size limit, a layer given up) is drained
     * by OkHttp's close for at most 100 ms, a deadline OkHttp's watchdog keeps whatever the read
     * timeout: with ours at 0 and the socket's at a minute, closing a stalled body still returns
     * at once, and does not wait for the socket's timeout.
     */
    @Test
    void a_stalled_body_closed_early_does_not_wait_for_the_socket_timeout() throws Exception {
        try (StallingRegistry registry = new StallingRegistry()) {
            OkHttpClient client = RegistryHttp.client(HttpUrl.get(registry.url()));
            Response r = client.newCall(registry.request()).execute();
            registry.readFirstBytes(r);
            long start = System.nanoTime();
            r.close();
            long millis = (System.nanoTime() - start) / 1_000_000;
            assertTrue(millis < 5_000, "closing the stalled body took " + millis + " ms");
        }
    }

    /** A registry on loopback that answers 200 with 10 of the 1000 bytes it promised, then hangs. */
    private static final class StallingRegistry implements AutoCloseable {
        private final ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        private final CountDownLatch done = new CountDownLatch(1);
        private final Thread thread = new Thread(this::serve, "stalling-registry");

        StallingRegistry() throws IOException { thread.start(); }

        String url() { return "http://127.0.0.1:" + server.getLocalPort() + "/v2/x"; }

        Request request() { return new Request.Builder().url(url()).build(); }

        /** Checks the answer and reads its first 10 bytes; returns the body, positioned after them. */
        InputStream readFirstBytes(Response r) throws IOException {
            assertEquals(200, r.code());
            InputStream body = r.body().byteStream();
            byte[] first = new byte[10];   // (not readNBytes: Okio reads the socket even for 0 bytes)
            for (int got = 0; got < first.length; ) got += body.read(first, got, first.length - got);
            assertEquals("0123456789", new String(first, StandardCharsets.ISO_8859_1));
            return body;
        }

        private void serve() {
            try (Socket peer = server.accept()) {
                InputStream in = peer.getInputStream();
                int last = 0;
                while (last != 0x0d0a0d0a) {   // the request's headers, to their empty line
                    int b = in.read();
                    if (b < 0) return;
                    last = last << 8 | b;
                }
                OutputStream out = peer.getOutputStream();
                out.write("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789".getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
                done.await();   // and then nothing: a registry that hangs mid-body
            } catch (IOException | InterruptedException e) {
                // the test is over
            }
        }

        @Override public void close() throws Exception {
            done.countDown();
            server.close();
            thread.join(5_000);
        }
    }
}
