import Foundation
import Testing
import CrossEncoder

/// Writes a safetensors file: F32 tensors, plus raw entries for other dtypes.
private func writeSafetensors(_ path: String, _ tensors: [(String, [Int], [Float])],
                              extra: [(String, String, [Int], [UInt8])] = [], header override: String? = nil) throws {
    var data = Data()
    var entries: [String] = []
    for (name, shape, values) in tensors {
        let begin = data.count
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        entries.append("\"\(name)\":{\"dtype\":\"F32\",\"shape\":\(shape),\"data_offsets\":[\(begin),\(data.count)]}")
    }
    for (name, dtype, shape, bytes) in extra {
        let begin = data.count
        data.append(contentsOf: bytes)
        entries.append("\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":[\(begin),\(data.count)]}")
    }
    let header = Data((override ?? "{\"__metadata__\":{\"format\":\"pt\"}," + entries.joined(separator: ",") + "}").utf8)
    var file = Data()
    withUnsafeBytes(of: UInt64(header.count).littleEndian) { file.append(contentsOf: $0) }
    file.append(header)
    file.append(data)
    try file.write(to: URL(fileURLWithPath: path))
}

private func temporaryDirectory() throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("adrnorm-encoder-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.path
}

private func errorText(_ body: () throws -> Void) -> String {
    do {
        try body()
        return "no error"
    } catch {
        return "\(error)"
    }
}

@Suite("safetensors, config.json and weight names")
struct SafetensorsTests {
    @Test("F32, F16 and BF16 read as Float; I64 listed but not read")
    func dtypes() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let f16: [UInt8] = [0x00, 0x3C, 0x00, 0xC0]   // 1.0, -2.0
        let bf16: [UInt8] = [0x80, 0x3F, 0x40, 0x40]  // 1.0, 3.0
        try writeSafetensors(dir + "/m.safetensors", [("a", [2, 2], [1, -2.5, 3, 4e-8])],
                             extra: [("h", "F16", [2], f16), ("b", "BF16", [2], bf16),
                                     ("ids", "I64", [1], [7, 0, 0, 0, 0, 0, 0, 0])])
        let file = try SafetensorsFile(path: dir + "/m.safetensors")
        #expect(try file.floats("a") == [1, -2.5, 3, 4e-8])
        #expect(try file.floats("h") == [1, -2])
        #expect(try file.floats("b") == [1, 3])
        #expect(file.tensors["ids"]?.shape == [1])
        #expect(errorText { _ = try file.floats("ids") }.contains("I64"))
    }

    @Test("a header that does not fit the file, or offsets beyond the data, is an error naming the file")
    func badHeaders() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: dir + "/short.safetensors"))
        #expect(errorText { _ = try SafetensorsFile(path: dir + "/short.safetensors") }.contains("short.safetensors"))
        try writeSafetensors(dir + "/offsets.safetensors", [("a", [1], [1])],
                             header: "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}")
        let message = errorText { _ = try SafetensorsFile(path: dir + "/offsets.safetensors") }
        #expect(message.contains("offsets.safetensors") && message.contains("tensor a"))
        try writeSafetensors(dir + "/shape.safetensors", [("a", [3], [1, 2])])
        #expect(errorText { _ = try SafetensorsFile(path: dir + "/shape.safetensors") }.contains("needs 12 bytes"))
        try writeSafetensors(dir + "/json.safetensors", [], header: "{not json")
        #expect(errorText { _ = try SafetensorsFile(path: dir + "/json.safetensors") }.contains("not valid JSON"))
    }

    @Test("a folder with only pytorch_model.bin names Scripts/convert-to-safetensors")
    func pytorchOnly() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data([0]).write(to: URL(fileURLWithPath: dir + "/pytorch_model.bin"))
        let message = errorText { _ = try BertWeights(modelDirectory: dir) }
        #expect(message.contains("Scripts/convert-to-safetensors"))
    }

    static let config = """
        {"vocab_size": 5, "hidden_size": 4, "num_hidden_layers": 1, "num_attention_heads": 2,
         "intermediate_size": 6, "max_position_embeddings": 8, "type_vocab_size": 2, "hidden_act": "gelu",
         "id2label": {"0": "match", "1": "not_match"}}
        """

    @Test("config.json: gelu only, id2label gives the match index, missing fields are named")
    func configuration() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.config.write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
        let config = try BertConfiguration(contentsOf: dir + "/config.json")
        #expect(config.matchIndex == 0 && config.labels == ["match", "not_match"] && config.headSize == 2)
        try Self.config.replacingOccurrences(of: "\"gelu\"", with: "\"gelu_new\"")
            .write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
        let act = errorText { _ = try BertConfiguration(contentsOf: dir + "/config.json") }
        #expect(act.contains("hidden_act") && act.contains("gelu_new"))
        try "{\"hidden_size\": 4}".write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
        #expect(errorText { _ = try BertConfiguration(contentsOf: dir + "/config.json") }.contains("vocab_size"))
        try "{\"vocab_size\": 5, \"hidden_size\": 4, \"num_hidden_layers\": 1, \"num_attention_heads\": 2, \"intermediate_size\": 6}"
            .write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
        #expect(try BertConfiguration(contentsOf: dir + "/config.json").matchIndex == 1)
    }

    @Test("names with or without bert., gamma/beta; a missing tensor or wrong shape names it and both shapes")
    func weightNames() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try writeSafetensors(dir + "/model.safetensors", [
            ("bert.embeddings.LayerNorm.gamma", [4], [1, 1, 1, 1]),
            ("embeddings.LayerNorm.beta", [4], [0, 0, 0, 0]),
            ("bert.pooler.dense.weight", [4, 3], [Float](repeating: 0, count: 12)),
        ])
        let weights = try BertWeights(modelDirectory: dir)
        #expect(try weights.tensor("embeddings.LayerNorm.weight", shape: [4]) == [1, 1, 1, 1])
        #expect(try weights.tensor("bert.embeddings.LayerNorm.bias", shape: [4]) == [0, 0, 0, 0])
        let shape = errorText { _ = try weights.tensor("pooler.dense.weight", shape: [4, 4]) }
        #expect(shape.contains("bert.pooler.dense.weight") && shape.contains("[4, 3]") && shape.contains("[4, 4]"))
        try Self.config.write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
        let missing = errorText { _ = try BertForSequenceClassification(modelDirectory: dir) }
        #expect(missing.contains("encoder.layer.0.attention.self.query.weight") && missing.contains("missing"))
    }
}
