import Foundation
import Logging
import Terminology

/// Writes whole lines to a file descriptor (stderr for `adrnorm serve`),
/// one `write` each under a lock, so lines from many threads never interleave.
public final class LineWriter: @unchecked Sendable {
    private let lock = NSLock()
    private let handle: FileHandle

    public init(_ handle: FileHandle = .standardError) { self.handle = handle }

    public func write(_ line: String) {
        let data = Data((line + "\n").utf8)
        lock.withLock { handle.write(data) }
    }

    /// The time as the JSON lines carry it: RFC 3339, UTC, milliseconds.
    public static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}

/// swift-log's lines as JSON objects, one a line: time, level, logger,
/// message, then the metadata (`--log-format json`).
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let writer: LineWriter

    public init(label: String, writer: LineWriter) {
        self.label = label
        self.writer = writer
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [(String, JSONValue)] = [
            ("time", .string(LineWriter.timestamp(Date()))), ("level", .string(event.level.rawValue)),
            ("logger", .string(label)), ("message", .string("\(event.message)")),
        ]
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        for key in merged.keys.sorted() where !["time", "level", "logger", "message"].contains(key) {
            fields.append((key, Self.json(merged[key]!)))
        }
        writer.write(JSONValue.object(fields).text())
    }

    static func json(_ value: Logger.MetadataValue) -> JSONValue {
        switch value {
        case .string(let s): .string(s)
        case .stringConvertible(let c): .string(c.description)
        case .array(let values): .array(values.map(json))
        case .dictionary(let d): .object(d.keys.sorted().map { ($0, json(d[$0]!)) })
        }
    }
}
