import Dispatch

extension Duration {
    /// For Dispatch deadlines: whole nanoseconds, clamped to 0 ... Int.max
    /// (about 292 years) instead of overflowing, whatever the duration.
    package var dispatchInterval: DispatchTimeInterval {
        .nanoseconds(Int(clamping: saturatingNanoseconds))
    }

    /// Whole nanoseconds, clamped to 0 ... Int64.max; never traps.
    package var saturatingNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0, attoseconds >= 0 else { return 0 }
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return .max }
        let (sum, overflow2) = whole.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflow2 ? .max : sum
    }
}
