import Foundation
import Prometheus
import RPCServer
import Wire

/// The Prometheus metrics of `adrnorm serve` (docs/OPERATIONS.md lists them).
///
/// Counters and histograms move as events arrive: from the RPC server (it is
/// the server's `ServerObserver`), from the scoring scheduler
/// (`batchScored`) and from what the service recorded of each call
/// (`CallRecord`: mentions and cache hits). Gauges read from
/// elsewhere (pairs queued, the certificate's expiry, what is being served)
/// are set by `refresh` just before each scrape. Thread-safe.
public final class ServerMetrics: ServerObserver, @unchecked Sendable {
    /// What is being served, for the `adrnorm_serving_info` gauge.
    public struct ServingInfo: Sendable, Equatable {
        public var modelDigest: String
        public var precision: String
        public var dictionaryVersion: String
        public var dictionaryDigest: String

        public init(modelDigest: String, precision: String, dictionaryVersion: String, dictionaryDigest: String) {
            self.modelDigest = modelDigest
            self.precision = precision
            self.dictionaryVersion = dictionaryVersion
            self.dictionaryDigest = dictionaryDigest
        }
    }

    /// What a scrape reads from the rest of the server.
    public struct Snapshot: Sendable {
        public var queuedPairs: Int
        public var certificateNotAfter: Date?
        public var serving: ServingInfo

        public init(queuedPairs: Int, certificateNotAfter: Date?, serving: ServingInfo) {
            self.queuedPairs = queuedPairs
            self.certificateNotAfter = certificateNotAfter
            self.serving = serving
        }
    }

    public let registry = PrometheusCollectorRegistry()

    // Latency buckets, seconds: a cached Normalize takes well under a
    // millisecond, a model-scored one milliseconds to a second under load.
    static let latencyBuckets: [Duration] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
        .map { .nanoseconds(Int64($0 * 1e9)) }
    static let batchPairBuckets: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
    static let batchTokenBuckets: [Double] = [64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768]

    private let pairsScored: Counter
    private let batches: Counter
    private let batchPairs: ValueHistogram
    private let batchTokens: ValueHistogram
    private let queuedPairs: Gauge
    private let cacheHits: Counter
    private let cacheMisses: Counter
    private let connectionsOpen: Gauge
    private let streamsOpen: Gauge
    private let certificateExpiry: Gauge
    private let handshakeFailures: [HandshakeFailure.Reason: Counter]
    /// SIGHUP reloads, by outcome.
    private let reloadsSucceeded: Counter
    private let reloadsFailed: Counter

    private let lock = NSLock()
    // Guarded by `lock`.
    private var calls: [String: Counter] = [:]
    private var latencies: [String: DurationHistogram] = [:]
    private var serving: (info: ServingInfo, gauge: Gauge)?
    private var snapshot: (@Sendable () -> Snapshot)?

    /// Made before the pipeline and the server, which it observes; give it
    /// `setSnapshot` once they exist.
    public init() {
        let r = registry
        func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "adrnorm", metricName: metric, unitName: unit, helpText: help)
        }
        pairsScored = r.makeCounter(descriptor: name("pairs_scored", "total", "(mention, candidate) pairs the cross-encoder scored."))
        batches = r.makeCounter(descriptor: name("batches", "total", "Encoder batches run."))
        batchPairs = r.makeValueHistogram(descriptor: name("batch_size", "pairs", "Pairs per encoder batch."),
                                          buckets: Self.batchPairBuckets)
        batchTokens = r.makeValueHistogram(descriptor: name("batch", "tokens", "Tokens per encoder batch (at most --max-batch-tokens, but for a single longer pair)."),
                                           buckets: Self.batchTokenBuckets)
        queuedPairs = r.makeGauge(descriptor: name("pairs_queued", "", "Pairs admitted now: waiting for a batch or being scored (at most --max-queued-pairs)."))
        cacheHits = r.makeCounter(descriptor: name("cache_hits", "total", "Mentions answered from the result cache (or joined to an identical one in flight)."))
        cacheMisses = r.makeCounter(descriptor: name("cache_misses", "total", "Mentions that had to be retrieved and scored."))
        connectionsOpen = r.makeGauge(descriptor: name("connections_open", "", "Connections whose TLS handshake completed and that are still open."))
        streamsOpen = r.makeGauge(descriptor: name("streams_open", "", "Calls (streams) open now, over all connections."))
        certificateExpiry = r.makeGauge(descriptor: name("server_certificate_expiry", "seconds", "Seconds until the server certificate new handshakes present expires (negative: expired)."))
        var failures: [HandshakeFailure.Reason: Counter] = [:]
        for reason in HandshakeFailure.Reason.allCases {
            failures[reason] = r.makeCounter(
                descriptor: name("handshake_failures", "total", "Connections closed before their TLS handshake completed, by reason."),
                labels: [("reason", reason.rawValue)])
        }
        handshakeFailures = failures
        let reloads = name("reloads", "total", "SIGHUP reloads (certificates, allowlist, dictionary), by outcome; a failed one changed nothing.")
        reloadsSucceeded = r.makeCounter(descriptor: reloads, labels: [("outcome", "ok")])
        reloadsFailed = r.makeCounter(descriptor: reloads, labels: [("outcome", "failed")])
    }

    /// Counts a reload.
    public func reloaded(succeeded: Bool) {
        (succeeded ? reloadsSucceeded : reloadsFailed).increment()
    }

    /// The `method` label: the method's short name, or "unknown" for a name
    /// the service does not have (so clients cannot make labels without bound).
    public static func methodLabel(_ method: String) -> String {
        guard let known = NormalizerMethod(rawValue: method) else { return "unknown" }
        return String(known.rawValue.split(separator: "/").last ?? "unknown")
    }

    /// What each scrape reads from the rest of the server (called off the
    /// RPC queues, before the exposition); until it is set, those gauges stay 0.
    public func setSnapshot(_ snapshot: @escaping @Sendable () -> Snapshot) {
        lock.withLock { self.snapshot = snapshot }
    }

    // MARK: - Pipeline hooks

    /// One encoder batch ran (the scheduler's batch observer).
    public func batchScored(pairs: Int, tokens: Int) {
        pairsScored.increment(by: Int64(pairs))
        batches.increment()
        batchPairs.record(Double(pairs))
        batchTokens.record(Double(tokens))
    }

    /// `hits` mentions were answered from the cache, `misses` were not.
    private func cacheLookups(hits: Int, misses: Int) {
        if hits > 0 { cacheHits.increment(by: Int64(hits)) }
        if misses > 0 { cacheMisses.increment(by: Int64(misses)) }
    }

    // MARK: - ServerObserver

    public func connectionOpened(_ event: ConnectionEvent) { connectionsOpen.increment() }
    public func connectionClosed(_ event: ConnectionEvent) { connectionsOpen.decrement() }
    public func handshakeFailed(_ event: HandshakeFailure) { handshakeFailures[event.reason]?.increment() }
    public func callStarted(connection: Int, method: String) { streamsOpen.increment() }

    public func callFinished(_ call: CallSummary) {
        streamsOpen.decrement()
        let method = Self.methodLabel(call.method)
        let status = call.status.description
        let (counter, histogram) = lock.withLock { () -> (Counter, DurationHistogram) in
            let key = method + " " + status
            let counter = calls[key] ?? registry.makeCounter(
                descriptor: MetricNameDescriptor(namespace: "adrnorm", metricName: "calls", unitName: "total",
                                                 helpText: "Calls finished, by method and status."),
                labels: [("method", method), ("status", status)])
            calls[key] = counter
            let histogram = latencies[method] ?? registry.makeDurationHistogram(
                descriptor: MetricNameDescriptor(namespace: "adrnorm", metricName: "call_duration", unitName: "seconds",
                                                 helpText: "Call latency, from its Call frame to its status, by method."),
                labels: [("method", method)], buckets: Self.latencyBuckets)
            latencies[method] = histogram
            return (counter, histogram)
        }
        counter.increment()
        histogram.record(call.latency)
        cacheLookups(hits: call.work.cacheHits, misses: call.work.mentions - call.work.cacheHits)
    }

    // MARK: - Exposition

    /// The registry in the Prometheus text format (version 0.0.4), gauges refreshed.
    public func exposition() -> [UInt8] {
        guard let now = lock.withLock({ snapshot })?() else { return registry.emitToBuffer() }
        queuedPairs.set(to: Double(now.queuedPairs))
        if let notAfter = now.certificateNotAfter {
            certificateExpiry.set(to: notAfter.timeIntervalSinceNow.rounded())
        }
        lock.withLock {
            if serving?.info != now.serving {
                if let old = serving?.gauge { registry.unregisterGauge(old) }
                let gauge = registry.makeGauge(
                    descriptor: MetricNameDescriptor(
                        namespace: "adrnorm", metricName: "serving_info", unitName: "",
                        helpText: "Always 1; the labels say which model and dictionary are being served."),
                    labels: [("model_digest", now.serving.modelDigest), ("precision", now.serving.precision),
                             ("dictionary_version", now.serving.dictionaryVersion),
                             ("dictionary_digest", now.serving.dictionaryDigest)])
                gauge.set(to: 1)
                serving = (now.serving, gauge)
            }
        }
        return registry.emitToBuffer()
    }
}
