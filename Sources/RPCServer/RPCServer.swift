import Transport
import Wire
import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// The adrnorm RPC server: accepts mutually authenticated TLS connections
/// on one listening socket and serves `NormalizerService` over the framed
/// protocol of docs/PROTOCOL.md.
///
/// Call order: `init`, `start()` (binds; `port` is valid after it), then
/// `shutdown(drainTimeout:)` once. `adrnorm serve` pairs it with
/// `TerminationSignals` so SIGTERM/SIGINT drain the server.
public final class RPCServer: @unchecked Sendable {
    // @unchecked Sendable: mutable state below is touched only on `queue`.
    private let queue = DispatchQueue(label: "adrnorm.rpc.server")
    private let environment: ServerEnvironment
    /// The certificates new handshakes use (on `queue`; `reloadTLS` swaps it).
    private var tlsContext: TLSContext
    private var acceptSource: DispatchSourceRead?
    private var connections: [Int: ServerConnection] = [:]
    /// Connections not admitted yet (handshake under way, or an identity not
    /// on the allowlist), oldest first; the rest of `connections` is admitted.
    private var unadmitted: [Int] = []
    private var admitted = Set<Int>()
    private var lastEvictionLog: DispatchTime?
    private var evictionsNotLogged = 0
    private var nextConnectionID = 1
    private var boundPort: UInt16 = 0
    private enum State { case created, running, draining, stopped }
    private var state = State.created
    private var shutdownCompletions: [@Sendable () -> Void] = []
    // Accept back-off (see `acceptFailed`): the read source is level-triggered,
    // so while accept fails (EMFILE...) it would fire again at once, forever.
    private var acceptPaused = false
    private var acceptBackoff = RPCServer.initialAcceptBackoff
    private var acceptResumeGeneration = 0
    private var lastAcceptErrorLog: DispatchTime?
    private var acceptErrorsNotLogged = 0

    static let initialAcceptBackoff: Duration = .milliseconds(100)
    static let maximumAcceptBackoff: Duration = .seconds(1)
    /// At most one "accept failed" line per this many seconds.
    static let acceptErrorLogInterval: UInt64 = 10

    public var configuration: ServerConfiguration { environment.configuration }
    /// Unsent output of all connections, and request bytes their calls
    /// hold, now (bounded by the configuration's limits).
    package var unsentOutputBytes: Int { environment.outputBudget.inUse }
    package var heldRequestBytes: Int { environment.requestBudget.inUse }
    private var logger: Logger { environment.logger }

    /// Builds the TLS context (so certificate problems surface here, naming
    /// the files).
    /// `observer` is told of every connection and call (metrics, audit log).
    public init(configuration: ServerConfiguration, service: any NormalizerService,
                logger: Logger = Logger(label: "adrnorm.rpc"), observer: (any ServerObserver)? = nil) throws(RPCError) {
        try RPCServer.validate(configuration)
        do {
            tlsContext = try TLSContext(server: configuration.tls)
        } catch {
            throw .tls(error)
        }
        environment = ServerEnvironment(configuration: configuration, service: service, logger: logger,
                                        allowlist: Allowlist(Set(configuration.allowedIdentities)),
                                        requestBudget: ByteBudget(limit: configuration.maxRequestBytes),
                                        outputBudget: ByteBudget(limit: configuration.maxQueuedOutputBytes),
                                        logLimiter: LogRateLimiter(), observer: observer)
    }

    private static func validate(_ c: ServerConfiguration) throws(RPCError) {
        func require(_ ok: Bool, _ setting: String, _ reason: String) throws(RPCError) {
            if !ok { throw .invalidConfiguration(setting: setting, reason: reason) }
        }
        try require(c.maxConnections >= 1, "max-connections", "must be at least 1 (got \(c.maxConnections))")
        try require(c.maxUnauthenticatedConnections >= 1, "max-unauthenticated-connections",
                    "must be at least 1 (got \(c.maxUnauthenticatedConnections))")
        try require(c.maxConcurrentStreams >= 1, "max-concurrent-streams", "must be at least 1")
        try require(c.initialStreamCredit >= 1, "initial-stream-credit",
                    "must be at least 1, or no call could carry its request")
        try require(c.maxFrameBytes >= 1024, "max-frame-bytes", "must be at least 1024 (got \(c.maxFrameBytes))")
        try require(c.outputBufferLimit >= 16 * 1024, "output-buffer-limit", "must be at least 16 KiB")
        let maximum = ServerConfiguration.maximumTimeout
        try require(c.handshakeTimeout > .zero && c.handshakeTimeout <= maximum, "handshake-timeout",
                    "must be more than 0 and at most \(maximum) (got \(c.handshakeTimeout))")
        for (name, timeout) in [("idle-timeout", c.idleTimeout), ("stream-idle-timeout", c.streamIdleTimeout),
                                ("write-timeout", c.writeTimeout)] {
            if let timeout {
                try require(timeout > .zero && timeout <= maximum, name,
                            "must be more than 0 and at most \(maximum), or nil for never (got \(timeout))")
            }
        }
        let frame = Int(c.maxFrameBytes)
        try require(c.maxRequestBytesPerConnection >= frame, "max-request-bytes-per-connection",
                    "must be at least the frame limit \(frame), or no large request could be read "
                    + "(got \(c.maxRequestBytesPerConnection))")
        try require(c.maxRequestBytes >= c.maxRequestBytesPerConnection, "max-request-bytes",
                    "must be at least max-request-bytes-per-connection (got \(c.maxRequestBytes))")
        try require(c.maxQueuedOutputBytesPerConnection >= frame, "max-queued-output-bytes-per-connection",
                    "must be at least the frame limit \(frame), or no large response could be sent "
                    + "(got \(c.maxQueuedOutputBytesPerConnection))")
        try require(c.maxQueuedOutputBytes >= c.maxQueuedOutputBytesPerConnection, "max-queued-output-bytes",
                    "must be at least max-queued-output-bytes-per-connection (got \(c.maxQueuedOutputBytes))")
        try require(!c.tls.requireClientCertificate || c.tls.clientCAPath != nil, "client-ca",
                    "client certificates are required but no client CA is given (or use insecure-no-client-auth)")
    }

    /// New certificates, key and client CA for every handshake from now on
    /// (a reload: rotated files). Read and checked before anything
    /// changes: on an error nothing changes and the error names the file.
    /// Connections already open keep their TLS session.
    public func reloadTLS(_ tls: TLSServerConfiguration) throws(RPCError) {
        guard tls.requireClientCertificate == configuration.tls.requireClientCertificate else {
            throw .invalidConfiguration(setting: "client-ca", reason: "a reload cannot turn client certificates on or off")
        }
        let context: TLSContext
        do {
            context = try TLSContext(server: tls)
        } catch {
            throw .tls(error)
        }
        queue.sync { tlsContext = context }
    }

    /// A new allowlist for every handshake from now on (empty: any verified
    /// client). Connections already admitted keep calling.
    public func reloadAllowlist(_ identities: [String]) {
        environment.allowlist.replace(Set(identities))
    }

    /// Binds and listens; connections are served from then on.
    public func start() throws(RPCError) {
        ignoreBrokenPipeSignal()
        let address = try SocketAddress(parsing: configuration.listenAddress)
        let (fd, port) = try Socket.listen(on: address)
        if !configuration.tls.requireClientCertificate {
            logger.critical("""
                INSECURE: client certificates are NOT required (--insecure-no-client-auth). Any process that can \
                reach \(address) can call this server. Use this for local development only.
                """)
        }
        queue.sync {
            precondition(state == .created, "RPCServer.start() called twice; this is a bug")
            boundPort = port
            state = .running
            let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
            source.setEventHandler { [weak self] in self?.acceptPending(fd) }
            source.setCancelHandler { _ = Glibc.close(fd) }
            acceptSource = source
            source.resume()
        }
        logger.info("listening", metadata: [
            "address": "\(address.family == .ipv6 ? "[\(address.host)]" : address.host):\(port)",
            "tls_min": "\(configuration.tls.minimumVersion.rawValue)",
            "client_auth": "\(configuration.tls.requireClientCertificate ? "required" : "OFF")",
            "allowlist": "\(configuration.allowedIdentities.isEmpty ? "any verified client" : configuration.allowedIdentities.joined(separator: ","))",
        ])
    }

    /// When the certificate that new handshakes present expires.
    public var certificateNotAfter: Date? { queue.sync { tlsContext.certificateNotAfter } }

    /// The bound port (the kernel's choice when listening on port 0).
    public var port: Int { queue.sync { Int(boundPort) } }

    /// Open connections right now.
    public var connectionCount: Int { queue.sync { connections.count } }

    /// Graceful shutdown (docs/PROTOCOL.md §GoAway): stop accepting, send GoAway to every
    /// connection, finish every accepted stream and refuse new ones with
    /// UNAVAILABLE; connections still busy after `drainTimeout` are closed.
    /// `completion` runs once everything is closed (on an internal queue).
    public func shutdown(drainTimeout: Duration, completion: @escaping @Sendable () -> Void) {
        queue.async { [self] in
            switch state {
            case .stopped:
                completion()
                return
            case .draining:
                shutdownCompletions.append(completion)
                return
            case .created, .running:
                break
            }
            shutdownCompletions.append(completion)
            state = .draining
            acceptSource?.cancel()
            // A suspended source runs its cancel handler (closing the
            // listener) only once resumed.
            if acceptPaused { acceptSource?.resume() }
            acceptPaused = false
            acceptSource = nil
            logger.info("draining", metadata: ["connections": "\(connections.count)",
                                               "drain_timeout": "\(drainTimeout)"])
            for connection in connections.values { connection.beginDrain() }
            queue.asyncAfter(deadline: .now() + drainTimeout.dispatchInterval) { [self] in
                guard state == .draining else { return }
                logger.warning("drain timeout: closing \(connections.count) busy connection(s)")
                for connection in connections.values { connection.forceClose() }
                finishShutdown()
            }
            if connections.isEmpty { finishShutdown() }
        }
    }

    /// `shutdown(drainTimeout:completion:)` for async callers.
    public func shutdown(drainTimeout: Duration) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            shutdown(drainTimeout: drainTimeout) { continuation.resume() }
        }
    }

    private func finishShutdown() {
        guard state == .draining else { return }
        state = .stopped
        logger.info("stopped")
        let completions = shutdownCompletions
        shutdownCompletions = []
        for completion in completions { completion() }
    }

    private func acceptPending(_ listener: Int32) {
        // Bounded so one burst cannot starve the other work on this queue.
        for _ in 0..<64 {
            let accepted: IOResult<Int32>
            do {
                accepted = try Socket.accept(listener)
            } catch {
                if case .system(_, let code) = error, code == ECONNABORTED || code == EPROTO || code == EPERM {
                    continue // that one connection is gone; the next may be fine
                }
                return acceptFailed(error)
            }
            guard case .processed(let fd) = accepted else { return }
            acceptBackoff = Self.initialAcceptBackoff
            guard state == .running else { _ = Glibc.close(fd); continue }
            if unadmitted.count >= configuration.maxUnauthenticatedConnections, let oldest = unadmitted.first {
                // The budget of connections not admitted is full: the oldest
                // makes room, so a flood of silent or refused connections can
                // delay a real client's handshake but never lock it out.
                unadmitted.removeFirst()
                evictionsNotLogged += 1
                let now = DispatchTime.now()
                if lastEvictionLog.map({ now.uptimeNanoseconds - $0.uptimeNanoseconds >= Self.acceptErrorLogInterval * 1_000_000_000 }) ?? true {
                    // At most one line per interval, however hard the flood.
                    logger.notice("""
                        closed \(evictionsNotLogged) unauthenticated connection(s), oldest first: \
                        \(configuration.maxUnauthenticatedConnections) were open (--max-unauthenticated-connections)
                        """)
                    lastEvictionLog = now
                    evictionsNotLogged = 0
                }
                connections[oldest]?.forceClose()
            }
            let session: TLSSession
            do {
                session = try TLSSession(server: tlsContext)
            } catch {
                logger.error("could not create a TLS session: \(error)")
                _ = Glibc.close(fd)
                continue
            }
            let id = nextConnectionID
            nextConnectionID += 1
            let connection = ServerConnection(id: id, fd: fd, tls: session, environment: environment,
                                              onHandshake: { [weak self] id, allowed in
                                                  self?.queue.sync { self?.handshakeCompleted(id, allowed: allowed) } ?? nil
                                              }) { [weak self] id in
                guard let self else { return }
                self.queue.async { self.connectionClosed(id) }
            }
            connections[id] = connection
            unadmitted.append(id)
            connection.start()
        }
    }

    /// accept failed for want of a resource (EMFILE, ENFILE, ENOBUFS,
    /// ENOMEM) or for a reason that will not go away by itself: stop
    /// watching the listener and try again after a back-off (100 ms, doubling
    /// to 1 s) or as soon as a connection closes, whichever is first. Waiting
    /// clients stay in the listen backlog meanwhile. Logged at most once per
    /// `acceptErrorLogInterval` seconds, with the count of failures since.
    private func acceptFailed(_ error: RPCError) {
        let now = DispatchTime.now()
        if let last = lastAcceptErrorLog,
           now.uptimeNanoseconds - last.uptimeNanoseconds < Self.acceptErrorLogInterval * 1_000_000_000 {
            acceptErrorsNotLogged += 1
        } else {
            let since = acceptErrorsNotLogged > 0 ? " (\(acceptErrorsNotLogged) more failures since the last message)" : ""
            logger.error("""
                accept failed: \(error); pausing accepts for up to \(acceptBackoff), \
                \(connections.count) connection(s) open\(since)
                """)
            lastAcceptErrorLog = now
            acceptErrorsNotLogged = 0
        }
        guard !acceptPaused, let source = acceptSource else { return }
        source.suspend()
        acceptPaused = true
        acceptResumeGeneration += 1
        let generation = acceptResumeGeneration
        queue.asyncAfter(deadline: .now() + acceptBackoff.dispatchInterval) { [weak self] in
            guard let self, self.acceptResumeGeneration == generation else { return }
            self.resumeAccepting()
        }
        acceptBackoff = min(acceptBackoff * 2, Self.maximumAcceptBackoff)
    }

    private func resumeAccepting() {
        guard acceptPaused, state == .running, let source = acceptSource else { return }
        acceptPaused = false
        acceptResumeGeneration += 1
        source.resume()
    }

    /// TLS is up on connection `id`: admit it (nil) within --max-connections,
    /// or say why not. An identity not on the allowlist is not admitted: it
    /// stays in the unauthenticated budget until its first call is refused
    /// and it is closed.
    private func handshakeCompleted(_ id: Int, allowed: Bool) -> String? {
        guard connections[id] != nil, allowed else { return nil }
        guard admitted.count < configuration.maxConnections else {
            return "\(admitted.count) authenticated connections are open (--max-connections \(configuration.maxConnections)); "
                + "retry later or use another server"
        }
        unadmitted.removeAll { $0 == id }
        admitted.insert(id)
        return nil
    }

    private func connectionClosed(_ id: Int) {
        connections.removeValue(forKey: id)
        admitted.remove(id)
        unadmitted.removeAll { $0 == id }
        // A descriptor was just freed: accept again now rather than after the back-off.
        resumeAccepting()
        if state == .draining && connections.isEmpty { finishShutdown() }
    }
}
