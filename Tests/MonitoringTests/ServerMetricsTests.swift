import Foundation
import Logging
import Monitoring
import RPCServer
import Testing
import Wire

/// The value of the sample `name{labels}` in a Prometheus text exposition (labels as emitted).
func sample(_ text: String, _ series: String) -> Double? {
    for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
        return Double(line.dropFirst(series.count + 1))
    }
    return nil
}

@Suite struct ServerMetricsTests {
    static func call(_ method: String, _ status: StatusCode, mentions: Int = 0, pairs: Int = 0, hits: Int = 0,
                     ms: Int64 = 3) -> CallSummary {
        let record = CallRecord()
        record.add(mentions: mentions, pairs: pairs, cacheHits: hits)
        record.setDictionary(version: "27.1", digest: "abc")
        return CallSummary(time: Date(), connection: 1, stream: 1, identity: "client-a", method: method, status: status,
                           latency: .milliseconds(ms), work: record.snapshot)
    }

    @Test("Calls count by method and status, with a latency histogram per method; unknown methods share one label")
    func calls() {
        let metrics = ServerMetrics()
        metrics.callStarted(connection: 1, method: NormalizerMethod.normalize.rawValue)
        metrics.callFinished(Self.call(NormalizerMethod.normalize.rawValue, .ok, mentions: 1, pairs: 50, ms: 3))
        metrics.callFinished(Self.call(NormalizerMethod.normalize.rawValue, .ok, mentions: 1, hits: 1, ms: 300))
        metrics.callFinished(Self.call(NormalizerMethod.score.rawValue, .invalidArgument))
        metrics.callFinished(Self.call("/evil/\(UUID())", .unimplemented))
        let text = String(decoding: metrics.exposition(), as: UTF8.self)
        #expect(sample(text, #"adrnorm_calls_total{method="Normalize",status="OK"}"#) == 2)
        #expect(sample(text, #"adrnorm_calls_total{method="Score",status="INVALID_ARGUMENT"}"#) == 1)
        #expect(sample(text, #"adrnorm_calls_total{method="unknown",status="UNIMPLEMENTED"}"#) == 1)
        #expect(!text.contains("/evil/"))
        #expect(sample(text, #"adrnorm_call_duration_seconds_bucket{method="Normalize",le="0.005"}"#) == 1)
        #expect(sample(text, #"adrnorm_call_duration_seconds_bucket{method="Normalize",le="0.5"}"#) == 2)
        #expect(sample(text, #"adrnorm_call_duration_seconds_bucket{method="Normalize",le="+Inf"}"#) == 2)
        #expect(sample(text, #"adrnorm_call_duration_seconds_count{method="Normalize"}"#) == 2)
        #expect(sample(text, "adrnorm_cache_hits_total") == 1)
        #expect(sample(text, "adrnorm_cache_misses_total") == 1)
        // One started, four finished: the gauge is what the server had open.
        #expect(sample(text, "adrnorm_streams_open") == -3)
        #expect(text.contains("# TYPE adrnorm_calls_total counter"))
        #expect(text.contains("# HELP adrnorm_calls_total "))
    }

    @Test("Batches feed the pairs counter and the batch size and token histograms")
    func batches() {
        let metrics = ServerMetrics()
        metrics.batchScored(pairs: 10, tokens: 300)
        metrics.batchScored(pairs: 3, tokens: 90)
        let text = String(decoding: metrics.exposition(), as: UTF8.self)
        #expect(sample(text, "adrnorm_pairs_scored_total") == 13)
        #expect(sample(text, "adrnorm_batches_total") == 2)
        #expect(sample(text, #"adrnorm_batch_size_pairs_bucket{le="4.0"}"#) == 1)
        #expect(sample(text, #"adrnorm_batch_size_pairs_bucket{le="16.0"}"#) == 2)
        #expect(sample(text, "adrnorm_batch_size_pairs_sum") == 13)
        #expect(sample(text, #"adrnorm_batch_tokens_bucket{le="128.0"}"#) == 1)
        #expect(sample(text, "adrnorm_batch_tokens_count") == 2)
    }

    @Test("Connections, handshake failures by reason (every reason present from the start), scrape-time gauges")
    func gauges() {
        let metrics = ServerMetrics()
        var text = String(decoding: metrics.exposition(), as: UTF8.self)
        for reason in HandshakeFailure.Reason.allCases {
            #expect(sample(text, "adrnorm_handshake_failures_total{reason=\"\(reason.rawValue)\"}") == 0)
        }
        metrics.connectionOpened(ConnectionEvent(connection: 1, identity: "a", allowed: true))
        metrics.connectionOpened(ConnectionEvent(connection: 2, identity: "b", allowed: true))
        metrics.connectionClosed(ConnectionEvent(connection: 1, identity: "a", allowed: true))
        metrics.handshakeFailed(HandshakeFailure(connection: 3, reason: .timeout, detail: "x"))
        let expiry = Date().addingTimeInterval(86_400)
        var info = ServerMetrics.ServingInfo(modelDigest: "m1", precision: "fp32", dictionaryVersion: "27.1",
                                             dictionaryDigest: "d1")
        let source = Box(info)
        metrics.setSnapshot { ServerMetrics.Snapshot(queuedPairs: 42, certificateNotAfter: expiry, serving: source.value) }
        text = String(decoding: metrics.exposition(), as: UTF8.self)
        #expect(sample(text, "adrnorm_connections_open") == 1)
        #expect(sample(text, #"adrnorm_handshake_failures_total{reason="timeout"}"#) == 1)
        #expect(sample(text, "adrnorm_pairs_queued") == 42)
        let seconds = try! #require(sample(text, "adrnorm_server_certificate_expiry_seconds"))
        #expect(abs(seconds - 86_400) < 5)
        #expect(sample(text, #"adrnorm_serving_info{model_digest="m1",precision="fp32",dictionary_version="27.1",dictionary_digest="d1"}"#) == 1)
        // A new dictionary (a reload): the old label set goes, the new one comes.
        info.dictionaryDigest = "d2"
        source.value = info
        text = String(decoding: metrics.exposition(), as: UTF8.self)
        #expect(!text.contains(#"dictionary_digest="d1""#))
        #expect(sample(text, #"adrnorm_serving_info{model_digest="m1",precision="fp32",dictionary_version="27.1",dictionary_digest="d2"}"#) == 1)
        // Reloads, by outcome.
        metrics.reloaded(succeeded: true)
        metrics.reloaded(succeeded: false)
        metrics.reloaded(succeeded: false)
        text = String(decoding: metrics.exposition(), as: UTF8.self)
        #expect(sample(text, #"adrnorm_reloads_total{outcome="ok"}"#) == 1)
        #expect(sample(text, #"adrnorm_reloads_total{outcome="failed"}"#) == 2)
    }

    @Test("Handshake errors map to their reasons")
    func reasons() {
        #expect(HandshakeFailure.reason(for: nil) == .closed)
        #expect(HandshakeFailure.reason(for: .timedOut("TLS handshake")) == .timeout)
        #expect(HandshakeFailure.reason(for: .tls(.handshake(errors: [], verification: "certificate has expired"))) == .certificateRejected)
        #expect(HandshakeFailure.reason(for: .tls(.handshake(errors: ["error:0A0000C7:SSL routines::peer did not return a certificate"],
                                                             verification: nil))) == .noClientCertificate)
        #expect(HandshakeFailure.reason(for: .tls(.handshake(errors: ["error:0A00010B:SSL routines::wrong version number"],
                                                             verification: nil))) == .protocolMismatch)
        #expect(HandshakeFailure.reason(for: .tls(.handshake(errors: ["error:0A00009C:SSL routines::http request"],
                                                             verification: nil))) == .tlsError)
        #expect(HandshakeFailure.reason(for: .connectionClosed(reason: "peer closed")) == .closed)
    }
}

final class Box<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T
    init(_ value: T) { stored = value }
    var value: T {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}

/// Collects what a LineWriter would write.
final class CapturedLines: @unchecked Sendable {
    let pipe = Pipe()
    lazy var writer = LineWriter(pipe.fileHandleForWriting)
    func lines() -> [[String: Any]] {
        try? pipe.fileHandleForWriting.close()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] ?? ["unparsed": String($0)]
        }
    }
}

@Suite struct AuditLogTests {
    @Test("Audit lines are JSON objects with the call's identity, method, status, work and dictionary")
    func auditLines() throws {
        let captured = CapturedLines()
        let audit = AuditLog(writer: captured.writer)
        audit.connectionOpened(ConnectionEvent(connection: 7, identity: "spiffe://pv/coder-1", allowed: true))
        audit.callFinished(ServerMetricsTests.call(NormalizerMethod.normalizeStream.rawValue, .ok, mentions: 12, pairs: 600, hits: 2))
        audit.handshakeFailed(HandshakeFailure(connection: 8, reason: .certificateRejected, detail: "unknown ca \"quoted\"\n"))
        audit.connectionClosed(ConnectionEvent(connection: 7, identity: nil, allowed: true, reason: "orderly", calls: 1, seconds: 1.5))
        let lines = captured.lines()
        try #require(lines.count == 4)
        for line in lines {
            #expect(line["log"] as? String == "audit")
            #expect((line["time"] as? String)?.hasSuffix("Z") == true)
        }
        #expect(lines[0]["event"] as? String == "connection_open" && lines[0]["identity"] as? String == "spiffe://pv/coder-1")
        let call = lines[1]
        #expect(call["event"] as? String == "call" && call["identity"] as? String == "client-a")
        #expect(call["method"] as? String == "/adrnorm.v1.Normalizer/NormalizeStream" && call["status"] as? String == "OK")
        #expect(call["mentions"] as? Int == 12 && call["pairs"] as? Int == 600 && call["cache_hits"] as? Int == 2)
        #expect(call["dictionary_version"] as? String == "27.1" && call["dictionary_digest"] as? String == "abc")
        #expect((call["latency_ms"] as? Double).map { abs($0 - 3) < 0.01 } == true)
        #expect(lines[2]["reason"] as? String == "certificate_rejected" && lines[2]["detail"] as? String == "unknown ca \"quoted\"\n")
        #expect(lines[3]["identity"] is NSNull && lines[3]["calls"] as? Int == 1)
    }

    @Test("The JSON log handler writes one object a line with the level, logger, message and metadata")
    func logHandler() throws {
        let captured = CapturedLines()
        var handler = JSONLogHandler(label: "adrnorm.rpc", writer: captured.writer)
        handler[metadataKey: "connection"] = "3"
        handler.logLevel = .info
        var logger = Logger(label: "adrnorm.rpc", factory: { _ in handler })
        logger.logLevel = .info
        logger.info("connection open", metadata: ["tls": "TLSv1.3"])
        logger.debug("not written")
        let lines = captured.lines()
        try #require(lines.count == 1)
        #expect(lines[0]["level"] as? String == "info" && lines[0]["logger"] as? String == "adrnorm.rpc")
        #expect(lines[0]["message"] as? String == "connection open")
        #expect(lines[0]["connection"] as? String == "3" && lines[0]["tls"] as? String == "TLSv1.3")
    }
}
