import Foundation
import RPC
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 16, item 7: `adrnorm serve` refuses out-of-range seconds flags, and
/// stays calm when it runs out of file descriptors. Every child is bounded
/// in time and killed at the end; all traffic is on 127.0.0.1.
@Suite(.serialized) struct ServeLimitsProcessTests {
    static let tlsArguments = ["--cert", DemoServer.certificate("server.pem"), "--key", DemoServer.certificate("server.key"),
                               "--client-ca", DemoServer.certificate("ca.pem")]

    /// Runs `process` to its end, or kills it after `seconds`; true when it ended by itself.
    static func wait(_ process: Process, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        guard process.isRunning else { return true }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        return false
    }

    /// A fresh empty file for a child's stderr.
    static func logFile(_ name: String) throws -> (URL, FileHandle) {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("adrnorm-\(name)-\(getpid()).log")
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        return (url, try FileHandle(forWritingTo: url))
    }

    @Test("a seconds flag out of range is a usage error naming the flag and its range, before anything starts",
          arguments: [("--handshake-timeout", "1e10"), ("--handshake-timeout", "1e300"), ("--handshake-timeout", "0"),
                      ("--handshake-timeout", "nan"), ("--handshake-timeout", "-1"), ("--idle-timeout", "1e10"),
                      ("--idle-timeout", "-1"), ("--idle-timeout", "inf"), ("--drain-timeout", "1e10"),
                      ("--drain-timeout", "-1")])
    func outOfRangeSeconds(flag: String, value: String) throws {
        let process = Process()
        process.executableURL = AdrnormExecutable.url
        process.arguments = ["serve", "--listen", "127.0.0.1:0", "--no-model", "\(flag)=\(value)"] + Self.tlsArguments
        let (url, handle) = try Self.logFile("flag")
        defer { try? FileManager.default.removeItem(at: url) }
        process.standardError = handle
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let ended = Self.wait(process, seconds: 20)
        try handle.close()
        let log = try String(contentsOf: url, encoding: .utf8)
        #expect(ended, "adrnorm serve \(flag) \(value) was accepted and served:\n\(log)")
        #expect(process.terminationReason == .exit && process.terminationStatus != 0, "\(log)")
        #expect(log.contains(flag) && log.contains("86400"), "the error must name \(flag) and its range:\n\(log)")
    }

    @Test("serve --help gives every seconds flag's range")
    func helpGivesRanges() throws {
        let help = try AdrnormExecutable.run(["serve", "--help"]).stdout
        let flat = help.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for flag in ["--handshake-timeout", "--idle-timeout", "--drain-timeout"] {
            let range = try #require(flat.range(of: flag + " <"), "\(flag) missing from:\n\(help)")
            let text = flat[range.upperBound...].prefix(200)
            #expect(text.contains("86400"), "\(flag): \(text)")
        }
    }
}
