import Foundation

/// Activation buffers for one forward pass, sized once per batch so that no
/// layer allocates per token or per pair. One scratch belongs to one worker
/// thread at a time.
final class ForwardScratch {
    let hidden: FloatStorage
    let qkv: FloatStorage
    let context: FloatStorage
    let attended: FloatStorage
    let intermediate: FloatStorage
    let scores: FloatStorage
    let gathered: FloatStorage
    let pooled: FloatStorage
    /// The last block's output for each sequence's first token.
    let firstTokens: FloatStorage
    /// int8 models only (empty otherwise): a layer's input quantized to u8,
    /// its s32 products, and each input row's scale and zero point.
    let quantizedInput: UnsafeMutablePointer<UInt8>
    let accumulators: UnsafeMutablePointer<Int32>
    let rowScales: FloatStorage
    let zeroPoints: UnsafeMutablePointer<Int32>
    /// Threads that share each GEMM's output columns (1: this thread alone);
    /// set by whoever takes the scratch for a pass.
    var columnSplit = 1
    /// The largest batch the buffers hold.
    let tokenCapacity: Int, sequenceCapacity: Int, longestCapacity: Int

    init(batch: PackedBatch, config: BertConfiguration, precision: Precision = .fp32) {
        // Every buffer is written before it is read in a pass (see BertLayer).
        let t = batch.tokenCount, h = config.hiddenSize
        tokenCapacity = t
        sequenceCapacity = batch.count
        longestCapacity = batch.longest
        hidden = FloatStorage(uninitializedCount: t * h)
        qkv = FloatStorage(uninitializedCount: t * 3 * h)
        context = FloatStorage(uninitializedCount: t * h)
        attended = FloatStorage(uninitializedCount: t * h)
        intermediate = FloatStorage(uninitializedCount: t * config.intermediateSize)
        scores = FloatStorage(uninitializedCount: batch.longest * batch.longest)
        gathered = FloatStorage(uninitializedCount: batch.count * h)
        pooled = FloatStorage(uninitializedCount: batch.count * h)
        firstTokens = FloatStorage(uninitializedCount: batch.count * h)
        let int8Rows = precision == .int8 ? t : 0
        quantizedInput = .allocate(capacity: max(1, int8Rows * max(h, config.intermediateSize)))
        accumulators = .allocate(capacity: max(1, int8Rows * max(3 * h, config.intermediateSize)))
        rowScales = FloatStorage(uninitializedCount: int8Rows)
        zeroPoints = .allocate(capacity: max(1, int8Rows))
    }

    /// Whether `batch` fits these buffers (the model and precision are the pool's own).
    func fits(_ batch: PackedBatch) -> Bool {
        batch.tokenCount <= tokenCapacity && batch.count <= sequenceCapacity && batch.longest <= longestCapacity
    }

    deinit {
        quantizedInput.deallocate()
        accumulators.deallocate()
        zeroPoints.deallocate()
    }

    /// Runs `body` on `columnSplit` disjoint blocks of `0..<columns`, in
    /// parallel when there is more than one (blocks are multiples of 16
    /// columns so that SIMD epilogues stay aligned with them).
    func forEachColumnBlock(_ columns: Int, _ body: (Range<Int>) -> Void) {
        let parts = min(columnSplit, max(1, columns / 64))
        if parts <= 1 { return body(0..<columns) }
        let step = (columns / parts + 15) / 16 * 16
        ParallelFor.run(parts) { p in
            let lower = min(columns, p * step), upper = p == parts - 1 ? columns : min(columns, (p + 1) * step)
            if lower < upper { body(lower..<upper) }
        }
    }
}
