import Wire

/// The client's side of protocol v1 (docs/PROTOCOL.md) for one connection,
/// as a pure state machine: events in, actions out. It owns the Hello
/// exchange, stream id allocation, each stream's credit and the requests
/// waiting for it, the half-close, per-call deadlines, Cancel, Ping/Pong,
/// GoAway and the server's protocol violations. It does no I/O and never
/// reads a clock (time comes in with the events as monotonic nanoseconds);
/// `RPCClient` drives it and keeps only what its callers wait on.
///
/// Deadlines live in one min-heap per connection; a call that ends leaves
/// at most a stale entry, dropped when the heap is compacted (stale entries
/// never outnumber the open calls by more than a small constant) or emptied
/// with the last open call.
package struct ClientConnectionState {
    /// Identifies one `send` of a caller, so the driver can resume it.
    package typealias SendToken = UInt64

    package enum Event {
        /// The connection is being set up: TLS, then the server's Hello,
        /// must be done by `helloDeadline` or the connection is closed
        /// with `.timedOut(helloWait)`.
        case started(now: UInt64, helloDeadline: UInt64, helloWait: String)
        case handshakeCompleted
        case frameReceived(Frame)
        case framingFailed(RPCError)
        /// A caller opens a call. `backstop` is how long after `now` the
        /// call fails locally with DEADLINE_EXCEEDED if the server never
        /// answers (its timeout plus a grace period); `timeoutMilliseconds`
        /// is what the `Call` frame carries.
        case open(method: String, firstPayload: [UInt8]?, halfClose: Bool, timeoutMilliseconds: UInt32,
                  backstop: (nanoseconds: UInt64, description: String)?, metadata: [String: String], now: UInt64)
        /// A request for an open stream; it goes out when the stream has credit.
        /// `token` nil: nobody waits for it to be sent.
        case send(StreamID, payload: [UInt8], token: SendToken?)
        /// No more requests (sent after every queued one).
        case halfClose(StreamID)
        case cancel(StreamID, reason: String)
        case ping(payload: [UInt8])
        case tick(now: UInt64)
        /// The user closes the connection.
        case close
        case channelClosed(RPCError?)
    }

    package enum Action: Equatable {
        case send(Frame)
        /// The server's Hello arrived: the connection is ready.
        case ready(Frame.Hello)
        /// `open` succeeded with this stream id.
        case opened(StreamID)
        /// `open` was refused.
        case openFailed(RPCError)
        case sent(SendToken)
        case sendFailed(SendToken, RPCError)
        /// A response message on a stream.
        case deliver(StreamID, [UInt8])
        /// The stream is over: nil for OK, else why.
        case streamEnded(StreamID, RPCError?)
        case pong([UInt8])
        /// A ping cannot be sent: the connection has ended.
        case pingFailed(RPCError)
        case closeGracefully
        case closeNow(RPCError)
        /// Deliver a `tick` no later than this time.
        case wakeUp(at: UInt64)
        /// The connection has ended (after `channelClosed`; every open
        /// stream has had its `streamEnded`): fail whatever still waits.
        case ended(ConnectionEnd)
    }

    /// A class, so that queueing a request appends in place.
    private final class Stream {
        var credit: UInt32
        var pending: [(payload: [UInt8], token: SendToken?)] = []
        var pendingHead = 0
        var halfCloseRequested = false
        var halfCloseSent = false
        var deadline: UInt64?
        var deadlineDescription = ""

        init(credit: UInt32) { self.credit = credit }
    }

    private enum Phase { case connecting, ready, closing, closed }

    private var phase = Phase.connecting
    private var hello: Frame.Hello?
    private var helloDeadline: UInt64?
    private var helloWait = ""
    private var nextStreamID: UInt32 = 1
    private var streams: [UInt32: Stream] = [:]
    private var goAway: ConnectionEnd.GoAway?
    private var end: ConnectionEnd?
    private var deadlines = DeadlineHeap()
    private var requestedWakeUp: UInt64?

    /// Sent in the client's Hello.
    package let clientName: String

    package init(clientName: String) {
        self.clientName = clientName
    }

    /// What the server announced in its Hello (nil before it).
    package var serverHello: Frame.Hello? { hello }
    /// How the connection ended (nil while it is open).
    package var connectionEnd: ConnectionEnd? { end }
    package var openStreamCount: Int { streams.count }
    /// Entries in the deadline heap, stale ones included.
    package var deadlineEntryCount: Int { deadlines.count }
    /// Credit the stream has now (nil for a stream not open).
    package func credit(of id: StreamID) -> UInt32? { streams[id.rawValue]?.credit }

    package mutating func handle(_ event: Event, into actions: inout [Action]) {
        switch event {
        case .started(_, let deadline, let wait):
            helloDeadline = deadline
            helloWait = wait
        case .handshakeCompleted:
            actions.append(.send(Frame(streamID: .connection, kind: .hello(.init(protocolVersion: 1,
                                                                               clientName: clientName)))))
        case .frameReceived(let frame):
            guard phase == .connecting || phase == .ready else { break }
            receive(frame, &actions)
        case .framingFailed(let error):
            guard phase == .connecting || phase == .ready else { break }
            phase = .closing
            actions.append(.closeNow(error))
        case .open(let method, let firstPayload, let halfClose, let milliseconds, let backstop, let metadata,
                   let now):
            open(method, firstPayload, halfClose, milliseconds, backstop, metadata, now: now, &actions)
        case .send(let id, let payload, let token):
            guard let stream = streams[id.rawValue] else {
                if let token {
                    actions.append(.sendFailed(token, .protocolViolation("the stream ended before this message was sent")))
                }
                break
            }
            if stream.halfCloseRequested {
                if let token {
                    actions.append(.sendFailed(token, .protocolViolation("send after the stream was half-closed or ended")))
                }
                break
            }
            stream.pending.append((payload, token))
            pump(id, stream, &actions)
        case .halfClose(let id):
            guard let stream = streams[id.rawValue] else { break }
            stream.halfCloseRequested = true
            pump(id, stream, &actions)
        case .cancel(let id, let reason):
            guard streams[id.rawValue] != nil else { break }
            actions.append(.send(Frame(streamID: id, kind: .cancel(reason: reason))))
        case .ping(let payload):
            if let end { actions.append(.pingFailed(Self.error(for: end))); break }
            actions.append(.send(Frame(streamID: .connection, kind: .ping(payload: payload))))
        case .tick(let now):
            requestedWakeUp = nil
            tick(now: now, &actions)
        case .close:
            guard phase == .connecting || phase == .ready else { break }
            phase = .closing
            actions.append(.closeGracefully)
        case .channelClosed(let error):
            guard phase != .closed else { break }
            phase = .closed
            let ending = ConnectionEnd(goAway: goAway, error: error)
            end = ending
            let failure = Self.error(for: ending)
            for id in streams.keys.sorted() { endStream(StreamID(id), failure, &actions) }
            deadlines.removeAll()
            helloDeadline = nil
            actions.append(.ended(ending))
        }
        if phase != .closed, let next = earliestWakeUp(), requestedWakeUp.map({ next < $0 }) ?? true {
            requestedWakeUp = next
            actions.append(.wakeUp(at: next))
        }
    }

    /// `handle` returning a fresh array (tests).
    package mutating func handle(_ event: Event) -> [Action] {
        var actions: [Action] = []
        handle(event, into: &actions)
        return actions
    }

    /// The error a call sees once the connection has ended.
    package static func error(for end: ConnectionEnd) -> RPCError {
        if let goAway = end.goAway {
            return .status(goAway.code == .ok ? .unavailable : goAway.code,
                           message: "the server closed the connection: \(goAway.message)")
        }
        return end.error ?? .connectionClosed(reason: "the connection is closed")
    }

    // MARK: - Frames from the server

    private mutating func receive(_ frame: Frame, _ actions: inout [Action]) {
        if hello == nil {
            guard case .hello(let serverHello) = frame.kind else {
                return violation("the server's first frame must be Hello, got \(frame.kind.name)", &actions)
            }
            guard serverHello.protocolVersion == 1 else {
                return violation("the server speaks protocol version \(serverHello.protocolVersion); "
                                 + "this client speaks 1", &actions)
            }
            hello = serverHello
            helloDeadline = nil
            phase = .ready
            actions.append(.ready(serverHello))
            return
        }
        switch frame.kind {
        case .hello:
            break // a second Hello says nothing new
        case .message(let payload):
            // A stream that ended here (its deadline backstop) may still get frames.
            if streams[frame.streamID.rawValue] != nil { actions.append(.deliver(frame.streamID, payload)) }
        case .status(let code, let message):
            endStream(frame.streamID, code == .ok ? nil : .status(code, message: message), &actions)
        case .credit(let messages):
            guard let stream = streams[frame.streamID.rawValue] else { break }
            stream.credit = stream.credit.addingReportingOverflow(messages).overflow ? .max : stream.credit + messages
            pump(frame.streamID, stream, &actions)
        case .ping(let payload):
            actions.append(.send(Frame(streamID: .connection, kind: .pong(payload: payload))))
        case .pong(let payload):
            actions.append(.pong(payload))
        case .goAway(let last, let code, let message):
            goAway = .init(lastStreamID: last, code: code, message: message)
            for id in streams.keys.sorted() where id > last.rawValue {
                endStream(StreamID(id), .status(.unavailable, message: "not served: the server sent GoAway (\(message))"),
                          &actions)
            }
        case .call, .halfClose, .cancel:
            violation("the server sent a \(frame.kind.name) frame", &actions)
        }
    }

    private mutating func violation(_ what: String, _ actions: inout [Action]) {
        phase = .closing
        actions.append(.closeNow(.protocolViolation(what)))
    }

    // MARK: - Streams

    private mutating func open(_ method: String, _ firstPayload: [UInt8]?, _ halfClose: Bool, _ milliseconds: UInt32,
                               _ backstop: (nanoseconds: UInt64, description: String)?, _ metadata: [String: String],
                               now: UInt64, _ actions: inout [Action]) {
        if let end { return actions.append(.openFailed(Self.error(for: end))) }
        if let goAway {
            return actions.append(.openFailed(.status(.unavailable,
                message: "the server sent GoAway (\(goAway.message)); open a new connection")))
        }
        guard phase == .ready, let hello else {
            return actions.append(.openFailed(.connectionClosed(reason: phase == .connecting
                ? "the server's Hello has not arrived yet" : "the connection is closing")))
        }
        guard nextStreamID != 0 else {
            return actions.append(.openFailed(.status(.unavailable,
                message: "this connection has used all its stream ids; open a new connection")))
        }
        let id = StreamID(nextStreamID)
        // Odd ids; 0 marks the ids as used up (the next would pass 2^32 - 1).
        let (next, overflow) = nextStreamID.addingReportingOverflow(2)
        nextStreamID = overflow ? 0 : next
        let stream = Stream(credit: firstPayload == nil ? hello.initialStreamCredit
                                : max(hello.initialStreamCredit, 1) - 1)
        stream.halfCloseRequested = halfClose
        stream.halfCloseSent = halfClose
        if let backstop {
            let deadline = now &+ backstop.nanoseconds
            stream.deadline = deadline
            stream.deadlineDescription = backstop.description
            deadlines.insert(deadline, id.rawValue)
        }
        streams[id.rawValue] = stream
        actions.append(.opened(id))
        actions.append(.send(Frame(streamID: id, kind: .call(.init(method: method, timeoutMilliseconds: milliseconds,
                                                                   metadata: metadata, payload: firstPayload,
                                                                   halfClose: halfClose)))))
    }

    /// Sends queued requests while credit lasts, then the half-close once
    /// nothing is left.
    private func pump(_ id: StreamID, _ stream: Stream, _ actions: inout [Action]) {
        while stream.pendingHead < stream.pending.count && stream.credit > 0 {
            let (payload, token) = stream.pending[stream.pendingHead]
            stream.pending[stream.pendingHead].payload = []
            stream.pendingHead += 1
            stream.credit -= 1
            actions.append(.send(Frame(streamID: id, kind: .message(payload: payload))))
            if let token { actions.append(.sent(token)) }
        }
        if stream.pendingHead == stream.pending.count {
            stream.pending.removeAll()
            stream.pendingHead = 0
        }
        if stream.halfCloseRequested && !stream.halfCloseSent && stream.pending.isEmpty {
            stream.halfCloseSent = true
            actions.append(.send(Frame(streamID: id, kind: .halfClose)))
        }
    }

    /// Ends a stream here: its waiting sends fail, the caller learns the outcome.
    private mutating func endStream(_ id: StreamID, _ error: RPCError?, _ actions: inout [Action]) {
        guard let stream = streams.removeValue(forKey: id.rawValue) else { return }
        if stream.deadline != nil {
            if streams.isEmpty { deadlines.removeAll() } else { deadlines.entryEnded(liveCount: streams.count) }
        }
        for (_, token) in stream.pending[stream.pendingHead...] {
            if let token {
                actions.append(.sendFailed(token, error ?? .protocolViolation("the stream ended before this message was sent")))
            }
        }
        actions.append(.streamEnded(id, error))
    }

    private mutating func tick(now: UInt64, _ actions: inout [Action]) {
        if let deadline = helloDeadline, now >= deadline {
            helloDeadline = nil
            if phase == .connecting {
                phase = .closing
                actions.append(.closeNow(.timedOut(helloWait)))
            }
        }
        while let (deadline, id) = deadlines.popExpired(now: now) {
            guard let stream = streams[id], stream.deadline == deadline else { continue }
            endStream(StreamID(id), .status(.deadlineExceeded,
                                            message: "no answer within \(stream.deadlineDescription) (client-side)"),
                      &actions)
        }
    }

    private mutating func earliestWakeUp() -> UInt64? {
        let next = deadlines.earliest { deadline, id in streams[id]?.deadline == deadline }
        guard let helloDeadline else { return next }
        return next.map { min($0, helloDeadline) } ?? helloDeadline
    }
}
