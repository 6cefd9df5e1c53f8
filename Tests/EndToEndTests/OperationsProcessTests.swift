import Foundation
import LoopbackSupport
import RPCClient
import Testing
import Transport
import Wire
#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized) struct OperationsProcessTests {
    @Test("adrnorm --version prints the version, the git revision it was built from, and the linked OpenSSL, protobuf-c and BLAS")
    func version() throws {
        let process = Process()
        process.executableURL = AdrnormExecutable.url
        process.arguments = ["--version"]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let lines = text.split(separator: "\n").map(String.init)
        try #require(lines.count == 5, "\(text)")
        #expect(lines[0].hasPrefix("adrnorm 0.1.0 (git "))
        #expect(lines[1].hasPrefix("OpenSSL: OpenSSL 3."))
        #expect(lines[2].range(of: #"^protobuf-c: \d+\.\d+\.\d+$"#, options: .regularExpression) != nil)
        #expect(lines[3].hasPrefix("BLAS: OpenBLAS "))
        #expect(lines[4].range(of: #"^oneDNN: oneDNN \d+\.\d+\.\d+$"#, options: .regularExpression) != nil)
        // The revision is this checkout's, as git describes it (the binary was built from it).
        let git = Process()
        git.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        git.arguments = ["git", "-C", DemoServer.root.path, "describe", "--always", "--dirty", "--abbrev=12"]
        let gitOut = Pipe()
        git.standardOutput = gitOut
        git.standardError = FileHandle.nullDevice
        try git.run()
        let described = String(decoding: gitOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        git.waitUntilExit()
        if git.terminationStatus == 0 {
            // A commit between the build and the test would change it: compare the commit, not "-dirty".
            let revision = lines[0].dropFirst("adrnorm 0.1.0 (git ".count).dropLast()
            #expect(revision.replacingOccurrences(of: "-dirty", with: "") == described.replacingOccurrences(of: "-dirty", with: ""),
                    "built from \(revision), checkout is \(described)")
        }
    }

    @Test("""
        adrnorm serve --metrics-listen --log-format json: counters move by the right amounts during a real stream, \
        histograms have buckets, other paths 404, 1,000 idle scrapers and a 1 MiB request line leave RPC calls \
        working, Info reports the build, and every log line is JSON with an audit line per call and connection
        """)
    func metricsAndAudit() async throws {
        let (logURL, logHandle) = try ServeLimitsProcessTests.logFile("operations")
        defer { try? FileManager.default.removeItem(at: logURL) }
        let process = Process()
        process.executableURL = AdrnormExecutable.url
        process.arguments = ["serve", "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--log-format", "json",
                             "--cert", DemoServer.certificate("server.pem"), "--key", DemoServer.certificate("server.key"),
                             "--client-ca", DemoServer.certificate("ca.pem")]
        process.standardError = logHandle
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        func log() -> String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }
        func port(after prefix: String) -> Int? {
            guard let range = log().range(of: prefix + #"[^"]*\(port (\d+)\)"#, options: .regularExpression) else { return nil }
            let text = log()[range]
            return Int(text[text.range(of: #"\d+\)$"#, options: .regularExpression)!].dropLast())
        }
        var rpcPort: Int?
        var metricsPort: Int?
        let started = Date()
        while (rpcPort == nil || metricsPort == nil) && Date().timeIntervalSince(started) < 60 && process.isRunning {
            rpcPort = port(after: "listening on ")
            metricsPort = port(after: "metrics at ")
            try await Task.sleep(for: .milliseconds(100))
        }
        let rpc = try #require(rpcPort, "no RPC port in the log:\n\(log())")
        let http = try #require(metricsPort, "no metrics port in the log:\n\(log())")
        func scrape() -> String {
            let (code, body) = RawHTTP.fetch(port: http, "/metrics")
            #expect(code == 200)
            return body
        }
        func value(_ text: String, _ series: String) -> Double { RawHTTP.sample(text, series) }

        let client = try await RPCClient.connect(.init(
            address: "127.0.0.1:\(rpc)",
            tls: TLSClientConfiguration(trustedCAPath: DemoServer.certificate("ca.pem"),
                                        certificateChainPath: DemoServer.certificate("client-a.pem"),
                                        privateKeyPath: DemoServer.certificate("client-a.key"))))
        defer { client.close() }
        let info = try await client.info()
        let build = try #require(info.build)
        #expect(build.version == "0.1.0" && !build.gitRevision.isEmpty && build.opensslVersion.hasPrefix("OpenSSL 3."))
        #expect(!build.protobufCVersion.isEmpty && build.blasVersion.hasPrefix("OpenBLAS") && build.onednnVersion.hasPrefix("oneDNN"))
        let dictionary = try #require(info.dictionary)

        let before = scrape()
        #expect(value(before, #"adrnorm_calls_total{method="Info",status="OK"}"#) == 1)
        #expect(value(before, "adrnorm_connections_open") == 1)
        // Which model and dictionary are served, and the certificate's remaining life (dev certs: days, not seconds).
        let digest = dictionary.digest
        #expect(before.contains(#"dictionary_digest="\#(digest)""#) && before.contains(#"precision="fp32""#))
        #expect(value(before, "adrnorm_server_certificate_expiry_seconds") > 86_400)
        #expect(RawHTTP.fetch(port: http, "/").0 == 404)
        #expect(RawHTTP.fetch(port: http, "/metrics/../admin").0 == 404)

        // A real stream: 12 distinct mentions, top_k 50, every scored candidate returned.
        let count = 12
        let stream = try await client.openStream(NormalizerMethod.normalizeStream.rawValue)
        stream.enqueue((0..<count).map {
            AdrnormV1.NormalizeRequest(id: "\($0)", mention: DemoPipelineMentions.all[$0], topK: 50, returnTopScored: 50)
                .serializedBytes()
        })
        var scoredPairs = 0
        for _ in 0..<count {
            let response = try AdrnormV1.NormalizeResponse(serializedBytes: try #require(try await stream.next()))
            #expect(!response.cached)
            scoredPairs += response.topScored.count
        }
        #expect(scoredPairs > 0 && scoredPairs <= count * 50)
        let during = scrape()
        #expect(value(during, "adrnorm_streams_open") == 1)
        stream.halfClose()
        #expect(try await stream.next() == nil)
        // The same first mention again, unary: a cache hit.
        let again = try await client.normalize(.init(id: "again", mention: DemoPipelineMentions.all[0], topK: 50))
        #expect(again.cached)
        let after = scrape()
        #expect(value(after, "adrnorm_streams_open") == 0)
        #expect(value(after, #"adrnorm_calls_total{method="NormalizeStream",status="OK"}"#)
                - value(before, #"adrnorm_calls_total{method="NormalizeStream",status="OK"}"#) == 1)
        #expect(value(after, #"adrnorm_calls_total{method="Normalize",status="OK"}"#) == 1)
        #expect(value(after, "adrnorm_pairs_scored_total") - value(before, "adrnorm_pairs_scored_total") == Double(scoredPairs))
        #expect(value(after, "adrnorm_batch_size_pairs_sum") - value(before, "adrnorm_batch_size_pairs_sum") == Double(scoredPairs))
        #expect(value(after, "adrnorm_cache_misses_total") - value(before, "adrnorm_cache_misses_total") == Double(count))
        #expect(value(after, "adrnorm_cache_hits_total") - value(before, "adrnorm_cache_hits_total") == 1)
        #expect(value(after, "adrnorm_pairs_queued") == 0)
        // Histograms have buckets, and their counts agree with the counters.
        #expect(value(after, #"adrnorm_call_duration_seconds_count{method="NormalizeStream"}"#) == 1)
        #expect(value(after, #"adrnorm_call_duration_seconds_bucket{method="NormalizeStream",le="+Inf"}"#) == 1)
        #expect(after.contains(#"adrnorm_call_duration_seconds_bucket{method="NormalizeStream",le="0.005"}"#))
        let batches = value(after, "adrnorm_batches_total")
        #expect(batches >= 1 && value(after, #"adrnorm_batch_size_pairs_bucket{le="+Inf"}"#) == batches)
        #expect(value(after, #"adrnorm_batch_tokens_bucket{le="+Inf"}"#) == batches && value(after, "adrnorm_batch_tokens_sum") > 0)

        // Not TLS on the RPC port: a handshake failure, counted by reason.
        if let fd = RawHTTP.connect(port: rpc) {
            RawHTTP.send(fd, Array("GET / HTTP/1.1\r\n\r\n".utf8))
            _ = RawHTTP.readAll(fd)
            close(fd)
        }
        var failures = 0.0
        for _ in 0..<50 where failures == 0 {
            failures = value(scrape(), #"adrnorm_handshake_failures_total{reason="tls_error"}"#)
            if failures == 0 { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(failures == 1)

        // A hostile scraper: 1,000 idle connections and a 1 MiB request line.
        var idle: [Int32] = []
        defer { for fd in idle { close(fd) } }
        for _ in 0..<1000 {
            guard let fd = RawHTTP.connect(port: http) else { break }
            idle.append(fd)
        }
        #expect(idle.count == 1000)
        let huge = try #require(RawHTTP.connect(port: http))
        defer { close(huge) }
        let sender = Thread { RawHTTP.send(huge, Array(("GET /" + String(repeating: "x", count: 1 << 20) + " HTTP/1.1\r\n\r\n").utf8)) }
        sender.start()
        let clock = ContinuousClock()
        let callStarted = clock.now
        let during1 = try await client.normalize(.init(id: "flood", mention: DemoPipelineMentions.all[12], topK: 50))
        let elapsed = clock.now - callStarted
        #expect(during1.id == "flood" && !during1.cached)
        #expect(elapsed < .seconds(5), "a Normalize took \(elapsed) with the metrics port flooded")
        let hugeResponse = RawHTTP.readAll(huge)
        #expect(hugeResponse.hasPrefix("HTTP/1.1 431 "), "\(hugeResponse.prefix(100))")
        #expect(try await client.info().dictionary?.digest == digest)
        // A scraper arriving now is still served (the oldest idle connections make room).
        #expect(RawHTTP.fetch(port: http, "/metrics").0 == 200)

        client.close()
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        try logHandle.close()

        // Every line is a JSON object; the audit lines say who did what, with which dictionary.
        let lines = log().split(separator: "\n")
        var objects: [[String: Any]] = []
        for line in lines {
            let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
            #expect(object != nil, "not a JSON object: \(line)")
            if let object { objects.append(object) }
        }
        #expect(objects.contains { ($0["message"] as? String)?.contains("SYNTHETIC") == true })
        let audit = objects.filter { $0["log"] as? String == "audit" }
        let calls = audit.filter { $0["event"] as? String == "call" }
        let streamLine = try #require(calls.first { $0["method"] as? String == NormalizerMethod.normalizeStream.rawValue })
        #expect((streamLine["identity"] as? String)?.contains("safety-team-a") == true)
        #expect(streamLine["status"] as? String == "OK" && streamLine["mentions"] as? Int == count)
        #expect(streamLine["pairs"] as? Int == scoredPairs && streamLine["cache_hits"] as? Int == 0)
        #expect(streamLine["dictionary_digest"] as? String == digest)
        #expect(streamLine["dictionary_version"] as? String == dictionary.version)
        #expect((streamLine["latency_ms"] as? Double).map { $0 > 0 } == true && streamLine["connection"] is Int)
        let hit = try #require(calls.first { $0["method"] as? String == NormalizerMethod.normalize.rawValue })
        #expect(hit["cache_hits"] as? Int == 1 && hit["mentions"] as? Int == 1 && hit["pairs"] as? Int == 0)
        #expect(calls.filter { $0["method"] as? String == NormalizerMethod.info.rawValue }.count == 2)
        let opened = audit.filter { $0["event"] as? String == "connection_open" }
        #expect(opened.count == 1 && (opened[0]["identity"] as? String)?.contains("safety-team-a") == true)
        #expect(audit.contains { $0["event"] as? String == "connection_close" && $0["calls"] as? Int == 5 })
        #expect(audit.contains { $0["event"] as? String == "handshake_failure" && $0["reason"] as? String == "tls_error" })
    }
}
