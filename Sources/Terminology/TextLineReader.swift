import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reads a UTF-8 text file line by line without loading it whole, with
/// 1-based line numbers. A UTF-8 byte-order mark on the first line is
/// dropped; "\r\n" endings read as "\n". Invalid UTF-8 is an error naming
/// the file and line.
public final class TextLineReader: Sequence, IteratorProtocol {
    public struct Line: Sendable {
        public var number: Int
        public var text: String
    }

    public enum Error: Swift.Error, CustomStringConvertible, Equatable {
        case cannotOpen(path: String, reason: String)
        case invalidUTF8(path: String, line: Int)
        public var description: String {
            switch self {
            case .cannotOpen(let path, let reason): "\(path): cannot open (\(reason))"
            case .invalidUTF8(let path, let line): "\(path):\(line): invalid UTF-8"
            }
        }
    }

    public let path: String
    private let file: UnsafeMutablePointer<FILE>
    private var buffer: UnsafeMutablePointer<CChar>? = nil
    private var capacity = 0
    private var lineNumber = 0
    /// Set when iteration stopped on invalid UTF-8; `next()` then returns nil.
    public private(set) var failure: Error?

    /// `path` "-" reads standard input.
    public init(path: String) throws(Error) {
        self.path = path
        // Standard input is read through its own FILE on a duplicate of fd 0,
        // so that closing it in deinit leaves the process's stdin alone.
        let opened = path == "-" ? fdopen(dup(0), "rb") : fopen(path, "rb")
        guard let opened else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        file = opened
    }

    deinit {
        free(buffer)
        fclose(file)
    }

    /// The next line, or nil at the end of the file (check `failure`).
    public func next() -> Line? {
        guard failure == nil else { return nil }
        let count = getline(&buffer, &capacity, file)
        guard count >= 0, let buffer else { return nil }
        lineNumber += 1
        var bytes = UnsafeBufferPointer(start: UnsafeRawPointer(buffer).assumingMemoryBound(to: UInt8.self), count: count)
        if bytes.last == 0x0A { bytes = UnsafeBufferPointer(rebasing: bytes.dropLast()) }
        if bytes.last == 0x0D { bytes = UnsafeBufferPointer(rebasing: bytes.dropLast()) }
        if lineNumber == 1 && bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            bytes = UnsafeBufferPointer(rebasing: bytes.dropFirst(3))
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            failure = .invalidUTF8(path: path, line: lineNumber)
            return nil
        }
        return Line(number: lineNumber, text: text)
    }

    /// Every line, throwing on invalid UTF-8 (for files small enough to hold).
    public func readAll() throws(Error) -> [Line] {
        var lines: [Line] = []
        while let line = next() { lines.append(line) }
        if let failure { throw failure }
        return lines
    }
}
