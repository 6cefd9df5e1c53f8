import Foundation
import Testing
import RPCClient
import RPCServer
import Transport
import Wire

/// The server and client over real mutual TLS on loopback, with a fake
/// NormalizerService.
@Suite("RPC server over mutual TLS on loopback")
struct RPCServerTests {
    @Test("every method round trips; Ping answers Pong; Hello announces the limits")
    func everyMethod() async throws {
        let server = try Loopback.startServer { $0.maxConcurrentStreams = 48; $0.initialStreamCredit = 8 }
        let client = try await Loopback.connect(server)
        #expect(client.serverHello.maxConcurrentStreams == 48)
        #expect(client.serverHello.initialStreamCredit == 8)
        #expect(client.serverHello.maxFrameBytes == FrameDecoder.defaultMaxFrameBytes)

        let retrieved = try await client.retrieve(.init(mention: "头痛", topK: 2, template: .ptLLT, mode: .exact))
        #expect(retrieved.candidates.map(\.rank) == [1, 2] && retrieved.template == .ptLLT && retrieved.mode == .exact)
        #expect(retrieved.candidates.first?.term == FakeNormalizer.term)
        let scored = try await client.score(.init(pairs: [.init(mention: "头痛", candidate: .ptCode("10019211")),
                                                          .init(mention: "头痛", candidate: .text("PT: 头痛"))]))
        #expect(scored.scores.map(\.candidateText) == ["PT: 10019211", "PT: 头痛"])
        let normalized = try await client.normalize(.init(id: "n-1", mention: "吃完药后头痛", threshold: 0.0))
        #expect(normalized.id == "n-1" && normalized.threshold == 0.0 && normalized.matches.count == 1)
        let info = try await client.info()
        #expect(info.model?.id2label == [0: "not_match", 1: "match"])
        #expect(try await client.health().status == .serving)
        let streamed = try await client.normalizeStream([.init(id: "a", mention: "头痛"), .init(id: "b", mention: "")])
        #expect(streamed.map(\.id) == ["a", "b"])
        #expect(streamed[0].error == nil && streamed[1].error?.code == .invalidArgument)
        #expect(try await client.ping([1, 2, 3]) == [1, 2, 3])
        await expectStatus(.invalidArgument) { () throws(RPCError) in
            _ = try await client.normalize(.init(id: "x", mention: ""))
        }
        client.close()
        await server.shutdown(drainTimeout: .seconds(5))
    }

    @Test("IPv6 loopback: listen on [::1]:0 and call")
    func ipv6() async throws {
        let server = try Loopback.startServer(listen: "[::1]:0")
        #expect(server.port > 0)
        let client = try await Loopback.connect(server, host: "::1")
        #expect(try await client.health().status == .serving)
        client.close()
        await server.shutdown(drainTimeout: .seconds(5))
    }

    @Test("32 concurrent calls are multiplexed on one connection")
    func multiplexed() async throws {
        let service = FakeNormalizer()
        let server = try Loopback.startServer(service: service)
        let client = try await Loopback.connect(server)
        let ids = try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<32 {
                group.addTask {
                    // 200 ms each: sequential calls would take 6.4 s.
                    try await client.normalize(.init(id: "call-\(i)", mention: "wait:200"), timeout: .seconds(60)).id
                }
            }
            var ids: [String] = []
            for try await id in group { ids.append(id) }
            return ids
        }
        #expect(Set(ids) == Set((0..<32).map { "call-\($0)" }))
        #expect(server.connectionCount == 1)
        #expect(service.waitStarted.count == 32)
        client.close()
        await server.shutdown(drainTimeout: .seconds(5))
    }

    @Test("NormalizeStream of 10,000 items: one response per id, in order, bad items answered with ItemError")
    func longStream() async throws {
        let server = try Loopback.startServer()
        let client = try await Loopback.connect(server)
        let requests = (0..<10_000).map { i in
            AdrnormV1.NormalizeRequest(id: "item-\(i)", mention: i % 1000 == 7 ? "" : "头痛\(i)")
        }
        let responses = try await client.normalizeStream(requests, timeout: .seconds(120))
        #expect(responses.count == requests.count)
        #expect(responses.map(\.id) == requests.map(\.id), "responses out of order or missing")
        let failed = responses.filter { $0.error != nil }
        #expect(failed.count == 10 && failed.allSatisfy { $0.error?.code == .invalidArgument })
        // The connection is still fine afterwards.
        #expect(try await client.health().status == .serving)
        client.close()
        await server.shutdown(drainTimeout: .seconds(5))
    }

    @Test("unknown method → UNIMPLEMENTED; undecodable or non-UTF-8 payload → INVALID_ARGUMENT naming the field")
    func badCalls() async throws {
        let service = FakeNormalizer()
        let server = try Loopback.startServer(service: service)
        let client = try await Loopback.connect(server)
        let unknown = await expectStatus(.unimplemented) { () throws(RPCError) in
            _ = try await client.call("/adrnorm.v1.Normalizer/Translate", request: [])
        }
        #expect(unknown.contains("/adrnorm.v1.Normalizer/Translate"))
        await expectStatus(.invalidArgument) { () throws(RPCError) in
            _ = try await client.call(NormalizerMethod.normalize.rawValue, request: [0xFF, 0xFF, 0xFF, 0xFF])
        }
        let utf8 = await expectStatus(.invalidArgument) { () throws(RPCError) in
            // NormalizeRequest.mention = C3 28
            _ = try await client.call(NormalizerMethod.normalize.rawValue, request: [0x12, 0x02, 0xC3, 0x28])
        }
        #expect(utf8.contains("mention") && utf8.contains("UTF-8"))
        #expect(service.calls.count == 0, "no handler may run for a request that does not decode")
        // A response too large for one frame is an error, not a broken connection.
        let huge = await expectStatus(.resourceExhausted) { () throws(RPCError) in
            _ = try await client.normalize(.init(id: "h", mention: "huge"))
        }
        #expect(huge.contains("frame limit"))
        let items = try await client.normalizeStream([.init(id: "h1", mention: "huge"), .init(id: "ok", mention: "头痛")])
        #expect(items.map(\.id) == ["h1", "ok"])
        #expect(items[0].error?.code == .resourceExhausted && items[1].error == nil)
        #expect(try await client.health().status == .serving)
        client.close()
        await server.shutdown(drainTimeout: .seconds(5))
    }

    @Test("length prefix 0 or over the maximum → GoAway and close; another connection is still served",
          arguments: [[0, 0, 0, 0] as [UInt8], [0x00, 0x40, 0x04, 0x01], [0xFF, 0xFF, 0xFF, 0xFF]])
    func badLengthPrefix(prefix: [UInt8]) async throws {
        let server = try Loopback.startServer()
        let bystander = try await Loopback.connect(server, certificate: "client-b")
        let offender = try await Loopback.connect(server)
        offender.sendRaw(prefix)
        let end = await offender.closed()
        #expect(end.goAway?.code == .invalidArgument)
        #expect(end.goAway?.message.contains("frame length prefix") == true)
        #expect(try await bystander.health().status == .serving)
        bystander.close()
        await server.shutdown(drainTimeout: .seconds(5))
    }

    @Test("GoAway still arrives when the bad prefix is followed by megabytes the server never reads")
    func goAwayWithUnreadInput() async throws {
        let server = try Loopback.startServer()
        let offender = try await Loopback.connect(server)
        offender.sendRaw([0xFF, 0xFF, 0xFF, 0xFF] + Array(repeating: 0x55, count: 4 << 20))
        let end = await offender.closed()
        #expect(end.goAway?.message.contains("frame length prefix") == true, "\(end)")
        await server.shutdown(drainTimeout: .seconds(5))
    }

    @Test("stream ids must increase: a reused id is a connection error with GoAway, and nothing after it is served")
    func streamIDsIncrease() async throws {
        let service = FakeNormalizer()
        let server = try Loopback.startServer(service: service)
        let client = try await Loopback.connect(server)
        let call = Frame.Call(method: NormalizerMethod.health.rawValue, payload: [], halfClose: true)
        // 99 after 101 is the violation; 103, in the same write, must not be served.
        client.sendRaw(Frame(streamID: StreamID(101), kind: .call(call)).lengthPrefixed()
                       + Frame(streamID: StreamID(99), kind: .call(call)).lengthPrefixed()
                       + Frame(streamID: StreamID(103), kind: .call(call)).lengthPrefixed())
        let end = await client.closed()
        #expect(end.goAway?.message.contains("ids must increase") == true)
        #expect(end.goAway?.lastStreamID == StreamID(101))
        #expect(service.calls.count <= 1, "a call after the connection error was served")
        await server.shutdown(drainTimeout: .seconds(5))
    }

    @Test("refused at the handshake: no client certificate, an untrusted CA, an expired certificate",
          arguments: [nil, "client-untrusted", "client-expired"] as [String?])
    func refusedCertificates(certificate: String?) async throws {
        let service = FakeNormalizer()
        let server = try Loopback.startServer(service: service)
        do {
            let client = try await Loopback.connect(server, certificate: certificate)
            _ = try await client.health()
            Issue.record("a client with \(certificate ?? "no certificate") was served")
        } catch {
            // The server's alert names the reason (certificate required, unknown CA, expired).
            let text = "\(error)"
            switch certificate {
            case nil: #expect(text.contains("certificate required"), "\(text)")
            case "client-untrusted": #expect(text.contains("unknown ca"), "\(text)")
            default: #expect(text.contains("expired"), "\(text)")
            }
        }
        #expect(service.calls.count == 0)
        // The server still serves good clients.
        let good = try await Loopback.connect(server)
        #expect(try await good.health().status == .serving)
        good.close()
        await server.shutdown(drainTimeout: .seconds(5))
    }

    @Test("an identity not on the allowlist gets PERMISSION_DENIED, then the connection is closed; listed ones are served")
    func allowlist() async throws {
        let service = FakeNormalizer()
        let server = try Loopback.startServer(service: service) {
            $0.allowedIdentities = ["batch.safety-team-b.test"]
        }
        let denied = try await Loopback.connect(server, certificate: "client-a")
        let message = await expectStatus(.permissionDenied) { () throws(RPCError) in _ = try await denied.health() }
        #expect(message.contains("spiffe://adrnorm.test/safety-team-a"))
        #expect(await denied.closed().goAway?.code == .permissionDenied)
        // A stream is refused the same way, on a new connection.
        let deniedStream = try await Loopback.connect(server, certificate: "client-a")
        await expectStatus(.permissionDenied) { () throws(RPCError) in
            _ = try await deniedStream.normalizeStream([.init(id: "1", mention: "头痛")])
        }
        #expect(await deniedStream.closed().goAway?.code == .permissionDenied)
        #expect(service.calls.count == 0)
        let allowed = try await Loopback.connect(server, certificate: "client-b")
        #expect(try await allowed.health().status == .serving)
        denied.close(); deniedStream.close(); allowed.close()
        await server.shutdown(drainTimeout: .seconds(5))
    }

    @Test("a TLS 1.2-only client is refused when the minimum is 1.3, served when it is 1.2")
    func tlsMinimumVersion() async throws {
        let strict = try Loopback.startServer()
        await #expect(throws: RPCError.self) { try await Loopback.connect(strict, maximum: .tls12) }
        await strict.shutdown(drainTimeout: .seconds(5))
        let lenient = try Loopback.startServer { $0.tls.minimumVersion = .tls12 }
        let client = try await Loopback.connect(lenient, maximum: .tls12)
        #expect(try await client.health().status == .serving)
        client.close()
        await lenient.shutdown(drainTimeout: .seconds(5))
    }

    @Test("a 50 ms deadline on a slow call → DEADLINE_EXCEEDED, and the work stops")
    func deadline() async throws {
        let service = FakeNormalizer()
        let server = try Loopback.startServer(service: service)
        let client = try await Loopback.connect(server)
        let started = DispatchTime.now()
        await expectStatus(.deadlineExceeded) { () throws(RPCError) in
            _ = try await client.normalize(.init(id: "d", mention: "slow"), timeout: .milliseconds(50))
        }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        #expect(elapsed < 5, "the deadline answer took \(elapsed) s")
        #expect(await service.slowStopped.wait(), "the slow call never saw its cancellation")
        #expect(try await client.health().status == .serving)
        client.close()
        await server.shutdown(drainTimeout: .seconds(5))
    }

    @Test("Cancel mid-stream stops the work and ends the stream with CANCELLED")
    func cancelMidStream() async throws {
        let service = FakeNormalizer()
        let server = try Loopback.startServer(service: service)
        let client = try await Loopback.connect(server)
        let stream = try await client.openStream(NormalizerMethod.normalizeStream.rawValue)
        try await stream.send(AdrnormV1.NormalizeRequest(id: "1", mention: "头痛").serializedBytes())
        let first = try #require(try await stream.next())
        #expect(try AdrnormV1.NormalizeResponse(serializedBytes: first).id == "1")
        try await stream.send(AdrnormV1.NormalizeRequest(id: "2", mention: "slow").serializedBytes())
        #expect(await service.slowStarted.wait())
        stream.cancel(reason: "test")
        await expectStatus(.cancelled) { () throws(RPCError) in _ = try await stream.next() }
        #expect(await service.slowStopped.wait(), "the slow item never saw its cancellation")
        #expect(try await client.health().status == .serving)
        client.close()
        await server.shutdown(drainTimeout: .seconds(5))
    }

    @Test("credit overrun → RESOURCE_EXHAUSTED on that stream; past the stream limit → RESOURCE_EXHAUSTED, no handler")
    func limits() async throws {
        let service = FakeNormalizer()
        let server = try Loopback.startServer(service: service) {
            $0.initialStreamCredit = 2
            $0.maxConcurrentStreams = 2
        }
        let client = try await Loopback.connect(server)
        // Stream 1 (the client's first): three messages against a credit of
        // two, sent raw so the client's own credit accounting is bypassed.
        let slow = AdrnormV1.NormalizeRequest(id: "s", mention: "slow").serializedBytes()
        let streamOne = try await client.openStream(NormalizerMethod.normalizeStream.rawValue)
        client.sendRaw((0..<3).flatMap { _ in Frame(streamID: streamOne.id, kind: .message(payload: slow)).lengthPrefixed() })
        let overrun = await expectStatus(.resourceExhausted) { () throws(RPCError) in _ = try await streamOne.next() }
        #expect(overrun.contains("credit"))
        #expect(await service.slowStopped.wait(), "the overrun stream's work was not stopped")

        // Two streams open (the limit), the third call is refused unserved.
        let a = try await client.openStream(NormalizerMethod.normalizeStream.rawValue)
        let b = try await client.openStream(NormalizerMethod.normalizeStream.rawValue)
        try await a.send(AdrnormV1.NormalizeRequest(id: "a", mention: "头痛").serializedBytes())
        try await b.send(AdrnormV1.NormalizeRequest(id: "b", mention: "头痛").serializedBytes())
        _ = try await a.next(); _ = try await b.next()  // both are open on the server now
        let callsBefore = service.calls.count
        let refused = await expectStatus(.resourceExhausted) { () throws(RPCError) in _ = try await client.health() }
        #expect(refused.contains("limit 2"))
        #expect(service.calls.count == callsBefore)
        a.halfClose(); b.halfClose()
        #expect(try await a.next() == nil)
        #expect(try await b.next() == nil)
        #expect(try await client.health().status == .serving)
        client.close()
        await server.shutdown(drainTimeout: .seconds(5))
    }

    @Test("drain with calls in flight: every accepted call is answered, new ones get UNAVAILABLE, then the server stops")
    func drain() async throws {
        let service = FakeNormalizer()
        let server = try Loopback.startServer(service: service)
        let client = try await Loopback.connect(server)
        let inFlight = (0..<8).map { i in
            Task { () async throws(RPCError) -> String in
                try await client.normalize(.init(id: "drain-\(i)", mention: "wait:400"), timeout: .seconds(60)).id
            }
        }
        // Wait until the server has accepted every call (the fake started them).
        #expect(await service.waitStarted.wait(until: 8))
        let stopped = Event()
        server.shutdown(drainTimeout: .seconds(30)) { stopped.signal() }
        var answered: [String] = []
        for task in inFlight { answered.append(try await task.value) }
        #expect(answered == (0..<8).map { "drain-\($0)" })
        await expectStatus(.unavailable) { () throws(RPCError) in _ = try await client.health() }
        #expect(await stopped.wait(), "the server did not stop after draining")
        #expect(await client.closed().goAway?.code == .unavailable)
    }
}
