import Foundation

/// Progress of a long file run on stderr: a redrawn bar when stderr is a
/// terminal, a plain line every `plainInterval` otherwise (CI logs, files).
/// Never writes to stdout, which carries the machine-readable output.
final class ProgressReporter {
    private let label: String
    private let total: Int?
    private let isTerminal: Bool
    private let plainInterval: Duration
    private let start = ContinuousClock.now
    private var lastDraw: ContinuousClock.Instant
    private var done = 0
    private var finished = false

    init(label: String, total: Int?, plainInterval: Duration = .seconds(10)) {
        self.label = label
        self.total = total
        self.isTerminal = isatty(STDERR_FILENO) == 1
        self.plainInterval = plainInterval
        self.lastDraw = start
    }

    func advance(by n: Int = 1) {
        done += n
        let now = ContinuousClock.now
        let interval: Duration = isTerminal ? .milliseconds(100) : plainInterval
        if now - lastDraw >= interval {
            lastDraw = now
            draw(now: now, final: false)
        }
    }

    /// Draws the final state (always, so even short runs leave one line).
    func finish() {
        guard !finished else { return }
        finished = true
        draw(now: .now, final: true)
    }

    private func draw(now: ContinuousClock.Instant, final: Bool) {
        let elapsed = Self.seconds(now - start)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        var text = "\(label): \(done)"
        if let total { text += "/\(total)" }
        text += String(format: " (%.1f/s", rate)
        if let total, rate > 0, !final {
            text += ", ETA " + Self.clock(Double(total - done) / rate)
        } else {
            text += ", " + Self.clock(elapsed)
        }
        text += ")"
        if isTerminal {
            var bar = ""
            if let total, total > 0 {
                let width = 30
                let filled = min(width, done * width / total)
                bar = "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
            }
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + bar + text + (final ? "\n" : "")).utf8))
        } else {
            FileHandle.standardError.write(Data((text + "\n").utf8))
        }
    }

    private static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    private static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
    }
}
