import ArgumentParser
import CrossEncoder

/// `--precision fp32|int8`, with the choices listed in `--help`.
extension Precision: ExpressibleByArgument {}
