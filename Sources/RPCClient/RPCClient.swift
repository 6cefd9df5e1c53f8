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
    private var helloWaiter: CheckedContinuation<Result<Frame.Hello, RPCError>, Never>?
    private var connectError: RPCError?
    private var hello: Frame.Hello?
    private var nextStreamID: UInt32 = 1
    fileprivate var streams: [UInt32: RPCClientStream] = [:]
    private var goAway: ConnectionEnd.GoAway?
    private var end: ConnectionEnd?
    private var endWaiters: [CheckedContinuation<ConnectionEnd, Never>] = []
    private var pingWaiters: [CheckedContinuation<Result<[UInt8], RPCError>, Never>] = []

    /// What the server announced in its Hello.
    public var serverHello: Frame.Hello { queue.sync { hello! } }

    private init(configuration: ClientConfiguration) {
        self.configuration = configuration
        queue = DispatchQueue(label: "adrnorm.rpc.client")
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
                client.queue.asyncAfter(deadline: .now() + configuration.connectTimeout.dispatchInterval) {
                    if client.helloWaiter != nil {
                        client.channel?.close(error: .timedOut("TLS handshake and Hello from \(address)"))
                    }
                }
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
            queue.async { [self] in
                if let end { return c.resume(returning: .failure(endError(end))) }
                pingWaiters.append(c)
                channel?.send(Frame(streamID: .connection, kind: .ping(payload: payload)))
            }
        }.get()
    }

    /// Writes bytes to the connection as they are, without framing: for
    /// protocol conformance tests (bad length prefixes and the like).
    public func sendRaw(_ bytes: [UInt8]) {
        queue.async { [self] in channel?.sendRaw(bytes) }
    }

    /// Stops (or resumes) reading from the connection, so the server's
    /// output backs up: for flow-control tests. A paused client receives
    /// nothing, Credit included.
    public func setReadingPaused(_ paused: Bool) {
        queue.async { [self] in channel?.setReadingPaused(paused) }
    }

    /// Waits until the connection is closed (by the server, or `close()`).
    public func closed() async -> ConnectionEnd {
        await withCheckedContinuation { (c: CheckedContinuation<ConnectionEnd, Never>) in
            queue.async { [self] in
                if let end { c.resume(returning: end) } else { endWaiters.append(c) }
            }
        }
    }

    /// Closes the connection; open calls fail with UNAVAILABLE.
    public func close() {
        queue.async { [self] in channel?.closeGracefully() }
    }

    // MARK: - Internals

    private func open(_ method: String, firstPayload: [UInt8]?, halfClose: Bool, timeout: Duration?,
                      metadata: [String: String]) async throws(RPCError) -> RPCClientStream {
        try await withCheckedContinuation { (c: CheckedContinuation<Result<RPCClientStream, RPCError>, Never>) in
            queue.async { [self] in
                if let end { return c.resume(returning: .failure(endError(end))) }
                if let goAway {
                    return c.resume(returning: .failure(.status(.unavailable,
                        message: "the server sent GoAway (\(goAway.message)); open a new connection")))
                }
                guard let hello, let channel else { preconditionFailure("RPCClient used before connect; this is a bug") }
                let id = StreamID(nextStreamID)
                nextStreamID += 2
                let stream = RPCClientStream(client: self, id: id, method: method,
                                             credit: firstPayload == nil ? hello.initialStreamCredit
                                                 : max(hello.initialStreamCredit, 1) - 1)
                streams[id.rawValue] = stream
                var milliseconds: UInt32 = 0
                if let timeout {
                    milliseconds = UInt32(clamping: max(1, timeout.saturatingNanoseconds / 1_000_000))
                    // The server enforces the deadline; this is the backstop
                    // for a server that never answers.
                    queue.asyncAfter(deadline: .now() + timeout.dispatchInterval + .seconds(5)) { [weak stream] in
                        stream?.fail(.status(.deadlineExceeded, message: "no answer within \(timeout) (client-side)"))
                    }
                }
                stream.halfCloseSent = halfClose
                channel.send(Frame(streamID: id, kind: .call(.init(method: method, timeoutMilliseconds: milliseconds,
                                                                   metadata: metadata, payload: firstPayload,
                                                                   halfClose: halfClose))))
                c.resume(returning: .success(stream))
            }
        }.get()
    }

    fileprivate func send(_ frame: Frame) {
        channel?.send(frame)
    }

    private func endError(_ end: ConnectionEnd) -> RPCError {
        if let goAway = end.goAway {
            return .status(goAway.code == .ok ? .unavailable : goAway.code,
                           message: "the server closed the connection: \(goAway.message)")
        }
        return end.error ?? .connectionClosed(reason: "the connection is closed")
    }
}

extension RPCClient: SecureChannelDelegate {
    package func channelDidCompleteHandshake(_ channel: SecureChannel) {
        channel.send(Frame(streamID: .connection, kind: .hello(.init(protocolVersion: 1,
                                                                      clientName: configuration.clientName))))
    }

    package func channel(_ channel: SecureChannel, didReceive frame: Frame) {
        switch frame.kind {
        case .hello(let serverHello):
            guard hello == nil else { return }
            hello = serverHello
            helloWaiter?.resume(returning: .success(serverHello))
            helloWaiter = nil
        case .message(let payload):
            streams[frame.streamID.rawValue]?.deliver(payload)
        case .status(let code, let message):
            if let stream = streams.removeValue(forKey: frame.streamID.rawValue) {
                stream.finish(code: code, message: message)
            }
        case .credit(let messages):
            streams[frame.streamID.rawValue]?.addCredit(messages)
        case .ping(let payload):
            channel.send(Frame(streamID: .connection, kind: .pong(payload: payload)))
        case .pong(let payload):
            if !pingWaiters.isEmpty { pingWaiters.removeFirst().resume(returning: .success(payload)) }
        case .goAway(let last, let code, let message):
            goAway = .init(lastStreamID: last, code: code, message: message)
            for (id, stream) in streams where id > last.rawValue {
                streams.removeValue(forKey: id)
                stream.finish(code: .unavailable, message: "not served: the server sent GoAway (\(message))")
            }
        case .call, .halfClose, .cancel:
            channel.close(error: .protocolViolation("the server sent a \(frame.kind.name) frame"))
        }
    }

    package func channel(_ channel: SecureChannel, didFailFraming error: RPCError) {
        channel.close(error: error)
    }

    package func channelDidClose(_ channel: SecureChannel, error: RPCError?) {
        let ending = ConnectionEnd(goAway: goAway, error: error)
        end = ending
        let failure = endError(ending)
        if let helloWaiter {
            self.helloWaiter = nil
            helloWaiter.resume(returning: .failure(error ?? .connectionClosed(reason: "closed before the server's Hello")))
        }
        for stream in streams.values { stream.fail(failure) }
        streams.removeAll()
        for waiter in pingWaiters { waiter.resume(returning: .failure(failure)) }
        pingWaiters = []
        for waiter in endWaiters { waiter.resume(returning: ending) }
        endWaiters = []
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
    private var credit: UInt32
    private var pendingSends: [(payload: [UInt8], sent: CheckedContinuation<Result<Void, RPCError>, Never>?)] = []
    private var pendingHead = 0
    fileprivate var halfCloseSent = false
    private var halfCloseRequested = false
    private var responses: [[UInt8]] = []
    private var responseHead = 0
    private var outcome: Result<Void, RPCError>?
    private var receiver: CheckedContinuation<Result<[UInt8]?, RPCError>, Never>?

    fileprivate init(client: RPCClient, id: StreamID, method: String, credit: UInt32) {
        self.client = client
        self.id = id
        self.method = method
        self.credit = credit
    }

    /// Sends one request message, waiting for credit if needed.
    public func send(_ payload: [UInt8]) async throws(RPCError) {
        try await withCheckedContinuation { (c: CheckedContinuation<Result<Void, RPCError>, Never>) in
            client.queue.async { [self] in enqueueOnQueue(payload, c) }
        }.get()
    }

    /// Queues request messages without waiting; each goes out when credit allows.
    public func enqueue(_ payloads: [[UInt8]]) {
        client.queue.async { [self] in for p in payloads { enqueueOnQueue(p, nil) } }
    }

    /// No more requests: sent after every queued message.
    public func halfClose() {
        client.queue.async { [self] in
            halfCloseRequested = true
            pump()
        }
    }

    /// Abandons the stream; the server stops its work and answers CANCELLED.
    public func cancel(reason: String = "") {
        client.queue.async { [self] in
            guard outcome == nil else { return }
            client.send(Frame(streamID: id, kind: .cancel(reason: reason)))
        }
    }

    /// The next response message; nil when the stream ended with OK. A
    /// non-OK end throws `.status(code, message)` after the messages before it.
    public func next() async throws(RPCError) -> [UInt8]? {
        try await withCheckedContinuation { (c: CheckedContinuation<Result<[UInt8]?, RPCError>, Never>) in
            client.queue.async { [self] in
                precondition(receiver == nil, "two concurrent next() calls on one stream; this is a bug")
                if let value = takeResponse() { c.resume(returning: value) } else { receiver = c }
            }
        }.get()
    }

    // MARK: - On the client's queue

    private func enqueueOnQueue(_ payload: [UInt8], _ c: CheckedContinuation<Result<Void, RPCError>, Never>?) {
        if case .failure(let error)? = outcome { c?.resume(returning: .failure(error)); return }
        if outcome != nil || halfCloseRequested {
            c?.resume(returning: .failure(.protocolViolation("send after the stream was half-closed or ended")))
            return
        }
        pendingSends.append((payload, c))
        pump()
    }

    private func pump() {
        while pendingHead < pendingSends.count && credit > 0 && outcome == nil {
            let (payload, c) = pendingSends[pendingHead]
            pendingSends[pendingHead].payload = []
            pendingHead += 1
            credit -= 1
            client.send(Frame(streamID: id, kind: .message(payload: payload)))
            c?.resume(returning: .success(()))
        }
        if pendingHead == pendingSends.count { pendingSends.removeAll(); pendingHead = 0 }
        if halfCloseRequested && !halfCloseSent && pendingSends.isEmpty && outcome == nil {
            halfCloseSent = true
            client.send(Frame(streamID: id, kind: .halfClose))
        }
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

    fileprivate func addCredit(_ messages: UInt32) {
        credit += messages
        pump()
    }

    fileprivate func finish(code: StatusCode, message: String) {
        fail(code == .ok ? nil : .status(code, message: message))
    }

    /// Ends the stream locally (nil error = OK).
    fileprivate func fail(_ error: RPCError?) {
        guard outcome == nil else { return }
        outcome = error.map { .failure($0) } ?? .success(())
        client.streams.removeValue(forKey: id.rawValue)
        for (_, c) in pendingSends[pendingHead...] {
            c?.resume(returning: .failure(error ?? .protocolViolation("the stream ended before this message was sent")))
        }
        pendingSends = []
        pendingHead = 0
        wake()
    }

    private func wake() {
        guard let receiver, let value = takeResponse() else { return }
        self.receiver = nil
        receiver.resume(returning: value)
    }
}
