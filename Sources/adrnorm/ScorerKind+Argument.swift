import ArgumentParser
import Normalization

/// `--scorer model|lexical`, with the choices listed in `--help` and in the
/// error for any other value.
extension ScorerKind: ExpressibleByArgument {}
