import ArgumentParser
import Foundation
import Terminology

/// A problem with an `--input` file, naming the file and line.
struct MentionInputError: Error, CustomStringConvertible {
    var file: String
    var line: Int
    var problem: String
    var description: String { line > 0 ? "\(file):\(line): \(problem)" : "\(file): \(problem)" }
}

/// Reads `--input` (docs/PIPELINE.md §Data formats) for `retrieve` and
/// `normalize`: pair/prediction JSONL (one mention per distinct `mention_id`, in order of first
/// appearance, gold fields from its first line), JSONL with `mention_id` and
/// `text_a`/`raw_term`, or plain text with one mention per line (ids are line
/// numbers). JSONL is recognised by a first non-blank line starting with `{`.
/// Blank lines are skipped and counted.
struct MentionInput {
    /// What to do with a bad line: stop with its line number, or skip it
    /// and report it at the end (`--on-error stop|skip`).
    enum ErrorPolicy: String, CaseIterable, ExpressibleByArgument {
        case stop
        case skip
    }

    struct Line {
        var number: Int
        var mention: MentionRecord
    }

    var lines: [Line] = []
    var blankLines = 0
    /// Lines skipped under `.skip`, with their problems.
    var skipped: [MentionInputError] = []
    /// Lines repeating an earlier `mention_id` (pair files carry one line per candidate).
    var repeatedIDs = 0

    static func read(path: String, encoding: SourceEncoding = .utf8, onError policy: ErrorPolicy = .stop) throws -> MentionInput {
        let reader: TextLineReader
        do { reader = try TextLineReader(path: path, encoding: encoding) } catch {
            throw MentionInputError(file: path, line: 0, problem: error.problem)
        }
        var input = MentionInput()
        var format: Bool? = nil   // true: JSONL
        var seen = Set<String>()
        while let result = reader.readLine() {
            let line: TextLineReader.Line
            switch result {
            case .success(let l): line = l
            case .failure(let error):
                // A line that does not decode is a bad line like any other:
                // the lines after it are still read.
                guard case .undecodable(_, let number, _) = error else { throw error }
                let problem = MentionInputError(file: path, line: number, problem: error.problem)
                guard policy == .skip else { throw problem }
                input.skipped.append(problem)
                continue
            }
            let trimmed = line.text.trimmingPythonWhitespace
            if trimmed.isEmpty {
                input.blankLines += 1
                continue
            }
            let isJSON = format ?? trimmed.hasPrefix("{")
            format = isJSON
            do {
                let mention: MentionRecord
                if isJSON {
                    mention = try MentionRecord(jsonLine: line.text, lineNumber: line.number)
                    if !seen.insert(mention.id).inserted {
                        input.repeatedIDs += 1
                        continue
                    }
                    if mention.text.trimmingPythonWhitespace.isEmpty {
                        throw PairRecordError(line: line.number, problem: "the mention is empty or whitespace only")
                    }
                } else {
                    mention = MentionRecord(id: String(line.number), text: line.text)
                }
                input.lines.append(Line(number: line.number, mention: mention))
            } catch let error as PairRecordError {
                let problem = MentionInputError(file: path, line: line.number, problem: error.problem)
                guard policy == .skip else { throw problem }
                input.skipped.append(problem)
            }
        }
        return input
    }
}
