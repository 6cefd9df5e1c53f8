import Foundation
import Testing
import RPCServer
import Transport
import Wire

private let millisecond: UInt64 = 1_000_000
private let second: UInt64 = 1_000_000_000

typealias ServerAction = ServerConnectionState.Action

/// What a test reads out of a batch of server actions.
extension Array where Element == ServerConnectionState.Action {
    var frames: [Frame] { compactMap { if case .send(let frame) = $0 { frame } else { nil } } }
    var statuses: [(id: UInt32, code: StatusCode, message: String)] {
        frames.compactMap { if case .status(let code, let message) = $0.kind { ($0.streamID.rawValue, code, message) } else { nil } }
    }
    var status: (id: UInt32, code: StatusCode, message: String)? { statuses.count == 1 ? statuses[0] : nil }
    var messages: [(id: UInt32, payload: [UInt8])] {
        frames.compactMap { if case .message(let payload) = $0.kind { ($0.streamID.rawValue, payload) } else { nil } }
    }
    var credits: [UInt32] { frames.compactMap { if case .credit(let n) = $0.kind { n } else { nil } } }
    var goAway: (last: UInt32, code: StatusCode, message: String)? {
        for frame in frames { if case .goAway(let last, let code, let message) = frame.kind { return (last.rawValue, code, message) } }
        return nil
    }
    var closesGracefully: Bool { contains { if case .closeGracefully = $0 { true } else { false } } }
    var closeNow: RPCError?? { for a in self { if case .closeNow(let e) = a { return .some(e) } }; return nil }
    /// How many calls' work the actions cancel.
    var cancels: Int { filter { if case .cancelWork = $0 { true } else { false } }.count }
    var unaryStarts: [(id: UInt32, method: NormalizerMethod, payload: [UInt8])] {
        compactMap { if case .startUnary(let id, let m, let p, _) = $0 { (id.rawValue, m, p) } else { nil } }
    }
    var itemStarts: [(id: UInt32, sequence: Int, payload: [UInt8])] {
        compactMap { if case .startItem(let id, let s, let p, _) = $0 { (id.rawValue, s, p) } else { nil } }
    }
    var wakeUp: UInt64? { for a in self { if case .wakeUp(let at) = a { return at } }; return nil }
    var logs: [String] { compactMap { if case .log(_, let message, _) = $0 { message } else { nil } } }
}

/// A server connection state machine past the handshake (and, unless
/// told otherwise, the client's Hello), with a clock the test moves.
struct ServerHarness {
    static let epoch = ContinuousClock.now
    var machine: ServerConnectionState
    var now: UInt64 = 5_000 * second
    var lastInput: UInt64 = 5_000 * second
    /// The actions of the handshake event.
    var handshakeActions: [ServerAction] = []

    init(_ settings: ServerConnectionState.Settings = .init(), allowed: Bool = true,
         peer: PeerIdentity? = PeerIdentity(name: "client-a", allNames: ["client-a"]), hello: Bool = true) {
        machine = ServerConnectionState(settings: settings, epoch: Self.epoch)
        _ = machine.handle(.started(now: now), output: .init(now: now))
        handshakeActions = machine.handle(.handshakeCompleted(peer: peer, allowed: allowed, now: now),
                                          output: .init(now: now))
        if hello { _ = receive(.hello(.init(protocolVersion: 1, clientName: "test/1"))) }
    }

    mutating func receive(_ kind: Frame.Kind, on id: UInt32 = 0) -> [ServerAction] {
        lastInput = now
        return machine.handle(.frameReceived(Frame(streamID: StreamID(id), kind: kind), now: now), output: .init(now: now))
    }

    mutating func call(_ id: UInt32, _ method: NormalizerMethod = .health, payload: [UInt8]? = [],
                       halfClose: Bool = true, timeoutMilliseconds: UInt32 = 0) -> [ServerAction] {
        receive(.call(.init(method: method.rawValue, timeoutMilliseconds: timeoutMilliseconds, payload: payload,
                            halfClose: halfClose)), on: id)
    }

    mutating func advance(to time: UInt64) -> [ServerAction] {
        now = time
        return machine.handle(.tick(now: now, lastInput: lastInput), output: .init(now: now))
    }

    mutating func handle(_ event: ServerConnectionState.Event) -> [ServerAction] {
        machine.handle(event, output: .init(now: now))
    }
}

private func response(_ id: String) -> [UInt8] {
    AdrnormV1.NormalizeResponse(id: id, matches: []).serializedBytes()
}

@Suite("Server connection state machine: protocol v1 without sockets or clocks")
struct ServerConnectionStateTests {
    // MARK: Hello and connection errors

    @Test("the server's Hello goes out at the handshake, carrying its limits; the idle check is scheduled")
    func serverHello() {
        var h = ServerHarness(.init(serverName: "adrnorm 9", maxConcurrentStreams: 7, initialStreamCredit: 5,
                                    idleTimeout: .seconds(30)), hello: false)
        guard case .hello(let hello)? = h.handshakeActions.frames.first?.kind else {
            Issue.record("no Hello: \(h.handshakeActions)"); return
        }
        #expect(hello == .init(protocolVersion: 1, serverName: "adrnorm 9", maxFrameBytes: 4_195_328,
                               maxConcurrentStreams: 7, initialStreamCredit: 5))
        #expect(h.machine.nextWakeUp == h.now + 30 * second)
    }

    @Test("a first frame other than Hello is a connection error: GoAway INVALID_ARGUMENT, then close")
    func firstFrameNotHello() {
        var h = ServerHarness(hello: false)
        let actions = h.call(1)
        #expect(actions.goAway?.code == .invalidArgument)
        #expect(actions.goAway?.message == "the first frame must be Hello, got Call")
        #expect(actions.closesGracefully)
        #expect(actions.statuses.isEmpty && actions.unaryStarts.isEmpty)
        #expect(h.receive(.ping(payload: [1])).isEmpty, "nothing is acted on after the decision to close")
    }

    @Test("a second Hello is a connection error")
    func secondHello() {
        var h = ServerHarness()
        let actions = h.receive(.hello(.init(protocolVersion: 1)))
        #expect(actions.goAway?.code == .invalidArgument && actions.goAway?.message == "a second Hello on the connection")
        #expect(actions.closesGracefully)
    }

    @Test("a protocol version other than 1 is a connection error with GoAway UNIMPLEMENTED")
    func wrongVersion() {
        var h = ServerHarness(hello: false)
        let actions = h.receive(.hello(.init(protocolVersion: 2)))
        #expect(actions.goAway?.code == .unimplemented)
        #expect(actions.goAway?.message.contains("protocol version 2 is not supported") == true)
        #expect(actions.closesGracefully)
    }

    @Test("stream ids must increase: an equal, lower or zero id is a connection error that abandons open streams")
    func nonIncreasingStreamID() {
        for id: UInt32 in [5, 3, 0] {
            var h = ServerHarness()
            _ = h.call(5, .normalizeStream, payload: nil, halfClose: false)
            let actions = h.call(id)
            #expect(actions.goAway?.code == .invalidArgument, "id \(id)")
            #expect(actions.goAway?.message == "stream \(id) is not above the last stream id 5; ids must increase")
            #expect(actions.goAway?.last == 5)
            #expect(actions.cancels == 1, "the open stream's work is cancelled")
            #expect(actions.statuses.isEmpty, "abandoned streams get no Status")
            #expect(h.machine.openStreamCount == 0)
        }
    }

    @Test("Message, HalfClose or Cancel for a stream never opened (0, or above the last Call) is a connection error")
    func neverOpenedStream() {
        let kinds: [Frame.Kind] = [.message(payload: [1]), .halfClose, .cancel(reason: "")]
        for kind in kinds {
            for id: UInt32 in [0, 9] {
                var h = ServerHarness()
                _ = h.call(7, .normalizeStream, payload: nil, halfClose: false)
                let actions = h.receive(kind, on: id)
                #expect(actions.goAway?.message == "a frame for stream \(id), which was never opened", "\(kind.name) on \(id)")
                #expect(actions.closesGracefully)
            }
        }
    }

    @Test("frames for a stream that already ended are ignored (a harmless race)")
    func endedStream() {
        var h = ServerHarness()
        _ = h.call(1)
        _ = h.handle(.unaryCompleted(StreamID(1), .success([8, 1])))
        _ = h.call(3)
        for kind: Frame.Kind in [.message(payload: [1]), .halfClose, .cancel(reason: "late")] {
            #expect(h.receive(kind, on: 1).isEmpty, "\(kind.name)")
        }
        #expect(h.machine.openStreamCount == 1)
    }

    @Test("Credit and Status are sent by the server only: from the client they are a connection error")
    func serverOnlyFrames() {
        for kind: Frame.Kind in [.credit(messages: 1), .status(code: .ok, message: "")] {
            var h = ServerHarness()
            _ = h.call(1, .normalizeStream, payload: nil, halfClose: false)
            let actions = h.receive(kind, on: 1)
            #expect(actions.goAway?.message == "\(kind.name) frames are sent by the server only")
            #expect(actions.cancels == 1 && actions.closesGracefully)
        }
    }

    @Test("bytes that cannot be framed are a connection error naming the problem")
    func framingFailed() {
        var h = ServerHarness()
        let actions = h.handle(.framingFailed(.frameLength(0, maximum: 4_195_328)))
        #expect(actions.goAway?.code == .invalidArgument)
        #expect(actions.goAway?.message == RPCError.frameLength(0, maximum: 4_195_328).description)
        #expect(actions.closesGracefully)
    }

    @Test("a connection the server's budget cannot admit gets GoAway RESOURCE_EXHAUSTED instead of Hello, and closes")
    func refusedAtHandshake() {
        var machine = ServerConnectionState(settings: .init(), epoch: ServerHarness.epoch)
        _ = machine.handle(.started(now: 0))
        let actions = machine.handle(.handshakeCompleted(peer: nil, allowed: true, refusal: "2 authenticated connections are open",
                                                         now: 1))
        #expect(!actions.frames.contains { if case .hello = $0.kind { true } else { false } })
        #expect(actions.goAway?.code == .resourceExhausted && actions.goAway?.message == "2 authenticated connections are open")
        #expect(actions.closesGracefully)
    }

    @Test("a ping flood gets GoAway RESOURCE_EXHAUSTED and the connection closes; pings at 10 per second are all answered")
    func pingFlood() {
        var flood = ServerHarness()
        for i in 0..<32 {
            #expect(flood.receive(.ping(payload: [UInt8(i)])).frames == [Frame(streamID: .connection, kind: .pong(payload: [UInt8(i)]))])
        }
        let abuse = flood.receive(.ping(payload: [99]))
        #expect(abuse.goAway?.code == .resourceExhausted && abuse.goAway?.message.contains("too many pings") == true)
        #expect(abuse.closesGracefully)
        #expect(flood.receive(.ping(payload: [100])).frames.isEmpty, "nothing is answered after the decision to close")

        var steady = ServerHarness()
        for i in 0..<200 {
            steady.now += second / 10
            #expect(steady.receive(.ping(payload: [UInt8(i % 256)])).frames.count == 1)
        }
    }

    @Test("Ping is answered by a Pong with the same payload; a Pong or a GoAway from the client changes nothing")
    func pingPong() {
        var h = ServerHarness()
        _ = h.call(1, .normalizeStream, payload: nil, halfClose: false)
        #expect(h.receive(.ping(payload: [0, 0, 0, 7])).frames == [Frame(streamID: .connection, kind: .pong(payload: [0, 0, 0, 7]))])
        #expect(h.receive(.pong(payload: [1])).isEmpty)
        #expect(h.receive(.goAway(lastStreamID: StreamID(1), code: .ok, message: "bye")).isEmpty)
        #expect(h.machine.openStreamCount == 1)
    }

    // MARK: Refused calls

    @Test("an unknown method is UNIMPLEMENTED; its name is echoed up to 128 bytes, cut at a UTF-8 boundary, with …")
    func unknownMethod() {
        var h = ServerHarness()
        let name = "/adrnorm.v1.Normalizer/" + String(repeating: "头", count: 200)
        let actions = h.receive(.call(.init(method: name, payload: [], halfClose: true)), on: 1)
        guard let status = actions.status else { Issue.record("\(actions)"); return }
        #expect(status.code == .unimplemented)
        let echoed = status.message.split(separator: "\"")[1]
        #expect(echoed.hasSuffix("…"))
        let kept = echoed.dropLast()
        #expect(kept.utf8.count <= 128 && kept.utf8.count > 124 && name.hasPrefix(kept))
        #expect(status.message.contains(NormalizerMethod.health.rawValue))
        #expect(h.machine.openStreamCount == 0 && actions.unaryStarts.isEmpty)
        #expect(h.call(1).goAway != nil, "the refused Call used up its id")
    }

    @Test("more than max_concurrent_streams open streams: RESOURCE_EXHAUSTED for the extra Call only")
    func tooManyStreams() {
        var h = ServerHarness(.init(maxConcurrentStreams: 2))
        _ = h.call(1, .normalizeStream, payload: nil, halfClose: false)
        _ = h.call(3, .normalizeStream, payload: nil, halfClose: false)
        let actions = h.call(5)
        #expect(actions.status?.code == .resourceExhausted)
        #expect(actions.status?.message == "2 streams are already open on this connection (limit 2); wait for one to finish")
        #expect(h.machine.openStreamCount == 2)
    }

    @Test("a client not on the allowlist gets PERMISSION_DENIED naming its identity, then GoAway and the connection closes")
    func notAllowed() {
        var h = ServerHarness(allowed: false, peer: PeerIdentity(name: "spiffe://x/y", allNames: ["spiffe://x/y"]))
        let actions = h.call(1)
        #expect(actions.status?.code == .permissionDenied)
        #expect(actions.status?.message == "client identity \"spiffe://x/y\" is not on this server's allowlist")
        #expect(actions.goAway?.code == .permissionDenied && actions.closesGracefully)
        #expect(actions.unaryStarts.isEmpty)
        // Nothing more is served on it.
        #expect(h.call(3).unaryStarts.isEmpty)
    }

    // MARK: Unary calls

    @Test("a unary Call with payload and half_close starts the work; the result is a Message then Status OK")
    func unaryCall() {
        var h = ServerHarness()
        let actions = h.call(1, .info, payload: [1, 2])
        #expect(actions.unaryStarts.map(\.method) == [.info] && actions.unaryStarts.first?.payload == [1, 2])
        #expect(actions.frames.isEmpty)
        let done = h.handle(.unaryCompleted(StreamID(1), .success([9])))
        #expect(done.frames == [Frame(streamID: StreamID(1), kind: .message(payload: [9])),
                                Frame(streamID: StreamID(1), kind: .status(code: .ok, message: ""))])
        #expect(done.cancels == 0 && h.machine.openStreamCount == 0)
    }

    @Test("a unary call may come as Call, Message, HalfClose; a service error becomes the stream's status")
    func unaryInPieces() {
        var h = ServerHarness()
        #expect(h.call(1, .retrieve, payload: nil, halfClose: false).isEmpty)
        #expect(h.receive(.message(payload: [4]), on: 1).isEmpty)
        #expect(h.receive(.halfClose, on: 1).unaryStarts.first?.payload == [4])
        let done = h.handle(.unaryCompleted(StreamID(1), .failure(ServiceError(.invalidArgument, "mention: empty"))))
        #expect(done.status?.code == .invalidArgument && done.status?.message == "mention: empty")
        #expect(done.cancels == 1)
    }

    @Test("a unary call with two request messages is INVALID_ARGUMENT")
    func unaryTwoMessages() {
        var h = ServerHarness()
        _ = h.call(1, .normalize, payload: [1], halfClose: false)
        let actions = h.receive(.message(payload: [2]), on: 1)
        #expect(actions.status?.code == .invalidArgument)
        #expect(actions.status?.message == "/adrnorm.v1.Normalizer/Normalize is unary: it takes exactly one request message")
        #expect(actions.unaryStarts.isEmpty)
    }

    @Test("a unary call half-closed without a request message is INVALID_ARGUMENT")
    func unaryHalfCloseWithoutMessage() {
        var h = ServerHarness()
        let actions = h.call(1, .health, payload: nil, halfClose: true)
        #expect(actions.status?.code == .invalidArgument)
        #expect(actions.status?.message == "/adrnorm.v1.Normalizer/Health was half-closed without a request message")
    }

    @Test("a request message after the half-close is INVALID_ARGUMENT")
    func messageAfterHalfClose() {
        var h = ServerHarness()
        _ = h.call(1, .normalizeStream, payload: nil, halfClose: false)
        _ = h.receive(.message(payload: [1]), on: 1)
        _ = h.receive(.halfClose, on: 1)
        let actions = h.receive(.message(payload: [2]), on: 1)
        #expect(actions.status?.code == .invalidArgument)
        #expect(actions.status?.message == "a request message after half-close on stream 1")
        #expect(actions.cancels == 1)
    }

    @Test("a repeated HalfClose is ignored: the unary call still delivers its result")
    func repeatedHalfClose() {
        var h = ServerHarness()
        #expect(h.call(1, .normalize, payload: [1]).unaryStarts.count == 1)
        #expect(h.receive(.halfClose, on: 1).isEmpty)
        #expect(h.receive(.halfClose, on: 1).isEmpty)
        let done = h.handle(.unaryCompleted(StreamID(1), .success([7])))
        #expect(done.messages.map(\.payload) == [[7]] && done.status?.code == .ok)
    }

    @Test("a response larger than the frame limit becomes RESOURCE_EXHAUSTED")
    func responseTooLarge() {
        var h = ServerHarness(.init(maxFrameBytes: 1024))
        _ = h.call(1, .retrieve, payload: [1])
        let done = h.handle(.unaryCompleted(StreamID(1), .success(Array(repeating: 0, count: 1000))))
        #expect(done.messages.isEmpty && done.status?.code == .resourceExhausted)
        #expect(done.status?.message.contains("ask for fewer results") == true)
    }

    @Test("a stream item whose response exceeds the frame limit is answered with RESOURCE_EXHAUSTED and its id; the stream goes on")
    func streamItemTooLarge() throws {
        var h = ServerHarness(.init(maxFrameBytes: 1024))
        _ = h.call(1, .normalizeStream, payload: [0], halfClose: false)
        let big = AdrnormV1.NormalizeResponse(id: "m-7", matches: []).serializedBytes() + Array(repeating: 0, count: 1000)
        let done = h.handle(.itemCompleted(StreamID(1), sequence: 0, requestID: "m-7", response: big))
        #expect(done.messages.count == 1 && done.status == nil)
        let answer = try AdrnormV1.NormalizeResponse(serializedBytes: try #require(done.messages.first).payload)
        #expect(answer.id == "m-7" && answer.error?.code == .resourceExhausted)
        #expect(answer.error?.message.contains("frame limit") == true)
    }

    // MARK: NormalizeStream: ordering and credit

    @Test("stream items are answered in request order whatever order the work finishes in; OK after the half-close")
    func itemOrdering() {
        var h = ServerHarness()
        var starts = h.call(1, .normalizeStream, payload: [0], halfClose: false).itemStarts
        starts += h.receive(.message(payload: [1]), on: 1).itemStarts
        starts += h.receive(.message(payload: [2]), on: 1).itemStarts
        #expect(starts.map(\.sequence) == [0, 1, 2] && starts.map(\.payload) == [[0], [1], [2]])
        #expect(h.receive(.halfClose, on: 1).isEmpty, "items are in flight: no Status yet")
        #expect(h.handle(.itemCompleted(StreamID(1), sequence: 2, requestID: "c", response: response("c"))).frames.isEmpty)
        #expect(h.handle(.itemCompleted(StreamID(1), sequence: 1, requestID: "b", response: response("b"))).frames.isEmpty)
        let last = h.handle(.itemCompleted(StreamID(1), sequence: 0, requestID: "a", response: response("a")))
        #expect(last.messages.map(\.payload) == [response("a"), response("b"), response("c")])
        #expect(last.credits.isEmpty, "no Credit after the half-close")
        #expect(last.frames.last == Frame(streamID: StreamID(1), kind: .status(code: .ok, message: "")))
    }

    @Test("credit comes back in batches of initial/4, and at once when nothing is in progress")
    func creditReturn() {
        var h = ServerHarness(.init(initialStreamCredit: 8))
        _ = h.call(1, .normalizeStream, payload: nil, halfClose: false)
        for i in 0..<5 { _ = h.receive(.message(payload: [UInt8(i)]), on: 1) }
        // Batch size max(1, 8/4) = 2.
        #expect(h.handle(.itemCompleted(StreamID(1), sequence: 0, requestID: "0", response: response("0"))).credits == [])
        #expect(h.handle(.itemCompleted(StreamID(1), sequence: 1, requestID: "1", response: response("1"))).credits == [2])
        #expect(h.handle(.itemCompleted(StreamID(1), sequence: 2, requestID: "2", response: response("2"))).credits == [])
        #expect(h.handle(.itemCompleted(StreamID(1), sequence: 3, requestID: "3", response: response("3"))).credits == [2])
        #expect(h.handle(.itemCompleted(StreamID(1), sequence: 4, requestID: "4", response: response("4"))).credits == [1],
                "nothing in progress: the owed credit goes back at once")
    }

    @Test("a message beyond the stream's credit ends the stream with RESOURCE_EXHAUSTED; returned credit may be used")
    func overCredit() {
        var h = ServerHarness(.init(initialStreamCredit: 2))
        _ = h.call(1, .normalizeStream, payload: [0], halfClose: false)
        _ = h.receive(.message(payload: [1]), on: 1)
        // Batches of max(1, 2/4) = 1: each response returns its credit.
        #expect(h.handle(.itemCompleted(StreamID(1), sequence: 0, requestID: "0", response: response("0"))).credits == [1])
        #expect(h.handle(.itemCompleted(StreamID(1), sequence: 1, requestID: "1", response: response("1"))).credits == [1])
        #expect(h.receive(.message(payload: [2]), on: 1).itemStarts.count == 1)
        #expect(h.receive(.message(payload: [3]), on: 1).itemStarts.count == 1)
        let over = h.receive(.message(payload: [4]), on: 1)
        #expect(over.status?.code == .resourceExhausted)
        #expect(over.status?.message == "the client sent more messages than its credit on stream 1 (initial credit 2); wait for Credit frames")
        #expect(over.cancels == 1 && over.itemStarts.isEmpty)
        #expect(h.handle(.itemCompleted(StreamID(1), sequence: 2, requestID: "2", response: response("2"))).isEmpty,
                "work that finishes after the stream ended is dropped")
    }

    // MARK: Deadlines, Cancel

    @Test("a deadline fires at its tick, not before: DEADLINE_EXCEEDED, the work cancelled, a late result dropped")
    func deadline() {
        var h = ServerHarness(.init(idleTimeout: nil))
        let start = h.now
        let actions = h.call(1, .normalize, payload: [1], timeoutMilliseconds: 250)
        #expect(actions.wakeUp == start + 250 * millisecond)
        guard case .startUnary(_, _, _, let context)? = actions.first(where: { if case .startUnary = $0 { true } else { false } }) else {
            Issue.record("no unary start"); return
        }
        #expect(context.deadline == ServerHarness.epoch + .nanoseconds(Int64(start + 250 * millisecond)))
        let before = h.advance(to: start + 249 * millisecond)
        #expect(before.frames.isEmpty && before.cancels == 0 && before.wakeUp == start + 250 * millisecond)
        let fired = h.advance(to: start + 250 * millisecond)
        #expect(fired.status?.code == .deadlineExceeded && fired.status?.message == "deadline of 250 ms exceeded")
        #expect(fired.cancels == 1)
        #expect(h.handle(.unaryCompleted(StreamID(1), .success([1]))).isEmpty)
        #expect(h.machine.deadlineEntryCount == 0 && h.machine.nextWakeUp == nil)
    }

    @Test("deadlines fire in deadline order; the next wake-up is the nearest live one")
    func deadlineOrder() {
        var h = ServerHarness(.init(idleTimeout: nil))
        let start = h.now
        _ = h.call(1, .normalizeStream, payload: nil, halfClose: false, timeoutMilliseconds: 300)
        _ = h.call(3, .normalizeStream, payload: nil, halfClose: false, timeoutMilliseconds: 100)
        _ = h.call(5, .normalizeStream, payload: nil, halfClose: false, timeoutMilliseconds: 200)
        #expect(h.machine.nextWakeUp == start + 100 * millisecond)
        _ = h.receive(.cancel(reason: ""), on: 3)
        #expect(h.machine.nextWakeUp == start + 200 * millisecond, "an ended stream's deadline no longer counts")
        let fired = h.advance(to: start + 10 * second)
        #expect(fired.statuses.map(\.id) == [5, 1])
        #expect(fired.statuses.allSatisfy { $0.code == .deadlineExceeded })
    }

    @Test("timeout_ms 0xFFFFFFFF is a valid deadline of about 49.7 days")
    func longestDeadline() {
        var h = ServerHarness(.init(idleTimeout: nil))
        let actions = h.call(1, .normalize, payload: [1], timeoutMilliseconds: .max)
        #expect(h.machine.nextWakeUp == h.now + UInt64(UInt32.max) * millisecond)
        #expect(actions.unaryStarts.count == 1)
    }

    @Test("Cancel ends the stream with CANCELLED and the reason, and stops its work")
    func cancel() {
        var h = ServerHarness()
        _ = h.call(1, .normalize, payload: [1])
        let actions = h.receive(.cancel(reason: "user pressed stop"), on: 1)
        #expect(actions.status?.code == .cancelled && actions.status?.message == "cancelled by the client: user pressed stop")
        #expect(actions.cancels == 1)
        _ = h.call(3, .normalize, payload: [1])
        #expect(h.receive(.cancel(reason: ""), on: 3).status?.message == "cancelled by the client")
    }

    @Test("100,000 calls with long deadlines that end at once leave the deadline heap empty, and bounded meanwhile")
    func finishedCallsLeaveNoDeadlines() {
        var h = ServerHarness(.init(idleTimeout: nil))
        var open: [UInt32] = []
        var largest = 0
        for i in 0..<100_000 {
            let id = UInt32(2 * i + 1)
            // 16 calls in flight, like `adrnorm bench rpc`; half Health with
            // a 30 s deadline answered, half Cancel with timeout_ms 0xFFFFFFFF.
            if i % 2 == 0 {
                _ = h.call(id, .health, timeoutMilliseconds: 30_000)
            } else {
                _ = h.call(id, .normalize, payload: [1], timeoutMilliseconds: .max)
            }
            open.append(id)
            if open.count == 16 {
                let done = open.removeFirst()
                if done % 4 == 1 {
                    _ = h.handle(.unaryCompleted(StreamID(done), .success([8, 1])))
                } else {
                    _ = h.receive(.cancel(reason: ""), on: done)
                }
            }
            largest = max(largest, h.machine.deadlineEntryCount)
            h.now += 10_000 // 10 µs per call
        }
        #expect(largest <= 2 * 16 + 8, "the heap held \(largest) entries for 16 open calls")
        for id in open { _ = h.receive(.cancel(reason: ""), on: id) }
        #expect(h.machine.openStreamCount == 0)
        #expect(h.machine.deadlineEntryCount == 0)
        #expect(h.machine.nextWakeUp == nil)
    }

    // MARK: Drain, idle, handshake, close

    @Test("drain: GoAway UNAVAILABLE with the last stream id, open streams finish, new calls refused, close after the last")
    func drain() {
        var h = ServerHarness()
        _ = h.call(1, .normalize, payload: [1])
        _ = h.call(3, .normalize, payload: [1])
        let drain = h.handle(.drainRequested)
        #expect(drain.goAway?.code == .unavailable && drain.goAway?.last == 3)
        #expect(drain.goAway?.message == "server shutting down; streams up to 3 will be finished")
        #expect(!drain.closesGracefully)
        let refused = h.call(5)
        #expect(refused.status?.code == .unavailable)
        #expect(refused.status?.message == "server is shutting down; open the call on a new connection")
        #expect(!h.handle(.unaryCompleted(StreamID(1), .success([1]))).closesGracefully)
        let last = h.handle(.unaryCompleted(StreamID(3), .success([2])))
        #expect(last.status?.code == .ok && last.closesGracefully)
        #expect(h.handle(.drainRequested).isEmpty, "a second drain does nothing")
    }

    @Test("drain with no stream open closes at once; before the handshake it closes without a frame")
    func drainIdle() {
        var h = ServerHarness()
        let actions = h.handle(.drainRequested)
        #expect(actions.goAway?.code == .unavailable && actions.closesGracefully)
        var early = ServerConnectionState(settings: .init(), epoch: ServerHarness.epoch)
        _ = early.handle(.started(now: 1))
        let closed = early.handle(.drainRequested)
        #expect(closed.frames.isEmpty)
        if case .some(.none) = closed.closeNow {} else { Issue.record("expected closeNow(nil): \(closed)") }
    }

    @Test("force close cancels every stream's work and closes now, without a Status")
    func forceClose() {
        var h = ServerHarness()
        _ = h.call(1, .normalize, payload: [1])
        _ = h.call(3, .normalizeStream, payload: nil, halfClose: false)
        _ = h.handle(.drainRequested)
        let actions = h.handle(.forceClose)
        #expect(actions.cancels == 2)
        #expect(actions.statuses.isEmpty)
        if case .some(.none) = actions.closeNow {} else { Issue.record("expected closeNow(nil): \(actions)") }
    }

    @Test("the channel closing cancels the work of every open stream")
    func channelClosed() {
        var h = ServerHarness()
        _ = h.call(1, .normalize, payload: [1], timeoutMilliseconds: 1000)
        let actions = h.handle(.channelClosed)
        #expect(actions.cancels == 1 && actions.frames.isEmpty && actions.wakeUp == nil)
        #expect(h.machine.deadlineEntryCount == 0 && h.machine.nextWakeUp == nil)
    }

    @Test("idle close: no stream and nothing received for the idle timeout; checked once per interval")
    func idle() {
        var h = ServerHarness(.init(idleTimeout: .seconds(10)))
        let start = h.now
        #expect(h.advance(to: start + 9 * second).frames.isEmpty)
        // Traffic at 5 s: the check at 10 s finds the connection quiet for 5 s only.
        h.lastInput = start + 5 * second
        let early = h.advance(to: start + 10 * second)
        #expect(early.goAway == nil && early.wakeUp == start + 20 * second)
        // An open stream keeps the connection however quiet it is.
        _ = h.call(1, .normalizeStream, payload: nil, halfClose: false)
        h.lastInput = start + 5 * second
        #expect(h.advance(to: start + 20 * second).goAway == nil)
        _ = h.receive(.cancel(reason: ""), on: 1)
        h.lastInput = start + 25 * second
        #expect(h.advance(to: start + 30 * second).goAway == nil)
        let idle = h.advance(to: start + 40 * second)
        #expect(idle.goAway?.code == .unavailable && idle.goAway?.message == "idle for 10.0 seconds; reconnect when needed")
        #expect(idle.closesGracefully && idle.logs == ["closing idle connection"])
    }

    @Test("no idle close when the idle timeout is off")
    func idleOff() {
        var h = ServerHarness(.init(idleTimeout: nil))
        #expect(h.handshakeActions.wakeUp == nil && h.machine.nextWakeUp == nil)
        #expect(h.advance(to: h.now + 86_400 * second).isEmpty)
    }

    @Test("a connection whose TLS handshake does not complete in time is closed without a frame")
    func handshakeTimeout() {
        var machine = ServerConnectionState(settings: .init(handshakeTimeout: .seconds(10)), epoch: ServerHarness.epoch)
        let started = machine.handle(.started(now: 100))
        #expect(started.wakeUp == 100 + 10 * second)
        let before = machine.handle(.tick(now: 100 + 10 * second - 1, lastInput: 100))
        #expect(before.closeNow == nil && before.wakeUp == 100 + 10 * second)
        let actions = machine.handle(.tick(now: 100 + 10 * second, lastInput: 100))
        #expect(actions.frames.isEmpty)
        #expect(actions.closeNow == .some(.timedOut("TLS handshake")))
        #expect(actions.logs == ["closing connection: no TLS handshake within 10.0 seconds"])
        var done = ServerConnectionState(settings: .init(handshakeTimeout: .seconds(10), idleTimeout: nil), epoch: ServerHarness.epoch)
        _ = done.handle(.started(now: 100))
        _ = done.handle(.handshakeCompleted(peer: nil, allowed: true, now: 200))
        #expect(done.handle(.tick(now: 100 + 10 * second, lastInput: 200)).isEmpty)
        #expect(done.nextWakeUp == nil)
    }
}
