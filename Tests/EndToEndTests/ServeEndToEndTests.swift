import CrossEncoder
import Foundation
import Logging
import Normalization
import RPCClient
import RPCServer
import ServiceAdapter
import Transport
import Wire
import Terminology
import Testing

/// The real service (PipelineService over the demo dictionary and demo
/// model) behind the real server, over mutual TLS on loopback.
enum DemoServer {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static func certificate(_ name: String) -> String { TestCertificates.path(name) }

    static let dictionary: CandidateDictionary = {
        do { return try CandidateDictionary.load(path: root.appendingPathComponent("Demo/dictionary/demo_dictionary.csv").path) }
        catch { preconditionFailure("demo dictionary: \(error)") }
    }()
    static let model: PairScorer = {
        do { return try PairScorer(modelDirectory: root.appendingPathComponent("Demo/model").path) }
        catch { preconditionFailure("demo model: \(error)") }
    }()

    static func start(scheduling: ScoringSchedulerConfiguration = .init(), cache: Int = 0,
                      configure: (inout PipelineConfiguration) -> Void = { _ in })
        throws -> (RPCServer, NormalizationPipeline)
    {
        var c = PipelineConfiguration()
        c.scheduling = scheduling
        c.cacheCapacity = cache
        configure(&c)
        let pipeline = try NormalizationPipeline(dictionary: dictionary, model: model, modelDigest: "demo", configuration: c)
        let service = PipelineService(pipeline: pipeline, description: .init(
            serverVersion: "test", modelName: "demo", modelIsSynthetic: true, dictionaryIsSynthetic: true))
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let server = try RPCServer(configuration: ServerConfiguration(
            listenAddress: "127.0.0.1:0",
            tls: TLSServerConfiguration(certificateChainPath: certificate("server.pem"),
                                        privateKeyPath: certificate("server.key"), clientCAPath: certificate("ca.pem"))), service: service, logger: logger)
        try server.start()
        return (server, pipeline)
    }

    static func connect(_ server: RPCServer) async throws -> RPCClient {
        try await RPCClient.connect(.init(address: "127.0.0.1:\(server.port)",
                                          tls: TLSClientConfiguration(trustedCAPath: certificate("ca.pem"),
                                                                      certificateChainPath: certificate("client-a.pem"),
                                                                      privateKeyPath: certificate("client-a.key"))))
    }

    static func stop(_ server: RPCServer, _ pipeline: NormalizationPipeline) async {
        await server.shutdown(drainTimeout: .seconds(10))
        pipeline.shutdown()
    }
}

@Suite(.serialized) struct ServeEndToEndTests {
    @Test("every method end to end on the demo assets, equal to the pipeline called directly")
    func everyMethod() async throws {
        let (server, pipeline) = try DemoServer.start()
        let client = try await DemoServer.connect(server)
        defer { client.close() }

        #expect(try await client.health().status == .serving)
        let info = try await client.info()
        #expect(info.dictionary?.ptCount == 382 && info.dictionary?.synthetic == true && info.model?.synthetic == true)
        #expect(info.defaults?.topK == 100 && info.defaults?.threshold == 0.3)

        let retrieved = try await client.retrieve(.init(mention: "吃完药后一直犯困头晕", topK: 10))
        let direct = try pipeline.retrieve("吃完药后一直犯困头晕", topK: 10)
        #expect(retrieved.candidates.map(\.term?.ptCode) == direct.map { DemoServer.dictionary.terms[$0.candidateIndex].ptCode })
        #expect(retrieved.candidates.map(\.score) == direct.map(\.score))

        let normalized = try await client.normalize(.init(id: "n1", mention: "吃完药后一直犯困头晕", returnTopScored: 5))
        let expected = try pipeline.normalizeAndWait(.init(id: "n1", mention: "吃完药后一直犯困头晕"))
        #expect(normalized.id == "n1")
        #expect(normalized.matches.map(\.term?.ptCode) == expected.matches.map(\.term.ptCode))
        #expect(zip(normalized.matches, expected.matches).allSatisfy { abs($0.probability - $1.probability) < 1e-12 })
        #expect(normalized.topScored.count == 5 && normalized.scorer == .model && normalized.threshold == 0.3)
        #expect((normalized.timings?.totalMs ?? 0) > 0)

        let code = DemoServer.dictionary.terms[direct[0].candidateIndex].ptCode
        let scored = try await client.score(.init(pairs: [.init(mention: "头晕", candidate: .ptCode(code)),
                                                          .init(mention: "头晕", candidate: .text("PT: 头晕"))]))
        let directScores = try pipeline.scoreAndWait(pairs: [
            ("头晕", pipeline.candidateText(candidateIndex: direct[0].candidateIndex, template: .full)), ("头晕", "PT: 头晕")])
        #expect(scored.scores.map(\.prob1) == directScores.map { Double($0.matchProbability) })
        #expect(abs(scored.scores[0].prob0 + scored.scores[0].prob1 - 1) < 1e-6)

        let stream = try await client.normalizeStream((0..<40).map {
            .init(id: "s\($0)", mention: $0 == 7 ? " " : DemoPipelineMentions.all[$0 % DemoPipelineMentions.all.count], topK: 20)
        })
        #expect(stream.map(\.id) == (0..<40).map { "s\($0)" })
        #expect(stream[7].error?.code == .invalidArgument && stream.filter { $0.error != nil }.count == 1)
        await DemoServer.stop(server, pipeline)
    }

    @Test("invalid field values are INVALID_ARGUMENT naming the field")
    func invalidArguments() async throws {
        let (server, pipeline) = try DemoServer.start()
        let client = try await DemoServer.connect(server)
        defer { client.close() }
        func status(_ body: () async throws -> Void) async -> (StatusCode, String)? {
            do { try await body(); return nil } catch let error as RPCError {
                if case .status(let code, let message) = error { return (code, message) }
                return (.unknown, "\(error)")
            } catch {
                return (.unknown, "\(error)")
            }
        }
        let cases: [(AdrnormV1.NormalizeRequest, String)] = [
            (.init(mention: ""), "mention"), (.init(mention: String(repeating: "痛", count: 600)), "mention"),
            (.init(mention: "头痛", threshold: .nan), "threshold"),
            (.init(mention: "头痛", threshold: 1.5), "threshold"),
        ]
        for (request, field) in cases {
            let s = await status { _ = try await client.normalize(request) }
            #expect(s?.0 == .invalidArgument && s?.1.hasPrefix(field) == true, "\(String(describing: s))")
        }
        let unknown = await status { _ = try await client.score(.init(pairs: [.init(mention: "头痛", candidate: .ptCode("12345678"))])) }
        #expect(unknown?.0 == .invalidArgument && unknown?.1.contains("pt_code") == true)
        await DemoServer.stop(server, pipeline)
    }

    @Test("32 concurrent Normalize calls on one connection equal the sequential results")
    func concurrentCalls() async throws {
        let (server, pipeline) = try DemoServer.start()
        let client = try await DemoServer.connect(server)
        defer { client.close() }
        let mentions = (0..<32).map { DemoPipelineMentions.all[$0 % DemoPipelineMentions.all.count] + String(repeating: "，", count: $0 / 16) }
        let results = try await withThrowingTaskGroup(of: (Int, AdrnormV1.NormalizeResponse).self) { group in
            for (i, m) in mentions.enumerated() {
                group.addTask { (i, try await client.normalize(.init(id: "\(i)", mention: m, topK: 30))) }
            }
            var out: [Int: AdrnormV1.NormalizeResponse] = [:]
            for try await (i, r) in group { out[i] = r }
            return out
        }
        // Batches of other sizes round differently in the GEMMs, so the
        // probabilities agree within 1e-5 (issue 4's batch tolerance) and
        // the decisions are the same.
        for (i, m) in mentions.enumerated() {
            let expected = try pipeline.normalizeAndWait(.init(mention: m, topK: 30))
            let got = try #require(results[i])
            #expect(Set(got.matches.compactMap(\.term?.ptCode)) == Set(expected.matches.map(\.term.ptCode)))
            let probabilities = Dictionary(uniqueKeysWithValues: expected.matches.map { ($0.term.ptCode, $0.probability) })
            for match in got.matches {
                #expect(abs(match.probability - (probabilities[match.term?.ptCode ?? ""] ?? -1)) < 1e-5)
            }
        }
        #expect((pipeline.schedulerStatistics?.batches ?? 0) < 32 * 2, "concurrent calls should share batches")
        await DemoServer.stop(server, pipeline)
    }

    @Test("a 50 ms deadline on 100-candidate normalizes gives DEADLINE_EXCEEDED and the scoring work stops")
    func deadline() async throws {
        // Small batches so the queued work is many batches that can be dropped.
        let (server, pipeline) = try DemoServer.start(scheduling: .init(maxBatchTokens: 512))
        let client = try await DemoServer.connect(server)
        defer { client.close() }
        let codes = try await withThrowingTaskGroup(of: StatusCode.self) { group in
            for i in 0..<20 {
                group.addTask {
                    do {
                        _ = try await client.normalize(.init(mention: DemoPipelineMentions.all[i % 16] + "\(i)", topK: 100),
                                                       timeout: .milliseconds(50))
                        return .ok
                    } catch let error as RPCError {
                        if case .status(let code, _) = error { return code }
                        return .unknown
                    }
                }
            }
            var out: [StatusCode] = []
            for try await c in group { out.append(c) }
            return out
        }
        #expect(codes.contains(.deadlineExceeded))
        try await Task.sleep(for: .milliseconds(300))
        let scored = pipeline.schedulerStatistics!.pairs
        try await Task.sleep(for: .milliseconds(500))
        #expect(pipeline.schedulerStatistics!.pairs == scored, "scoring went on after every deadline passed")
        #expect(scored < 2000, "\(scored) of 2000 pairs were scored despite the deadlines")
        await DemoServer.stop(server, pipeline)
    }
}

enum DemoPipelineMentions {
    static let all = [
        "吃完药后一直犯困头晕", "用药后出现皮疹伴瘙痒", "恶心想吐", "胸闷心慌", "肝功能异常，转氨酶升高",
        "头痛", "腹泻 3次/日", "注射部位红肿", "失眠多梦", "过敏性休克", "咳嗽，咽痛", "视物模糊",
        "血压升高", "乏力，食欲不振", "口干", "心率加快",
    ]
}

@Suite(.serialized) struct ServeCancellationTests {
    @Test("Cancel mid-stream stops the scoring work")
    func cancelMidStream() async throws {
        let (server, pipeline) = try DemoServer.start(scheduling: .init(maxBatchTokens: 1024))
        let client = try await DemoServer.connect(server)
        defer { client.close() }
        let stream = try await client.openStream("/adrnorm.v1.Normalizer/NormalizeStream")
        stream.enqueue((0..<400).map {
            AdrnormV1.NormalizeRequest(id: "\($0)", mention: DemoPipelineMentions.all[$0 % 16] + "\($0)", topK: 100).serializedBytes()
        })
        _ = try await stream.next()          // work is under way
        stream.cancel(reason: "test")
        try await Task.sleep(for: .milliseconds(300))
        let scored = pipeline.schedulerStatistics!.pairs
        try await Task.sleep(for: .milliseconds(500))
        #expect(pipeline.schedulerStatistics!.pairs <= scored + 200, "scoring went on after Cancel")
        #expect(scored < 40_000, "\(scored) of 40,000 pairs were scored despite the Cancel")
        // The connection is still good.
        #expect(try await client.health().status == .serving)
        await DemoServer.stop(server, pipeline)
    }
}

@Suite(.serialized) struct ServeProcessTests {
    @Test("adrnorm serve: Info reports the connection limits set by flags; SIGTERM with a stream in flight answers every accepted request, then exits 0")
    func sigtermDrains() async throws {
        let process = Process()
        process.executableURL = AdrnormExecutable.url
        process.arguments = ["serve", "--listen", "127.0.0.1:0", "--cert", DemoServer.certificate("server.pem"),
                             "--key", DemoServer.certificate("server.key"), "--client-ca", DemoServer.certificate("ca.pem"),
                             "--write-timeout", "45", "--max-request-mib", "100"]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // The port is in the log line "listening on … (port N)".
        var log = ""
        var port: Int?
        let deadline = Date().addingTimeInterval(60)
        while port == nil && Date() < deadline {
            let data = errors.fileHandleForReading.availableData
            if data.isEmpty { break }
            log += String(decoding: data, as: UTF8.self)
            if let range = log.range(of: #"\(port (\d+)\)"#, options: .regularExpression) {
                port = Int(log[range].dropFirst(6).dropLast())
            }
        }
        let listening = try #require(port, "no port in the log:\n\(log)")
        #expect(log.contains("SYNTHETIC demo"), "the log must say the demo assets are served:\n\(log)")
        let client = try await RPCClient.connect(.init(
            address: "127.0.0.1:\(listening)",
            tls: TLSClientConfiguration(trustedCAPath: DemoServer.certificate("ca.pem"),
                                        certificateChainPath: DemoServer.certificate("client-a.pem"),
                                        privateKeyPath: DemoServer.certificate("client-a.key"))))
        defer { client.close() }
        // Info reports the connection limits the flags set.
        let limits = try #require(try await client.info().connectionLimits)
        #expect(limits.writeTimeoutMs == 45_000 && limits.maxRequestBytes == 100 << 20)
        #expect(limits.maxRequestBytesPerConnection == 32 << 20 && limits.streamIdleTimeoutMs == 300_000)
        #expect(limits.maxConcurrentStreams == 64 && limits.maxMetadataEntries == 64)
        let stream = try await client.openStream("/adrnorm.v1.Normalizer/NormalizeStream")
        let count = 12
        stream.enqueue((0..<count).map {
            AdrnormV1.NormalizeRequest(id: "\($0)", mention: DemoPipelineMentions.all[$0 % 16], topK: 50).serializedBytes()
        })
        stream.halfClose()
        _ = try await stream.next().map { try AdrnormV1.NormalizeResponse(serializedBytes: $0) }
        kill(process.processIdentifier, SIGTERM)
        var ids = ["0"]
        while let bytes = try await stream.next() {
            ids.append(try AdrnormV1.NormalizeResponse(serializedBytes: bytes).id)
        }
        #expect(ids == (0..<count).map { "\($0)" })
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(process.terminationReason == .exit)
    }
}
