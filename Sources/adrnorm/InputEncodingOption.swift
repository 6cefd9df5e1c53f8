import ArgumentParser
import Terminology

/// `--input-encoding`, for the commands that read an input file of
/// mentions, pairs or predictions (the dictionary's is `--encoding`).
struct InputEncodingOption: ParsableArguments {
    @Option(name: .customLong("input-encoding"),
            help: "Encoding of the input file: utf-8 (default; a BOM is dropped) or gb18030 (gbk reads as gb18030, its superset).")
    var name: String = SourceEncoding.utf8.rawValue

    func validate() throws {
        guard (try? SourceEncoding(name: name)) != nil else {
            throw ValidationError("--input-encoding must be utf-8 or gb18030 (or gbk) (got \(name))")
        }
    }

    /// Valid once `validate()` passed.
    var encoding: SourceEncoding { (try? SourceEncoding(name: name)) ?? .utf8 }
}
