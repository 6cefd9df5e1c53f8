import Wire
import Foundation
internal import COpenSSL
internal import CShims

/// The outcome of one TLS step, as swift-nio-ssl reports it.
public enum TLSResult: Equatable, Sendable {
    case complete
    /// OpenSSL needs more bytes from the peer (`SSL_ERROR_WANT_READ`).
    case wantRead
    /// OpenSSL has output to hand over first (`SSL_ERROR_WANT_WRITE`).
    case wantWrite
    /// The peer sent close_notify.
    case closed
    case failed(TLSError)
}

/// The identity a client certificate proves (docs/PROTOCOL.md §Transport and
/// TLS): the first SAN URI,
/// else the first SAN DNS name, else the subject CN.
public struct PeerIdentity: Sendable, Equatable, CustomStringConvertible {
    public let name: String
    /// Every name the allowlist may match: SAN URIs, SAN DNS names, the CN.
    public let allNames: [String]
    public var description: String { name }

    public init(name: String, allNames: [String]) {
        self.name = name
        self.allNames = allNames
    }
}

/// One TLS connection's OpenSSL state: a final class owning one `SSL*`
/// (freed in `deinit`) that talks to the network through two memory BIOs.
/// The owner moves ciphertext between those BIOs and the socket
/// (`receiveCiphertext`, `takeCiphertext`), so the whole state machine can
/// be driven, and tested, without a socket. Not thread-safe: one owner,
/// one queue.
public final class TLSSession {
    private let ssl: OpaquePointer
    /// Network → OpenSSL (owned by `ssl` after `SSL_set_bio`).
    private let networkIn: OpaquePointer
    /// OpenSSL → network (owned by `ssl`).
    private let networkOut: OpaquePointer
    public private(set) var handshakeComplete = false
    /// Keeps the context (and memory its callbacks use, such as the ALPN
    /// list) alive as long as this session; `SSL_new` only counts a
    /// reference to the `SSL_CTX` itself.
    private let contextOwner: AnyObject

    /// A server-side session on `context`.
    public convenience init(server context: TLSContext) throws(TLSError) {
        try self.init(context: context.context, owner: context, isServer: true, serverName: nil)
    }

    /// A client-side session that verifies the server as `serverName`
    /// (a DNS name or an IP address).
    public convenience init(client context: TLSClientContext, serverName: String) throws(TLSError) {
        try self.init(context: context.context, owner: context, isServer: false, serverName: serverName)
    }

    private init(context: OpaquePointer, owner: AnyObject, isServer: Bool, serverName: String?) throws(TLSError) {
        contextOwner = owner
        ERR_clear_error()
        guard let ssl = SSL_new(context) else {
            throw .openSSL(operation: "SSL_new", errors: drainOpenSSLErrors())
        }
        guard let rbio = BIO_new(BIO_s_mem()), let wbio = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw .openSSL(operation: "BIO_new", errors: drainOpenSSLErrors())
        }
        // An empty input BIO must read as "retry later", not as end of
        // stream (the default), or OpenSSL sees EOF between TCP segments.
        // (BIO_set_mem_eof_return is a macro over BIO_ctrl.)
        _ = BIO_ctrl(rbio, BIO_C_SET_BUF_MEM_EOF_RETURN, -1, nil)
        SSL_set_bio(ssl, rbio, wbio)
        self.ssl = ssl
        networkIn = rbio
        networkOut = wbio
        if isServer {
            SSL_set_accept_state(ssl)
        } else {
            SSL_set_connect_state(ssl)
            if let serverName {
                ERR_clear_error()
                let isIP = serverName.contains(":") || serverName.allSatisfy { $0.isNumber || $0 == "." }
                let ok = isIP ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), serverName)
                              : SSL_set1_host(ssl, serverName)
                guard ok == 1 else {
                    throw .openSSL(operation: "setting the expected server name \(serverName)",
                                   errors: drainOpenSSLErrors())
                }
                if !isIP { _ = adrn_SSL_set_tlsext_host_name(ssl, serverName) }
            }
        }
    }

    deinit {
        SSL_free(ssl)
    }

    /// Hands bytes read from the socket to OpenSSL.
    public func receiveCiphertext(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        ERR_clear_error()
        let written = BIO_write(networkIn, bytes.baseAddress, Int32(bytes.count))
        precondition(written == Int32(bytes.count), "a memory BIO refused \(bytes.count) bytes; this is a bug")
    }

    /// Moves what OpenSSL wants sent onto the end of `buffer`.
    public func takeCiphertext(into buffer: inout [UInt8]) {
        ERR_clear_error()
        let pending = BIO_ctrl_pending(networkOut)
        guard pending > 0 else { return }
        buffer.reserveCapacity(buffer.count + pending)
        withUnsafeTemporaryAllocation(byteCount: min(pending, 64 * 1024), alignment: 1) { scratch in
            while true {
                let n = BIO_read(networkOut, scratch.baseAddress, Int32(scratch.count))
                if n <= 0 { return }
                buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[0..<Int(n)]))
            }
        }
    }

    /// Advances the handshake.
    public func handshake() -> TLSResult {
        ERR_clear_error()
        let rc = SSL_do_handshake(ssl)
        if rc == 1 {
            handshakeComplete = true
            return .complete
        }
        return classify(rc, failure: { errors in
            let verify = SSL_get_verify_result(ssl)
            let verdict = verify == X509_V_OK ? nil : String(cString: X509_verify_cert_error_string(verify))
            return .handshake(errors: errors, verification: verdict)
        })
    }

    /// Decrypts everything OpenSSL can, appending the plaintext to `buffer`.
    /// Calls `SSL_read` until it asks for more input, so no decrypted
    /// bytes stay behind in OpenSSL (`SSL_pending`), where no socket event
    /// would ever signal them and the connection would stall.
    public func read(into buffer: inout [UInt8]) -> TLSResult {
        withUnsafeTemporaryAllocation(byteCount: 16 * 1024, alignment: 1) { chunk in
            while true {
                ERR_clear_error()
                let n = SSL_read(ssl, chunk.baseAddress, Int32(chunk.count))
                if n > 0 {
                    buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[0..<Int(n)]))
                    continue
                }
                return classify(n, failure: { .record(operation: "SSL_read", errors: $0) })
            }
        }
    }

    /// Encrypts all of `bytes` into the outgoing memory BIO.
    public func write(_ bytes: [UInt8]) -> TLSResult {
        var offset = 0
        while offset < bytes.count {
            ERR_clear_error()
            let n = bytes.withUnsafeBytes { raw in
                SSL_write(ssl, raw.baseAddress! + offset, Int32(min(raw.count - offset, Int(Int32.max))))
            }
            if n > 0 { offset += Int(n); continue }
            let result = classify(n, failure: { .record(operation: "SSL_write", errors: $0) })
            // A memory BIO never blocks a write, so anything else is final.
            return result == .complete ? .failed(.record(operation: "SSL_write", errors: [])) : result
        }
        return .complete
    }

    /// Queues a close_notify alert (sent with the next `takeCiphertext`).
    public func shutdown() {
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
    }

    /// The negotiated ALPN protocol, if any.
    public var negotiatedProtocol: String? {
        ERR_clear_error()
        var data: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    /// "TLSv1.3" or "TLSv1.2".
    public var protocolVersion: String { String(cString: SSL_get_version(ssl)) }

    /// The verified peer certificate's identity, or nil without one.
    public var peerIdentity: PeerIdentity? {
        ERR_clear_error()
        guard let certificate = SSL_get1_peer_certificate(ssl) else { return nil }
        defer { X509_free(certificate) }
        var uris: [String] = [], dnsNames: [String] = []
        if let raw = X509_get_ext_d2i(certificate, NID_subject_alt_name, nil, nil) {
            let names = OpaquePointer(raw)
            defer { adrn_GENERAL_NAMES_free(names) }
            for i in 0..<adrn_sk_GENERAL_NAME_num(names) {
                guard let name = adrn_sk_GENERAL_NAME_value(names, i) else { continue }
                let type = name.pointee.type
                guard type == GEN_URI || type == GEN_DNS, let ia5 = name.pointee.d.ia5 else { continue }
                let text = asn1String(ia5)
                if type == GEN_URI { uris.append(text) } else { dnsNames.append(text) }
            }
        }
        var commonName: String?
        if let subject = X509_get_subject_name(certificate) {
            let index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1)
            if index >= 0, let entry = X509_NAME_get_entry(subject, index), let data = X509_NAME_ENTRY_get_data(entry) {
                commonName = asn1String(data)
            }
        }
        let all = uris + dnsNames + (commonName.map { [$0] } ?? [])
        guard let first = all.first else { return nil }
        return PeerIdentity(name: first, allNames: all)
    }

    private func asn1String(_ string: UnsafePointer<ASN1_STRING>) -> String {
        let length = Int(ASN1_STRING_length(string))
        guard length > 0, let data = ASN1_STRING_get0_data(string) else { return "" }
        return String(decoding: UnsafeBufferPointer(start: data, count: length), as: UTF8.self)
    }

    private func classify(_ rc: Int32, failure: ([String]) -> TLSError) -> TLSResult {
        let code = SSL_get_error(ssl, rc)
        switch code {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_WANT_WRITE: return .wantWrite
        case SSL_ERROR_ZERO_RETURN: return .closed
        default:
            var errors = drainOpenSSLErrors()
            if errors.isEmpty && code == SSL_ERROR_SYSCALL { errors = ["unexpected end of the TLS stream"] }
            return .failed(failure(errors))
        }
    }
}
