/// A fixed-size, owned Float buffer for weights and scratch space: allocated
/// once, freed in `deinit`, reached through a stable pointer so BLAS calls do
/// not nest `withUnsafe…` closures.
///
/// `@unchecked Sendable`: weights are written only while loading, before the
/// storage is shared; scratch storage is owned by one forward pass at a time.
public final class FloatStorage: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int

    public init(count: Int) {
        precondition(count >= 0, "FloatStorage: negative count")
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    /// Storage whose contents are undefined until written: for scratch
    /// buffers that every pass overwrites before reading (zero-filling them
    /// cost ~3% of a small model's forward pass).
    public init(uninitializedCount count: Int) {
        precondition(count >= 0, "FloatStorage: negative count")
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
    }

    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
    }

    deinit { pointer.deallocate() }

    public var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
}
