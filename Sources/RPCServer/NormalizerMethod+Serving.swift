import Wire

/// How each request of a `NormalizerMethod` is routed to a
/// `NormalizerService`: decode (bad bytes → INVALID_ARGUMENT), call, encode.
/// Runs on a worker thread.
extension NormalizerMethod {
    /// Serves one unary request: the encoded response, or the error for the
    /// call's status.
    func serveUnary(_ payload: [UInt8], service: any NormalizerService,
                    context: CallContext) -> Result<[UInt8], ServiceError> {
        Result { () throws(ServiceError) -> [UInt8] in
            if let code = context.cancellation.cancellationCode {
                throw ServiceError(code, "the call was stopped before it started")
            }
            switch self {
            case .retrieve:
                return try service.retrieve(.init(serializedBytes: payload), context: context).serializedBytes()
            case .score:
                return try service.score(.init(serializedBytes: payload), context: context).serializedBytes()
            case .normalize, .normalizeStream:
                return try service.normalize(.init(serializedBytes: payload), context: context).serializedBytes()
            case .info:
                return try service.info(.init(serializedBytes: payload), context: context).serializedBytes()
            case .health:
                return try service.health(.init(serializedBytes: payload), context: context).serializedBytes()
            }
        }
    }

    /// Serves one NormalizeStream item: always a response, with an
    /// `ItemError` (and the request's id when it could be read) for a bad
    /// item, so the stream goes on.
    static func serveStreamItem(_ payload: [UInt8], service: any NormalizerService,
                                context: CallContext) -> [UInt8] {
        let request: AdrnormV1.NormalizeRequest
        do {
            request = try AdrnormV1.NormalizeRequest(serializedBytes: payload)
        } catch {
            return AdrnormV1.NormalizeResponse(error: .init(code: error.code, message: error.message)).serializedBytes()
        }
        do {
            var response = try service.normalize(request, context: context)
            response.id = request.id
            return response.serializedBytes()
        } catch {
            let (code, message) = wireStatus(for: error)
            return AdrnormV1.NormalizeResponse(id: request.id, error: .init(code: code, message: message))
                .serializedBytes()
        }
    }
}
