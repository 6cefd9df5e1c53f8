package dev.adrnorm.client;

import dev.adrnorm.v1.HealthRequest;
import dev.adrnorm.v1.HealthResponse;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The servers of one client: one {@link Endpoint} per address, each with at most one connection
 * that takes new calls. A connection becomes usable once its Hello and a {@code Health} call
 * (answered SERVING) have gone through; after a GoAway or a lost connection the endpoint connects
 * again in the background, after a capped exponential backoff with jitter, until it succeeds or
 * the client is closed. {@link #pick} gives a call the usable server with the fewest outstanding
 * pairs (then the fewest calls; ties rotate).
 */
final class ServerPool implements AutoCloseable {
    /** One server address and its connections. */
    static final class Endpoint implements Connection.Listener {
        final ServerPool pool;
        final String host;
        final int port;
        final String address;
        /** Pairs (a Normalize's top_k, a Score's pairs) of calls sent here and not yet answered. */
        final AtomicLong outstandingPairs = new AtomicLong();
        final AtomicLong outstandingCalls = new AtomicLong();
        /** Connections made, the first included (a test and the benchmark read it). */
        final AtomicLong connects = new AtomicLong();

        // Guarded by pool.lock.
        /** The connection new calls may use; null while none is usable. */
        private Connection current;
        /** Every connection not yet closed: the current one and those finishing calls after a GoAway. */
        private final List<Connection> open = new ArrayList<>();
        private boolean connecting;
        private int failedAttempts;
        private AdrnormException lastError;
        /** Why the last usable connection stopped taking calls. */
        private String lostBecause;
        private Connection latest;

        /** The connection made last, usable or not; null before the first. */
        Connection latest() {
            pool.lock.lock();
            try {
                return latest;
            } finally {
                pool.lock.unlock();
            }
        }

        Endpoint(ServerPool pool, String host, int port) {
            this.pool = pool;
            this.host = host;
            this.port = port;
            this.address = host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
        }

        /** Connects, then checks that the server is SERVING; the connection is usable after this. */
        void connectOnce() {
            Connection c = Connection.open(pool.settings.apply(this), this);
            try {
                HealthResponse h = AdrnormClient.unaryOn(c, "Health", HealthRequest.getDefaultInstance(), HealthResponse.parser(),
                        ClientCall.deadlineFor(pool.settings.connectTimeoutMillis()), pool.settings.connectTimeoutMillis());
                if (h.getStatus() != HealthResponse.ServingStatus.SERVING) {
                    throw new AdrnormException(Status.Code.UNAVAILABLE, address + " answered Health with " + h.getStatus());
                }
            } catch (AdrnormException e) {
                c.close();
                throw e.code() == Status.Code.UNAVAILABLE || e.code() == Status.Code.DEADLINE_EXCEEDED
                        ? new AdrnormException(Status.Code.UNAVAILABLE, address + " is not ready: " + e.getMessage(), e) : e;
            }
            boolean keep;
            pool.lock.lock();
            try {
                keep = !pool.closed && !c.isRefusing();
                if (keep) {
                    open.add(c);
                    current = c;
                    failedAttempts = 0;
                    lastError = null;
                    connects.incrementAndGet();
                    latest = c;
                    pool.lastConnected = c;
                    pool.changed.signalAll();
                }
            } finally {
                pool.lock.unlock();
            }
            if (!keep) {
                c.close();
                throw new AdrnormException(Status.Code.UNAVAILABLE, address + " went away right after connecting");
            }
            pool.tellListeners();
        }

        /** The usable connection, or null; retires a current one that stopped taking calls. */
        Connection usable() {
            Connection c;
            pool.lock.lock();
            try {
                c = current;
            } finally {
                pool.lock.unlock();
            }
            if (c != null && c.isRefusing()) {
                goingAway(c);
                return null;
            }
            return c;
        }

        @Override
        public void goingAway(Connection c) {
            pool.lock.lock();
            try {
                if (current != c) return;
                current = null;
                lostBecause = c.endReason();
                pool.changed.signalAll();
            } finally {
                pool.lock.unlock();
            }
            pool.tellListeners();
            scheduleReconnect();
        }

        @Override
        public void closed(Connection c) {
            pool.lock.lock();
            try {
                open.remove(c);
            } finally {
                pool.lock.unlock();
            }
            goingAway(c);
        }

        /**
         * The next connection attempt, after the backoff that {@code failedAttempts} earned: the
         * initial one after a GoAway or a lost connection, doubled by each failed attempt.
         */
        void scheduleReconnect() {
            long delay;
            pool.lock.lock();
            try {
                if (pool.closed || connecting || current != null) return;
                connecting = true;
                delay = pool.backoffMillis(failedAttempts + 1);
            } finally {
                pool.lock.unlock();
            }
            try {
                pool.scheduler.schedule(this::attempt, delay, TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.RejectedExecutionException closing) {
                // the client is closed
            }
        }

        private void attempt() {
            AdrnormException error = null;
            try {
                connectOnce();
            } catch (AdrnormException e) {
                error = e;
            } catch (RuntimeException e) {
                error = new AdrnormException(Status.Code.UNAVAILABLE, "connecting to " + address + " failed: " + e, e);
            }
            pool.lock.lock();
            try {
                connecting = false;
                if (error != null) {
                    failedAttempts++;
                    lastError = error;
                }
                pool.changed.signalAll();
            } finally {
                pool.lock.unlock();
            }
            pool.tellListeners();
            scheduleReconnect(); // after a failure; or when the new connection was lost while this attempt finished
        }

        /** The last connection error, if the endpoint has no usable connection; for messages. */
        String describe() {
            pool.lock.lock();
            try {
                if (current != null) return address + ": connected";
                String why = lastError != null ? lastError.getMessage() : lostBecause != null ? lostBecause : "not connected yet";
                return address + ": " + why + (connecting ? " (reconnecting)" : "");
            } finally {
                pool.lock.unlock();
            }
        }

        void closeAll() {
            List<Connection> all;
            pool.lock.lock();
            try {
                all = new ArrayList<>(open);
                current = null;
            } finally {
                pool.lock.unlock();
            }
            for (Connection c : all) c.close();
        }
    }

    /** How a connection to one endpoint is made. */
    interface SettingsFactory {
        Connection.Settings apply(Endpoint e);

        long connectTimeoutMillis();
    }

    final List<Endpoint> endpoints;
    final SettingsFactory settings;
    final long backoffInitialMillis;
    final long backoffMaxMillis;
    /** How long a call waits for a usable server when there is none. */
    final long serverWaitMillis;
    final ReentrantLock lock = new ReentrantLock();
    final Condition changed = lock.newCondition();
    final ScheduledThreadPoolExecutor scheduler;
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    private final AtomicLong rotation = new AtomicLong();
    /** The connection made last: its Hello answers {@link #firstHello()} when no server is usable. */
    private volatile Connection lastConnected;
    private boolean closed;

    ServerPool(List<String[]> addresses, SettingsFactory settings, long backoffInitialMillis, long backoffMaxMillis,
               long serverWaitMillis) {
        this.settings = settings;
        this.backoffInitialMillis = backoffInitialMillis;
        this.backoffMaxMillis = backoffMaxMillis;
        this.serverWaitMillis = serverWaitMillis;
        List<Endpoint> list = new ArrayList<>();
        for (String[] a : addresses) list.add(new Endpoint(this, a[0], Integer.parseInt(a[1])));
        this.endpoints = Collections.unmodifiableList(list);
        this.scheduler = new ScheduledThreadPoolExecutor(Math.min(list.size(), 8), r -> {
            Thread t = new Thread(r, "adrnorm-reconnect");
            t.setDaemon(true);
            return t;
        });
        scheduler.setRemoveOnCancelPolicy(true);
    }

    /**
     * Connects to every server at once; returns as soon as one is usable (the others go on in the
     * background). Fails, with every server's error, only when each has failed once; then nothing
     * is left running.
     */
    void connectAll() {
        for (Endpoint e : endpoints) {
            lock.lock();
            try {
                e.connecting = true;
            } finally {
                lock.unlock();
            }
            scheduler.execute(e::attempt);
        }
        List<AdrnormException> errors = new ArrayList<>();
        lock.lock();
        try {
            while (true) {
                boolean allFailed = true;
                for (Endpoint e : endpoints) {
                    if (e.current != null) return;
                    if (e.failedAttempts == 0) allFailed = false;
                }
                if (allFailed) {
                    for (Endpoint e : endpoints) errors.add(e.lastError);
                    break;
                }
                changed.await();
            }
        } catch (InterruptedException x) {
            Thread.currentThread().interrupt();
            lock.unlock();
            close();
            throw new AdrnormException(Status.Code.CANCELLED, "interrupted while connecting", x);
        } finally {
            if (lock.isHeldByCurrentThread()) lock.unlock();
        }
        close();
        if (errors.size() == 1) throw errors.get(0);
        Status.Code code = errors.get(0).code();
        StringBuilder m = new StringBuilder("none of the " + endpoints.size() + " servers could be used:");
        for (AdrnormException x : errors) {
            if (x.code() != code) code = Status.Code.UNAVAILABLE;
            m.append("\n  ").append(x.getMessage());
        }
        throw new AdrnormException(new Status(code, m.toString()), errors.get(0));
    }

    /** Backoff number {@code n} (≥ 1): initial × 2^(n − 1), capped at the maximum, ±20 % jitter. */
    long backoffMillis(int n) {
        double d = Math.min((double) backoffMaxMillis, backoffInitialMillis * Math.pow(2, Math.min(n - 1, 30)));
        return Math.max(1, Math.round(d * (0.8 + 0.4 * ThreadLocalRandom.current().nextDouble())));
    }

    /** A server's usable connection, chosen for a call. */
    record Pick(Endpoint endpoint, Connection connection) {}

    /**
     * The usable server with the fewest outstanding pairs (then calls), not {@code avoid} unless it
     * is the only one, with the call's {@code pairs} counted on it; null when none is usable now.
     */
    Pick tryPick(Endpoint avoid, long pairs) {
        // the chosen server's outstanding pairs and calls are counted up in the same step, so that
        // concurrent callers see each other's choice
        synchronized (rotation) {
            Pick p = choose(avoid);
            if (p != null) {
                p.endpoint().outstandingPairs.addAndGet(pairs);
                p.endpoint().outstandingCalls.incrementAndGet();
            }
            return p;
        }
    }

    private Pick choose(Endpoint avoid) {
        Pick best = null;
        Pick avoided = null;
        long bestPairs = Long.MAX_VALUE;
        long bestCalls = Long.MAX_VALUE;
        int n = endpoints.size();
        int start = (int) Math.floorMod(rotation.getAndIncrement(), (long) n);
        for (int i = 0; i < n; i++) {
            Endpoint e = endpoints.get((start + i) % n);
            Connection c = e.usable();
            if (c == null) continue;
            if (e == avoid) {
                avoided = new Pick(e, c);
                continue;
            }
            long pairs = e.outstandingPairs.get();
            long calls = e.outstandingCalls.get();
            if (pairs < bestPairs || (pairs == bestPairs && calls < bestCalls)) {
                best = new Pick(e, c);
                bestPairs = pairs;
                bestCalls = calls;
            }
        }
        return best != null ? best : avoided;
    }

    /**
     * As {@link #tryPick}, waiting for a server to become usable until {@code deadlineNanos} and
     * for at most the pool's server wait; UNAVAILABLE (naming every server's state) or
     * DEADLINE_EXCEEDED when none did.
     */
    Pick pick(Endpoint avoid, long deadlineNanos, String what, long pairs) {
        Pick p = tryPick(avoid, pairs);
        if (p != null) return p;
        long waitUntil = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(serverWaitMillis);
        boolean deadlineFirst = deadlineNanos - waitUntil < 0;
        long until = deadlineFirst ? deadlineNanos : waitUntil;
        while (true) {
            lock.lock();
            try {
                if (closed) throw new AdrnormException(Status.Code.CANCELLED, "the client was closed");
                long left = until - System.nanoTime();
                if (left <= 0) break;
                changed.awaitNanos(Math.min(left, TimeUnit.MILLISECONDS.toNanos(100)));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AdrnormException(Status.Code.CANCELLED, "interrupted while waiting for a server", e);
            } finally {
                lock.unlock();
            }
            p = tryPick(avoid, pairs);
            if (p != null) return p;
        }
        if (deadlineFirst) {
            throw new AdrnormException(Status.Code.DEADLINE_EXCEEDED, what + " found no usable server within its timeout: "
                    + describe());
        }
        throw new AdrnormException(Status.Code.UNAVAILABLE, what + " found no usable server within " + serverWaitMillis
                + " ms: " + describe());
    }

    /** A usable connection (the first server's if it has one), else the last one made: for its Hello's values. */
    Connection firstHello() {
        for (Endpoint e : endpoints) {
            Connection c = e.usable();
            if (c != null) return c;
        }
        return lastConnected;
    }

    String describe() {
        List<String> parts = new ArrayList<>();
        for (Endpoint e : endpoints) parts.add(e.describe());
        return String.join("; ", parts);
    }

    void addListener(Runnable r) {
        listeners.add(r);
    }

    void removeListener(Runnable r) {
        listeners.remove(r);
    }

    void tellListeners() {
        for (Runnable r : listeners) r.run();
    }

    @Override
    public void close() {
        lock.lock();
        try {
            closed = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        scheduler.shutdownNow();
        for (Endpoint e : endpoints) e.closeAll();
        tellListeners();
    }
}
