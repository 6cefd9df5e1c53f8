import Foundation

/// Finds the synthetic demo assets in `Demo/` (with no `--dictionary`/
/// `--model`, every command uses the demo ones). Order: the folder named
/// by `ADRNORM_DEMO_DIR`; else the first `Demo/` holding the asset found by
/// walking up from the executable's folder (symlinks resolved, so a build in
/// `.build/release/` finds the checkout's `Demo/`); else walking up from the
/// current directory.
enum DemoAssets {
    static let environmentVariable = "ADRNORM_DEMO_DIR"
    /// Relative to `Demo/`.
    static let dictionaryPath = "dictionary/demo_dictionary.csv"
    static let modelPath = "model"

    /// The demo dictionary CSV.
    static func dictionary() throws -> String { try locate(dictionaryPath) }
    /// The demo model folder.
    static func model() throws -> String { try locate(modelPath) }

    static func locate(_ relative: String) throws -> String {
        let fm = FileManager.default
        if let dir = ProcessInfo.processInfo.environment[environmentVariable], !dir.isEmpty {
            let path = URL(fileURLWithPath: dir).appendingPathComponent(relative).path
            guard fm.fileExists(atPath: path) else {
                throw DemoAssetsError(message: "\(environmentVariable)=\(dir) has no \(relative)")
            }
            return path
        }
        if let found = findAbove("Demo/" + relative) { return found }
        throw DemoAssetsError(message: "cannot find Demo/\(relative) above the adrnorm executable or the current "
                              + "directory; pass the path explicitly or set \(environmentVariable) to the Demo folder")
    }

    /// The first `relative` path found walking up from the executable's
    /// folder, then from the current directory (a checkout's file).
    static func findAbove(_ relative: String) -> String? {
        let fm = FileManager.default
        var starts: [URL] = []
        if let exe = executablePath() { starts.append(URL(fileURLWithPath: exe).deletingLastPathComponent()) }
        starts.append(URL(fileURLWithPath: fm.currentDirectoryPath))
        for start in starts {
            var dir = start.standardizedFileURL
            while true {
                let candidate = dir.appendingPathComponent(relative)
                if fm.fileExists(atPath: candidate.path) { return candidate.path }
                let parent = dir.deletingLastPathComponent()
                if parent.path == dir.path || dir.path == "/" { break }
                dir = parent
            }
        }
        return nil
    }

    private static func executablePath() -> String? {
        if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return target }
        if let path = Bundle.main.executablePath {
            return URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        }
        return nil
    }
}

/// The demo assets could not be found.
struct DemoAssetsError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
