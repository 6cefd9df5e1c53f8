/// A stream on a connection: chosen by the client, > 0, strictly increasing.
/// Stream 0 carries connection-level frames (Hello, Ping, Pong, GoAway).
public struct StreamID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ value: UInt32) { self.rawValue = value }
    public static let connection = StreamID(0)
    public static func < (lhs: StreamID, rhs: StreamID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "stream \(rawValue)" }
}

/// One frame of wire protocol version 1 (docs/PROTOCOL.md), as a Swift value.
/// `FrameCodec` turns it into protobuf bytes and back; nothing outside the
/// wire code sees the protobuf-c structs.
public struct Frame: Equatable, Sendable {
    public var streamID: StreamID
    public var kind: Kind

    public init(streamID: StreamID, kind: Kind) {
        self.streamID = streamID
        self.kind = kind
    }

    public enum Kind: Equatable, Sendable {
        case hello(Hello)
        case call(Call)
        case message(payload: [UInt8])
        case halfClose
        case status(code: StatusCode, message: String)
        case cancel(reason: String)
        case credit(messages: UInt32)
        case ping(payload: [UInt8])
        case pong(payload: [UInt8])
        case goAway(lastStreamID: StreamID, code: StatusCode, message: String)
    }

    /// First frame of each side. Client fills `protocolVersion` and
    /// `clientName`; the server fills the rest.
    public struct Hello: Equatable, Sendable {
        public var protocolVersion: UInt32
        public var clientName: String
        public var serverName: String
        public var maxFrameBytes: UInt32
        public var maxConcurrentStreams: UInt32
        public var initialStreamCredit: UInt32

        public init(protocolVersion: UInt32 = 1, clientName: String = "", serverName: String = "",
                    maxFrameBytes: UInt32 = 0, maxConcurrentStreams: UInt32 = 0,
                    initialStreamCredit: UInt32 = 0) {
            self.protocolVersion = protocolVersion
            self.clientName = clientName
            self.serverName = serverName
            self.maxFrameBytes = maxFrameBytes
            self.maxConcurrentStreams = maxConcurrentStreams
            self.initialStreamCredit = initialStreamCredit
        }
    }

    /// Opens a stream. A unary call is one `Call` with `payload` and
    /// `halfClose` set.
    public struct Call: Equatable, Sendable {
        public var method: String
        public var timeoutMilliseconds: UInt32
        public var metadata: [String: String]
        public var payload: [UInt8]?
        public var halfClose: Bool

        public init(method: String, timeoutMilliseconds: UInt32 = 0, metadata: [String: String] = [:],
                    payload: [UInt8]? = nil, halfClose: Bool = false) {
            self.method = method
            self.timeoutMilliseconds = timeoutMilliseconds
            self.metadata = metadata
            self.payload = payload
            self.halfClose = halfClose
        }
    }
}

extension Frame.Kind {
    /// The frame kind's name as in frame.proto, for messages.
    public var name: String {
        switch self {
        case .hello: "Hello"
        case .call: "Call"
        case .message: "Message"
        case .halfClose: "HalfClose"
        case .status: "Status"
        case .cancel: "Cancel"
        case .credit: "Credit"
        case .ping: "Ping"
        case .pong: "Pong"
        case .goAway: "GoAway"
        }
    }
}
