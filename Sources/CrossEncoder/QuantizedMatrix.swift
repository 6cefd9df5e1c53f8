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

/// Dynamic quantization of activations, one row at a time: u8 with a zero
/// point over the row's range (which always includes 0, so 0 is exact). The
/// loops are C kernels (CEncoderKernels).
public enum RowQuantizer {
    /// Quantizes `rows` rows of `x` (`columns` used, rows `stride` apart) into
    /// `q[rows, columns]`; row `r` stands for `scales[r] · (q[r, c] − zeroPoints[r])`.
    public static func quantize(_ x: UnsafePointer<Float>, rows: Int, columns: Int, stride: Int,
                                into q: UnsafeMutablePointer<UInt8>, scales: UnsafeMutablePointer<Float>,
                                zeroPoints: UnsafeMutablePointer<Int32>) {
        precondition(rows >= 0 && columns >= 0 && stride >= columns, "RowQuantizer.quantize: bad shape")
        adrnorm_quantize_rows_u8(x, rows, columns, stride, q, scales, zeroPoints)
    }

    /// `out[r, c] = rowScale[r] · colScale[c] · (acc[r, c] − zeroPoint[r] · colSum[c]) + bias[c]`
    /// for columns `columns` of an `[rows, ldc]` accumulator, into an
    /// `[rows, ldc]` output.
    static func dequantize(_ acc: UnsafePointer<Int32>, rows: Int, columns: Range<Int>, ldc: Int,
                           rowScales: UnsafePointer<Float>, zeroPoints: UnsafePointer<Int32>,
                           weights: QuantizedMatrix, bias: UnsafePointer<Float>,
                           into out: UnsafeMutablePointer<Float>) {
        precondition(columns.upperBound <= ldc && columns.upperBound <= weights.rows, "RowQuantizer.dequantize: bad columns")
        adrnorm_dequantize_rows(acc, rows, columns.lowerBound, columns.upperBound, ldc, rowScales, zeroPoints,
                                weights.scales.pointer, weights.rowSums, bias, out)
    }
}
