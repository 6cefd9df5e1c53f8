import Foundation
import Testing

/// Runs the built `adrnorm` executable, which sits beside the test bundle in
/// the build folder (`swift build --build-tests` builds both).
enum AdrnormExecutable {
    static let url: URL = {
        if let path = ProcessInfo.processInfo.environment["ADRNORM_BIN"] { return URL(fileURLWithPath: path) }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        // The bundle may be a folder (…/adrnormPackageTests.xctest/…) or a file.
        while !dir.path.isEmpty && dir.path != "/" {
            let candidate = dir.appendingPathComponent("adrnorm")
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDir), !isDir.boolValue {
                return candidate
            }
            dir = dir.deletingLastPathComponent()
        }
        preconditionFailure("adrnorm executable not found beside \(CommandLine.arguments[0]); set ADRNORM_BIN")
    }()

    struct Result { var status: Int32; var stdout: String; var stderr: String }

    static func run(_ arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = url
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }
}

@Suite struct CommandLineTests {
    static let subcommands = ["serve", "retrieve", "tokenize", "score", "normalize", "evaluate", "certs", "call", "bench"]

    @Test("--help lists every subcommand with a one-line purpose")
    func help() throws {
        let result = try AdrnormExecutable.run(["--help"])
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        for name in Self.subcommands {
            let line = lines.first { $0.trimmingCharacters(in: .whitespaces).hasPrefix(name + " ") }
            #expect(line != nil, "no line for \(name) in:\n\(result.stdout)")
            if let line {
                let purpose = line.trimmingCharacters(in: .whitespaces).dropFirst(name.count)
                #expect(purpose.trimmingCharacters(in: .whitespaces).count > 10, "\(name) has no purpose line")
            }
        }
    }

    @Test("every subcommand has --help", arguments: subcommands)
    func subcommandHelp(name: String) throws {
        let result = try AdrnormExecutable.run([name, "--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("USAGE: adrnorm \(name)"))
    }

    @Test("an unknown subcommand fails with a usage error")
    func unknown() throws {
        let result = try AdrnormExecutable.run(["frobnicate"])
        #expect(result.status != 0)
        #expect(!result.stderr.isEmpty)
    }

    @Test("serve: the removed --worker-threads and --max-queued-calls say what replaced them; --max-unscored-calls is checked",
          arguments: [["--worker-threads", "16"], ["--max-queued-calls", "4096"], ["--max-unscored-calls", "0"]])
    func removedServeFlags(flag: [String]) throws {
        let result = try AdrnormExecutable.run(["serve", "--cert", "c.pem", "--key", "k.pem", "--client-ca", "ca.pem"] + flag)
        #expect(result.status != 0)
        if flag[0] == "--max-unscored-calls" {
            #expect(result.stderr.contains("--max-unscored-calls must be at least 1"), "\(result.stderr)")
        } else {
            #expect(result.stderr.contains("were removed") && result.stderr.contains("--max-queued-pairs")
                    && result.stderr.contains("--max-unscored-calls"), "\(result.stderr)")
        }
        let help = try AdrnormExecutable.run(["serve", "--help"])
        #expect(help.stdout.contains("--max-unscored-calls") && !help.stdout.contains("--worker-threads"))
    }

    @Test("call --timeout out of range is a clear error, never a trap", arguments: ["1e300", "-1", "nan", "86401"])
    func callTimeoutRange(value: String) throws {
        let result = try AdrnormExecutable.run(["call", "health", "--server", "127.0.0.1:1", "--ca", "ca.pem", "--cert", "c.pem",
                                                "--key", "k.pem", "--timeout=\(value)"])
        #expect(result.status == 64 || result.status == 1, "exit \(result.status): \(result.stderr)")
        #expect(result.stderr.contains("--timeout must be 0 (none) or a number of seconds up to 86400"), "\(result.stderr)")
    }
}
