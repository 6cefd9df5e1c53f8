import ArgumentParser
import CrossEncoder
import Foundation
import Terminology

/// `adrnorm bench pooled`: the pooled output of a BertModel for
/// pre-tokenized sequences, so that Scripts/check-int8-accuracy can compare
/// each precision with transformers on a real checkpoint.
struct BenchPooled: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pooled",
        abstract: "Pooled outputs of a BERT checkpoint for pre-tokenized sequences, as JSONL.",
        discussion: """
            Each --input line is {"input_ids": [...], "token_type_ids": [...]} (token_type_ids may be \
            left out: all 0). Each output line is {"index": i, "pooled": [...]}, in input order. The \
            model folder needs config.json and model.safetensors with a pooler.
            """)
    @Option(help: "BERT model folder (config.json, model.safetensors).")
    var model: String
    @Option(help: "JSONL of token ids, one sequence per line.")
    var input: String
    @Option(help: "Encoder arithmetic: fp32 or int8.")
    var precision: Precision = .fp32
    @Option(help: "Threads per forward pass.")
    var threads: Int = EncoderOptions.defaultThreads

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        let text: String
        do { text = try String(contentsOfFile: input, encoding: .utf8) } catch {
            throw ValidationError("\(input): cannot read (\(error.localizedDescription))")
        }
        var encodings: [PairEncoding] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
        where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let ids = object["input_ids"] as? [NSNumber], !ids.isEmpty else {
                throw ValidationError("\(input):\(n + 1): expected {\"input_ids\": [...], \"token_type_ids\": [...]}")
            }
            let types = (object["token_type_ids"] as? [NSNumber]) ?? ids.map { _ in 0 }
            guard types.count == ids.count else {
                throw ValidationError("\(input):\(n + 1): token_type_ids has \(types.count) ids, input_ids \(ids.count)")
            }
            encodings.append(PairEncoding(inputIDs: ids.map(\.int32Value), tokenTypeIDs: types.map(\.int32Value)))
        }
        let directory = URL(fileURLWithPath: model)
        let config = try BertConfiguration(contentsOf: directory.appendingPathComponent("config.json").path)
        let bert = try BertModel.load(try BertWeights(modelDirectory: model), config, requirePooler: true,
                                      options: EncoderOptions(precision: precision, threads: threads))
        let output = try bert.forward(PackedBatch(encodings))
        var out = ""
        for i in 0..<encodings.count {
            let pooled = output.pooled(sequence: i)!.map { JSONValue.number(Double($0), format: "%.9g") }
            JSONValue.object([("index", .integer(i)), ("pooled", .array(pooled))]).write(to: &out)
            out += "\n"
        }
        FileHandle.standardOutput.write(Data(out.utf8))
    }
}
