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
 * alone costs.
 *
 * <pre>
 * --server HOST:PORT   the server (default: an in-process fake)
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
        String server = null;
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
                case "--server" -> server = v;
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

        FakeServer fake = null;
        String host;
        int port;
        if (server == null) {
            fake = new FakeServer(certs, 64, 64, 4 * 1024 * 1024 + 1024);
            host = fake.host();
            port = fake.port();
        } else {
            int colon = server.lastIndexOf(':');
            host = server.substring(0, colon);
            port = Integer.parseInt(server.substring(colon + 1));
        }
        try (AdrnormClient client = AdrnormClient.builder().address(host, port).trustCertificates(ca).keyPair(cert, key).build()) {
            String target = fake != null ? "in-process fake server" : client.serverName() + " at " + server;
            run(client, mentions, Math.min(count, 2000), topK); // warm-up: JIT, server caches
            double best = 0;
            double sum = 0;
            for (int r = 0; r < runs; r++) {
                double rate = run(client, mentions, count, topK);
                best = Math.max(best, rate);
                sum += rate;
                System.out.printf("java-client run %d: %d mentions, %.1f mentions/s%n", r + 1, count, rate);
            }
            System.out.printf("java-client: %.1f mentions/s (mean of %d runs; best %.1f) against %s, %d distinct mentions, top_k %s%n",
                    sum / runs, runs, best, target, mentions.size(), topK == 0 ? "server default" : topK);
        } finally {
            if (fake != null) fake.close();
        }
    }

    private static double run(AdrnormClient client, List<String> mentions, int count, int topK) {
        Iterator<NormalizeRequest> requests = IntStream.range(0, count).mapToObj(i -> NormalizeRequest.newBuilder()
                .setId(Integer.toString(i)).setMention(mentions.get(i % mentions.size())).setTopK(topK).build()).iterator();
        long start = System.nanoTime();
        NormalizeStream s = client.normalizeStream(requests, Duration.ZERO);
        int n = 0;
        int errors = 0;
        while (s.hasNext()) {
            if (s.next().hasError()) errors++;
            n++;
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        if (n != count) throw new IllegalStateException("got " + n + " responses for " + count + " requests");
        if (errors > 0) System.err.println("java-client: " + errors + " item-level errors");
        return n / seconds;
    }
}
