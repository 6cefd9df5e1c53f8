/// Errors of the TLS layer. Each carries the whole OpenSSL error queue that
/// was pending when it was made, so the reason is never lost.
public enum TLSError: Error, CustomStringConvertible, Equatable {
    /// A certificate, key or CA file could not be used.
    case file(path: String, role: String, problem: String, openSSL: [String])
    /// The private key does not belong to the certificate.
    case keyMismatch(certificatePath: String, keyPath: String, openSSL: [String])
    /// An OpenSSL call failed while building a context or session.
    case openSSL(operation: String, errors: [String])
    /// The handshake failed. `verification` is OpenSSL's verdict on the
    /// peer's certificate when that is why (expired, unknown CA, …).
    case handshake(errors: [String], verification: String?)
    /// A TLS record could not be read or written after the handshake
    /// (including alerts the peer sent, such as a rejected certificate).
    case record(operation: String, errors: [String])
    /// A client's connection set-up failed and `explanation` says which
    /// certificate was refused and by which side (see `RPCClient.connect`).
    case refused(explanation: String, errors: [String])

    public var description: String {
        switch self {
        case .file(let path, let role, let problem, let errors):
            return "\(role) file \(path): \(problem)" + TLSError.suffix(errors)
        case .keyMismatch(let cert, let key, let errors):
            return "private key \(key) does not match certificate \(cert)" + TLSError.suffix(errors)
        case .openSSL(let operation, let errors):
            return "\(operation) failed" + TLSError.suffix(errors)
        case .handshake(let errors, let verification):
            return "handshake failed" + (verification.map { ": peer certificate rejected: \($0)" } ?? "")
                + TLSError.suffix(errors)
        case .record(let operation, let errors):
            return "\(operation) failed" + TLSError.suffix(errors)
        case .refused(let explanation, let errors):
            return explanation + TLSError.suffix(errors)
        }
    }

    private static func suffix(_ errors: [String]) -> String {
        errors.isEmpty ? "" : " (OpenSSL: " + errors.joined(separator: "; ") + ")"
    }
}

