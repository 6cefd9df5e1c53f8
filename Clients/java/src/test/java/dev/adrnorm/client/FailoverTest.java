package dev.adrnorm.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.adrnorm.v1.HealthResponse;
import dev.adrnorm.v1.NormalizeRequest;
import dev.adrnorm.v1.NormalizeResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * Several servers behind one client: calls spread by outstanding pairs, a server killed (SIGKILL
 * for {@code adrnorm serve}), restarted on its port and drained (SIGTERM) under a running
 * NormalizeStream, which must still answer every request exactly once and in order; a unary call
 * that a draining server did not take is sent to the other. Two servers of the suite's kind (the
 * fake, or two {@code adrnorm serve} replicas with ADRNORM_REAL_SERVER=1), on loopback.
 */
class FailoverTest {
    static final Path CERTS = TestServer.certs();

    static AdrnormClient.Builder builderFor(TestServer... servers) {
        List<String> addresses = new ArrayList<>();
        for (TestServer s : servers) addresses.add(s.host() + ":" + s.port());
        return AdrnormClient.builder().addresses(addresses)
                .trustCertificates(CERTS.resolve("ca.pem"))
                .keyPair(CERTS.resolve("client-a.pem"), CERTS.resolve("client-a.key"))
                .reconnectBackoff(Duration.ofMillis(50), Duration.ofMillis(500))
                .timeout(Duration.ofMinutes(2));
    }

    /**
     * Request {@code i}: a distinct mention (nothing comes from the servers' caches), scored
     * lexically so that 20,000 stay quick. Against the fake, requests 3,000 to 5,999 take 1 ms each,
     * so that a leg has requests in flight when its server is killed (after response 4,000).
     */
    static NormalizeRequest request(int i) {
        String mention = AdrnormClientTest.MENTIONS.get(i % AdrnormClientTest.MENTIONS.size()) + i;
        boolean slow = !TestServer.real() && i >= 3000 && i < 6000;
        return NormalizeRequest.newBuilder().setId("m" + i).setMention(slow ? "sleep:1 " + mention : mention)
                .setTopK(5).setScorer(dev.adrnorm.v1.Scorer.SCORER_LEXICAL).build();
    }

    /** Builds the client and waits until it has a usable connection to every server (build() returns at the first). */
    static AdrnormClient connectedToAll(AdrnormClient.Builder builder) throws InterruptedException {
        AdrnormClient c = builder.build();
        waitFor(() -> c.pool().endpoints.stream().allMatch(e -> e.usable() != null), Duration.ofSeconds(20));
        for (ServerPool.Endpoint e : c.pool().endpoints) assertTrue(e.usable() != null, e.describe());
        return c;
    }

    static void waitFor(java.util.function.BooleanSupplier condition, Duration limit) throws InterruptedException {
        long until = System.nanoTime() + limit.toNanos();
        while (!condition.getAsBoolean() && System.nanoTime() < until) Thread.sleep(10);
    }

    @Test
    void twentyThousandItemsSurviveAKillARestartAndADrainExactlyOnceInOrder() throws Exception {
        final int n = 20_000;
        TestServer[] a = {TestServer.start()};
        TestServer b = TestServer.start();
        int portA = a[0].port();
        CompletableFuture<Void> drain = null;
        try (AdrnormClient c = connectedToAll(builderFor(a[0], b))) {
            ServerPool.Endpoint endpointA = c.pool().endpoints.get(0);
            NormalizeStream s = c.normalizeStream(IntStream.range(0, n).mapToObj(FailoverTest::request).iterator(),
                    Duration.ofMinutes(3));
            CompletableFuture<Void> kill = new CompletableFuture<>();
            long killedAt = 0;
            long resumedAfterKill = -1;
            int i = 0;
            long start = System.nanoTime();
            while (s.hasNext()) {
                NormalizeResponse r = s.next();
                assertEquals("m" + i, r.getId(), "response " + i);
                assertFalse(r.hasError(), () -> r.getError().getMessage());
                i++;
                if (i == 4000) {
                    assertTrue(s.legsOpened() >= 2, "one stream spread over both servers: " + s.legsOpened() + " legs");
                    // SIGKILL while the stream flows (the consumer goes on): A's unanswered requests must go to B
                    CompletableFuture.runAsync(() -> a[0].kill()).whenComplete((v, e) -> {
                        if (e != null) kill.completeExceptionally(e);
                        else kill.complete(null);
                    });
                    killedAt = System.nanoTime();
                }
                if (killedAt != 0 && resumedAfterKill < 0 && kill.isDone()) {
                    resumedAfterKill = System.nanoTime() - killedAt;
                }
                if (i == 9000) {
                    kill.get(60, TimeUnit.SECONDS);
                    a[0] = TestServer.startOn(portA); // the same port: the client reconnects by itself
                    waitFor(() -> endpointA.connects.get() >= 2, Duration.ofSeconds(60));
                    assertEquals(2, endpointA.connects.get(), "the client did not reconnect to the restarted server");
                }
                if (i == 13_000) {
                    // SIGTERM: B drains (GoAway); its leg is half-closed, answers what it has, the rest goes to A
                    drain = CompletableFuture.runAsync(b::terminate);
                    ServerPool.Endpoint endpointB = c.pool().endpoints.get(1);
                    waitFor(() -> endpointB.usable() == null, Duration.ofSeconds(30));
                    assertTrue(endpointB.usable() == null, "B's GoAway did not arrive while the stream ran");
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            assertEquals(n, i, "every request answered once");
            assertEquals(n, s.requestsSent());
            if (drain != null) drain.get(60, TimeUnit.SECONDS);
            System.err.printf("failover: %d items in %.1f s over %d legs, %d sent again%n", n, seconds, s.legsOpened(),
                    s.requestsResent());
            assertTrue(s.legsOpened() >= 3, "no new leg after the kill: " + s.legsOpened());
            if (!TestServer.real()) assertTrue(s.requestsResent() > 0, "the killed server had requests in flight");
            // B is gone, A (restarted) serves on
            assertEquals(HealthResponse.ServingStatus.SERVING, c.health().getStatus());
        } finally {
            a[0].close();
            b.close();
        }
    }

    @Test
    void reconnectsAfterARestartOnTheSamePort() throws Exception {
        TestServer s = TestServer.start();
        int port = s.port();
        try (AdrnormClient c = builderFor(s).serverWait(Duration.ofMillis(300)).build()) {
            assertEquals(HealthResponse.ServingStatus.SERVING, c.health().getStatus());
            Connection first = c.connection();
            s.kill();
            AdrnormException down = assertThrows(AdrnormException.class, c::health);
            assertEquals(Status.Code.UNAVAILABLE, down.code(), down.getMessage());
            assertTrue(down.getMessage().contains("127.0.0.1:" + port), down.getMessage());
            s = TestServer.startOn(port);
            long restarted = System.nanoTime();
            ServerPool.Endpoint e = c.pool().endpoints.get(0);
            waitFor(() -> e.connects.get() >= 2, Duration.ofSeconds(30));
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - restarted);
            assertEquals(2, e.connects.get(), "no reconnection within 30 s");
            System.err.println("reconnected " + ms + " ms after the restart (backoff capped at 500 ms)");
            assertEquals(HealthResponse.ServingStatus.SERVING, c.health().getStatus());
            assertTrue(c.connection() != first && !c.connection().isClosed());
            // a stream over the new connection
            Iterator<NormalizeResponse> r = c.normalizeStream(IntStream.range(0, 100).mapToObj(FailoverTest::request).iterator());
            int k = 0;
            while (r.hasNext()) assertEquals("m" + k++, r.next().getId());
            assertEquals(100, k);
        } finally {
            s.close();
        }
    }

    @Test
    void unaryCallsGoToTheLeastLoadedServerAndARefusedOneIsRetriedOnTheOther() throws Exception {
        assumeFalse(TestServer.real(), "needs the fake's slow mentions and GoAway on demand");
        try (FakeServer a = new FakeServer(CERTS); FakeServer b = new FakeServer(CERTS); AdrnormClient c = connectedToAll(builderFor(a, b))) {
            assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
                // eight slow calls at once: fewest outstanding pairs first, so four each
                int openedA = a.streamsOpened.get();
                int openedB = b.streamsOpened.get();
                ExecutorService pool = Executors.newFixedThreadPool(8);
                try {
                    List<Callable<String>> jobs = new ArrayList<>();
                    for (int i = 0; i < 8; i++) {
                        String id = "u" + i;
                        jobs.add(() -> c.normalize(NormalizeRequest.newBuilder().setId(id).setMention("sleep:300 头痛").build()).getId());
                    }
                    List<Future<String>> results = pool.invokeAll(jobs);
                    for (int i = 0; i < 8; i++) assertEquals("u" + i, results.get(i).get());
                } finally {
                    pool.shutdownNow();
                }
                assertEquals(4, a.streamsOpened.get() - openedA, "calls on A");
                assertEquals(4, b.streamsOpened.get() - openedB, "calls on B");

                // A slow call; its server answers GoAway below its stream (it did not take it): the
                // client sends it once more, to the other server.
                CompletableFuture<NormalizeResponse> slow = CompletableFuture.supplyAsync(() ->
                        c.normalize(NormalizeRequest.newBuilder().setId("r").setMention("sleep:2000 头痛").build()));
                waitFor(() -> a.streamsOpened.get() + b.streamsOpened.get() > openedA + openedB + 8, Duration.ofSeconds(10));
                boolean onA = a.streamsOpened.get() > openedA + 4;
                FakeServer first = onA ? a : b;
                FakeServer other = onA ? b : a;
                int otherBefore = other.streamsOpened.get();
                first.goAway(0);
                NormalizeResponse r = slow.get(20, TimeUnit.SECONDS);
                assertEquals("r", r.getId());
                assertEquals(otherBefore + 1, other.streamsOpened.get(), "the retry went to the other server");
            });
        }
    }

    @Test
    void aDrainingServerGetsNoNewCalls() throws Exception {
        assumeFalse(TestServer.real(), "needs the fake's slow mentions");
        try (FakeServer a = new FakeServer(CERTS); FakeServer b = new FakeServer(CERTS); AdrnormClient c = connectedToAll(builderFor(a, b))) {
            assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
                // a slow stream on each server keeps A's connection open while it drains
                NormalizeStream s = c.normalizeStream(IntStream.range(0, 40).mapToObj(i ->
                        NormalizeRequest.newBuilder().setId("d" + i).setMention("sleep:100 头痛").build()).iterator());
                assertEquals("d0", s.next().getId());
                CompletableFuture<Void> drain = CompletableFuture.runAsync(a::terminate); // GoAway, stops listening
                waitFor(() -> c.pool().endpoints.get(0).usable() == null, Duration.ofSeconds(10));
                int openedA = a.streamsOpened.get();
                int openedB = b.streamsOpened.get();
                for (int i = 0; i < 10; i++) assertEquals(HealthResponse.ServingStatus.SERVING, c.health().getStatus());
                assertEquals(openedA, a.streamsOpened.get(), "a call went to the draining server");
                assertEquals(openedB + 10, b.streamsOpened.get());
                int k = 1;
                while (s.hasNext()) assertEquals("d" + k++, s.next().getId());
                assertEquals(40, k);
                drain.get(20, TimeUnit.SECONDS);
            });
        }
    }

    @Test
    void oneServerDownAtTheStartIsToleratedAndAllDownIsAClearError() throws Exception {
        int dead;
        try (var socket = new java.net.ServerSocket(0)) {
            dead = socket.getLocalPort();
        }
        try (FakeServer a = new FakeServer(CERTS)) {
            try (AdrnormClient c = builderFor(a).addresses("127.0.0.1:" + dead, a.host() + ":" + a.port()).build()) {
                for (int i = 0; i < 4; i++) assertEquals(HealthResponse.ServingStatus.SERVING, c.health().getStatus());
                assertEquals(List.of("127.0.0.1:" + dead, a.host() + ":" + a.port()), c.addresses());
            }
            // A server that never answers the TLS handshake does not hold build() for the connect timeout.
            try (var silent = new java.net.ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"))) {
                long start = System.nanoTime();
                try (AdrnormClient c = builderFor(a).addresses("127.0.0.1:" + silent.getLocalPort(), a.host() + ":" + a.port())
                        .connectTimeout(Duration.ofSeconds(20)).build()) {
                    assertEquals(HealthResponse.ServingStatus.SERVING, c.health().getStatus());
                    long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                    assertTrue(ms < 10_000, "build() and a call took " + ms + " ms beside a silent server");
                }
            }
        }
        int dead2;
        try (var socket = new java.net.ServerSocket(0)) {
            dead2 = socket.getLocalPort();
        }
        AdrnormException e = assertThrows(AdrnormException.class, () -> AdrnormClient.builder()
                .addresses("127.0.0.1:" + dead, "127.0.0.1:" + dead2).trustCertificates(CERTS.resolve("ca.pem"))
                .keyPair(CERTS.resolve("client-a.pem"), CERTS.resolve("client-a.key")).build());
        assertEquals(Status.Code.UNAVAILABLE, e.code());
        assertTrue(e.getMessage().contains("none of the 2 servers") && e.getMessage().contains(":" + dead)
                && e.getMessage().contains(":" + dead2), e.getMessage());
    }

    @Test
    void badAddressesAreInvalidArgument() {
        for (String bad : List.of("localhost", "localhost:", ":7443", "host:port", "::1:7443", "host:0", "host:70000")) {
            AdrnormException e = assertThrows(AdrnormException.class, () -> AdrnormClient.builder().addresses(bad), bad);
            assertEquals(Status.Code.INVALID_ARGUMENT, e.code(), e.getMessage());
        }
        AdrnormException twice = assertThrows(AdrnormException.class,
                () -> AdrnormClient.builder().addresses("h:1", "h:1"));
        assertTrue(twice.getMessage().contains("twice"), twice.getMessage());
        assertThrows(AdrnormException.class, () -> AdrnormClient.builder().addresses(List.of()));
        // an IPv6 address in brackets is fine
        AdrnormClient.builder().addresses("[::1]:7443", "127.0.0.1:7443");
    }
}
