internal import CEncoderKernels

/// A weight matrix `[rows = out, columns = in]` quantized for `Int8GEMM`:
/// s8 values, symmetric, one scale per row (output channel), plus each row's
/// sum of values (the zero-point correction of u8 activations).
///
/// `@unchecked Sendable`: written only in `init`, read-only afterwards.
public final class QuantizedMatrix: @unchecked Sendable {
    public let rows: Int
    public let columns: Int
    let values: UnsafeMutablePointer<Int8>
    /// `weight[r, c] ≈ scales[r] · values[r, c]`.
    let scales: FloatStorage
    let rowSums: UnsafeMutablePointer<Int32>

    /// Quantizes `weight[rows, columns]` to ±`limit` per row (round to
    /// nearest, ties to even; a row of zeros gets scale 1).
    public init(_ weight: UnsafePointer<Float>, rows: Int, columns: Int, limit: Int8 = Int8GEMM.weightLimit) {
        precondition(rows >= 0 && columns >= 0 && limit > 0, "QuantizedMatrix: bad shape or limit")
        self.rows = rows
        self.columns = columns
        values = .allocate(capacity: max(1, rows * columns))
        rowSums = .allocate(capacity: max(1, rows))
        scales = FloatStorage(count: rows)
        adrnorm_quantize_weights_s8(weight, rows, columns, Int32(limit), values, scales.pointer, rowSums)
    }

    deinit {
        values.deallocate()
        rowSums.deallocate()
    }

    /// Row `r`'s quantized values.
    public func values(row r: Int) -> [Int8] { Array(UnsafeBufferPointer(start: values + r * columns, count: columns)) }
    /// The per-row scales.
    public var rowScales: [Float] { scales.array }
    /// The per-row sums of the quantized values.
    public var sums: [Int32] { Array(UnsafeBufferPointer(start: rowSums, count: rows)) }

    /// Bytes held (values, scales, sums).
    public var byteCount: Int { rows * columns + rows * 8 }

    /// The fp32 matrix these values stand for, `scales[r] · values[r, c]`.
    public func dequantized() -> [Float] {
        var out = [Float](repeating: 0, count: rows * columns)
        for r in 0..<rows {
            for c in 0..<columns { out[r * columns + c] = scales.pointer[r] * Float(values[r * columns + c]) }
        }
        return out
    }
}
