/// Length-prefixed framing (docs/PROTOCOL.md §Framing): a 4-byte big-endian length `L`, then
/// `L` bytes of one protobuf `Frame`. The decoder is a pure state machine
/// over bytes: feed it whatever arrived with `append`, then call `next()`
/// until it says `.needMoreData`. It checks `L` before buffering the body,
/// so a hostile prefix never makes it allocate `L` bytes.
public struct FrameDecoder: Sendable {
    /// The default limit: a 4 MiB payload plus 1 KiB of frame overhead.
    public static let defaultMaxFrameBytes: UInt32 = 4 * 1024 * 1024 + 1024

    /// What `next()` found.
    public enum Step: Equatable, Sendable {
        case frame(Frame)
        case needMoreData
    }

    public let maxFrameBytes: UInt32
    private var buffer: [UInt8] = []
    private var start = 0
    /// Set once an error was reported: the stream is unusable after it.
    private var failed: RPCError?

    public init(maxFrameBytes: UInt32 = FrameDecoder.defaultMaxFrameBytes) {
        self.maxFrameBytes = maxFrameBytes
    }

    /// Bytes buffered but not yet decoded.
    public var bufferedByteCount: Int { buffer.count - start }

    /// Bytes of memory the buffer holds, used or not: at most about one
    /// frame while one is arriving, and small again once it is decoded.
    package var retainedByteCount: Int { buffer.capacity }

    /// Buffer capacity kept between frames; a larger buffer is freed once
    /// it has been read, so a connection that once received a 4 MiB frame
    /// does not hold 4 MiB for the rest of its life.
    static let keptCapacity = 64 * 1024

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        buffer.append(contentsOf: bytes)
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        buffer.append(contentsOf: bytes)
    }

    /// The next complete frame, or `.needMoreData`. After it throws, every
    /// later call throws the same error: a framing error ends the connection.
    public mutating func next() throws(RPCError) -> Step {
        if let failed { throw failed }
        let available = buffer.count - start
        guard available >= 4 else { compact(); return .needMoreData }
        let length = UInt32(buffer[start]) << 24 | UInt32(buffer[start + 1]) << 16
            | UInt32(buffer[start + 2]) << 8 | UInt32(buffer[start + 3])
        if length == 0 || length > maxFrameBytes {
            let error = RPCError.frameLength(length, maximum: maxFrameBytes)
            failed = error
            throw error
        }
        guard available - 4 >= Int(length) else { compact(); return .needMoreData }
        let bodyStart = start + 4
        let bodyEnd = bodyStart + Int(length)
        start = bodyEnd
        do {
            let frame = try buffer.withUnsafeBufferPointer { all throws(FrameDecodingError) in
                try Frame(decoding: UnsafeBufferPointer(rebasing: all[bodyStart..<bodyEnd]))
            }
            return .frame(frame)
        } catch {
            let wrapped = RPCError.malformedFrame(error)
            failed = wrapped
            throw wrapped
        }
    }

    private mutating func compact() {
        // Drop consumed bytes once they dominate, so the buffer stays about
        // one frame long without copying on every frame.
        if start > 0 && start == buffer.count && buffer.capacity > Self.keptCapacity {
            buffer = []
            start = 0
        } else if start > 0 && (start == buffer.count || start >= 64 * 1024 && start * 2 >= buffer.count) {
            buffer.removeFirst(start)
            start = 0
        }
    }
}

extension Frame {
    /// The frame with its 4-byte big-endian length prefix, ready to send.
    public func lengthPrefixed() -> [UInt8] {
        let body = encoded()
        let n = UInt32(body.count)
        var framed: [UInt8] = []
        framed.reserveCapacity(body.count + 4)
        framed.append(contentsOf: [UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)])
        framed.append(contentsOf: body)
        return framed
    }
}
