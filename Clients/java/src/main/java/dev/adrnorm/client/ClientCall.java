package dev.adrnorm.client;

import com.google.protobuf.ByteString;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The client's side of one stream. The connection's reader thread delivers Messages, Credit and
 * the final Status; the calling thread takes them. Every wait ends at the call's deadline, at the
 * Status, or when the connection fails (which also ends the call).
 */
final class ClientCall {
    static final long MAX_TIMEOUT_MILLIS = 0xffffffffL;
    final Connection connection;
    final String method;
    /** {@link System#nanoTime()} at which the call is abandoned; {@code Long.MAX_VALUE} for none. */
    final long deadlineNanos;
    final long timeoutMillis;
    int streamId;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final ArrayDeque<ByteString> inbound = new ArrayDeque<>();
    private long credit;
    private long version;
    /** The end of the call: the server's Status, or a local failure. Null while it runs. */
    private Status end;
    private Throwable endCause;
    /** The caller gave up (Cancel or deadline); the server's Status is still awaited to free the slot. */
    private boolean abandoned;
    /** Told (outside the lock) after every change; null for none. A NormalizeStream waits on several calls with it. */
    private final Runnable listener;

    ClientCall(Connection connection, String method, long timeoutMillis, long initialCredit) {
        this(connection, method, timeoutMillis, deadlineFor(timeoutMillis), initialCredit, null);
    }

    /**
     * A call whose deadline was fixed earlier ({@code deadlineNanos}, {@code Long.MAX_VALUE} for
     * none): a retry, or one leg of a NormalizeStream, keeps the deadline of the whole operation.
     */
    ClientCall(Connection connection, String method, long timeoutMillis, long deadlineNanos, long initialCredit, Runnable listener) {
        this.connection = connection;
        this.method = method;
        // The wire's timeout_ms is a uint32: longer timeouts (over 49 days) are clamped to it.
        this.timeoutMillis = Math.min(timeoutMillis, MAX_TIMEOUT_MILLIS);
        this.deadlineNanos = deadlineNanos;
        this.credit = initialCredit;
        this.listener = listener;
    }

    /** The deadline of an operation of {@code timeoutMillis} (0: none) starting now. */
    static long deadlineFor(long timeoutMillis) {
        return timeoutMillis > 0 ? System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Math.min(timeoutMillis, MAX_TIMEOUT_MILLIS))
                : Long.MAX_VALUE;
    }

    private void tell() {
        if (listener != null) listener.run();
    }

    // ---- reader side ----

    void onMessage(ByteString payload) {
        lock.lock();
        try {
            if (end != null) return;
            inbound.add(payload);
            version++;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        tell();
    }

    void onCredit(long messages) {
        lock.lock();
        try {
            credit += messages;
            version++;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        tell();
    }

    /** The connection received a GoAway that lets this call finish: wake whoever waits on it. */
    void onConnectionDraining() {
        lock.lock();
        try {
            version++;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        tell();
    }

    /** The call ended (server Status or a connection failure); the first end wins. */
    void finish(Status status, Throwable cause) {
        lock.lock();
        try {
            if (end != null) return;
            end = status;
            endCause = cause;
            version++;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        tell();
    }

    // ---- caller side ----

    long version() {
        lock.lock();
        try {
            return version;
        } finally {
            lock.unlock();
        }
    }

    /** Credit left: Messages the caller may still send. */
    long credit() {
        lock.lock();
        try {
            return credit;
        } finally {
            lock.unlock();
        }
    }

    /** Takes up to {@code max} messages of credit. */
    long takeCredit(long max) {
        lock.lock();
        try {
            long n = Math.min(credit, max);
            credit -= n;
            return n;
        } finally {
            lock.unlock();
        }
    }

    /** The next response payload, or null when none is waiting. */
    ByteString poll() {
        lock.lock();
        try {
            return inbound.poll();
        } finally {
            lock.unlock();
        }
    }

    /** The call's end once every response before it has been taken; null while it runs. */
    Status drainedEnd() {
        lock.lock();
        try {
            return inbound.isEmpty() ? end : null;
        } finally {
            lock.unlock();
        }
    }

    /** True once the call has ended (responses may still wait to be taken). */
    boolean isEnded() {
        lock.lock();
        try {
            return end != null;
        } finally {
            lock.unlock();
        }
    }

    Throwable endCause() {
        lock.lock();
        try {
            return endCause;
        } finally {
            lock.unlock();
        }
    }

    boolean isAbandoned() {
        lock.lock();
        try {
            return abandoned;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits until something changes after {@code seenVersion} (a message, credit or the end).
     * Returns false when the deadline passed first.
     */
    boolean awaitChange(long seenVersion) throws InterruptedException {
        lock.lock();
        try {
            while (version == seenVersion) {
                if (deadlineNanos == Long.MAX_VALUE) {
                    changed.await();
                } else {
                    long left = deadlineNanos - System.nanoTime();
                    if (left <= 0) return false;
                    changed.awaitNanos(left);
                }
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Gives up on the call: tells the server (Cancel) unless it already ended, and ends it locally
     * with {@code status}. The stream's slot is freed when the server's Status arrives.
     */
    void abandon(Status status) {
        boolean tell;
        lock.lock();
        try {
            tell = end == null && !abandoned;
            abandoned = true;
            if (end == null) {
                end = status;
                version++;
                changed.signalAll();
            }
            inbound.clear();
        } finally {
            lock.unlock();
        }
        if (tell) connection.cancel(this, status.message());
    }

    /** The exception for an ended, failed call. */
    AdrnormException failure(Status status) {
        Throwable cause = endCause();
        if (cause instanceof AdrnormException a && a.status() == status) return a;
        return new AdrnormException(status, cause);
    }

    AdrnormException deadlineExceeded() {
        return new AdrnormException(Status.Code.DEADLINE_EXCEEDED,
                shortMethod() + " did not finish within its timeout of " + timeoutMillis + " ms");
    }

    String shortMethod() {
        int slash = method.lastIndexOf('/');
        return slash >= 0 ? method.substring(slash + 1) : method;
    }
}
