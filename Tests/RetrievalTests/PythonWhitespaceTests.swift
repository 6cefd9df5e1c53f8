import Testing
import Retrieval

@Suite struct PythonWhitespaceTests {
    /// Every code point for which CPython's `str.isspace()` is true
    /// (`[c for c in range(0x110000) if chr(c).isspace()]`).
    static let pythonWhitespace: [UInt32] = [
        0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x85, 0xA0, 0x1680,
        0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A,
        0x2028, 0x2029, 0x202F, 0x205F, 0x3000,
    ]

    @Test("matches str.isspace() on every code point")
    func allCodePoints() {
        var found: [UInt32] = []
        for v in UInt32(0)...0x10FFFF {
            if let s = Unicode.Scalar(v), s.isPythonWhitespace { found.append(v) }
        }
        #expect(found == Self.pythonWhitespace)
    }

    @Test("trimming strips only Python whitespace at both ends")
    func trimming() {
        #expect("\u{3000} 头晕\u{200B}\t\n".trimmingPythonWhitespace == "头晕\u{200B}")
        #expect(" \u{00A0}\u{2029} ".trimmingPythonWhitespace == "")
        #expect("恶心 呕吐".trimmingPythonWhitespace == "恶心 呕吐")
    }
}
