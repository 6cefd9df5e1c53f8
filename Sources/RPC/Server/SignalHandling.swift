import Foundation

/// Watches SIGTERM and SIGINT through `DispatchSourceSignal` so `serve` can
/// drain instead of dying. Keep the returned value alive as long as the
/// signals should be handled; the handler runs on `queue` once per signal.
public final class TerminationSignals: @unchecked Sendable {
    // Sources are created, resumed and cancelled once; never suspended.
    private let sources: [DispatchSourceSignal]

    /// Installs the handlers (and ignores SIGPIPE as well). The signals'
    /// default actions are disabled while this object lives.
    public init(queue: DispatchQueue = .main, handler: @escaping @Sendable (Int32) -> Void) {
        ignoreBrokenPipeSignal()
        sources = [SIGTERM, SIGINT].map { number in
            _ = signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { handler(number) }
            source.resume()
            return source
        }
    }

    deinit {
        for source in sources { source.cancel() }
        _ = signal(SIGTERM, SIG_DFL)
        _ = signal(SIGINT, SIG_DFL)
    }
}
