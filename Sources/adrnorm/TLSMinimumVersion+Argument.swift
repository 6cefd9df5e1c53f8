import ArgumentParser
import Transport

/// `--tls-min-version 1.3|1.2`, with the choices listed in `--help` and in the
/// error for any other value.
extension TLSMinimumVersion: ExpressibleByArgument {}
