/// The error a `NormalizerService` method throws: a wire status code and a
/// message the caller can act on (name the field and say why). The server
/// sends its `code` and `message` as the stream's `Status` (or an `ItemError`
/// inside NormalizeStream) as they are.
public struct ServiceError: Error, Equatable, Sendable, CustomStringConvertible {
    public var code: StatusCode
    public var message: String

    public init(_ code: StatusCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
