import Wire
internal import COpenSSL

/// Drains OpenSSL's thread-local error queue into readable strings, oldest
/// first. Call `ERR_clear_error()` before an OpenSSL call and this after a
/// failure.
func drainOpenSSLErrors() -> [String] {
    var errors: [String] = []
    while true {
        let code = ERR_get_error()
        if code == 0 { break }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        errors.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
    return errors
}
