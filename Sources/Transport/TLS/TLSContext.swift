import Wire
import Foundation
internal import COpenSSL
internal import CShims

/// The lowest TLS version a context accepts.
public enum TLSMinimumVersion: String, Sendable, CaseIterable {
    case tls12 = "1.2"
    case tls13 = "1.3"
}

/// What a server TLS context is made from (docs/PROTOCOL.md §Transport and TLS).
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

    /// Key exchange offered, TLS 1.3 and 1.2 alike (Mozilla's intermediate
    /// profile): no finite-field groups, whose ffdhe8192 exchange cost ~185 ms
    /// of server CPU per ClientHello before any certificate was checked.
    public static let groups = "X25519:P-256:P-384"

    let context: OpaquePointer
    public let configuration: TLSServerConfiguration
    /// The server's ALPN preferences in wire format, behind a 2-byte length;
    /// read by `alpnSelectCallback`, which gets this pointer as its `arg`.
    private let alpnPreferences: UnsafeMutableRawBufferPointer

    public init(server configuration: TLSServerConfiguration) throws(TLSError) {
        self.configuration = configuration
        ERR_clear_error()
        guard let ctx = SSL_CTX_new(TLS_server_method()) else {
            throw .openSSL(operation: "SSL_CTX_new", errors: drainOpenSSLErrors())
        }
        context = ctx
        let wire = alpnWireFormat(configuration.alpnProtocols)
        alpnPreferences = .allocate(byteCount: wire.count + 2, alignment: 1)
        alpnPreferences[0] = UInt8(wire.count >> 8)
        alpnPreferences[1] = UInt8(wire.count & 0xFF)
        for (i, byte) in wire.enumerated() { alpnPreferences[i + 2] = byte }
        // From here on `deinit` frees `ctx` if a later step throws.
        if !configuration.alpnProtocols.isEmpty {
            SSL_CTX_set_alpn_select_cb(ctx, alpnSelectCallback, alpnPreferences.baseAddress)
            // OpenSSL asks the select callback only when the client offers
            // ALPN; a ClientHello without it is refused here, before any key
            // exchange.
            SSL_CTX_set_client_hello_cb(ctx, requireALPNCallback, nil)
        }
        ERR_clear_error()
        guard adrn_SSL_CTX_set1_groups_list(ctx, TLSContext.groups) == 1 else {
            throw .openSSL(operation: "setting the key-exchange groups", errors: drainOpenSSLErrors())
        }
        // Connections are long-lived and clients few: resumption tickets
        // would only add a round of post-handshake records.
        _ = SSL_CTX_set_num_tickets(ctx, 0)
        let minimum = configuration.minimumVersion == .tls13 ? TLS1_3_VERSION : TLS1_2_VERSION
        ERR_clear_error()
        guard adrn_SSL_CTX_set_min_proto_version(ctx, minimum) == 1 else {
            throw .openSSL(operation: "setting the minimum TLS version", errors: drainOpenSSLErrors())
        }
        _ = adrn_SSL_CTX_set_options(ctx, adrn_SSL_OP_NO_RENEGOTIATION() | adrn_SSL_OP_NO_COMPRESSION()
                                          | adrn_SSL_OP_CIPHER_SERVER_PREFERENCE())
        _ = adrn_SSL_CTX_set_mode(ctx, adrn_SSL_MODE_ENABLE_PARTIAL_WRITE() | adrn_SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER())
        if configuration.minimumVersion == .tls12 {
            ERR_clear_error()
            guard SSL_CTX_set_cipher_list(ctx, TLSContext.tls12CipherList) == 1 else {
                throw .openSSL(operation: "setting the TLS 1.2 cipher list", errors: drainOpenSSLErrors())
            }
        }

        try TLSContext.requireReadable(configuration.certificateChainPath, role: "certificate")
        try TLSContext.requireReadable(configuration.privateKeyPath, role: "private key")
        ERR_clear_error()
        guard SSL_CTX_use_certificate_chain_file(ctx, configuration.certificateChainPath) == 1 else {
            throw .file(path: configuration.certificateChainPath, role: "certificate",
                        problem: "not a PEM certificate chain OpenSSL can load", openSSL: drainOpenSSLErrors())
        }
        ERR_clear_error()
        guard SSL_CTX_use_PrivateKey_file(ctx, configuration.privateKeyPath, SSL_FILETYPE_PEM) == 1 else {
            let errors = drainOpenSSLErrors()
            if errors.contains(where: { $0.contains("key values mismatch") }) {
                throw .keyMismatch(certificatePath: configuration.certificateChainPath,
                                   keyPath: configuration.privateKeyPath, openSSL: errors)
            }
            throw .file(path: configuration.privateKeyPath, role: "private key",
                        problem: "not a PEM private key OpenSSL can load", openSSL: errors)
        }
        ERR_clear_error()
        guard SSL_CTX_check_private_key(ctx) == 1 else {
            throw .keyMismatch(certificatePath: configuration.certificateChainPath,
                               keyPath: configuration.privateKeyPath, openSSL: drainOpenSSLErrors())
        }

        if let caPath = configuration.clientCAPath {
            try TLSContext.requireReadable(caPath, role: "client CA")
            ERR_clear_error()
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
        alpnPreferences.deallocate()
    }

    static func requireReadable(_ path: String, role: String) throws(TLSError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .file(path: path, role: role, problem: "no such file", openSSL: [])
        }
        guard !isDirectory.boolValue, FileManager.default.isReadableFile(atPath: path) else {
            throw .file(path: path, role: role, problem: "not a readable file", openSSL: [])
        }
    }
}

/// The ALPN protocol list in TLS wire format: each name behind its length byte.
func alpnWireFormat(_ protocols: [String]) -> [UInt8] {
    var wire: [UInt8] = []
    for name in protocols {
        let bytes = Array(name.utf8)
        precondition(!bytes.isEmpty && bytes.count < 256, "ALPN protocol \"\(name)\" must be 1-255 bytes; this is a bug")
        wire.append(UInt8(bytes.count))
        wire.append(contentsOf: bytes)
    }
    return wire
}

/// Refuses a ClientHello that offers no ALPN with the no_application_protocol
/// alert (the protocol is `adrn/1`; a client that does not say so is not ours).
private let requireALPNCallback: @convention(c) (OpaquePointer?, UnsafeMutablePointer<Int32>?, UnsafeMutableRawPointer?)
    -> Int32 = { ssl, alert, _ in
    var data: UnsafePointer<UInt8>? = nil
    var length = 0
    if SSL_client_hello_get0_ext(ssl, UInt32(TLSEXT_TYPE_application_layer_protocol_negotiation), &data, &length) == 1 {
        return SSL_CLIENT_HELLO_SUCCESS
    }
    alert?.pointee = TLS1_AD_NO_APPLICATION_PROTOCOL
    return SSL_CLIENT_HELLO_ERROR
}

/// Server-side ALPN selection: the first of the server's protocols that the
/// client offered; no overlap is a fatal handshake alert. A client that
/// offers no ALPN at all is not asked (OpenSSL does not call this).
private let alpnSelectCallback: @convention(c) (
    OpaquePointer?, UnsafeMutablePointer<UnsafePointer<UInt8>?>?, UnsafeMutablePointer<UInt8>?,
    UnsafePointer<UInt8>?, UInt32, UnsafeMutableRawPointer?
) -> Int32 = { _, out, outLength, clientList, clientLength, arg in
    guard let out, let outLength, let clientList, let arg else { return SSL_TLSEXT_ERR_ALERT_FATAL }
    let preferences = arg.assumingMemoryBound(to: UInt8.self)
    let serverLength = Int(preferences[0]) << 8 | Int(preferences[1])
    var s = 2
    while s < serverLength + 2 {
        let n = Int(preferences[s])
        var c = 0
        while c < Int(clientLength) {
            let m = Int(clientList[c])
            if m == n && c + 1 + m <= Int(clientLength)
                && memcmp(clientList + c + 1, preferences + s + 1, n) == 0 {
                out.pointee = clientList + c + 1
                outLength.pointee = UInt8(m)
                return SSL_TLSEXT_ERR_OK
            }
            c += 1 + m
        }
        s += 1 + n
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL
}

/// What a client TLS context is made from: the CA that signed the server's
/// certificate, and the client's own certificate and key (omit both only
/// against a server in `--insecure-no-client-auth` mode).
public struct TLSClientConfiguration: Sendable {
    public var trustedCAPath: String
    public var certificateChainPath: String?
    public var privateKeyPath: String?
    public var minimumVersion: TLSMinimumVersion
    /// Cap on the version offered; `.tls12` makes a TLS 1.2-only client
    /// (for compatibility tests).
    public var maximumVersion: TLSMinimumVersion?
    public var alpnProtocols: [String]
    /// Key-exchange groups offered, as an OpenSSL list; the server's own by
    /// default (tests offer others to check the server refuses them).
    public var groups: String

    public init(trustedCAPath: String, certificateChainPath: String? = nil, privateKeyPath: String? = nil,
                minimumVersion: TLSMinimumVersion = .tls13, maximumVersion: TLSMinimumVersion? = nil,
                alpnProtocols: [String] = ["adrn/1"], groups: String = TLSContext.groups) {
        self.groups = groups
        self.trustedCAPath = trustedCAPath
        self.certificateChainPath = certificateChainPath
        self.privateKeyPath = privateKeyPath
        self.minimumVersion = minimumVersion
        self.maximumVersion = maximumVersion
        self.alpnProtocols = alpnProtocols
    }
}

/// Owns one client-side `SSL_CTX`: verifies the server against the trusted
/// CA and presents the client certificate. Shared read-only once built.
public final class TLSClientContext: @unchecked Sendable {
    let context: OpaquePointer
    public let configuration: TLSClientConfiguration

    public init(client configuration: TLSClientConfiguration) throws(TLSError) {
        self.configuration = configuration
        ERR_clear_error()
        guard let ctx = SSL_CTX_new(TLS_client_method()) else {
            throw .openSSL(operation: "SSL_CTX_new", errors: drainOpenSSLErrors())
        }
        context = ctx
        let minimum = configuration.minimumVersion == .tls13 ? TLS1_3_VERSION : TLS1_2_VERSION
        ERR_clear_error()
        guard adrn_SSL_CTX_set_min_proto_version(ctx, minimum) == 1 else {
            throw .openSSL(operation: "setting the minimum TLS version", errors: drainOpenSSLErrors())
        }
        if let maximum = configuration.maximumVersion {
            ERR_clear_error()
            guard adrn_SSL_CTX_set_max_proto_version(ctx, maximum == .tls13 ? TLS1_3_VERSION : TLS1_2_VERSION) == 1 else {
                throw .openSSL(operation: "setting the maximum TLS version", errors: drainOpenSSLErrors())
            }
        }
        _ = adrn_SSL_CTX_set_options(ctx, adrn_SSL_OP_NO_RENEGOTIATION() | adrn_SSL_OP_NO_COMPRESSION())
        _ = adrn_SSL_CTX_set_mode(ctx, adrn_SSL_MODE_ENABLE_PARTIAL_WRITE() | adrn_SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER())
        ERR_clear_error()
        guard adrn_SSL_CTX_set1_groups_list(ctx, configuration.groups) == 1 else {
            throw .openSSL(operation: "setting the key-exchange groups \(configuration.groups)", errors: drainOpenSSLErrors())
        }
        ERR_clear_error()
        guard SSL_CTX_set_cipher_list(ctx, TLSContext.tls12CipherList) == 1 else {
            throw .openSSL(operation: "setting the TLS 1.2 cipher list", errors: drainOpenSSLErrors())
        }
        try TLSContext.requireReadable(configuration.trustedCAPath, role: "CA")
        ERR_clear_error()
        guard SSL_CTX_load_verify_locations(ctx, configuration.trustedCAPath, nil) == 1 else {
            throw .file(path: configuration.trustedCAPath, role: "CA", problem: "not a PEM CA bundle OpenSSL can load",
                        openSSL: drainOpenSSLErrors())
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
        if let certificate = configuration.certificateChainPath {
            guard let key = configuration.privateKeyPath else {
                throw .file(path: certificate, role: "client certificate", problem: "given without its private key",
                            openSSL: [])
            }
            try TLSContext.requireReadable(certificate, role: "client certificate")
            try TLSContext.requireReadable(key, role: "client private key")
            ERR_clear_error()
            guard SSL_CTX_use_certificate_chain_file(ctx, certificate) == 1 else {
                throw .file(path: certificate, role: "client certificate",
                            problem: "not a PEM certificate chain OpenSSL can load", openSSL: drainOpenSSLErrors())
            }
            ERR_clear_error()
            guard SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1,
                  SSL_CTX_check_private_key(ctx) == 1 else {
                throw .keyMismatch(certificatePath: certificate, keyPath: key, openSSL: drainOpenSSLErrors())
            }
        }
        if !configuration.alpnProtocols.isEmpty {
            let wire = alpnWireFormat(configuration.alpnProtocols)
            ERR_clear_error()
            // Unlike most OpenSSL calls, this one returns 0 on success.
            ERR_clear_error()
            guard SSL_CTX_set_alpn_protos(ctx, wire, UInt32(wire.count)) == 0 else {
                throw .openSSL(operation: "setting ALPN protocols", errors: drainOpenSSLErrors())
            }
        }
    }

    deinit {
        SSL_CTX_free(context)
    }
}
