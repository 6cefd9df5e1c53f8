import Foundation
import Testing
import RPCClient
import RPCServer
import Transport
import Wire
#if canImport(Glibc)
import Glibc
#endif

@Suite("Connection limits: back-pressure, timeouts, max connections")
struct ConnectionLimitTests {
    @Test("a client that does not read makes the server stop reading; everything is served once it drains")
    func backPressure() async throws {
        let service = FakeNormalizer()
        let total = 1000
        let server = try Loopback.startServer(service: service) {
            $0.outputBufferLimit = 64 * 1024
            $0.initialStreamCredit = UInt32(total)
        }
        // One NormalizeStream opened with raw frames (so credit is the
        // server's initial credit only), 1000 requests of ~16 KB each whose
        // responses are ~200 KB: ~200 MB of output, far beyond the socket
        // buffers (tens of responses) and the 64 KiB limit. Stream 2: the
        // client's own ids are odd.
        let padding = String(repeating: "x", count: 16 * 1024)
        var chunks: [[UInt8]] = []
        var bytes = Frame(streamID: StreamID(2), kind: .call(.init(method: NormalizerMethod.normalizeStream.rawValue)))
            .lengthPrefixed()
        for i in 0..<total {
            bytes += Frame(streamID: StreamID(2), kind: .message(payload: AdrnormV1.NormalizeRequest(
                id: "\(i)", mention: "big:\(padding)").serializedBytes())).lengthPrefixed()
            if bytes.count > 1 << 20 { chunks.append(bytes); bytes = [] }
        }
        chunks.append(bytes + Frame(streamID: StreamID(2), kind: .halfClose).lengthPrefixed())

        let client = try await Loopback.connect(server)
        #expect(try await client.health().status == .serving)  // stream 1, one call
        client.setReadingPaused(true)
        for chunk in chunks { client.sendRaw(chunk) }
        // Wait for work to start, then for the server to stall: no progress
        // for a whole second (a slow machine can only make this look stalled
        // early, which the assertion below tolerates).
        #expect(await service.calls.wait(until: 2, seconds: 60))
        var last = -1, rounds = 0
        while service.calls.count != last && rounds < 120 {
            last = service.calls.count
            rounds += 1
            _ = await service.calls.wait(until: Int.max, seconds: 1)
        }
        let stalledAt = service.calls.count - 1
        #expect(stalledAt < total / 2, "the server kept reading (\(stalledAt) of \(total) served) with nobody draining")
        print("back-pressure: the server stalled after \(stalledAt) of \(total) items")
        client.setReadingPaused(false)
        #expect(await service.calls.wait(until: total + 1, seconds: 120), "only \(service.calls.count - 1) of \(total) served after draining")
        #expect(try await client.health().status == .serving)
        client.close()
        await server.shutdown(drainTimeout: .seconds(5))
    }

    @Test("a client that never reads: answers past its output limit become RESOURCE_EXHAUSTED, its connection is closed at the write timeout, and the server gives back every byte")
    func clientThatNeverReads() async throws {
        let service = FakeNormalizer()
        let server = try Loopback.startServer(service: service) {
            $0.maxFrameBytes = 1 << 20
            $0.outputBufferLimit = 64 * 1024
            $0.maxQueuedOutputBytesPerConnection = 1 << 20
            $0.writeTimeout = .seconds(2)
            $0.initialStreamCredit = 100_000
        }
        // Stream items of ~200 KB answers each, 20 more every 50 ms, on raw
        // frames, and a client that reads none of them: the socket buffers
        // fill, then the server's own output stops moving.
        let client = try await Loopback.connect(server)
        #expect(try await client.health().status == .serving)
        client.setReadingPaused(true)
        client.sendRaw(Frame(streamID: StreamID(3), kind: .call(.init(method: NormalizerMethod.normalizeStream.rawValue)))
            .lengthPrefixed())
        var peak = 0, sent = 0
        let started = ContinuousClock.now
        while server.connectionCount > 0 && ContinuousClock.now - started < .seconds(30) {
            var bytes: [UInt8] = []
            for _ in 0..<20 where sent < 100_000 {
                bytes += Frame(streamID: StreamID(3), kind: .message(payload: AdrnormV1.NormalizeRequest(
                    id: "\(sent)", mention: "big:\(sent)").serializedBytes())).lengthPrefixed()
                sent += 1
            }
            client.sendRaw(bytes)
            for _ in 0..<5 {
                peak = max(peak, server.unsentOutputBytes)
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        let unsent = server.unsentOutputBytes, calls = service.calls.count
        #expect(server.connectionCount == 0,
                "the server still holds the connection of a client that does not read (\(unsent) bytes unsent, \(calls) calls)")
        // The socket buffers take some; the server itself holds at most its
        // limit plus one response.
        #expect(peak <= (1 << 20) + 300_000, "unsent output peaked at \(peak) bytes")
        #expect(server.unsentOutputBytes == 0 && server.heldRequestBytes == 0)
        print("never-reading client: unsent output peaked at \(peak) bytes; closed after \(ContinuousClock.now - started)")
        client.close()
        await server.shutdown(drainTimeout: .seconds(5))
    }

    @Test("a TCP connection that never starts TLS is closed after the handshake timeout")
    func handshakeTimeout() async throws {
        let server = try Loopback.startServer { $0.handshakeTimeout = .milliseconds(300) }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(server.port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(connected == 0)
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let n = await withCheckedContinuation { (c: CheckedContinuation<Int, Never>) in
            DispatchQueue.global().async {
                var byte: UInt8 = 0
                c.resume(returning: read(fd, &byte, 1))
            }
        }
        #expect(n == 0, "expected the server to close the silent connection (read returned \(n), errno \(errno))")
        await server.shutdown(drainTimeout: .seconds(5))
    }

    @Test("an idle connection gets GoAway and is closed after the idle timeout")
    func idleTimeout() async throws {
        let server = try Loopback.startServer { $0.idleTimeout = .milliseconds(300) }
        // No call at all: nothing here depends on being faster than the timeout.
        let client = try await Loopback.connect(server)
        let end = await client.closed()
        #expect(end.goAway?.code == .unavailable && end.goAway?.message.contains("idle") == true)
        await server.shutdown(drainTimeout: .seconds(5))
    }

    @Test("connections past --max-connections are closed; the first is still served")
    func maxConnections() async throws {
        let server = try Loopback.startServer { $0.maxConnections = 1 }
        let first = try await Loopback.connect(server)
        await #expect(throws: RPCError.self) { try await Loopback.connect(server, certificate: "client-b") }
        #expect(try await first.health().status == .serving)
        first.close()
        await server.shutdown(drainTimeout: .seconds(5))
    }

    /// A plain TCP connection to the server that sends nothing.
    static func silentConnection(_ port: Int) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return fd
    }

    @Test("connections that never start TLS cannot lock out a verified client: they have their own budget, oldest closed first")
    func unauthenticatedFlood() async throws {
        let server = try Loopback.startServer {
            $0.maxConnections = 2
            $0.maxUnauthenticatedConnections = 8
            $0.handshakeTimeout = .seconds(30)
        }
        let silent = (0..<100).map { _ in Self.silentConnection(server.port) }
        defer { for fd in silent { close(fd) } }
        // Before the budget, 100 silent connections held every slot for the
        // whole handshake timeout and a real client was refused.
        let started = ContinuousClock.now
        let client = try await Loopback.connect(server)
        #expect(try await client.health().status == .serving)
        #expect(ContinuousClock.now - started < .seconds(5))
        // Evicted connections close on their own queues: let them finish.
        for _ in 0..<250 where server.connectionCount > 2 + 8 { try await Task.sleep(for: .milliseconds(20)) }
        #expect(server.connectionCount <= 2 + 8)
        client.close()
        await server.shutdown(drainTimeout: .seconds(5))
    }

    @Test("identities not on the allowlist do not count against --max-connections, and are closed after their first call")
    func refusedIdentitiesDoNotCount() async throws {
        let server = try Loopback.startServer {
            $0.maxConnections = 1
            $0.allowedIdentities = ["batch.safety-team-b.test"]
        }
        var denied: [RPCClient] = []
        for _ in 0..<3 { denied.append(try await Loopback.connect(server, certificate: "client-a")) }
        let allowed = try await Loopback.connect(server, certificate: "client-b")
        #expect(try await allowed.health().status == .serving)
        for client in denied {
            await expectStatus(.permissionDenied) { () throws(RPCError) in _ = try await client.health() }
            #expect(await client.closed().goAway?.code == .permissionDenied)
        }
        allowed.close()
        await server.shutdown(drainTimeout: .seconds(5))
    }
}
