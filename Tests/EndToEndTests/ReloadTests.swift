import CrossEncoder
import Foundation
import Logging
import Normalization
import RPCClient
import RPCServer
import ServiceAdapter
import Terminology
import Testing
import Transport
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// Reload without restart (SIGHUP): certificates, allowlist, dictionary.
@Suite(.serialized) struct ReloadTests {
    static func tls(_ set: URL, certificate: String = "server.pem", key: String = "server.key") -> TLSServerConfiguration {
        TLSServerConfiguration(certificateChainPath: TestCertificates.path(certificate, in: set),
                               privateKeyPath: TestCertificates.path(key, in: set),
                               clientCAPath: TestCertificates.path("ca.pem", in: set))
    }

    static func connect(_ port: Int, _ set: URL, client: String = "client-a") async throws(RPCError) -> RPCClient {
        try await RPCClient.connect(.init(address: "127.0.0.1:\(port)", tls: TLSClientConfiguration(
            trustedCAPath: TestCertificates.path("ca.pem", in: set),
            certificateChainPath: TestCertificates.path("\(client).pem", in: set),
            privateKeyPath: TestCertificates.path("\(client).key", in: set))))
    }

    /// Whether a client of `set` can connect and call Health.
    static func serves(_ port: Int, _ set: URL, client: String = "client-a") async -> Bool {
        do {
            let client = try await connect(port, set, client: client)
            defer { client.close() }
            return try await client.health().status == .serving
        } catch {
            return false
        }
    }

    /// A 2-PT dictionary CSV (3 PTs with `third`).
    static func smallCSV(third: Bool = false) -> String {
        """
        pt_code,pt_name,llt_name,hlt_name,hlgt_name,soc_name
        94000001,头痛,头疼,头痛NEC,头痛,神经系统疾病
        94000003,恶心,想吐,恶心和呕吐症状,胃肠道体征和症状,胃肠系统疾病

        """ + (third ? "94000002,头晕,头昏,头晕NEC,神经系统体征和症状,神经系统疾病\n" : "")
    }

    static func small() throws -> CandidateDictionary {
        let csv = FileManager.default.temporaryDirectory.appendingPathComponent("adrnorm-reload-\(UUID().uuidString).csv")
        defer { try? FileManager.default.removeItem(at: csv) }
        try smallCSV().write(to: csv, atomically: true, encoding: .utf8)
        return try CandidateDictionary.load(path: csv.path)
    }

    @Test("rotating the certificates while a stream runs: the stream finishes, new connections get the new certificates, the old ones are refused")
    func rotateWhileStreaming() async throws {
        let (server, pipeline) = try DemoServer.start()
        let old = TestCertificates.directory, new = TestCertificates.other
        #expect(await Self.serves(server.port, old))
        #expect(!(await Self.serves(server.port, new)), "a client of the other CA is refused before the reload")

        let client = try await Self.connect(server.port, old)
        defer { client.close() }
        let stream = try await client.openStream(NormalizerMethod.normalizeStream.rawValue)
        func requests(_ range: Range<Int>) -> [[UInt8]] {
            range.map { AdrnormV1.NormalizeRequest(id: "\($0)", mention: DemoPipelineMentions.all[$0 % 16], topK: 10)
                .serializedBytes() }
        }
        stream.enqueue(requests(0..<4))
        var ids = [try AdrnormV1.NormalizeResponse(serializedBytes: try #require(try await stream.next())).id]

        try server.reloadTLS(Self.tls(new))

        stream.enqueue(requests(4..<8))
        stream.halfClose()
        while let bytes = try await stream.next() { ids.append(try AdrnormV1.NormalizeResponse(serializedBytes: bytes).id) }
        #expect(ids == (0..<8).map { "\($0)" }, "the stream on the old certificates finished")
        #expect(await Self.serves(server.port, new), "new handshakes use the new certificates")
        #expect(!(await Self.serves(server.port, old)), "clients of the old CA are refused after the reload")
        await DemoServer.stop(server, pipeline)
    }

    @Test("a reload with a missing file, a key that does not match, or an unparsable CA changes nothing")
    func brokenReload() async throws {
        let (server, pipeline) = try DemoServer.start()
        let old = TestCertificates.directory, new = TestCertificates.other
        let broken = FileManager.default.temporaryDirectory.appendingPathComponent("adrnorm-broken-\(UUID().uuidString).pem")
        try "not a certificate\n".write(to: broken, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: broken) }
        let attempts = [
            TLSServerConfiguration(certificateChainPath: "/nonexistent/server.pem",
                                   privateKeyPath: TestCertificates.path("server.key", in: new),
                                   clientCAPath: TestCertificates.path("ca.pem", in: new)),
            TLSServerConfiguration(certificateChainPath: TestCertificates.path("server.pem", in: new),
                                   privateKeyPath: TestCertificates.path("server.key", in: old),
                                   clientCAPath: TestCertificates.path("ca.pem", in: new)),
            TLSServerConfiguration(certificateChainPath: TestCertificates.path("server.pem", in: new),
                                   privateKeyPath: TestCertificates.path("server.key", in: new), clientCAPath: broken.path),
        ]
        for attempt in attempts {
            #expect(throws: RPCError.self) { try server.reloadTLS(attempt) }
            #expect(await Self.serves(server.port, old), "the old certificates still serve")
            #expect(!(await Self.serves(server.port, new)))
        }
        await DemoServer.stop(server, pipeline)
    }

    @Test("an allowlist reload applies to new connections; admitted ones keep calling")
    func allowlistReload() async throws {
        let (server, pipeline) = try DemoServer.start()
        let set = TestCertificates.directory
        let admitted = try await Self.connect(server.port, set)
        defer { admitted.close() }
        server.reloadAllowlist(["batch.safety-team-b.test"])
        #expect(try await admitted.health().status == .serving)
        #expect(!(await Self.serves(server.port, set, client: "client-a")), "client-a is no longer on the list")
        #expect(await Self.serves(server.port, set, client: "client-b"))
        server.reloadAllowlist([])
        #expect(await Self.serves(server.port, set, client: "client-a"))
        await DemoServer.stop(server, pipeline)
    }

    @Test("a dictionary reload changes Info's digest and the results; nothing cached for the old dictionary is served")
    func dictionaryReload() async throws {
        var c = PipelineConfiguration()
        c.cacheCapacity = 100
        let pipeline = try NormalizationPipeline(dictionary: DemoServer.dictionary, model: DemoServer.model,
                                                 modelDigest: "demo", configuration: c)
        let service = PipelineService(pipeline: pipeline, description: .init(
            serverVersion: "test", modelName: "demo", modelIsSynthetic: true, dictionaryIsSynthetic: true))
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let server = try RPCServer(configuration: .init(listenAddress: "127.0.0.1:0", tls: Self.tls(TestCertificates.directory)),
                                   service: service, logger: logger)
        try server.start()
        let client = try await Self.connect(server.port, TestCertificates.directory)
        defer { client.close() }

        let before = try #require(try await client.info().dictionary)
        let request = AdrnormV1.NormalizeRequest(id: "m", mention: "头晕", returnTopScored: 1000)
        let first = try await client.normalize(request)
        #expect(try await client.normalize(request).cached, "the second call is served from the cache")
        #expect(first.topScored.count == 100)

        let small = try Self.small()
        service.replacePipeline(try pipeline.replacing(dictionary: small, synonyms: nil))
        let after = try #require(try await client.info().dictionary)
        #expect(after.digest == small.digest && after.digest != before.digest && after.ptCount == 2)
        let reloaded = try await client.normalize(request)
        #expect(!reloaded.cached, "a result cached for the old dictionary is not served")
        #expect(Set(reloaded.topScored.compactMap { $0.term?.ptCode }) == ["94000001", "94000003"])
        #expect(reloaded.provenance?.dictionaryDigest == small.digest)
        await server.shutdown(drainTimeout: .seconds(5))
        service.pipeline.shutdown()
    }

    @Test("adrnorm serve: SIGHUP reloads rotated certificate files, the allowlist file and the dictionary; a broken file on SIGHUP changes nothing")
    func sighup() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("adrnorm-sighup-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        func install(from set: URL) throws {
            for name in ["server.pem", "server.key", "ca.pem"] {
                let target = folder.appendingPathComponent(name)
                try? FileManager.default.removeItem(at: target)
                try FileManager.default.copyItem(at: set.appendingPathComponent(name), to: target)
            }
        }
        try install(from: TestCertificates.directory)
        let allowlist = folder.appendingPathComponent("allowed.txt")
        try "# who may call\nsafety-team-a\n\n".write(to: allowlist, atomically: true, encoding: .utf8)
        let dictionary = folder.appendingPathComponent("dictionary.csv")
        try Self.smallCSV().write(to: dictionary, atomically: true, encoding: .utf8)

        let serve = try ServeChild(["--listen", "127.0.0.1:0", "--no-model",
                                    "--cert", folder.appendingPathComponent("server.pem").path,
                                    "--key", folder.appendingPathComponent("server.key").path,
                                    "--client-ca", folder.appendingPathComponent("ca.pem").path,
                                    "--allow-identity-file", allowlist.path, "--dictionary", dictionary.path], in: folder)
        let port = try await serve.port()
        let old = TestCertificates.directory, new = TestCertificates.other

        #expect(await Self.serves(port, old, client: "client-a"), "client-a is on the allowlist file")
        #expect(!(await Self.serves(port, old, client: "client-b")), "client-b is not")
        let before = try await Self.connect(port, old)
        #expect(try await before.info().dictionary?.ptCount == 2)
        before.close()

        try install(from: new)
        try "safety-team-a\nbatch.safety-team-b.test\n".write(to: allowlist, atomically: true, encoding: .utf8)
        try Self.smallCSV(third: true).write(to: dictionary, atomically: true, encoding: .utf8)
        serve.signal(SIGHUP)
        try await serve.wait(for: "adrnorm serve: reloaded")
        #expect(serve.text.contains("adrnorm serve: reloaded"), "\(serve.text)")
        #expect(await Self.serves(port, new, client: "client-b"), "the new CA, certificate and allowlist are in place")
        #expect(!(await Self.serves(port, old, client: "client-a")))
        let after = try await Self.connect(port, new, client: "client-b")
        #expect(try await after.info().dictionary?.ptCount == 3, "the dictionary file was re-read")
        after.close()

        try "not a key\n".write(to: folder.appendingPathComponent("server.key"), atomically: true, encoding: .utf8)
        serve.signal(SIGHUP)
        try await serve.wait(for: "reload failed")
        #expect(serve.text.contains("reload failed, nothing changed"), "\(serve.text)")
        #expect(await Self.serves(port, new, client: "client-b"), "a failed reload keeps what was in place")
        let kept = try await Self.connect(port, new, client: "client-b")
        #expect(try await kept.info().dictionary?.ptCount == 3)
        kept.close()
        #expect(serve.process.isRunning)
    }
}
