import Transport
import Wire
import Cancellation
import Foundation
import Logging

/// The identities a server admits; a reload swaps the set (new handshakes
/// see the new one). Thread-safe.
final class Allowlist: @unchecked Sendable {
    private let lock = NSLock()
    private var current: Set<String>

    init(_ names: Set<String>) { current = names }

    var names: Set<String> { lock.withLock { current } }

    func replace(_ names: Set<String>) { lock.withLock { current = names } }
}

/// What every connection of one server shares (read-only after start,
/// but for the allowlist, which a reload replaces).
struct ServerEnvironment: Sendable {
    let configuration: ServerConfiguration
    let service: any NormalizerService
    let logger: Logger
    /// Client identities allowed to call (empty: any verified client);
    /// replaced by a reload, read at each handshake.
    let allowlist: Allowlist
    /// Request bytes held and output unsent, over all connections.
    let requestBudget: ByteBudget
    let outputBudget: ByteBudget
    /// Connection log lines of notice and above, rate-limited per message.
    let logLimiter: LogRateLimiter
    /// Told of every connection and call (metrics, audit log); nil: none.
    var observer: (any ServerObserver)? = nil
}

/// The server's side of one client connection: drives a
/// `ServerConnectionState` (the protocol of docs/PROTOCOL.md) with the
/// frames of a `SecureChannel` and one timer, and carries out its actions.
///
/// @unchecked Sendable: all mutable state lives on `queue` (the channel's
/// queue); each call runs in a task of its own, which hands its result back
/// with `queue.async`.
final class ServerConnection: SecureChannelDelegate, @unchecked Sendable {
    let id: Int
    let queue: DispatchQueue
    private let channel: SecureChannel
    private let environment: ServerEnvironment
    private let onClose: @Sendable (Int) -> Void
    private var logger: Logger
    private var state: ServerConnectionState
    /// Reused for every event's actions.
    private var actions: [ServerConnectionState.Action] = []
    /// The connection's one timer, armed for the machine's next wake-up.
    private let timer: DispatchSourceTimer
    private var timerArmedAt: UInt64?
    private var timerCancelled = false
    private let opened = DispatchTime.now()
    /// Time zero of the machine's nanoseconds (`ContinuousClock`, the clock
    /// of `CallContext.deadline`).
    private let epoch = ContinuousClock.now

    /// Service results not yet handed to the machine, filled from the calls'
    /// tasks: results that finish together cost one hop onto `queue` and
    /// leave in one write, not one each.
    private let completions = Inbox<ServerConnectionState.Event>()

    /// Asked when TLS is up (id, allowed): nil admits the connection, a
    /// message refuses it (the server's connection budget is full).
    private let onHandshake: @Sendable (Int, Bool) -> String?

    /// Calls whose status has not gone out yet, for `environment.observer`.
    private struct OpenCall {
        let method: String
        let started: ContinuousClock.Instant
        var record: CallRecord?
    }
    private var openCalls: [StreamID: OpenCall] = [:]
    private var peerName: String?
    private var peerAllowed = false

    init(id: Int, fd: Int32, tls: TLSSession, environment: ServerEnvironment,
         onHandshake: @escaping @Sendable (Int, Bool) -> String?,
         onClose: @escaping @Sendable (Int) -> Void) {
        self.id = id
        self.environment = environment
        self.onHandshake = onHandshake
        self.onClose = onClose
        queue = DispatchQueue(label: "adrnorm.rpc.connection.\(id)")
        channel = SecureChannel(fd: fd, tls: tls, queue: queue, maxFrameBytes: environment.configuration.maxFrameBytes,
                                outputLimit: environment.configuration.outputBufferLimit,
                                outputBudget: environment.outputBudget)
        logger = environment.logger
        logger[metadataKey: "connection"] = "\(id)"
        state = ServerConnectionState(settings: .init(environment.configuration, requestBudget: environment.requestBudget),
                                      epoch: epoch)
        timer = DispatchSource.makeTimerSource(queue: queue)
        channel.delegate = self
        timer.setEventHandler { [weak self] in self?.timerFired() }
        timer.resume()
    }

    deinit {
        if !timerCancelled { timer.cancel() }
    }

    /// Starts the handshake clock and the socket sources.
    func start() {
        queue.async { [self] in
            channel.start(asClient: false)
            handle(.started(now: now))
        }
    }

    /// Graceful shutdown: GoAway now, finish the accepted streams, refuse
    /// new ones with UNAVAILABLE, close when the last one ends.
    func beginDrain() {
        queue.async { [self] in handle(.drainRequested) }
    }

    /// Drain timeout: stop everything now.
    func forceClose() {
        queue.async { [self] in handle(.forceClose) }
    }

    /// Now, in the machine's nanoseconds.
    private var now: UInt64 { nanoseconds(since: epoch, ContinuousClock.now) }

    private func nanoseconds(since start: ContinuousClock.Instant, _ instant: ContinuousClock.Instant) -> UInt64 {
        UInt64(clamping: (instant - start).saturatingNanoseconds)
    }

    // MARK: - Driving the state machine

    /// `current`: the time the event carries, when it carries one (one
    /// clock read per event, not two).
    private func handle(_ event: ServerConnectionState.Event, at current: UInt64? = nil) {
        actions.removeAll(keepingCapacity: true)
        if let observer = environment.observer, case .frameReceived(let frame, _) = event,
           case .call(let call) = frame.kind, frame.streamID != .connection, openCalls[frame.streamID] == nil {
            openCalls[frame.streamID] = OpenCall(method: call.method, started: .now)
            observer.callStarted(connection: id, method: call.method)
        }
        let current = current ?? now
        let output = ServerConnectionState.OutputState(
            now: current, pendingBytes: channel.pendingOutputBytes, totalPendingBytes: environment.outputBudget.inUse,
            lastProgress: current &- min(age(of: channel.lastOutputProgress), current))
        state.handle(event, output: output, into: &actions)
        channel.batchingSends(performActions)
    }

    /// Carries out `actions`; frames sent here leave in one write.
    private func performActions() {
        for action in actions {
            switch action {
            case .send(let frame):
                channel.send(frame)
                if case .status(let code, _) = frame.kind { callFinished(frame.streamID, status: code) }
            case .startUnary(let id, let method, let payload, let context):
                openCalls[id]?.record = context.record
                invokeService(id, method: method, payload: payload, context: context)
            case .startItem(let id, let sequence, let payload, let context):
                openCalls[id]?.record = context.record
                invokeService(id, item: sequence, payload: payload, context: context)
            case .cancelWork(let token):
                token.cancel()
            case .closeGracefully:
                channel.closeGracefully()
            case .closeNow(let error):
                channel.close(error: error)
            case .log(let level, let message, let metadata):
                log(level, message, metadata)
            case .wakeUp(let at):
                arm(at)
            }
        }
    }

    /// Tells the observer that the call on `stream` ended with `status`.
    private func callFinished(_ stream: StreamID, status: StatusCode) {
        guard let observer = environment.observer, let call = openCalls.removeValue(forKey: stream) else { return }
        observer.callFinished(CallSummary(time: Date(), connection: id, stream: stream.rawValue, identity: peerName,
                                          method: call.method, status: status, latency: .now - call.started,
                                          work: call.record?.snapshot ?? CallRecord.Snapshot()))
    }

    /// Runs a service call in a task of its own and hands the result back
    /// to the machine. `item` is the NormalizeStream sequence number, nil
    /// for a unary call.
    private func invokeService(_ id: StreamID, method: NormalizerMethod = .normalizeStream, item: Int? = nil,
                               payload: [UInt8], context: CallContext) {
        let service = environment.service
        if let item {
            Task { [self] in
                let (requestID, response) = await NormalizerMethod.serveStreamItem(payload, service: service,
                                                                                   context: context)
                complete(.itemCompleted(id, sequence: item, requestID: requestID, response: response))
            }
            return
        }
        Task { [self] in
            let result = await method.serveUnary(payload, service: service, context: context)
            complete(.unaryCompleted(id, result))
        }
    }

    /// Queues a call's result for the machine; the first one of a batch
    /// schedules the hop onto `queue`.
    private func complete(_ event: ServerConnectionState.Event) {
        guard completions.post(event) else { return }
        queue.async {
            let events = self.completions.takeAll()
            self.channel.batchingSends { for event in events { self.handle(event) } }
        }
    }

    /// Arms the timer for `at` unless it already goes off earlier: a tick
    /// that comes early costs one call of `handle`, re-arming costs more.
    private func arm(_ at: UInt64) {
        guard !timerCancelled else { return }
        if let armed = timerArmedAt, armed <= at { return }
        timerArmedAt = at
        let current = now
        timer.schedule(deadline: .now() + .nanoseconds(Int(clamping: at > current ? at - current : 0)),
                       repeating: .never, leeway: .milliseconds(1))
    }

    private func timerFired() {
        timerArmedAt = nil
        // A readiness event the event loop missed (seen after floods of
        // resets) must not leave the connection waiting: look at the socket.
        channel.pollInput()
        guard !channel.isClosed else { return }
        let current = now
        // The channel keeps its last input on DispatchTime's clock: carry
        // the age of it over to the machine's.
        handle(.tick(now: current, lastInput: current &- min(age(of: channel.lastActivity), current)), at: current)
    }

    /// Nanoseconds since `time` on DispatchTime's clock.
    private func age(of time: DispatchTime) -> UInt64 {
        DispatchTime.now().uptimeNanoseconds &- time.uptimeNanoseconds
    }

    /// Logs a line; lines of notice and above go through the server's rate
    /// limiter, so a flood of bad connections cannot flood the log.
    private func log(_ level: Logger.Level, _ message: String, _ metadata: Logger.Metadata) {
        guard level >= .notice else {
            return logger.log(level: level, "\(message)", metadata: metadata.isEmpty ? nil : metadata)
        }
        guard let suppressed = environment.logLimiter.admit(message) else { return }
        var metadata = metadata
        if suppressed > 0 { metadata["suppressed_since_last"] = "\(suppressed)" }
        logger.log(level: level, "\(message)", metadata: metadata.isEmpty ? nil : metadata)
    }

    // MARK: - SecureChannelDelegate

    package func channelDidCompleteHandshake(_ channel: SecureChannel) {
        let peer = channel.tls.peerIdentity
        let allowlist = environment.allowlist.names
        let allowed = allowlist.isEmpty || (peer?.allNames.contains { allowlist.contains($0) } ?? false)
        logger[metadataKey: "peer"] = "\(peer?.name ?? "(no client certificate)")"
        peerName = peer?.name
        peerAllowed = allowed
        environment.observer?.connectionOpened(ConnectionEvent(connection: id, identity: peer?.name, allowed: allowed))
        logger.info("connection open", metadata: [
            "tls": "\(channel.tls.protocolVersion)", "alpn": "\(channel.tls.negotiatedProtocol ?? "none")",
            "allowed": "\(allowed)",
        ])
        if !allowed {
            log(.warning, "client identity is not on the allowlist; its first call gets PERMISSION_DENIED, then GoAway",
                ["names": "\(peer?.allNames ?? [])"])
        }
        handle(.handshakeCompleted(peer: peer, allowed: allowed, refusal: onHandshake(id, allowed), now: now))
    }

    package func channel(_ channel: SecureChannel, didReceive frame: Frame) {
        let current = now
        handle(.frameReceived(frame, now: current), at: current)
    }

    package func channel(_ channel: SecureChannel, didFailFraming error: RPCError) {
        handle(.framingFailed(error))
    }

    package func channelDidDrainOutput(_ channel: SecureChannel) {
        handle(.outputDrained)
    }

    package func channelDidClose(_ channel: SecureChannel, error: RPCError?) {
        handle(.channelClosed)
        timerCancelled = true
        timer.cancel()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - opened.uptimeNanoseconds) / 1e9
        // Calls the connection took down with it: their status never went out.
        for stream in openCalls.keys.sorted() { callFinished(stream, status: .cancelled) }
        if !channel.tls.handshakeComplete {
            environment.observer?.handshakeFailed(HandshakeFailure(
                connection: id, reason: HandshakeFailure.reason(for: error),
                detail: error.map { "\($0)" } ?? "closed before the handshake completed"))
        } else {
            environment.observer?.connectionClosed(ConnectionEvent(
                connection: id, identity: peerName, allowed: peerAllowed, reason: error.map { "\($0)" } ?? "orderly",
                calls: state.callsServed, seconds: seconds))
        }
        if let error, !channel.tls.handshakeComplete {
            log(.notice, "connection refused at the handshake", ["reason": "\(error)"])
        } else {
            logger.info("connection closed", metadata: [
                "reason": "\(error.map { "\($0)" } ?? "orderly")", "calls": "\(state.callsServed)",
                "seconds": "\(String(format: "%.3f", seconds))",
            ])
        }
        onClose(id)
    }
}
