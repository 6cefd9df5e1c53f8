import Foundation
import Testing
import RPCClient
import Transport
import Wire

private let second: UInt64 = 1_000_000_000

typealias ClientAction = ClientConnectionState.Action

extension Array where Element == ClientConnectionState.Action {
    var frames: [Frame] { compactMap { if case .send(let frame) = $0 { frame } else { nil } } }
    var opened: StreamID? { for a in self { if case .opened(let id) = a { return id } }; return nil }
    var openFailure: RPCError? { for a in self { if case .openFailed(let e) = a { return e } }; return nil }
    var ended: [(id: UInt32, error: RPCError?)] {
        compactMap { if case .streamEnded(let id, let e) = $0 { (id.rawValue, e) } else { nil } }
    }
    var closeNow: RPCError? { for a in self { if case .closeNow(let e) = a { return e } }; return nil }
    var wakeUp: UInt64? { for a in self { if case .wakeUp(let at) = a { return at } }; return nil }
}

/// A client connection state machine with the server's Hello received.
struct ClientHarness {
    var machine = ClientConnectionState(clientName: "tests/1")
    var now: UInt64 = 7_000 * second
    static let serverHello = Frame.Hello(protocolVersion: 1, serverName: "adrnorm 0.1.0", maxFrameBytes: 4_195_328,
                                         maxConcurrentStreams: 64, initialStreamCredit: 3)

    init(hello: Frame.Hello? = ClientHarness.serverHello) {
        _ = machine.handle(.started(now: now, helloDeadline: now + 10 * second, helloWait: "Hello from test"))
        _ = machine.handle(.handshakeCompleted)
        if let hello { _ = receive(.hello(hello)) }
    }

    mutating func receive(_ kind: Frame.Kind, on id: UInt32 = 0) -> [ClientAction] {
        machine.handle(.frameReceived(Frame(streamID: StreamID(id), kind: kind)))
    }

    mutating func open(_ method: NormalizerMethod = .health, payload: [UInt8]? = [], halfClose: Bool = true,
                       backstop: UInt64? = nil) -> [ClientAction] {
        machine.handle(.open(method: method.rawValue, firstPayload: payload, halfClose: halfClose,
                             timeoutMilliseconds: backstop == nil ? 0 : 1000,
                             backstop: backstop.map { ($0, "1.0 seconds") }, metadata: [:], now: now))
    }
}

@Suite("Client connection state machine: protocol v1 without sockets or clocks")
struct ClientConnectionStateTests {
    @Test("the client's Hello goes out at the handshake; the server's Hello makes the connection ready")
    func hello() {
        var machine = ClientConnectionState(clientName: "pv-batch/2.3")
        _ = machine.handle(.started(now: 0, helloDeadline: 10, helloWait: "w"))
        #expect(machine.handle(.handshakeCompleted).frames
                == [Frame(streamID: .connection, kind: .hello(.init(protocolVersion: 1, clientName: "pv-batch/2.3")))])
        let opened = machine.handle(.open(method: "m", firstPayload: nil, halfClose: false, timeoutMilliseconds: 0,
                                          backstop: nil, metadata: [:], now: 1))
        #expect(opened.openFailure != nil, "no call before the server's Hello")
        let ready = machine.handle(.frameReceived(Frame(streamID: .connection, kind: .hello(ClientHarness.serverHello))))
        #expect(ready.contains(.ready(ClientHarness.serverHello)))
        #expect(machine.serverHello == ClientHarness.serverHello)
    }

    @Test("a server Hello with a protocol version other than 1, or a first frame other than Hello, closes the connection")
    func badServerHello() {
        var h = ClientHarness(hello: nil)
        #expect(h.receive(.hello(.init(protocolVersion: 2))).closeNow
                == .protocolViolation("the server speaks protocol version 2; this client speaks 1"))
        var g = ClientHarness(hello: nil)
        #expect(g.receive(.ping(payload: [])).closeNow
                == .protocolViolation("the server's first frame must be Hello, got Ping"))
    }

    @Test("no Hello within the connect timeout closes the connection with a timeout")
    func helloTimeout() {
        var h = ClientHarness(hello: nil)
        #expect(h.machine.handle(.tick(now: h.now + 10 * second - 1)).closeNow == nil)
        #expect(h.machine.handle(.tick(now: h.now + 10 * second)).closeNow == .timedOut("Hello from test"))
        var ready = ClientHarness()
        #expect(ready.machine.handle(.tick(now: ready.now + 10 * second)).isEmpty)
    }

    @Test("stream ids are odd and increasing; a unary Call carries payload, half_close and timeout_ms")
    func streamIDs() {
        var h = ClientHarness()
        let first = h.open(.normalize, payload: [1, 2], backstop: 6 * second)
        #expect(first.opened == StreamID(1))
        #expect(first.frames == [Frame(streamID: StreamID(1), kind: .call(.init(
            method: NormalizerMethod.normalize.rawValue, timeoutMilliseconds: 1000, payload: [1, 2], halfClose: true)))])
        #expect(h.open().opened == StreamID(3))
        #expect(h.open().opened == StreamID(5))
    }

    @Test("a NormalizeStream sender waits for credit; Credit frames release queued requests, then the half-close")
    func credit() {
        var h = ClientHarness()  // initial credit 3
        _ = h.open(.normalizeStream, payload: nil, halfClose: false)
        let id = StreamID(1)
        var sent: [ClientAction] = []
        for token: UInt64 in 0..<5 { sent += h.machine.handle(.send(id, payload: [UInt8(token)], token: token)) }
        #expect(sent.frames.count == 3 && sent.filter { if case .sent = $0 { true } else { false } }.count == 3)
        #expect(h.machine.credit(of: id) == 0)
        #expect(h.machine.handle(.halfClose(id)).isEmpty, "the half-close waits behind the queued requests")
        let one = h.receive(.credit(messages: 1), on: 1)
        #expect(one.frames == [Frame(streamID: id, kind: .message(payload: [3]))] && one.contains(.sent(3)))
        let rest = h.receive(.credit(messages: 4), on: 1)
        #expect(rest.frames == [Frame(streamID: id, kind: .message(payload: [4])), Frame(streamID: id, kind: .halfClose)])
        let late = h.machine.handle(.send(id, payload: [9], token: 9))
        #expect(late == [.sendFailed(9, .protocolViolation("send after the stream was half-closed or ended"))])
    }

    @Test("a Call with a payload uses one credit; a stream that ends fails its waiting sends")
    func creditWithPayload() {
        var h = ClientHarness()
        _ = h.open(.normalizeStream, payload: [0], halfClose: false)
        #expect(h.machine.credit(of: StreamID(1)) == 2)
        for token: UInt64 in 0..<4 { _ = h.machine.handle(.send(StreamID(1), payload: [1], token: token)) }
        let end = h.receive(.status(code: .resourceExhausted, message: "slow down"), on: 1)
        #expect(end.contains(.sendFailed(2, .status(.resourceExhausted, message: "slow down"))))
        #expect(end.contains(.sendFailed(3, .status(.resourceExhausted, message: "slow down"))))
        #expect(end.ended.first?.error == .status(.resourceExhausted, message: "slow down"))
    }

    @Test("messages and Status are routed to their stream; frames for unknown streams are ignored")
    func routing() {
        var h = ClientHarness()
        _ = h.open()
        #expect(h.receive(.message(payload: [8, 1]), on: 1) == [.deliver(StreamID(1), [8, 1])])
        #expect(h.receive(.status(code: .ok, message: ""), on: 1) == [.streamEnded(StreamID(1), nil)])
        #expect(h.receive(.message(payload: [1]), on: 1).isEmpty)
        #expect(h.receive(.status(code: .ok, message: ""), on: 7).isEmpty)
        #expect(h.receive(.hello(ClientHarness.serverHello)).isEmpty, "a second Hello says nothing new")
    }

    @Test("a call's deadline backstop fails it locally with DEADLINE_EXCEEDED at its tick, not before")
    func deadline() {
        var h = ClientHarness()
        let opened = h.open(backstop: 6 * second)
        #expect(opened.wakeUp == h.now + 6 * second)
        #expect(h.machine.handle(.tick(now: h.now + 6 * second - 1)).ended.isEmpty)
        let fired = h.machine.handle(.tick(now: h.now + 6 * second))
        #expect(fired.ended.first?.error == .status(.deadlineExceeded, message: "no answer within 1.0 seconds (client-side)"))
        #expect(!fired.frames.contains { if case .cancel = $0.kind { true } else { false } })
        #expect(h.machine.deadlineEntryCount == 0)
    }

    @Test("100,000 calls with deadlines that end at once leave the deadline heap empty")
    func finishedCallsLeaveNoDeadlines() {
        var h = ClientHarness()
        var largest = 0
        for i in 0..<100_000 {
            let id = UInt32(2 * i + 1)
            guard h.open(backstop: 35 * second).opened?.rawValue == id else {
                Issue.record("call \(i) did not open as stream \(id)"); return
            }
            if i >= 15 { _ = h.receive(.status(code: .ok, message: ""), on: id - 30) }
            largest = max(largest, h.machine.deadlineEntryCount)
        }
        #expect(largest <= 2 * 16 + 8, "the heap held \(largest) entries for 16 open calls")
        for i in (100_000 - 15)..<100_000 { _ = h.receive(.status(code: .ok, message: ""), on: UInt32(2 * i + 1)) }
        #expect(h.machine.openStreamCount == 0 && h.machine.deadlineEntryCount == 0)
    }

    @Test("Cancel is sent for an open stream only")
    func cancel() {
        var h = ClientHarness()
        _ = h.open()
        #expect(h.machine.handle(.cancel(StreamID(1), reason: "stop")) == [.send(Frame(streamID: StreamID(1),
                                                                                     kind: .cancel(reason: "stop")))])
        _ = h.receive(.status(code: .cancelled, message: "cancelled by the client: stop"), on: 1)
        #expect(h.machine.handle(.cancel(StreamID(1), reason: "again")).isEmpty)
    }

    @Test("Ping goes out on stream 0; a Pong is reported; the server's Ping is answered with its payload")
    func ping() {
        var h = ClientHarness()
        #expect(h.machine.handle(.ping(payload: [1, 2])).frames == [Frame(streamID: .connection, kind: .ping(payload: [1, 2]))])
        #expect(h.receive(.pong(payload: [1, 2])) == [.pong([1, 2])])
        #expect(h.receive(.ping(payload: [5])).frames == [Frame(streamID: .connection, kind: .pong(payload: [5]))])
    }

    @Test("GoAway: streams above last_stream_id fail UNAVAILABLE, those below go on, new calls are refused")
    func goAway() {
        var h = ClientHarness()
        for _ in 0..<3 { _ = h.open() }
        let actions = h.receive(.goAway(lastStreamID: StreamID(3), code: .unavailable, message: "draining"))
        #expect(actions.ended.map(\.id) == [5])
        #expect(actions.ended.first?.error == .status(.unavailable, message: "not served: the server sent GoAway (draining)"))
        #expect(h.machine.openStreamCount == 2)
        #expect(h.open().openFailure == .status(.unavailable, message: "the server sent GoAway (draining); open a new connection"))
        #expect(h.receive(.status(code: .ok, message: ""), on: 3).ended.count == 1, "stream 3 is still answered")
    }

    @Test("stream frames a server must not send (Call, HalfClose, Cancel) close the connection as a violation")
    func serverViolations() {
        for kind: Frame.Kind in [.call(.init(method: "x")), .halfClose, .cancel(reason: "")] {
            var h = ClientHarness()
            #expect(h.receive(kind, on: 1).closeNow == .protocolViolation("the server sent a \(kind.name) frame"))
            #expect(h.receive(.message(payload: [1]), on: 1).isEmpty, "nothing is acted on after the decision to close")
        }
        var h = ClientHarness()
        #expect(h.machine.handle(.framingFailed(.frameLength(0, maximum: 9))).closeNow == .frameLength(0, maximum: 9))
    }

    @Test("when the connection closes, open streams fail with the GoAway or the error; later calls are refused")
    func channelClosed() {
        var h = ClientHarness()
        _ = h.open(.normalizeStream, payload: nil, halfClose: false)
        for token: UInt64 in 0..<4 { _ = h.machine.handle(.send(StreamID(1), payload: [1], token: token)) }
        let closed = h.machine.handle(.channelClosed(.connectionClosed(reason: "reset")))
        #expect(closed.ended.map(\.id) == [1])
        #expect(closed.contains(.sendFailed(3, .connectionClosed(reason: "reset"))))
        #expect(closed.last == .ended(ConnectionEnd(goAway: nil, error: .connectionClosed(reason: "reset"))))
        #expect(h.open().openFailure == .connectionClosed(reason: "reset"))
        #expect(h.machine.handle(.ping(payload: [])) == [.pingFailed(.connectionClosed(reason: "reset"))])

        var g = ClientHarness()
        _ = g.open()
        _ = g.receive(.goAway(lastStreamID: StreamID(1), code: .invalidArgument, message: "bad frame"))
        let ended = g.machine.handle(.channelClosed(nil))
        #expect(ended.ended.first?.error == .status(.invalidArgument, message: "the server closed the connection: bad frame"))
    }

    @Test("close() closes gracefully once; calls after it are refused")
    func close() {
        var h = ClientHarness()
        #expect(h.machine.handle(.close) == [.closeGracefully])
        #expect(h.machine.handle(.close).isEmpty)
        #expect(h.open().openFailure != nil)
    }
}
