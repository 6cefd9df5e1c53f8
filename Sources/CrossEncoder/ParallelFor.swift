import Dispatch

/// Fork-join over Dispatch's worker threads for the encoder's own splitting.
public enum ParallelFor {
    /// Runs `body(0..<iterations)` concurrently and returns when every
    /// iteration has finished (the calling thread runs some of them).
    ///
    /// `concurrentPerform` asks for a `@Sendable` closure because it cannot
    /// know that its callers write disjoint memory; the encoder's bodies do
    /// (each part or column block owns its slice of every buffer) and all of
    /// them are done before this returns, so the closure is passed on
    /// unchecked.
    public static func run(_ iterations: Int, _ body: (Int) -> Void) {
        if iterations == 1 { return body(0) }
        withoutActuallyEscaping(body) { escapable in
            let unchecked = UncheckedBody(call: escapable)
            DispatchQueue.concurrentPerform(iterations: iterations) { unchecked.call($0) }
        }
    }

    private struct UncheckedBody: @unchecked Sendable {
        let call: (Int) -> Void
    }
}
