package dev.adrnorm.client;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.adrnorm.v1.HealthResponse;
import dev.adrnorm.v1.InfoResponse;
import dev.adrnorm.v1.ItemError;
import dev.adrnorm.v1.MatchedTerm;
import dev.adrnorm.v1.ModelInfo;
import dev.adrnorm.v1.NormalizeRequest;
import dev.adrnorm.v1.NormalizeResponse;
import dev.adrnorm.v1.PairScore;
import dev.adrnorm.v1.PreferredTerm;
import dev.adrnorm.v1.RetrieveRequest;
import dev.adrnorm.v1.RetrieveResponse;
import dev.adrnorm.v1.RetrievedCandidate;
import dev.adrnorm.v1.ScorePair;
import dev.adrnorm.v1.ScoreRequest;
import dev.adrnorm.v1.ScoreResponse;
import dev.adrnorm.v1.ScoredCandidate;
import dev.adrnorm.v1.Scorer;
import dev.adrnorm.wire.v1.Code;
import dev.adrnorm.wire.v1.Credit;
import dev.adrnorm.wire.v1.Frame;
import dev.adrnorm.wire.v1.GoAway;
import dev.adrnorm.wire.v1.Hello;
import dev.adrnorm.wire.v1.Message;
import dev.adrnorm.wire.v1.Ping;
import dev.adrnorm.wire.v1.Pong;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.SocketException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;

/**
 * A small adrnorm server for the client's tests: TLS 1.3 with ALPN adrn/1 and required client
 * certificates (the dev CA), the framing, Hello, credit-based flow control (a client that sends
 * beyond its credit gets RESOURCE_EXHAUSTED and is counted), Status, Cancel, deadlines, Ping/Pong,
 * and canned answers over a five-PT dictionary. Test hooks: GoAway, killing every connection,
 * going mute (reading nothing, answering nothing), a server-side Ping, and mentions of the form
 * "sleep:MS" that take MS milliseconds to answer.
 */
final class FakeServer implements TestServer {
    static final List<PreferredTerm> TERMS = List.of(
            term("10019211", "头痛", "头部疼痛", "神经系统疾病"),
            term("10013573", "头晕", "眩晕感", "神经系统疾病"),
            term("10041349", "嗜睡", "犯困", "神经系统疾病"),
            term("10028813", "恶心", "想吐", "胃肠系统疾病"),
            term("10037087", "皮疹", "红疹", "皮肤及皮下组织类疾病"));

    final int initialCredit;
    final int maxConcurrentStreams;
    final int maxFrameBytes;
    final AtomicInteger creditViolations = new AtomicInteger();
    final AtomicInteger pingsReceived = new AtomicInteger();
    final AtomicInteger pongsReceived = new AtomicInteger();
    final AtomicInteger streamsOpened = new AtomicInteger();
    final AtomicInteger cancelsReceived = new AtomicInteger();
    volatile boolean mute;

    private final SSLServerSocket listener;
    private final List<Conn> conns = new CopyOnWriteArrayList<>();
    private final Thread acceptor;
    private volatile boolean stopped;

    FakeServer(Path certs) {
        this(certs, 8, 64, 4 * 1024 * 1024 + 1024);
    }

    /** Serves on 127.0.0.1:PORT until killed: {@code java … dev.adrnorm.client.FakeServer [PORT]} (default 7443). */
    public static void main(String[] args) throws InterruptedException {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 7443;
        FakeServer s = new FakeServer(TestServer.certs(), 8, 64, 4 * 1024 * 1024 + 1024, port);
        System.err.println("fake adrnorm server on 127.0.0.1:" + s.port());
        Thread.currentThread().join();
    }

    FakeServer(Path certs, int initialCredit, int maxConcurrentStreams, int maxFrameBytes) {
        this(certs, initialCredit, maxConcurrentStreams, maxFrameBytes, 0);
    }

    FakeServer(Path certs, int initialCredit, int maxConcurrentStreams, int maxFrameBytes, int port) {
        this.initialCredit = initialCredit;
        this.maxConcurrentStreams = maxConcurrentStreams;
        this.maxFrameBytes = maxFrameBytes;
        SSLContext ctx = PemFiles.sslContext(certs.resolve("ca.pem"), certs.resolve("server.pem"), certs.resolve("server.key"));
        try {
            listener = (SSLServerSocket) ctx.getServerSocketFactory().createServerSocket(port, 50, InetAddress.getByName("127.0.0.1"));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        SSLParameters p = listener.getSSLParameters();
        p.setProtocols(new String[] {"TLSv1.3"});
        p.setApplicationProtocols(new String[] {"adrn/1"});
        p.setNeedClientAuth(true);
        listener.setSSLParameters(p);
        acceptor = new Thread(this::acceptLoop, "fake-acceptor");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    private static PreferredTerm term(String code, String pt, String llt, String soc) {
        return PreferredTerm.newBuilder().setPtCode(code).setPtName(pt).addLltNames(llt)
                .setHltName(pt + "类").setHlgtName(pt + "组").setSocName(soc).build();
    }

    @Override
    public String host() {
        return "127.0.0.1";
    }

    @Override
    public int port() {
        return listener.getLocalPort();
    }

    /** Sends GoAway(last_stream_id = the highest stream opened, or {@code lastStreamId} when ≥ 0) on every connection. */
    void goAway(long lastStreamId) {
        for (Conn c : conns) c.goAway(lastStreamId < 0 ? c.highestStream : (int) lastStreamId);
    }

    /** The highest stream id any connection opened. */
    int highestStream() {
        int h = 0;
        for (Conn c : conns) h = Math.max(h, c.highestStream);
        return h;
    }

    /** Sends a Ping on every connection and waits up to {@code ms} for as many Pongs. */
    boolean pingClients(long ms) throws InterruptedException {
        int before = pongsReceived.get();
        for (Conn c : conns) c.write(Frame.newBuilder().setPing(Ping.newBuilder().setPayload(ByteString.copyFromUtf8("fake"))).build());
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
        while (System.nanoTime() < until) {
            if (pongsReceived.get() - before >= conns.size()) return true;
            Thread.sleep(5);
        }
        return false;
    }

    /** Ends every connection at once (RST) and stops listening, as a killed process would. */
    @Override
    public void kill() {
        synchronized (conns) {
            stopped = true;
        }
        try {
            listener.close();
        } catch (IOException ignored) {
            // closing
        }
        for (Conn c : conns) {
            c.graceful = false;
            c.kill();
        }
    }

    /**
     * Stops gracefully, like {@code adrnorm serve} on SIGTERM: no new connections, GoAway on every
     * connection, the accepted calls finish, then TLS close_notify and FIN; waits up to 10 s for the
     * clients to close.
     */
    @Override
    public void terminate() {
        stopped = true;
        try {
            listener.close();
        } catch (IOException ignored) {
            // closing
        }
        for (Conn c : conns) {
            c.graceful = true;
            c.goAway(c.highestStream);
        }
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        try {
            while (!conns.isEmpty() && System.nanoTime() < until) Thread.sleep(10);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        stopped = true;
        try {
            listener.close();
        } catch (IOException ignored) {
            // closing
        }
        kill();
    }

    private void acceptLoop() {
        while (!stopped) {
            try {
                SSLSocket s = (SSLSocket) listener.accept();
                Conn c = new Conn(s);
                synchronized (conns) {
                    if (stopped) {
                        // accepted just as kill() ran: a killed server would never have served it
                        s.setSoLinger(true, 0);
                        s.close();
                        return;
                    }
                    conns.add(c);
                }
                Thread t = new Thread(c::run, "fake-conn");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                if (stopped) return;
            }
        }
    }

    /** One client connection: this thread reads; each stream has a worker thread that answers in order. */
    private final class Conn {
        final SSLSocket socket;
        OutputStream out;
        final Map<Integer, FakeStream> streams = new ConcurrentHashMap<>();
        volatile int highestStream;
        volatile Integer goAwayLast;
        /** kill() ends with close_notify and FIN, then reads until the client closes (terminate()). */
        volatile boolean graceful;
        private boolean outputShut;

        Conn(SSLSocket socket) {
            this.socket = socket;
        }

        void run() {
            try {
                socket.setTcpNoDelay(true);
                socket.startHandshake();
            } catch (IOException refused) {
                // A refused certificate: the alert is sent; close gracefully so that the client reads it.
                conns.remove(this);
                try {
                    socket.close();
                } catch (IOException ignored) {
                    // closing anyway
                }
                return;
            }
            try {
                out = new BufferedOutputStream(socket.getOutputStream(), 65536);
                DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), 65536));
                Frame hello = read(in);
                if (hello.getKindCase() != Frame.KindCase.HELLO) throw new IOException("no Hello first");
                write(Frame.newBuilder().setHello(Hello.newBuilder().setProtocolVersion(1).setServerName("fake-adrnorm/test")
                        .setMaxFrameBytes(maxFrameBytes).setMaxConcurrentStreams(maxConcurrentStreams)
                        .setInitialStreamCredit(initialCredit)).build());
                while (true) {
                    Frame f = read(in);
                    while (mute) Thread.sleep(50);
                    handle(f);
                }
            } catch (IOException | RuntimeException | InterruptedException e) {
                kill();
            }
        }

        Frame read(DataInputStream in) throws IOException {
            int n = in.readInt();
            if (n <= 0 || n > maxFrameBytes) throw new IOException("bad frame length " + n);
            byte[] b = new byte[n];
            in.readFully(b);
            return Frame.parseFrom(b);
        }

        void write(Frame f) {
            if (mute) return;
            synchronized (this) {
                try {
                    out.write(Connection.encode(f));
                    out.flush();
                } catch (IOException | NullPointerException e) {
                    kill();
                }
            }
        }

        void handle(Frame f) {
            int id = f.getStreamId();
            switch (f.getKindCase()) {
                case CALL -> {
                    if (goAwayLast != null && id > goAwayLast) return; // not processed, as GoAway said
                    if (id <= highestStream) throw new IllegalStateException("stream id " + id + " not increasing");
                    highestStream = id;
                    streamsOpened.incrementAndGet();
                    FakeStream s = new FakeStream(this, id, f.getCall());
                    streams.put(id, s);
                    if (f.getCall().hasPayload()) s.offer(f.getCall().getPayload());
                    if (f.getCall().getHalfClose()) s.halfClose();
                    s.start();
                }
                case MESSAGE -> {
                    FakeStream s = streams.get(id);
                    if (s != null) s.offer(f.getMessage().getPayload());
                }
                case HALF_CLOSE -> {
                    FakeStream s = streams.get(id);
                    if (s != null) s.halfClose();
                }
                case CANCEL -> {
                    cancelsReceived.incrementAndGet();
                    FakeStream s = streams.get(id);
                    if (s != null) s.cancel();
                }
                case PING -> {
                    pingsReceived.incrementAndGet();
                    write(Frame.newBuilder().setPong(Pong.newBuilder().setPayload(f.getPing().getPayload())).build());
                }
                case PONG -> pongsReceived.incrementAndGet();
                default -> throw new IllegalStateException("unexpected " + f.getKindCase());
            }
        }

        void goAway(int last) {
            goAwayLast = last;
            write(Frame.newBuilder().setGoaway(GoAway.newBuilder().setLastStreamId(last).setCode(Code.UNAVAILABLE)
                    .setMessage("fake server shutting down")).build());
            maybeCloseAfterGoAway();
        }

        void streamDone(int id) {
            streams.remove(id);
            maybeCloseAfterGoAway();
        }

        void maybeCloseAfterGoAway() {
            if (goAwayLast != null && streams.keySet().stream().noneMatch(k -> k <= goAwayLast)) kill();
        }

        void kill() {
            if (graceful) {
                synchronized (this) {
                    if (!outputShut) {
                        outputShut = true;
                        try {
                            if (out != null) out.flush();
                            socket.shutdownOutput(); // TLS close_notify, then FIN
                            return;
                        } catch (IOException e) {
                            // close at once, below
                        }
                    }
                }
            }
            conns.remove(this);
            try {
                socket.setSoLinger(true, 0);
            } catch (SocketException ignored) {
                // closing anyway
            }
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing anyway
            }
            for (FakeStream s : streams.values()) s.cancel();
        }
    }

    private static final ByteString HALF_CLOSE = ByteString.copyFromUtf8("\u0000half-close");
    private static final ByteString CANCEL = ByteString.copyFromUtf8("\u0000cancel");

    /** One stream: its worker takes requests in order and answers each. */
    private final class FakeStream {
        final Conn conn;
        final int id;
        final String method;
        final long deadlineNanos;
        final LinkedBlockingQueue<ByteString> inbox = new LinkedBlockingQueue<>();
        final AtomicInteger credit = new AtomicInteger(initialCredit);
        volatile boolean ended;

        FakeStream(Conn conn, int id, dev.adrnorm.wire.v1.Call call) {
            this.conn = conn;
            this.id = id;
            this.method = call.getMethod();
            this.deadlineNanos = call.getTimeoutMs() == 0 ? 0 : System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Integer.toUnsignedLong(call.getTimeoutMs()));
        }

        void offer(ByteString payload) {
            if (credit.decrementAndGet() < 0) {
                creditViolations.incrementAndGet();
                end(Code.RESOURCE_EXHAUSTED, "stream " + id + ": message beyond the stream's credit");
                return;
            }
            inbox.add(payload);
        }

        void halfClose() {
            inbox.add(HALF_CLOSE);
        }

        void cancel() {
            inbox.add(CANCEL);
        }

        void start() {
            Thread t = new Thread(this::work, "fake-stream-" + id);
            t.setDaemon(true);
            t.start();
        }

        void end(Code code, String message) {
            synchronized (this) {
                if (ended) return;
                ended = true;
            }
            conn.write(Frame.newBuilder().setStreamId(id).setStatus(dev.adrnorm.wire.v1.Status.newBuilder()
                    .setCode(code).setMessage(message)).build());
            conn.streamDone(id);
        }

        void work() {
            boolean unary = !method.endsWith("/NormalizeStream");
            int answered = 0;
            try {
                while (!ended) {
                    ByteString p;
                    if (deadlineNanos == 0) {
                        p = inbox.take();
                    } else {
                        p = inbox.poll(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
                        if (p == null) {
                            end(Code.DEADLINE_EXCEEDED, "deadline exceeded");
                            return;
                        }
                    }
                    if (p == CANCEL) {
                        end(Code.CANCELLED, "cancelled by the client");
                        return;
                    }
                    if (p == HALF_CLOSE) {
                        if (unary && answered == 0) end(Code.INVALID_ARGUMENT, "unary call without a request");
                        else end(Code.OK, "");
                        return;
                    }
                    if (unary && answered == 1) {
                        end(Code.INVALID_ARGUMENT, "a unary call takes one request");
                        return;
                    }
                    ByteString response;
                    try {
                        response = answer(p, unary);
                    } catch (Failure f) {
                        end(f.code, f.getMessage());
                        return;
                    }
                    if (deadlineNanos != 0 && System.nanoTime() > deadlineNanos) {
                        end(Code.DEADLINE_EXCEEDED, "deadline exceeded");
                        return;
                    }
                    if (ended) return;
                    conn.write(Frame.newBuilder().setStreamId(id).setMessage(Message.newBuilder().setPayload(response)).build());
                    answered++;
                    if (!unary) {
                        credit.incrementAndGet();
                        conn.write(Frame.newBuilder().setStreamId(id).setCredit(Credit.newBuilder().setMessages(1)).build());
                    }
                }
            } catch (InterruptedException e) {
                end(Code.CANCELLED, "interrupted");
            }
        }

        ByteString answer(ByteString p, boolean unary) throws Failure, InterruptedException {
            try {
                switch (method) {
                    case "/adrnorm.v1.Normalizer/Health":
                        return HealthResponse.newBuilder().setStatus(HealthResponse.ServingStatus.SERVING).build().toByteString();
                    case "/adrnorm.v1.Normalizer/Info":
                        return InfoResponse.newBuilder().setServerName("fake-adrnorm").setServerVersion("test").setProtocolVersion(1)
                                .setModel(ModelInfo.newBuilder().setName("fake").setNumLayers(1).setHiddenSize(8).setMaxLength(64)
                                        .putId2Label(0, "not_match").putId2Label(1, "match").setMatchLabelId(1).setSynthetic(true)
                                        .setWeightsSha256(WEIGHTS).setPrecision("fp32"))
                                .setDictionary(dev.adrnorm.v1.DictionaryInfo.newBuilder().setSource("fake").setPtCount(TERMS.size())
                                        .setLltCount(TERMS.size()).setSynthetic(true).setDigest(DIGEST).setLltDigest(LLT_DIGEST)
                                        .setLltCodes(true))
                                .setDefaults(dev.adrnorm.v1.Defaults.newBuilder().setTopK(TERMS.size()).setThreshold(0.3)
                                        .setReviewMargin(REVIEW_MARGIN))
                                .build().toByteString();
                    case "/adrnorm.v1.Normalizer/Retrieve":
                        return retrieve(RetrieveRequest.parseFrom(p)).toByteString();
                    case "/adrnorm.v1.Normalizer/Score":
                        return score(ScoreRequest.parseFrom(p)).toByteString();
                    case "/adrnorm.v1.Normalizer/Normalize":
                        return normalize(NormalizeRequest.parseFrom(p)).toByteString();
                    case "/adrnorm.v1.Normalizer/NormalizeStream": {
                        NormalizeRequest r = NormalizeRequest.parseFrom(p);
                        try {
                            return normalize(r).toByteString();
                        } catch (Failure f) {
                            return NormalizeResponse.newBuilder().setId(r.getId())
                                    .setError(ItemError.newBuilder().setCode(f.code).setMessage(f.getMessage())).build().toByteString();
                        }
                    }
                    default:
                        throw new Failure(Code.UNIMPLEMENTED, "no method " + method);
                }
            } catch (InvalidProtocolBufferException e) {
                throw new Failure(Code.INVALID_ARGUMENT, "request is not valid protobuf");
            }
        }
    }

    static final class Failure extends Exception {
        private static final long serialVersionUID = 1L;
        final transient Code code;

        Failure(Code code, String message) {
            super(message);
            this.code = code;
        }
    }

    static String mention(String m) throws Failure, InterruptedException {
        String t = m.strip();
        if (t.isEmpty()) throw new Failure(Code.INVALID_ARGUMENT, "mention: empty after trimming whitespace");
        if (t.startsWith("sleep:")) {
            int end = 6;
            while (end < t.length() && Character.isDigit(t.charAt(end))) end++;
            Thread.sleep(Long.parseLong(t.substring(6, end)));
        }
        return t;
    }

    /** Share of the PT's name characters that occur in the mention. */
    static double similarity(String mention, String text) {
        long hit = text.codePoints().filter(c -> mention.indexOf(c) >= 0).count();
        return text.isEmpty() ? 0 : (double) hit / text.codePointCount(0, text.length());
    }

    static RetrieveResponse retrieve(RetrieveRequest r) throws Failure, InterruptedException {
        String m = mention(r.getMention());
        int k = r.getTopK() == 0 ? TERMS.size() : r.getTopK();
        k = Math.min(k, TERMS.size());  // as adrnorm serve: capped to the dictionary
        List<Integer> order = ranking(m);
        double max = similarity(m, TERMS.get(order.get(0)).getPtName());
        RetrieveResponse.Builder b = RetrieveResponse.newBuilder().setTemplate(r.getTemplate()).setMode(r.getMode());
        for (int i = 0; i < k; i++) {
            PreferredTerm t = TERMS.get(order.get(i));
            double s = similarity(m, t.getPtName());
            b.addCandidates(RetrievedCandidate.newBuilder().setRank(i + 1).setTerm(t).setScore(s).setRetrievalProb(max == 0 ? 0 : s / max));
        }
        return b.build();
    }

    static List<Integer> ranking(String m) {
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < TERMS.size(); i++) order.add(i);
        order.sort((a, b) -> Double.compare(similarity(m, TERMS.get(b).getPtName()), similarity(m, TERMS.get(a).getPtName())));
        return order;
    }

    static ScoreResponse score(ScoreRequest r) throws Failure, InterruptedException {
        ScoreResponse.Builder b = ScoreResponse.newBuilder();
        for (ScorePair pair : r.getPairsList()) {
            String m = mention(pair.getMention());
            String text;
            if (pair.hasPtCode()) {
                PreferredTerm t = TERMS.stream().filter(x -> x.getPtCode().equals(pair.getPtCode())).findFirst()
                        .orElseThrow(() -> new Failure(Code.INVALID_ARGUMENT, "pt_code: " + pair.getPtCode() + " is not in the dictionary"));
                text = "PT: " + t.getPtName();
            } else {
                text = pair.getCandidateText();
            }
            double p1 = similarity(m, text.replace("PT: ", ""));
            b.addScores(PairScore.newBuilder().setProb1(p1).setProb0(1 - p1).setLogit1(p1).setLogit0(1 - p1).setCandidateText(text));
        }
        return b.build();
    }

    static final double REVIEW_MARGIN = 0.1;
    static final String DIGEST = "0".repeat(64), LLT_DIGEST = "1".repeat(64), WEIGHTS = "2".repeat(64);

    /** As adrnorm's rule, with fake LLT codes (PT code + alias number): exact name, else the PT's own LLT. */
    static dev.adrnorm.v1.CodedLLT llt(String mention, PreferredTerm t) {
        String m = mention.strip();
        var b = dev.adrnorm.v1.CodedLLT.newBuilder();
        if (m.equals(t.getPtName())) return b.setLltCode(t.getPtCode()).setLltName(m).setHow(dev.adrnorm.v1.LltChoice.LLT_CHOICE_EXACT).build();
        int alias = t.getLltNamesList().indexOf(m);
        if (alias >= 0) {
            return b.setLltCode(t.getPtCode() + (alias + 1)).setLltName(m).setHow(dev.adrnorm.v1.LltChoice.LLT_CHOICE_EXACT).build();
        }
        return b.setLltCode(t.getPtCode()).setLltName(t.getPtName()).setHow(dev.adrnorm.v1.LltChoice.LLT_CHOICE_PT_LLT).build();
    }

    static NormalizeResponse normalize(NormalizeRequest r) throws Failure, InterruptedException {
        String m = mention(r.getMention());
        double threshold = r.hasThreshold() ? r.getThreshold() : 0.3;
        if (!(threshold >= 0 && threshold <= 1)) throw new Failure(Code.INVALID_ARGUMENT, "threshold: " + threshold + " is not in [0, 1]");
        int k = r.getTopK() == 0 ? TERMS.size() : r.getTopK();
        k = Math.min(k, TERMS.size());  // as adrnorm serve: capped to the dictionary
        NormalizeResponse.Builder b = NormalizeResponse.newBuilder().setId(r.getId()).setThreshold(threshold).setScorer(Scorer.SCORER_MODEL);
        List<Integer> order = ranking(m).subList(0, k);
        boolean near = false;
        for (int i = 0; i < order.size(); i++) {
            PreferredTerm t = TERMS.get(order.get(i));
            double p = similarity(m, t.getPtName());
            near |= Math.abs(p - threshold) <= REVIEW_MARGIN;
            if (p >= threshold) {
                b.addMatches(MatchedTerm.newBuilder().setTerm(t).setProbability(p).setRetrievalRank(i + 1)
                        .setLlt(llt(m, t)).setSource(dev.adrnorm.v1.MatchSource.MATCH_SOURCE_MODEL));
            }
            if (i < r.getReturnTopScored()) {
                b.addTopScored(ScoredCandidate.newBuilder().setTerm(t).setProbability(p).setBm25Score(p).setRetrievalRank(i + 1));
            }
        }
        var reason = b.getMatchesCount() == 0 ? dev.adrnorm.v1.ReviewReason.REVIEW_REASON_NO_MATCH
                : near ? dev.adrnorm.v1.ReviewReason.REVIEW_REASON_NEAR_THRESHOLD : dev.adrnorm.v1.ReviewReason.REVIEW_REASON_UNSPECIFIED;
        b.setReviewReason(reason).setNeedsReview(reason != dev.adrnorm.v1.ReviewReason.REVIEW_REASON_UNSPECIFIED);
        b.setProvenance(dev.adrnorm.v1.Provenance.newBuilder().setDictionaryDigest(DIGEST).setLltDigest(LLT_DIGEST)
                .setWeightsSha256(WEIGHTS).setPrecision("fp32").setScorer(Scorer.SCORER_MODEL)
                .setTemplate(dev.adrnorm.v1.Template.TEMPLATE_FULL).setMode(dev.adrnorm.v1.RetrievalMode.RETRIEVAL_MODE_BM25)
                .setTopK(k).setThreshold(threshold).setReviewMargin(REVIEW_MARGIN));
        return b.build();
    }

}
