import Transport
import Wire
import Foundation

/// Everything an `RPCServer` is started with (docs/PROTOCOL.md §Limits). The
/// defaults are the documented ones; `adrnorm serve` maps its flags here.
public struct ServerConfiguration: Sendable {
    /// "HOST:PORT", "[IPV6]:PORT"; port 0 picks a free port (see `RPCServer.port`).
    public var listenAddress: String
    public var tls: TLSServerConfiguration
    /// Client identities (SAN URI, SAN DNS or subject CN) allowed to call;
    /// empty allows every client whose certificate verifies. A connection
    /// whose identity is not listed gets PERMISSION_DENIED on every call.
    public var allowedIdentities: [String]
    /// Connections beyond this are closed as soon as they are accepted.
    public var maxConnections: Int
    /// Connections that have not (yet) been admitted: TLS handshake under
    /// way, or a verified identity that is not on the allowlist. They have
    /// their own budget, so they never take an authenticated client's place;
    /// when it is full the oldest of them is closed to make room.
    public var maxUnauthenticatedConnections: Int
    /// A connection that has not finished its TLS handshake by then is closed.
    /// More than zero and at most `maximumTimeout` (`RPCServer.init` refuses others).
    public var handshakeTimeout: Duration
    /// A connection with no open stream and no traffic for this long gets
    /// GoAway and is closed; nil keeps idle connections forever. More than
    /// zero and at most `maximumTimeout` (`RPCServer.init` refuses others).
    public var idleTimeout: Duration?
    /// The largest frame (length prefix) accepted, announced in Hello.
    public var maxFrameBytes: UInt32
    /// Streams a connection may have open at once, announced in Hello.
    public var maxConcurrentStreams: UInt32
    /// Messages a client may send on a new stream before Credit.
    public var initialStreamCredit: UInt32
    /// Unsent output per connection above which the server stops reading
    /// that connection until the client drains it.
    public var outputBufferLimit: Int
    /// Request bytes one connection may hold at once (unary requests waiting
    /// for their half-close or being served, stream items being served);
    /// a message past it ends its call with RESOURCE_EXHAUSTED.
    public var maxRequestBytesPerConnection: Int
    /// The same over all connections together.
    public var maxRequestBytes: Int
    /// Unsent output one connection may hold: a response that would pass it
    /// is replaced by RESOURCE_EXHAUSTED (the client is not reading).
    public var maxQueuedOutputBytesPerConnection: Int
    /// The same over all connections together.
    public var maxQueuedOutputBytes: Int
    /// A stream with no work in progress and nothing from the client for
    /// this long is ended with DEADLINE_EXCEEDED; nil never ends one.
    public var streamIdleTimeout: Duration?
    /// A connection whose unsent output has not moved for this long is
    /// closed; nil waits forever.
    public var writeTimeout: Duration?
    /// Sent in Hello and Info.
    public var serverName: String

    /// The longest handshake or idle timeout accepted (one day): far beyond
    /// any useful setting, and far below where deadline arithmetic overflows.
    public static let maximumTimeout: Duration = .seconds(86_400)
    /// A call's metadata: at most this many entries and this many UTF-8
    /// bytes of keys and values (docs/PROTOCOL.md §Limits).
    public static let defaultMaxMetadataEntries = 64
    public static let defaultMaxMetadataBytes = 16 << 10
    /// How often an open connection's socket is read even without a
    /// readiness event (a safety net for events the event loop misses).
    public static let socketCheckInterval: Duration = .seconds(10)

    public init(listenAddress: String = "127.0.0.1:7443", tls: TLSServerConfiguration,
                allowedIdentities: [String] = [], maxConnections: Int = 256, maxUnauthenticatedConnections: Int = 256,
                handshakeTimeout: Duration = .seconds(10), idleTimeout: Duration? = .seconds(300),
                maxFrameBytes: UInt32 = FrameDecoder.defaultMaxFrameBytes, maxConcurrentStreams: UInt32 = 64,
                initialStreamCredit: UInt32 = 16, outputBufferLimit: Int = 8 << 20,
                maxRequestBytesPerConnection: Int = 32 << 20, maxRequestBytes: Int = 256 << 20,
                maxQueuedOutputBytesPerConnection: Int = 32 << 20, maxQueuedOutputBytes: Int = 512 << 20,
                streamIdleTimeout: Duration? = .seconds(300), writeTimeout: Duration? = .seconds(60),
                serverName: String = "adrnorm") {
        self.listenAddress = listenAddress
        self.tls = tls
        self.allowedIdentities = allowedIdentities
        self.maxConnections = maxConnections
        self.maxUnauthenticatedConnections = maxUnauthenticatedConnections
        self.handshakeTimeout = handshakeTimeout
        self.idleTimeout = idleTimeout
        self.maxFrameBytes = maxFrameBytes
        self.maxConcurrentStreams = maxConcurrentStreams
        self.initialStreamCredit = initialStreamCredit
        self.outputBufferLimit = outputBufferLimit
        self.maxRequestBytesPerConnection = maxRequestBytesPerConnection
        self.maxRequestBytes = maxRequestBytes
        self.maxQueuedOutputBytesPerConnection = maxQueuedOutputBytesPerConnection
        self.maxQueuedOutputBytes = maxQueuedOutputBytes
        self.streamIdleTimeout = streamIdleTimeout
        self.writeTimeout = writeTimeout
        self.serverName = serverName
    }
}

extension ServerConfiguration {
    /// These limits as Info reports them.
    public var wireLimits: AdrnormV1.ConnectionLimits {
        func milliseconds(_ d: Duration?) -> UInt32 { d.map { UInt32(clamping: $0.saturatingNanoseconds / 1_000_000) } ?? 0 }
        return AdrnormV1.ConnectionLimits(
            maxConcurrentStreams: maxConcurrentStreams, initialStreamCredit: initialStreamCredit,
            maxMetadataEntries: UInt32(Self.defaultMaxMetadataEntries), maxMetadataBytes: UInt32(Self.defaultMaxMetadataBytes),
            maxRequestBytesPerConnection: UInt64(maxRequestBytesPerConnection), maxRequestBytes: UInt64(maxRequestBytes),
            maxQueuedOutputBytesPerConnection: UInt64(maxQueuedOutputBytesPerConnection),
            maxQueuedOutputBytes: UInt64(maxQueuedOutputBytes),
            streamIdleTimeoutMs: milliseconds(streamIdleTimeout), writeTimeoutMs: milliseconds(writeTimeout),
            idleTimeoutMs: milliseconds(idleTimeout))
    }
}
