import Wire

/// Every service message type, in the order the messages fuzz target's first
/// byte picks them (`byte % count`). The seed corpus (Fuzz/make-corpus) uses
/// the same order.
let serviceMessageTypes: [any (WireMessage & Equatable).Type] = [
    AdrnormV1.RetrieveRequest.self,
    AdrnormV1.RetrieveResponse.self,
    AdrnormV1.ScoreRequest.self,
    AdrnormV1.ScoreResponse.self,
    AdrnormV1.NormalizeRequest.self,
    AdrnormV1.NormalizeResponse.self,
    AdrnormV1.InfoRequest.self,
    AdrnormV1.InfoResponse.self,
    AdrnormV1.HealthRequest.self,
    AdrnormV1.HealthResponse.self,
]

/// Decodes `bytes` as `M`. Bytes that do not decode must be rejected as
/// INVALID_ARGUMENT with a message; a decoded message, re-encoded, must
/// decode to an equal message and re-encode to the same bytes.
func checkRoundTrip<M: WireMessage & Equatable>(_ type: M.Type, _ bytes: [UInt8]) {
    let first: M
    do {
        first = try M(serializedBytes: bytes)
    } catch {
        require(error.code == .invalidArgument && !error.message.isEmpty,
                "\(M.self) rejected \(bytes.count) bytes with \(error), not INVALID_ARGUMENT")
        return
    }
    let encoded = first.serializedBytes()
    let second: M
    do {
        second = try M(serializedBytes: encoded)
    } catch {
        finding("\(M.self) decoded, but its re-encoding does not: \(error); message \(first)")
    }
    require(second == first || containsNaN(first), "\(M.self) changed in a round trip: \(first) became \(second)")
    require(second.serializedBytes() == encoded, "\(M.self) does not re-encode to the same bytes: \(first)")
}

/// The messages fuzz target: byte 0 picks the type, the rest is its payload.
public func checkServiceMessage(_ input: UnsafeBufferPointer<UInt8>) {
    guard let selector = input.first else { return }
    let type = serviceMessageTypes[Int(selector) % serviceMessageTypes.count]
    checkRoundTrip(type, Array(input.dropFirst()))
}
