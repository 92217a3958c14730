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
        CountDownLatch done = new CountDownLatch(1);
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Thread stalling = new Thread(() -> {
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
            }, "stalling-registry");
            stalling.start();
            OkHttpClient client = new OkHttpClient.Builder().readTimeout(0, java.util.concurrent.TimeUnit.MILLISECONDS)
                    .socketFactory(new RegistryHttp.TimedSockets(300)).build();
            long start = System.nanoTime();
            try (Response r = client.newCall(new Request.Builder().url("http://127.0.0.1:" + server.getLocalPort() + "/v2/x").build()).execute()) {
                assertEquals(200, r.code());
                InputStream body = r.body().byteStream();
                byte[] first = new byte[10];   // (not readNBytes: Okio reads the socket even for 0 bytes)
                for (int got = 0; got < first.length; ) got += body.read(first, got, first.length - got);
                assertEquals("0123456789", new String(first, StandardCharsets.ISO_8859_1));
                assertThrows(SocketTimeoutException.class, body::read);
            } finally {
                done.countDown();
            }
            long millis = (System.nanoTime() - start) / 1_000_000;
            assertTrue(millis >= 250 && millis < 10_000, "timed out after " + millis + " ms");
            stalling.join(5_000);
        }
    }
}
