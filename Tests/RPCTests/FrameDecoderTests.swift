import Testing
import RPCClient
import RPCServer
import Transport
import Wire

@Suite("Frame decoder state machine")
struct FrameDecoderTests {
    static let frames: [Frame] = [
        Frame(streamID: .connection, kind: .hello(.init(protocolVersion: 1, clientName: "测试客户端"))),
        Frame(streamID: StreamID(1), kind: .call(.init(method: "/adrnorm.v1.Normalizer/Normalize", timeoutMilliseconds: 50,
                                                       metadata: ["k": "v"], payload: Array(0..<200), halfClose: true))),
        Frame(streamID: StreamID(3), kind: .message(payload: Array(repeating: 0xAB, count: 70_000))),
        Frame(streamID: StreamID(3), kind: .halfClose),
        Frame(streamID: .connection, kind: .ping(payload: [1, 2, 3])),
    ]

    @Test("frames split at every byte offset decode to the same frames")
    func everySplit() throws {
        let small = [Self.frames[0], Self.frames[1], Self.frames[3], Self.frames[4]]
        let bytes = small.flatMap { $0.lengthPrefixed() }
        for cut in 0...bytes.count {
            var decoder = FrameDecoder()
            var decoded: [Frame] = []
            for part in [bytes[..<cut], bytes[cut...]] {
                decoder.append(part)
                while case .frame(let frame) = try decoder.next() { decoded.append(frame) }
            }
            #expect(decoded == small, "split at \(cut)")
            #expect(decoder.bufferedByteCount == 0)
        }
    }

    @Test("byte-at-a-time feeding, including a frame larger than 64 KiB")
    func byteAtATime() throws {
        let bytes = Self.frames.flatMap { $0.lengthPrefixed() }
        var decoder = FrameDecoder()
        var decoded: [Frame] = []
        for byte in bytes {
            decoder.append([byte])
            while case .frame(let frame) = try decoder.next() { decoded.append(frame) }
        }
        #expect(decoded == Self.frames)
    }

    @Test("a zero length prefix is an error")
    func zeroLength() {
        var decoder = FrameDecoder()
        decoder.append([0, 0, 0, 0, 0x08, 0x01])
        #expect(throws: RPCError.frameLength(0, maximum: FrameDecoder.defaultMaxFrameBytes)) { try decoder.next() }
        // The decoder stays failed.
        #expect(throws: RPCError.self) { try decoder.next() }
    }

    @Test("an oversized prefix is rejected from its 4 bytes alone")
    func oversized() throws {
        var decoder = FrameDecoder(maxFrameBytes: 1024)
        decoder.append([0, 0, 4, 0])  // exactly 1024: allowed, waits for the body
        #expect(try decoder.next() == .needMoreData)
        var big = FrameDecoder(maxFrameBytes: 1024)
        big.append([0, 0, 4, 1])
        #expect(throws: RPCError.frameLength(1025, maximum: 1024)) { try big.next() }
        var huge = FrameDecoder()
        huge.append([0xFF, 0xFF, 0xFF, 0xFF])
        #expect(throws: RPCError.frameLength(UInt32.max, maximum: FrameDecoder.defaultMaxFrameBytes)) { try huge.next() }
        #expect(huge.bufferedByteCount == 4)
    }

    @Test("a large frame's buffer is freed once it is decoded, not kept for the connection's life")
    func largeFrameBufferFreed() throws {
        let large = Frame(streamID: StreamID(1), kind: .message(payload: Array(repeating: 0x5A, count: 1 << 20)))
        let small = Frame(streamID: StreamID(1), kind: .halfClose)
        var decoder = FrameDecoder()
        decoder.append(large.lengthPrefixed())
        #expect(decoder.retainedByteCount >= 1 << 20)
        #expect(try decoder.next() == .frame(large))
        #expect(try decoder.next() == .needMoreData)
        #expect(decoder.retainedByteCount <= 64 * 1024, "\(decoder.retainedByteCount) bytes kept after a 1 MiB frame")
        // Small frames still reuse the buffer and decode as before.
        for _ in 0..<3 {
            decoder.append(small.lengthPrefixed())
            #expect(try decoder.next() == .frame(small))
            #expect(try decoder.next() == .needMoreData)
        }
        #expect(decoder.bufferedByteCount == 0 && decoder.retainedByteCount <= 64 * 1024)
    }

    @Test("undecodable frame bytes are an error")
    func malformed() {
        var decoder = FrameDecoder()
        decoder.append([0, 0, 0, 3, 0xFF, 0xFF, 0xFF])
        #expect(throws: RPCError.self) { try decoder.next() }
    }
}

@Suite("Socket addresses")
struct SocketAddressTests {
    @Test("IPv4, IPv6 and localhost parse; bad ones name the problem")
    func parse() throws {
        let v4 = try SocketAddress(parsing: "127.0.0.1:0")
        #expect(v4.family == .ipv4 && v4.port == 0)
        let v6 = try SocketAddress(parsing: "[::1]:8443")
        #expect(v6.family == .ipv6 && v6.port == 8443 && v6.description == "[::1]:8443")
        #expect(try SocketAddress(parsing: "localhost:7443").family == .ipv4)
        #expect { try SocketAddress(parsing: "::1:80") } throws: { "\($0)".contains("brackets") }
        #expect { try SocketAddress(parsing: "127.0.0.1:99999") } throws: { "\($0)".contains("port") }
        #expect { try SocketAddress(parsing: "example.org:80") } throws: { "\($0)".contains("not an IPv4 or IPv6") }
        #expect { try SocketAddress(parsing: "127.0.0.1") } throws: { "\($0)".contains("no :PORT") }
    }
}
