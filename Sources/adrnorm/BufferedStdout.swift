import Foundation

/// stdout in 64 KiB chunks: JSONL for thousands of mentions without a
/// syscall per line.
struct BufferedStdout {
    private var buffer: [UInt8] = []
    init() { buffer.reserveCapacity(1 << 16) }
    mutating func write(_ s: String) {
        buffer.append(contentsOf: s.utf8)
        if buffer.count >= 1 << 16 { flush() }
    }
    mutating func flush() {
        if buffer.isEmpty { return }
        FileHandle.standardOutput.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }
}
