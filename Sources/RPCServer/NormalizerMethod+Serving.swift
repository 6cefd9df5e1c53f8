import Wire

/// How each request of a `NormalizerMethod` is routed to a
/// `NormalizerService`: decode (bad bytes → INVALID_ARGUMENT), call, encode.
/// Runs in the call's task, off the connection's queue.
extension NormalizerMethod {
    /// Serves one unary request: the encoded response, or the error for the
    /// call's status.
    func serveUnary(_ payload: [UInt8], service: any NormalizerService,
                    context: CallContext) async -> Result<[UInt8], ServiceError> {
        do throws(ServiceError) {
            if context.cancellation.isCancelled {
                // The server already sent this call's status.
                throw ServiceError(.cancelled, "the call was stopped before it started")
            }
            switch self {
            case .retrieve:
                return .success(try await service.retrieve(.init(serializedBytes: payload), context: context).serializedBytes())
            case .score:
                return .success(try await service.score(.init(serializedBytes: payload), context: context).serializedBytes())
            case .normalize, .normalizeStream:
                return .success(try await service.normalize(.init(serializedBytes: payload), context: context).serializedBytes())
            case .info:
                return .success(try await service.info(.init(serializedBytes: payload), context: context).serializedBytes())
            case .health:
                return .success(try await service.health(.init(serializedBytes: payload), context: context).serializedBytes())
            }
        } catch {
            return .failure(error)
        }
    }

    /// Serves one NormalizeStream item: always a response, with an
    /// `ItemError` (and the request's id when it could be read) for a bad
    /// item, so the stream goes on.
    static func serveStreamItem(_ payload: [UInt8], service: any NormalizerService,
                                context: CallContext) async -> (requestID: String, response: [UInt8]) {
        let request: AdrnormV1.NormalizeRequest
        do {
            request = try AdrnormV1.NormalizeRequest(serializedBytes: payload)
        } catch {
            return ("", AdrnormV1.NormalizeResponse(error: .init(code: error.code, message: error.message)).serializedBytes())
        }
        do {
            var response = try await service.normalize(request, context: context)
            response.id = request.id
            return (request.id, response.serializedBytes())
        } catch {
            return (request.id, AdrnormV1.NormalizeResponse(id: request.id, error: .init(code: error.code, message: error.message))
                .serializedBytes())
        }
    }
}
