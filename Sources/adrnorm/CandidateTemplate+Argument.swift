import ArgumentParser
import Terminology

/// `--template full|pt_only|pt_llt`, with the choices listed in `--help` and
/// in the error for any other value.
extension CandidateTemplate: ExpressibleByArgument {}
