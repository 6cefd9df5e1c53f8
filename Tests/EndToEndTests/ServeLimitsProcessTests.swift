import Foundation
import LoopbackSupport
import RPCClient
import RPCServer
import ServiceAdapter
import Transport
import Wire
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
                      ("--drain-timeout", "-1"), ("--stream-idle-timeout", "1e10"), ("--stream-idle-timeout", "-1"),
                      ("--write-timeout", "1e300"), ("--write-timeout", "nan")])
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

    /// Runs `adrnorm serve` with `arguments` (after the TLS flags), which
    /// must be refused: whether it ended by itself, and its log.
    static func refusedServe(_ arguments: [String], name: String) throws -> (ended: Bool, exitedNonZero: Bool, log: String) {
        let process = Process()
        process.executableURL = AdrnormExecutable.url
        process.arguments = ["serve", "--listen", "127.0.0.1:0", "--no-model"] + tlsArguments + arguments
        let (url, handle) = try logFile(name)
        defer { try? FileManager.default.removeItem(at: url) }
        process.standardError = handle
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let ended = wait(process, seconds: 20)
        try handle.close()
        let log = try String(contentsOf: url, encoding: .utf8)
        return (ended, process.terminationReason == .exit && process.terminationStatus != 0, log)
    }

    @Test("a byte budget flag below one frame, or a total below its per-connection share, is a usage error naming the flag",
          arguments: [["--max-request-mib-per-connection", "3"], ["--max-queued-output-mib", "0"],
                      ["--max-request-mib", "16", "--max-request-mib-per-connection", "32"],
                      ["--max-queued-output-mib", "8", "--max-queued-output-mib-per-connection", "16"]])
    func byteBudgetFlags(arguments: [String]) throws {
        let (ended, refused, log) = try Self.refusedServe(arguments, name: "budget")
        #expect(ended, "adrnorm serve \(arguments) was accepted and served:\n\(log)")
        #expect(refused, "\(log)")
        #expect(log.contains(arguments[0]) && log.contains("MiB"), "the error must name \(arguments[0]):\n\(log)")
    }

    @Test("--malloc-arenas out of 0 … 1024 is a usage error naming the flag and its range, before anything starts",
          arguments: ["-1", "1025", "many"])
    func outOfRangeMallocArenas(value: String) throws {
        let (ended, refused, log) = try Self.refusedServe(["--malloc-arenas=\(value)"], name: "arenas")
        #expect(ended, "adrnorm serve --malloc-arenas \(value) was accepted and served:\n\(log)")
        #expect(refused, "\(log)")
        #expect(log.contains("--malloc-arenas"), "the error must name the flag:\n\(log)")
        if value != "many" { #expect(log.contains("1 to 1024"), "the error must give the range:\n\(log)") }
    }

    @Test("serve --help gives every seconds flag's range")
    func helpGivesRanges() throws {
        let help = try AdrnormExecutable.run(["serve", "--help"]).stdout
        let flat = help.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for flag in ["--handshake-timeout", "--idle-timeout", "--drain-timeout", "--stream-idle-timeout",
                     "--write-timeout"] {
            let range = try #require(flat.range(of: flag + " <"), "\(flag) missing from:\n\(help)")
            let text = flat[range.upperBound...].prefix(200)
            #expect(text.contains("86400"), "\(flag): \(text)")
        }
    }

    /// utime + stime of `pid`, in seconds, from /proc.
    static func cpuSeconds(_ pid: Int32) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    @Test("out of file descriptors (ulimit -n 48): accept backs off instead of spinning, logs a line or two, and recovers; the metrics port too")
    func outOfDescriptors() async throws {
        let (url, handle) = try Self.logFile("emfile")
        defer { try? FileManager.default.removeItem(at: url) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "ulimit -n 48 && exec \"$@\"", "sh", AdrnormExecutable.url.path, "serve",
                             "--listen", "127.0.0.1:0", "--no-model", "--handshake-timeout", "60",
                             "--metrics-listen", "127.0.0.1:0"] + Self.tlsArguments
        process.standardError = handle
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        var sockets: [Int32] = []
        defer {
            for fd in sockets { _ = Glibc.close(fd) }
            if process.isRunning { kill(process.processIdentifier, SIGTERM) }
            _ = Self.wait(process, seconds: 15)
            try? handle.close()
        }
        func log() -> String { (try? String(contentsOf: url, encoding: .utf8)) ?? "" }
        func metricsAcceptFailures() -> Int { log().components(separatedBy: "metrics endpoint: accept failed").count - 1 }
        func acceptFailures() -> Int { log().components(separatedBy: "accept failed").count - 1 - metricsAcceptFailures() }

        var port: Int?
        let started = Date()
        while port == nil && Date().timeIntervalSince(started) < 60 && process.isRunning {
            if let range = log().range(of: #"\(port (\d+)\)"#, options: .regularExpression) {
                port = Int(log()[range].dropFirst(6).dropLast())
            } else {
                usleep(50_000)
            }
        }
        let listening = try #require(port, "no port in the log:\n\(log())")
        var metricsPort: Int?
        while metricsPort == nil && Date().timeIntervalSince(started) < 60 && process.isRunning {
            if let range = log().range(of: #"/metrics \(port (\d+)\)"#, options: .regularExpression) {
                metricsPort = Int(log()[range].dropFirst(15).dropLast())
            } else {
                usleep(50_000)
            }
        }
        let metrics = try #require(metricsPort, "no metrics port in the log:\n\(log())")

        // More connections than descriptors: the server accepts until EMFILE.
        for _ in 0..<80 {
            guard let fd = RawHTTP.connect(port: listening, timeoutSeconds: nil) else { break }
            sockets.append(fd)
        }
        #expect(sockets.count == 80, "the backlog takes what the server cannot accept")
        let failing = Date()
        while acceptFailures() == 0 && Date().timeIntervalSince(failing) < 10 { usleep(50_000) }
        try #require(acceptFailures() > 0, "accept never failed; is the limit applied?\n\(log().suffix(2000))")
        // Scrapers waiting while out of descriptors: the metrics listener fails too.
        for _ in 0..<4 {
            if let fd = RawHTTP.connect(port: metrics, timeoutSeconds: nil) { sockets.append(fd) }
        }
        while metricsAcceptFailures() == 0 && Date().timeIntervalSince(failing) < 10 { usleep(50_000) }
        try #require(metricsAcceptFailures() > 0, "the metrics accept never failed\n\(log().suffix(2000))")

        let pid = process.processIdentifier
        let cpuBefore = try #require(Self.cpuSeconds(pid))
        let failuresBefore = acceptFailures(), metricsFailuresBefore = metricsAcceptFailures()
        try await Task.sleep(for: .seconds(2))
        let cpu = try #require(Self.cpuSeconds(pid)) - cpuBefore
        let newLines = acceptFailures() - failuresBefore
        let newMetricsLines = metricsAcceptFailures() - metricsFailuresBefore
        #expect(newMetricsLines <= 3, "\(newMetricsLines) 'metrics endpoint: accept failed' lines in 2 s (one per 1 s pause)")
        #expect(cpu < 0.4, "the server used \(cpu) s of CPU in 2 s while out of descriptors")
        #expect(newLines <= 2, "\(newLines) 'accept failed' lines in 2 s")
        #expect(process.isRunning)

        // Freeing descriptors lets it accept again.
        for fd in sockets { _ = Glibc.close(fd) }
        sockets = []
        let tls = TLSClientConfiguration(trustedCAPath: DemoServer.certificate("ca.pem"),
                                         certificateChainPath: DemoServer.certificate("client-a.pem"),
                                         privateKeyPath: DemoServer.certificate("client-a.key"))
        var served = false
        let recovering = Date()
        while !served && Date().timeIntervalSince(recovering) < 15 {
            if let client = try? await RPCClient.connect(.init(address: "127.0.0.1:\(listening)", tls: tls,
                                                               connectTimeout: .seconds(5))) {
                served = (try? await client.health(timeout: .seconds(5)).status) == .serving
                client.close()
            }
            if !served { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(served, "no call was served after the descriptors were freed:\n\(log().suffix(2000))")
    }
}
