import ArgumentParser
import Foundation
import Terminology

/// `adrnorm serve --config FILE`: every serve flag as a `key = value` line,
/// the key being the flag's long name without its dashes. The format is a
/// subset of TOML: `#` comments, double-quoted (with TOML's escapes) or
/// single-quoted strings, integers, floats, `true`/`false`, and arrays of
/// strings (which may span lines); no tables. Relative paths are taken from
/// the file's folder. Flags given on the command line override the file's
/// value for that key (a repeatable flag replaces the file's whole list).
///
/// The file becomes command-line arguments placed before the real ones, so
/// ArgumentParser and `Serve.validate()` check both the same way; an error
/// about a key that came from the file names the file, the line and the key.
struct ServeConfigFile {
    /// What a key's value must be.
    enum Kind: Equatable {
        case string
        /// A string naming a file or folder, taken relative to the config file's folder.
        case path
        case integer
        /// An integer or a float.
        case number
        /// A switch: `true` gives the flag, `false` leaves it out.
        case flag
        /// An array of strings (or one string): the flag once per element.
        case strings

        var expected: String {
            switch self {
            case .string: "a string in quotes"
            case .path: "a path, a string in quotes"
            case .integer: "an integer"
            case .number: "a number"
            case .flag: "true or false"
            case .strings: "an array of strings, e.g. [\"a\", \"b\"]"
            }
        }
    }

    /// A value as written in the file.
    enum Value: Equatable, CustomStringConvertible {
        case string(String)
        case integer(Int)
        case number(Double)
        case boolean(Bool)
        case strings([String])

        /// The value in the file's syntax (what `--print-config` writes).
        var description: String {
            switch self {
            case .string(let s): Self.quote(s)
            case .integer(let i): String(i)
            case .number(let d): d == d.rounded() && abs(d) < 1e15 ? String(format: "%.1f", d) : String(d)
            case .boolean(let b): b ? "true" : "false"
            case .strings(let list): "[" + list.map(Self.quote).joined(separator: ", ") + "]"
            }
        }

        var what: String {
            switch self {
            case .string(let s): "the string \(Self.quote(s))"
            case .integer(let i): "the integer \(i)"
            case .number(let d): "the float \(d)"
            case .boolean(let b): b ? "true" : "false"
            case .strings: "an array"
            }
        }

        /// A TOML basic string: JSON's escapes are TOML's.
        static func quote(_ s: String) -> String {
            var out = ""
            JSONValue.quote(s, to: &out)
            return out
        }
    }

    struct Entry: Equatable {
        var key: String
        var value: Value
        var line: Int
    }

    /// A config file that cannot be used: the file, the line and the key
    /// where there is one.
    struct Failure: Error, CustomStringConvertible {
        var path: String
        var line: Int?
        var key: String?
        var message: String

        var description: String {
            var place = "config file \(path)"
            if let line { place += " line \(line)" }
            if let key { place += ", key \(key)" }
            return "\(place): \(message)"
        }
    }

    /// Every serve flag that a config file may set, in `--help` order.
    /// `ConfigFileTests` checks it against the flags `adrnorm serve` declares.
    static let keys: [(name: String, kind: Kind)] = [
        ("model", .path), ("no-model", .flag), ("dictionary", .path), ("encoding", .string),
        ("max-length", .integer), ("max-batch-tokens", .integer), ("max-queued-pairs", .integer),
        ("threads", .integer), ("precision", .string), ("cache-size", .integer), ("dictionary-version", .string),
        ("synonyms", .path), ("synonyms-encoding", .string), ("synonym-folding", .string),
        ("review-margin", .number), ("allow-vocab-mismatch", .flag),
        ("listen", .string), ("cert", .path), ("key", .path), ("client-ca", .path), ("allow-identity", .strings),
        ("allow-identity-file", .path), ("insecure-no-client-auth", .flag), ("tls-min-version", .string),
        ("max-connections", .integer), ("max-unauthenticated-connections", .integer),
        ("handshake-timeout", .number), ("idle-timeout", .number), ("stream-idle-timeout", .number),
        ("write-timeout", .number), ("max-request-mib-per-connection", .integer), ("max-request-mib", .integer),
        ("max-queued-output-mib-per-connection", .integer), ("max-queued-output-mib", .integer),
        ("drain-timeout", .number), ("max-unscored-calls", .integer), ("max-pairs-per-request", .integer),
        ("max-queued-pairs-per-client", .integer), ("max-concurrent-streams", .integer),
        ("initial-stream-credit", .integer), ("log-level", .string), ("malloc-arenas", .integer),
        ("log-format", .string), ("metrics-listen", .string),
    ]
    static let kinds = Dictionary(uniqueKeysWithValues: keys.map { ($0.name, $0.kind) })
    /// Options that only make sense on the command line.
    static let commandLineOnly: Set<String> = ["config", "print-config", "help", "version"]

    let path: String
    let entries: [Entry]

    /// Reads and checks `path` (UTF-8; a BOM is dropped).
    static func load(path: String) throws -> ServeConfigFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw Failure(path: path, message: exists ? "cannot be read" : "file not found")
        }
        guard var text = String(validating: data, as: UTF8.self) else {
            throw Failure(path: path, message: "is not UTF-8 text")
        }
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        return try parse(text, path: path)
    }

    static func parse(_ text: String, path: String) throws -> ServeConfigFile {
        var entries: [Entry] = []
        var seen: [String: Int] = [:]
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> Substring in
            line.hasSuffix("\r") ? line.dropLast() : line
        }[...]
        var number = 0
        while let raw = lines.popFirst() {
            number += 1
            let start = number
            let line = raw.drop { $0 == " " || $0 == "\t" }
            if line.isEmpty || line.hasPrefix("#") { continue }
            func fail(_ message: String, key: String? = nil) -> Failure {
                Failure(path: path, line: start, key: key, message: message)
            }
            if line.hasPrefix("[") {
                throw fail("tables ([section]) are not supported: every key is a serve flag, at the top level")
            }
            guard let equals = line.firstIndex(of: "=") else { throw fail("expected key = value") }
            let key = String(line[..<equals]).trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty, key.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_" }),
                  key.unicodeScalars.allSatisfy(\.isASCII)
            else { throw fail("expected a bare key (the flag's name, e.g. max-connections) before =") }
            guard let kind = kinds[key] else { throw fail(unknownKeyMessage(key), key: key) }
            if let earlier = seen[key] { throw fail("set twice (first on line \(earlier))", key: key) }
            seen[key] = start

            var scanner = ValueScanner(text: Substring(line[line.index(after: equals)...]))
            let value: Value
            do {
                value = try scanner.value(continuation: {
                    guard let next = lines.popFirst() else { return nil }
                    number += 1
                    return next
                })
                try scanner.end()
            } catch let error as ValueScanner.Problem {
                throw fail(error.message, key: key)
            }
            entries.append(Entry(key: key, value: try checked(value, kind: kind, fail: { fail($0, key: key) }), line: start))
        }
        return ServeConfigFile(path: path, entries: entries)
    }

    private static func unknownKeyMessage(_ key: String) -> String {
        if commandLineOnly.contains(key) { return "--\(key) belongs on the command line, not in a config file" }
        let dashed = key.replacingOccurrences(of: "_", with: "-").lowercased()
        if kinds[dashed] != nil { return "unknown key; did you mean \(dashed)? (keys are the flags' long names)" }
        return "unknown key; the keys are the long names of adrnorm serve's flags (adrnorm serve --help)"
    }

    private static func checked(_ value: Value, kind: Kind, fail: (String) -> Failure) throws -> Value {
        switch (kind, value) {
        case (.string, .string), (.path, .string), (.integer, .integer), (.number, .number), (.flag, .boolean),
             (.strings, .strings):
            return value
        case (.number, .integer(let i)):
            return .number(Double(i))
        case (.strings, .string(let s)):
            return .strings([s])
        default:
            throw fail("expected \(kind.expected), got \(value.what)")
        }
    }

    /// The arguments this file stands for, before `commandLine`'s: a key
    /// that `commandLine` sets is left out (the flag wins), relative paths are
    /// made absolute from the file's folder. `origins` maps each flag that
    /// came from the file to its line.
    func arguments(overriddenBy commandLine: [String]) -> (arguments: [String], origins: [String: Int]) {
        let given = Self.flagsGiven(commandLine)
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        var arguments: [String] = []
        var origins: [String: Int] = [:]
        for entry in entries where !given.contains(entry.key) {
            origins[entry.key] = entry.line
            switch entry.value {
            case .boolean(let on):
                if on { arguments.append("--\(entry.key)") }
            case .strings(let list):
                arguments += list.map { "--\(entry.key)=\($0)" }
            case .integer(let i):
                arguments.append("--\(entry.key)=\(i)")
            case .number(let d):
                arguments.append("--\(entry.key)=\(d)")
            case .string(let s):
                if Self.kinds[entry.key] == .path && !s.isEmpty && !s.hasPrefix("/") {
                    arguments.append("--\(entry.key)=" + folder.appendingPathComponent(s).standardizedFileURL.path)
                } else {
                    arguments.append("--\(entry.key)=\(s)")
                }
            }
        }
        return (arguments, origins)
    }

    /// The long flag names in `arguments` (`--name` and `--name=value`).
    static func flagsGiven(_ arguments: [String]) -> Set<String> {
        var names: Set<String> = []
        for argument in arguments {
            if argument == "--" { break }
            guard argument.hasPrefix("--") else { continue }
            names.insert(String(argument.dropFirst(2).prefix { $0 != "=" }))
        }
        return names
    }

    /// `adrnorm serve … --config FILE …`: the file's arguments placed before
    /// the command line's (which keep `--config`, so that serve knows its
    /// file). Nil when `arguments` is not a serve command with `--config`.
    static func expand(_ arguments: [String]) throws -> (arguments: [String], file: ServeConfigFile, origins: [String: Int])? {
        guard arguments.first == "serve" else { return nil }
        let rest = Array(arguments.dropFirst())
        guard let path = try configPath(in: rest) else { return nil }
        let file = try load(path: path)
        let (fileArguments, origins) = file.arguments(overriddenBy: rest)
        return (["serve"] + fileArguments + rest, file, origins)
    }

    /// The value of `--config` in `arguments`, nil without one.
    static func configPath(in arguments: [String]) throws -> String? {
        var found: [String] = []
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let argument = arguments[index]
            if argument == "--" { break }
            if argument == "--config" {
                guard index + 1 < arguments.endIndex else { throw ValidationError("--config needs a file") }
                found.append(arguments[index + 1])
                index += 2
                continue
            }
            if argument.hasPrefix("--config=") { found.append(String(argument.dropFirst("--config=".count))) }
            index += 1
        }
        guard found.count <= 1 else { throw ValidationError("--config may be given once (got \(found.count))") }
        return found.first
    }

    /// `message` (an argument error) with the file, line and key in front
    /// when it is about a flag whose value came from the file.
    static func locate(_ message: String, path: String, origins: [String: Int]) -> String? {
        var rest = message[...]
        while let range = rest.range(of: "--") {
            let name = rest[range.upperBound...].prefix { $0.isLetter || $0.isNumber || $0 == "-" }
            if let line = origins[String(name)] {
                return "config file \(path) line \(line), key \(name): \(message)"
            }
            rest = rest[range.upperBound...]
        }
        return nil
    }
}

/// Reads one TOML value (the subset `ServeConfigFile` takes) from the text
/// after `=`.
private struct ValueScanner {
    struct Problem: Error { var message: String }

    var text: Substring

    init(text: Substring) { self.text = text }

    mutating func skipSpace() {
        text = text.drop { $0 == " " || $0 == "\t" }
    }

    /// Nothing but spaces and a comment may follow a value.
    mutating func end() throws {
        skipSpace()
        guard text.isEmpty || text.hasPrefix("#") else {
            throw Problem(message: "unexpected text after the value: \(text.prefix(40))")
        }
    }

    mutating func value(continuation: () -> Substring?) throws -> ServeConfigFile.Value {
        skipSpace()
        guard let first = text.first, first != "#" else { throw Problem(message: "expected a value after =") }
        switch first {
        case "\"", "'":
            return .string(try string())
        case "[":
            text.removeFirst()
            var items: [String] = []
            while true {
                skipSpace()
                if text.isEmpty || text.hasPrefix("#") {
                    guard let next = continuation() else { throw Problem(message: "the array is not closed with ]") }
                    text = next
                    continue
                }
                if text.hasPrefix("]") { text.removeFirst(); return .strings(items) }
                guard text.hasPrefix("\"") || text.hasPrefix("'") else {
                    throw Problem(message: "arrays hold strings in quotes here (got \(text.prefix(20)))")
                }
                items.append(try string())
                skipSpace()
                if text.hasPrefix(",") { text.removeFirst() } else if !(text.isEmpty || text.hasPrefix("#") || text.hasPrefix("]")) {
                    throw Problem(message: "expected , or ] in the array (got \(text.prefix(20)))")
                }
            }
        default:
            let token = text.prefix { !($0 == " " || $0 == "\t" || $0 == "#") }
            text = text.dropFirst(token.count)
            if token == "true" { return .boolean(true) }
            if token == "false" { return .boolean(false) }
            let digits = token.replacingOccurrences(of: "_", with: "")
            let unsigned = digits.hasPrefix("+") || digits.hasPrefix("-") ? digits.dropFirst() : digits[...]
            if !unsigned.isEmpty, unsigned.allSatisfy({ $0.isASCII && $0.isNumber }) {
                guard let i = Int(digits) else { throw Problem(message: "\(token) does not fit in a 64-bit integer") }
                return .integer(i)
            }
            if unsigned.first.map({ $0.isASCII && ($0.isNumber || $0 == ".") }) == true || ["inf", "nan"].contains(unsigned),
               let d = Double(digits) {
                return .number(d)
            }
            throw Problem(message: "\(token) is not a value: strings need quotes (\"…\"), switches are true or false")
        }
    }

    /// A basic ("…", with escapes) or literal ('…') string on one line.
    mutating func string() throws -> String {
        let quote = text.removeFirst()
        if text.hasPrefix(String(repeating: quote, count: 2)) {
            throw Problem(message: "multi-line strings (\(String(repeating: quote, count: 3))) are not supported")
        }
        var out = ""
        var scalars = text.unicodeScalars[...]
        while let c = scalars.popFirst() {
            if Character(c) == quote {
                text = Substring(scalars)
                return out
            }
            if c == "\\" && quote == "\"" {
                guard let e = scalars.popFirst() else { break }
                switch e {
                case "\"": out += "\""
                case "\\": out += "\\"
                case "n": out += "\n"
                case "t": out += "\t"
                case "r": out += "\r"
                case "b": out += "\u{8}"
                case "f": out += "\u{C}"
                case "u", "U":
                    let count = e == "u" ? 4 : 8
                    let hex = String(String.UnicodeScalarView(scalars.prefix(count)))
                    guard hex.count == count, let v = UInt32(hex, radix: 16), let s = Unicode.Scalar(v) else {
                        throw Problem(message: "bad \\\(e) escape in a string")
                    }
                    scalars = scalars.dropFirst(count)
                    out.unicodeScalars.append(s)
                default:
                    throw Problem(message: "unknown escape \\\(e) in a string (write \\\\ for a backslash)")
                }
                continue
            }
            if c.value < 0x20 && c != "\t" { throw Problem(message: "control character in a string") }
            out.unicodeScalars.append(c)
        }
        throw Problem(message: "the string is not closed with \(quote)")
    }
}
