package dev.adrnorm.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.adrnorm.v1.HealthResponse;
import dev.adrnorm.v1.InfoResponse;
import dev.adrnorm.v1.MatchedTerm;
import dev.adrnorm.v1.NormalizeRequest;
import dev.adrnorm.v1.NormalizeResponse;
import dev.adrnorm.v1.RetrieveRequest;
import dev.adrnorm.v1.RetrieveResponse;
import dev.adrnorm.v1.RetrievedCandidate;
import dev.adrnorm.v1.ScorePair;
import dev.adrnorm.v1.ScoreRequest;
import dev.adrnorm.v1.ScoreResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The client against a server: the in-process fake by default, a real {@code adrnorm serve}
 * when ADRNORM_REAL_SERVER=1. Tests that need the fake's hooks (GoAway, mute, counters) are
 * skipped against the real server.
 */
class AdrnormClientTest {
    static final List<String> MENTIONS = List.of("吃完药后一直犯困头晕", "头痛", "恶心想吐", "皮肤起红疹", "头晕目眩", "犯困",
            "服药后出现皮疹伴瘙痒", "头疼欲裂", "一直想吐", "嗜睡乏力");
    static final Duration WAIT = Duration.ofSeconds(60);
    static TestServer server;
    static Path certs;

    @BeforeAll
    static void startServer() {
        certs = TestServer.certs();
        server = TestServer.start();
    }

    @AfterAll
    static void stopServer() {
        if (server != null) server.close();
    }

    static AdrnormClient.Builder builderFor(TestServer s) {
        return AdrnormClient.builder().address(s.host(), s.port())
                .trustCertificates(certs.resolve("ca.pem"))
                .keyPair(certs.resolve("client-a.pem"), certs.resolve("client-a.key"))
                .timeout(WAIT);
    }

    static AdrnormClient client() {
        return builderFor(server).build();
    }

    static FakeServer fake() {
        return (FakeServer) server;
    }

    static NormalizeRequest request(int i, int topK) {
        return NormalizeRequest.newBuilder().setId("m" + i).setMention(MENTIONS.get(i % MENTIONS.size())).setTopK(topK).build();
    }

    /** Waits up to 20 s for a condition (then the test's own assertion reports it). */
    static void waitFor(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long until = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!condition.getAsBoolean() && System.nanoTime() < until) Thread.sleep(10);
    }

    // ---- every method ----

    @Test
    void healthAndInfo() {
        try (AdrnormClient c = client()) {
            assertEquals(HealthResponse.ServingStatus.SERVING, c.health().getStatus());
            InfoResponse info = c.info();
            assertEquals(1, info.getProtocolVersion());
            assertFalse(info.getServerName().isEmpty());
            assertTrue(info.getDictionary().getPtCount() > 0);
            assertFalse(c.serverName().isEmpty());
            // a timeout beyond the wire's uint32 milliseconds is clamped, not overflowed
            assertEquals(HealthResponse.ServingStatus.SERVING, c.health(Duration.ofDays(100_000)).getStatus());
            assertEquals(HealthResponse.ServingStatus.SERVING, c.health(Duration.ofSeconds(Long.MAX_VALUE)).getStatus());
        }
    }

    @Test
    void retrieveRanksCandidates() {
        try (AdrnormClient c = client()) {
            RetrieveResponse r = c.retrieve(RetrieveRequest.newBuilder().setMention("头痛").setTopK(3).build());
            assertEquals(3, r.getCandidatesCount());
            for (int i = 0; i < 3; i++) {
                RetrievedCandidate cand = r.getCandidates(i);
                assertEquals(i + 1, cand.getRank());
                assertFalse(cand.getTerm().getPtCode().isEmpty());
                assertTrue(cand.getRetrievalProb() >= 0 && cand.getRetrievalProb() <= 1);
                if (i > 0) assertTrue(cand.getScore() <= r.getCandidates(i - 1).getScore());
            }
        }
    }

    @Test
    void scoreReturnsOneProbabilityPerPair() {
        try (AdrnormClient c = client()) {
            ScoreResponse r = c.score(ScoreRequest.newBuilder()
                    .addPairs(ScorePair.newBuilder().setMention("头痛").setCandidateText("PT: 头痛"))
                    .addPairs(ScorePair.newBuilder().setMention("头痛").setCandidateText("PT: 皮疹"))
                    .build());
            assertEquals(2, r.getScoresCount());
            for (var s : r.getScoresList()) {
                assertTrue(s.getProb1() >= 0 && s.getProb1() <= 1);
                assertEquals(1.0, s.getProb0() + s.getProb1(), 1e-6);
            }
            assertEquals("PT: 皮疹", r.getScores(1).getCandidateText());
        }
    }

    @Test
    void normalizeKeepsEveryTermAtOrAboveTheThreshold() {
        try (AdrnormClient c = client()) {
            NormalizeResponse r = c.normalize(NormalizeRequest.newBuilder().setId("x1").setMention("吃完药后一直犯困头晕")
                    .setTopK(5).setThreshold(0.3).setReturnTopScored(5).build());
            assertEquals("x1", r.getId());
            assertFalse(r.hasError());
            for (MatchedTerm m : r.getMatchesList()) assertTrue(m.getProbability() >= 0.3);
            assertEquals(5, r.getTopScoredCount());
            // threshold 0 (present, not the default) keeps every scored candidate
            NormalizeResponse all = c.normalize(NormalizeRequest.newBuilder().setMention("头痛").setTopK(5).setThreshold(0.0).build());
            assertEquals(5, all.getMatchesCount());
            assertEquals("", c.normalize("头痛").getId());
        }
    }

    @Test
    void normalizeCodesEveryMatchWithProvenanceEqualToInfo() {
        try (AdrnormClient c = client()) {
            NormalizeResponse r = c.normalize(NormalizeRequest.newBuilder().setId("c").setMention("头痛").setTopK(5)
                    .setScorer(dev.adrnorm.v1.Scorer.SCORER_LEXICAL).setMode(dev.adrnorm.v1.RetrievalMode.RETRIEVAL_MODE_EXACT).build());
            assertFalse(r.getMatchesList().isEmpty());
            for (MatchedTerm m : r.getMatchesList()) {
                assertTrue(m.hasLlt() && !m.getLlt().getLltCode().isEmpty() && !m.getLlt().getLltName().isEmpty());
                assertTrue(List.of(dev.adrnorm.v1.LltChoice.LLT_CHOICE_EXACT, dev.adrnorm.v1.LltChoice.LLT_CHOICE_CLOSEST,
                        dev.adrnorm.v1.LltChoice.LLT_CHOICE_PT_LLT).contains(m.getLlt().getHow()));
                assertTrue(m.getSource() == dev.adrnorm.v1.MatchSource.MATCH_SOURCE_MODEL
                        || m.getSource() == dev.adrnorm.v1.MatchSource.MATCH_SOURCE_LEXICAL);
            }
            assertTrue(r.getMatchesList().stream().anyMatch(m ->
                    m.getLlt().getHow() == dev.adrnorm.v1.LltChoice.LLT_CHOICE_EXACT && m.getLlt().getLltName().equals("头痛")));
            InfoResponse info = c.info();
            var p = r.getProvenance();
            assertTrue(r.hasProvenance());
            assertEquals(info.getDictionary().getDigest(), p.getDictionaryDigest());
            assertEquals(info.getDictionary().getLltDigest(), p.getLltDigest());
            assertEquals(info.getDictionary().getVersion(), p.getMeddraVersion());
            assertEquals(info.getDefaults().getReviewMargin(), p.getReviewMargin(), 0.0);
            assertEquals(5, p.getTopK());
            if (p.getScorer() == dev.adrnorm.v1.Scorer.SCORER_MODEL) {
                assertEquals(info.getModel().getWeightsSha256(), p.getWeightsSha256());
            }
            assertTrue(info.getDictionary().getLltCodes());
            assertEquals(r.getNeedsReview(), r.getReviewReason() != dev.adrnorm.v1.ReviewReason.REVIEW_REASON_UNSPECIFIED);

            NormalizeResponse none = c.normalize(NormalizeRequest.newBuilder().setMention("xyzxyz").setTopK(3).setThreshold(0.99).build());
            assertTrue(none.getMatchesList().isEmpty() && none.getNeedsReview());
            assertEquals(dev.adrnorm.v1.ReviewReason.REVIEW_REASON_NO_MATCH, none.getReviewReason());
        }
    }

    @Test
    void invalidArgumentIsATypedError() {
        try (AdrnormClient c = client()) {
            AdrnormException e = assertThrows(AdrnormException.class, () -> c.normalize("   "));
            assertEquals(Status.Code.INVALID_ARGUMENT, e.code());
            assertTrue(e.getMessage().contains("mention"), e.getMessage());
            AdrnormException t = assertThrows(AdrnormException.class,
                    () -> c.normalize(NormalizeRequest.newBuilder().setMention("头痛").setThreshold(1.5).build()));
            assertEquals(Status.Code.INVALID_ARGUMENT, t.code());
            // the connection is still good
            assertEquals(HealthResponse.ServingStatus.SERVING, c.health().getStatus());
        }
    }

    @Test
    void oversizedRequestFailsLocallyAndLeavesTheConnectionUsable() {
        try (AdrnormClient c = client()) {
            String huge = "头".repeat(2 * 1024 * 1024); // 6 MiB of UTF-8
            AdrnormException e = assertThrows(AdrnormException.class, () -> c.normalize(huge));
            assertEquals(Status.Code.INVALID_ARGUMENT, e.code());
            assertTrue(e.getMessage().contains("max") || e.getMessage().contains("at most"), e.getMessage());
            assertEquals(HealthResponse.ServingStatus.SERVING, c.health().getStatus());
        }
    }

    // ---- streaming ----

    @Test
    void twentyThousandItemStreamIsOneToOneAndInOrder() {
        final int n = 20_000;
        assertTimeoutPreemptively(Duration.ofMinutes(5), () -> {
            try (AdrnormClient c = client()) {
                Iterator<NormalizeRequest> input = IntStream.range(0, n).mapToObj(i ->
                        i == 777 ? NormalizeRequest.newBuilder().setId("m777").setMention(" ").build() : request(i, 5)).iterator();
                NormalizeStream responses = c.normalizeStream(input, Duration.ofMinutes(4));
                int i = 0;
                while (responses.hasNext()) {
                    NormalizeResponse r = responses.next();
                    assertEquals("m" + i, r.getId());
                    if (i == 777) {
                        assertTrue(r.hasError(), "an empty mention is an item-level error");
                        assertEquals(dev.adrnorm.wire.v1.Code.INVALID_ARGUMENT, r.getError().getCode());
                    } else {
                        assertFalse(r.hasError(), () -> r.getError().getMessage());
                    }
                    i++;
                }
                assertEquals(n, i);
                assertEquals(n, responses.requestsSent());
                if (!TestServer.real()) assertEquals(0, fake().creditViolations.get(), "the client sent beyond its credit");
            }
        });
    }

    @Test
    void streamViewAndEmptyInput() {
        try (AdrnormClient c = client()) {
            try (Stream<NormalizeResponse> s = c.normalizeStream(IntStream.range(0, 100).mapToObj(i -> request(i, 3)))) {
                assertEquals(100, s.filter(r -> !r.hasError()).count());
            }
            NormalizeStream empty = c.normalizeStream(Collections.<NormalizeRequest>emptyIterator());
            assertFalse(empty.hasNext());
            // Abandoning a stream early leaves the client usable.
            try (NormalizeStream partial = c.normalizeStream(IntStream.range(0, 1000).mapToObj(i -> request(i, 3)).iterator())) {
                assertEquals("m0", partial.next().getId());
            }
            assertEquals(HealthResponse.ServingStatus.SERVING, c.health().getStatus());
        }
    }

    @Test
    void concurrentCallersShareOneClient() throws Exception {
        try (AdrnormClient c = client()) {
            ExecutorService pool = Executors.newFixedThreadPool(10);
            try {
                List<Callable<Integer>> jobs = new ArrayList<>();
                for (int t = 0; t < 8; t++) {
                    final int thread = t;
                    jobs.add(() -> {
                        for (int i = 0; i < 50; i++) {
                            String id = thread + "-" + i;
                            NormalizeResponse r = c.normalize(NormalizeRequest.newBuilder().setId(id)
                                    .setMention(MENTIONS.get((thread + i) % MENTIONS.size())).setTopK(3).build());
                            assertEquals(id, r.getId());
                        }
                        return 50;
                    });
                }
                for (int t = 0; t < 2; t++) {
                    jobs.add(() -> {
                        int k = 0;
                        NormalizeStream s = c.normalizeStream(IntStream.range(0, 1000).mapToObj(i -> request(i, 3)).iterator());
                        while (s.hasNext()) assertEquals("m" + k++, s.next().getId());
                        return k;
                    });
                }
                int total = 0;
                for (Future<Integer> f : pool.invokeAll(jobs)) total += f.get();
                assertEquals(8 * 50 + 2 * 1000, total);
            } finally {
                pool.shutdownNow();
            }
        }
    }

    // ---- deadlines ----

    @Test
    void streamDeadlineIsDeadlineExceededAndTheClientGoesOn() {
        try (AdrnormClient c = client()) {
            long start = System.nanoTime();
            AdrnormException e = assertThrows(AdrnormException.class, () -> {
                NormalizeStream s = c.normalizeStream(IntStream.range(0, 20_000).mapToObj(i ->
                        NormalizeRequest.newBuilder().setId("d" + i).setMention("sleep:100 " + i).setTopK(5).build()).iterator(),
                        Duration.ofMillis(300));
                while (s.hasNext()) s.next();
            });
            assertEquals(Status.Code.DEADLINE_EXCEEDED, e.code());
            assertTrue(System.nanoTime() - start < Duration.ofSeconds(10).toNanos());
            assertEquals(HealthResponse.ServingStatus.SERVING, c.health().getStatus());
        }
    }

    @Test
    void unaryDeadline() {
        assumeFalse(TestServer.real(), "needs the fake's slow mentions");
        try (AdrnormClient c = client()) {
            long start = System.nanoTime();
            AdrnormException e = assertThrows(AdrnormException.class,
                    () -> c.normalize(NormalizeRequest.newBuilder().setMention("sleep:3000").build(), Duration.ofMillis(200)));
            long ms = (System.nanoTime() - start) / 1_000_000;
            assertEquals(Status.Code.DEADLINE_EXCEEDED, e.code());
            assertTrue(ms >= 150 && ms < 2000, "took " + ms + " ms");
            assertEquals(HealthResponse.ServingStatus.SERVING, c.health().getStatus());
        }
    }

    // ---- certificates ----

    @Test
    void refusedClientCertificateIsAClearHandshakeError() {
        AdrnormException untrusted = assertThrows(AdrnormException.class, () -> AdrnormClient.builder()
                .address(server.host(), server.port()).trustCertificates(certs.resolve("ca.pem"))
                .keyPair(certs.resolve("client-untrusted.pem"), certs.resolve("client-untrusted.key")).build().close());
        System.err.println("refused certificate: " + untrusted.getMessage());
        assertEquals(Status.Code.UNAUTHENTICATED, untrusted.code(), untrusted.getMessage());
        assertTrue(untrusted.getMessage().contains("client-untrusted.pem"), untrusted.getMessage());

        AdrnormException expired = assertThrows(AdrnormException.class, () -> AdrnormClient.builder()
                .address(server.host(), server.port()).trustCertificates(certs.resolve("ca.pem"))
                .keyPair(certs.resolve("client-expired.pem"), certs.resolve("client-expired.key")).build().close());
        assertEquals(Status.Code.UNAUTHENTICATED, expired.code(), expired.getMessage());

        AdrnormException none = assertThrows(AdrnormException.class, () -> AdrnormClient.builder()
                .address(server.host(), server.port()).trustCertificates(certs.resolve("ca.pem")).build().close());
        assertEquals(Status.Code.UNAUTHENTICATED, none.code(), none.getMessage());
        assertTrue(none.getMessage().contains("no client certificate"), none.getMessage());
    }

    @Test
    void untrustedServerCertificateIsAClearHandshakeError() {
        AdrnormException e = assertThrows(AdrnormException.class, () -> AdrnormClient.builder()
                .address(server.host(), server.port()).trustCertificates(certs.resolve("other-ca.pem"))
                .keyPair(certs.resolve("client-a.pem"), certs.resolve("client-a.key")).build().close());
        assertEquals(Status.Code.UNAUTHENTICATED, e.code(), e.getMessage());
        assertTrue(e.getMessage().contains("not trusted by") && e.getMessage().contains("other-ca.pem"), e.getMessage());
    }

    @Test
    void nothingListeningIsUnavailable() throws Exception {
        int port;
        try (var s = new java.net.ServerSocket(0)) {
            port = s.getLocalPort();
        }
        final int p = port;
        AdrnormException e = assertThrows(AdrnormException.class, () -> builderFor(server).address("127.0.0.1", p).build());
        assertEquals(Status.Code.UNAVAILABLE, e.code());
        assertTrue(e.getMessage().contains("127.0.0.1:" + p), e.getMessage());
    }

    // ---- the server going away ----

    @Test
    void serverKilledMidStreamIsUnavailableWithoutHanging() {
        TestServer own = TestServer.start();
        // The only server is gone for good: after waiting a second for it to come back, UNAVAILABLE.
        try (AdrnormClient c = builderFor(own).timeout(null).serverWait(Duration.ofSeconds(1)).build()) {
            assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
                NormalizeStream s = c.normalizeStream(IntStream.range(0, 200_000).mapToObj(i -> request(i, 5)).iterator());
                for (int i = 0; i < 200; i++) assertEquals("m" + i, s.next().getId());
                own.kill();
                AdrnormException e = assertThrows(AdrnormException.class, () -> {
                    while (s.hasNext()) s.next();
                });
                assertEquals(Status.Code.UNAVAILABLE, e.code(), e.getMessage());
                AdrnormException after = assertThrows(AdrnormException.class, c::health);
                assertEquals(Status.Code.UNAVAILABLE, after.code(), after.getMessage());
            });
        } finally {
            own.close();
        }
    }

    @Test
    void goAwayFinishesStartedCallsAndNewOnesUseANewConnection() throws Exception {
        assumeFalse(TestServer.real(), "GoAway on demand needs the fake");
        try (FakeServer own = new FakeServer(certs); AdrnormClient c = builderFor(own).build()) {
            assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
                Connection before = c.connection();
                NormalizeStream s = c.normalizeStream(IntStream.range(0, 50).mapToObj(i ->
                        NormalizeRequest.newBuilder().setId("g" + i).setMention("sleep:10 头痛").build()).iterator());
                assertEquals("g0", s.next().getId());
                own.goAway(-1); // last_stream_id = this stream
                // the old connection takes no new call: Health goes over a new one
                assertEquals(HealthResponse.ServingStatus.SERVING, c.health().getStatus());
                assertTrue(c.connection() != before, "no new connection after GoAway");
                assertEquals(2, c.pool().endpoints.get(0).connects.get());
                int n = 1;
                while (s.hasNext()) assertEquals("g" + n++, s.next().getId());
                assertEquals(50, n);
                assertEquals(0, s.requestsResent(), "the stream below last_stream_id was finished where it was");
            });
        }
    }

    @Test
    void goAwayResendsStreamsAboveLastStreamId() throws Exception {
        assumeFalse(TestServer.real(), "GoAway on demand needs the fake");
        try (FakeServer own = new FakeServer(certs); AdrnormClient c = builderFor(own).build()) {
            assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
                NormalizeStream first = c.normalizeStream(IntStream.range(0, 20).mapToObj(i ->
                        NormalizeRequest.newBuilder().setId("a" + i).setMention("sleep:20 头痛").build()).iterator());
                assertEquals("a0", first.next().getId());
                int firstId = own.highestStream();
                NormalizeStream second = c.normalizeStream(IntStream.range(0, 20).mapToObj(i ->
                        NormalizeRequest.newBuilder().setId("b" + i).setMention("sleep:20 头痛").build()).iterator());
                assertEquals("b0", second.next().getId());
                own.goAway(firstId);
                // the stream the server did not process is sent again on a new connection, in order
                int m = 1;
                while (second.hasNext()) assertEquals("b" + m++, second.next().getId());
                assertEquals(20, m);
                assertTrue(second.requestsResent() > 0, "nothing was sent again");
                int n = 1;
                while (first.hasNext()) assertEquals("a" + n++, first.next().getId());
                assertEquals(20, n);
            });
        }
    }

    // ---- keep-alive ----

    @Test
    void idleConnectionPings() throws Exception {
        try (AdrnormClient c = builderFor(server).keepAlive(Duration.ofMillis(100), Duration.ofSeconds(2)).build()) {
            waitFor(() -> c.connection().pongsReceived() >= 2);
            assertTrue(c.connection().pingsSent() >= 2, "pings sent: " + c.connection().pingsSent());
            assertTrue(c.connection().pongsReceived() >= 2, "pongs received: " + c.connection().pongsReceived());
            assertEquals(HealthResponse.ServingStatus.SERVING, c.health().getStatus());
        }
    }

    @Test
    void pingsAreSeenByTheServerAndServerPingsAnswered() throws Exception {
        assumeFalse(TestServer.real(), "counts the fake's Pings");
        try (FakeServer own = new FakeServer(certs);
             AdrnormClient c = builderFor(own).keepAlive(Duration.ofMillis(100), Duration.ofSeconds(2)).build()) {
            waitFor(() -> own.pingsReceived.get() >= 2);
            assertTrue(own.pingsReceived.get() >= 2, "pings: " + own.pingsReceived.get());
            assertTrue(own.pingClients(2000), "the client answers the server's Ping");
            assertEquals(HealthResponse.ServingStatus.SERVING, c.health().getStatus());
        }
    }

    @Test
    void silentServerIsDetectedByKeepAlive() {
        assumeFalse(TestServer.real(), "needs a server that goes silent");
        try (FakeServer own = new FakeServer(certs);
             AdrnormClient c = builderFor(own).timeout(null).keepAlive(Duration.ofMillis(100), Duration.ofMillis(300))
                     .serverWait(Duration.ZERO).build()) {
            own.mute = true;
            assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
                AdrnormException e = assertThrows(AdrnormException.class, c::health); // no timeout of its own
                assertEquals(Status.Code.UNAVAILABLE, e.code());
                assertTrue(e.getMessage().contains("no Pong"), e.getMessage());
            });
        }
    }

    @Test
    void streamsBeyondTheServersLimitWaitForASlot() throws Exception {
        assumeFalse(TestServer.real(), "needs a fake with a limit of 2 streams");
        try (FakeServer own = new FakeServer(certs, 2, 2, 1 << 20); AdrnormClient c = builderFor(own).build()) {
            assertEquals(2, c.maxConcurrentStreams());
            ExecutorService pool = Executors.newFixedThreadPool(6);
            try {
                List<Callable<String>> jobs = new ArrayList<>();
                for (int i = 0; i < 6; i++) {
                    final String id = "s" + i;
                    jobs.add(() -> c.normalize(NormalizeRequest.newBuilder().setId(id).setMention("sleep:50 头痛").build()).getId());
                }
                List<Future<String>> results = pool.invokeAll(jobs);
                for (int i = 0; i < 6; i++) assertEquals("s" + i, results.get(i).get());
            } finally {
                pool.shutdownNow();
            }
            // A call that waits for a slot gives up at its own timeout: two slow streams hold both slots.
            List<Thread> holders = new ArrayList<>();
            int opened = own.streamsOpened.get();
            for (int i = 0; i < 2; i++) {
                NormalizeStream slow = c.normalizeStream(List.of(NormalizeRequest.newBuilder().setMention("sleep:3000 头痛").build()).iterator());
                Thread t = new Thread(() -> {
                    while (slow.hasNext()) slow.next();
                });
                t.start();
                holders.add(t);
            }
            long until = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (own.streamsOpened.get() < opened + 2 && System.nanoTime() < until) Thread.sleep(5);
            assertEquals(opened + 2, own.streamsOpened.get(), "both slow streams are open");
            AdrnormException e = assertThrows(AdrnormException.class, () -> c.health(Duration.ofMillis(300)));
            assertEquals(Status.Code.DEADLINE_EXCEEDED, e.code(), e.getMessage());
            assertTrue(e.getMessage().contains("concurrent streams"), e.getMessage());
            for (Thread t : holders) t.join(10_000);
            assertEquals(HealthResponse.ServingStatus.SERVING, c.health().getStatus());
        }
    }

    // ---- PEM files ----

    @Test
    void pemKeysInEveryCommonFormat() throws Exception {
        Path dir = Files.createTempDirectory("adrnorm-pem");
        Path sec1 = dir.resolve("client-a-sec1.key");
        Process p = new ProcessBuilder("openssl", "ec", "-in", certs.resolve("client-a.key").toString(), "-out", sec1.toString())
                .redirectErrorStream(true).start();
        assertEquals(0, p.waitFor());
        assertTrue(Files.readString(sec1).contains("BEGIN EC PRIVATE KEY"));
        try (AdrnormClient c = builderFor(server).keyPair(certs.resolve("client-a.pem"), sec1).build()) {
            assertEquals(HealthResponse.ServingStatus.SERVING, c.health().getStatus());
        }
        AdrnormException mismatch = assertThrows(AdrnormException.class,
                () -> builderFor(server).keyPair(certs.resolve("client-a.pem"), certs.resolve("client-b.key")).build());
        assertEquals(Status.Code.INVALID_ARGUMENT, mismatch.code());
        assertTrue(mismatch.getMessage().contains("client-b.key") && mismatch.getMessage().contains("does not belong"), mismatch.getMessage());
        AdrnormException missing = assertThrows(AdrnormException.class,
                () -> builderFor(server).keyPair(certs.resolve("client-a.pem"), dir.resolve("nope.key")).build());
        assertTrue(missing.getMessage().contains("nope.key"), missing.getMessage());
        AdrnormException notPem = assertThrows(AdrnormException.class,
                () -> builderFor(server).trustCertificates(sec1).build());
        assertTrue(notPem.getMessage().contains("BEGIN CERTIFICATE"), notPem.getMessage());
    }
}
