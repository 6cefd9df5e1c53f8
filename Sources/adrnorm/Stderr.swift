import Foundation

/// stderr, unbuffered (progress and diagnostics).
enum Stderr {
    static func write(_ s: String) { FileHandle.standardError.write(Data(s.utf8)) }
}
