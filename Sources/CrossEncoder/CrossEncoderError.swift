import Foundation

/// Everything that can go wrong while loading or running the cross-encoder.
/// Each message names the file, the field or tensor, and what to do.
public enum CrossEncoderError: Error, CustomStringConvertible, Equatable {
    /// A file could not be opened or read.
    case unreadableFile(path: String, reason: String)
    /// `vocab.txt` is empty or lacks a token the tokenizer needs.
    case invalidVocabulary(path: String, problem: String)
    /// A JSON file (`config.json`, `tokenizer_config.json`) is malformed or has
    /// a field with a value we cannot use.
    case invalidConfiguration(path: String, field: String?, problem: String)
    /// A safetensors file whose header or data region is inconsistent.
    case invalidSafetensors(path: String, problem: String)
    /// The model folder does not exist, or the path is not a folder.
    case modelFolderNotFound(path: String, isFile: Bool)
    /// The model folder has no `model.safetensors`.
    case missingWeights(directory: String, hasPyTorchBin: Bool)
    /// A tensor the architecture needs is not in the checkpoint.
    case missingTensor(name: String, path: String)
    /// A tensor whose shape disagrees with `config.json`.
    case tensorShapeMismatch(name: String, path: String, expected: [Int], actual: [Int])
    /// A caller-supplied value out of range (for example `max_length` below 3).
    case invalidArgument(name: String, problem: String)

    public var description: String {
        switch self {
        case let .unreadableFile(path, reason):
            return "\(path): cannot read (\(reason))"
        case let .invalidVocabulary(path, problem):
            return "\(path): invalid vocabulary: \(problem)"
        case let .invalidConfiguration(path, field, problem):
            if let field { return "\(path): field \(field): \(problem)" }
            return "\(path): \(problem)"
        case let .invalidSafetensors(path, problem):
            return "\(path): invalid safetensors file: \(problem)"
        case let .modelFolderNotFound(path, isFile):
            if isFile {
                return "\(path): is a file, not a model folder (give the folder that holds config.json, vocab.txt "
                    + "and model.safetensors)"
            }
            return "\(path): model folder not found"
        case let .missingWeights(directory, hasPyTorchBin):
            if hasPyTorchBin {
                return "\(directory): only pytorch_model.bin found; adrnorm reads model.safetensors. "
                    + "Convert it with: Scripts/convert-to-safetensors \(directory)"
            }
            return "\(directory): no model.safetensors in the model folder"
        case let .missingTensor(name, path):
            return "\(path): tensor \(name) is missing (also looked for it with and without the bert. prefix "
                + "and with gamma/beta LayerNorm names)"
        case let .tensorShapeMismatch(name, path, expected, actual):
            return "\(path): tensor \(name) has shape \(actual), config.json implies \(expected)"
        case let .invalidArgument(name, problem):
            return "\(name): \(problem)"
        }
    }
}
