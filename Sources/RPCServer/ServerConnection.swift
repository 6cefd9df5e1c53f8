import Transport
import Wire
import Cancellation
import Foundation
import Logging

/// What every connection of one server shares (read-only after start).
struct ServerEnvironment: Sendable {
    let configuration: ServerConfiguration
    let service: any NormalizerService
    let logger: Logger
    let allowlist: Set<String>
}

/// The server's side of one client connection: the Hello exchange, the
/// stream table, credits, deadlines, Cancel, Ping, GoAway and drain. Runs the
/// protocol of docs/PROTOCOL.md over a `SecureChannel`.
///
/// @unchecked Sendable: all mutable state lives on `queue` (the channel's
/// queue); each call runs in a task of its own, which hands its result back
/// with `queue.async`.
final class ServerConnection: SecureChannelDelegate, @unchecked Sendable {
    /// One open stream.
    private final class Stream {
        let id: StreamID
        let method: NormalizerMethod
        let context: CallContext
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
        var deadlineTimer: DispatchWorkItem?

        init(id: StreamID, method: NormalizerMethod, context: CallContext, credit: UInt32) {
            self.id = id; self.method = method; self.context = context; self.credit = credit
        }
    }

    let id: Int
    let queue: DispatchQueue
    private let channel: SecureChannel
    private let environment: ServerEnvironment
    private let onClose: @Sendable (Int) -> Void
    private var logger: Logger
    private var peer: PeerIdentity?
    private var allowed = false
    private var helloReceived = false
    private var streams: [UInt32: Stream] = [:]
    private var lastStreamID: UInt32 = 0
    private var draining = false
    private var goAwaySent = false
    private let opened = DispatchTime.now()
    private var callsServed = 0

    private var configuration: ServerConfiguration { environment.configuration }

    init(id: Int, fd: Int32, tls: TLSSession, environment: ServerEnvironment,
         onClose: @escaping @Sendable (Int) -> Void) {
        self.id = id
        self.environment = environment
        self.onClose = onClose
        queue = DispatchQueue(label: "adrnorm.rpc.connection.\(id)")
        channel = SecureChannel(fd: fd, tls: tls, queue: queue, maxFrameBytes: environment.configuration.maxFrameBytes,
                                outputLimit: environment.configuration.outputBufferLimit)
        logger = environment.logger
        logger[metadataKey: "connection"] = "\(id)"
        channel.delegate = self
    }

    /// Starts the handshake clock and the socket sources.
    func start() {
        queue.async { [self] in
            channel.start(asClient: false)
            queue.asyncAfter(deadline: .now() + configuration.handshakeTimeout.dispatchInterval) { [weak self] in
                guard let self, !self.channel.isClosed, !self.channel.tls.handshakeComplete else { return }
                self.logger.notice("closing connection: no TLS handshake within \(self.configuration.handshakeTimeout)")
                self.channel.close(error: .timedOut("TLS handshake"))
            }
        }
    }

    /// Graceful shutdown: GoAway now, finish the accepted streams, refuse
    /// new ones with UNAVAILABLE, close when the last one ends.
    func beginDrain() {
        queue.async { [self] in
            guard !draining, !channel.isClosed else { return }
            draining = true
            guard channel.isOpen else { channel.close(error: nil); return }
            sendGoAway(.unavailable, "server shutting down; streams up to \(lastStreamID) will be finished")
            if streams.isEmpty { channel.closeGracefully() }
        }
    }

    /// Drain timeout: stop everything now.
    func forceClose() {
        queue.async { [self] in
            cancelAllStreams()
            channel.close(error: nil)
        }
    }

    // MARK: - SecureChannelDelegate

    package func channelDidCompleteHandshake(_ channel: SecureChannel) {
        peer = channel.tls.peerIdentity
        allowed = environment.allowlist.isEmpty || (peer?.allNames.contains { environment.allowlist.contains($0) } ?? false)
        logger[metadataKey: "peer"] = "\(peer?.name ?? "(no client certificate)")"
        logger.info("connection open", metadata: [
            "tls": "\(channel.tls.protocolVersion)", "alpn": "\(channel.tls.negotiatedProtocol ?? "none")",
            "allowed": "\(allowed)",
        ])
        if !allowed {
            logger.warning("client identity is not on the allowlist; every call will get PERMISSION_DENIED",
                           metadata: ["names": "\(peer?.allNames ?? [])"])
        }
        channel.send(Frame(streamID: .connection, kind: .hello(.init(
            protocolVersion: 1, serverName: configuration.serverName, maxFrameBytes: configuration.maxFrameBytes,
            maxConcurrentStreams: configuration.maxConcurrentStreams,
            initialStreamCredit: configuration.initialStreamCredit))))
        if draining { beginDrainNow() }
        scheduleIdleCheck()
    }

    package func channel(_ channel: SecureChannel, didReceive frame: Frame) {
        if case .hello(let hello) = frame.kind {
            guard !helloReceived else { return connectionError("a second Hello on the connection") }
            guard hello.protocolVersion == 1 else {
                return connectionError("protocol version \(hello.protocolVersion) is not supported; this server speaks 1",
                                       code: .unimplemented)
            }
            helloReceived = true
            if !hello.clientName.isEmpty { logger.debug("client hello", metadata: ["client": "\(hello.clientName)"]) }
            return
        }
        guard helloReceived else { return connectionError("the first frame must be Hello, got \(frame.kind.name)") }
        switch frame.kind {
        case .hello:
            break
        case .call(let call):
            openStream(frame.streamID, call)
        case .message(let payload):
            guard let stream = existingStream(frame.streamID) else { return }
            receive(payload, on: stream)
        case .halfClose:
            guard let stream = existingStream(frame.streamID) else { return }
            halfClose(stream)
        case .cancel(let reason):
            guard let stream = existingStream(frame.streamID) else { return }
            finish(stream, .cancelled, reason.isEmpty ? "cancelled by the client" : "cancelled by the client: \(reason)")
        case .ping(let payload):
            channel.send(Frame(streamID: .connection, kind: .pong(payload: payload)))
        case .pong:
            break
        case .goAway:
            // The client is leaving; its open streams still get answers.
            break
        case .credit, .status:
            connectionError("\(frame.kind.name) frames are sent by the server only")
        }
    }

    package func channel(_ channel: SecureChannel, didFailFraming error: RPCError) {
        connectionError(error.description, code: error.statusCode)
    }

    package func channelDidClose(_ channel: SecureChannel, error: RPCError?) {
        cancelAllStreams()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - opened.uptimeNanoseconds) / 1e9
        if let error, !channel.tls.handshakeComplete {
            logger.notice("connection refused at the handshake", metadata: ["reason": "\(error)"])
        } else {
            logger.info("connection closed", metadata: [
                "reason": "\(error.map { "\($0)" } ?? "orderly")", "calls": "\(callsServed)",
                "seconds": "\(String(format: "%.3f", seconds))",
            ])
        }
        onClose(id)
    }

    // MARK: - Streams

    private func existingStream(_ id: StreamID) -> Stream? {
        if let stream = streams[id.rawValue] { return stream }
        // Frames for a stream that already ended (deadline, error) are
        // harmless races; ones for a stream never opened are a violation.
        if id.rawValue > lastStreamID || id == .connection {
            connectionError("a frame for \(id), which was never opened")
        }
        return nil
    }

    private func openStream(_ id: StreamID, _ call: Frame.Call) {
        guard id.rawValue > lastStreamID else {
            return connectionError("\(id) is not above the last stream id \(lastStreamID); ids must increase")
        }
        lastStreamID = id.rawValue
        callsServed += 1
        func refuse(_ code: StatusCode, _ message: String) {
            channel.send(Frame(streamID: id, kind: .status(code: code, message: message)))
        }
        if draining || goAwaySent {
            return refuse(.unavailable, "server is shutting down; open the call on a new connection")
        }
        guard allowed else {
            return refuse(.permissionDenied,
                          "client identity \"\(peer?.name ?? "none")\" is not on this server's allowlist")
        }
        guard let method = NormalizerMethod(rawValue: call.method) else {
            return refuse(.unimplemented, "unknown method \"\(Self.truncated(call.method))\"; this server serves "
                          + NormalizerMethod.allCases.map(\.rawValue).joined(separator: ", "))
        }
        guard streams.count < Int(configuration.maxConcurrentStreams) else {
            return refuse(.resourceExhausted, "\(streams.count) streams are already open on this connection "
                          + "(limit \(configuration.maxConcurrentStreams)); wait for one to finish")
        }
        let timeout = Duration.milliseconds(Int64(call.timeoutMilliseconds))
        let context = CallContext(method: call.method, streamID: id, peer: peer, metadata: call.metadata,
                                  deadline: call.timeoutMilliseconds > 0 ? ContinuousClock.now + timeout : nil,
                                  cancellation: CancellationToken())
        let stream = Stream(id: id, method: method, context: context, credit: configuration.initialStreamCredit)
        streams[id.rawValue] = stream
        if call.timeoutMilliseconds > 0 {
            let timer = DispatchWorkItem { [weak self] in
                guard let self, let stream = self.streams[id.rawValue] else { return }
                self.finish(stream, .deadlineExceeded, "deadline of \(call.timeoutMilliseconds) ms exceeded")
            }
            stream.deadlineTimer = timer
            queue.asyncAfter(deadline: .now() + timeout.dispatchInterval, execute: timer)
        }
        if let payload = call.payload { receive(payload, on: stream) }
        if call.halfClose, streams[id.rawValue] != nil { halfClose(stream) }
    }

    private func receive(_ payload: [UInt8], on stream: Stream) {
        guard !stream.halfClosed else {
            return finish(stream, .invalidArgument, "a request message after half-close on \(stream.id)")
        }
        guard stream.credit > 0 else {
            return finish(stream, .resourceExhausted, "the client sent more messages than its credit on \(stream.id) "
                          + "(initial credit \(configuration.initialStreamCredit)); wait for Credit frames")
        }
        stream.credit -= 1
        if stream.method.isStreaming {
            dispatchItem(payload, on: stream)
        } else if stream.unaryPayload != nil {
            finish(stream, .invalidArgument, "\(stream.method.rawValue) is unary: it takes exactly one request message")
        } else {
            stream.unaryPayload = payload
        }
    }

    private func halfClose(_ stream: Stream) {
        // A repeated HalfClose says nothing new (docs/PROTOCOL.md §Unary
        // methods): the call already in progress still delivers its result.
        guard !stream.halfClosed else { return }
        stream.halfClosed = true
        if stream.method.isStreaming {
            finishStreamIfDone(stream)
            return
        }
        guard let payload = stream.unaryPayload, !stream.unaryDispatched else {
            return finish(stream, .invalidArgument, "\(stream.method.rawValue) was half-closed without a request message")
        }
        stream.unaryDispatched = true
        let method = stream.method, context = stream.context, service = environment.service, id = stream.id
        Task { [self] in
            let result = await method.serveUnary(payload, service: service, context: context)
            queue.async { self.completeUnary(id, result) }
        }
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

    private func completeUnary(_ id: StreamID, _ result: Result<[UInt8], ServiceError>) {
        guard let stream = streams[id.rawValue] else { return } // deadline or cancel answered it
        switch result {
        case .success(let bytes) where !fitsInFrame(bytes):
            finish(stream, .resourceExhausted, "the response (\(bytes.count) bytes) exceeds the frame limit of "
                   + "\(configuration.maxFrameBytes) bytes; ask for fewer results")
        case .success(let bytes):
            channel.send(Frame(streamID: id, kind: .message(payload: bytes)))
            finish(stream, .ok, "")
        case .failure(let error):
            finish(stream, error.code, error.message)
        }
    }

    private func dispatchItem(_ payload: [UInt8], on stream: Stream) {
        let sequence = stream.nextSequence
        stream.nextSequence += 1
        stream.inFlight += 1
        let context = stream.context, service = environment.service, id = stream.id
        Task { [self] in
            let response = await NormalizerMethod.serveStreamItem(payload, service: service, context: context)
            queue.async { self.completeItem(id, sequence, response) }
        }
    }

    /// Whether a payload fits a frame the client will accept (the same
    /// limit as ours; 64 bytes spare for the frame's own fields).
    private func fitsInFrame(_ payload: [UInt8]) -> Bool {
        payload.count + 64 <= Int(configuration.maxFrameBytes)
    }

    private func completeItem(_ id: StreamID, _ sequence: Int, _ response: [UInt8]) {
        guard let stream = streams[id.rawValue] else { return }
        var response = response
        if !fitsInFrame(response) {
            let requestID = (try? AdrnormV1.NormalizeResponse(serializedBytes: response))?.id ?? ""
            response = AdrnormV1.NormalizeResponse(id: requestID, error: .init(
                code: .resourceExhausted, message: "the response (\(response.count) bytes) exceeds the frame limit; "
                + "ask for fewer results")).serializedBytes()
        }
        stream.inFlight -= 1
        stream.finished[sequence] = response
        while let next = stream.finished.removeValue(forKey: stream.nextToSend) {
            channel.send(Frame(streamID: id, kind: .message(payload: next)))
            stream.nextToSend += 1
            stream.creditOwed += 1
        }
        // Credit goes back as items are consumed, in batches, but never
        // held back while the client might be waiting for it.
        if !stream.halfClosed && stream.creditOwed > 0
            && (stream.creditOwed >= max(1, configuration.initialStreamCredit / 4) || stream.inFlight == 0) {
            stream.credit += stream.creditOwed
            channel.send(Frame(streamID: id, kind: .credit(messages: stream.creditOwed)))
            stream.creditOwed = 0
        }
        finishStreamIfDone(stream)
    }

    private func finishStreamIfDone(_ stream: Stream) {
        if stream.halfClosed && stream.inFlight == 0 && stream.finished.isEmpty {
            finish(stream, .ok, "")
        }
    }

    /// Ends a stream with its Status frame.
    private func finish(_ stream: Stream, _ code: StatusCode, _ message: String) {
        guard streams.removeValue(forKey: stream.id.rawValue) != nil else { return }
        stream.deadlineTimer?.cancel()
        if code != .ok { stream.context.cancellation.cancel() }
        channel.send(Frame(streamID: stream.id, kind: .status(code: code, message: message)))
        if (draining || goAwaySent) && streams.isEmpty { channel.closeGracefully() }
    }

    private func cancelAllStreams() {
        for stream in streams.values {
            stream.deadlineTimer?.cancel()
            stream.context.cancellation.cancel()
        }
        streams.removeAll()
    }

    // MARK: - Connection-level

    private func sendGoAway(_ code: StatusCode, _ message: String) {
        guard !goAwaySent else { return }
        goAwaySent = true
        channel.send(Frame(streamID: .connection,
                           kind: .goAway(lastStreamID: StreamID(lastStreamID), code: code, message: message)))
    }

    private func beginDrainNow() {
        sendGoAway(.unavailable, "server shutting down; streams up to \(lastStreamID) will be finished")
        if streams.isEmpty { channel.closeGracefully() }
    }

    /// A protocol violation: GoAway with the reason, then close; open
    /// streams are abandoned.
    private func connectionError(_ message: String, code: StatusCode = .invalidArgument) {
        logger.notice("protocol error; closing the connection", metadata: ["reason": "\(message)"])
        cancelAllStreams()
        goAwaySent = false
        sendGoAway(code, message)
        channel.closeGracefully()
    }

    private func scheduleIdleCheck() {
        guard let idle = configuration.idleTimeout else { return }
        queue.asyncAfter(deadline: .now() + idle.dispatchInterval) { [weak self] in
            guard let self, self.channel.isOpen else { return }
            let quietFor = DispatchTime.now().uptimeNanoseconds - self.channel.lastActivity.uptimeNanoseconds
            let limit = UInt64(idle.saturatingNanoseconds)
            if self.streams.isEmpty && quietFor >= limit {
                self.logger.info("closing idle connection")
                self.sendGoAway(.unavailable, "idle for \(idle); reconnect when needed")
                self.channel.closeGracefully()
            } else {
                self.scheduleIdleCheck()
            }
        }
    }
}
