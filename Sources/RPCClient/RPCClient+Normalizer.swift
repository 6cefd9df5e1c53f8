import Transport
import Wire

/// Typed calls of `adrnorm.v1.Normalizer` over an `RPCClient`.
extension RPCClient {
    public func retrieve(_ request: AdrnormV1.RetrieveRequest, timeout: Duration? = nil)
        async throws(RPCError) -> AdrnormV1.RetrieveResponse {
        try decodeResponse(await call(NormalizerMethod.retrieve.rawValue, request: request.serializedBytes(),
                                      timeout: timeout))
    }

    public func score(_ request: AdrnormV1.ScoreRequest, timeout: Duration? = nil)
        async throws(RPCError) -> AdrnormV1.ScoreResponse {
        try decodeResponse(await call(NormalizerMethod.score.rawValue, request: request.serializedBytes(),
                                      timeout: timeout))
    }

    public func normalize(_ request: AdrnormV1.NormalizeRequest, timeout: Duration? = nil)
        async throws(RPCError) -> AdrnormV1.NormalizeResponse {
        try decodeResponse(await call(NormalizerMethod.normalize.rawValue, request: request.serializedBytes(),
                                      timeout: timeout))
    }

    public func info(timeout: Duration? = nil) async throws(RPCError) -> AdrnormV1.InfoResponse {
        try decodeResponse(await call(NormalizerMethod.info.rawValue, request: AdrnormV1.InfoRequest().serializedBytes(),
                                      timeout: timeout))
    }

    public func health(timeout: Duration? = nil) async throws(RPCError) -> AdrnormV1.HealthResponse {
        try decodeResponse(await call(NormalizerMethod.health.rawValue,
                                      request: AdrnormV1.HealthRequest().serializedBytes(), timeout: timeout))
    }

    /// Streams `requests` through NormalizeStream (sending as credit allows)
    /// and returns the responses, one per request, in request order.
    public func normalizeStream(_ requests: [AdrnormV1.NormalizeRequest], timeout: Duration? = nil)
        async throws(RPCError) -> [AdrnormV1.NormalizeResponse] {
        let stream = try await openStream(NormalizerMethod.normalizeStream.rawValue, timeout: timeout)
        stream.enqueue(requests.map { $0.serializedBytes() })
        stream.halfClose()
        var responses: [AdrnormV1.NormalizeResponse] = []
        responses.reserveCapacity(requests.count)
        while let bytes = try await stream.next() {
            responses.append(try decodeResponse(bytes))
        }
        return responses
    }

    private func decodeResponse<M: WireMessage>(_ bytes: [UInt8]) throws(RPCError) -> M {
        do {
            return try M(serializedBytes: bytes)
        } catch {
            throw .protocolViolation("the server's response is not a valid \(M.self): \(error.message)")
        }
    }
}
