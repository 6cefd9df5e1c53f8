import Foundation

/// A JSON value written with its object keys in the order given: the one
/// writer of every JSON line and document adrnorm prints (pair and prediction
/// JSONL, mention results, metrics, `adrnorm call` and the benchmarks' figures).
/// Their key orders are part of the documented formats, which a dictionary
/// and `JSONSerialization` would not keep.
///
/// Compact text is `{"key": value, "key": value}` and `[a, b]`, the spacing of
/// Python's `json.dumps` defaults; non-ASCII text is written as UTF-8, not escaped.
public indirect enum JSONValue: Sendable {
    case string(String)
    /// A number; `format` (a `printf` format such as `"%.2f"`) fixes the digits,
    /// else the shortest text that reads back as the same `Double`. NaN and the
    /// infinities, which JSON lacks, are written as `null`.
    case number(Double, format: String? = nil)
    case integer(Int)
    case bool(Bool)
    case null
    case array([JSONValue])
    /// An object whose keys are written in this order.
    case object([(String, JSONValue)])

    /// An array of strings.
    public static func strings(_ values: [String]) -> JSONValue { .array(values.map(JSONValue.string)) }

    /// The JSON text. `pretty` puts each member of an object or array on its own
    /// line, indented by two spaces per level (the layout of `json.dumps(…, indent=2)`).
    public func text(pretty: Bool = false) -> String {
        var out = ""
        write(to: &out, indent: pretty ? "" : nil)
        return out
    }

    /// Appends the text to `out`; `indent` is the current line's indentation
    /// when pretty, nil when compact.
    public func write(to out: inout String, indent: String? = nil) {
        switch self {
        case .string(let s): Self.quote(s, to: &out)
        case .number(let v, let format):
            if !v.isFinite { out += "null" } else if let format { out += String(format: format, v) } else { out += "\(v)" }
        case .integer(let n): out += String(n)
        case .bool(let b): out += b ? "true" : "false"
        case .null: out += "null"
        case .array(let elements):
            Self.members(elements, open: "[", close: "]", to: &out, indent: indent) { element, out, inner in
                element.write(to: &out, indent: inner)
            }
        case .object(let fields):
            Self.members(fields, open: "{", close: "}", to: &out, indent: indent) { field, out, inner in
                Self.quote(field.0, to: &out)
                out += ": "
                field.1.write(to: &out, indent: inner)
            }
        }
    }

    private static func members<Member>(_ members: [Member], open: String, close: String, to out: inout String,
                                        indent: String?, _ writeMember: (Member, inout String, String?) -> Void) {
        out += open
        let inner = indent.map { $0 + "  " }
        for (i, member) in members.enumerated() {
            if i > 0 { out += inner == nil ? ", " : "," }
            if let inner { out += "\n" + inner }
            writeMember(member, &out, inner)
        }
        if let indent { out += "\n" + indent }
        out += close
    }

    /// A JSON string literal; only `"`, `\` and control characters escaped.
    public static func quote(_ s: String, to out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
