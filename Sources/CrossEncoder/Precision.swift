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
