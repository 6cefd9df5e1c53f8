import Foundation
import Logging
import Transport
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// The `--metrics-listen` endpoint: `GET /metrics` over plain HTTP/1.1 on
/// Transport's sockets, one request per connection (`Connection: close`).
/// Anything else is 404 (another path), 405 (another method), 400 (not
/// HTTP) or 431 (a request head over `Limits.maxRequestHeadBytes`).
///
/// Whatever a scraper does, it costs the RPC server nothing it needs: the
/// endpoint has its own socket and its own serial queue, holds at most
/// `Limits.maxConnections` connections (a new one closes the oldest), reads
/// at most `maxRequestHeadBytes` of each, and closes one that has not sent
/// its request and read its answer within `Limits.timeout`.
public final class MetricsHTTPServer: @unchecked Sendable {
    public struct Limits: Sendable {
        /// Connections held at once; a new one closes the oldest.
        public var maxConnections = 16
        /// The most bytes of request line and headers read.
        public var maxRequestHeadBytes = 8 << 10
        /// From accept to the last byte of the response.
        public var timeout: Duration = .seconds(5)

        public init(maxConnections: Int = 16, maxRequestHeadBytes: Int = 8 << 10, timeout: Duration = .seconds(5)) {
            self.maxConnections = maxConnections
            self.maxRequestHeadBytes = maxRequestHeadBytes
            self.timeout = timeout
        }
    }

    // @unchecked Sendable: mutable state below is touched only on `queue`.
    private let queue = DispatchQueue(label: "adrnorm.metrics")
    private let address: SocketAddress
    private let limits: Limits
    private let body: @Sendable () -> [UInt8]
    private let logger: Logger
    private var acceptSource: DispatchSourceRead?
    private var connections: [Int: Connection] = [:]
    /// Open connections, oldest first.
    private var order: [Int] = []
    private var nextID = 1
    private var boundPort: UInt16 = 0
    private var evictions = 0
    /// Accepting is paused after a failed accept (see `acceptPending`).
    private var acceptPaused = false
    /// How long a failed accept pauses the listener.
    static let acceptPause: Duration = .seconds(1)

    /// `body` makes the exposition for each `GET /metrics` (on this server's queue).
    public init(listen: String, limits: Limits = Limits(), logger: Logger = Logger(label: "adrnorm.metrics"),
                body: @escaping @Sendable () -> [UInt8]) throws(RPCError) {
        address = try SocketAddress(parsing: listen)
        self.limits = limits
        self.logger = logger
        self.body = body
    }

    /// Binds and listens.
    public func start() throws(RPCError) {
        let (fd, port) = try Socket.listen(on: address, backlog: 64)
        queue.sync {
            boundPort = port
            let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
            source.setEventHandler { [weak self] in self?.acceptPending(fd) }
            source.setCancelHandler { _ = Glibc.close(fd) }
            acceptSource = source
            source.resume()
        }
    }

    /// The bound port (the kernel's choice for port 0).
    public var port: Int { queue.sync { Int(boundPort) } }

    /// Connections held now.
    public var connectionCount: Int { queue.sync { connections.count } }

    /// Stops listening and closes every connection.
    public func stop() {
        queue.sync {
            // A suspended source must be resumed before it is cancelled.
            if acceptPaused { acceptSource?.resume(); acceptPaused = false }
            acceptSource?.cancel()
            acceptSource = nil
            for id in order { connections[id]?.close() }
        }
    }

    private func acceptPending(_ listener: Int32) {
        for _ in 0..<64 {
            let accepted: IOResult<Int32>
            do {
                accepted = try Socket.accept(listener)
            } catch {
                // EMFILE and the like: the level-triggered source would fire
                // again at once (a busy loop and a line per try). Pause the
                // listener instead; scrapers wait in the backlog meanwhile.
                // At most one line per pause.
                logger.warning("metrics endpoint: accept failed: \(error); pausing accepts for \(Self.acceptPause)")
                return pauseAccepting()
            }
            guard case .processed(let fd) = accepted else { return }
            if order.count >= limits.maxConnections, let oldest = order.first {
                evictions += 1
                connections[oldest]?.close()
            }
            let id = nextID
            nextID += 1
            let connection = Connection(fd: fd, queue: queue, limits: limits, body: body) { [weak self] in
                self?.closed(id)
            }
            connections[id] = connection
            order.append(id)
            connection.start()
        }
    }

    private func pauseAccepting() {
        guard !acceptPaused, let source = acceptSource else { return }
        source.suspend()
        acceptPaused = true
        queue.asyncAfter(deadline: .now() + Self.acceptPause.dispatchInterval) { [weak self] in
            guard let self, self.acceptPaused, let source = self.acceptSource else { return }
            self.acceptPaused = false
            source.resume()
        }
    }

    private func closed(_ id: Int) {
        connections.removeValue(forKey: id)
        order.removeAll { $0 == id }
    }

    /// One scraper connection: read the request head, answer, close.
    private final class Connection {
        private let fd: Int32
        private let queue: DispatchQueue
        private let limits: Limits
        private let body: @Sendable () -> [UInt8]
        private let onClose: () -> Void
        private var readSource: DispatchSourceRead?
        private var writeSource: DispatchSourceWrite?
        private let timer: DispatchSourceTimer
        private var head: [UInt8] = []
        private var output: [UInt8] = []
        private var written = 0
        private var closed = false
        /// The response is made: what the client still sends is read and dropped.
        private var answered = false
        /// Sources not yet cancelled; the descriptor is closed after the last one's cancel handler.
        private var liveSources = 0

        init(fd: Int32, queue: DispatchQueue, limits: Limits, body: @escaping @Sendable () -> [UInt8],
             onClose: @escaping () -> Void) {
            self.fd = fd
            self.queue = queue
            self.limits = limits
            self.body = body
            self.onClose = onClose
            timer = DispatchSource.makeTimerSource(queue: queue)
        }

        func start() {
            timer.setEventHandler { [self] in close() }
            timer.schedule(deadline: .now() + limits.timeout.dispatchInterval)
            timer.resume()
            let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
            source.setEventHandler { [self] in readAvailable() }
            watch(source)
            readSource = source
            source.resume()
        }

        private func readAvailable() {
            var chunk = [UInt8](repeating: 0, count: 4096)
            let result = chunk.withUnsafeMutableBytes { buffer in
                Result { () throws(RPCError) in try Socket.read(fd, into: buffer) }
            }
            switch result {
            case .failure, .success(.processed(0)):
                return close()
            case .success(.wouldBlock):
                return
            case .success(.processed(let n)):
                if answered { return }
                head.append(contentsOf: chunk[0..<n])
            }
            if let end = Self.endOfHead(head) {
                respond(to: Array(head[0..<end]))
            } else if head.count > limits.maxRequestHeadBytes {
                answer(status: "431 Request Header Fields Too Large",
                       text: "request head over \(limits.maxRequestHeadBytes) bytes\n")
            }
        }

        /// The index of the blank line's first byte, if it has arrived within the limit.
        private static func endOfHead(_ bytes: [UInt8]) -> Int? {
            guard bytes.count >= 4 else { return nil }
            for i in 0...(bytes.count - 4)
            where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
                return i
            }
            return nil
        }

        private func respond(to head: [UInt8]) {
            guard head.count <= limits.maxRequestHeadBytes else {
                return answer(status: "431 Request Header Fields Too Large",
                              text: "request head over \(limits.maxRequestHeadBytes) bytes\n")
            }
            let line = head.split(separator: 13, maxSplits: 1, omittingEmptySubsequences: false).first ?? []
            let parts = String(decoding: line, as: UTF8.self).split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[2].hasPrefix("HTTP/1.") else {
                return answer(status: "400 Bad Request", text: "not an HTTP/1.x request line\n")
            }
            let method = parts[0]
            let path = parts[1].split(separator: "?", maxSplits: 1).first.map(String.init) ?? ""
            guard path == "/metrics" else {
                return answer(status: "404 Not Found", text: "only /metrics is served here\n")
            }
            guard method == "GET" || method == "HEAD" else {
                return answer(status: "405 Method Not Allowed", text: "GET /metrics only\n", extra: "Allow: GET, HEAD\r\n")
            }
            let exposition = body()
            answer(status: "200 OK", contentType: "text/plain; version=0.0.4; charset=utf-8", body: exposition,
                   headOnly: method == "HEAD")
        }

        private func answer(status: String, text: String, extra: String = "") {
            answer(status: status, contentType: "text/plain; charset=utf-8", body: Array(text.utf8), extra: extra)
        }

        private func answer(status: String, contentType: String, body: [UInt8], extra: String = "", headOnly: Bool = false) {
            answered = true
            let header = "HTTP/1.1 \(status)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n"
                + "\(extra)Connection: close\r\n\r\n"
            output = Array(header.utf8) + (headOnly ? [] : body)
            written = 0
            writeAvailable()
        }

        private func writeAvailable() {
            while written < output.count {
                let result = output.withUnsafeBytes { buffer in
                    Result { () throws(RPCError) in
                        try Socket.send(fd, UnsafeRawBufferPointer(rebasing: buffer[written...]))
                    }
                }
                switch result {
                case .failure:
                    return close()
                case .success(.wouldBlock):
                    if writeSource == nil {
                        let source = DispatchSource.makeWriteSource(fileDescriptor: fd, queue: queue)
                        source.setEventHandler { [self] in writeAvailable() }
                        watch(source)
                        writeSource = source
                        source.resume()
                    }
                    return
                case .success(.processed(let n)):
                    written += n
                }
            }
            // All sent: half-close, and read (and drop) what the client still
            // sends until it closes or the timeout: closing with unread input
            // would reset the connection and could lose the response.
            writeSource?.cancel()
            writeSource = nil
            _ = Glibc.shutdown(fd, Int32(SHUT_WR))
        }

        private func watch(_ source: any DispatchSourceProtocol) {
            liveSources += 1
            source.setCancelHandler { [self] in
                liveSources -= 1
                if liveSources == 0 && closed { _ = Glibc.close(fd) }
            }
        }

        func close() {
            guard !closed else { return }
            closed = true
            timer.cancel()
            readSource?.cancel()
            writeSource?.cancel()
            readSource = nil
            writeSource = nil
            if liveSources == 0 { _ = Glibc.close(fd) }
            onClose()
        }
    }
}
