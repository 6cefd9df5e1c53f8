import Digest
import Foundation
import Testing

@Suite("SHA-256 of a weights file")
struct FileDigestTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// What `sha256sum FILE` prints for the file.
    static func sha256sum(_ path: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
    }

    @Test("equals sha256sum on the demo model's model.safetensors (a digest, not a digest of the digest)")
    func demoWeights() throws {
        let path = Self.root.appendingPathComponent("Demo/model/model.safetensors").path
        let expected = try Self.sha256sum(path)
        #expect(expected.count == 64)
        #expect(try FileDigest.sha256(ofFile: path) == expected)
    }

    @Test("empty file and a file spanning several read chunks")
    func sizes() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("adrnorm-digest-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let empty = dir.appendingPathComponent("empty").path
        #expect(FileManager.default.createFile(atPath: empty, contents: Data()))
        #expect(try FileDigest.sha256(ofFile: empty) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let big = dir.appendingPathComponent("big").path
        #expect(FileManager.default.createFile(atPath: big, contents: Data((0..<(9 << 20) + 7).map { UInt8(truncatingIfNeeded: $0 &* 31) })))
        #expect(try FileDigest.sha256(ofFile: big) == Self.sha256sum(big))
    }

    @Test("a missing file is an error naming it")
    func missing() {
        do {
            _ = try FileDigest.sha256(ofFile: "/nonexistent/model.safetensors")
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("/nonexistent/model.safetensors"))
        }
    }
}
