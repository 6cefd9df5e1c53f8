import Testing
import RPCClient
import RPCServer
import Transport
import Wire

@Suite("Frame encoding through the protobuf-c generated code")
struct FrameProtobufTests {
    static let frames: [Frame] = [
        Frame(streamID: .connection, kind: .hello(.init(protocolVersion: 1, clientName: "pv-batch/2.3 药物警戒"))),
        Frame(streamID: .connection, kind: .hello(.init(protocolVersion: 1, serverName: "adrnorm 0.1",
                                                         maxFrameBytes: 4_195_328, maxConcurrentStreams: 64,
                                                         initialStreamCredit: 16))),
        Frame(streamID: StreamID(1), kind: .call(.init(method: "/adrnorm.v1.Normalizer/Normalize",
                                                       timeoutMilliseconds: 250,
                                                       metadata: ["request-id": "r-1", "team": "安全"],
                                                       payload: [0x0A, 0x03, 0x61, 0x62, 0x63], halfClose: true))),
        Frame(streamID: StreamID(3), kind: .call(.init(method: "/adrnorm.v1.Normalizer/NormalizeStream"))),
        // Present but empty payload must stay distinguishable from no payload.
        Frame(streamID: StreamID(5), kind: .call(.init(method: "/adrnorm.v1.Normalizer/Health", payload: [],
                                                       halfClose: true))),
        Frame(streamID: StreamID(3), kind: .message(payload: Array(0...255))),
        Frame(streamID: StreamID(3), kind: .message(payload: [])),
        Frame(streamID: StreamID(3), kind: .halfClose),
        Frame(streamID: StreamID(3), kind: .status(code: .invalidArgument, message: "mention: empty after trimming whitespace")),
        Frame(streamID: StreamID(7), kind: .status(code: .ok, message: "")),
        Frame(streamID: StreamID(9), kind: .cancel(reason: "user pressed ^C")),
        Frame(streamID: StreamID(9), kind: .credit(messages: 32)),
        Frame(streamID: .connection, kind: .ping(payload: [1, 2, 3, 4, 5, 6, 7, 8])),
        Frame(streamID: .connection, kind: .pong(payload: [1, 2, 3, 4, 5, 6, 7, 8])),
        Frame(streamID: .connection, kind: .goAway(lastStreamID: StreamID(41), code: .unavailable,
                                                   message: "server shutting down")),
    ]

    @Test("every frame kind survives encode → decode", arguments: frames)
    func roundTrip(frame: Frame) throws {
        let bytes = frame.encoded()
        let decoded = try Frame(decoding: bytes)
        #expect(decoded == frame)
    }

    @Test("covers every kind")
    func coversEveryKind() {
        func tag(_ k: Frame.Kind) -> String { String(String(describing: k).prefix { $0 != "(" }) }
        let kinds = Set(Self.frames.map { tag($0.kind) })
        #expect(kinds == ["hello", "call", "message", "halfClose", "status", "cancel", "credit", "ping", "pong", "goAway"])
    }

    @Test("a buffer truncated inside a field is rejected")
    func truncated() {
        let frame = Frame(streamID: StreamID(1), kind: .call(.init(method: "/adrnorm.v1.Normalizer/Normalize",
                                                                   payload: Array(repeating: 7, count: 40))))
        let bytes = frame.encoded()
        // Cutting anywhere inside the nested Call (after its length prefix
        // and before its last byte) leaves a length-delimited field short.
        for cut in 4..<(bytes.count - 1) {
            #expect(throws: FrameDecodingError.malformed(byteCount: cut)) {
                try Frame(decoding: bytes.prefix(cut))
            }
        }
    }

    @Test("garbage is rejected, and a frame with no kind is an error")
    func garbage() {
        #expect(throws: FrameDecodingError.self) { try Frame(decoding: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF]) }
        // Field 1 (stream_id) = 5 and nothing else.
        #expect(throws: FrameDecodingError.missingKind(streamID: 5)) { try Frame(decoding: [0x08, 0x05]) }
    }

    @Test("status codes keep gRPC numbers and names")
    func statusCodes() {
        #expect(StatusCode.invalidArgument.rawValue == 3 && StatusCode.invalidArgument.description == "INVALID_ARGUMENT")
        #expect(StatusCode.unauthenticated.rawValue == 16)
        #expect(StatusCode.allCases.count == 17)
        #expect(StatusCode(wireValue: 99) == .unknown)
    }

    @Test("a framing error has one status, whichever side met it: INVALID_ARGUMENT")
    func framingErrorStatus() {
        #expect(RPCError.frameLength(0, maximum: 1024).statusCode == .invalidArgument)
        #expect(RPCError.malformedFrame(.missingKind(streamID: 5)).statusCode == .invalidArgument)
        #expect(RPCError.protocolViolation("a Credit frame from the client").statusCode == .invalidArgument)
    }

    @Test("a frame string that is not UTF-8 is a decoding error naming the field, as in the service messages")
    func invalidUTF8() throws {
        let good = Frame(streamID: StreamID(3), kind: .cancel(reason: "ok")).encoded()
        // The reason's bytes "ok" become 0xC3 0x28: a lead byte without its continuation.
        let index = try #require(good.indices.dropLast().first { good[$0] == UInt8(ascii: "o") && good[$0 + 1] == UInt8(ascii: "k") })
        var bad = good
        bad[index] = 0xC3
        bad[index + 1] = 0x28
        #expect(throws: FrameDecodingError.invalidUTF8(field: "cancel.reason")) { try Frame(decoding: bad) }
        #expect(try Frame(decoding: good).kind == .cancel(reason: "ok"))
    }
}
