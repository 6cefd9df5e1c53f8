import Foundation

/// Scratch kept between forward passes of one model, so that a pass does not
/// map fresh pages for its activations (the kernel zeroing them was 10% of an
/// int8 bert-base pass at 100 × 64 tokens). Holds at most `limit` scratches,
/// each sized for the largest batch it has served.
///
/// `@unchecked Sendable`: `free` is guarded by `lock`; a scratch taken out
/// belongs to one thread until it is given back.
final class ScratchPool: @unchecked Sendable {
    private let lock = NSLock()
    private var free: [ForwardScratch] = []
    private let limit: Int

    init(limit: Int) { self.limit = limit }

    /// A scratch that fits `batch`: a kept one when one fits, else a new one.
    func take(for batch: PackedBatch, config: BertConfiguration, precision: Precision) -> ForwardScratch {
        lock.lock()
        if let i = free.firstIndex(where: { $0.fits(batch) }) {
            let scratch = free.remove(at: i)
            lock.unlock()
            return scratch
        }
        lock.unlock()
        return ForwardScratch(batch: batch, config: config, precision: precision)
    }

    /// Keeps `scratch` for a later pass, replacing the smallest kept one when full.
    func giveBack(_ scratch: ForwardScratch) {
        lock.lock()
        defer { lock.unlock() }
        if free.count < limit {
            free.append(scratch)
        } else if let i = free.indices.min(by: { free[$0].tokenCapacity < free[$1].tokenCapacity }),
                  free[i].tokenCapacity < scratch.tokenCapacity {
            free[i] = scratch
        }
    }
}
