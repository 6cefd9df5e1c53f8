import Foundation

/// Lets through at most `burst` lines with the same message per `interval`,
/// and says how many were held back when the next one goes through: a flood
/// of bad connections (resets, failed handshakes, protocol errors) costs
/// the log a few lines, not one per connection. Thread-safe.
package final class LogRateLimiter: @unchecked Sendable {
    private struct Window {
        var start: UInt64
        var admitted: Int
        var suppressed: Int
    }

    let burst: Int
    let interval: UInt64
    /// Distinct messages tracked at most; past it the oldest windows go.
    let maxMessages = 1024
    private let lock = NSLock()
    private var windows: [String: Window] = [:]
    private let clock: @Sendable () -> UInt64

    package init(burst: Int = 10, intervalNanoseconds: UInt64 = 10_000_000_000,
         clock: @escaping @Sendable () -> UInt64 = { DispatchTime.now().uptimeNanoseconds }) {
        self.burst = burst
        self.interval = intervalNanoseconds
        self.clock = clock
    }

    /// nil: drop this line. A number: log it, noting that many lines with
    /// the same message were dropped since the last one logged.
    package func admit(_ message: String) -> Int? {
        let now = clock()
        return lock.withLock {
            var window = windows[message] ?? Window(start: now, admitted: 0, suppressed: 0)
            if now &- window.start >= interval {
                window.start = now
                window.admitted = 0
            }
            guard window.admitted < burst else {
                window.suppressed += 1
                windows[message] = window
                return nil
            }
            let suppressed = window.suppressed
            window.admitted += 1
            window.suppressed = 0
            if windows.count >= maxMessages && windows[message] == nil {
                windows.removeAll(keepingCapacity: true)
            }
            windows[message] = window
            return suppressed
        }
    }
}
