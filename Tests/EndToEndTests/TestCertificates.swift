import Foundation

/// Development certificates made for this test process by
/// Certs/make-dev-certs into a fresh temporary folder, so the suite needs no
/// Certs/out from an earlier run (or another suite) and never shares files
/// with a concurrent run. Made on first use; removed at exit.
enum TestCertificates {
    static let directory: URL = make()

    /// A second, independent set (its own CA): for certificate rotation.
    static let other: URL = make()

    static func path(_ name: String, in set: URL) -> String { set.appendingPathComponent(name).path }

    private static func make() -> URL {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let out = FileManager.default.temporaryDirectory
            .appendingPathComponent("adrnorm-e2e-certs-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
        let script = root.appendingPathComponent("Certs/make-dev-certs")
        let process = Process()
        process.executableURL = script
        process.arguments = [out.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
            process.waitUntilExit()
        } catch {
            preconditionFailure("could not run \(script.path): \(error)")
        }
        precondition(process.terminationStatus == 0,
                     "\(script.path) \(out.path) failed with status \(process.terminationStatus) (needs openssl)")
        let first = made.withLock { sets in
            sets.append(out)
            return sets.count == 1
        }
        if first {
            atexit { for set in TestCertificates.made.withLock({ $0 }) { try? FileManager.default.removeItem(at: set) } }
        }
        return out
    }

    /// Every set made, removed at exit.
    private static let made = LockedURLs()

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
}

final class LockedURLs: @unchecked Sendable {
    private let lock = NSLock()
    private var urls: [URL] = []

    func withLock<T>(_ body: (inout [URL]) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&urls)
    }
}
