import CLibFuzzer
import FuzzChecks

/// The frames fuzz target: the input is a chunking header and a byte stream
/// for `FrameDecoder` (see `checkFrameStream`).
@main
enum FuzzFrames {
    static func main() {
        runLibFuzzer { data, size in
            checkFrameStream(UnsafeBufferPointer(start: data, count: size))
            return 0
        }
    }
}
