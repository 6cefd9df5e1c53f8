internal import AdrnormProto
internal import CProtobufC

/// Why bytes could not become a `Frame`.
public enum FrameDecodingError: Error, Equatable, CustomStringConvertible {
    /// protobuf-c rejected the bytes (truncated, wrong wire types, …).
    case malformed(byteCount: Int)
    /// A well-formed Frame with no kind set: nothing a peer may send.
    case missingKind(streamID: UInt32)
    /// A string field that is not valid UTF-8 (`field` names it), checked
    /// as the service messages' strings are.
    case invalidUTF8(field: String)

    public var description: String {
        switch self {
        case .malformed(let n): "malformed Frame: protobuf decoding failed on \(n) bytes"
        case .missingKind(let id): "Frame on stream \(id) has no kind set"
        case .invalidUTF8(let field): "malformed Frame: \(field) is not valid UTF-8"
        }
    }
}

extension Frame {
    /// The protobuf encoding of this frame (without the length prefix).
    public func encoded() -> [UInt8] {
        let arena = ProtobufArena()
        let frame: UnsafeMutablePointer<Adrnorm__Wire__V1__Frame> = arena.message(adrnorm__wire__v1__frame__init)
        frame.pointee.stream_id = streamID.rawValue
        switch kind {
        case .hello(let hello):
            let m: UnsafeMutablePointer<Adrnorm__Wire__V1__Hello> = arena.message(adrnorm__wire__v1__hello__init)
            m.pointee.protocol_version = hello.protocolVersion
            m.pointee.client_name = arena.string(hello.clientName)
            m.pointee.server_name = arena.string(hello.serverName)
            m.pointee.max_frame_bytes = hello.maxFrameBytes
            m.pointee.max_concurrent_streams = hello.maxConcurrentStreams
            m.pointee.initial_stream_credit = hello.initialStreamCredit
            frame.pointee.kind_case = ADRNORM__WIRE__V1__FRAME__KIND_HELLO
            frame.pointee.hello = m
        case .call(let call):
            let m: UnsafeMutablePointer<Adrnorm__Wire__V1__Call> = arena.message(adrnorm__wire__v1__call__init)
            m.pointee.method = arena.string(call.method)
            m.pointee.timeout_ms = call.timeoutMilliseconds
            // Sorted so that equal calls encode to equal bytes.
            let entries = call.metadata.sorted { $0.key < $1.key }.map { entry in
                let e: UnsafeMutablePointer<Adrnorm__Wire__V1__Call__MetadataEntry> =
                    arena.message(adrnorm__wire__v1__call__metadata_entry__init)
                e.pointee.key = arena.string(entry.key)
                e.pointee.value = arena.string(entry.value)
                return e
            }
            m.pointee.n_metadata = entries.count
            m.pointee.metadata = arena.pointerArray(entries)
            if let payload = call.payload {
                m.pointee.first_message_case = ADRNORM__WIRE__V1__CALL__FIRST_MESSAGE_PAYLOAD
                m.pointee.payload = arena.bytes(payload)
            }
            m.pointee.half_close = call.halfClose ? 1 : 0
            frame.pointee.kind_case = ADRNORM__WIRE__V1__FRAME__KIND_CALL
            frame.pointee.call = m
        case .message(let payload):
            let m: UnsafeMutablePointer<Adrnorm__Wire__V1__Message> = arena.message(adrnorm__wire__v1__message__init)
            m.pointee.payload = arena.bytes(payload)
            frame.pointee.kind_case = ADRNORM__WIRE__V1__FRAME__KIND_MESSAGE
            frame.pointee.message = m
        case .halfClose:
            let m: UnsafeMutablePointer<Adrnorm__Wire__V1__HalfClose> = arena.message(adrnorm__wire__v1__half_close__init)
            frame.pointee.kind_case = ADRNORM__WIRE__V1__FRAME__KIND_HALF_CLOSE
            frame.pointee.half_close = m
        case .status(let code, let message):
            let m: UnsafeMutablePointer<Adrnorm__Wire__V1__Status> = arena.message(adrnorm__wire__v1__status__init)
            m.pointee.code = Adrnorm__Wire__V1__Code(rawValue: code.rawValue)
            m.pointee.message = arena.string(message)
            frame.pointee.kind_case = ADRNORM__WIRE__V1__FRAME__KIND_STATUS
            frame.pointee.status = m
        case .cancel(let reason):
            let m: UnsafeMutablePointer<Adrnorm__Wire__V1__Cancel> = arena.message(adrnorm__wire__v1__cancel__init)
            m.pointee.reason = arena.string(reason)
            frame.pointee.kind_case = ADRNORM__WIRE__V1__FRAME__KIND_CANCEL
            frame.pointee.cancel = m
        case .credit(let messages):
            let m: UnsafeMutablePointer<Adrnorm__Wire__V1__Credit> = arena.message(adrnorm__wire__v1__credit__init)
            m.pointee.messages = messages
            frame.pointee.kind_case = ADRNORM__WIRE__V1__FRAME__KIND_CREDIT
            frame.pointee.credit = m
        case .ping(let payload):
            let m: UnsafeMutablePointer<Adrnorm__Wire__V1__Ping> = arena.message(adrnorm__wire__v1__ping__init)
            m.pointee.payload = arena.bytes(payload)
            frame.pointee.kind_case = ADRNORM__WIRE__V1__FRAME__KIND_PING
            frame.pointee.ping = m
        case .pong(let payload):
            let m: UnsafeMutablePointer<Adrnorm__Wire__V1__Pong> = arena.message(adrnorm__wire__v1__pong__init)
            m.pointee.payload = arena.bytes(payload)
            frame.pointee.kind_case = ADRNORM__WIRE__V1__FRAME__KIND_PONG
            frame.pointee.pong = m
        case .goAway(let lastStreamID, let code, let message):
            let m: UnsafeMutablePointer<Adrnorm__Wire__V1__GoAway> = arena.message(adrnorm__wire__v1__go_away__init)
            m.pointee.last_stream_id = lastStreamID.rawValue
            m.pointee.code = Adrnorm__Wire__V1__Code(rawValue: code.rawValue)
            m.pointee.message = arena.string(message)
            frame.pointee.kind_case = ADRNORM__WIRE__V1__FRAME__KIND_GOAWAY
            frame.pointee.goaway = m
        }
        return frame.withMemoryRebound(to: ProtobufCMessage.self, capacity: 1) { packProtobuf($0) }
    }

    /// Decodes the protobuf bytes of one frame (without the length prefix).
    /// The protobuf-c message is copied into Swift values and freed here.
    public init(decoding bytes: some Collection<UInt8>) throws(FrameDecodingError) {
        let array = Array(bytes)
        let unpacked = array.withUnsafeBufferPointer { buffer in
            adrnorm__wire__v1__frame__unpack(nil, buffer.count, buffer.baseAddress)
        }
        guard let frame = unpacked else { throw .malformed(byteCount: array.count) }
        defer { adrnorm__wire__v1__frame__free_unpacked(frame, nil) }

        let f = frame.pointee
        let kind: Kind
        switch f.kind_case {
        case ADRNORM__WIRE__V1__FRAME__KIND_HELLO:
            let h = f.hello.pointee
            kind = .hello(Hello(protocolVersion: h.protocol_version,
                                clientName: try frameString(h.client_name, "hello.client_name"),
                                serverName: try frameString(h.server_name, "hello.server_name"),
                                maxFrameBytes: h.max_frame_bytes,
                                maxConcurrentStreams: h.max_concurrent_streams,
                                initialStreamCredit: h.initial_stream_credit))
        case ADRNORM__WIRE__V1__FRAME__KIND_CALL:
            let c = f.call.pointee
            var metadata: [String: String] = [:]
            for i in 0..<c.n_metadata {
                if let entry = c.metadata[i]?.pointee {
                    metadata[try frameString(entry.key, "call.metadata key")] = try frameString(entry.value, "call.metadata value")
                }
            }
            let payload: [UInt8]? = c.first_message_case == ADRNORM__WIRE__V1__CALL__FIRST_MESSAGE_PAYLOAD
                ? [UInt8](protobufC: c.payload) : nil
            kind = .call(Call(method: try frameString(c.method, "call.method"), timeoutMilliseconds: c.timeout_ms,
                              metadata: metadata, payload: payload, halfClose: c.half_close != 0))
        case ADRNORM__WIRE__V1__FRAME__KIND_MESSAGE:
            kind = .message(payload: [UInt8](protobufC: f.message.pointee.payload))
        case ADRNORM__WIRE__V1__FRAME__KIND_HALF_CLOSE:
            kind = .halfClose
        case ADRNORM__WIRE__V1__FRAME__KIND_STATUS:
            let s = f.status.pointee
            kind = .status(code: StatusCode(wireValue: s.code.rawValue), message: try frameString(s.message, "status.message"))
        case ADRNORM__WIRE__V1__FRAME__KIND_CANCEL:
            kind = .cancel(reason: try frameString(f.cancel.pointee.reason, "cancel.reason"))
        case ADRNORM__WIRE__V1__FRAME__KIND_CREDIT:
            kind = .credit(messages: f.credit.pointee.messages)
        case ADRNORM__WIRE__V1__FRAME__KIND_PING:
            kind = .ping(payload: [UInt8](protobufC: f.ping.pointee.payload))
        case ADRNORM__WIRE__V1__FRAME__KIND_PONG:
            kind = .pong(payload: [UInt8](protobufC: f.pong.pointee.payload))
        case ADRNORM__WIRE__V1__FRAME__KIND_GOAWAY:
            let g = f.goaway.pointee
            kind = .goAway(lastStreamID: StreamID(g.last_stream_id), code: StatusCode(wireValue: g.code.rawValue),
                           message: try frameString(g.message, "goaway.message"))
        default:
            throw .missingKind(streamID: f.stream_id)
        }
        self.init(streamID: StreamID(f.stream_id), kind: kind)
    }
}

/// A protobuf-c string field of a frame as Swift text (NULL reads as
/// empty); invalid UTF-8 is a decoding error, never repaired.
private func frameString(_ pointer: UnsafePointer<CChar>?, _ field: String) throws(FrameDecodingError) -> String {
    guard let pointer else { return "" }
    guard let text = String(validatingCString: pointer) else { throw .invalidUTF8(field: field) }
    return text
}
