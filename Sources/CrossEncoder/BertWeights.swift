import Foundation

/// The tensors of a checkpoint, looked up by their Hugging Face names
/// (`encoder.layer.0.attention.self.query.weight`) with or without the
/// `bert.` prefix and with the old `gamma`/`beta` LayerNorm names, each
/// checked against the shape the configuration implies.
public struct BertWeights: Sendable {
    public let file: SafetensorsFile

    public init(file: SafetensorsFile) { self.file = file }

    /// Opens `model.safetensors` in a model folder; a folder with only
    /// `pytorch_model.bin` gets an error naming the conversion script.
    public init(modelDirectory: String) throws(CrossEncoderError) {
        try ModelFolder.check(modelDirectory)
        let dir = URL(fileURLWithPath: modelDirectory)
        let path = dir.appendingPathComponent("model.safetensors").path
        guard FileManager.default.fileExists(atPath: path) else {
            let bin = FileManager.default.fileExists(atPath: dir.appendingPathComponent("pytorch_model.bin").path)
            throw .missingWeights(directory: modelDirectory, hasPyTorchBin: bin)
        }
        self.init(file: try SafetensorsFile(path: path))
    }

    /// The names under which `name` may be stored.
    func candidates(_ name: String) -> [String] {
        var names = [name]
        if name.hasSuffix("LayerNorm.weight") { names.append(String(name.dropLast(6)) + "gamma") }
        if name.hasSuffix("LayerNorm.bias") { names.append(String(name.dropLast(4)) + "beta") }
        var out: [String] = []
        for n in names {
            out.append(n)
            if n.hasPrefix("bert.") { out.append(String(n.dropFirst(5))) } else { out.append("bert." + n) }
        }
        return out
    }

    public func contains(_ name: String) -> Bool {
        candidates(name).contains { file.tensors[$0] != nil }
    }

    /// The tensor `name` as Float, after checking its shape is `shape`.
    public func tensor(_ name: String, shape: [Int]) throws(CrossEncoderError) -> [Float] {
        guard let stored = candidates(name).first(where: { file.tensors[$0] != nil }) else {
            throw .missingTensor(name: name, path: file.path)
        }
        let actual = file.tensors[stored]!.shape
        guard actual == shape else {
            throw .tensorShapeMismatch(name: stored, path: file.path, expected: shape, actual: actual)
        }
        return try file.floats(stored)
    }
}
