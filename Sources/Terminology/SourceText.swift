#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Reading a source file into validated UTF-8 bytes.
enum SourceText {
    /// The file's bytes as UTF-8 (GB18030 converted), a leading BOM removed.
    /// Errors name the line of the first invalid byte.
    static func read(path: String, encoding: SourceEncoding) throws(TerminologyError) -> [UInt8] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .unreadable(path: path, reason: (error as NSError).localizedDescription)
        }
        var bytes = [UInt8](data)
        switch encoding {
        case .utf8:
            if let bad = firstInvalidUTF8(bytes) {
                throw .invalidEncoding(file: path, line: lineNumber(of: bad, in: bytes), encoding: "UTF-8")
            }
        case .gb18030:
            bytes = try convertGB18030(bytes, path: path)
        }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        return bytes
    }

    static func lineNumber(of offset: Int, in bytes: [UInt8]) -> Int {
        var line = 1
        for i in 0..<min(offset, bytes.count) where bytes[i] == 0x0A { line += 1 }
        return line
    }

    /// Offset of the first byte that does not start a well-formed UTF-8
    /// sequence (no overlongs, no surrogates, nothing above U+10FFFF), or nil.
    static func firstInvalidUTF8(_ b: [UInt8]) -> Int? {
        var i = 0
        let n = b.count
        while i < n {
            let c = b[i]
            if c < 0x80 { i += 1; continue }
            var need = 0
            var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
            switch c {
            case 0xC2...0xDF: need = 1
            case 0xE0: need = 2; lo = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: need = 2
            case 0xED: need = 2; hi = 0x9F
            case 0xF0: need = 3; lo = 0x90
            case 0xF1...0xF3: need = 3
            case 0xF4: need = 3; hi = 0x8F
            default: return i
            }
            if i + need >= n { return i }
            if b[i + 1] < lo || b[i + 1] > hi { return i }
            var j = 2
            while j <= need {
                if b[i + j] < 0x80 || b[i + j] > 0xBF { return i }
                j += 1
            }
            i += need + 1
        }
        return nil
    }

    /// GB18030 → UTF-8 with iconv (Foundation on Linux has no GB18030 codec).
    static func convertGB18030(_ input: [UInt8], path: String) throws(TerminologyError) -> [UInt8] {
        if input.isEmpty { return [] }
        let cd = iconv_open("UTF-8", "GB18030")
        if cd == iconv_t(bitPattern: -1) {
            throw .unreadable(path: path, reason: "this system's iconv cannot convert GB18030")
        }
        defer { iconv_close(cd) }
        var output = [UInt8](repeating: 0, count: input.count * 2 + 16)
        var failedAt: Int? = nil
        var written = 0
        var src = input
        src.withUnsafeMutableBufferPointer { inBuf in
            output.withUnsafeMutableBufferPointer { outBuf in
                inBuf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: max(inBuf.count, 1)) { inBase in
                    outBuf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: outBuf.count) { outBase in
                        var inPtr: UnsafeMutablePointer<CChar>? = inBase
                        var inLeft = inBuf.count
                        var outPtr: UnsafeMutablePointer<CChar>? = outBase
                        var outLeft = outBuf.count
                        let rc = iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft)
                        if rc == -1 || inLeft != 0 {
                            failedAt = inBuf.count - inLeft
                        } else {
                            // Flush any shift state (GB18030 has none; harmless).
                            _ = iconv(cd, nil, nil, &outPtr, &outLeft)
                        }
                        written = outBuf.count - outLeft
                    }
                }
            }
        }
        if let failedAt {
            throw .invalidEncoding(file: path, line: lineNumber(of: failedAt, in: input), encoding: "GB18030")
        }
        return Array(output[0..<written])
    }
}
