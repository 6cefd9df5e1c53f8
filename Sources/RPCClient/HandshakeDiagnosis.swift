import Transport
import Wire
import Foundation

/// Turns a connection set-up failure into a message that says which
/// certificate was refused and by which side, as the Python and Java
/// clients do: the server refusing our client certificate (its TLS alert
/// named), or this client refusing the server's certificate (the CA file
/// it was checked against named).
enum HandshakeDiagnosis {
    /// The TLS alerts a server sends when it refuses a client certificate.
    static let certificateAlerts = ["unknown ca", "certificate expired", "bad certificate", "certificate unknown",
                                    "certificate revoked", "unsupported certificate", "access denied", "decrypt error",
                                    "certificate required"]

    static func explain(_ error: RPCError, address: String, serverName: String,
                        tls: TLSClientConfiguration) -> RPCError {
        let phase = "TLS handshake with \(address) failed"
        let ours = tls.certificateChainPath.map { "our client certificate \($0)" }
            ?? "the connection without a client certificate"
        switch error {
        case .tls(.handshake(let errors, let verification?)):
            return .tls(.refused(explanation: "\(phase): the server's certificate failed verification against the CA "
                                 + "file \(tls.trustedCAPath) (server name \(serverName)): \(verification); "
                                 + "refused by this client", errors: errors))
        case .tls(.handshake(let errors, nil)), .tls(.record(_, let errors)):
            let text = errors.joined(separator: "; ").lowercased()
            if text.contains("no application protocol") {
                return .tls(.refused(explanation: "\(phase): the server does not speak ALPN "
                                     + "\(tls.alpnProtocols.joined(separator: ", "))", errors: errors))
            }
            guard let alert = alert(in: text), certificateAlerts.contains(alert) else { return error }
            if alert == "certificate required" && tls.certificateChainPath == nil {
                return .tls(.refused(explanation: "\(phase): the server requires a client certificate and none was "
                                     + "sent (TLS alert: certificate required)", errors: errors))
            }
            return .tls(.refused(explanation: "\(phase): the server refused \(ours) (TLS alert: \(alert))",
                                 errors: errors))
        case .connectionClosed(let reason):
            return .tls(.refused(explanation: "\(phase): \(reason) (a server that refuses \(ours) may close "
                                 + "without saying why)", errors: []))
        default:
            return error
        }
    }

    /// "unknown ca" from "error:0A000418:SSL routines::tlsv1 alert unknown ca".
    static func alert(in text: String) -> String? {
        guard let range = text.range(of: "alert ") else { return nil }
        let rest = text[range.upperBound...]
        return String(rest.prefix { $0 != ";" && $0 != ")" && $0 != ":" }).trimmingCharacters(in: .whitespaces)
    }
}
