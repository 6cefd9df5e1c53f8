import Foundation

/// JSON object files with errors that name the file.
enum JSONFile {
    static func object(at path: String) throws(CrossEncoderError) -> [String: Any] {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .unreadableFile(path: path, reason: error.localizedDescription)
        }
        let parsed: Any
        do { parsed = try JSONSerialization.jsonObject(with: data) } catch {
            throw .invalidConfiguration(path: path, field: nil, problem: "not valid JSON (\(error.localizedDescription))")
        }
        guard let object = parsed as? [String: Any] else {
            throw .invalidConfiguration(path: path, field: nil, problem: "expected a JSON object at the top level")
        }
        return object
    }

    /// JSONSerialization on Linux reads true/false as an NSNumber whose
    /// objCType is "c"; 0 and 1 are plain numbers.
    static func isBool(_ n: NSNumber) -> Bool {
        type(of: n) != NSNumber.self && String(cString: n.objCType) == "c"
    }
}
