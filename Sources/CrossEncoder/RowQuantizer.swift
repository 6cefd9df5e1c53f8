internal import CEncoderKernels

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
