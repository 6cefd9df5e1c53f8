package dev.adrnorm.client;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.adrnorm.v1.NormalizeRequest;
import dev.adrnorm.v1.NormalizeResponse;
import dev.adrnorm.wire.v1.Frame;
import dev.adrnorm.wire.v1.HalfClose;
import dev.adrnorm.wire.v1.Message;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * One {@code NormalizeStream} call: an iterator over the server's responses, one per request, in
 * request order (each response's id is checked against its request's). It pulls requests from
 * the caller's iterator and sends them as the server's credit allows, on the thread that calls
 * {@link #hasNext()}: the whole input is never buffered. A request that the server rejects on its
 * own yields a response whose {@code error} is set, and the stream goes on; a failed call
 * (deadline, lost connection, GoAway before it started) throws {@link AdrnormException} from
 * {@code hasNext()}/{@code next()}. Not thread-safe: iterate it from one thread; close it (or
 * its {@link #stream()}) to abandon it early.
 */
public final class NormalizeStream implements Iterator<NormalizeResponse>, AutoCloseable {
    static final String METHOD = "/adrnorm.v1.Normalizer/NormalizeStream";
    /** Requests sent and not yet answered that the client allows itself, whatever the credit. */
    static final int MAX_OUTSTANDING = 4096;
    /** Frames written (and flushed) together at most. */
    static final int MAX_BATCH_FRAMES = 256;

    private final Connection connection;
    private final Iterator<? extends NormalizeRequest> requests;
    private final long timeoutMillis;
    private ClientCall call;
    private final ArrayDeque<String> pendingIds = new ArrayDeque<>();
    private boolean halfCloseSent;
    private boolean finished;
    private NormalizeResponse next;
    private long sent;
    private long received;

    NormalizeStream(Connection connection, Iterator<? extends NormalizeRequest> requests, long timeoutMillis) {
        this.connection = connection;
        this.requests = requests;
        this.timeoutMillis = timeoutMillis;
    }

    @Override
    public boolean hasNext() {
        if (next != null) return true;
        if (finished) return false;
        try {
            next = advance();
        } catch (RuntimeException e) {
            finished = true;
            if (call != null) call.abandon(new Status(Status.Code.CANCELLED, "the client stopped the stream: " + e.getMessage()));
            throw e;
        }
        if (next == null) finished = true;
        return next != null;
    }

    @Override
    public NormalizeResponse next() {
        if (!hasNext()) throw new NoSuchElementException("NormalizeStream has returned all " + received + " responses");
        NormalizeResponse r = next;
        next = null;
        return r;
    }

    /** Requests sent so far. */
    public long requestsSent() {
        return sent;
    }

    /** Responses received so far. */
    public long responsesReceived() {
        return received;
    }

    /** A sequential, ordered {@link Stream} view; closing it closes this call. */
    public Stream<NormalizeResponse> stream() {
        return StreamSupport.stream(Spliterators.spliteratorUnknownSize(this, Spliterator.ORDERED | Spliterator.NONNULL), false)
                .onClose(this::close);
    }

    /** Abandons the call if it is still running (the server is told to stop); idempotent. */
    @Override
    public void close() {
        if (!finished && call != null) {
            call.abandon(new Status(Status.Code.CANCELLED, "the caller closed the NormalizeStream"));
        }
        finished = true;
        next = null;
    }

    private NormalizeResponse advance() {
        if (call == null) {
            call = new ClientCall(connection, METHOD, timeoutMillis, connection.initialStreamCredit);
            connection.start(call, null, false);
        }
        try {
            while (true) {
                long seen = call.version();
                if (System.nanoTime() - call.deadlineNanos > 0 && call.deadlineNanos != Long.MAX_VALUE) {
                    throw deadline();
                }
                pump();
                ByteString payload = call.poll();
                if (payload != null) return parse(payload);
                Status end = call.drainedEnd();
                if (end != null) {
                    if (!end.isOk()) throw call.failure(end);
                    if (!halfCloseSent || !pendingIds.isEmpty()) {
                        throw new AdrnormException(Status.Code.INTERNAL, "the server ended NormalizeStream with OK after "
                                + received + " responses, but " + sent + " requests were sent"
                                + (halfCloseSent ? "" : " and more were to come"));
                    }
                    return null;
                }
                if (!call.awaitChange(seen)) throw deadline();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AdrnormException(Status.Code.CANCELLED, "interrupted while waiting for NormalizeStream", e);
        }
    }

    private AdrnormException deadline() {
        AdrnormException e = call.deadlineExceeded();
        call.abandon(e.status());
        return new AdrnormException(new Status(Status.Code.DEADLINE_EXCEEDED, e.status().message()
                + " (" + received + " of " + sent + " responses received)"));
    }

    /** Sends what the credit and the outstanding window allow; half-closes after the last request. */
    private void pump() {
        if (halfCloseSent) return;
        List<Frame> batch = new ArrayList<>();
        while (pendingIds.size() < MAX_OUTSTANDING) {
            // Look at the input only when there is credit to send it with (its hasNext() may block),
            // or when nothing is outstanding, to learn whether to half-close.
            if (call.credit() == 0 && !pendingIds.isEmpty()) break;
            if (!requests.hasNext()) {
                batch.add(Frame.newBuilder().setStreamId(call.streamId).setHalfClose(HalfClose.getDefaultInstance()).build());
                halfCloseSent = true;
                break;
            }
            if (call.takeCredit(1) == 0) break;
            NormalizeRequest request = requests.next();
            if (request == null) {
                throw new AdrnormException(Status.Code.INVALID_ARGUMENT, "request " + sent + " of the NormalizeStream input is null");
            }
            ByteString payload = request.toByteString();
            connection.checkPayloadSize(payload, "NormalizeStream request " + sent + " (id \"" + request.getId() + "\")");
            batch.add(Frame.newBuilder().setStreamId(call.streamId).setMessage(Message.newBuilder().setPayload(payload)).build());
            pendingIds.add(request.getId());
            sent++;
            if (batch.size() >= MAX_BATCH_FRAMES) {
                connection.send(call, batch);
                batch = new ArrayList<>();
            }
        }
        if (!batch.isEmpty()) connection.send(call, batch);
    }

    private NormalizeResponse parse(ByteString payload) {
        NormalizeResponse r;
        try {
            r = NormalizeResponse.parseFrom(payload);
        } catch (InvalidProtocolBufferException e) {
            throw new AdrnormException(Status.Code.INTERNAL, "NormalizeStream response " + received
                    + " is not a valid NormalizeResponse: " + e.getMessage(), e);
        }
        String expected = pendingIds.poll();
        if (expected == null) {
            throw new AdrnormException(Status.Code.INTERNAL, "the server sent NormalizeStream response " + received
                    + " (id \"" + r.getId() + "\") for a request that was never sent");
        }
        if (!expected.equals(r.getId())) {
            throw new AdrnormException(Status.Code.INTERNAL, "NormalizeStream response " + received + " has id \""
                    + r.getId() + "\" but request " + received + " had id \"" + expected + "\"; responses must come in request order");
        }
        received++;
        return r;
    }
}
