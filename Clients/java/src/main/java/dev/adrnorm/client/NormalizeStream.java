package dev.adrnorm.client;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.adrnorm.v1.NormalizeRequest;
import dev.adrnorm.v1.NormalizeResponse;
import dev.adrnorm.wire.v1.Code;
import dev.adrnorm.wire.v1.Frame;
import dev.adrnorm.wire.v1.HalfClose;
import dev.adrnorm.wire.v1.Message;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.PriorityQueue;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * One {@code NormalizeStream} operation: an iterator over the responses, one per request, in
 * request order (each response's id is checked against its request's). It pulls requests from the
 * caller's iterator and sends them as the servers' credit allows, on the thread that calls
 * {@link #hasNext()}: the whole input is never buffered (at most {@value #MAX_OUTSTANDING} requests
 * are sent and not yet returned).
 *
 * <p>The requests are spread over the client's usable servers, one {@code NormalizeStream} call
 * (a <em>leg</em>) on each server that gets some, each request going to the server with the fewest
 * outstanding pairs that has credit. When a server drains (GoAway) its leg is half-closed, so that it
 * answers what it has, and new requests go elsewhere; when a server dies, or refuses the leg, the
 * requests it had not answered are sent again to another server (at most {@value #MAX_SENDS} sends
 * of one request). Every request is answered exactly once, in order, whatever happens to the servers.
 *
 * <p>A request that the server rejects on its own yields a response whose {@code error} is set, and
 * the stream goes on; a failed operation (its timeout, no usable server, a non-retryable status)
 * throws {@link AdrnormException} from {@code hasNext()}/{@code next()}. Not thread-safe: iterate it
 * from one thread; close it (or its {@link #stream()}) to abandon it early.
 */
public final class NormalizeStream implements Iterator<NormalizeResponse>, AutoCloseable {
    static final String METHOD = "/adrnorm.v1.Normalizer/NormalizeStream";
    /** Requests sent and not yet returned that the client allows itself, whatever the credit. */
    static final int MAX_OUTSTANDING = 4096;
    /** Frames written (and flushed) together at most. */
    static final int MAX_BATCH_FRAMES = 256;
    /** Sends of one request at most, the first included, before the operation gives up on it. */
    static final int MAX_SENDS = 3;

    private static final class Item {
        final long seq;
        final String id;
        final ByteString payload;
        final long pairs;
        int sends;

        Item(long seq, NormalizeRequest request) {
            this.seq = seq;
            this.id = request.getId();
            this.payload = request.toByteString();
            this.pairs = AdrnormClient.pairsOf(request);
        }
    }

    /** One NormalizeStream call on one server. */
    private static final class Leg {
        final ServerPool.Endpoint endpoint;
        final ClientCall call;
        final ArrayDeque<Item> pending = new ArrayDeque<>();
        List<Frame> batch = new ArrayList<>();
        boolean halfClosed;

        Leg(ServerPool.Endpoint endpoint, ClientCall call) {
            this.endpoint = endpoint;
            this.call = call;
        }
    }

    private final ServerPool pool;
    private final Iterator<? extends NormalizeRequest> requests;
    private final long timeoutMillis;
    private long deadlineNanos;
    private boolean started;
    private boolean finished;
    private NormalizeResponse next;

    private final List<Leg> legs = new ArrayList<>();
    private final PriorityQueue<Item> retry = new PriorityQueue<>(Comparator.comparingLong(i -> i.seq));
    private final Map<Long, NormalizeResponse> ready = new HashMap<>();
    /** Requests taken from the input (the next one's sequence number). */
    private long pulled;
    /** The sequence number of the next response to return. */
    private long nextSeq;
    private boolean inputDone;
    private long sent;
    private long resent;
    private long legsOpened;
    /** When the operation began to wait for a usable server with nothing in flight; -1 when it is not waiting. */
    private long noServerSince = -1;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private long version;
    private final Runnable wake = this::wake;

    NormalizeStream(ServerPool pool, Iterator<? extends NormalizeRequest> requests, long timeoutMillis) {
        this.pool = pool;
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
            abandonAll("the client stopped the stream: " + e.getMessage());
            throw e;
        }
        if (next == null) end();
        return next != null;
    }

    @Override
    public NormalizeResponse next() {
        if (!hasNext()) throw new NoSuchElementException("NormalizeStream has returned all " + nextSeq + " responses");
        NormalizeResponse r = next;
        next = null;
        return r;
    }

    /** Requests sent so far, each counted once however often it was sent. */
    public long requestsSent() {
        return sent;
    }

    /** Sends of requests again, after their server died or drained before answering them. */
    public long requestsResent() {
        return resent;
    }

    /** Responses returned so far. */
    public long responsesReceived() {
        return nextSeq;
    }

    /** NormalizeStream calls opened so far (one per server that got requests, and one more per failover). */
    long legsOpened() {
        return legsOpened;
    }

    /** A sequential, ordered {@link Stream} view; closing it closes this call. */
    public Stream<NormalizeResponse> stream() {
        return StreamSupport.stream(Spliterators.spliteratorUnknownSize(this, Spliterator.ORDERED | Spliterator.NONNULL), false)
                .onClose(this::close);
    }

    /** Abandons the operation if it is still running (the servers are told to stop); idempotent. */
    @Override
    public void close() {
        if (!finished) abandonAll("the caller closed the NormalizeStream");
        next = null;
    }

    private void end() {
        finished = true;
        pool.removeListener(wake);
    }

    private void abandonAll(String reason) {
        for (Leg leg : legs) {
            leg.call.abandon(new Status(Status.Code.CANCELLED, reason));
            for (Item item : leg.pending) release(leg, item);
            leg.pending.clear();
            leg.endpoint.outstandingCalls.decrementAndGet();
        }
        legs.clear();
        retry.clear();
        ready.clear();
        end();
    }

    private void wake() {
        lock.lock();
        try {
            version++;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private long version() {
        lock.lock();
        try {
            return version;
        } finally {
            lock.unlock();
        }
    }

    private NormalizeResponse advance() {
        if (!started) {
            started = true;
            deadlineNanos = ClientCall.deadlineFor(timeoutMillis);
            pool.addListener(wake);
        }
        try {
            while (true) {
                long seen = version();
                if (deadlineNanos != Long.MAX_VALUE && System.nanoTime() - deadlineNanos > 0) throw deadline();
                collect();
                NormalizeResponse r = ready.remove(nextSeq);
                if (r != null) {
                    nextSeq++;
                    return r;
                }
                pump();
                if (inputDone && retry.isEmpty() && legs.isEmpty() && nextSeq == pulled) return null;
                await(seen);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AdrnormException(Status.Code.CANCELLED, "interrupted while waiting for NormalizeStream", e);
        }
    }

    private void await(long seen) throws InterruptedException {
        lock.lock();
        try {
            while (version == seen) {
                long left = deadlineNanos == Long.MAX_VALUE ? Long.MAX_VALUE : deadlineNanos - System.nanoTime();
                if (left <= 0) return;
                if (noServerSince >= 0) {
                    // waiting for a server: look again at least every 100 ms to end the wait on time
                    left = Math.min(left, TimeUnit.MILLISECONDS.toNanos(100));
                    changed.awaitNanos(left);
                    return;
                }
                if (left == Long.MAX_VALUE) {
                    changed.await();
                } else {
                    changed.awaitNanos(left);
                }
            }
        } finally {
            lock.unlock();
        }
    }

    private AdrnormException deadline() {
        String m = "NormalizeStream did not finish within its timeout of " + Math.min(timeoutMillis, ClientCall.MAX_TIMEOUT_MILLIS)
                + " ms (" + nextSeq + " of " + sent + " responses received)";
        return new AdrnormException(Status.Code.DEADLINE_EXCEEDED, m);
    }

    // ---- responses ----

    /** Takes every leg's responses and ends; half-closes legs whose server is draining. */
    private void collect() {
        for (Leg leg : new ArrayList<>(legs)) {
            ByteString payload;
            while ((payload = leg.call.poll()) != null) onResponse(leg, payload);
            Status end = leg.call.drainedEnd();
            if (end != null) {
                legs.remove(leg);
                leg.endpoint.outstandingCalls.decrementAndGet();
                onEnd(leg, end);
            } else if (!leg.halfClosed && leg.call.connection.isRefusing()) {
                halfClose(leg); // its server drains: it answers what it has, new requests go elsewhere
            }
        }
    }

    private void onResponse(Leg leg, ByteString payload) {
        NormalizeResponse r;
        try {
            r = NormalizeResponse.parseFrom(payload);
        } catch (InvalidProtocolBufferException e) {
            throw new AdrnormException(Status.Code.INTERNAL, "a NormalizeStream response from " + leg.endpoint.address
                    + " is not a valid NormalizeResponse: " + e.getMessage(), e);
        }
        Item item = leg.pending.poll();
        if (item == null) {
            throw new AdrnormException(Status.Code.INTERNAL, leg.endpoint.address + " sent a NormalizeStream response (id \""
                    + r.getId() + "\") for a request that was never sent");
        }
        release(leg, item);
        if (!item.id.equals(r.getId())) {
            throw new AdrnormException(Status.Code.INTERNAL, "a NormalizeStream response from " + leg.endpoint.address
                    + " has id \"" + r.getId() + "\" but request " + item.seq + " had id \"" + item.id
                    + "\"; responses must come in request order");
        }
        if (r.hasError() && r.getError().getCode() == Code.UNAVAILABLE) {
            // the server could not take it (shutting down): another one can
            again(item, leg.endpoint.address + " answered it UNAVAILABLE: " + r.getError().getMessage());
            return;
        }
        ready.put(item.seq, r);
    }

    private void onEnd(Leg leg, Status end) {
        if (end.isOk()) {
            if (!leg.pending.isEmpty()) {
                throw new AdrnormException(Status.Code.INTERNAL, leg.endpoint.address + " ended NormalizeStream with OK but left "
                        + leg.pending.size() + " requests unanswered");
            }
            return;
        }
        if (end.code() == Status.Code.UNAVAILABLE) {
            List<Item> lost = new ArrayList<>(leg.pending);
            leg.pending.clear();
            for (Item item : lost) {
                release(leg, item);
                again(item, leg.endpoint.address + ": " + end.message());
            }
            return;
        }
        if (end.code() == Status.Code.DEADLINE_EXCEEDED && leg.pending.isEmpty()
                && (deadlineNanos == Long.MAX_VALUE || System.nanoTime() - deadlineNanos < 0)) {
            return; // the server closed a leg that had nothing to do for its stream idle timeout: others go on
        }
        AdrnormException e = leg.call.failure(end);
        throw new AdrnormException(new Status(end.code(), "NormalizeStream on " + leg.endpoint.address + ": " + end.message()
                + " (" + nextSeq + " of " + sent + " responses received)"), e);
    }

    /** Queues an unanswered request to be sent to another server. */
    private void again(Item item, String why) {
        if (item.sends >= MAX_SENDS) {
            throw new AdrnormException(Status.Code.UNAVAILABLE, "NormalizeStream request " + item.seq + " (id \"" + item.id
                    + "\") was sent " + item.sends + " times and every server went away before answering it; the last: " + why);
        }
        retry.add(item);
    }

    private static void release(Leg leg, Item item) {
        leg.endpoint.outstandingPairs.addAndGet(-item.pairs);
    }

    // ---- requests ----

    /** Sends what the credit and the outstanding window allow; half-closes every leg after the last request. */
    private void pump() {
        if (!inputDone && retry.isEmpty() && pulled == nextSeq && ready.isEmpty() && !requests.hasNext()) {
            inputDone = true; // nothing in flight: learn about the end of the input even without a server
        }
        while (true) {
            boolean again = !retry.isEmpty();
            if (!again && (inputDone || pulled - nextSeq >= MAX_OUTSTANDING)) break;
            Leg leg = legForNext();
            if (leg == null) break;
            Item item;
            if (again) {
                item = retry.poll();
                resent++;
            } else {
                // Look at the input only with credit to send it with: its hasNext() may block.
                if (!requests.hasNext()) {
                    inputDone = true;
                    break;
                }
                NormalizeRequest request = requests.next();
                if (request == null) {
                    throw new AdrnormException(Status.Code.INVALID_ARGUMENT, "request " + pulled + " of the NormalizeStream input is null");
                }
                item = new Item(pulled, request);
                leg.call.connection.checkPayloadSize(item.payload, "NormalizeStream request " + pulled + " (id \"" + item.id + "\")");
                pulled++;
                sent++;
            }
            leg.call.takeCredit(1);
            item.sends++;
            leg.pending.add(item);
            leg.endpoint.outstandingPairs.addAndGet(item.pairs);
            leg.batch.add(Frame.newBuilder().setStreamId(leg.call.streamId).setMessage(Message.newBuilder().setPayload(item.payload)).build());
            if (leg.batch.size() >= MAX_BATCH_FRAMES) flush(leg);
        }
        for (Leg leg : new ArrayList<>(legs)) flush(leg);
        if (inputDone && retry.isEmpty()) {
            for (Leg leg : new ArrayList<>(legs)) halfClose(leg);
        }
        boolean waiting = legs.isEmpty() && (!retry.isEmpty() || !inputDone);
        if (!waiting) {
            noServerSince = -1;
        } else if (noServerSince < 0) {
            noServerSince = System.nanoTime();
        } else if (System.nanoTime() - noServerSince > TimeUnit.MILLISECONDS.toNanos(pool.serverWaitMillis)) {
            throw new AdrnormException(Status.Code.UNAVAILABLE, "NormalizeStream found no usable server within "
                    + pool.serverWaitMillis + " ms (" + nextSeq + " of " + sent + " responses received): " + pool.describe());
        }
    }

    /**
     * The leg the next request goes to: on the usable server with the fewest outstanding pairs whose
     * leg has credit, opening a leg on a server that has none; null when no server can take a request now.
     */
    private Leg legForNext() {
        List<ServerPool.Endpoint> order = new ArrayList<>();
        for (ServerPool.Endpoint e : pool.endpoints) if (e.usable() != null) order.add(e);
        order.sort(Comparator.comparingLong((ServerPool.Endpoint e) -> e.outstandingPairs.get())
                .thenComparingLong(e -> e.outstandingCalls.get()));
        for (ServerPool.Endpoint e : order) {
            Connection c = e.usable();
            if (c == null) continue;
            Leg open = null;
            for (Leg leg : legs) {
                if (leg.endpoint == e && leg.call.connection == c && !leg.halfClosed && !leg.call.isEnded()) {
                    open = leg;
                    break;
                }
            }
            if (open != null) {
                if (open.call.credit() > 0) return open;
                continue;
            }
            Leg leg = openLeg(e, c);
            if (leg != null && leg.call.credit() > 0) return leg;
        }
        return null;
    }

    private Leg openLeg(ServerPool.Endpoint e, Connection c) {
        ClientCall call = new ClientCall(c, METHOD, timeoutMillis, deadlineNanos, c.initialStreamCredit, wake);
        try {
            c.start(call, null, false);
        } catch (AdrnormException x) {
            if (x.code() == Status.Code.UNAVAILABLE) return null; // it went away meanwhile: another server
            throw x;
        }
        Leg leg = new Leg(e, call);
        legs.add(leg);
        e.outstandingCalls.incrementAndGet();
        legsOpened++;
        return leg;
    }

    private void flush(Leg leg) {
        if (leg.batch.isEmpty()) return;
        List<Frame> frames = leg.batch;
        leg.batch = new ArrayList<>();
        try {
            leg.call.connection.send(leg.call, frames);
        } catch (AdrnormException x) {
            if (x.code() != Status.Code.UNAVAILABLE) throw x;
            // the connection is gone: the leg ends UNAVAILABLE and its requests go elsewhere
            leg.call.finish(x.status(), x);
        }
    }

    private void halfClose(Leg leg) {
        if (leg.halfClosed) return;
        leg.batch.add(Frame.newBuilder().setStreamId(leg.call.streamId).setHalfClose(HalfClose.getDefaultInstance()).build());
        leg.halfClosed = true;
        flush(leg);
    }
}
