import Foundation

/// Errors of the RPC layer: sockets, framing, connections and calls.
/// TLS problems keep their own detail in `TLSError`, wrapped here as `.tls`;
/// a call that the server answered with a non-OK status is `.status`.
/// Every case maps to one wire status through `statusCode`, the only such
/// mapping (the server's GoAway for a framing error uses it too).
public enum RPCError: Error, Equatable, CustomStringConvertible {
    /// A system call failed (`call` names it, `errno` says why).
    case system(call: String, errno: Int32)
    /// A listen or connect address that cannot be used.
    case invalidAddress(String, reason: String)
    /// A length prefix of 0, or one above the maximum frame size.
    case frameLength(UInt32, maximum: UInt32)
    /// A frame whose bytes protobuf-c could not decode.
    case malformedFrame(FrameDecodingError)
    /// The peer broke the protocol (frame order, stream ids, credits…).
    case protocolViolation(String)
    /// The TLS handshake or record layer failed.
    case tls(TLSError)
    /// The connection is gone; `reason` says what was seen last.
    case connectionClosed(reason: String)
    /// The server answered the call with a non-OK status.
    case status(StatusCode, message: String)
    /// Nothing happened within the time allowed (`what` names the wait).
    case timedOut(String)
    /// A server or client setting that cannot work (`setting` names it).
    case invalidConfiguration(setting: String, reason: String)

    public var description: String {
        switch self {
        case .system(let call, let code):
            return "\(call) failed: \(String(cString: strerror(code))) (errno \(code))"
        case .invalidAddress(let address, let reason):
            return "address \"\(address)\": \(reason) (expected HOST:PORT, [IPV6]:PORT or IPV4:PORT)"
        case .frameLength(let length, let maximum):
            return length == 0 ? "frame length prefix is 0; every frame has at least one byte"
                : "frame length prefix \(length) exceeds the maximum of \(maximum) bytes"
        case .malformedFrame(let error):
            return error.description
        case .protocolViolation(let what):
            return "protocol violation: \(what)"
        case .tls(let error):
            return "TLS: \(error)"
        case .connectionClosed(let reason):
            return "connection closed: \(reason)"
        case .status(let code, let message):
            return message.isEmpty ? "\(code)" : "\(code): \(message)"
        case .timedOut(let what):
            return "timed out: \(what)"
        case .invalidConfiguration(let setting, let reason):
            return "invalid setting \(setting): \(reason)"
        }
    }

    /// The wire status a caller sees for this error.
    public var statusCode: StatusCode {
        switch self {
        case .status(let code, _): code
        case .timedOut: .deadlineExceeded
        // The peer sent bytes that break the framing or the protocol: the
        // GoAway code of docs/PROTOCOL.md's connection errors, on both sides.
        case .frameLength, .malformedFrame, .protocolViolation: .invalidArgument
        case .tls: .unauthenticated
        case .system, .invalidAddress, .connectionClosed: .unavailable
        case .invalidConfiguration: .failedPrecondition
        }
    }
}
