package dev.adrnorm.client;

import dev.adrnorm.v1.NormalizeRequest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Streams N mentions through one NormalizeStream and prints mentions/s (Scripts/bench-java-client).
 * Without --server it measures against the in-process fake server, which shows what the client
 * alone costs. With --replicas it starts two {@code adrnorm serve} replicas (.build/release/adrnorm,
 * the SYNTHETIC demo model and dictionary) on loopback and prints the client's figures over one and
 * over both, then the pause in its ordered output when one replica is killed (SIGKILL) mid-stream:
 * the time to detect the dead server and resume. Each mention is made distinct (its index appended)
 * so that the servers' caches do not answer for the model. The client's own CPU per mention is
 * printed with every figure. Figures only: nothing is asserted.
 *
 * <pre>
 * --server HOST:PORT   a server; repeat it (or separate with commas) for several (default: an in-process fake)
 * --replicas           start two adrnorm serve replicas instead (see above)
 * --ca/--cert/--key    PEM files (default Certs/out/ca.pem, client-a.pem, client-a.key)
 * --input FILE         mentions, one per line, cycled to --count (default: a built-in list)
 * --count N            mentions per run (default 20000)
 * --runs R             timed runs after one untimed warm-up run of min(N, 2000) (default 3)
 * --top-k K            NormalizeRequest.top_k (default 0: the server's default)
 * </pre>
 */
public final class StreamBenchmark {
    private StreamBenchmark() {}

    public static void main(String[] args) throws IOException {
        Path certs = TestServer.certs();
        List<String> servers = new ArrayList<>();
        boolean replicas = false;
        Path ca = certs.resolve("ca.pem");
        Path cert = certs.resolve("client-a.pem");
        Path key = certs.resolve("client-a.key");
        Path input = null;
        int count = 20_000;
        int runs = 3;
        int topK = 0;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String v = i + 1 < args.length ? args[i + 1] : null;
            switch (a) {
                case "--server" -> servers.addAll(List.of(v.split(",")));
                case "--replicas" -> {
                    replicas = true;
                    i--; // takes no value
                }
                case "--ca" -> ca = Path.of(v);
                case "--cert" -> cert = Path.of(v);
                case "--key" -> key = Path.of(v);
                case "--input" -> input = Path.of(v);
                case "--count" -> count = Integer.parseInt(v);
                case "--runs" -> runs = Integer.parseInt(v);
                case "--top-k" -> topK = Integer.parseInt(v);
                default -> {
                    System.err.println("unknown argument " + a + "; see the class comment of StreamBenchmark");
                    System.exit(2);
                }
            }
            i++;
        }
        List<String> mentions = new ArrayList<>();
        if (input != null) {
            for (String line : Files.readAllLines(input, StandardCharsets.UTF_8)) {
                if (!line.isBlank()) mentions.add(line.strip());
            }
        } else {
            mentions.addAll(AdrnormClientTest.MENTIONS);
        }
        if (mentions.isEmpty()) throw new IllegalArgumentException(input + " has no mentions");
        if (replicas) {
            replicas(ca, cert, key, mentions, count, runs, topK);
            return;
        }

        FakeServer fake = null;
        if (servers.isEmpty()) {
            fake = new FakeServer(certs, 64, 64, 4 * 1024 * 1024 + 1024);
            servers.add(fake.host() + ":" + fake.port());
        }
        try (AdrnormClient client = AdrnormClient.builder().addresses(servers).trustCertificates(ca).keyPair(cert, key).build()) {
            String target = fake != null ? "in-process fake server" : client.serverName() + " at " + String.join(", ", servers);
            measure(client, target, mentions, count, runs, topK, false);
        } finally {
            if (fake != null) fake.close();
        }
    }

    /** Warm-up, then {@code runs} timed runs; prints each and their mean. Returns the mean mentions/s. */
    private static double measure(AdrnormClient client, String target, List<String> mentions, int count, int runs, int topK,
                                  boolean distinct) {
        run(client, mentions, Math.min(count, 2000), topK, distinct, null); // warm-up: JIT, connections
        double best = 0;
        double sum = 0;
        for (int r = 0; r < runs; r++) {
            long cpu = processCpuNanos();
            double rate = run(client, mentions, count, topK, distinct, null);
            double cpuMicros = (processCpuNanos() - cpu) / 1e3 / count;
            best = Math.max(best, rate);
            sum += rate;
            System.out.printf("java-client run %d: %d mentions, %.1f mentions/s, %s CPU %.1f µs/mention%n", r + 1, count, rate,
                    target.startsWith("in-process") ? "client and in-process fake" : "client", cpuMicros);
        }
        System.out.printf("java-client: %.1f mentions/s (mean of %d runs; best %.1f) against %s, %s, top_k %s%n",
                sum / runs, runs, best, target, distinct ? "every mention distinct" : mentions.size() + " distinct mentions",
                topK == 0 ? "server default" : topK);
        return sum / runs;
    }

    /** Mentions made distinct so far: each run's numbers follow the previous run's. */
    private static long distinctSoFar;

    /**
     * Streams {@code count} mentions; {@code atHalf}, if given, runs (on another thread) once half the
     * responses are in. Returns mentions/s. With {@code distinct}, each mention gets a number never
     * used before appended, so that no run is answered from a server's cache.
     */
    private static double run(AdrnormClient client, List<String> mentions, int count, int topK, boolean distinct, Runnable atHalf) {
        return run(client, mentions, count, topK, distinct, atHalf, new long[1]);
    }

    private static double run(AdrnormClient client, List<String> mentions, int count, int topK, boolean distinct, Runnable atHalf,
                              long[] longestPauseNanos) {
        long offset = distinctSoFar;
        distinctSoFar += count;
        Iterator<NormalizeRequest> requests = IntStream.range(0, count).mapToObj(i -> NormalizeRequest.newBuilder()
                .setId(Integer.toString(i))
                .setMention(mentions.get(i % mentions.size()) + (distinct ? " " + (offset + i) : ""))
                .setTopK(topK).build()).iterator();
        long start = System.nanoTime();
        NormalizeStream s = client.normalizeStream(requests, Duration.ZERO);
        int n = 0;
        int errors = 0;
        long last = System.nanoTime();
        long afterEvent = -1;
        while (s.hasNext()) {
            if (s.next().hasError()) errors++;
            n++;
            long now = System.nanoTime();
            if (afterEvent >= 0) longestPauseNanos[0] = Math.max(longestPauseNanos[0], now - last);
            last = now;
            if (atHalf != null && n == count / 2) {
                new Thread(atHalf, "bench-event").start();
                afterEvent = now;
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        if (n != count) throw new IllegalStateException("got " + n + " responses for " + count + " requests");
        if (errors > 0) System.err.println("java-client: " + errors + " item-level errors");
        return n / seconds;
    }

    private static long processCpuNanos() {
        var os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        return os instanceof com.sun.management.OperatingSystemMXBean sun ? sun.getProcessCpuTime() : 0;
    }

    /** Two adrnorm serve replicas on loopback: one vs two, then one killed mid-stream. */
    private static void replicas(Path ca, Path cert, Path key, List<String> mentions, int count, int runs, int topK) {
        Path root = TestServer.root();
        RealServer a = RealServer.start(root);
        RealServer b = RealServer.start(root);
        String addrA = a.host() + ":" + a.port();
        String addrB = b.host() + ":" + b.port();
        System.out.println("java-client: two adrnorm serve replicas (SYNTHETIC demo model and dictionary) at " + addrA + ", "
                + addrB + "; on a small machine they share its cores: figures as measured, " + Runtime.getRuntime().availableProcessors()
                + " cores here");
        try {
            AdrnormClient.Builder base = AdrnormClient.builder().trustCertificates(ca).keyPair(cert, key)
                    .reconnectBackoff(Duration.ofMillis(100), Duration.ofSeconds(2));
            double one;
            try (AdrnormClient c = base.addresses(addrA).build()) {
                one = measure(c, "one replica", mentions, count, runs, topK, true);
            }
            double two;
            try (AdrnormClient c = base.addresses(addrA, addrB).build()) {
                two = measure(c, "two replicas", mentions, count, runs, topK, true);
                long[] pause = {0};
                double rate = run(c, mentions, count, topK, true, b::kill, pause);
                System.out.printf("java-client: replica %s killed (SIGKILL) halfway through a stream of %d mentions: all answered,"
                        + " in order, %.1f mentions/s overall; longest pause in the ordered output after the kill %.0f ms"
                        + " (detecting the dead server and re-sending its unanswered mentions to the other)%n",
                        addrB, count, rate, pause[0] / 1e6);
            }
            System.out.printf("java-client: two replicas / one replica = %.2f%n", two / one);
        } finally {
            a.close();
            b.close();
        }
    }
}
