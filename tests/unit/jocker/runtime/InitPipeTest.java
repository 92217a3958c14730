//DEPS org.junit.platform:junit-platform-console-standalone:1.11.4
package jocker.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import jocker.kernel.Linux;
import jocker.runtime.InitPipe.Message;
import jocker.runtime.InitPipe.Received;

/**
 * The framing of the sync pipe between the runtime and init, over one real pipe(2): what one end
 * sends, the other receives. A pipe holds 64 KiB, so one thread can write and then read.
 */
class InitPipeTest {
    private int readFd = -1;
    private int writeFd = -1;
    private InitPipe pipe;

    @BeforeEach
    void open() {
        int[] fds = Linux.pipe();
        readFd = fds[0];
        writeFd = fds[1];
        pipe = new InitPipe(readFd, writeFd);
    }

    @AfterEach
    void close() {
        for (int fd : new int[] {readFd, writeFd}) {
            if (fd < 0) continue;
            try {
                Linux.close(fd);
            } catch (Linux.LinuxException alreadyClosed) {
                // closed by the test
            }
        }
    }

    private void closeWriter() {
        Linux.close(writeFd);
        writeFd = -1;
    }

    private void raw(String text) {
        Linux.write(writeFd, text.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void readyAndGoArriveAsSent() {
        pipe.send(Message.READY);
        pipe.send(Message.GO);
        assertEquals(new Received(Message.READY, 0, ""), pipe.receive());
        assertEquals(new Received(Message.GO, 0, ""), pipe.receive());
    }

    @Test
    void eachMessageIsOneLine() {
        pipe.send(Message.READY);
        byte[] buf = new byte[64];
        int n = Linux.read(readFd, buf);
        assertEquals("READY\n", new String(buf, 0, n, StandardCharsets.UTF_8));
    }

    @Test
    void failedCarriesItsExitCodeAndText() {
        pipe.send(Message.FAILED, 127, "exec \"nope\": No such file or directory");
        pipe.send(Message.FAILED, -1, "");
        assertEquals(new Received(Message.FAILED, 127, "exec \"nope\": No such file or directory"), pipe.receive());
        assertEquals(new Received(Message.FAILED, -1, ""), pipe.receive());
    }

    @Test
    void failedTextKeepsItsSpacesAndUnicode() {
        pipe.send(Message.FAILED, 126, "  two  spaces, é and ✓ ");
        assertEquals(new Received(Message.FAILED, 126, "  two  spaces, é and ✓ "), pipe.receive());
    }

    @Test
    void aTextLongerThanOneAtomicPipeWriteArrivesWhole() {
        String text = "x".repeat(10_000);   // more than PIPE_BUF (4096), less than the pipe's 64 KiB
        pipe.send(Message.FAILED, 1, text);
        assertEquals(new Received(Message.FAILED, 1, text), pipe.receive());
    }

    @Test
    void aNewlineInTheTextDoesNotSplitTheMessage() {
        pipe.send(Message.FAILED, 125, "first line\nsecond line\n");
        pipe.send(Message.GO);
        Received failed = pipe.receive();
        assertEquals(Message.FAILED, failed.message());
        assertEquals(125, failed.exitCode());
        assertEquals("first line second line ", failed.text());
        assertEquals(Message.GO, pipe.receive().message(), "the next message is framed on its own");
    }

    @Test
    void aClosedWriterIsEof() {
        pipe.send(Message.READY);
        closeWriter();
        assertEquals(Message.READY, pipe.receive().message());
        assertEquals(new Received(Message.EOF, 0, ""), pipe.receive());
        assertEquals(Message.EOF, pipe.receive().message(), "and stays EOF");
    }

    @Test
    void aLastMessageWithoutNewlineIsStillReceived() {
        raw("GO");
        closeWriter();
        assertEquals(Message.GO, pipe.receive().message());
        assertEquals(Message.EOF, pipe.receive().message());
    }

    @Test
    void anUnknownMessageIsAnErrorThatNamesIt() {
        raw("HELLO there\n");
        ContainerError e = assertThrows(ContainerError.class, pipe::receive);
        assertTrue(e.getMessage().contains("HELLO there"), e.getMessage());
        assertEquals(ContainerError.RUNTIME, e.exitCode());
    }

    @Test
    void anEmptyLineIsAnError() {
        raw("\n");
        assertThrows(ContainerError.class, pipe::receive);
    }

    @Test
    void messagesAreCaseSensitive() {
        raw("ready\n");
        ContainerError e = assertThrows(ContainerError.class, pipe::receive);
        assertTrue(e.getMessage().contains("ready"), e.getMessage());
    }

    /** What the other side sent is malformed, so it is the same kind of error as an unknown message. */
    @Test
    void aMalformedFailedIsAContainerError() {
        raw("FAILED\n");
        assertThrows(ContainerError.class, pipe::receive, "FAILED without an exit code");
        raw("FAILED abc text\n");
        assertThrows(ContainerError.class, pipe::receive, "FAILED with a code that is no number");
    }

    @Test
    void expectReturnsTheExpectedMessage() {
        pipe.send(Message.GO);
        assertEquals(Message.GO, pipe.expect(Message.GO).message());
    }

    @Test
    void expectWithTheWrongMessageNamesBoth() {
        pipe.send(Message.READY);
        ContainerError e = assertThrows(ContainerError.class, () -> pipe.expect(Message.GO));
        assertEquals("init pipe: expected GO, received READY", e.getMessage());
    }

    @Test
    void expectHandsFailedAndEofToTheCaller() {
        pipe.send(Message.FAILED, 127, "not found");
        assertEquals(new Received(Message.FAILED, 127, "not found"), pipe.expect(Message.READY));
        closeWriter();
        assertEquals(Message.EOF, pipe.expect(Message.READY).message());
    }

    @Test
    void theInitEndUsesTheFixedDescriptors() {
        assertEquals(3, InitPipe.CHILD_WRITE_FD);
        assertEquals(4, InitPipe.CHILD_READ_FD);
    }
}
