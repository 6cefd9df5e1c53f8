import Foundation

/// Typed access to the fields of one parsed JSON object, with errors that
/// name the line and the field.
struct JSONFields {
    let object: [String: Any]
    let line: Int

    /// Parses one JSONL line into an object.
    static func parseObject(_ text: some StringProtocol, line: Int) throws(PairRecordError) -> [String: Any] {
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: Data(text.utf8))
        } catch {
            throw PairRecordError(line: line, problem: "invalid JSON (\(error.localizedDescription))")
        }
        guard let object = parsed as? [String: Any] else {
            throw PairRecordError(line: line, problem: "not a JSON object")
        }
        return object
    }

    /// The mention: `text_a`, or `raw_term` in older files.
    func mentionText() throws(PairRecordError) -> String {
        if object["text_a"] != nil { return try string("text_a", required: true) }
        return try string("raw_term", required: true, alias: "text_a")
    }

    private func fail(_ field: String, _ problem: String) -> PairRecordError {
        PairRecordError(line: line, problem: "field \(field): \(problem)")
    }

    func string(_ name: String, required: Bool = false, alias: String? = nil) throws(PairRecordError) -> String {
        guard let value = object[name], !(value is NSNull) else {
            if required {
                let names = alias.map { "\($0) (or \(name))" } ?? name
                throw PairRecordError(line: line, problem: "missing required field \(names)")
            }
            return ""
        }
        guard let s = value as? String else { throw fail(name, "expected a string") }
        return s
    }

    /// A string, or an integer written as its decimal digits (ids and codes).
    func identifier(_ name: String, required: Bool = true) throws(PairRecordError) -> String {
        guard let value = object[name], !(value is NSNull) else {
            if required { throw PairRecordError(line: line, problem: "missing required field \(name)") }
            return ""
        }
        if let s = value as? String { return s }
        if let n = value as? NSNumber, !JSONFields.isBool(n), n.doubleValue == n.doubleValue.rounded() {
            return String(n.int64Value)
        }
        throw fail(name, "expected a string or an integer")
    }

    func strings(_ name: String) throws(PairRecordError) -> [String] {
        guard let value = object[name], !(value is NSNull) else { return [] }
        guard let array = value as? [Any] else { throw fail(name, "expected a list of strings") }
        var out: [String] = []
        for element in array {
            guard let s = element as? String else { throw fail(name, "expected a list of strings") }
            out.append(s)
        }
        return out
    }

    func identifiers(_ name: String) throws(PairRecordError) -> [String] {
        guard let value = object[name], !(value is NSNull) else { return [] }
        guard let array = value as? [Any] else { throw fail(name, "expected a list") }
        var out: [String] = []
        for element in array {
            if let s = element as? String { out.append(s) }
            else if let n = element as? NSNumber, !JSONFields.isBool(n), n.doubleValue == n.doubleValue.rounded() {
                out.append(String(n.int64Value))
            } else { throw fail(name, "expected a list of strings or integers") }
        }
        return out
    }

    func number(_ name: String) throws(PairRecordError) -> Double? {
        guard let value = object[name], !(value is NSNull) else { return nil }
        guard let n = value as? NSNumber, !JSONFields.isBool(n) else { throw fail(name, "expected a number") }
        return n.doubleValue
    }

    /// 0 or 1 (also accepts true/false).
    func binary(_ name: String) throws(PairRecordError) -> Int? {
        guard let value = object[name], !(value is NSNull) else { return nil }
        guard let n = value as? NSNumber else { throw fail(name, "expected 0 or 1") }
        let d = n.doubleValue
        guard d == 0 || d == 1 else { throw fail(name, "expected 0 or 1, got \(n)") }
        return Int(d)
    }

    /// JSONSerialization reads true/false as a boolean NSNumber subclass
    /// whose objCType is "c"; `is Bool` is true for 0 and 1 too on Linux.
    static func isBool(_ n: NSNumber) -> Bool {
        type(of: n) != NSNumber.self && String(cString: n.objCType) == "c"
    }
}
