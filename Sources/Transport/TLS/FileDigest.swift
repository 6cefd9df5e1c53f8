import Wire
internal import COpenSSL
import Foundation

/// SHA-256 of a file with OpenSSL's EVP digest, which uses the CPU's SHA
/// extensions where it has them (about 0.3 s for a 409 MB bert-base
/// safetensors file here, against 7 s for the byte-at-a-time Swift SHA-256
/// it replaces, and 1.8 s for `sha256sum`). OpenSSL lives in this module, so
/// the digest of model weights does too.
public enum FileDigest {
    /// The digest as 64 lowercase hex digits: the same as `sha256sum FILE`.
    public static func sha256(ofFile path: String) throws(FileDigestError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileDigestError(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        guard let context = EVP_MD_CTX_new() else { throw FileDigestError(path: path, reason: "EVP_MD_CTX_new failed") }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1 else {
            throw FileDigestError(path: path, reason: "EVP_DigestInit_ex failed")
        }
        let chunk = 4 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 64)
        defer { buffer.deallocate() }
        while true {
            let n = read(fd, buffer, chunk)
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileDigestError(path: path, reason: String(cString: strerror(errno)))
            }
            guard EVP_DigestUpdate(context, buffer, n) == 1 else {
                throw FileDigestError(path: path, reason: "EVP_DigestUpdate failed")
            }
        }
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard EVP_DigestFinal_ex(context, &digest, &length) == 1, length == 32 else {
            throw FileDigestError(path: path, reason: "EVP_DigestFinal_ex failed")
        }
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        var out = ""
        out.reserveCapacity(64)
        for byte in digest.prefix(32) {
            out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte >> 4)]))
            out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte & 15)]))
        }
        return out
    }
}

/// A file whose digest could not be computed.
public struct FileDigestError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "\(path): cannot compute its SHA-256 (\(reason))" }
}
