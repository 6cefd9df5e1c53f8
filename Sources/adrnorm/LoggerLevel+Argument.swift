import ArgumentParser
import Logging

/// `--log-level trace|debug|info|notice|warning|error|critical`, with the
/// choices listed in `--help` and in the error for any other value.
extension Logger.Level: @retroactive ExpressibleByArgument {}
