/// Reports a finding and stops the process: libFuzzer sees the trap as a
/// crash and saves the input that caused it.
func finding(_ what: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    fatalError("fuzz finding: \(what())", file: file, line: line)
}

func require(_ condition: Bool, _ what: @autoclosure () -> String,
             file: StaticString = #fileID, line: UInt = #line) {
    if !condition { finding(what(), file: file, line: line) }
}

/// Whether a decoded value holds a NaN anywhere (then `==` is false even for
/// equal bytes, and only the byte comparison can say it survived).
func containsNaN(_ value: Any) -> Bool {
    switch value {
    case let d as Double: return d.isNaN
    case let f as Float: return f.isNaN
    default:
        return Mirror(reflecting: value).children.contains { containsNaN($0.value) }
    }
}
