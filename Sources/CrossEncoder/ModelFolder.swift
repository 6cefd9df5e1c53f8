import Foundation

/// Model folders given by path (`--model`, `modelDirectory:`).
enum ModelFolder {
    /// Throws `.modelFolderNotFound` unless `path` is an existing folder, so
    /// that a mistyped path is reported as such rather than as the first
    /// file inside it that could not be read.
    static func check(_ path: String) throws(CrossEncoderError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .modelFolderNotFound(path: path, isFile: false)
        }
        guard isDirectory.boolValue else { throw .modelFolderNotFound(path: path, isFile: true) }
    }
}
