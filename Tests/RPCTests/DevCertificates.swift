import Foundation

/// The development certificates of Certs/make-dev-certs, made on first use
/// into Certs/out (git-ignored). The script is idempotent, so concurrent test
/// processes at worst make the same files twice.
enum DevCertificates {
    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let directory: URL = {
        let out = repositoryRoot.appendingPathComponent("Certs/out")
        let script = repositoryRoot.appendingPathComponent("Certs/make-dev-certs")
        let process = Process()
        process.executableURL = script
        process.arguments = [out.path]
        process.standardOutput = FileHandle.nullDevice
        do {
            try process.run()
            process.waitUntilExit()
        } catch {
            preconditionFailure("could not run \(script.path): \(error)")
        }
        precondition(process.terminationStatus == 0, "\(script.path) failed with status \(process.terminationStatus)")
        return out
    }()

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
}
