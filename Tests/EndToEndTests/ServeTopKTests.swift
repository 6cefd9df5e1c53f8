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

/// Issue 15 item 2: the server applies the command line's `top_k` rule
/// (`TopK`): 0 is the default, above the dictionary's PT count is capped.
@Suite(.serialized) struct ServeTopKTests {
    /// The demo model over a 3-PT dictionary (fewer PTs than the default 100).
    static func startSmall() throws -> (RPCServer, NormalizationPipeline) {
        let csv = FileManager.default.temporaryDirectory.appendingPathComponent("adrnorm-small-\(UUID().uuidString).csv")
        try """
            pt_code,pt_name,llt_name,hlt_name,hlgt_name,soc_name
            94000001,头痛,头疼,头痛NEC,头痛,神经系统疾病
            94000002,头晕,头昏,头晕NEC,神经系统体征和症状,神经系统疾病
            94000003,恶心,想吐,恶心和呕吐症状,胃肠道体征和症状,胃肠系统疾病

            """.write(to: csv, atomically: true, encoding: .utf8)
        let dictionary = try CandidateDictionary.load(path: csv.path)
        var c = PipelineConfiguration()
        c.cacheCapacity = 0
        let pipeline = try NormalizationPipeline(dictionary: dictionary, model: DemoServer.model, modelDigest: "demo",
                                                 configuration: c)
        let service = PipelineService(pipeline: pipeline, description: .init(
            serverVersion: "test", modelName: "demo", modelIsSynthetic: true, dictionaryIsSynthetic: false))
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let server = try RPCServer(configuration: ServerConfiguration(
            listenAddress: "127.0.0.1:0",
            tls: TLSServerConfiguration(certificateChainPath: DemoServer.certificate("server.pem"),
                                        privateKeyPath: DemoServer.certificate("server.key"),
                                        clientCAPath: DemoServer.certificate("ca.pem"))), service: service, logger: logger)
        try server.start()
        return (server, pipeline)
    }

    @Test("a 3-PT dictionary: default top_k answers with 3 candidates in Retrieve, Normalize and NormalizeStream; Info says 3")
    func smallDictionary() async throws {
        let (server, pipeline) = try Self.startSmall()
        let client = try await DemoServer.connect(server)
        defer { client.close() }
        #expect(try await client.info().defaults?.topK == 3)
        #expect(try await client.retrieve(.init(mention: "头疼")).candidates.count == 3)
        #expect(try await client.retrieve(.init(mention: "头疼", topK: 1000)).candidates.count == 3)
        #expect(try await client.retrieve(.init(mention: "头疼", topK: 2)).candidates.count == 2)
        let normalized = try await client.normalize(.init(id: "n", mention: "头疼", returnTopScored: 100))
        #expect(normalized.id == "n" && normalized.topScored.count == 3)
        let stream = try await client.normalizeStream((0..<4).map {
            .init(id: "s\($0)", mention: ["头疼", "想吐"][$0 % 2], topK: $0 == 3 ? 1000 : 0, returnTopScored: 10)
        })
        #expect(stream.map(\.id) == ["s0", "s1", "s2", "s3"])
        #expect(stream.allSatisfy { $0.error == nil && $0.topScored.count == 3 }, "\(stream.map { $0.error })")
        await DemoServer.stop(server, pipeline)
    }

    @Test("the demo dictionary: top_k 1000 is capped to its 382 PTs in Retrieve and Normalize, not refused")
    func largeTopK() async throws {
        let (server, pipeline) = try DemoServer.start()
        let client = try await DemoServer.connect(server)
        defer { client.close() }
        #expect(try await client.info().defaults?.topK == 100)
        #expect(try await client.retrieve(.init(mention: "头痛", topK: 1000)).candidates.count == 382)
        let normalized = try await client.normalize(.init(mention: "头痛", topK: 1000, returnTopScored: 1000))
        #expect(normalized.topScored.count == 382)
        await DemoServer.stop(server, pipeline)
    }
}
