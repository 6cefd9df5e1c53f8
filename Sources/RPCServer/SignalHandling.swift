import Transport
import Wire
import Foundation

/// Watches SIGTERM and SIGINT (or the `signals` given, e.g. SIGHUP for a
/// reload) through `DispatchSourceSignal` so `serve` can drain instead of
/// dying. Keep the returned value alive as long as the signals should be
/// handled; the handler runs on `queue` once per signal.
public final class TerminationSignals: @unchecked Sendable {
    // Sources are created, resumed and cancelled once; never suspended.
    private let sources: [DispatchSourceSignal]

    /// Installs the handlers (and ignores SIGPIPE as well). The signals'
    /// default actions stay disabled for the life of the process: on Linux,
    /// libdispatch routes them to the source through its own handler and a
    /// signalfd, installed once per signal when the source registers (shortly
    /// after `init`, on its manager thread), and a SIG_DFL put back later
    /// would let a second helper's signal kill the process.
    public init(signals: [Int32] = [SIGTERM, SIGINT], queue: DispatchQueue = .main,
                handler: @escaping @Sendable (Int32) -> Void) {
        ignoreBrokenPipeSignal()
        sources = signals.map { number in
            // Until libdispatch's handler is in place the signal is ignored,
            // not fatal.
            _ = signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { handler(number) }
            source.resume()
            return source
        }
    }

    deinit {
        for source in sources { source.cancel() }
    }
}
