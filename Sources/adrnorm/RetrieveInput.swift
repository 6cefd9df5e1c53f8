import Foundation
import Terminology

/// One mention to retrieve for, as read from `--mention` or `--input`.
struct RetrieveMention {
    var id: String
    var text: String
    var goldPTCodes: [String] = []
    var goldSOCCodes: [String] = []
    /// Whether the input carried gold labels (then pairs get a `label`).
    var hasGold = false
}

/// A problem with the `--input` file, naming the file and line.
struct RetrieveInputError: Error, CustomStringConvertible {
    var file: String
    var line: Int
    var problem: String
    var description: String { "\(file):\(line): \(problem)" }
}

/// Reads `--input` (DESIGN §5): pair/prediction JSONL (one mention per distinct
/// `mention_id`, in order of first appearance, gold fields from its first
/// line), JSONL with `mention_id` and `text_a`/`raw_term`, or plain text with
/// one mention per line (ids are line numbers). JSONL is recognised by a first
/// non-blank line starting with `{`. Blank lines are skipped and counted.
enum RetrieveInput {
    static func read(path: String) throws -> (mentions: [RetrieveMention], blankLines: Int) {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw RetrieveInputError(file: path, line: 0, problem: "cannot read (\((error as NSError).localizedDescription))")
        }
        var bytes = [UInt8](data)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        var lines: [(number: Int, text: String)] = []
        var blank = 0
        let rawLines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
        for (i, raw) in rawLines.enumerated() {
            if i == rawLines.count - 1 && raw.isEmpty { break }  // after the final newline
            var slice = raw
            if slice.last == 0x0D { slice = slice.dropLast() }
            guard let text = String(validating: slice, as: UTF8.self) else {
                throw RetrieveInputError(file: path, line: i + 1, problem: "invalid UTF-8")
            }
            if text.trimmingPythonWhitespace.isEmpty {
                blank += 1
                continue
            }
            lines.append((i + 1, text))
        }
        guard let first = lines.first else { return ([], blank) }
        if !first.text.trimmingPythonWhitespace.hasPrefix("{") {
            return (lines.map { RetrieveMention(id: String($0.number), text: $0.text) }, blank)
        }
        var mentions: [RetrieveMention] = []
        var seen = Set<String>()
        for (number, text) in lines {
            let object: [String: Any]
            do {
                guard let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
                    throw RetrieveInputError(file: path, line: number, problem: "not a JSON object")
                }
                object = parsed
            } catch let error as RetrieveInputError {
                throw error
            } catch {
                throw RetrieveInputError(file: path, line: number, problem: "invalid JSON")
            }
            var mention: RetrieveMention
            if object["candidate_pt_name"] != nil || object["candidate_pt_code"] != nil {
                let record: PairRecord
                do {
                    record = try PairRecord(jsonLine: text, lineNumber: number)
                } catch {
                    throw RetrieveInputError(file: path, line: number, problem: error.problem)
                }
                mention = RetrieveMention(id: record.mentionID, text: record.mention, goldPTCodes: record.goldPTCodes,
                                          goldSOCCodes: record.goldSOCCodes)
            } else {
                mention = RetrieveMention(id: try identifier(object["mention_id"], path, number),
                                          text: try mentionText(object, path, number))
                mention.goldPTCodes = try codes(object["gold_pt_codes"], "gold_pt_codes", path, number)
                mention.goldSOCCodes = try codes(object["gold_soc_codes"], "gold_soc_codes", path, number)
            }
            mention.hasGold = object["gold_pt_codes"] != nil
            if !seen.insert(mention.id).inserted { continue }
            if mention.text.trimmingPythonWhitespace.isEmpty {
                throw RetrieveInputError(file: path, line: number, problem: "the mention is empty or whitespace only")
            }
            mentions.append(mention)
        }
        return (mentions, blank)
    }

    private static func identifier(_ value: Any?, _ path: String, _ line: Int) throws -> String {
        if let s = value as? String { return s }
        if let n = value as? NSNumber, n.doubleValue == n.doubleValue.rounded(), String(cString: n.objCType) != "c" {
            return String(n.int64Value)
        }
        throw RetrieveInputError(file: path, line: line,
                                 problem: value == nil ? "missing required field mention_id" : "field mention_id: expected a string or an integer")
    }

    private static func mentionText(_ object: [String: Any], _ path: String, _ line: Int) throws -> String {
        for key in ["text_a", "raw_term"] where object[key] != nil {
            guard let s = object[key] as? String else {
                throw RetrieveInputError(file: path, line: line, problem: "field \(key): expected a string")
            }
            return s
        }
        throw RetrieveInputError(file: path, line: line, problem: "missing required field text_a (or raw_term)")
    }

    private static func codes(_ value: Any?, _ field: String, _ path: String, _ line: Int) throws -> [String] {
        guard let value, !(value is NSNull) else { return [] }
        guard let array = value as? [Any] else {
            throw RetrieveInputError(file: path, line: line, problem: "field \(field): expected a list")
        }
        return try array.map { element in
            if let s = element as? String { return s }
            if let n = element as? NSNumber, n.doubleValue == n.doubleValue.rounded(), String(cString: n.objCType) != "c" {
                return String(n.int64Value)
            }
            throw RetrieveInputError(file: path, line: line, problem: "field \(field): expected a list of strings or integers")
        }
    }
}
