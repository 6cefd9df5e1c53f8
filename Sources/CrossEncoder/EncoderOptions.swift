import Foundation

/// How a model computes: its precision and how many threads one forward pass
/// uses.
public struct EncoderOptions: Sendable, Equatable {
    public var precision: Precision
    /// Worker threads per forward pass. A batch is split by sequences into
    /// this many parts, each run through every layer on its own thread with
    /// single-threaded GEMMs, so the element-wise work (attention, softmax,
    /// GELU, LayerNorm) is spread over the cores as well as the GEMMs; a
    /// batch with fewer sequences than threads splits each GEMM by columns.
    public var threads: Int

    public init(precision: Precision = .fp32, threads: Int = EncoderOptions.defaultThreads) {
        precondition(threads >= 1, "EncoderOptions.threads must be at least 1")
        self.precision = precision
        self.threads = threads
    }

    /// One thread per core the process may use.
    public static var defaultThreads: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }
}
