import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reads a text file line by line without loading it whole, with 1-based
/// line numbers, decoding UTF-8 (the default) or GB18030 (which reads GBK
/// too) into `String`s. A byte-order mark on the first line is dropped;
/// "\r\n" endings read as "\n". A line that does not decode is an error
/// naming the file and line; `readLine()` goes on past it, `next()` stops.
public final class TextLineReader: Sequence, IteratorProtocol {
    public struct Line: Sendable {
        public var number: Int
        public var text: String
    }

    public enum Error: Swift.Error, CustomStringConvertible, Equatable {
        case cannotOpen(path: String, reason: String)
        /// The bytes of `line` are not valid in `encoding`.
        case undecodable(path: String, line: Int, encoding: SourceEncoding)

        /// What is wrong, without the file and line: for an input file read
        /// as UTF-8 it suggests `--input-encoding gb18030` (GBK and GB18030
        /// files are the usual cause).
        public var problem: String {
            switch self {
            case .cannotOpen(_, let reason): "cannot open (\(reason))"
            case .undecodable(_, _, .utf8): "not valid UTF-8 (a GBK or GB18030 file? pass --input-encoding gb18030)"
            case .undecodable(_, _, let encoding): "not valid \(encoding.displayName)"
            }
        }

        public var description: String {
            switch self {
            case .cannotOpen(let path, _): "\(path): \(problem)"
            case .undecodable(let path, let line, _): "\(path):\(line): \(problem)"
            }
        }
    }

    public let path: String
    public let encoding: SourceEncoding
    private let file: UnsafeMutablePointer<FILE>
    private var buffer: UnsafeMutablePointer<CChar>? = nil
    private var capacity = 0
    private var lineNumber = 0
    /// Set when `next()` stopped on a line that does not decode; `next()`
    /// then returns nil.
    public private(set) var failure: Error?

    /// `path` "-" reads standard input.
    public init(path: String, encoding: SourceEncoding = .utf8) throws(Error) {
        self.path = path
        self.encoding = encoding
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

    /// The next line, or nil at the end of the file (check `failure`): stops
    /// at the first line that does not decode.
    public func next() -> Line? {
        guard failure == nil, let result = readLine() else { return nil }
        switch result {
        case .success(let line): return line
        case .failure(let error):
            failure = error
            return nil
        }
    }

    /// The next line, or its decoding error (reading goes on with the line
    /// after it), or nil at the end of the file.
    public func readLine() -> Result<Line, Error>? {
        let count = getline(&buffer, &capacity, file)
        guard count >= 0, let buffer else { return nil }
        lineNumber += 1
        var bytes = UnsafeBufferPointer(start: UnsafeRawPointer(buffer).assumingMemoryBound(to: UInt8.self), count: count)
        if bytes.last == 0x0A { bytes = UnsafeBufferPointer(rebasing: bytes.dropLast()) }
        if bytes.last == 0x0D { bytes = UnsafeBufferPointer(rebasing: bytes.dropLast()) }
        var utf8: [UInt8]
        if encoding == .gb18030 && bytes.contains(where: { $0 >= 0x80 }) {
            // GB18030 never uses 0x0A inside a character, so lines split as in UTF-8.
            do { utf8 = try SourceText.convertGB18030(Array(bytes), path: path) } catch {
                return .failure(.undecodable(path: path, line: lineNumber, encoding: encoding))
            }
        } else {
            utf8 = Array(bytes)
        }
        if lineNumber == 1 && utf8.starts(with: [0xEF, 0xBB, 0xBF]) { utf8.removeFirst(3) }
        guard let text = String(validating: utf8, as: UTF8.self) else {
            return .failure(.undecodable(path: path, line: lineNumber, encoding: encoding))
        }
        return .success(Line(number: lineNumber, text: text))
    }

    /// Every line, throwing on the first that does not decode (for files
    /// small enough to hold).
    public func readAll() throws(Error) -> [Line] {
        var lines: [Line] = []
        while let line = next() { lines.append(line) }
        if let failure { throw failure }
        return lines
    }
}
