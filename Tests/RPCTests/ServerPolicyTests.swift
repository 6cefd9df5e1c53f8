import Foundation
import Logging
import Testing
import RPCClient
import RPCServer
import Transport
import Wire

/// Keeps every log record for assertions.
final class LogRecorder: @unchecked Sendable {
    struct Record: Sendable { let level: Logger.Level; let message: String; let metadata: [String: String] }
    private let lock = NSLock()
    private var records: [Record] = []
    func append(_ record: Record) { lock.lock(); records.append(record); lock.unlock() }
    var all: [Record] { lock.lock(); defer { lock.unlock() }; return records }

    var logger: Logger {
        var logger = Logger(label: "adrnorm.rpc.test") { _ in Handler(recorder: self) }
        logger.logLevel = .info
        return logger
    }

    struct Handler: LogHandler {
        let recorder: LogRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            recorder.append(.init(level: event.level, message: "\(event.message)",
                                  metadata: merged.mapValues { "\($0)" }))
        }
    }
}

@Suite("Server policy: identity logging, insecure mode")
struct ServerPolicyTests {
    @Test("the verified identity is logged when a connection opens and closes")
    func identityLogged() async throws {
        let recorder = LogRecorder()
        let configuration = ServerConfiguration(listenAddress: "127.0.0.1:0", tls: Loopback.serverTLS())
        let server = try RPCServer(configuration: configuration, service: FakeNormalizer(), logger: recorder.logger)
        try server.start()
        let client = try await Loopback.connect(server, certificate: "client-b")
        #expect(try await client.health().status == .serving)
        client.close()
        await server.shutdown(drainTimeout: .seconds(5))
        let records = recorder.all
        let open = records.first { $0.message == "connection open" }
        let closed = records.first { $0.message == "connection closed" }
        #expect(open?.metadata["peer"] == "batch.safety-team-b.test")
        #expect(open?.metadata["tls"] == "TLSv1.3" && open?.metadata["alpn"] == "adrn/1")
        #expect(closed?.metadata["peer"] == "batch.safety-team-b.test")
    }

    @Test("insecure-no-client-auth serves clients without certificates and says so loudly")
    func insecureMode() async throws {
        let recorder = LogRecorder()
        var configuration = ServerConfiguration(
            listenAddress: "127.0.0.1:0",
            tls: Loopback.serverTLS(requireClientCertificate: false))
        configuration.tls.clientCAPath = nil
        let server = try RPCServer(configuration: configuration, service: FakeNormalizer(), logger: recorder.logger)
        try server.start()
        #expect(recorder.all.contains { $0.level == .critical && $0.message.contains("INSECURE") })
        let client = try await Loopback.connect(server, certificate: nil)
        #expect(try await client.health().status == .serving)
        client.close()
        await server.shutdown(drainTimeout: .seconds(5))
    }
}

@Suite("Server configuration checks")
struct ServerConfigurationTests {
    @Test("settings that cannot work are refused with the setting's name")
    func invalidSettings() {
        let adjustments: [(String, (inout ServerConfiguration) -> Void)] = [
            ("initial-stream-credit", { $0.initialStreamCredit = 0 }),
            ("max-concurrent-streams", { $0.maxConcurrentStreams = 0 }),
            ("max-frame-bytes", { $0.maxFrameBytes = 10 }),
            ("client-ca", { $0.tls.clientCAPath = nil }),
        ]
        for (setting, adjust) in adjustments {
            var configuration = ServerConfiguration(listenAddress: "127.0.0.1:0", tls: Loopback.serverTLS())
            adjust(&configuration)
            #expect(throws: RPCError.self) {
                try RPCServer(configuration: configuration, service: FakeNormalizer(), logger: Loopback.logger)
            }
            do {
                _ = try RPCServer(configuration: configuration, service: FakeNormalizer(), logger: Loopback.logger)
            } catch {
                #expect("\(error)".contains(setting), "\(error)")
            }
        }
    }

    @Test("a listen address that cannot be used names the address")
    func badListenAddress() throws {
        let server = try RPCServer(configuration: .init(listenAddress: "localhost:http", tls: Loopback.serverTLS()),
                                   service: FakeNormalizer(), logger: Loopback.logger)
        #expect { try server.start() } throws: { "\($0)".contains("localhost:http") }
    }
}
