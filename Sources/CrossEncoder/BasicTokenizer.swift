import Foundation

/// BERT's normaliser and pre-tokenizer, as `BertTokenizerFast` (the Rust
/// `tokenizers` `BertNormalizer` + `BertPreTokenizer`) applies them to text
/// between special tokens:
///
/// 1. clean: drop NUL, U+FFFD and control characters (general category Cc,
///    Cf, Co, Cs, except tab/newline/CR); map whitespace (tab, newline, CR
///    and the Unicode White_Space property) to a space;
/// 2. put spaces around CJK ideographs (BERT's code-point ranges);
/// 3. strip accents (NFD, then drop Mn) — before lower-casing, as the fast
///    tokenizer does (the slow one lower-cases first);
/// 4. lower-case each code point with its full, context-free mapping;
/// 5. split on whitespace and isolate each punctuation character (ASCII
///    punctuation and Unicode P*).
public struct BasicTokenizer: Sendable {
    public let lowercase: Bool
    public let stripAccents: Bool
    public let tokenizeChineseChars: Bool

    public init(lowercase: Bool, stripAccents: Bool, tokenizeChineseChars: Bool) {
        self.lowercase = lowercase
        self.stripAccents = stripAccents
        self.tokenizeChineseChars = tokenizeChineseChars
    }

    /// The words of `text`, each to be split further by WordPiece.
    public func words(_ text: String) -> [String] {
        var cleaned = String.UnicodeScalarView()
        var needsDecomposition = false
        for scalar in text.unicodeScalars {
            let v = scalar.value
            if v == 0 || v == 0xFFFD || Self.isControl(scalar) { continue }
            if Self.isWhitespace(scalar) {
                cleaned.append(" ")
            } else if tokenizeChineseChars && Self.isChineseCharacter(v) {
                cleaned.append(" ")
                cleaned.append(scalar)
                cleaned.append(" ")
            } else {
                cleaned.append(scalar)
            }
            if v >= 0xC0 { needsDecomposition = true }
        }
        var normalized = String(cleaned)
        if stripAccents {
            if needsDecomposition { normalized = normalized.decomposedStringWithCanonicalMapping }
            var kept = String.UnicodeScalarView()
            for scalar in normalized.unicodeScalars where scalar.properties.generalCategory != .nonspacingMark {
                kept.append(scalar)
            }
            normalized = String(kept)
        }
        if lowercase {
            var lowered = String.UnicodeScalarView()
            for scalar in normalized.unicodeScalars {
                if scalar.isASCII {
                    lowered.append(Unicode.Scalar(UInt8(ascii: scalar) | (scalar.properties.isUppercase ? 0x20 : 0)))
                } else if scalar.properties.changesWhenLowercased {
                    lowered.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
                } else {
                    lowered.append(scalar)
                }
            }
            normalized = String(lowered)
        }
        var words: [String] = []
        var current = String.UnicodeScalarView()
        func flush() {
            if !current.isEmpty {
                words.append(String(current))
                current = String.UnicodeScalarView()
            }
        }
        for scalar in normalized.unicodeScalars {
            if scalar.properties.isWhitespace {
                flush()
            } else if Self.isPunctuation(scalar) {
                flush()
                words.append(String(scalar))
            } else {
                current.append(scalar)
            }
        }
        flush()
        return words
    }

    /// Control as the Rust `tokenizers` crate defines it: tab, newline and CR
    /// are whitespace; every other Cc, Cf, Co and Cs code point is control.
    /// Unassigned code points (Cn) are kept, unlike the slow tokenizer.
    static func isControl(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x09, 0x0A, 0x0D: return false
        default:
            switch s.properties.generalCategory {
            case .control, .format, .privateUse, .surrogate: return true
            default: return false
            }
        }
    }

    static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        s.value == 0x09 || s.value == 0x0A || s.value == 0x0D || s.properties.isWhitespace
    }

    /// BERT's "Chinese character" ranges: the CJK Unified Ideographs blocks
    /// and the compatibility ideographs (not Hangul, kana or CJK punctuation).
    static func isChineseCharacter(_ v: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) || (0x20000...0x2A6DF).contains(v)
            || (0x2A700...0x2B73F).contains(v) || (0x2B740...0x2B81F).contains(v)
            || (0x2B820...0x2CEAF).contains(v) || (0xF900...0xFAFF).contains(v)
            || (0x2F800...0x2FA1F).contains(v)
    }

    /// ASCII punctuation (33–47, 58–64, 91–96, 123–126, which includes
    /// symbols such as `$`, `+`, `<`) or a Unicode punctuation category.
    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) {
            return true
        }
        if v < 128 { return false }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }
}
