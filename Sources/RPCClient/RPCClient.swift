import Transport
import Wire
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where and how an `RPCClient` connects.
public struct ClientConfiguration: Sendable {
    /// "HOST:PORT" or "[IPV6]:PORT" of the server.
    public var address: String
    public var tls: TLSClientConfiguration
    /// The name the server certificate must carry; defaults to the host of
    /// `address` (an IP address is checked against the certificate's IP SANs).
    public var serverName: String?
    /// Sent in Hello, shown in the server's logs.
    public var clientName: String
    /// For TCP connect, TLS handshake and the server's Hello together.
    public var connectTimeout: Duration

    public init(address: String, tls: TLSClientConfiguration, serverName: String? = nil,
                clientName: String = "adrnorm-swift-client", connectTimeout: Duration = .seconds(10)) {
        self.address = address
        self.tls = tls
        self.serverName = serverName
        self.clientName = clientName
        self.connectTimeout = connectTimeout
    }
}

/// How a client connection ended: the server's GoAway if it sent one, and
/// the error if it was not an orderly close.
public struct ConnectionEnd: Sendable, Equatable {
    /// The server's GoAway: the last stream it will finish, and why.
    public struct GoAway: Sendable, Equatable {
        public let lastStreamID: StreamID
        public let code: StatusCode
        public let message: String
    }
    public let goAway: GoAway?
    public let error: RPCError?

    package init(goAway: GoAway?, error: RPCError?) {
        self.goAway = goAway
        self.error = error
    }
}

/// A client for the adrnorm protocol over mutually authenticated TLS: unary
/// calls, NormalizeStream with credit-respecting sends, deadlines, Ping.
/// One connection; calls may run concurrently and are multiplexed on it.
/// Errors are `RPCError`; a non-OK answer is `.status(code, message)`.
public final class RPCClient: @unchecked Sendable {
    // @unchecked Sendable: every mutable property below is touched only on
    // `queue`, the channel's queue; public methods hop there.
    let queue: DispatchQueue
    private var channel: SecureChannel?
    private let configuration: ClientConfiguration
    /// The protocol: ids, credits, deadlines, GoAway. This class only keeps
    /// what callers wait on and carries out the machine's actions.
    private var state: ClientConnectionState
    private var actions: [ClientConnectionState.Action] = []
    private var helloWaiter: CheckedContinuation<Result<Frame.Hello, RPCError>, Never>?
    /// The caller of the `open` being handled, and the stream it gets.
    private var opening: (method: String, stream: RPCClientStream?, error: RPCError?)?
    fileprivate var streams: [UInt32: RPCClientStream] = [:]
    private var sendWaiters: [ClientConnectionState.SendToken: CheckedContinuation<Result<Void, RPCError>, Never>] = [:]
    private var nextSendToken: ClientConnectionState.SendToken = 0
    private var endWaiters: [CheckedContinuation<ConnectionEnd, Never>] = []
    private var pingWaiters: [CheckedContinuation<Result<[UInt8], RPCError>, Never>] = []
    /// Work for `queue` handed over by callers (`onQueue`), in order.
    private let inbox = Inbox<@Sendable () -> Void>()
    /// The connection's one timer (Hello wait and call deadlines).
    private let timer: DispatchSourceTimer
    private var timerArmedAt: UInt64?
    private var timerCancelled = false

    /// What the server announced in its Hello.
    public var serverHello: Frame.Hello { queue.sync { state.serverHello! } }

    private init(configuration: ClientConfiguration) {
        self.configuration = configuration
        queue = DispatchQueue(label: "adrnorm.rpc.client")
        state = ClientConnectionState(clientName: configuration.clientName)
        timer = DispatchSource.makeTimerSource(queue: queue)
        timer.setEventHandler { [weak self] in self?.timerFired() }
        timer.resume()
    }

    deinit {
        if !timerCancelled { timer.cancel() }
    }

    /// Connects, completes the TLS handshake and the Hello exchange. A
    /// server that rejects the client certificate fails this call.
    public static func connect(_ configuration: ClientConfiguration) async throws(RPCError) -> RPCClient {
        ignoreBrokenPipeSignal()
        let address = try SocketAddress(parsing: configuration.address)
        let context: TLSClientContext
        do { context = try TLSClientContext(client: configuration.tls) } catch { throw .tls(error) }
        let serverName = configuration.serverName ?? address.host
        let client = RPCClient(configuration: configuration)
        let fd: Int32 = try await withCheckedContinuation { (c: CheckedContinuation<Result<Int32, RPCError>, Never>) in
            DispatchQueue.global().async {
                c.resume(returning: Result { () throws(RPCError) in
                    try Socket.connect(to: address, timeout: configuration.connectTimeout)
                })
            }
        }.get()
        let result = await withCheckedContinuation { (c: CheckedContinuation<Result<Frame.Hello, RPCError>, Never>) in
            client.queue.async {
                let session: TLSSession
                do throws(TLSError) {
                    session = try TLSSession(client: context, serverName: serverName)
                } catch {
                    _ = Glibc.close(fd)
                    return c.resume(returning: .failure(.tls(error)))
                }
                // No output limit on the client side: a client that stopped
                // reading because the server is slow to read would deadlock
                // with a server applying back-pressure. Its sends are bounded
                // by credit instead.
                let channel = SecureChannel(fd: fd, tls: session, queue: client.queue,
                                            maxFrameBytes: FrameDecoder.defaultMaxFrameBytes, outputLimit: .max)
                client.channel = channel
                channel.delegate = client
                client.helloWaiter = c
                channel.start(asClient: true)
                let now = RPCClient.now
                client.handle(.started(now: now, helloDeadline: now &+ UInt64(configuration.connectTimeout.saturatingNanoseconds),
                                       helloWait: "TLS handshake and Hello from \(address)"))
            }
        }
        do {
            _ = try result.get()
        } catch {
            throw HandshakeDiagnosis.explain(error, address: configuration.address, serverName: serverName,
                                             tls: configuration.tls)
        }
        return client
    }

    /// One unary call: sends `request`, returns the response payload.
    /// `timeout` becomes the call's `timeout_ms`; the server answers
    /// DEADLINE_EXCEEDED when it runs out.
    public func call(_ method: String, request: [UInt8], timeout: Duration? = nil,
                     metadata: [String: String] = [:]) async throws(RPCError) -> [UInt8] {
        let stream = try await open(method, firstPayload: request, halfClose: true, timeout: timeout,
                                    metadata: metadata)
        guard let response = try await stream.next() else {
            throw .protocolViolation("the server ended \(method) with OK but no response message")
        }
        if let extra = try await stream.next() {
            throw .protocolViolation("the server sent a second response (\(extra.count) bytes) to unary \(method)")
        }
        return response
    }

    /// Opens a stream for `method` (NormalizeStream); send with
    /// `send`/`enqueue`, end with `halfClose`, read with `next`.
    public func openStream(_ method: String, timeout: Duration? = nil,
                           metadata: [String: String] = [:]) async throws(RPCError) -> RPCClientStream {
        try await open(method, firstPayload: nil, halfClose: false, timeout: timeout, metadata: metadata)
    }

    /// Sends a Ping and waits for the Pong carrying the same payload.
    public func ping(_ payload: [UInt8] = []) async throws(RPCError) -> [UInt8] {
        try await withCheckedContinuation { (c: CheckedContinuation<Result<[UInt8], RPCError>, Never>) in
            onQueue { [self] in
                pingWaiters.append(c)
                handle(.ping(payload: payload))
            }
        }.get()
    }

    /// Writes bytes to the connection as they are, without framing: for
    /// protocol conformance tests (bad length prefixes and the like).
    public func sendRaw(_ bytes: [UInt8]) {
        onQueue { [self] in channel?.sendRaw(bytes) }
    }

    /// Stops (or resumes) reading from the connection, so the server's
    /// output backs up: for flow-control tests. A paused client receives
    /// nothing, Credit included.
    public func setReadingPaused(_ paused: Bool) {
        onQueue { [self] in channel?.setReadingPaused(paused) }
    }

    /// Waits until the connection is closed (by the server, or `close()`).
    public func closed() async -> ConnectionEnd {
        await withCheckedContinuation { (c: CheckedContinuation<ConnectionEnd, Never>) in
            onQueue { [self] in
                if let end = state.connectionEnd { c.resume(returning: end) } else { endWaiters.append(c) }
            }
        }
    }

    /// Closes the connection; open calls fail with UNAVAILABLE.
    public func close() {
        onQueue { [self] in handle(.close) }
    }

    // MARK: - Internals

    /// Runs `work` on `queue`, after all work handed over before it. Work
    /// that arrives together (sixteen calls opened at once, say) takes one
    /// hop onto the queue and its frames leave in one write.
    func onQueue(_ work: @escaping @Sendable () -> Void) {
        guard inbox.post(work) else { return }
        queue.async {
            let work = self.inbox.takeAll()
            if let channel = self.channel { channel.batchingSends { for w in work { w() } } } else { for w in work { w() } }
        }
    }

    private static var now: UInt64 { DispatchTime.now().uptimeNanoseconds }

    private func open(_ method: String, firstPayload: [UInt8]?, halfClose: Bool, timeout: Duration?,
                      metadata: [String: String]) async throws(RPCError) -> RPCClientStream {
        try await withCheckedContinuation { (c: CheckedContinuation<Result<RPCClientStream, RPCError>, Never>) in
            onQueue { [self] in
                var milliseconds: UInt32 = 0
                var backstop: (nanoseconds: UInt64, description: String)?
                if let timeout {
                    let nanoseconds = timeout.saturatingNanoseconds
                    milliseconds = UInt32(clamping: max(1, nanoseconds / 1_000_000))
                    // The server enforces the deadline; this is the backstop
                    // for a server that never answers.
                    let (sum, overflow) = UInt64(nanoseconds).addingReportingOverflow(5_000_000_000)
                    backstop = (overflow ? .max : sum, "\(timeout)")
                }
                opening = (method, nil, nil)
                handle(.open(method: method, firstPayload: firstPayload, halfClose: halfClose,
                             timeoutMilliseconds: milliseconds, backstop: backstop, metadata: metadata, now: Self.now))
                let outcome = opening
                opening = nil
                if let stream = outcome?.stream {
                    c.resume(returning: .success(stream))
                } else {
                    c.resume(returning: .failure(outcome?.error ?? .connectionClosed(reason: "the call was not opened")))
                }
            }
        }.get()
    }

    /// Hands `event` to the state machine and carries out its actions.
    fileprivate func handle(_ event: ClientConnectionState.Event) {
        actions.removeAll(keepingCapacity: true)
        state.handle(event, into: &actions)
        if let channel { channel.batchingSends(performActions) } else { performActions() }
    }

    /// Carries out `actions`; frames sent here leave in one write.
    private func performActions() {
        for action in actions {
            switch action {
            case .send(let frame):
                channel?.send(frame)
            case .ready(let hello):
                helloWaiter?.resume(returning: .success(hello))
                helloWaiter = nil
            case .opened(let id):
                if let method = opening?.method {
                    let stream = RPCClientStream(client: self, id: id, method: method)
                    streams[id.rawValue] = stream
                    opening?.stream = stream
                }
            case .openFailed(let error):
                opening?.error = error
            case .sent(let token):
                sendWaiters.removeValue(forKey: token)?.resume(returning: .success(()))
            case .sendFailed(let token, let error):
                sendWaiters.removeValue(forKey: token)?.resume(returning: .failure(error))
            case .deliver(let id, let payload):
                streams[id.rawValue]?.deliver(payload)
            case .streamEnded(let id, let error):
                streams.removeValue(forKey: id.rawValue)?.end(error)
            case .pong(let payload):
                if !pingWaiters.isEmpty { pingWaiters.removeFirst().resume(returning: .success(payload)) }
            case .pingFailed(let error):
                pingWaiters.popLast()?.resume(returning: .failure(error))
            case .closeGracefully:
                channel?.closeGracefully()
            case .closeNow(let error):
                channel?.close(error: error)
            case .wakeUp(let at):
                arm(at)
            case .ended(let ending):
                connectionEnded(ending)
            }
        }
    }

    /// A request for stream `id`; `sent` resumes once it is on its way.
    fileprivate func send(_ id: StreamID, _ payload: [UInt8],
                          _ sent: CheckedContinuation<Result<Void, RPCError>, Never>?) {
        var token: ClientConnectionState.SendToken?
        if let sent {
            token = nextSendToken
            sendWaiters[nextSendToken] = sent
            nextSendToken += 1
        }
        handle(.send(id, payload: payload, token: token))
    }

    private func connectionEnded(_ ending: ConnectionEnd) {
        timerCancelled = true
        timer.cancel()
        let failure = ClientConnectionState.error(for: ending)
        if let helloWaiter {
            self.helloWaiter = nil
            helloWaiter.resume(returning: .failure(ending.error
                ?? .connectionClosed(reason: "closed before the server's Hello")))
        }
        for stream in streams.values { stream.end(failure) }
        streams.removeAll()
        for waiter in pingWaiters { waiter.resume(returning: .failure(failure)) }
        pingWaiters = []
        for waiter in endWaiters { waiter.resume(returning: ending) }
        endWaiters = []
    }

    /// Arms the timer for `at` unless it already goes off earlier.
    private func arm(_ at: UInt64) {
        guard !timerCancelled else { return }
        if let armed = timerArmedAt, armed <= at { return }
        timerArmedAt = at
        timer.schedule(deadline: DispatchTime(uptimeNanoseconds: at), repeating: .never, leeway: .milliseconds(1))
    }

    private func timerFired() {
        timerArmedAt = nil
        handle(.tick(now: Self.now))
    }
}

extension RPCClient: SecureChannelDelegate {
    package func channelDidCompleteHandshake(_ channel: SecureChannel) {
        handle(.handshakeCompleted)
    }

    package func channel(_ channel: SecureChannel, didReceive frame: Frame) {
        handle(.frameReceived(frame))
    }

    package func channel(_ channel: SecureChannel, didFailFraming error: RPCError) {
        handle(.framingFailed(error))
    }

    package func channelDidClose(_ channel: SecureChannel, error: RPCError?) {
        handle(.channelClosed(error))
    }
}

/// One stream of an `RPCClient`. Sends respect the server's credit: a
/// message waits in the client until the stream has credit for it.
///
/// @unchecked Sendable: all state is touched only on the client's queue.
public final class RPCClientStream: @unchecked Sendable {
    public let id: StreamID
    public let method: String
    /// Strong: a stream keeps its connection; the client drops the stream
    /// when it ends, which breaks the cycle.
    private let client: RPCClient
    private var responses: [[UInt8]] = []
    private var responseHead = 0
    private var outcome: Result<Void, RPCError>?
    private var receiver: CheckedContinuation<Result<[UInt8]?, RPCError>, Never>?

    fileprivate init(client: RPCClient, id: StreamID, method: String) {
        self.client = client
        self.id = id
        self.method = method
    }

    /// Sends one request message, waiting for credit if needed.
    public func send(_ payload: [UInt8]) async throws(RPCError) {
        try await withCheckedContinuation { (c: CheckedContinuation<Result<Void, RPCError>, Never>) in
            client.onQueue { [self] in enqueueOnQueue(payload, c) }
        }.get()
    }

    /// Queues request messages without waiting; each goes out when credit allows.
    public func enqueue(_ payloads: [[UInt8]]) {
        client.onQueue { [self] in for p in payloads { enqueueOnQueue(p, nil) } }
    }

    /// No more requests: sent after every queued message.
    public func halfClose() {
        client.onQueue { [self] in client.handle(.halfClose(id)) }
    }

    /// Abandons the stream; the server stops its work and answers CANCELLED.
    public func cancel(reason: String = "") {
        client.onQueue { [self] in
            guard outcome == nil else { return }
            client.handle(.cancel(id, reason: reason))
        }
    }

    /// The next response message; nil when the stream ended with OK. A
    /// non-OK end throws `.status(code, message)` after the messages before it.
    public func next() async throws(RPCError) -> [UInt8]? {
        try await withCheckedContinuation { (c: CheckedContinuation<Result<[UInt8]?, RPCError>, Never>) in
            client.onQueue { [self] in
                precondition(receiver == nil, "two concurrent next() calls on one stream; this is a bug")
                if let value = takeResponse() { c.resume(returning: value) } else { receiver = c }
            }
        }.get()
    }

    // MARK: - On the client's queue

    private func enqueueOnQueue(_ payload: [UInt8], _ c: CheckedContinuation<Result<Void, RPCError>, Never>?) {
        if case .failure(let error)? = outcome { c?.resume(returning: .failure(error)); return }
        if outcome != nil {
            c?.resume(returning: .failure(.protocolViolation("send after the stream was half-closed or ended")))
            return
        }
        client.send(id, payload, c)
    }

    private func takeResponse() -> Result<[UInt8]?, RPCError>? {
        if responseHead < responses.count {
            let value = responses[responseHead]
            responses[responseHead] = []
            responseHead += 1
            if responseHead == responses.count { responses.removeAll(keepingCapacity: true); responseHead = 0 }
            return .success(value)
        }
        switch outcome {
        case .success?: return .success(nil)
        case .failure(let error)?: return .failure(error)
        case nil: return nil
        }
    }

    fileprivate func deliver(_ payload: [UInt8]) {
        guard outcome == nil else { return }
        responses.append(payload)
        wake()
    }

    /// The stream is over (nil error = OK).
    fileprivate func end(_ error: RPCError?) {
        guard outcome == nil else { return }
        outcome = error.map { .failure($0) } ?? .success(())
        wake()
    }

    private func wake() {
        guard let receiver, let value = takeResponse() else { return }
        self.receiver = nil
        receiver.resume(returning: value)
    }
}
