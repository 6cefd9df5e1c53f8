import Foundation
import Testing
import CrossEncoder

@Suite("vocab.txt line endings")
struct VocabularyTests {
    static func load(_ bytes: [UInt8]) throws -> Vocabulary {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("adrnorm-vocab-\(UUID().uuidString).txt").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try Vocabulary(contentsOf: path)
    }

    static let tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "", "头", "##晕", "é"]

    @Test("LF, CRLF, CR and a UTF-8 BOM give the same tokens and ids (an empty line is a token)",
          arguments: ["\n", "\r\n", "\r"], [false, true])
    func endings(newline: String, bom: Bool) throws {
        var text = Self.tokens.joined(separator: newline) + newline
        if bom { text = "\u{FEFF}" + text }
        let vocabulary = try Self.load(Array(text.utf8))
        #expect(vocabulary.tokens == Self.tokens)
        #expect(vocabulary.id("[PAD]") == 0 && vocabulary.id("[SEP]") == 3 && vocabulary.id("##晕") == 6)
    }

    @Test("no newline after the last token; an empty file is refused")
    func edges() throws {
        #expect(try Self.load(Array("a\r\nb".utf8)).tokens == ["a", "b"])
        #expect(throws: CrossEncoderError.self) { try Self.load([]) }
        #expect(throws: CrossEncoderError.self) { try Self.load([0xEF, 0xBB, 0xBF]) }
    }
}
