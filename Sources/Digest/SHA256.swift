internal import COpenSSL

/// Streaming SHA-256 (FIPS 180-4) on OpenSSL's EVP digest, which uses the
/// CPU's SHA extensions where it has them: feed bytes with `update` as they
/// come, then call `finalize` once. Owns its `EVP_MD_CTX`, freed in `deinit`;
/// not copyable, so two owners can never share one context.
public struct SHA256: ~Copyable {
    private let context: OpaquePointer

    public init() {
        // With a built-in digest these fail only when memory runs out, which
        // Swift's own allocations treat as fatal too.
        guard let context = EVP_MD_CTX_new() else { preconditionFailure("EVP_MD_CTX_new failed: out of memory") }
        guard EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1 else {
            EVP_MD_CTX_free(context)
            preconditionFailure("EVP_DigestInit_ex(SHA-256) failed")
        }
        self.context = context
    }

    deinit { EVP_MD_CTX_free(context) }

    /// Feeds more bytes.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        guard EVP_DigestUpdate(context, base, bytes.count) == 1 else { preconditionFailure("EVP_DigestUpdate failed") }
    }

    /// Feeds the UTF-8 bytes of `text`.
    public mutating func update(_ text: String) {
        var text = text
        text.withUTF8 { update(UnsafeRawBufferPointer($0)) }
    }

    /// Feeds bytes from any collection (copied once when not contiguous).
    public mutating func update(_ bytes: some Collection<UInt8>) {
        let done: Void? = bytes.withContiguousStorageIfAvailable { update(UnsafeRawBufferPointer($0)) }
        if done == nil { Array(bytes).withUnsafeBytes { update($0) } }
    }

    /// The 32-byte digest; ends the hash.
    public consuming func finalize() -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard EVP_DigestFinal_ex(context, &digest, &length) == 1, length == 32 else {
            preconditionFailure("EVP_DigestFinal_ex failed")
        }
        return Array(digest.prefix(32))
    }

    /// The digest as 64 lowercase hex digits (what `sha256sum` prints); ends the hash.
    public consuming func finalizeHex() -> String { Self.hex(finalize()) }

    /// The SHA-256 of `bytes` as 64 lowercase hex digits.
    public static func hex(of bytes: some Collection<UInt8>) -> String {
        var hash = SHA256()
        hash.update(bytes)
        return hash.finalizeHex()
    }

    static func hex(_ digest: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = ""
        out.reserveCapacity(2 * digest.count)
        for byte in digest {
            out.unicodeScalars.append(Unicode.Scalar(digits[Int(byte >> 4)]))
            out.unicodeScalars.append(Unicode.Scalar(digits[Int(byte & 15)]))
        }
        return out
    }
}
