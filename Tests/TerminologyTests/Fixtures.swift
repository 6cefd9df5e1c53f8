import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A temporary folder for fixture files, removed when the value is released.
final class TemporaryFolder {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("adrnorm-terminology-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String { try write(name, bytes: Array(text.utf8)) }

    @discardableResult
    func write(_ name: String, bytes: [UInt8]) throws -> String {
        let path = url.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    var path: String { url.path }
}

enum Repository {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }
}

/// UTF-8 text converted to GB18030 with iconv, for encoding tests.
func gb18030(_ text: String) -> [UInt8] {
    let cd = iconv_open("GB18030", "UTF-8")
    precondition(cd != iconv_t(bitPattern: -1))
    defer { iconv_close(cd) }
    var input = Array(text.utf8)
    var output = [UInt8](repeating: 0, count: input.count * 2 + 16)
    var written = 0
    input.withUnsafeMutableBufferPointer { i in
        output.withUnsafeMutableBufferPointer { o in
            i.baseAddress!.withMemoryRebound(to: CChar.self, capacity: i.count) { ip in
                o.baseAddress!.withMemoryRebound(to: CChar.self, capacity: o.count) { op in
                    var inPtr: UnsafeMutablePointer<CChar>? = ip, outPtr: UnsafeMutablePointer<CChar>? = op
                    var inLeft = i.count, outLeft = o.count
                    precondition(iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft) != -1)
                    written = o.count - outLeft
                }
            }
        }
    }
    return Array(output[..<written])
}

/// A minimal, valid MedDRA ASCII folder (two PTs) whose files tests can override.
enum MedDRAFixture {
    static let files: [String: String] = [
        "soc.asc": "91000001$神经系统疾病$Nerv$$$$$$$$\r\n91000002$胃肠系统疾病$Gastr$$$$$$$$\r\n",
        "hlgt.asc": "92000001$头痛$$$$$$$$\r\n92000002$胃肠道症状$$$$$$$$\r\n",
        "hlt.asc": "93000001$头痛NEC$$$$$$$$\r\n93000002$恶心和呕吐症状$$$$$$$$\r\n",
        "pt.asc": "94000002$恶心$$91000002$$$$$$$$\r\n94000001$头痛$$91000001$$$$$$$$\r\n",
        "llt.asc": """
            95000009$反胃$94000002$$$$$$$Y$$
            95000003$脑袋疼$94000001$$$$$$$Y$$
            94000001$头痛$94000001$$$$$$$Y$$
            95000001$头疼$94000001$$$$$$$Y$$
            95000002$头痛症$94000001$$$$$$$N$$
              
            94000002$恶心$94000002$$$$$$$Y$$
            95000010$想吐$94000002$$$$$$$Y$$

            """,
        "mdhier.asc": """
            94000002$93000001$92000001$91000001$恶心$头痛NEC$头痛$神经系统疾病$Nerv$$91000002$N$
            94000002$93000002$92000002$91000002$恶心$恶心和呕吐症状$胃肠道症状$胃肠系统疾病$Gastr$$91000002$Y$
            94000001$93000001$92000001$91000001$头痛$头痛NEC$头痛$神经系统疾病$Nerv$$91000001$Y$
            """,
        "hlt_pt.asc": "93000001$94000001$\r\n93000002$94000002$\r\n",
        "hlgt_hlt.asc": "92000001$93000001$\r\n92000002$93000002$\r\n",
        "soc_hlgt.asc": "91000001$92000001$\r\n91000002$92000002$\r\n",
        "meddra_release.asc": "26.1$Chinese$$$$\r\n",
    ]

    static func make(_ overrides: [String: String?] = [:]) throws -> TemporaryFolder {
        let folder = try TemporaryFolder()
        var files = Self.files
        for (name, text) in overrides { files[name] = text }
        for (name, text) in files { try folder.write(name, text) }
        return folder
    }
}
