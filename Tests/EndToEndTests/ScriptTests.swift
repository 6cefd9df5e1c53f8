import Foundation
import Testing

/// Runs the repository's shell scripts (Scripts/…) the way a user would.
enum RepositoryScript {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func scratch() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("adrnorm-script-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// An executable shell script at `path`.
    static func shell(_ path: URL, _ body: String) throws {
        try ("#!/bin/sh\n" + body + "\n").write(to: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path.path)
    }

    static func run(_ script: String, _ arguments: [String], environment: [String: String] = [:],
                    timeout: TimeInterval = 300) throws -> AdrnormExecutable.Result {
        let process = Process()
        process.executableURL = script.hasPrefix("/") ? URL(fileURLWithPath: script) : root.appendingPathComponent(script)
        process.arguments = arguments
        process.currentDirectoryURL = root
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = try scratch().appendingPathComponent("out"), err = out.deletingLastPathComponent().appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        return .init(status: process.terminationStatus, stdout: try String(contentsOf: out, encoding: .utf8),
                     stderr: try String(contentsOf: err, encoding: .utf8))
    }
}

/// Issue 15 item 7.3: Scripts/convert-to-safetensors needs only torch and
/// safetensors, from any Python (ADRNORM_PYTHON), not the test environment.
@Suite("Scripts/convert-to-safetensors: any Python with torch and safetensors")
struct ConvertToSafetensorsScriptTests {
    @Test("a Python without torch and safetensors: a message naming both packages and that Python, exit 2")
    func missingPackages() throws {
        let dir = try RepositoryScript.scratch()
        // -S: no site-packages, so neither torch nor safetensors can be imported.
        let python = dir.appendingPathComponent("bare-python")
        try RepositoryScript.shell(python, "exec python3 -S \"$@\"")
        let r = try RepositoryScript.run("Scripts/convert-to-safetensors", [dir.path],
                                         environment: ["ADRNORM_PYTHON": python.path], timeout: 60)
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains(python.path) && r.stderr.contains("torch") && r.stderr.contains("safetensors"),
                "\(r.stderr)")
        #expect(!r.stderr.contains("installing"), "it must not build the Python test environment: \(r.stderr)")
    }

    @Test("converts with a Python that has torch and safetensors but cannot import transformers",
          .enabled(if: ProcessInfo.processInfo.environment["ADRNORM_PYTHON"] != nil,
                   "ADRNORM_PYTHON is not set (Scripts/test sets it to a Python with torch and safetensors)"))
    func convertsWithoutTransformers() throws {
        let reference = ProcessInfo.processInfo.environment["ADRNORM_PYTHON"]!
        let dir = try RepositoryScript.scratch()
        let model = dir.appendingPathComponent("bin-only")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        let maker = dir.appendingPathComponent("make.py")
        try """
            import sys, torch
            torch.save({"w": torch.arange(6, dtype=torch.float32).reshape(2, 3)}, sys.argv[1])
            """.write(to: maker, atomically: true, encoding: .utf8)
        let save = Process()
        save.executableURL = URL(fileURLWithPath: reference)
        save.arguments = [maker.path, model.appendingPathComponent("pytorch_model.bin").path]
        try save.run()
        save.waitUntilExit()
        try #require(save.terminationStatus == 0)
        // A Python whose `import transformers` fails: the converter must not need it.
        let poison = dir.appendingPathComponent("poison")
        try FileManager.default.createDirectory(at: poison, withIntermediateDirectories: true)
        try "raise ImportError('convert-to-safetensors must not import transformers')\n"
            .write(to: poison.appendingPathComponent("transformers.py"), atomically: true, encoding: .utf8)
        let python = dir.appendingPathComponent("python-without-transformers")
        try RepositoryScript.shell(python, "PYTHONPATH=\(poison.path) exec \(reference) \"$@\"")
        let r = try RepositoryScript.run("Scripts/convert-to-safetensors", [model.path],
                                         environment: ["ADRNORM_PYTHON": python.path], timeout: 120)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(FileManager.default.fileExists(atPath: model.appendingPathComponent("model.safetensors").path))
    }
}
