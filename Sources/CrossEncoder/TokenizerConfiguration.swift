import Foundation

/// The settings of `tokenizer_config.json` that change how text becomes
/// tokens, with Hugging Face's defaults for a missing file or field.
///
/// `never_split` is read but, like `BertTokenizerFast`, not used: the fast
/// tokenizer only keeps its special tokens whole.
public struct TokenizerConfiguration: Sendable, Equatable {
    public var doLowerCase: Bool = true
    /// nil: follow `doLowerCase` (Hugging Face's rule for `strip_accents: null`).
    public var stripAccents: Bool? = nil
    public var tokenizeChineseChars: Bool = true
    public var modelMaxLength: Int? = nil
    public var unknownToken = "[UNK]"
    public var separatorToken = "[SEP]"
    public var classifierToken = "[CLS]"
    public var paddingToken = "[PAD]"
    public var maskToken = "[MASK]"
    public var additionalSpecialTokens: [String] = []
    public var neverSplit: [String] = []

    public init() {}

    /// Whether accents are stripped after all settings are applied.
    public var effectiveStripAccents: Bool { stripAccents ?? doLowerCase }

    /// The special tokens, matched whole in raw text before normalisation.
    public var specialTokens: [String] {
        [unknownToken, separatorToken, paddingToken, classifierToken, maskToken] + additionalSpecialTokens
    }

    /// Reads `tokenizer_config.json`.
    public init(contentsOf path: String) throws(CrossEncoderError) {
        let object = try JSONFile.object(at: path)
        func bool(_ key: String) throws(CrossEncoderError) -> Bool? {
            guard let v = object[key], !(v is NSNull) else { return nil }
            guard let n = v as? NSNumber, JSONFile.isBool(n) else {
                throw .invalidConfiguration(path: path, field: key, problem: "expected true, false or null")
            }
            return n.boolValue
        }
        func token(_ key: String) throws(CrossEncoderError) -> String? {
            guard let v = object[key], !(v is NSNull) else { return nil }
            if let s = v as? String { return s }
            // Newer files write added tokens as {"content": "[UNK]", ...}.
            if let d = v as? [String: Any], let s = d["content"] as? String { return s }
            throw .invalidConfiguration(path: path, field: key, problem: "expected a token string")
        }
        if let v = try bool("do_lower_case") { doLowerCase = v }
        stripAccents = try bool("strip_accents")
        if let v = try bool("tokenize_chinese_chars") { tokenizeChineseChars = v }
        if let v = object["model_max_length"], !(v is NSNull) {
            guard let n = v as? NSNumber, !JSONFile.isBool(n) else {
                throw .invalidConfiguration(path: path, field: "model_max_length", problem: "expected an integer")
            }
            // Hugging Face writes a huge sentinel (1e30) for "no limit".
            modelMaxLength = n.doubleValue < 1e9 ? n.intValue : nil
        }
        if let v = try token("unk_token") { unknownToken = v }
        if let v = try token("sep_token") { separatorToken = v }
        if let v = try token("cls_token") { classifierToken = v }
        if let v = try token("pad_token") { paddingToken = v }
        if let v = try token("mask_token") { maskToken = v }
        if let list = object["additional_special_tokens"] as? [Any] {
            additionalSpecialTokens = list.compactMap { ($0 as? String) ?? (($0 as? [String: Any])?["content"] as? String) }
        }
        if let list = object["never_split"] as? [String] { neverSplit = list }
    }
}
