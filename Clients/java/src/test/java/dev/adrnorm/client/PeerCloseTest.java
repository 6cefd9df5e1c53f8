package dev.adrnorm.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adrnorm.client.ScriptedPeer.Ending;
import dev.adrnorm.v1.HealthResponse;
import dev.adrnorm.v1.NormalizeRequest;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The server going away under the client (issue 15): TLS close_notify, TCP EOF, RST and a
 * half-closed socket, with the client idle or with a call in flight. Every call must end
 * (UNAVAILABLE, or DEADLINE_EXCEEDED at its own timeout) and never block longer; each runs under
 * a hard wall-clock guard so that a regression fails instead of hanging the suite. The
 * {@link ScriptedPeer} stands in for the server in every mode; the last test stops a server of
 * the suite's kind (SIGTERM for {@code adrnorm serve}) the graceful way.
 */
class PeerCloseTest {
    static final Duration GUARD = Duration.ofSeconds(15);
    /** "At once": well under the calls' timeout. */
    static final long PROMPT_MS = 2000;
    static final Duration CALL_TIMEOUT = Duration.ofSeconds(5);

    static Path certs() {
        return TestServer.certs();
    }

    static AdrnormClient connect(ScriptedPeer peer, Duration timeout) throws InterruptedException {
        AdrnormClient c = assertTimeoutPreemptively(GUARD, () -> AdrnormClient.builder().address(peer.host(), peer.port())
                .trustCertificates(certs().resolve("ca.pem"))
                .keyPair(certs().resolve("client-a.pem"), certs().resolve("client-a.key"))
                .keepAlive(Duration.ZERO, Duration.ofSeconds(20))
                .connectTimeout(Duration.ofSeconds(10))
                // no waiting for a reconnection: these tests time how soon a lost connection is reported
                .serverWait(Duration.ZERO)
                .timeout(timeout).build());
        assertTrue(peer.ready.await(5, TimeUnit.SECONDS), "the peer got no Hello: " + peer.errors);
        return c;
    }

    static void waitClosed(AdrnormClient c) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!c.connection().isClosed() && System.nanoTime() < until) Thread.sleep(10);
    }

    /** Runs {@code call}, which must fail with {@code code} within {@code withinMs}; guarded. */
    static AdrnormException failsWithin(long withinMs, Status.Code code, org.junit.jupiter.api.function.Executable call) {
        return assertTimeoutPreemptively(GUARD, () -> {
            long start = System.nanoTime();
            AdrnormException e = assertThrows(AdrnormException.class, call);
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertEquals(code, e.code(), e.getMessage());
            assertTrue(ms < withinMs, code + " took " + ms + " ms: " + e.getMessage());
            return e;
        });
    }

    static void endWhenCallSeen(ScriptedPeer peer, Ending how) {
        Thread t = new Thread(() -> {
            try {
                if (peer.callSeen.await(10, TimeUnit.SECONDS)) peer.end(how);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "end-when-call-seen");
        t.setDaemon(true);
        t.start();
    }

    @ParameterizedTest
    @EnumSource(value = Ending.class, names = {"CLOSE_NOTIFY", "CLOSE_NOTIFY_OPEN", "GOAWAY_CLOSE_NOTIFY", "FIN", "RST"})
    void serverEndsTheConnectionWhileIdle(Ending how) throws Exception {
        try (ScriptedPeer peer = new ScriptedPeer(certs(), true); AdrnormClient c = connect(peer, CALL_TIMEOUT)) {
            peer.end(how);
            waitClosed(c);
            assertTrue(c.connection().isClosed(), "the client did not notice the server's " + how + " within 5 s");
            AdrnormException e = failsWithin(PROMPT_MS, Status.Code.UNAVAILABLE, () -> c.health(CALL_TIMEOUT));
            System.err.println(how + " while idle: " + e.getMessage());
            assertTrue(e.getMessage().contains(peer.host() + ":" + peer.port()), e.getMessage());
            failsWithin(PROMPT_MS, Status.Code.UNAVAILABLE, () -> c.normalize("头痛"));
            failsWithin(PROMPT_MS, Status.Code.UNAVAILABLE, () -> {
                NormalizeStream s = c.normalizeStream(List.of(NormalizeRequest.newBuilder().setMention("头痛").build()).iterator());
                while (s.hasNext()) s.next();
            });
        }
    }

    @Test
    void serverHalfClosesAndStaysSilentWhileIdle() throws Exception {
        try (ScriptedPeer peer = new ScriptedPeer(certs(), true); AdrnormClient c = connect(peer, CALL_TIMEOUT)) {
            peer.end(Ending.HALF_CLOSE);
            Thread.sleep(200);
            // No response can come after the server's FIN: UNAVAILABLE at once (DEADLINE_EXCEEDED at
            // the call's own timeout would be the most it may take).
            failsWithin(PROMPT_MS, Status.Code.UNAVAILABLE, () -> c.health(CALL_TIMEOUT));
            assertTrue(c.connection().isClosed());
        }
    }

    @ParameterizedTest
    @EnumSource(Ending.class)
    void serverEndsTheConnectionWithACallInFlight(Ending how) throws Exception {
        try (ScriptedPeer peer = new ScriptedPeer(certs(), true); AdrnormClient c = connect(peer, CALL_TIMEOUT.multipliedBy(3))) {
            endWhenCallSeen(peer, how);
            failsWithin(PROMPT_MS, Status.Code.UNAVAILABLE, () -> c.normalize("头痛"));
            assertEquals(0, peer.callSeen.getCount(), "the call never reached the peer");
            failsWithin(PROMPT_MS, Status.Code.UNAVAILABLE, () -> c.health(CALL_TIMEOUT));
        }
    }

    @Test
    void callWithoutTimeoutInFlightWhenTheServerSendsCloseNotify() throws Exception {
        try (ScriptedPeer peer = new ScriptedPeer(certs(), true); AdrnormClient c = connect(peer, null)) {
            endWhenCallSeen(peer, Ending.CLOSE_NOTIFY_OPEN);
            failsWithin(PROMPT_MS, Status.Code.UNAVAILABLE, () -> c.normalize("头痛"));
        }
    }

    @Test
    void silentServerCallEndsAtItsTimeout() throws Exception {
        try (ScriptedPeer peer = new ScriptedPeer(certs(), true); AdrnormClient c = connect(peer, CALL_TIMEOUT)) {
            long start = System.nanoTime();
            failsWithin(500 + PROMPT_MS, Status.Code.DEADLINE_EXCEEDED, () -> c.health(Duration.ofMillis(500)));
            assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(500));
        }
    }

    @ParameterizedTest
    @EnumSource(value = Ending.class, names = {"CLOSE_NOTIFY", "FIN", "RST"})
    void serverEndsTheConnectionInsteadOfHello(Ending how) throws Exception {
        try (ScriptedPeer peer = new ScriptedPeer(certs(), false)) {
            Thread t = new Thread(() -> {
                try {
                    if (peer.ready.await(10, TimeUnit.SECONDS)) {
                        Thread.sleep(100);
                        peer.end(how);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            t.setDaemon(true);
            t.start();
            failsWithin(5000, Status.Code.UNAVAILABLE, () -> AdrnormClient.builder().address(peer.host(), peer.port())
                    .trustCertificates(certs().resolve("ca.pem"))
                    .keyPair(certs().resolve("client-a.pem"), certs().resolve("client-a.key"))
                    .connectTimeout(Duration.ofSeconds(10)).build().close());
        }
    }

    @Test
    void aCallWhoseOwnWriteIsBlockedEndsAtItsTimeout() throws Exception {
        // The call's own request does not fit the socket buffers of a server that stopped reading:
        // it ends at its timeout all the same, and the connection stays up.
        try (ScriptedPeer peer = new ScriptedPeer(certs(), true); AdrnormClient c = connect(peer, null)) {
            peer.stopReading();
            String big = "头".repeat(8 * 1024 * 1024); // 24 MB, far larger than the socket buffers
            long start = System.nanoTime();
            AdrnormException e = failsWithin(1000 + PROMPT_MS, Status.Code.DEADLINE_EXCEEDED,
                    () -> c.normalize(NormalizeRequest.newBuilder().setMention(big).build(), Duration.ofMillis(1000)));
            assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(1000), e.getMessage());
            assertTrue(e.getMessage().contains("not reading"), e.getMessage());
            assertTrue(!c.connection().isClosed(), "a slow server is not a failed connection");
            // Calls behind it end at their own timeouts too.
            failsWithin(500 + PROMPT_MS, Status.Code.DEADLINE_EXCEEDED, () -> c.health(Duration.ofMillis(500)));
        }
    }

    @Test
    void callsBehindAStalledWriteEndAtTheirTimeout() throws Exception {
        try (ScriptedPeer peer = new ScriptedPeer(certs(), true)) {
            AdrnormClient c = connect(peer, null);
            try {
                stalledWrite(peer, c);
            } finally {
                c.close();
            }
        }
    }

    private static void stalledWrite(ScriptedPeer peer, AdrnormClient c) throws Exception {
        // A call already sent, whose deadline passes while the send side is stuck: its Cancel cannot
        // go out then, and the call must not wait for that.
        java.util.concurrent.CompletableFuture<Long> early = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            long start = System.nanoTime();
            AdrnormException e = assertThrows(AdrnormException.class, () -> c.normalize(
                    NormalizeRequest.newBuilder().setMention("头痛").build(), Duration.ofMillis(2000)));
            assertEquals(Status.Code.DEADLINE_EXCEEDED, e.code(), e.getMessage());
            return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        });
        assertTrue(peer.callSeen.await(5, TimeUnit.SECONDS), "the first call never reached the peer");
        peer.stopReading();
        // One request far larger than the socket buffers: its write blocks (no keep-alive to end it).
        String big = "头".repeat(16 * 1024 * 1024);
        Thread stuck = new Thread(() -> {
            try {
                c.normalize(big);
            } catch (AdrnormException expected) {
                // UNAVAILABLE once the client is closed
            }
        }, "stalled-writer");
        stuck.setDaemon(true);
        stuck.start();
        Thread.sleep(1500);
        assertTrue(stuck.isAlive(), "the big write did not block");
        long earlyMs = early.get(GUARD.toMillis(), TimeUnit.MILLISECONDS);
        assertTrue(earlyMs < 2500, "the call sent before the stall took " + earlyMs + " ms with a timeout of 2000 ms");
        // Every other call ends at its own timeout, not when the stalled write does.
        failsWithin(500 + PROMPT_MS, Status.Code.DEADLINE_EXCEEDED, () -> c.health(Duration.ofMillis(500)));
        failsWithin(500 + PROMPT_MS, Status.Code.DEADLINE_EXCEEDED, () -> {
            NormalizeStream s = c.normalizeStream(List.of(NormalizeRequest.newBuilder().setMention("头痛").build()).iterator(),
                    Duration.ofMillis(500));
            while (s.hasNext()) s.next();
        });
        // Closing the client ends the stalled write too (close() is idempotent: the caller closes again).
        assertTimeoutPreemptively(GUARD, () -> {
            c.connection().close();
            stuck.join();
        });
    }

    @Test
    void gracefulServerShutdownWhileIdle() throws Exception {
        TestServer own = TestServer.start();
        try (AdrnormClient c = AdrnormClient.builder().address(own.host(), own.port())
                .trustCertificates(certs().resolve("ca.pem"))
                .keyPair(certs().resolve("client-a.pem"), certs().resolve("client-a.key"))
                .keepAlive(Duration.ZERO, Duration.ofSeconds(20)).serverWait(Duration.ZERO).timeout(Duration.ofSeconds(60)).build()) {
            assertEquals(HealthResponse.ServingStatus.SERVING, c.health(Duration.ofSeconds(30)).getStatus());
            own.terminate();
            waitClosed(c);
            failsWithin(PROMPT_MS, Status.Code.UNAVAILABLE, () -> c.health(CALL_TIMEOUT));
            assertTrue(c.connection().isClosed());
        } finally {
            own.close();
        }
    }
}
