import Foundation
internal import COpenSSL
internal import CShims

/// The lowest TLS version a context accepts.
public enum TLSMinimumVersion: String, Sendable, CaseIterable {
    case tls12 = "1.2"
    case tls13 = "1.3"
}

/// What a server TLS context is made from (DESIGN §3).
public struct TLSServerConfiguration: Sendable {
    public var certificateChainPath: String
    public var privateKeyPath: String
    /// PEM bundle of the CAs whose client certificates are accepted. `nil`
    /// only with `requireClientCertificate == false` (development).
    public var clientCAPath: String?
    public var requireClientCertificate: Bool
    public var minimumVersion: TLSMinimumVersion
    /// Longest client chain accepted (intermediates + leaf).
    public var verifyDepth: Int
    public var alpnProtocols: [String]

    public init(certificateChainPath: String, privateKeyPath: String, clientCAPath: String?,
                requireClientCertificate: Bool = true, minimumVersion: TLSMinimumVersion = .tls13,
                verifyDepth: Int = 4, alpnProtocols: [String] = ["adrn/1"]) {
        self.certificateChainPath = certificateChainPath
        self.privateKeyPath = privateKeyPath
        self.clientCAPath = clientCAPath
        self.requireClientCertificate = requireClientCertificate
        self.minimumVersion = minimumVersion
        self.verifyDepth = verifyDepth
        self.alpnProtocols = alpnProtocols
    }
}

/// Owns one OpenSSL `SSL_CTX`, configured once and then shared read-only by
/// every connection (OpenSSL's contexts are thread-safe once configured).
public final class TLSContext: @unchecked Sendable {
    /// TLS 1.2 suites allowed when the minimum is lowered: ECDHE key exchange
    /// with AEAD ciphers only.
    static let tls12CipherList = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")

    let context: OpaquePointer
    public let configuration: TLSServerConfiguration

    public init(server configuration: TLSServerConfiguration) throws(TLSError) {
        self.configuration = configuration
        ERR_clear_error()
        guard let ctx = SSL_CTX_new(TLS_server_method()) else {
            throw .openSSL(operation: "SSL_CTX_new", errors: drainOpenSSLErrors())
        }
        context = ctx
        // From here on `deinit` frees `ctx` if a later step throws.
        let minimum = configuration.minimumVersion == .tls13 ? TLS1_3_VERSION : TLS1_2_VERSION
        guard adrn_SSL_CTX_set_min_proto_version(ctx, minimum) == 1 else {
            throw .openSSL(operation: "setting the minimum TLS version", errors: drainOpenSSLErrors())
        }
        _ = adrn_SSL_CTX_set_options(ctx, adrn_SSL_OP_NO_RENEGOTIATION() | adrn_SSL_OP_NO_COMPRESSION()
                                          | adrn_SSL_OP_CIPHER_SERVER_PREFERENCE())
        _ = adrn_SSL_CTX_set_mode(ctx, adrn_SSL_MODE_ENABLE_PARTIAL_WRITE() | adrn_SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER())
        if configuration.minimumVersion == .tls12 {
            guard SSL_CTX_set_cipher_list(ctx, TLSContext.tls12CipherList) == 1 else {
                throw .openSSL(operation: "setting the TLS 1.2 cipher list", errors: drainOpenSSLErrors())
            }
        }

        try TLSContext.requireReadable(configuration.certificateChainPath, role: "certificate")
        try TLSContext.requireReadable(configuration.privateKeyPath, role: "private key")
        guard SSL_CTX_use_certificate_chain_file(ctx, configuration.certificateChainPath) == 1 else {
            throw .file(path: configuration.certificateChainPath, role: "certificate",
                        problem: "not a PEM certificate chain OpenSSL can load", openSSL: drainOpenSSLErrors())
        }
        guard SSL_CTX_use_PrivateKey_file(ctx, configuration.privateKeyPath, SSL_FILETYPE_PEM) == 1 else {
            let errors = drainOpenSSLErrors()
            if errors.contains(where: { $0.contains("key values mismatch") }) {
                throw .keyMismatch(certificatePath: configuration.certificateChainPath,
                                   keyPath: configuration.privateKeyPath, openSSL: errors)
            }
            throw .file(path: configuration.privateKeyPath, role: "private key",
                        problem: "not a PEM private key OpenSSL can load", openSSL: errors)
        }
        guard SSL_CTX_check_private_key(ctx) == 1 else {
            throw .keyMismatch(certificatePath: configuration.certificateChainPath,
                               keyPath: configuration.privateKeyPath, openSSL: drainOpenSSLErrors())
        }

        if let caPath = configuration.clientCAPath {
            try TLSContext.requireReadable(caPath, role: "client CA")
            guard SSL_CTX_load_verify_locations(ctx, caPath, nil) == 1 else {
                throw .file(path: caPath, role: "client CA", problem: "not a PEM CA bundle OpenSSL can load",
                            openSSL: drainOpenSSLErrors())
            }
            // The CA names the server sends in CertificateRequest, so clients
            // holding several certificates pick the right one.
            if let names = SSL_load_client_CA_file(caPath) {
                SSL_CTX_set_client_CA_list(ctx, names)
            }
        } else if configuration.requireClientCertificate {
            preconditionFailure("TLSServerConfiguration requires client certificates without a client CA; this is a bug")
        }
        if configuration.requireClientCertificate {
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
            SSL_CTX_set_verify_depth(ctx, Int32(configuration.verifyDepth))
        } else {
            SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nil)
        }
    }

    deinit {
        SSL_CTX_free(context)
    }

    private static func requireReadable(_ path: String, role: String) throws(TLSError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .file(path: path, role: role, problem: "no such file", openSSL: [])
        }
        guard !isDirectory.boolValue, FileManager.default.isReadableFile(atPath: path) else {
            throw .file(path: path, role: role, problem: "not a readable file", openSSL: [])
        }
    }
}
