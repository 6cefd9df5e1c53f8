/// Collects candidates in order of first appearance; aliases distinct (code
/// points compared exactly, as Python compares strings), trimmed, empty dropped.
struct CandidateBuilder {
    var terms: [PreferredTerm] = []
    private var indexByCode: [[UInt8]: Int] = [:]
    private var aliasSeen: [Set<[UInt8]>] = []

    func index(of code: String) -> Int? { indexByCode[Array(code.utf8)] }

    mutating func add(_ term: PreferredTerm) -> Int {
        indexByCode[Array(term.ptCode.utf8)] = terms.count
        terms.append(term)
        aliasSeen.append([])
        return terms.count - 1
    }

    enum AliasOutcome { case added, empty, duplicate }

    mutating func addAlias(_ raw: String, to i: Int) -> AliasOutcome {
        let alias = raw.trimmingPythonWhitespace
        if alias.isEmpty { return .empty }
        if !aliasSeen[i].insert(Array(alias.utf8)).inserted { return .duplicate }
        terms[i].lltNames.append(alias)
        return .added
    }
}
