/// Sizes of a dictionary. `llts` counts the aliases the candidates carry (the
/// current LLTs other than the PT's own), so a CSV and the MedDRA folder it was
/// made from give the same numbers; `socs` counts distinct SOC names in use.
public struct DictionaryCounts: Sendable, Equatable {
    public var pts: Int
    public var llts: Int
    public var socs: Int
    public init(pts: Int, llts: Int, socs: Int) {
        self.pts = pts
        self.llts = llts
        self.socs = socs
    }
}
