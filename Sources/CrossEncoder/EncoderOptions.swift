import Foundation

/// The arithmetic of the dense layers inside the transformer blocks.
public enum Precision: String, Sendable, CaseIterable, CustomStringConvertible {
    /// fp32 throughout: the faithful path, within 1e-4 (logits) of transformers.
    case fp32
    /// The Q/K/V, attention-output and feed-forward projections of every block
    /// run as int8 × int8 → int32 GEMMs: weights quantized once at load (s8,
    /// symmetric, one scale per output channel; the fp32 copies are dropped),
    /// activations quantized per row as they come (u8 with a zero point).
    /// Embeddings, attention scores, softmax, GELU, LayerNorm, the pooler and
    /// the classifier stay fp32. Opt-in: its scores differ from transformers'
    /// (Scripts/check-int8-accuracy measures by how much).
    case int8

    public var description: String { rawValue }
}

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
