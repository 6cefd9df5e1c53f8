package dev.adrnorm.client;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.adrnorm.wire.v1.Call;
import dev.adrnorm.wire.v1.Cancel;
import dev.adrnorm.wire.v1.Frame;
import dev.adrnorm.wire.v1.GoAway;
import dev.adrnorm.wire.v1.Hello;
import dev.adrnorm.wire.v1.Ping;
import dev.adrnorm.wire.v1.Pong;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/**
 * One TLS connection to an adrnorm server, multiplexing the client's calls as streams
 * (docs/PROTOCOL.md). A reader thread owns the input side and routes frames to {@link ClientCall}s; any
 * thread hands whole frames, under {@code writeLock}, to a writer thread that alone writes the socket;
 * a small scheduler thread sends idle Pings, answers the server's Pings and closes a connection that
 * stops answering.
 *
 * <p>Locks: {@code writeLock} may be taken before {@code state}, never after it; a call's own
 * lock is taken last. The reader never writes to the socket (a reader blocked on a write could
 * deadlock with a server that stops reading until the client drains).
 *
 * <p>Waits: a caller waits for {@code writeLock}, for the writer to finish the write before its own,
 * and for its own write, each no longer than its call's deadline: a server that does not read
 * blocks the writer, never the caller. A write whose deadline passes goes on in the background
 * (its bytes may be on the wire in part, so the frame must be finished); the next write waits
 * for it. Cancel and Pong never wait (see {@link #sendWhenFree}). The server's close_notify, FIN or
 * RST ends the reader, which fails every open call with UNAVAILABLE and closes the socket (waking
 * a blocked writer).
 */
final class Connection implements Closeable {
    static final String ALPN = "adrn/1";
    static final int PROTOCOL_VERSION = 1;
    static final int DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024 + 1024;
    /** The largest frame this client accepts from a server. */
    static final int MAX_INBOUND_FRAME_BYTES = 64 * 1024 * 1024;
    /** Room for a Frame's own fields around a payload. */
    static final int FRAME_OVERHEAD = 256;

    /** Told when the connection stops taking new calls; each method is called at most once, from any thread. */
    interface Listener {
        /** The server sent GoAway: calls it accepted finish, new calls must go elsewhere. */
        void goingAway(Connection c);

        /** The connection is finished (lost, closed by either side, or ended after a GoAway). */
        void closed(Connection c);
    }

    static final Listener NO_LISTENER = new Listener() {
        @Override
        public void goingAway(Connection c) {}

        @Override
        public void closed(Connection c) {}
    };

    /** What a connection needs from the client's builder. */
    record Settings(String host, int port, javax.net.ssl.SSLContext sslContext, String caFile, String certFile,
                    long connectTimeoutMillis, long keepAliveMillis, long keepAliveTimeoutMillis, String clientName) {}

    private final Settings settings;
    private final Listener listener;
    private boolean toldGoingAway;
    private boolean toldClosed;
    private final String peer;
    private final HandshakeSocket tcp;
    private final SSLSocket socket;
    private final DataInputStream in;
    private final OutputStream out;
    private final ScheduledExecutorService scheduler;
    private final Thread reader;
    /** The one thread that writes the socket, in the order writes were handed to it. */
    private final ExecutorService writer;
    /** The last write handed to {@link #writer} (under {@code writeLock}); null before the first. */
    private Future<?> lastWrite;

    final String serverName;
    final int maxFrameBytes;
    final int maxConcurrentStreams;
    final long initialStreamCredit;

    private final ReentrantLock writeLock = new ReentrantLock();
    private final ReentrantLock state = new ReentrantLock();
    private final Condition slotFreed = state.newCondition();
    private final Map<Integer, ClientCall> calls = new HashMap<>();
    private int slotsInUse;
    private long nextStreamId = 1;
    /** Set when no new call may start: the reason new calls fail with. */
    private AdrnormException refusing;
    /** Set when the socket is finished; calls still open fail with it. */
    private boolean closed;

    private volatile long lastReadNanos = System.nanoTime();
    private volatile long writeStartedNanos;
    private volatile long pingSentNanos;
    private final AtomicLong pingCounter = new AtomicLong();
    private final AtomicLong pongsReceived = new AtomicLong();

    private Connection(Settings s, Listener listener, HandshakeSocket tcp, SSLSocket socket, BufferedInputStream input,
                       Hello serverHello) throws IOException {
        this.settings = s;
        this.listener = listener;
        this.tcp = tcp;
        this.peer = s.host() + ":" + s.port();
        this.socket = socket;
        this.in = new DataInputStream(input);
        this.out = new BufferedOutputStream(socket.getOutputStream(), 64 * 1024);
        this.serverName = serverHello.getServerName();
        this.maxFrameBytes = serverHello.getMaxFrameBytes() == 0 ? DEFAULT_MAX_FRAME_BYTES : serverHello.getMaxFrameBytes();
        this.maxConcurrentStreams = serverHello.getMaxConcurrentStreams() == 0
                ? Integer.MAX_VALUE : (int) Math.min(Integer.MAX_VALUE, serverHello.getMaxConcurrentStreams() & 0xffffffffL);
        this.initialStreamCredit = serverHello.getInitialStreamCredit() & 0xffffffffL;
        ScheduledThreadPoolExecutor sched = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "adrnorm-keepalive " + peer);
            t.setDaemon(true);
            return t;
        });
        sched.setRemoveOnCancelPolicy(true);
        this.scheduler = sched;
        this.writer = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "adrnorm-writer " + peer);
            t.setDaemon(true);
            return t;
        });
        this.reader = new Thread(this::readLoop, "adrnorm-reader " + peer);
        this.reader.setDaemon(true);
    }

    /** Connects, completes TLS with ALPN adrn/1, exchanges Hellos; starts the reader. */
    static Connection open(Settings s) {
        return open(s, NO_LISTENER);
    }

    /** As {@link #open(Settings)}, telling {@code listener} when the connection goes away or closes. */
    static Connection open(Settings s, Listener listener) {
        String peer = s.host() + ":" + s.port();
        HandshakeSocket raw = new HandshakeSocket();
        SSLSocket ssl = null;
        try {
            int connectTimeout = (int) Math.min(Integer.MAX_VALUE, s.connectTimeoutMillis());
            try {
                raw.setTcpNoDelay(true);
                raw.connect(new InetSocketAddress(s.host(), s.port()), connectTimeout);
            } catch (IOException e) {
                throw new AdrnormException(Status.Code.UNAVAILABLE, "cannot connect to " + peer + ": " + e.getMessage(), e);
            }
            ssl = (SSLSocket) s.sslContext().getSocketFactory().createSocket(raw, s.host(), s.port(), true);
            SSLParameters params = ssl.getSSLParameters();
            params.setProtocols(new String[] {"TLSv1.3"});
            params.setApplicationProtocols(new String[] {ALPN});
            params.setEndpointIdentificationAlgorithm("HTTPS");
            ssl.setSSLParameters(params);
            ssl.setSoTimeout(connectTimeout);
            ssl.startHandshake();
            String alpn = ssl.getApplicationProtocol();
            if (!ALPN.equals(alpn)) {
                throw new AdrnormException(Status.Code.UNAVAILABLE, peer + " did not agree to ALPN protocol \""
                        + ALPN + "\" (it chose " + (alpn == null || alpn.isEmpty() ? "none" : "\"" + alpn + "\"")
                        + "); is it an adrnorm server?");
            }
            // With TLS 1.3 the server judges the client certificate after the client's side of the
            // handshake is done: a refusal arrives as an alert on the first read, below (writes
            // that fail before it are held back by HandshakeSocket so that the alert is seen).
            BufferedInputStream bin = new BufferedInputStream(ssl.getInputStream(), 64 * 1024);
            DataInputStream i = new DataInputStream(bin);
            Frame hello = Frame.newBuilder().setHello(Hello.newBuilder()
                    .setProtocolVersion(PROTOCOL_VERSION).setClientName(s.clientName())).build();
            OutputStream o = ssl.getOutputStream();
            o.write(encode(hello));
            o.flush();
            Frame first = readFrame(i, peer);
            if (first.getKindCase() == Frame.KindCase.GOAWAY) {
                GoAway g = first.getGoaway();
                throw new AdrnormException(Status.Code.forNumber(g.getCodeValue()) == Status.Code.OK
                        ? Status.Code.UNAVAILABLE : Status.Code.forNumber(g.getCodeValue()),
                        peer + " refused the connection: " + g.getMessage());
            }
            if (first.getKindCase() != Frame.KindCase.HELLO) {
                throw new AdrnormException(Status.Code.INTERNAL, peer + " sent " + first.getKindCase()
                        + " before its Hello; protocol error");
            }
            Hello sh = first.getHello();
            if (sh.getProtocolVersion() != PROTOCOL_VERSION) {
                throw new AdrnormException(Status.Code.UNIMPLEMENTED, peer + " speaks protocol version "
                        + sh.getProtocolVersion() + "; this client speaks " + PROTOCOL_VERSION);
            }
            ssl.setSoTimeout(0);
            raw.established();
            Connection c = new Connection(s, listener, raw, ssl, bin, sh);
            c.reader.start();
            c.startKeepAlive();
            return c;
        } catch (AdrnormException e) {
            closeQuietly(ssl != null ? ssl : raw);
            throw e;
        } catch (IOException e) {
            closeQuietly(ssl != null ? ssl : raw);
            if (raw.lostWrite() != null && !(e instanceof SSLException)) {
                e.addSuppressed(raw.lostWrite());
            }
            throw handshakeFailure(s, e);
        }
    }

    private static AdrnormException handshakeFailure(Settings s, IOException e) {
        String peer = s.host() + ":" + s.port();
        String m = String.valueOf(e.getMessage());
        if (e instanceof SocketTimeoutException) {
            return new AdrnormException(Status.Code.UNAVAILABLE, peer + " did not complete the TLS handshake and Hello within "
                    + s.connectTimeoutMillis() + " ms", e);
        }
        if (e instanceof EOFException) {
            return new AdrnormException(Status.Code.UNAVAILABLE, peer + " closed the connection during the handshake"
                    + certHint(s), e);
        }
        if (e instanceof SSLException) {
            String lower = m.toLowerCase();
            // This side's own check of the server's chain or name. JDK 17.0.21
            // puts the alert it sends in the message too, "(certificate_unknown)
            // PKIX path building failed", so look for it before the alerts.
            boolean serverNotTrusted = lower.contains("pkix") || lower.contains("certification path")
                    || lower.contains("no subject alternative") || lower.contains("no name matching");
            if (!serverNotTrusted && (lower.contains("certificate_required") || lower.contains("bad_certificate") || lower.contains("unknown_ca")
                    || lower.contains("certificate_unknown") || lower.contains("certificate_expired")
                    || lower.contains("certificate_revoked") || lower.contains("access_denied")
                    || lower.contains("unsupported_certificate") || lower.contains("decrypt_error"))) {
                String which = s.certFile() == null ? "no client certificate was given (the server requires one: use keyPair(cert, key))"
                        : "the server refused the client certificate " + s.certFile()
                        + (lower.contains("certificate_required")
                        ? " (it was not even sent: its issuer is not a CA the server accepts client certificates from)" : "");
                return new AdrnormException(Status.Code.UNAUTHENTICATED, "TLS handshake with " + peer + " failed: "
                        + which + " (" + m + ")", e);
            }
            if (serverNotTrusted || lower.contains("certificate")) {
                return new AdrnormException(Status.Code.UNAUTHENTICATED, "TLS handshake with " + peer
                        + " failed: the server's certificate is not trusted by " + s.caFile()
                        + " or does not name " + s.host() + " (" + m + ")", e);
            }
            if (lower.contains("no_application_protocol")) {
                return new AdrnormException(Status.Code.UNAVAILABLE, "TLS handshake with " + peer
                        + " failed: the server does not speak ALPN \"" + ALPN + "\" (" + m + ")", e);
            }
            return new AdrnormException(Status.Code.UNAVAILABLE, "TLS handshake with " + peer + " failed: " + m
                    + (e instanceof SSLHandshakeException ? "" : certHint(s)), e);
        }
        return new AdrnormException(Status.Code.UNAVAILABLE, "connection to " + peer + " failed during set-up: " + m
                + certHint(s), e);
    }

    private static String certHint(Settings s) {
        return s.certFile() == null ? " (no client certificate was given; the server may require one: use keyPair(cert, key))"
                : " (the server may have refused the client certificate " + s.certFile() + ")";
    }

    // ---- calls ----

    /**
     * Opens a stream for {@code call}: waits (until its deadline) for a free stream slot, gives it
     * the next id and sends Call, with {@code firstPayload} (which uses one credit the caller
     * has already taken) and half_close.
     */
    void start(ClientCall call, ByteString firstPayload, boolean halfClose) {
        reserveSlot(call);
        Call.Builder cb = Call.newBuilder().setMethod(call.method).setHalfClose(halfClose);
        if (call.deadlineNanos != Long.MAX_VALUE) {
            long leftMs = TimeUnit.NANOSECONDS.toMillis(call.deadlineNanos - System.nanoTime());
            cb.setTimeoutMs((int) Math.max(1, Math.min(0xffffffffL, leftMs)));
        }
        if (firstPayload != null) cb.setPayload(firstPayload);
        Write outcome;
        if (!lockForWrite(call)) {
            state.lock();
            try {
                releaseSlotLocked();
            } finally {
                state.unlock();
            }
            throw sendSideBusy(call);
        }
        try {
            state.lock();
            try {
                if (refusing != null) {
                    releaseSlotLocked();
                    throw copy(refusing);
                }
                if (nextStreamId > 0xffffffffL) {
                    releaseSlotLocked();
                    refusing = new AdrnormException(Status.Code.UNAVAILABLE, "this connection to " + peer
                            + " has used every stream id; new calls go to a new connection");
                    throw copy(refusing);
                }
                call.streamId = (int) nextStreamId;
                nextStreamId += 2;
                calls.put(call.streamId, call);
            } finally {
                state.unlock();
            }
            outcome = writeLocked(List.of(Frame.newBuilder().setStreamId(call.streamId).setCall(cb).build()),
                    call.deadlineNanos, true);
        } finally {
            writeLock.unlock();
        }
        if (outcome == Write.BUSY) {
            // The Call never went out: the server knows nothing of the stream.
            state.lock();
            try {
                if (calls.remove(call.streamId) != null) releaseSlotLocked();
            } finally {
                state.unlock();
            }
            throw sendSideBusy(call);
        }
        if (outcome == Write.QUEUED) {
            // The Call reaches the server after all: cancel it there (the Cancel follows it); its
            // slot stays taken until the server's Status frees it.
            cancel(call, "deadline exceeded while sending the call");
            throw notTaken(call);
        }
    }

    private void reserveSlot(ClientCall call) {
        state.lock();
        try {
            while (true) {
                if (refusing != null) throw copy(refusing);
                if (slotsInUse < maxConcurrentStreams) {
                    slotsInUse++;
                    return;
                }
                try {
                    if (call.deadlineNanos == Long.MAX_VALUE) {
                        slotFreed.await();
                    } else {
                        long left = call.deadlineNanos - System.nanoTime();
                        if (left <= 0) {
                            throw new AdrnormException(Status.Code.DEADLINE_EXCEEDED, call.shortMethod()
                                    + " waited its whole timeout of " + call.timeoutMillis + " ms for one of the server's "
                                    + maxConcurrentStreams + " concurrent streams");
                        }
                        slotFreed.awaitNanos(left);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new AdrnormException(Status.Code.CANCELLED, "interrupted while waiting for a stream", e);
                }
            }
        } finally {
            state.unlock();
        }
    }

    private void releaseSlotLocked() {
        slotsInUse--;
        slotFreed.signal();
    }

    /**
     * Sends frames of {@code call}'s stream in one write; fails the connection on an I/O error.
     * Waiting for the send side (another thread's write, perhaps blocked on a server that does
     * not read) ends at the call's deadline with DEADLINE_EXCEEDED.
     */
    void send(ClientCall call, List<Frame> frames) {
        if (!lockForWrite(call)) throw sendSideBusy(call);
        Write outcome;
        try {
            outcome = writeLocked(frames, call.deadlineNanos, true);
        } finally {
            writeLock.unlock();
        }
        if (outcome == Write.BUSY) throw sendSideBusy(call);
        if (outcome == Write.QUEUED) throw notTaken(call);
    }

    /**
     * Takes {@code writeLock}, waiting no longer than the call's deadline (without one, until the
     * lock frees or the connection fails, which closes the socket under a blocked writer).
     */
    private boolean lockForWrite(ClientCall call) {
        try {
            if (call.deadlineNanos == Long.MAX_VALUE) {
                writeLock.lockInterruptibly();
                return true;
            }
            return writeLock.tryLock(Math.max(0, call.deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AdrnormException(Status.Code.CANCELLED, call.shortMethod() + " was interrupted while waiting to send", e);
        }
    }

    private AdrnormException notTaken(ClientCall call) {
        return new AdrnormException(Status.Code.DEADLINE_EXCEEDED, call.shortMethod() + " could not send within its timeout of "
                + call.timeoutMillis + " ms: the server at " + peer + " is not reading; the rest of the request is sent when it"
                + " reads again");
    }

    private AdrnormException sendSideBusy(ClientCall call) {
        return new AdrnormException(Status.Code.DEADLINE_EXCEEDED, call.shortMethod() + " could not send within its timeout of "
                + call.timeoutMillis + " ms: the connection to " + peer + " is busy sending (the server is not reading)");
    }

    /** Tells the server to stop {@code call} (best effort, never waiting for a busy send side). */
    void cancel(ClientCall call, String reason) {
        if (call.streamId == 0) return;
        sendWhenFree(Frame.newBuilder().setStreamId(call.streamId).setCancel(Cancel.newBuilder().setReason(reason)).build());
    }

    /**
     * Sends a control frame (Cancel, Pong) now if the send side is free, else from the scheduler
     * once it is: the caller never waits behind a write that may be blocked, and neither does the
     * scheduler, whose keep-alive check is what ends a connection whose writes stay blocked.
     */
    private void sendWhenFree(Frame f) {
        if (isClosed()) return;
        if (writeLock.tryLock()) {
            Write outcome = Write.BUSY;
            try {
                outcome = writeLocked(List.of(f), System.nanoTime(), false);
            } catch (AdrnormException ignored) {
                return; // the connection failed; the reader reports it
            } finally {
                writeLock.unlock();
            }
            if (outcome != Write.BUSY) return;
        }
        try {
            scheduler.schedule(() -> sendWhenFree(f), 20, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException closing) {
            // the connection is closing: the frame no longer matters
        }
    }

    /** Fails unless a payload fits in one frame the server accepts. */
    void checkPayloadSize(ByteString payload, String what) {
        if (payload.size() + FRAME_OVERHEAD > maxFrameBytes) {
            throw new AdrnormException(Status.Code.INVALID_ARGUMENT, what + " is " + payload.size()
                    + " bytes encoded; the server at " + peer + " accepts frames of at most " + maxFrameBytes + " bytes");
        }
    }

    /** What {@link #writeLocked} did with the frames. */
    private enum Write {
        /** On the socket. */
        SENT,
        /** Nothing handed to the writer: the write before them was still blocked at the deadline. */
        BUSY,
        /** Handed to the writer, which had not finished them at the deadline (or was not waited for). */
        QUEUED
    }

    /**
     * Hands {@code frames} to the writer (the caller holds {@code writeLock}), once the write before
     * them is done, waiting for that and, with {@code wait}, for their own write, no longer than
     * {@code deadlineNanos} ({@code Long.MAX_VALUE}: no deadline). Throws UNAVAILABLE if the
     * connection is closed or fails while writing.
     */
    private Write writeLocked(List<Frame> frames, long deadlineNanos, boolean wait) {
        checkOpen();
        if (!finished(lastWrite, deadlineNanos)) return Write.BUSY;
        checkOpen();
        byte[][] encoded = new byte[frames.size()][];
        for (int i = 0; i < encoded.length; i++) encoded[i] = encode(frames.get(i));
        Future<?> write;
        try {
            write = writer.submit(() -> {
                writeStartedNanos = System.nanoTime();
                try {
                    for (byte[] b : encoded) out.write(b);
                    out.flush();
                } catch (IOException e) {
                    fail(new AdrnormException(Status.Code.UNAVAILABLE, "connection to " + peer + " lost while sending: "
                            + e.getMessage(), e));
                } finally {
                    writeStartedNanos = 0;
                }
            });
        } catch (RejectedExecutionException closing) {
            checkOpen();
            throw new AdrnormException(Status.Code.UNAVAILABLE, "connection to " + peer + " is closed");
        }
        lastWrite = write;
        if (!wait || !finished(write, deadlineNanos)) return Write.QUEUED;
        checkOpen();
        return Write.SENT;
    }

    private void checkOpen() {
        state.lock();
        try {
            if (closed) throw copy(refusing);
        } finally {
            state.unlock();
        }
    }

    /** Waits for {@code write} (null: none) until {@code deadlineNanos}; true once it is done. */
    private static boolean finished(Future<?> write, long deadlineNanos) {
        if (write == null || write.isDone()) return true;
        try {
            if (deadlineNanos == Long.MAX_VALUE) {
                write.get();
                return true;
            }
            long left = deadlineNanos - System.nanoTime();
            if (left <= 0) return false;
            write.get(left, TimeUnit.NANOSECONDS);
            return true;
        } catch (TimeoutException e) {
            return false;
        } catch (ExecutionException e) {
            return true; // the job catches what it throws; a failed write has failed the connection
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AdrnormException(Status.Code.CANCELLED, "interrupted while waiting to send", e);
        }
    }

    static byte[] encode(Frame f) {
        int n = f.getSerializedSize();
        byte[] b = new byte[4 + n];
        ByteBuffer.wrap(b).putInt(n);
        try {
            f.writeTo(com.google.protobuf.CodedOutputStream.newInstance(b, 4, n));
        } catch (IOException e) {
            throw new IllegalStateException("encoding a frame into an array of its own size failed; this is a bug", e);
        }
        return b;
    }

    static Frame readFrame(DataInputStream in, String peer) throws IOException {
        int n = in.readInt();
        if (n <= 0 || n > MAX_INBOUND_FRAME_BYTES) {
            throw new AdrnormException(Status.Code.INTERNAL, peer + " sent a frame length of " + (n & 0xffffffffL)
                    + " bytes (allowed 1.." + MAX_INBOUND_FRAME_BYTES + "); protocol error");
        }
        byte[] b = new byte[n];
        in.readFully(b);
        try {
            return Frame.parseFrom(b);
        } catch (InvalidProtocolBufferException e) {
            throw new AdrnormException(Status.Code.INTERNAL, peer + " sent a frame that is not a valid Frame: " + e.getMessage(), e);
        }
    }

    // ---- the reader ----

    private void readLoop() {
        try {
            while (true) {
                Frame f = readFrame(in, peer);
                lastReadNanos = System.nanoTime();
                dispatch(f);
            }
        } catch (AdrnormException e) {
            fail(e);
        } catch (IOException | RuntimeException e) {
            String why = e instanceof EOFException ? "the server closed the connection" : String.valueOf(e.getMessage());
            fail(new AdrnormException(Status.Code.UNAVAILABLE, "connection to " + peer + " lost: " + why, e));
        }
    }

    private void dispatch(Frame f) {
        int id = f.getStreamId();
        switch (f.getKindCase()) {
            case MESSAGE -> {
                ClientCall c = call(id);
                if (c != null) c.onMessage(f.getMessage().getPayload());
            }
            case CREDIT -> {
                ClientCall c = call(id);
                if (c != null) c.onCredit(f.getCredit().getMessages() & 0xffffffffL);
            }
            case STATUS -> {
                ClientCall c;
                boolean closeNow;
                state.lock();
                try {
                    c = calls.remove(id);
                    if (c != null) releaseSlotLocked();
                    closeNow = refusing != null && calls.isEmpty();
                } finally {
                    state.unlock();
                }
                if (c != null) {
                    dev.adrnorm.wire.v1.Status s = f.getStatus();
                    c.finish(new Status(Status.Code.forNumber(s.getCodeValue()), s.getMessage()), null);
                }
                if (closeNow) closeSocket();
            }
            case PING -> {
                Frame pong = Frame.newBuilder().setPong(Pong.newBuilder().setPayload(f.getPing().getPayload())).build();
                try {
                    scheduler.execute(() -> sendWhenFree(pong));
                } catch (java.util.concurrent.RejectedExecutionException closing) {
                    // the connection is closing: no Pong needed
                }
            }
            case PONG -> {
                pongsReceived.incrementAndGet();
                pingSentNanos = 0;
            }
            case GOAWAY -> goAway(f.getGoaway());
            case HELLO, CALL, HALF_CLOSE, CANCEL -> throw new AdrnormException(Status.Code.INTERNAL,
                    peer + " sent a " + f.getKindCase() + " frame, which only a client sends; protocol error");
            default -> {
                // a frame kind from a newer protocol revision: ignore it
            }
        }
    }

    private ClientCall call(int id) {
        state.lock();
        try {
            return calls.get(id);
        } finally {
            state.unlock();
        }
    }

    private void goAway(GoAway g) {
        long last = g.getLastStreamId() & 0xffffffffL;
        String why = "server " + peer + " is going away (" + Status.Code.forNumber(g.getCodeValue())
                + (g.getMessage().isEmpty() ? "" : ": " + g.getMessage()) + ")";
        List<ClientCall> unprocessed = new ArrayList<>();
        List<ClientCall> remaining;
        boolean closeNow;
        state.lock();
        try {
            if (refusing == null) {
                refusing = new AdrnormException(Status.Code.UNAVAILABLE, why + "; it accepts no new calls on this connection");
            }
            calls.entrySet().removeIf(e -> {
                if ((e.getKey() & 0xffffffffL) > last) {
                    unprocessed.add(e.getValue());
                    releaseSlotLocked();
                    return true;
                }
                return false;
            });
            slotFreed.signalAll();
            closeNow = calls.isEmpty();
            remaining = new ArrayList<>(calls.values());
        } finally {
            state.unlock();
        }
        tellGoingAway();
        for (ClientCall c : unprocessed) {
            c.finish(new Status(Status.Code.UNAVAILABLE, why + "; it did not process this " + c.shortMethod()
                    + " call (stream " + (c.streamId & 0xffffffffL) + " > last_stream_id " + last + "): retry it on another connection"), null);
        }
        for (ClientCall c : remaining) c.onConnectionDraining();
        if (closeNow) closeSocket();
    }

    /**
     * Ends the connection: every open call fails with {@code why}. New calls fail with the first
     * reason given (a GoAway's, a lost connection's, or the client's close).
     */
    void fail(AdrnormException why) {
        List<ClientCall> open;
        state.lock();
        try {
            if (refusing == null) refusing = why;
            closed = true;
            open = new ArrayList<>(calls.values());
            calls.clear();
            slotsInUse = 0;
            slotFreed.signalAll();
        } finally {
            state.unlock();
        }
        for (ClientCall c : open) c.finish(why.status(), why);
        closeSocket();
    }

    // ---- keep-alive ----

    private void startKeepAlive() {
        if (settings.keepAliveMillis() <= 0) return;
        long tick = Math.max(10, Math.min(settings.keepAliveMillis(), settings.keepAliveTimeoutMillis()) / 4);
        scheduler.scheduleWithFixedDelay(this::keepAliveTick, tick, tick, TimeUnit.MILLISECONDS);
    }

    private void keepAliveTick() {
        long now = System.nanoTime();
        long timeout = TimeUnit.MILLISECONDS.toNanos(settings.keepAliveTimeoutMillis());
        long sentAt = pingSentNanos;
        if (sentAt != 0 && now - sentAt > timeout && lastReadNanos - sentAt < 0) {
            fail(new AdrnormException(Status.Code.UNAVAILABLE, "connection to " + peer + " is dead: no Pong within "
                    + settings.keepAliveTimeoutMillis() + " ms of a Ping"));
            return;
        }
        long writing = writeStartedNanos;
        if (writing != 0 && now - writing > timeout && now - lastReadNanos > timeout) {
            fail(new AdrnormException(Status.Code.UNAVAILABLE, "connection to " + peer + " is dead: a write has been blocked for "
                    + TimeUnit.NANOSECONDS.toMillis(now - writing) + " ms with nothing received"));
            return;
        }
        if (sentAt == 0 && now - lastReadNanos >= TimeUnit.MILLISECONDS.toNanos(settings.keepAliveMillis())) {
            if (!writeLock.tryLock()) return; // a write is under way; check it next tick
            try {
                if (lastWrite != null && !lastWrite.isDone()) return; // likewise, not waiting for it
                long n = pingCounter.incrementAndGet();
                pingSentNanos = System.nanoTime();
                writeLocked(List.of(Frame.newBuilder().setPing(Ping.newBuilder()
                        .setPayload(ByteString.copyFrom(ByteBuffer.allocate(8).putLong(n).array()))).build()),
                        System.nanoTime(), false);
            } catch (AdrnormException ignored) {
                // fail() has run
            } finally {
                writeLock.unlock();
            }
        }
    }

    long pingsSent() {
        return pingCounter.get();
    }

    long pongsReceived() {
        return pongsReceived.get();
    }

    boolean isClosed() {
        state.lock();
        try {
            return closed;
        } finally {
            state.unlock();
        }
    }

    // ---- closing ----

    private void closeSocket() {
        state.lock();
        try {
            closed = true;
            if (refusing == null) refusing = new AdrnormException(Status.Code.UNAVAILABLE, "connection to " + peer + " is closed");
        } finally {
            state.unlock();
        }
        // The TCP socket first: closing the TLS socket alone can wait for a writer that is
        // blocked on a server that stopped reading; closing TCP unblocks every thread.
        closeQuietly(tcp);
        closeQuietly(socket);
        scheduler.shutdown();
        writer.shutdown();
        tellClosed();
    }

    /** Why the connection takes no new calls (a GoAway, a lost connection, the client's close); null while it does. */
    String endReason() {
        state.lock();
        try {
            return refusing == null ? null : refusing.getMessage();
        } finally {
            state.unlock();
        }
    }

    /** True once the server sent GoAway or the connection is finished: no new call may start on it. */
    boolean isRefusing() {
        state.lock();
        try {
            return refusing != null;
        } finally {
            state.unlock();
        }
    }

    private void tellGoingAway() {
        state.lock();
        try {
            if (toldGoingAway) return;
            toldGoingAway = true;
        } finally {
            state.unlock();
        }
        listener.goingAway(this);
    }

    private void tellClosed() {
        state.lock();
        try {
            if (toldClosed) return;
            toldClosed = true;
        } finally {
            state.unlock();
        }
        listener.closed(this);
    }

    @Override
    public void close() {
        fail(new AdrnormException(Status.Code.CANCELLED, "the client was closed"));
        scheduler.shutdownNow();
        if (Thread.currentThread() != reader) {
            try {
                reader.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static AdrnormException copy(AdrnormException e) {
        // A fresh exception per caller, so that each gets its own stack trace.
        return new AdrnormException(e.status(), e.getCause());
    }

    private static void closeQuietly(Closeable c) {
        try {
            c.close();
        } catch (IOException | RuntimeException ignored) {
            // closing anyway
        }
    }
}
