package dev.adrnorm.client;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import dev.adrnorm.v1.HealthRequest;
import dev.adrnorm.v1.HealthResponse;
import dev.adrnorm.v1.InfoRequest;
import dev.adrnorm.v1.InfoResponse;
import dev.adrnorm.v1.NormalizeRequest;
import dev.adrnorm.v1.NormalizeResponse;
import dev.adrnorm.v1.RetrieveRequest;
import dev.adrnorm.v1.RetrieveResponse;
import dev.adrnorm.v1.ScoreRequest;
import dev.adrnorm.v1.ScoreResponse;
import dev.adrnorm.wire.v1.Frame;
import dev.adrnorm.wire.v1.HalfClose;
import dev.adrnorm.wire.v1.Message;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.stream.Stream;

/**
 * A client of one or several adrnorm servers ({@code adrnorm.v1.Normalizer}, docs/PROTOCOL.md §The service), over one
 * mutually authenticated TLS 1.3 connection (ALPN {@code adrn/1}) per server. Thread-safe: any number
 * of threads may call it at once; their calls are multiplexed as streams on the connections. Each call
 * goes to the server with the fewest outstanding pairs; a server that sends GoAway (drains) or whose
 * connection is lost gets no new calls, and the client connects to it again in the background (capped
 * exponential backoff with jitter). Build it with {@link #builder()}, close it when done.
 *
 * <pre>{@code
 * try (AdrnormClient client = AdrnormClient.builder()
 *         .address("127.0.0.1", 8443)
 *         .trustCertificates(Path.of("Certs/out/ca.pem"))
 *         .keyPair(Path.of("Certs/out/client-a.pem"), Path.of("Certs/out/client-a.key"))
 *         .timeout(Duration.ofSeconds(30))
 *         .build()) {
 *     NormalizeResponse r = client.normalize("吃完药后一直犯困头晕");
 * }
 * }</pre>
 *
 * Every method throws {@link AdrnormException} on failure, with the server's status code (for
 * example {@code INVALID_ARGUMENT} for an empty mention) or a local one ({@code DEADLINE_EXCEEDED},
 * {@code UNAVAILABLE}). A unary call that fails with {@code UNAVAILABLE} before any response (its
 * server died or refused it while draining) is sent once more, to another server when there is one;
 * a {@link NormalizeStream} re-sends its unanswered requests likewise. Every method of the service
 * is read-only, so a repeat does no harm.
 */
public final class AdrnormClient implements AutoCloseable {
    static final String SERVICE = "/adrnorm.v1.Normalizer/";

    private final ServerPool pool;
    private final long defaultTimeoutMillis;

    private AdrnormClient(ServerPool pool, long defaultTimeoutMillis) {
        this.pool = pool;
        this.defaultTimeoutMillis = defaultTimeoutMillis;
    }

    public static Builder builder() {
        return new Builder();
    }

    // ---- unary methods ----

    /** BM25 (or exact) top-k candidates for one mention. */
    public RetrieveResponse retrieve(RetrieveRequest request) {
        return retrieve(request, null);
    }

    public RetrieveResponse retrieve(RetrieveRequest request, Duration timeout) {
        return unary("Retrieve", request, RetrieveResponse.parser(), timeout, 0);
    }

    /** Cross-encoder probabilities for a batch of (mention, candidate) pairs, in request order. */
    public ScoreResponse score(ScoreRequest request) {
        return score(request, null);
    }

    public ScoreResponse score(ScoreRequest request, Duration timeout) {
        return unary("Score", request, ScoreResponse.parser(), timeout, request == null ? 0 : request.getPairsCount());
    }

    /** The full pipeline for one mention, with the server's defaults. */
    public NormalizeResponse normalize(String mention) {
        return normalize(NormalizeRequest.newBuilder().setMention(mention).build(), null);
    }

    /** The full pipeline for one mention: every PT with probability ≥ threshold. */
    public NormalizeResponse normalize(NormalizeRequest request) {
        return normalize(request, null);
    }

    public NormalizeResponse normalize(NormalizeRequest request, Duration timeout) {
        return unary("Normalize", request, NormalizeResponse.parser(), timeout, request == null ? 0 : pairsOf(request));
    }

    /** The server, model, dictionary and defaults it runs with. */
    public InfoResponse info() {
        return info(null);
    }

    public InfoResponse info(Duration timeout) {
        return unary("Info", InfoRequest.getDefaultInstance(), InfoResponse.parser(), timeout, 0);
    }

    /** SERVING or NOT_SERVING. */
    public HealthResponse health() {
        return health(null);
    }

    public HealthResponse health(Duration timeout) {
        return unary("Health", HealthRequest.getDefaultInstance(), HealthResponse.parser(), timeout, 0);
    }

    // ---- streaming ----

    /**
     * Normalizes many mentions: one response per request, in request order. The requests are
     * pulled from {@code requests} as the servers' credit allows, while responses are read, and
     * spread over the usable servers (one stream on each that gets requests); requests whose
     * server dies or drains before answering them are sent again to another. The call's timeout
     * (the builder's) covers the whole stream.
     */
    public NormalizeStream normalizeStream(Iterator<? extends NormalizeRequest> requests) {
        return new NormalizeStream(pool, Objects.requireNonNull(requests, "requests"), defaultTimeoutMillis);
    }

    /**
     * As {@link #normalizeStream(Iterator)}, with a timeout for the whole stream; {@code null} or
     * zero for none.
     */
    public NormalizeStream normalizeStream(Iterator<? extends NormalizeRequest> requests, Duration timeout) {
        return new NormalizeStream(pool, Objects.requireNonNull(requests, "requests"), millis(timeout, 0));
    }

    /** A {@link Stream} view: {@code normalizeStream(requests.iterator()).stream()}; close it to abandon the call. */
    public Stream<NormalizeResponse> normalizeStream(Stream<? extends NormalizeRequest> requests) {
        return normalizeStream(requests.iterator()).stream().onClose(requests::close);
    }

    /** The name a server gave in its Hello (the first one the client connected to). */
    public String serverName() {
        return pool.firstHello().serverName;
    }

    /** A server's limit on streams open at once on a connection (calls beyond it wait). */
    public int maxConcurrentStreams() {
        return pool.firstHello().maxConcurrentStreams;
    }

    /** The servers' addresses as given to the builder ({@code host:port}). */
    public List<String> addresses() {
        List<String> a = new ArrayList<>();
        for (ServerPool.Endpoint e : pool.endpoints) a.add(e.address);
        return a;
    }

    /** Closes every connection; calls still running fail with {@code CANCELLED}. Idempotent. */
    @Override
    public void close() {
        pool.close();
    }

    ServerPool pool() {
        return pool;
    }

    /** The first server's latest connection (usable or not; null if it never connected): for tests. */
    Connection connection() {
        return pool.endpoints.get(0).latest();
    }

    /** The pairs a Normalize (or a stream item) asks the server to score: its top_k, the server's default 100 when 0. */
    static long pairsOf(NormalizeRequest r) {
        return r.getTopK() == 0 ? 100 : Integer.toUnsignedLong(r.getTopK());
    }

    /**
     * One unary call on the server with the fewest outstanding pairs; sent once more, to another
     * server when there is one, if it fails with UNAVAILABLE before any response.
     */
    private <T> T unary(String name, MessageLite request, Parser<T> parser, Duration timeout, long pairs) {
        Objects.requireNonNull(request, "request");
        long timeoutMillis = timeout == null ? defaultTimeoutMillis : millis(timeout, 0);
        long deadlineNanos = ClientCall.deadlineFor(timeoutMillis);
        ServerPool.Endpoint failed = null;
        AdrnormException first = null;
        for (int attempt = 1; ; attempt++) {
            ServerPool.Pick p;
            try {
                p = pool.pick(failed, deadlineNanos, name, pairs); // counts the call on its server
            } catch (AdrnormException noServer) {
                if (first == null) throw noServer;
                first.addSuppressed(noServer); // the first failure says more than "no server for the retry"
                throw first;
            }
            boolean[] answered = {false};
            try {
                return unaryOn(p.connection(), name, request, parser, deadlineNanos, timeoutMillis, answered);
            } catch (AdrnormException e) {
                if (first != null) e.addSuppressed(first);
                if (attempt >= 2 || e.code() != Status.Code.UNAVAILABLE || answered[0]) throw e;
                first = e;
                failed = p.endpoint();
            } finally {
                p.endpoint().outstandingPairs.addAndGet(-pairs);
                p.endpoint().outstandingCalls.decrementAndGet();
            }
        }
    }

    static <T> T unaryOn(Connection connection, String name, MessageLite request, Parser<T> parser, long deadlineNanos,
                         long timeoutMillis) {
        return unaryOn(connection, name, request, parser, deadlineNanos, timeoutMillis, new boolean[1]);
    }

    /** One attempt of a unary call on {@code connection}; {@code answered[0]} tells whether a response came. */
    private static <T> T unaryOn(Connection connection, String name, MessageLite request, Parser<T> parser, long deadlineNanos,
                                 long timeoutMillis, boolean[] answered) {
        ByteString payload = request.toByteString();
        connection.checkPayloadSize(payload, name + " request");
        ClientCall call = new ClientCall(connection, SERVICE + name, timeoutMillis, deadlineNanos, connection.initialStreamCredit, null);
        try {
            if (call.takeCredit(1) == 1) {
                connection.start(call, payload, true);
            } else {
                // A server that gives no initial credit: open, wait for credit, then send.
                connection.start(call, null, false);
                while (call.takeCredit(1) == 0) {
                    long seen = call.version();
                    Status end = call.drainedEnd();
                    if (end != null) throw end.isOk() ? noResponse(name) : call.failure(end);
                    if (call.credit() == 0 && !call.awaitChange(seen)) throw deadline(call);
                }
                connection.send(call, List.of(
                        Frame.newBuilder().setStreamId(call.streamId).setMessage(Message.newBuilder().setPayload(payload)).build(),
                        Frame.newBuilder().setStreamId(call.streamId).setHalfClose(HalfClose.getDefaultInstance()).build()));
            }
            ByteString response = null;
            while (true) {
                long seen = call.version();
                ByteString p = call.poll();
                if (p != null) {
                    if (response != null) {
                        call.abandon(new Status(Status.Code.CANCELLED, "a second response to a unary call"));
                        throw new AdrnormException(Status.Code.INTERNAL, "the server sent more than one response to " + name);
                    }
                    response = p;
                    answered[0] = true;
                    continue;
                }
                Status end = call.drainedEnd();
                if (end != null) {
                    if (!end.isOk()) throw call.failure(end);
                    if (response == null) throw noResponse(name);
                    try {
                        return parser.parseFrom(response);
                    } catch (InvalidProtocolBufferException e) {
                        throw new AdrnormException(Status.Code.INTERNAL, "the server's " + name + " response is not valid: "
                                + e.getMessage(), e);
                    }
                }
                if (!call.awaitChange(seen)) throw deadline(call);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            call.abandon(new Status(Status.Code.CANCELLED, "the calling thread was interrupted"));
            throw new AdrnormException(Status.Code.CANCELLED, name + " was interrupted", e);
        }
    }

    private static AdrnormException noResponse(String name) {
        return new AdrnormException(Status.Code.INTERNAL, "the server ended " + name + " with OK but sent no response");
    }

    private static AdrnormException deadline(ClientCall call) {
        AdrnormException e = call.deadlineExceeded();
        call.abandon(e.status());
        return e;
    }

    static long millis(Duration d, long ifNull) {
        if (d == null) return ifNull;
        if (d.isNegative()) throw new AdrnormException(Status.Code.INVALID_ARGUMENT, "a timeout cannot be negative: " + d);
        if (d.isZero()) return 0;
        try {
            return Math.max(1, d.toMillis());
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE / 4;
        }
    }

    /**
     * Settings for {@link AdrnormClient}: {@link #address} and {@link #trustCertificates} are
     * required; {@link #keyPair} is required by servers that check client certificates (the
     * default). {@link #build()} connects, so a bad address, file or certificate fails there.
     */
    public static final class Builder {
        private final List<String[]> addresses = new ArrayList<>();
        private Path ca;
        private Path cert;
        private Path key;
        private Duration timeout;
        private Duration connectTimeout = Duration.ofSeconds(10);
        private Duration keepAlive = Duration.ofSeconds(30);
        private Duration keepAliveTimeout = Duration.ofSeconds(20);
        private String clientName = "adrnorm-java/0.1";
        private Duration backoffInitial = Duration.ofMillis(100);
        private Duration backoffMax = Duration.ofSeconds(5);
        private Duration serverWait = Duration.ofSeconds(10);

        private Builder() {}

        /** The one server to use (replaces earlier addresses). */
        public Builder address(String host, int port) {
            addresses.clear();
            addresses.add(checked(Objects.requireNonNull(host, "host"), port));
            return this;
        }

        /**
         * The servers to use, each {@code host:port} (an IPv6 address as {@code [::1]:7443}); replaces
         * earlier addresses. The client keeps one connection to each.
         */
        public Builder addresses(String... hostPorts) {
            return addresses(List.of(hostPorts));
        }

        /** As {@link #addresses(String...)}. */
        public Builder addresses(Collection<String> hostPorts) {
            List<String[]> parsed = new ArrayList<>();
            for (String a : hostPorts) parsed.add(parse(Objects.requireNonNull(a, "address")));
            if (parsed.isEmpty()) throw new AdrnormException(Status.Code.INVALID_ARGUMENT, "addresses: give at least one host:port");
            for (int i = 0; i < parsed.size(); i++) {
                for (int j = 0; j < i; j++) {
                    if (parsed.get(i)[0].equals(parsed.get(j)[0]) && parsed.get(i)[1].equals(parsed.get(j)[1])) {
                        throw new AdrnormException(Status.Code.INVALID_ARGUMENT, "addresses: " + parsed.get(i)[0] + ":"
                                + parsed.get(i)[1] + " is given twice");
                    }
                }
            }
            addresses.clear();
            addresses.addAll(parsed);
            return this;
        }

        private static String[] parse(String hostPort) {
            String a = hostPort.strip();
            int colon = a.lastIndexOf(':');
            String host = colon > 0 ? a.substring(0, colon) : "";
            if (host.startsWith("[") && host.endsWith("]")) {
                host = host.substring(1, host.length() - 1);
            } else if (host.indexOf(':') >= 0) {
                host = ""; // an IPv6 address without brackets: the port is ambiguous
            }
            int port;
            try {
                port = colon > 0 ? Integer.parseInt(a.substring(colon + 1)) : -1;
            } catch (NumberFormatException e) {
                port = -1;
            }
            if (host.isEmpty() || port < 0) {
                throw new AdrnormException(Status.Code.INVALID_ARGUMENT, "address \"" + hostPort
                        + "\" is not host:port (an IPv6 address in brackets: [::1]:7443)");
            }
            return checked(host, port);
        }

        private static String[] checked(String host, int port) {
            if (port <= 0 || port > 65535) {
                throw new AdrnormException(Status.Code.INVALID_ARGUMENT, "port " + port + " is not in 1..65535");
            }
            if (host.isEmpty()) throw new AdrnormException(Status.Code.INVALID_ARGUMENT, "the host is empty");
            return new String[] {host, Integer.toString(port)};
        }

        /**
         * Reconnection after a GoAway or a lost connection (and after a failed first connection):
         * the first attempt waits {@code initial} (default 100 ms), each failed one doubles the wait
         * up to {@code max} (default 5 s); every wait is varied by ±20 % so that clients do not
         * reconnect in step.
         */
        public Builder reconnectBackoff(Duration initial, Duration max) {
            if (millis(initial, 0) == 0 || millis(max, 0) == 0 || max.compareTo(initial) < 0) {
                throw new AdrnormException(Status.Code.INVALID_ARGUMENT, "reconnectBackoff: initial and max must be positive, max ≥ initial");
            }
            this.backoffInitial = initial;
            this.backoffMax = max;
            return this;
        }

        /**
         * How long a call waits for a usable server when none is connected (default 10 s; the
         * call's own timeout ends the wait sooner). After it the call fails with UNAVAILABLE,
         * naming each server's last error; zero fails at once.
         */
        public Builder serverWait(Duration wait) {
            millis(wait, 0);
            this.serverWait = wait == null ? Duration.ZERO : wait;
            return this;
        }

        /** PEM file of the CA(s) that the server's certificate must chain to. */
        public Builder trustCertificates(Path caPem) {
            this.ca = Objects.requireNonNull(caPem, "caPem");
            return this;
        }

        /** The client's PEM certificate (chain) and its unencrypted PEM private key (PKCS#8, EC or RSA). */
        public Builder keyPair(Path certPem, Path keyPem) {
            this.cert = Objects.requireNonNull(certPem, "certPem");
            this.key = Objects.requireNonNull(keyPem, "keyPem");
            return this;
        }

        /** Default timeout of every call (a NormalizeStream's covers the whole stream); null or zero for none. */
        public Builder timeout(Duration timeout) {
            millis(timeout, 0);
            this.timeout = timeout;
            return this;
        }

        /** Time allowed for TCP connect, TLS handshake and the Hellos (default 10 s). */
        public Builder connectTimeout(Duration connectTimeout) {
            if (millis(connectTimeout, 0) == 0) {
                throw new AdrnormException(Status.Code.INVALID_ARGUMENT, "connectTimeout must be positive");
            }
            this.connectTimeout = connectTimeout;
            return this;
        }

        /**
         * Sends a Ping after {@code interval} without frames from the server (default 30 s) and
         * closes the connection, failing its calls with {@code UNAVAILABLE}, when no Pong comes within
         * {@code timeout} (default 20 s). A zero interval turns this off.
         */
        public Builder keepAlive(Duration interval, Duration timeout) {
            millis(interval, 0);
            if (millis(timeout, 0) == 0) {
                throw new AdrnormException(Status.Code.INVALID_ARGUMENT, "the keep-alive timeout must be positive");
            }
            this.keepAlive = interval == null ? Duration.ZERO : interval;
            this.keepAliveTimeout = timeout;
            return this;
        }

        /** A name for the server's logs (default "adrnorm-java/0.1"). */
        public Builder clientName(String clientName) {
            this.clientName = Objects.requireNonNull(clientName, "clientName");
            return this;
        }

        /**
         * Loads the PEM files and connects to every server at once (Hellos, then a Health call);
         * returns as soon as one is usable, the others being tried on in the background. Fails only
         * when every server failed, with each one's error.
         */
        public AdrnormClient build() {
            if (addresses.isEmpty()) {
                throw new AdrnormException(Status.Code.INVALID_ARGUMENT, "no address: call address(host, port) or addresses(\"host:port\", …)");
            }
            if (ca == null) {
                throw new AdrnormException(Status.Code.INVALID_ARGUMENT, "no CA: call trustCertificates(caPem) with the CA that signed the server's certificate");
            }
            var ctx = PemFiles.sslContext(ca, cert, key);
            long connectMillis = millis(connectTimeout, 10_000);
            long keepAliveMillis = millis(keepAlive, 0);
            long keepAliveTimeoutMillis = millis(keepAliveTimeout, 20_000);
            String caFile = ca.toString();
            String certFile = cert == null ? null : cert.toString();
            String name = clientName;
            ServerPool pool = new ServerPool(List.copyOf(addresses), new ServerPool.SettingsFactory() {
                @Override
                public Connection.Settings apply(ServerPool.Endpoint e) {
                    return new Connection.Settings(e.host, e.port, ctx, caFile, certFile, connectMillis, keepAliveMillis,
                            keepAliveTimeoutMillis, name);
                }

                @Override
                public long connectTimeoutMillis() {
                    return connectMillis;
                }
            }, millis(backoffInitial, 100), millis(backoffMax, 5000), millis(serverWait, 0));
            pool.connectAll();
            return new AdrnormClient(pool, millis(timeout, 0));
        }
    }
}
