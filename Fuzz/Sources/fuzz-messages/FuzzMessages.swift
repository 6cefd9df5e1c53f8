import CLibFuzzer
import FuzzChecks

/// The messages fuzz target: the first byte picks a service message type,
/// the rest is its payload (see `checkServiceMessage`).
@main
enum FuzzMessages {
    static func main() {
        runLibFuzzer { data, size in
            checkServiceMessage(UnsafeBufferPointer(start: data, count: size))
            return 0
        }
    }
}
