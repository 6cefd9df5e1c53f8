import ArgumentParser
import Retrieval

/// `--mode bm25|exact`, with the choices listed in `--help` and in the error
/// for any other value.
extension RetrievalMode: ExpressibleByArgument {}
