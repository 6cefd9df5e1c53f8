package dev.adrnorm.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.adrnorm.wire.v1.Call;
import dev.adrnorm.wire.v1.Frame;
import dev.adrnorm.wire.v1.Hello;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import org.junit.jupiter.api.Test;

/** The length-prefixed framing, without sockets: whole frames, frames split at every byte, bad lengths. */
class FramingTest {
    static final Frame HELLO = Frame.newBuilder().setHello(Hello.newBuilder().setProtocolVersion(1).setClientName("t")).build();
    static final Frame CALL = Frame.newBuilder().setStreamId(7).setCall(Call.newBuilder()
            .setMethod("/adrnorm.v1.Normalizer/Normalize").setPayload(ByteString.copyFromUtf8("头痛")).setHalfClose(true)).build();

    @Test
    void encodeWritesABigEndianLengthThenTheFrame() {
        byte[] b = Connection.encode(CALL);
        int n = ((b[0] & 0xff) << 24) | ((b[1] & 0xff) << 16) | ((b[2] & 0xff) << 8) | (b[3] & 0xff);
        assertEquals(b.length - 4, n);
        assertEquals(CALL.getSerializedSize(), n);
    }

    @Test
    void framesSplitAtEveryByteOffsetDecodeTheSame() throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        all.writeBytes(Connection.encode(HELLO));
        all.writeBytes(Connection.encode(CALL));
        byte[] bytes = all.toByteArray();
        for (int split = 0; split <= bytes.length; split++) {
            DataInputStream in = new DataInputStream(new TwoChunks(bytes, split));
            assertEquals(HELLO, Connection.readFrame(in, "test"));
            assertEquals(CALL, Connection.readFrame(in, "test"));
            assertThrows(EOFException.class, () -> Connection.readFrame(in, "test"));
        }
    }

    @Test
    void zeroOrHugeLengthIsAProtocolError() {
        for (byte[] header : new byte[][] {{0, 0, 0, 0}, {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff}, {0x7f, 0, 0, 0}}) {
            AdrnormException e = assertThrows(AdrnormException.class,
                    () -> Connection.readFrame(new DataInputStream(new ByteArrayInputStream(header)), "peer:1"));
            assertEquals(Status.Code.INTERNAL, e.code());
            assertTrue(e.getMessage().contains("peer:1") && e.getMessage().contains("frame length"), e.getMessage());
        }
    }

    @Test
    void garbageIsNotAFrame() {
        byte[] bad = {0, 0, 0, 3, (byte) 0xff, (byte) 0xff, (byte) 0xff};
        AdrnormException e = assertThrows(AdrnormException.class,
                () -> Connection.readFrame(new DataInputStream(new ByteArrayInputStream(bad)), "peer:1"));
        assertEquals(Status.Code.INTERNAL, e.code());
    }

    @Test
    void statusCodesMirrorTheWireEnum() {
        for (dev.adrnorm.wire.v1.Code c : dev.adrnorm.wire.v1.Code.values()) {
            if (c == dev.adrnorm.wire.v1.Code.UNRECOGNIZED) continue;
            assertEquals(c.name(), Status.Code.forNumber(c.getNumber()).name());
            assertEquals(c.getNumber(), Status.Code.valueOf(c.name()).value());
        }
        assertEquals(Status.Code.UNKNOWN, Status.Code.forNumber(99));
    }

    /** Delivers the bytes in two reads, split at {@code split}, at most what each read asks for. */
    private static final class TwoChunks extends InputStream {
        private final byte[] b;
        private final int split;
        private int pos;

        TwoChunks(byte[] b, int split) {
            this.b = b;
            this.split = split;
        }

        @Override
        public int read() {
            return pos < b.length ? b[pos++] & 0xff : -1;
        }

        @Override
        public int read(byte[] dst, int off, int len) {
            if (pos >= b.length) return -1;
            int end = pos < split ? split : b.length;
            int n = Math.min(len, end - pos);
            if (n == 0) n = Math.min(len, b.length - pos);
            System.arraycopy(b, pos, dst, off, n);
            pos += n;
            return n;
        }
    }
}
