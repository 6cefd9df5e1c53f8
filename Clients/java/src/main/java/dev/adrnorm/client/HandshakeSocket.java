package dev.adrnorm.client;

import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;

/**
 * The TCP socket under the client's TLS socket. Until {@link #established()}, a failed write is
 * remembered instead of thrown: a server that refuses the client certificate sends its alert and
 * closes while the client is still writing (the rest of its handshake flight, or its Hello), and
 * a write error would hide that alert behind "Broken pipe". The next read then reports the alert,
 * which says why (or, if it was lost, the connection's end).
 */
final class HandshakeSocket extends Socket {
    private volatile boolean establishing = true;
    private volatile IOException lostWrite;
    private OutputStream output;

    @Override
    public synchronized OutputStream getOutputStream() throws IOException {
        if (output == null) {
            OutputStream real = super.getOutputStream();
            output = new OutputStream() {
                @Override
                public void write(int b) throws IOException {
                    write(new byte[] {(byte) b}, 0, 1);
                }

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    if (establishing && lostWrite != null) return;
                    try {
                        real.write(b, off, len);
                    } catch (IOException e) {
                        if (!establishing) throw e;
                        lostWrite = e;
                    }
                }

                @Override
                public void flush() throws IOException {
                    if (establishing && lostWrite != null) return;
                    try {
                        real.flush();
                    } catch (IOException e) {
                        if (!establishing) throw e;
                        lostWrite = e;
                    }
                }

                @Override
                public void close() throws IOException {
                    real.close();
                }
            };
        }
        return output;
    }

    /** From now on writes fail as usual. */
    void established() {
        establishing = false;
    }

    /** A write that failed while establishing the connection, or null. */
    IOException lostWrite() {
        return lostWrite;
    }
}
