import Wire

/// The frame size limit under fuzzing: small, so that inputs of a few KiB
/// reach it (and `FuzzLimits.maxFrameBytes + 1` is rejected).
public enum FuzzLimits {
    public static let maxFrameBytes: UInt32 = 1024
}

/// How the decoder ended on a stream: the frames it produced, then either a
/// wait for more bytes (with the bytes still buffered) or an error.
struct FrameOutcome: Equatable {
    var frames: [Frame] = []
    var error: RPCError?
    var buffered = 0
}

/// Splits a frames-fuzzer input into chunks and the stream they cover.
/// Byte 0: `n = byte & 0x0F` split points; the next `n` bytes are chunk
/// lengths (`b + 1`, so 1…256); the rest is the stream, fed as those chunks
/// and then whatever is left as one last chunk.
func frameChunks(_ input: UnsafeBufferPointer<UInt8>) -> (stream: [UInt8], chunks: [ArraySlice<UInt8>]) {
    guard let header = input.first else { return ([], []) }
    let splits = min(Int(header & 0x0F), input.count - 1)
    let lengths = input[1..<(1 + splits)].map { Int($0) + 1 }
    let stream = Array(input[(1 + splits)...])
    var chunks: [ArraySlice<UInt8>] = []
    var at = 0
    for length in lengths where at < stream.count {
        let end = min(at + length, stream.count)
        chunks.append(stream[at..<end])
        at = end
    }
    if at < stream.count { chunks.append(stream[at...]) }
    return (stream, chunks)
}

/// Feeds the chunks to one decoder, draining it after each.
func decodeChunked(_ chunks: [ArraySlice<UInt8>], maxFrameBytes: UInt32) -> (FrameOutcome, FrameDecoder) {
    var decoder = FrameDecoder(maxFrameBytes: maxFrameBytes)
    var outcome = FrameOutcome()
    feeding: for chunk in chunks {
        decoder.append(chunk)
        while true {
            do {
                switch try decoder.next() {
                case .frame(let frame): outcome.frames.append(frame)
                case .needMoreData: continue feeding
                }
            } catch {
                outcome.error = error
                break feeding
            }
        }
    }
    if outcome.error == nil { outcome.buffered = decoder.bufferedByteCount }
    return (outcome, decoder)
}

/// What the stream means, read in one pass straight from the framing rules
/// (docs/PROTOCOL.md §Framing), without `FrameDecoder`: the reference that
/// chunked decoding must agree with.
func referenceOutcome(_ stream: [UInt8], maxFrameBytes: UInt32) -> FrameOutcome {
    var outcome = FrameOutcome()
    var at = 0
    while stream.count - at >= 4 {
        let length = stream[at..<(at + 4)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        if length == 0 || length > maxFrameBytes {
            outcome.error = .frameLength(length, maximum: maxFrameBytes)
            return outcome
        }
        guard stream.count - at - 4 >= Int(length) else { break }
        let body = stream[(at + 4)..<(at + 4 + Int(length))]
        at += 4 + Int(length)
        do {
            outcome.frames.append(try Frame(decoding: body))
        } catch {
            outcome.error = .malformedFrame(error)
            return outcome
        }
    }
    outcome.buffered = stream.count - at
    return outcome
}

/// A decoded frame, length-prefixed again and decoded by a fresh decoder,
/// is the same frame, and encodes to the same bytes.
func checkFrameRoundTrip(_ frame: Frame) {
    let bytes = frame.lengthPrefixed()
    var decoder = FrameDecoder(maxFrameBytes: .max)
    decoder.append(bytes)
    let again: Frame
    do {
        guard case .frame(let decoded) = try decoder.next() else {
            finding("re-encoded \(frame.kind.name) frame (\(bytes.count) bytes) does not decode as one frame")
        }
        again = decoded
        require(try decoder.next() == .needMoreData && decoder.bufferedByteCount == 0,
                "re-encoded \(frame.kind.name) frame left bytes behind")
    } catch {
        finding("re-encoded \(frame.kind.name) frame does not decode: \(error)")
    }
    require(again == frame, "\(frame.kind.name) frame changed in a round trip: \(frame) became \(again)")
    require(again.lengthPrefixed() == bytes, "\(frame.kind.name) frame does not re-encode to the same bytes")
}

/// The frames fuzz target: the stream decoded in the input's chunks must
/// agree with the one-pass reference (same frames, same error, same bytes
/// left over); an error must stay (the next call throws it again); every
/// frame must survive a round trip.
public func checkFrameStream(_ input: UnsafeBufferPointer<UInt8>) {
    let maxFrameBytes = FuzzLimits.maxFrameBytes
    let (stream, chunks) = frameChunks(input)
    let (chunked, finalDecoder) = decodeChunked(chunks, maxFrameBytes: maxFrameBytes)
    var decoder = finalDecoder
    let reference = referenceOutcome(stream, maxFrameBytes: maxFrameBytes)
    require(chunked == reference,
            "decoding in \(chunks.count) chunks gave \(chunked), reading the stream in one pass gave \(reference)")
    if let error = chunked.error {
        do {
            let step = try decoder.next()
            finding("decoder went on after \(error): \(step)")
        } catch {
            require(error == chunked.error, "decoder's second error \(error) differs from its first")
        }
        if case .frameLength(let length, let maximum) = error {
            require(maximum == maxFrameBytes && (length == 0 || length > maxFrameBytes),
                    "length error for an allowed length: \(error)")
        }
    } else {
        require(chunked.buffered < 4 + Int(maxFrameBytes), "decoder holds \(chunked.buffered) bytes without a frame")
    }
    for frame in chunked.frames { checkFrameRoundTrip(frame) }
}
