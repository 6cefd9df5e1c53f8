import Foundation
import Testing
import RPCClient
import RPCServer
import Transport
import Wire

/// Issue 16, item 7: out-of-range timeouts, long method names and a
/// repeated HalfClose must neither trap the server nor mislead the client.
@Suite("Server robustness: timeout ranges, echoed names, repeated HalfClose")
struct ServerRobustnessTests {
    @Test("handshake and idle timeouts outside (0, 1 day] are refused naming the setting, not trapped on later")
    func timeoutRanges() {
        let cases: [(String, (inout ServerConfiguration) -> Void)] = [
            ("handshake-timeout", { $0.handshakeTimeout = .zero }),
            ("handshake-timeout", { $0.handshakeTimeout = .seconds(-1) }),
            ("handshake-timeout", { $0.handshakeTimeout = .seconds(10_000_000_000) }),
            ("handshake-timeout", { $0.handshakeTimeout = .seconds(86_401) }),
            ("idle-timeout", { $0.idleTimeout = .zero }),
            ("idle-timeout", { $0.idleTimeout = .seconds(10_000_000_000) }),
            ("idle-timeout", { $0.idleTimeout = .seconds(86_400) + .milliseconds(1) }),
        ]
        for (setting, adjust) in cases {
            var configuration = ServerConfiguration(listenAddress: "127.0.0.1:0", tls: Loopback.serverTLS())
            adjust(&configuration)
            do {
                _ = try RPCServer(configuration: configuration, service: FakeNormalizer(), logger: Loopback.logger)
                Issue.record("\(setting) \(configuration.handshakeTimeout)/\(String(describing: configuration.idleTimeout)) was accepted")
            } catch {
                #expect("\(error)".contains(setting) && "\(error)".contains("at most"), "\(error)")
            }
        }
    }

    @Test("one day, the largest timeout, serves calls; timeout_ms 0xFFFFFFFF (about 49.7 days) is a valid deadline")
    func largestTimeouts() async throws {
        let server = try Loopback.startServer {
            $0.handshakeTimeout = ServerConfiguration.maximumTimeout
            $0.idleTimeout = ServerConfiguration.maximumTimeout
        }
        let client = try await Loopback.connect(server)
        // 10^7 s is clamped by the client to timeout_ms = 2^32 - 1.
        let bytes = try await client.call(NormalizerMethod.health.rawValue, request: [], timeout: .seconds(10_000_000))
        #expect(try AdrnormV1.HealthResponse(serializedBytes: bytes).status == .serving)
        #expect(try await client.health().status == .serving)
        client.close()
        await server.shutdown(drainTimeout: .seconds(5))
    }

    @Test("an unknown method name is echoed only up to 128 bytes, cut at a UTF-8 boundary, with …",
          arguments: [String(repeating: "x", count: 1 << 20), "/" + String(repeating: "头", count: 100_000)])
    func longUnknownMethod(name: String) async throws {
        let server = try Loopback.startServer()
        let client = try await Loopback.connect(server)
        let message = await expectStatus(.unimplemented) { () throws(RPCError) in
            _ = try await client.call(name, request: [])
        }
        #expect(message.utf8.count < 512, "\(message.utf8.count) bytes of message")
        let echoed = try #require(message.split(separator: "\"").dropFirst().first.map(String.init))
        #expect(echoed.hasSuffix("…"))
        let kept = String(echoed.dropLast())
        #expect(kept.utf8.count <= 128 && kept.utf8.count > 120, "\(kept.utf8.count) bytes kept")
        #expect(name.hasPrefix(kept))
        #expect(message.contains(NormalizerMethod.health.rawValue), "the message still lists the served methods")
        // A short unknown name is echoed whole.
        let short = await expectStatus(.unimplemented) { () throws(RPCError) in
            _ = try await client.call("/adrnorm.v1.Normalizer/Translate", request: [])
        }
        #expect(short.contains("\"/adrnorm.v1.Normalizer/Translate\""))
        client.close()
        await server.shutdown(drainTimeout: .seconds(5))
    }

    @Test("a second HalfClose on a unary call that is already running is ignored: the result is still delivered")
    func repeatedHalfClose() async throws {
        let service = FakeNormalizer()
        let server = try Loopback.startServer(service: service)
        let client = try await Loopback.connect(server)
        let stream = try await client.openStream(NormalizerMethod.normalize.rawValue)
        try await stream.send(AdrnormV1.NormalizeRequest(id: "w", mention: "wait:300").serializedBytes())
        stream.halfClose()
        // Both go out on the client's queue in this order, while the call runs (300 ms).
        client.sendRaw(Frame(streamID: stream.id, kind: .halfClose).lengthPrefixed())
        client.sendRaw(Frame(streamID: stream.id, kind: .halfClose).lengthPrefixed())
        let response = try #require(try await stream.next())
        #expect(try AdrnormV1.NormalizeResponse(serializedBytes: response).id == "w")
        #expect(try await stream.next() == nil, "the stream must end with OK")
        #expect(service.waitStarted.count == 1)
        // The connection is still good.
        #expect(try await client.health().status == .serving)
        client.close()
        await server.shutdown(drainTimeout: .seconds(5))
    }
}
