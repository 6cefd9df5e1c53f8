/// How many candidates a request gets: the one rule for every caller (the
/// `normalize` and `retrieve` commands, and the `Normalize`,
/// `NormalizeStream` and `Retrieve` methods).
///
/// - An unset `top_k` (nil; 0 on the wire) takes the default (100).
/// - `top_k` below 1 is an invalid argument.
/// - `top_k` above the dictionary's PT count is capped to that count: every
///   PT is a candidate. A small dictionary is not an error, and neither is a
///   large `top_k`; the command line says so once on stderr, the server logs
///   it at start, and `Info` reports the default as capped.
public struct TopK: Sendable, Equatable {
    /// What the caller asked for, or the default when it asked for nothing.
    public var requested: Int
    /// What the pipeline retrieves: `min(requested, dictionarySize)`.
    public var effective: Int
    /// The dictionary's PT count.
    public var dictionarySize: Int
    /// The request left `top_k` unset and got the default.
    public var isDefault: Bool

    /// Whether `requested` was above the dictionary's PT count.
    public var isCapped: Bool { effective < requested }

    /// Resolves `requested` (nil: `defaultValue`) for a dictionary of
    /// `dictionarySize` PTs.
    public static func resolve(_ requested: Int?, default defaultValue: Int = NormalizationDefaults.topK,
                               dictionarySize: Int) throws(NormalizationError) -> TopK {
        let k = requested ?? defaultValue
        guard k >= 1 else {
            throw .invalidArgument(field: "top_k", reason: requested == nil
                                   ? "the default must be at least 1 (got \(k))" : "must be at least 1 (got \(k))")
        }
        return TopK(requested: k, effective: min(k, max(dictionarySize, 1)), dictionarySize: dictionarySize,
                    isDefault: requested == nil)
    }

    /// One line for a log or stderr when the value was capped, nil otherwise;
    /// `name` is how the caller knows the setting (`--top-k`, `top_k`).
    public func capNote(name: String) -> String? {
        guard isCapped else { return nil }
        return "\(isDefault ? "the default \(name)" : name) \(requested) is above the dictionary's \(dictionarySize) PTs: "
            + "using \(effective), every PT of the dictionary, as candidates for each mention"
    }
}
