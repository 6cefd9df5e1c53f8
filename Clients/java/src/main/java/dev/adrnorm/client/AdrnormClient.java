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
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.stream.Stream;

/**
 * A client of the adrnorm server ({@code adrnorm.v1.Normalizer}, docs/PROTOCOL.md §The service) over one mutually
 * authenticated TLS 1.3 connection (ALPN {@code adrn/1}). Thread-safe: any number of threads may
 * call it at once; their calls are multiplexed as streams on the one connection. Build it with
 * {@link #builder()}, close it when done.
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
 * {@code UNAVAILABLE}). After the server's GoAway, calls already started finish and new ones fail
 * with {@code UNAVAILABLE}: build a new client to go on.
 */
public final class AdrnormClient implements AutoCloseable {
    static final String SERVICE = "/adrnorm.v1.Normalizer/";

    private final Connection connection;
    private final long defaultTimeoutMillis;

    private AdrnormClient(Connection connection, long defaultTimeoutMillis) {
        this.connection = connection;
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
        return unary("Retrieve", request, RetrieveResponse.parser(), timeout);
    }

    /** Cross-encoder probabilities for a batch of (mention, candidate) pairs, in request order. */
    public ScoreResponse score(ScoreRequest request) {
        return score(request, null);
    }

    public ScoreResponse score(ScoreRequest request, Duration timeout) {
        return unary("Score", request, ScoreResponse.parser(), timeout);
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
        return unary("Normalize", request, NormalizeResponse.parser(), timeout);
    }

    /** The server, model, dictionary and defaults it runs with. */
    public InfoResponse info() {
        return info(null);
    }

    public InfoResponse info(Duration timeout) {
        return unary("Info", InfoRequest.getDefaultInstance(), InfoResponse.parser(), timeout);
    }

    /** SERVING or NOT_SERVING. */
    public HealthResponse health() {
        return health(null);
    }

    public HealthResponse health(Duration timeout) {
        return unary("Health", HealthRequest.getDefaultInstance(), HealthResponse.parser(), timeout);
    }

    // ---- streaming ----

    /**
     * Normalizes many mentions on one stream: one response per request, in request order. The
     * requests are pulled from {@code requests} as the server's credit allows, while responses are
     * read; the call's timeout (the builder's) covers the whole stream.
     */
    public NormalizeStream normalizeStream(Iterator<? extends NormalizeRequest> requests) {
        return new NormalizeStream(connection, Objects.requireNonNull(requests, "requests"), defaultTimeoutMillis);
    }

    /**
     * As {@link #normalizeStream(Iterator)}, with a timeout for the whole stream; {@code null} or
     * zero for none.
     */
    public NormalizeStream normalizeStream(Iterator<? extends NormalizeRequest> requests, Duration timeout) {
        return new NormalizeStream(connection, Objects.requireNonNull(requests, "requests"), millis(timeout, 0));
    }

    /** A {@link Stream} view: {@code normalizeStream(requests.iterator()).stream()}; close it to abandon the call. */
    public Stream<NormalizeResponse> normalizeStream(Stream<? extends NormalizeRequest> requests) {
        return normalizeStream(requests.iterator()).stream().onClose(requests::close);
    }

    /** The server's name from its Hello. */
    public String serverName() {
        return connection.serverName;
    }

    /** The server's limit on streams open at once on a connection (calls beyond it wait). */
    public int maxConcurrentStreams() {
        return connection.maxConcurrentStreams;
    }

    /** Closes the connection; calls still running fail with {@code CANCELLED}. Idempotent. */
    @Override
    public void close() {
        connection.close();
    }

    Connection connection() {
        return connection;
    }

    private <T> T unary(String name, MessageLite request, Parser<T> parser, Duration timeout) {
        Objects.requireNonNull(request, "request");
        ByteString payload = request.toByteString();
        connection.checkPayloadSize(payload, name + " request");
        ClientCall call = new ClientCall(connection, SERVICE + name, timeout == null ? defaultTimeoutMillis : millis(timeout, 0),
                connection.initialStreamCredit);
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
        private String host;
        private int port;
        private Path ca;
        private Path cert;
        private Path key;
        private Duration timeout;
        private Duration connectTimeout = Duration.ofSeconds(10);
        private Duration keepAlive = Duration.ofSeconds(30);
        private Duration keepAliveTimeout = Duration.ofSeconds(20);
        private String clientName = "adrnorm-java/0.1";

        private Builder() {}

        public Builder address(String host, int port) {
            if (port <= 0 || port > 65535) {
                throw new AdrnormException(Status.Code.INVALID_ARGUMENT, "port " + port + " is not in 1..65535");
            }
            this.host = Objects.requireNonNull(host, "host");
            this.port = port;
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

        /** Loads the PEM files, connects and exchanges Hellos. */
        public AdrnormClient build() {
            if (host == null) throw new AdrnormException(Status.Code.INVALID_ARGUMENT, "no address: call address(host, port)");
            if (ca == null) {
                throw new AdrnormException(Status.Code.INVALID_ARGUMENT, "no CA: call trustCertificates(caPem) with the CA that signed the server's certificate");
            }
            var ctx = PemFiles.sslContext(ca, cert, key);
            Connection c = Connection.open(new Connection.Settings(host, port, ctx, ca.toString(),
                    cert == null ? null : cert.toString(), millis(connectTimeout, 10_000), millis(keepAlive, 0),
                    millis(keepAliveTimeout, 20_000), clientName));
            return new AdrnormClient(c, millis(timeout, 0));
        }
    }
}
