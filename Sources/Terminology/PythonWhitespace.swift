extension Unicode.Scalar {
    /// Python's `str.isspace()` for one code point (docs/PIPELINE.md §Whitespace): the
    /// characters the published pipeline removes before counting terms.
    /// Swift's `Character.isWhitespace` differs (it is grapheme-based and
    /// includes U+200B-adjacent rules), so the set is spelled out.
    public var isPythonWhitespace: Bool {
        switch value {
        case 0x09...0x0D, 0x1C...0x1F, 0x20, 0x85, 0xA0, 0x1680,
             0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }
}

extension StringProtocol {
    /// The string without leading and trailing Python whitespace
    /// (`str.strip()` with no argument).
    public var trimmingPythonWhitespace: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.isPythonWhitespace }),
              let last = scalars.lastIndex(where: { !$0.isPythonWhitespace }) else { return "" }
        return String(String.UnicodeScalarView(scalars[first...last]))
    }
}
