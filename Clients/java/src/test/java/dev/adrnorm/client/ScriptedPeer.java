package dev.adrnorm.client;

import dev.adrnorm.v1.HealthResponse;
import dev.adrnorm.wire.v1.Code;
import dev.adrnorm.wire.v1.Frame;
import dev.adrnorm.wire.v1.GoAway;
import dev.adrnorm.wire.v1.Hello;
import dev.adrnorm.wire.v1.Message;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLParameters;

/**
 * A one-connection TLS server that ends the connection the way a test asks. It runs TLS through
 * an {@link SSLEngine} over a plain socket, so that it controls every byte: the handshake, the
 * client's Hello answered with a Hello (unless {@code hello} is false), then it reads frames and
 * answers nothing until {@link #end} carries out one of the {@link Ending}s (or, after
 * {@link #stopReading}, reads nothing more).
 */
final class ScriptedPeer implements AutoCloseable {
    enum Ending {
        /** TLS close_notify, then FIN and close. */
        CLOSE_NOTIFY,
        /** TLS close_notify; the socket stays open (no FIN). */
        CLOSE_NOTIFY_OPEN,
        /** GoAway and close_notify in one write, then FIN (what adrnorm serve does on SIGTERM). */
        GOAWAY_CLOSE_NOTIFY,
        /** Close without close_notify: a plain TCP EOF. */
        FIN,
        /** Close with SO_LINGER 0: a TCP RST. */
        RST,
        /** shutdown(SHUT_WR), then silence: nothing read, nothing closed. */
        HALF_CLOSE
    }

    /** Large, so that one request can fill the socket buffers of a peer that stopped reading. */
    static final int MAX_FRAME_BYTES = 64 * 1024 * 1024;
    final CountDownLatch ready = new CountDownLatch(1);
    final CountDownLatch callSeen = new CountDownLatch(1);
    final List<Throwable> errors = new CopyOnWriteArrayList<>();
    private final CountDownLatch ended = new CountDownLatch(1);
    private final CountDownLatch muted = new CountDownLatch(1);
    private final LinkedBlockingQueue<Object> commands = new LinkedBlockingQueue<>();
    private static final Object STOP = new Object();
    private static final Object MUTE = new Object();
    private final boolean hello;
    private final SSLContext context;
    private final ServerSocket listener;
    private final Thread thread;
    private volatile Socket socket;
    private SSLEngine engine;
    private ByteBuffer netIn;
    private ByteBuffer appIn;
    private final ByteArrayOutputStream frames = new ByteArrayOutputStream();

    ScriptedPeer(Path certs, boolean hello) {
        this.hello = hello;
        this.context = PemFiles.sslContext(certs.resolve("ca.pem"), certs.resolve("server.pem"), certs.resolve("server.key"));
        try {
            listener = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"));
            listener.setSoTimeout(30_000);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        thread = new Thread(this::run, "scripted-peer");
        thread.setDaemon(true);
        thread.start();
    }

    String host() {
        return "127.0.0.1";
    }

    int port() {
        return listener.getLocalPort();
    }

    /** Ends the connection {@code how} and waits until that is done. */
    void end(Ending how) throws InterruptedException {
        commands.add(how);
        if (!ended.await(10, TimeUnit.SECONDS)) {
            throw new AssertionError("the scripted peer did not carry out " + how + " within 10 s: " + errors);
        }
    }

    /** Stops reading (the connection stays open): the client's writes fill the socket buffers and block. */
    void stopReading() throws InterruptedException {
        commands.add(MUTE);
        if (!muted.await(10, TimeUnit.SECONDS)) throw new AssertionError("the scripted peer did not stop reading: " + errors);
    }

    @Override
    public void close() {
        commands.add(STOP);
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        closeQuietly(socket);
        try {
            listener.close();
        } catch (IOException ignored) {
            // closing
        }
    }

    private void run() {
        try {
            Socket s = listener.accept();
            socket = s;
            s.setTcpNoDelay(true);
            s.setSoTimeout(20); // the poll interval for commands
            engine = context.createSSLEngine();
            engine.setUseClientMode(false);
            SSLParameters p = engine.getSSLParameters();
            p.setProtocols(new String[] {"TLSv1.3"});
            p.setApplicationProtocols(new String[] {"adrn/1"});
            p.setNeedClientAuth(true);
            engine.setSSLParameters(p);
            netIn = ByteBuffer.allocate(engine.getSession().getPacketBufferSize() * 4);
            appIn = ByteBuffer.allocate(engine.getSession().getApplicationBufferSize() * 4);
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            handshake(in, out);
            if (!hello) ready.countDown();
            boolean reading = true;
            boolean helloDone = false;
            boolean readinessAnswered = false;
            while (true) {
                Object cmd = commands.poll();
                if (cmd == STOP) return;
                if (cmd == MUTE) {
                    reading = false;
                    muted.countDown();
                } else if (cmd != null) {
                    reading = carryOut((Ending) cmd, s, out);
                    ended.countDown();
                }
                if (!reading) {
                    Thread.sleep(20);
                    continue;
                }
                // Decrypt what is buffered first: the client's Hello may have come with its Finished.
                unwrapAll();
                for (Frame f : takeFrames()) {
                    if (f.getKindCase() == Frame.KindCase.HELLO && hello && !helloDone) {
                        helloDone = true;
                        out.write(wrap(Connection.encode(Frame.newBuilder().setHello(Hello.newBuilder().setProtocolVersion(1)
                                .setServerName("scripted-peer").setMaxFrameBytes(MAX_FRAME_BYTES)
                                .setMaxConcurrentStreams(8).setInitialStreamCredit(8)).build())));
                        out.flush();
                        ready.countDown();
                    } else if (f.getKindCase() == Frame.KindCase.CALL && f.getCall().getMethod().endsWith("/Health")
                            && !readinessAnswered) {
                        // the client's readiness check when it connects: SERVING (later calls get no answer)
                        readinessAnswered = true;
                        ByteArrayOutputStream answer = new ByteArrayOutputStream();
                        answer.write(Connection.encode(Frame.newBuilder().setStreamId(f.getStreamId()).setMessage(Message.newBuilder()
                                .setPayload(HealthResponse.newBuilder().setStatus(HealthResponse.ServingStatus.SERVING).build()
                                        .toByteString())).build()));
                        answer.write(Connection.encode(Frame.newBuilder().setStreamId(f.getStreamId())
                                .setStatus(dev.adrnorm.wire.v1.Status.getDefaultInstance()).build()));
                        out.write(wrap(answer.toByteArray()));
                        out.flush();
                    } else if (f.getKindCase() == Frame.KindCase.CALL) {
                        callSeen.countDown();
                    }
                }
                if (!readSome(in)) reading = false;
            }
        } catch (Throwable e) {
            errors.add(e);
            ready.countDown();
        }
    }

    /** Carries out {@code how}; returns whether to go on reading. */
    private boolean carryOut(Ending how, Socket s, OutputStream out) throws IOException {
        switch (how) {
            case CLOSE_NOTIFY, CLOSE_NOTIFY_OPEN, GOAWAY_CLOSE_NOTIFY -> {
                ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                if (how == Ending.GOAWAY_CLOSE_NOTIFY) {
                    bytes.write(wrap(Connection.encode(Frame.newBuilder().setGoaway(GoAway.newBuilder().setLastStreamId(0)
                            .setCode(Code.UNAVAILABLE).setMessage("server shutting down")).build())));
                }
                engine.closeOutbound();
                bytes.write(wrap(new byte[0]));
                out.write(bytes.toByteArray()); // one write: GoAway and close_notify arrive together
                out.flush();
                if (how == Ending.CLOSE_NOTIFY_OPEN) return true;
                s.shutdownOutput();
                if (how == Ending.GOAWAY_CLOSE_NOTIFY) return true; // like the real server: read until the client's FIN
                s.close();
                return false;
            }
            case FIN -> {
                s.shutdownOutput();
                s.close();
                return false;
            }
            case RST -> {
                s.setSoLinger(true, 0);
                s.close();
                return false;
            }
            case HALF_CLOSE -> {
                s.shutdownOutput();
                return false;
            }
            default -> throw new AssertionError(how);
        }
    }

    private void handshake(InputStream in, OutputStream out) throws Exception {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        engine.beginHandshake();
        while (true) {
            if (System.nanoTime() > until) throw new IOException("handshake timed out");
            switch (engine.getHandshakeStatus()) {
                case NEED_WRAP -> {
                    out.write(wrap(new byte[0]));
                    out.flush();
                }
                case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> {
                    netIn.flip();
                    SSLEngineResult r = engine.unwrap(netIn, appIn);
                    netIn.compact();
                    if (r.getStatus() == SSLEngineResult.Status.BUFFER_UNDERFLOW && !readSome(in)) {
                        throw new IOException("the client closed during the handshake");
                    }
                    if (r.getStatus() == SSLEngineResult.Status.CLOSED) throw new IOException("closed in the handshake");
                }
                case NEED_TASK -> {
                    Runnable t;
                    while ((t = engine.getDelegatedTask()) != null) t.run();
                }
                default -> {
                    return;
                }
            }
        }
    }

    /** Reads what the socket has (waiting up to the poll interval); false at EOF or on an error. */
    private boolean readSome(InputStream in) {
        byte[] b = new byte[65536];
        try {
            int n = in.read(b, 0, Math.min(b.length, netIn.remaining()));
            if (n < 0) return false;
            netIn.put(b, 0, n);
            return true;
        } catch (SocketTimeoutException nothingYet) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private void unwrapAll() throws IOException {
        while (true) {
            netIn.flip();
            SSLEngineResult r = engine.unwrap(netIn, appIn);
            netIn.compact();
            appIn.flip();
            frames.write(appIn.array(), appIn.position(), appIn.remaining());
            appIn.clear();
            if (r.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_TASK) {
                Runnable t;
                while ((t = engine.getDelegatedTask()) != null) t.run();
            }
            if (r.getStatus() != SSLEngineResult.Status.OK || (r.bytesConsumed() == 0 && r.bytesProduced() == 0)) return;
        }
    }

    private List<Frame> takeFrames() throws IOException {
        List<Frame> out = new java.util.ArrayList<>();
        byte[] b = frames.toByteArray();
        int pos = 0;
        while (b.length - pos >= 4) {
            int n = ByteBuffer.wrap(b, pos, 4).getInt();
            if (b.length - pos - 4 < n) break;
            out.add(Frame.parseFrom(java.util.Arrays.copyOfRange(b, pos + 4, pos + 4 + n)));
            pos += 4 + n;
        }
        frames.reset();
        frames.write(b, pos, b.length - pos);
        return out;
    }

    private byte[] wrap(byte[] plain) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ByteBuffer src = ByteBuffer.wrap(plain);
        ByteBuffer dst = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
        do {
            dst.clear();
            SSLEngineResult r = engine.wrap(src, dst);
            dst.flip();
            bytes.write(dst.array(), 0, dst.limit());
            if (r.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_TASK) {
                Runnable t;
                while ((t = engine.getDelegatedTask()) != null) t.run();
            }
            if (r.getStatus() == SSLEngineResult.Status.CLOSED || r.bytesProduced() == 0) break;
        } while (src.hasRemaining() || engine.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_WRAP);
        return bytes.toByteArray();
    }

    private static void closeQuietly(Socket s) {
        if (s == null) return;
        try {
            s.close();
        } catch (IOException ignored) {
            // closing
        }
    }
}
