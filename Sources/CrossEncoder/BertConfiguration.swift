import Foundation

/// The architecture of a BERT checkpoint, from its `config.json`.
public struct BertConfiguration: Sendable, Equatable {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var intermediateSize: Int
    public var maxPositionEmbeddings: Int
    public var typeVocabSize: Int
    public var layerNormEps: Float
    /// Label names by index (`id2label`); `["LABEL_0", "LABEL_1"]` when absent.
    public var labels: [String]
    /// Index of the label named `match`; 1 when no label has that name.
    public var matchIndex: Int
    /// Whether `config.json` had an `id2label` (false: `labels` are the
    /// `LABEL_i` names transformers makes up).
    public var hasID2Label: Bool

    public init(vocabSize: Int, hiddenSize: Int, numHiddenLayers: Int, numAttentionHeads: Int,
                intermediateSize: Int, maxPositionEmbeddings: Int = 512, typeVocabSize: Int = 2,
                layerNormEps: Float = 1e-12, labels: [String] = ["not_match", "match"]) {
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.intermediateSize = intermediateSize
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.typeVocabSize = typeVocabSize
        self.layerNormEps = layerNormEps
        self.labels = labels
        self.matchIndex = labels.firstIndex(of: "match") ?? 1
        self.hasID2Label = true
    }

    /// Whether some label is named `match` (then `matchIndex` is its index;
    /// otherwise index 1 is taken by convention).
    public var hasMatchLabel: Bool { labels.contains("match") }

    /// Whether the label names are transformers' placeholders `LABEL_0`,
    /// `LABEL_1`, … (what `save_pretrained` writes when none were given).
    public var hasPlaceholderLabels: Bool {
        labels.enumerated().allSatisfy { $0.element == "LABEL_\($0.offset)" }
    }

    /// A warning when the match label is not named in `config.json` at `path`
    /// (no `id2label`, placeholder names, or no label named `match`), so the
    /// match probability is index 1's by convention; nil when one is named.
    public func matchLabelWarning(path: String) -> String? {
        guard !hasMatchLabel else { return nil }
        let names = labels.map { "\"\($0)\"" }.joined(separator: ", ")
        let what: String
        if !hasID2Label {
            what = "has no id2label (labels default to \(names))"
        } else if hasPlaceholderLabels {
            what = "has only the placeholder labels \(names) in id2label"
        } else {
            what = "has no label named \"match\" in id2label (labels \(names))"
        }
        let taken = labels.indices.contains(1) ? "index 1 (\"\(labels[1])\")" : "index 1"
        return "\(path) \(what): \(taken) is taken as the match label by convention, so prob_1 is its probability. "
            + "If the model's positive class is another index, every probability is inverted: name the labels in "
            + "config.json, e.g. \"id2label\": {\"0\": \"not_match\", \"1\": \"match\"} (or the reverse)"
    }

    public var headSize: Int { hiddenSize / numAttentionHeads }

    /// Reads `config.json`. `hidden_act` must be `gelu` (the exact erf form);
    /// `position_embedding_type`, when given, must be `absolute`.
    public init(contentsOf path: String) throws(CrossEncoderError) {
        let object = try JSONFile.object(at: path)
        func int(_ key: String, default value: Int? = nil) throws(CrossEncoderError) -> Int {
            guard let v = object[key], !(v is NSNull) else {
                if let value { return value }
                throw .invalidConfiguration(path: path, field: key, problem: "missing (a positive integer is required)")
            }
            guard let n = v as? NSNumber, !JSONFile.isBool(n), n.doubleValue == n.doubleValue.rounded(), n.intValue > 0 else {
                throw .invalidConfiguration(path: path, field: key, problem: "expected a positive integer, got \(v)")
            }
            return n.intValue
        }
        vocabSize = try int("vocab_size")
        hiddenSize = try int("hidden_size")
        numHiddenLayers = try int("num_hidden_layers")
        numAttentionHeads = try int("num_attention_heads")
        intermediateSize = try int("intermediate_size")
        maxPositionEmbeddings = try int("max_position_embeddings", default: 512)
        typeVocabSize = try int("type_vocab_size", default: 2)
        if let v = object["layer_norm_eps"], !(v is NSNull) {
            guard let n = v as? NSNumber, !JSONFile.isBool(n), n.doubleValue > 0 else {
                throw .invalidConfiguration(path: path, field: "layer_norm_eps", problem: "expected a positive number")
            }
            layerNormEps = n.floatValue
        } else {
            layerNormEps = 1e-12
        }
        guard hiddenSize % numAttentionHeads == 0 else {
            throw .invalidConfiguration(path: path, field: "num_attention_heads",
                                        problem: "hidden_size \(hiddenSize) is not a multiple of \(numAttentionHeads) heads")
        }
        let act = (object["hidden_act"] as? String) ?? "gelu"
        guard act == "gelu" else {
            throw .invalidConfiguration(path: path, field: "hidden_act",
                                        problem: "\"\(act)\" is not supported; only \"gelu\" (exact erf GELU, BERT's) is")
        }
        if let kind = object["position_embedding_type"] as? String, kind != "absolute" {
            throw .invalidConfiguration(path: path, field: "position_embedding_type",
                                        problem: "\"\(kind)\" is not supported; only \"absolute\" is")
        }
        if let id2label = object["id2label"] as? [String: Any], !id2label.isEmpty {
            var labels = [String](repeating: "", count: id2label.count)
            for (key, value) in id2label {
                guard let index = Int(key), (0..<id2label.count).contains(index), let name = value as? String else {
                    throw .invalidConfiguration(path: path, field: "id2label",
                                                problem: "expected keys \"0\"…\"\(id2label.count - 1)\" with string labels, got \(key): \(value)")
                }
                labels[index] = name
            }
            self.labels = labels
            hasID2Label = true
        } else {
            let count = (try? int("num_labels", default: 2)) ?? 2
            self.labels = (0..<count).map { "LABEL_\($0)" }
            hasID2Label = false
        }
        matchIndex = labels.firstIndex(of: "match") ?? 1
    }
}
