import Cancellation
import Transport
import Wire
import Logging

/// The server's side of protocol v1 (docs/PROTOCOL.md) for one connection,
/// as a pure state machine: events in, actions out. It owns the Hello
/// exchange, the stream table, credits, item ordering, deadlines, Cancel,
/// Ping, GoAway, drain and the idle and handshake timers. It does no I/O and
/// never reads a clock: time comes in with the events, as nanoseconds of
/// `ContinuousClock` since the `epoch` the machine was made with, and the
/// driver (`ServerConnection`) turns the actions into channel calls, service
/// tasks and one timer.
///
/// Deadlines are kept in one min-heap for the whole connection; a stream
/// that ends leaves its entry behind only until the heap is compacted (at
/// most as many stale entries as live ones, plus 8), and an empty stream
/// table empties the heap, so a finished call costs nothing afterwards.
package struct ServerConnectionState {
    /// The settings the machine needs, taken from `ServerConfiguration`.
    package struct Settings: Sendable {
        package var serverName: String
        package var maxFrameBytes: UInt32
        package var maxConcurrentStreams: UInt32
        package var initialStreamCredit: UInt32
        package var handshakeTimeout: Duration
        package var idleTimeout: Duration?
        /// A call's metadata: most entries, and most UTF-8 bytes of keys
        /// and values together.
        package var maxMetadataEntries: Int
        package var maxMetadataBytes: Int
        /// Request bytes a connection may hold at once: unary requests
        /// waiting for their half-close or being served, and stream items
        /// being served.
        package var maxRequestBytes: Int
        /// The same over all connections (nil: no shared bound).
        package var requestBudget: ByteBudget?
        /// Unsent output a connection, and all connections together, may
        /// hold; a response that would go past either is not queued.
        package var maxQueuedOutputBytes: Int
        package var maxTotalQueuedOutputBytes: Int
        /// Above this much unsent output a stream's Credit is held back
        /// until the client reads (half the read-pause limit).
        package var creditOutputThreshold: Int
        /// A stream with no work in progress and nothing from the client for
        /// this long is ended (nil: never).
        package var streamIdleTimeout: Duration?
        /// A connection whose output has not moved for this long while
        /// output waits is closed (nil: never).
        package var writeTimeout: Duration?
        /// Cancel frames a client may send in a burst, and the rate the burst
        /// refills at (a flood of open+Cancel is answered with GoAway).
        package var cancelBurst: Double
        package var cancelsPerSecond: Double
        /// While the connection is open a tick comes at least this often, so
        /// the driver can look at its socket even when no readiness event
        /// came (a reset the event loop missed must not hold a descriptor
        /// until the idle timeout); nil: no such tick.
        package var socketCheckInterval: Duration?

        package init(serverName: String = "adrnorm", maxFrameBytes: UInt32 = FrameDecoder.defaultMaxFrameBytes,
                     maxConcurrentStreams: UInt32 = 64, initialStreamCredit: UInt32 = 16,
                     handshakeTimeout: Duration = .seconds(10), idleTimeout: Duration? = .seconds(300),
                     maxMetadataEntries: Int = ServerConfiguration.defaultMaxMetadataEntries,
                     maxMetadataBytes: Int = ServerConfiguration.defaultMaxMetadataBytes,
                     maxRequestBytes: Int = 32 << 20, requestBudget: ByteBudget? = nil,
                     maxQueuedOutputBytes: Int = 32 << 20, maxTotalQueuedOutputBytes: Int = 512 << 20,
                     creditOutputThreshold: Int = 4 << 20, streamIdleTimeout: Duration? = nil,
                     writeTimeout: Duration? = nil, cancelBurst: Double = 1000, cancelsPerSecond: Double = 100,
                     socketCheckInterval: Duration? = nil) {
            self.serverName = serverName
            self.maxFrameBytes = maxFrameBytes
            self.maxConcurrentStreams = maxConcurrentStreams
            self.initialStreamCredit = initialStreamCredit
            self.handshakeTimeout = handshakeTimeout
            self.idleTimeout = idleTimeout
            self.maxMetadataEntries = maxMetadataEntries
            self.maxMetadataBytes = maxMetadataBytes
            self.maxRequestBytes = maxRequestBytes
            self.requestBudget = requestBudget
            self.maxQueuedOutputBytes = maxQueuedOutputBytes
            self.maxTotalQueuedOutputBytes = maxTotalQueuedOutputBytes
            self.creditOutputThreshold = creditOutputThreshold
            self.streamIdleTimeout = streamIdleTimeout
            self.writeTimeout = writeTimeout
            self.cancelBurst = cancelBurst
            self.cancelsPerSecond = cancelsPerSecond
            self.socketCheckInterval = socketCheckInterval
        }

        package init(_ configuration: ServerConfiguration, requestBudget: ByteBudget?) {
            self.init(serverName: configuration.serverName, maxFrameBytes: configuration.maxFrameBytes,
                      maxConcurrentStreams: configuration.maxConcurrentStreams,
                      initialStreamCredit: configuration.initialStreamCredit,
                      handshakeTimeout: configuration.handshakeTimeout, idleTimeout: configuration.idleTimeout,
                      maxRequestBytes: configuration.maxRequestBytesPerConnection, requestBudget: requestBudget,
                      maxQueuedOutputBytes: configuration.maxQueuedOutputBytesPerConnection,
                      maxTotalQueuedOutputBytes: configuration.maxQueuedOutputBytes,
                      creditOutputThreshold: configuration.outputBufferLimit / 2,
                      streamIdleTimeout: configuration.streamIdleTimeout, writeTimeout: configuration.writeTimeout,
                      socketCheckInterval: ServerConfiguration.socketCheckInterval)
        }
    }

    /// What the driver knows about the connection's output, and the time,
    /// when it hands an event over.
    package struct OutputState: Sendable {
        /// When the driver took this snapshot (the machine's nanoseconds).
        package var now: UInt64
        /// Bytes queued on this connection and not yet written.
        package var pendingBytes: Int
        /// Bytes queued on all the server's connections.
        package var totalPendingBytes: Int
        /// When this connection's output last moved (see
        /// `SecureChannel.lastOutputProgress`).
        package var lastProgress: UInt64

        package init(now: UInt64, pendingBytes: Int = 0, totalPendingBytes: Int = 0, lastProgress: UInt64 = 0) {
            self.now = now
            self.pendingBytes = pendingBytes
            self.totalPendingBytes = totalPendingBytes
            self.lastProgress = lastProgress
        }

        /// Nothing waiting, at time zero (tests that do not care).
        package static let idle = OutputState(now: 0)
    }

    package enum Event {
        /// The connection was accepted: the handshake clock starts.
        case started(now: UInt64)
        /// TLS is up; `allowed` says whether the identity passed the allowlist.
        /// `refusal`: the server's connection budget is full; answer GoAway
        /// RESOURCE_EXHAUSTED with it instead of Hello.
        case handshakeCompleted(peer: PeerIdentity?, allowed: Bool, refusal: String? = nil, now: UInt64)
        case frameReceived(Frame, now: UInt64)
        /// The peer's bytes cannot be framed; no more frames will come.
        case framingFailed(RPCError)
        /// A unary call's service result (on the connection's queue).
        case unaryCompleted(StreamID, Result<[UInt8], ServiceError>)
        /// A NormalizeStream item's encoded `NormalizeResponse`, and the id
        /// of its request (echoed if the response is too large to send).
        case itemCompleted(StreamID, sequence: Int, requestID: String, response: [UInt8])
        /// The timer went off. `lastInput` is when bytes last arrived from
        /// the peer (the idle check counts from it).
        case tick(now: UInt64, lastInput: UInt64)
        /// Graceful shutdown: GoAway, finish the open streams, then close.
        case drainRequested
        /// The drain timed out: stop everything now.
        case forceClose
        /// The channel is closed (by either side).
        case channelClosed
        /// The client read enough of its output for held-back Credit to go.
        case outputDrained
    }

    package enum Action {
        case send(Frame)
        /// Run a unary call off the connection's queue; answer with `unaryCompleted`.
        case startUnary(StreamID, NormalizerMethod, payload: [UInt8], context: CallContext)
        /// Run one NormalizeStream item; answer with `itemCompleted`.
        case startItem(StreamID, sequence: Int, payload: [UInt8], context: CallContext)
        /// Tell a call's work to stop (its Status, if any, is sent by the machine).
        case cancelWork(CancellationToken)
        /// Send what is queued (and TLS close_notify), then close.
        case closeGracefully
        /// Close now, dropping unsent output.
        case closeNow(RPCError?)
        case log(Logger.Level, String, Logger.Metadata)
        /// Deliver a `tick` no later than this time (earlier than any wake-up
        /// asked for before). A tick that comes early is harmless.
        case wakeUp(at: UInt64)
    }

    /// One open stream.
    private final class Stream {
        let id: StreamID
        let method: NormalizerMethod
        let context: CallContext
        let deadline: UInt64?
        let timeoutMilliseconds: UInt32
        var credit: UInt32
        var halfClosed = false
        var unaryPayload: [UInt8]?
        var unaryDispatched = false
        // NormalizeStream bookkeeping: items are numbered as they arrive and
        // answered in that order whatever order workers finish in.
        var nextSequence = 0
        var nextToSend = 0
        var finished: [Int: [UInt8]] = [:]
        var inFlight = 0
        var creditOwed: UInt32 = 0
        /// Request bytes this stream holds (counted against the limits), and
        /// each in-flight item's share of them.
        var requestBytes = 0
        var itemRequestBytes: [Int: Int] = [:]
        /// When the client last sent something on the stream or its work
        /// last finished (for `streamIdleTimeout`).
        var lastProgress: UInt64

        init(id: StreamID, method: NormalizerMethod, context: CallContext, deadline: UInt64?,
             timeoutMilliseconds: UInt32, credit: UInt32, now: UInt64) {
            self.id = id; self.method = method; self.context = context; self.deadline = deadline
            self.timeoutMilliseconds = timeoutMilliseconds; self.credit = credit; self.lastProgress = now
        }

        /// Whether the server owes the stream work it is doing.
        var isWorking: Bool { inFlight > 0 || unaryDispatched || !finished.isEmpty }
    }

    private enum Phase { case handshaking, open, closing, closed }

    package let settings: Settings
    /// Time zero of the machine's nanoseconds, for the deadlines that
    /// `CallContext` carries.
    private let epoch: ContinuousClock.Instant
    private var phase = Phase.handshaking
    private var handshakeDeadline: UInt64?
    private var nextIdleCheck: UInt64?
    private var peer: PeerIdentity?
    private var allowed = false
    private var helloReceived = false
    private var streams: [UInt32: Stream] = [:]
    private var lastStreamID: UInt32 = 0
    /// Pings a client may send in a burst, and the rate the burst refills at.
    static let pingBurst: Double = 32
    static let pingsPerSecond: Double = 10
    private var pings = TokenBucket(burst: ServerConnectionState.pingBurst, perSecond: ServerConnectionState.pingsPerSecond)
    /// The same kind of bucket for Cancel frames (`Settings.cancelBurst`).
    private var cancels: TokenBucket
    /// Request bytes held by all streams (`Settings.maxRequestBytes`).
    private var requestBytes = 0
    /// Stream answers finished but waiting for an earlier one, in bytes:
    /// output too, though not yet handed to the channel.
    private var waitingResponseBytes = 0
    /// Credit owed to streams but held back while the client does not read.
    private var creditHeldBack = false
    /// When to look for streams that made no progress, and for output that
    /// did not move.
    private var nextProgressCheck: UInt64?
    private var nextWriteCheck: UInt64?
    private var nextSocketCheck: UInt64?
    /// The output snapshot of the event being handled.
    private var output = OutputState.idle
    private var draining = false
    private var goAwaySent = false
    private var deadlines = DeadlineHeap()
    /// The earliest wake-up asked of the driver and not yet delivered.
    private var requestedWakeUp: UInt64?
    /// Calls opened on the connection (refused ones included), for the log.
    package private(set) var callsServed = 0

    package init(settings: Settings, epoch: ContinuousClock.Instant) {
        self.settings = settings
        self.epoch = epoch
        cancels = TokenBucket(burst: settings.cancelBurst, perSecond: settings.cancelsPerSecond)
    }

    /// Request bytes the connection's streams hold now.
    package var heldRequestBytes: Int { requestBytes }

    /// Streams open now.
    package var openStreamCount: Int { streams.count }
    /// Entries in the deadline heap, stale ones included (bounded by twice
    /// the open streams with a deadline, plus a small constant).
    package var deadlineEntryCount: Int { deadlines.count }
    /// When the machine next needs a tick, if ever.
    package var nextWakeUp: UInt64? {
        mutating get { earliestWakeUp() }
    }

    /// Handles one event, appending what the driver must do to `actions`.
    /// `output` is the connection's output as the driver sees it now.
    package mutating func handle(_ event: Event, output: OutputState = .idle, into actions: inout [Action]) {
        self.output = output
        switch event {
        case .started(let now):
            handshakeDeadline = now &+ UInt64(settings.handshakeTimeout.saturatingNanoseconds)
        case .handshakeCompleted(let peer, let allowed, let refusal, let now):
            handshakeCompleted(peer: peer, allowed: allowed, refusal: refusal, now: now, &actions)
        case .frameReceived(let frame, let now):
            guard phase == .open else { break }
            receive(frame, now: now, &actions)
        case .framingFailed(let error):
            guard phase == .open else { break }
            connectionError(error.description, code: error.statusCode, &actions)
        case .unaryCompleted(let id, let result):
            completeUnary(id, result, &actions)
        case .itemCompleted(let id, let sequence, let requestID, let response):
            completeItem(id, sequence, requestID, response, &actions)
        case .tick(let now, let lastInput):
            requestedWakeUp = nil
            tick(now: now, lastInput: lastInput, &actions)
        case .drainRequested:
            beginDrain(&actions)
        case .forceClose:
            cancelAllStreams(&actions)
            if phase != .closed { phase = .closing }
            actions.append(.closeNow(nil))
        case .channelClosed:
            cancelAllStreams(&actions)
            phase = .closed
            handshakeDeadline = nil
            nextIdleCheck = nil
            nextProgressCheck = nil
            nextWriteCheck = nil
            nextSocketCheck = nil
        case .outputDrained:
            break
        }
        if creditHeldBack && phase == .open && output.pendingBytes <= settings.creditOutputThreshold {
            releaseHeldCredit(&actions)
        }
        if phase == .open, nextWriteCheck == nil, let timeout = settings.writeTimeout,
           output.pendingBytes > 0 || actions.contains(where: { if case .send = $0 { true } else { false } }) {
            let since = output.pendingBytes > 0 ? output.lastProgress : output.now
            nextWriteCheck = since &+ UInt64(timeout.saturatingNanoseconds)
        }
        if phase != .closed, let next = earliestWakeUp(), requestedWakeUp.map({ next < $0 }) ?? true {
            requestedWakeUp = next
            actions.append(.wakeUp(at: next))
        }
    }

    /// `handle` returning a fresh array (tests).
    package mutating func handle(_ event: Event, output: OutputState = .idle) -> [Action] {
        var actions: [Action] = []
        handle(event, output: output, into: &actions)
        return actions
    }

    // MARK: - Connection

    private mutating func handshakeCompleted(peer: PeerIdentity?, allowed: Bool, refusal: String?, now: UInt64,
                                             _ actions: inout [Action]) {
        guard phase == .handshaking else { return }
        phase = .open
        handshakeDeadline = nil
        self.peer = peer
        self.allowed = allowed
        if let refusal {
            actions.append(.log(.warning, "refusing an authenticated connection: \(refusal)", [:]))
            sendGoAway(.resourceExhausted, refusal, &actions)
            return closeGracefully(&actions)
        }
        actions.append(.send(Frame(streamID: .connection, kind: .hello(.init(
            protocolVersion: 1, serverName: settings.serverName, maxFrameBytes: settings.maxFrameBytes,
            maxConcurrentStreams: settings.maxConcurrentStreams,
            initialStreamCredit: settings.initialStreamCredit)))))
        if draining { beginDrainNow(&actions) }
        if let idle = settings.idleTimeout { nextIdleCheck = now &+ UInt64(idle.saturatingNanoseconds) }
        nextSocketCheck = settings.socketCheckInterval.map { now &+ UInt64($0.saturatingNanoseconds) }
    }

    private mutating func receive(_ frame: Frame, now: UInt64, _ actions: inout [Action]) {
        if case .hello(let hello) = frame.kind {
            guard !helloReceived else { return connectionError("a second Hello on the connection", &actions) }
            guard hello.protocolVersion == 1 else {
                return connectionError("protocol version \(hello.protocolVersion) is not supported; this server speaks 1",
                                       code: .unimplemented, &actions)
            }
            helloReceived = true
            if !hello.clientName.isEmpty {
                actions.append(.log(.debug, "client hello", ["client": "\(hello.clientName)"]))
            }
            return
        }
        guard helloReceived else {
            return connectionError("the first frame must be Hello, got \(frame.kind.name)", &actions)
        }
        switch frame.kind {
        case .hello:
            break
        case .call(let call):
            openStream(frame.streamID, call, now: now, &actions)
        case .message(let payload):
            guard let stream = existingStream(frame.streamID, &actions) else { return }
            stream.lastProgress = now
            receive(payload, on: stream, &actions)
        case .halfClose:
            guard let stream = existingStream(frame.streamID, &actions) else { return }
            stream.lastProgress = now
            halfClose(stream, &actions)
        case .cancel(let reason):
            // Open+Cancel floods ("rapid reset") cost the server work per
            // stream: the same kind of bucket as pings.
            guard cancels.take(now: now) else {
                return connectionError("too many cancelled streams: more than \(Int(settings.cancelBurst)) at once or "
                                       + "\(Int(settings.cancelsPerSecond)) per second", code: .resourceExhausted, &actions)
            }
            guard let stream = existingStream(frame.streamID, &actions) else { return }
            finish(stream, .cancelled, reason.isEmpty ? "cancelled by the client" : "cancelled by the client: \(reason)",
                   &actions)
        case .ping(let payload):
            // A token bucket: bursts of `pingBurst`, refilled at
            // `pingsPerSecond`. A peer that pings faster is abusing the
            // connection (gRPC's "too_many_pings"): GoAway and close.
            guard pings.take(now: now) else {
                return connectionError("too many pings: more than \(Int(Self.pingBurst)) at once or "
                                       + "\(Int(Self.pingsPerSecond)) per second", code: .resourceExhausted, &actions)
            }
            actions.append(.send(Frame(streamID: .connection, kind: .pong(payload: payload))))
        case .pong:
            break
        case .goAway:
            // The client is leaving; its open streams still get answers.
            break
        case .credit, .status:
            connectionError("\(frame.kind.name) frames are sent by the server only", &actions)
        }
    }

    private mutating func tick(now: UInt64, lastInput: UInt64, _ actions: inout [Action]) {
        if let check = nextSocketCheck, now >= check {
            nextSocketCheck = phase == .open ? settings.socketCheckInterval.map { now &+ UInt64($0.saturatingNanoseconds) } : nil
        }
        if let deadline = handshakeDeadline, now >= deadline {
            handshakeDeadline = nil
            if phase == .handshaking {
                actions.append(.log(.notice, "closing connection: no TLS handshake within \(settings.handshakeTimeout)",
                                    [:]))
                phase = .closing
                actions.append(.closeNow(.timedOut("TLS handshake")))
            }
        }
        while let (deadline, id) = deadlines.popExpired(now: now) {
            guard let stream = streams[id], stream.deadline == deadline else { continue } // ended already
            finish(stream, .deadlineExceeded, "deadline of \(stream.timeoutMilliseconds) ms exceeded", &actions)
        }
        if let check = nextWriteCheck, now >= check, let timeout = settings.writeTimeout {
            nextWriteCheck = nil
            if output.pendingBytes > 0 {
                let limit = UInt64(timeout.saturatingNanoseconds)
                if now &- min(output.lastProgress, now) >= limit {
                    // GoAway could not get through either: close now.
                    actions.append(.log(.notice, "closing connection: the client has not read its output", [
                        "unsent_bytes": "\(output.pendingBytes)", "write_timeout": "\(timeout)"]))
                    cancelAllStreams(&actions)
                    phase = .closing
                    nextIdleCheck = nil
                    actions.append(.closeNow(.timedOut("writing to the client (\(output.pendingBytes) bytes unsent)")))
                    return
                }
                nextWriteCheck = output.lastProgress &+ limit
            }
        }
        if let check = nextProgressCheck, now >= check, let timeout = settings.streamIdleTimeout {
            nextProgressCheck = nil
            let limit = UInt64(timeout.saturatingNanoseconds)
            for stream in streams.values.sorted(by: { $0.id.rawValue < $1.id.rawValue }) where !stream.isWorking {
                if now &- min(stream.lastProgress, now) >= limit {
                    finish(stream, .deadlineExceeded, "no request on \(stream.id) for \(timeout) and no work in "
                           + "progress (stream idle timeout); the stream is ended", &actions)
                }
            }
            scheduleProgressCheck(now: now)
        }
        if let check = nextIdleCheck, now >= check, let idle = settings.idleTimeout {
            nextIdleCheck = nil
            guard phase == .open else { return }
            let limit = UInt64(idle.saturatingNanoseconds)
            if streams.isEmpty && now &- min(lastInput, now) >= limit {
                actions.append(.log(.info, "closing idle connection", [:]))
                sendGoAway(.unavailable, "idle for \(idle); reconnect when needed", &actions)
                closeGracefully(&actions)
            } else {
                nextIdleCheck = now &+ limit
            }
        }
    }

    private mutating func earliestWakeUp() -> UInt64? {
        var next = deadlines.earliest { deadline, id in streams[id]?.deadline == deadline }
        for time in [handshakeDeadline, nextIdleCheck, nextProgressCheck, nextWriteCheck, nextSocketCheck] {
            if let time, next.map({ time < $0 }) ?? true { next = time }
        }
        return next
    }

    /// The next look for idle streams: when the first idle stream would
    /// reach the limit, or a whole limit from now while all are working.
    private mutating func scheduleProgressCheck(now: UInt64) {
        guard let timeout = settings.streamIdleTimeout, !streams.isEmpty else { return }
        let limit = UInt64(timeout.saturatingNanoseconds)
        var next = now &+ limit
        for stream in streams.values where !stream.isWorking {
            next = min(next, stream.lastProgress &+ limit)
        }
        if nextProgressCheck.map({ next < $0 }) ?? true { nextProgressCheck = max(next, now) }
    }

    private mutating func beginDrain(_ actions: inout [Action]) {
        guard !draining, phase != .closed else { return }
        draining = true
        guard phase == .open else {
            phase = .closing
            actions.append(.closeNow(nil))
            return
        }
        beginDrainNow(&actions)
    }

    private mutating func beginDrainNow(_ actions: inout [Action]) {
        sendGoAway(.unavailable, "server shutting down; streams up to \(lastStreamID) will be finished", &actions)
        if streams.isEmpty { closeGracefully(&actions) }
    }

    private mutating func sendGoAway(_ code: StatusCode, _ message: String, _ actions: inout [Action]) {
        guard !goAwaySent else { return }
        goAwaySent = true
        actions.append(.send(Frame(streamID: .connection,
                                   kind: .goAway(lastStreamID: StreamID(lastStreamID), code: code, message: message))))
    }

    private mutating func closeGracefully(_ actions: inout [Action]) {
        guard phase == .open else { return }
        phase = .closing
        nextIdleCheck = nil
        actions.append(.closeGracefully)
    }

    /// A protocol violation: GoAway with the reason, then close; open
    /// streams are abandoned.
    private mutating func connectionError(_ message: String, code: StatusCode = .invalidArgument,
                                          _ actions: inout [Action]) {
        actions.append(.log(.notice, "protocol error; closing the connection", ["reason": "\(message)"]))
        cancelAllStreams(&actions)
        goAwaySent = false
        sendGoAway(code, message, &actions)
        closeGracefully(&actions)
    }

    private mutating func cancelAllStreams(_ actions: inout [Action]) {
        for stream in streams.values {
            actions.append(.cancelWork(stream.context.cancellation))
            releaseRequestBytes(stream.requestBytes)
        }
        streams.removeAll()
        waitingResponseBytes = 0
        deadlines.removeAll()
        nextProgressCheck = nil
    }

    // MARK: - Streams

    private mutating func existingStream(_ id: StreamID, _ actions: inout [Action]) -> Stream? {
        if let stream = streams[id.rawValue] { return stream }
        // Frames for a stream that already ended (deadline, error) are
        // harmless races; ones for a stream never opened are a violation.
        if id.rawValue > lastStreamID || id == .connection {
            connectionError("a frame for \(id), which was never opened", &actions)
        }
        return nil
    }

    private mutating func openStream(_ id: StreamID, _ call: Frame.Call, now: UInt64, _ actions: inout [Action]) {
        guard id.rawValue > lastStreamID else {
            return connectionError("\(id) is not above the last stream id \(lastStreamID); ids must increase", &actions)
        }
        lastStreamID = id.rawValue
        callsServed += 1
        func refuse(_ code: StatusCode, _ message: String) {
            actions.append(.send(Frame(streamID: id, kind: .status(code: code, message: message))))
        }
        if draining || goAwaySent {
            return refuse(.unavailable, "server is shutting down; open the call on a new connection")
        }
        guard allowed else {
            // Refused once, then closed: a connection that can never be
            // served must not be held open (it counts against the server's
            // budget of connections not admitted).
            let message = "client identity \"\(peer?.name ?? "none")\" is not on this server's allowlist"
            refuse(.permissionDenied, message)
            sendGoAway(.permissionDenied, message, &actions)
            return closeGracefully(&actions)
        }
        guard let method = NormalizerMethod(rawValue: call.method) else {
            return refuse(.unimplemented, "unknown method \"\(Self.truncated(call.method))\"; this server serves "
                          + NormalizerMethod.allCases.map(\.rawValue).joined(separator: ", "))
        }
        guard streams.count < Int(settings.maxConcurrentStreams) else {
            return refuse(.resourceExhausted, "\(streams.count) streams are already open on this connection "
                          + "(limit \(settings.maxConcurrentStreams)); wait for one to finish")
        }
        guard call.metadata.count <= settings.maxMetadataEntries else {
            return refuse(.resourceExhausted, "the call carries \(call.metadata.count) metadata entries "
                          + "(limit \(settings.maxMetadataEntries))")
        }
        let metadataBytes = call.metadata.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count }
        guard metadataBytes <= settings.maxMetadataBytes else {
            return refuse(.resourceExhausted, "the call's metadata is \(metadataBytes) bytes "
                          + "(limit \(settings.maxMetadataBytes))")
        }
        // timeout_ms is at most 2^32 - 1 ms (about 4.3e15 ns): no overflow.
        let deadline = call.timeoutMilliseconds > 0 ? now + UInt64(call.timeoutMilliseconds) * 1_000_000 : nil
        let context = CallContext(method: call.method, streamID: id, peer: peer, metadata: call.metadata,
                                  deadline: deadline.map { epoch + .nanoseconds(Int64(clamping: $0)) },
                                  cancellation: CancellationToken())
        let stream = Stream(id: id, method: method, context: context, deadline: deadline,
                            timeoutMilliseconds: call.timeoutMilliseconds, credit: settings.initialStreamCredit,
                            now: now)
        streams[id.rawValue] = stream
        if let deadline { deadlines.insert(deadline, id.rawValue) }
        if nextProgressCheck == nil { scheduleProgressCheck(now: now) }
        if let payload = call.payload { receive(payload, on: stream, &actions) }
        if call.halfClose, streams[id.rawValue] != nil { halfClose(stream, &actions) }
    }

    private mutating func receive(_ payload: [UInt8], on stream: Stream, _ actions: inout [Action]) {
        guard !stream.halfClosed else {
            return finish(stream, .invalidArgument, "a request message after half-close on \(stream.id)", &actions)
        }
        guard stream.credit > 0 else {
            return finish(stream, .resourceExhausted, "the client sent more messages than its credit on \(stream.id) "
                          + "(initial credit \(settings.initialStreamCredit)); wait for Credit frames", &actions)
        }
        guard reserveRequestBytes(payload.count) else {
            return finish(stream, .resourceExhausted, "the server holds too many request bytes "
                          + (requestBytes + payload.count > settings.maxRequestBytes
                             ? "for this connection (\(requestBytes) held, limit \(settings.maxRequestBytes))"
                             : "for all clients (limit \(settings.requestBudget?.limit ?? 0))")
                          + "; half-close or finish the calls already open, or retry later", &actions)
        }
        stream.requestBytes += payload.count
        stream.credit -= 1
        if stream.method.isStreaming {
            let sequence = stream.nextSequence
            stream.nextSequence += 1
            stream.inFlight += 1
            stream.itemRequestBytes[sequence] = payload.count
            actions.append(.startItem(stream.id, sequence: sequence, payload: payload, context: stream.context))
        } else if stream.unaryPayload != nil {
            finish(stream, .invalidArgument, "\(stream.method.rawValue) is unary: it takes exactly one request message",
                   &actions)
        } else {
            stream.unaryPayload = payload
        }
    }

    private mutating func halfClose(_ stream: Stream, _ actions: inout [Action]) {
        // A repeated HalfClose says nothing new (docs/PROTOCOL.md §Unary
        // methods): the call already in progress still delivers its result.
        guard !stream.halfClosed else { return }
        stream.halfClosed = true
        if stream.method.isStreaming {
            finishStreamIfDone(stream, &actions)
            return
        }
        guard let payload = stream.unaryPayload, !stream.unaryDispatched else {
            return finish(stream, .invalidArgument,
                          "\(stream.method.rawValue) was half-closed without a request message", &actions)
        }
        stream.unaryDispatched = true
        stream.unaryPayload = []
        actions.append(.startUnary(stream.id, stream.method, payload: payload, context: stream.context))
    }

    /// The longest client-supplied string echoed in a Status message, in UTF-8 bytes.
    static let echoLimit = 128

    /// `text` as it may be echoed to the client: at most `echoLimit` UTF-8
    /// bytes, cut at a scalar boundary, with "…" when something was cut.
    static func truncated(_ text: String, limit: Int = echoLimit) -> String {
        guard text.utf8.count > limit else { return text }
        var bytes = 0
        var end = text.unicodeScalars.startIndex
        for index in text.unicodeScalars.indices {
            let width = UTF8.width(text.unicodeScalars[index])
            if bytes + width > limit { break }
            bytes += width
            end = text.unicodeScalars.index(after: index)
        }
        return String(text.unicodeScalars[..<end]) + "…"
    }

    /// Whether a payload fits a frame the client will accept (the same
    /// limit as ours; 64 bytes spare for the frame's own fields).
    private func fitsInFrame(_ payload: [UInt8]) -> Bool {
        payload.count + 64 <= Int(settings.maxFrameBytes)
    }

    private mutating func completeUnary(_ id: StreamID, _ result: Result<[UInt8], ServiceError>,
                                        _ actions: inout [Action]) {
        guard let stream = streams[id.rawValue] else { return } // deadline or cancel answered it
        switch result {
        case .success(let bytes) where !fitsInFrame(bytes):
            finish(stream, .resourceExhausted, "the response (\(bytes.count) bytes) exceeds the frame limit of "
                   + "\(settings.maxFrameBytes) bytes; ask for fewer results", &actions)
        case .success(let bytes):
            if let refusal = outputRefusal(bytes.count) { return finish(stream, .resourceExhausted, refusal, &actions) }
            actions.append(.send(Frame(streamID: id, kind: .message(payload: bytes))))
            finish(stream, .ok, "", &actions)
        case .failure(let error):
            finish(stream, error.code, error.message, &actions)
        }
    }

    private mutating func completeItem(_ id: StreamID, _ sequence: Int, _ requestID: String, _ response: [UInt8],
                                       _ actions: inout [Action]) {
        guard let stream = streams[id.rawValue] else { return }
        var response = response
        if !fitsInFrame(response) {
            response = AdrnormV1.NormalizeResponse(id: requestID, error: .init(
                code: .resourceExhausted, message: "the response (\(response.count) bytes) exceeds the frame limit; "
                + "ask for fewer results")).serializedBytes()
        } else if let refusal = outputRefusal(response.count) {
            response = AdrnormV1.NormalizeResponse(id: requestID, error: .init(code: .resourceExhausted,
                                                                            message: refusal)).serializedBytes()
        }
        let held = stream.itemRequestBytes.removeValue(forKey: sequence) ?? 0
        stream.requestBytes -= held
        releaseRequestBytes(held)
        stream.lastProgress = output.now
        stream.inFlight -= 1
        stream.finished[sequence] = response
        waitingResponseBytes += response.count
        while let next = stream.finished.removeValue(forKey: stream.nextToSend) {
            waitingResponseBytes -= next.count
            actions.append(.send(Frame(streamID: id, kind: .message(payload: next))))
            stream.nextToSend += 1
            stream.creditOwed += 1
        }
        // Credit goes back as items are consumed, in batches, but never
        // held back while the client might be waiting for it, unless the
        // client is not reading its answers: then it waits until it does.
        if !stream.halfClosed && stream.creditOwed > 0
            && (stream.creditOwed >= max(1, settings.initialStreamCredit / 4) || stream.inFlight == 0) {
            if output.pendingBytes > settings.creditOutputThreshold {
                creditHeldBack = true
            } else {
                grantCredit(stream, &actions)
            }
        }
        finishStreamIfDone(stream, &actions)
    }

    private func grantCredit(_ stream: Stream, _ actions: inout [Action]) {
        stream.credit += stream.creditOwed
        actions.append(.send(Frame(streamID: stream.id, kind: .credit(messages: stream.creditOwed))))
        stream.creditOwed = 0
    }

    private mutating func releaseHeldCredit(_ actions: inout [Action]) {
        creditHeldBack = false
        for stream in streams.values.sorted(by: { $0.id.rawValue < $1.id.rawValue })
        where !stream.halfClosed && stream.creditOwed > 0 {
            grantCredit(stream, &actions)
        }
    }

    /// Why a response of `bytes` may not be queued (the client is not
    /// reading what it was sent), or nil when it may.
    private func outputRefusal(_ bytes: Int) -> String? {
        let unsent = output.pendingBytes + waitingResponseBytes
        if unsent + bytes > settings.maxQueuedOutputBytes {
            return "the client is not reading its responses: \(unsent) bytes are unsent on this "
                + "connection and this response (\(bytes) bytes) would pass the limit of \(settings.maxQueuedOutputBytes)"
        }
        if output.totalPendingBytes + bytes > settings.maxTotalQueuedOutputBytes {
            return "the server's unsent output to all clients (\(output.totalPendingBytes) bytes) is at its limit "
                + "(\(settings.maxTotalQueuedOutputBytes)); retry later"
        }
        return nil
    }

    /// Counts `bytes` of request against the connection's and the server's
    /// limits; false (nothing counted) when either would be passed.
    private mutating func reserveRequestBytes(_ bytes: Int) -> Bool {
        guard requestBytes + bytes <= settings.maxRequestBytes else { return false }
        if let budget = settings.requestBudget, !budget.reserve(bytes) { return false }
        requestBytes += bytes
        return true
    }

    private mutating func releaseRequestBytes(_ bytes: Int) {
        guard bytes > 0 else { return }
        requestBytes -= bytes
        settings.requestBudget?.release(bytes)
    }

    private mutating func finishStreamIfDone(_ stream: Stream, _ actions: inout [Action]) {
        if stream.halfClosed && stream.inFlight == 0 && stream.finished.isEmpty {
            finish(stream, .ok, "", &actions)
        }
    }

    /// Ends a stream with its Status frame.
    private mutating func finish(_ stream: Stream, _ code: StatusCode, _ message: String, _ actions: inout [Action]) {
        guard streams.removeValue(forKey: stream.id.rawValue) != nil else { return }
        releaseRequestBytes(stream.requestBytes)
        stream.requestBytes = 0
        waitingResponseBytes -= stream.finished.values.reduce(0) { $0 + $1.count }
        stream.finished = [:]
        if stream.deadline != nil {
            if streams.isEmpty { deadlines.removeAll() } else { deadlines.entryEnded(liveCount: streams.count) }
        }
        if code != .ok { actions.append(.cancelWork(stream.context.cancellation)) }
        actions.append(.send(Frame(streamID: stream.id, kind: .status(code: code, message: message))))
        if (draining || goAwaySent) && streams.isEmpty { closeGracefully(&actions) }
    }
}

/// Allows bursts of `burst` events, refilled at `perSecond`: how often a
/// peer may ping or cancel before it is abusing the connection.
struct TokenBucket {
    let burst: Double
    let perSecond: Double
    private var tokens: Double
    private var checkedAt: UInt64 = 0

    init(burst: Double, perSecond: Double) {
        self.burst = burst
        self.perSecond = perSecond
        tokens = burst
    }

    /// Takes a token at `now` (nanoseconds); false when none is left.
    mutating func take(now: UInt64) -> Bool {
        tokens = min(burst, tokens + Double(now &- checkedAt) / 1e9 * perSecond)
        checkedAt = now
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
