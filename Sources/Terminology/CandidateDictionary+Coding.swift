extension CandidateDictionary {
    /// The least `lltSimilarity` at which a current LLT is a `closest` choice.
    public static let closestMinimumSimilarity = 0.5

    /// The LLT to code a matched PT with, for `mention` (trimmed of Python
    /// whitespace). Among the current LLTs of the PT (its own included,
    /// non-current never): the first by LLT code whose name equals the mention
    /// (`exact`); else the one with the highest `lltSimilarity` to the mention,
    /// if that is at least `closestMinimumSimilarity`, ties by LLT code
    /// (`closest`); else the PT's own LLT (`pt_llt`). It depends on nothing
    /// but the dictionary, the PT and the mention, and never on scores.
    public func codingLLT(candidateIndex: Int, mention: String) -> CodedLLT {
        let term = terms[candidateIndex]
        let list = llts[candidateIndex]
        let m = mention.trimmingPythonWhitespace
        if let e = list.first(where: { $0.name.utf8.elementsEqual(m.utf8) }) {
            return CodedLLT(code: e.code, name: e.name, how: .exact)
        }
        let mScalars = Array(m.unicodeScalars)
        var best: (llt: LowestLevelTerm, distance: Int, length: Int)? = nil
        for llt in list {
            let n = Array(llt.name.unicodeScalars)
            let d = Self.editDistance(mScalars, n)
            let length = max(mScalars.count, n.count)
            // similarity = 1 − d/length; compared exactly, on integers.
            guard length > 0, 2 * d <= length else { continue }   // ≥ closestMinimumSimilarity (0.5)
            if let b = best, d * b.length >= b.distance * length { continue }   // not strictly more similar
            best = (llt, d, length)
        }
        if let best { return CodedLLT(code: best.llt.code, name: best.llt.name, how: .closest) }
        let own = list.first { $0.code.utf8.elementsEqual(term.ptCode.utf8) } ?? .own(term)
        return CodedLLT(code: own.code, name: own.name, how: .ptLLT)
    }

    /// The character similarity behind `closest`: 1 − (Levenshtein distance
    /// over Unicode scalars) / (the longer length), in [0, 1]; 1 for two empty
    /// strings. Both sides are trimmed of Python whitespace first.
    public static func lltSimilarity(_ a: String, _ b: String) -> Double {
        let x = Array(a.trimmingPythonWhitespace.unicodeScalars), y = Array(b.trimmingPythonWhitespace.unicodeScalars)
        let length = max(x.count, y.count)
        return length == 0 ? 1 : 1 - Double(editDistance(x, y)) / Double(length)
    }

    /// Levenshtein distance (insert, delete, substitute, each 1).
    static func editDistance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
