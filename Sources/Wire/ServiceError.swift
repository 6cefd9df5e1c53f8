/// The error a `NormalizerService` method throws: a wire status code and a
/// message the caller can act on (name the field and say why). The server
/// turns it into the stream's `Status` (or an `ItemError` inside
/// NormalizeStream) in `wireStatus(for:)`, the only mapping to the wire.
public struct ServiceError: Error, Equatable, Sendable, CustomStringConvertible {
    public var code: StatusCode
    public var message: String

    public init(_ code: StatusCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}

/// The single mapping from an error met while serving a call to the wire
/// status sent to the caller.
package func wireStatus(for error: any Error) -> (code: StatusCode, message: String) {
    switch error {
    case let e as ServiceError: (e.code, e.message)
    case let e as RPCError: (e.statusCode, e.description)
    default: (.internal, "internal error: \(error)")
    }
}
