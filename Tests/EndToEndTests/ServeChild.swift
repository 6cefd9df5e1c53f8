import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A running `adrnorm serve` child whose stderr goes to a file: the log so
/// far, waiting for a line, and its RPC port. Killed when dropped.
final class ServeChild {
    let process = Process()
    let log: URL
    private let handle: FileHandle

    init(_ arguments: [String], in folder: URL) throws {
        log = folder.appendingPathComponent("serve-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        handle = try FileHandle(forWritingTo: log)
        process.executableURL = AdrnormExecutable.url
        process.arguments = ["serve"] + arguments
        process.standardError = handle
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        try? handle.close()
    }

    var text: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// Waits (up to 30 s) until `line` is in the log `count` times.
    func wait(for line: String, count: Int = 1) async throws {
        for _ in 0..<600 where text.components(separatedBy: line).count - 1 < count && process.isRunning {
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// The RPC port from "listening on … (port N)".
    func port() async throws -> Int {
        try await wait(for: "(port ")
        let log = text
        let range = try #require(log.range(of: #"\(port (\d+)\)"#, options: .regularExpression), "no port:\n\(log)")
        return try #require(Int(log[range].dropFirst(6).dropLast()))
    }

    func signal(_ number: Int32) { kill(process.processIdentifier, number) }
}
