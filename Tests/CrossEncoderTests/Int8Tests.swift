import Foundation
import Testing
import CrossEncoder

private struct Random {
    var state: UInt64
    mutating func next() -> UInt64 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return state >> 33
    }
    mutating func float(_ range: ClosedRange<Float>) -> Float {
        range.lowerBound + Float(next() % 1_000_001) / 1_000_000 * (range.upperBound - range.lowerBound)
    }
}

@Suite("int8 GEMM wrapper (oneDNN u8s8s32)")
struct Int8GEMMTests {
    @Test("equals a naive integer product exactly on odd shapes, with padded strides",
          arguments: [(1, 1, 1), (7, 13, 5), (5, 7, 13), (3, 1, 8), (16, 9, 33), (33, 70, 129), (64, 48, 768)])
    func matchesNaive(shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        var rng = Random(state: UInt64(m * 1000 + n * 10 + k))
        let lda = k + 3, ldb = k + 5, ldc = n + 2
        // Extremes included: 255 × ±127 (and ±63 without VNNI, where the
        // wrapper's callers keep weights to Int8GEMM.weightLimit).
        let limit = Int(Int8GEMM.weightLimit)
        let a = (0..<(m * lda)).map { i in UInt8(i % 11 == 0 ? 255 : Int(rng.next() % 256)) }
        let b = (0..<(n * ldb)).map { i in Int8(i % 13 == 0 ? limit : Int(rng.next() % UInt64(2 * limit + 1)) - limit) }
        var c = [Int32](repeating: -7, count: m * ldc)
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    Int8GEMM.multiply(m: m, n: n, k: k, a: ap.baseAddress!, lda: lda, b: bp.baseAddress!, ldb: ldb,
                                      c: cp.baseAddress!, ldc: ldc)
                }
            }
        }
        for i in 0..<m {
            for j in 0..<n {
                var sum: Int32 = 0
                for p in 0..<k { sum += Int32(a[i * lda + p]) * Int32(b[j * ldb + p]) }
                #expect(c[i * ldc + j] == sum, "c[\(i), \(j)]")
            }
            // Padding columns of C are not written.
            for j in n..<ldc { #expect(c[i * ldc + j] == -7) }
        }
    }
}

@Suite("int8 quantization")
struct QuantizationTests {
    @Test("weights: per-row symmetric scale, round trip within half a step, sums and limit kept")
    func weights() {
        var rng = Random(state: 7)
        let rows = 9, columns = 37
        var w = (0..<(rows * columns)).map { _ in rng.float(-0.4...0.4) }
        for c in 0..<columns { w[3 * columns + c] = 0 }  // a zero row
        w[5 * columns + 2] = 3.5                          // an outlier sets row 5's scale
        let q = w.withUnsafeBufferPointer { QuantizedMatrix($0.baseAddress!, rows: rows, columns: columns, limit: 127) }
        let back = q.dequantized()
        for r in 0..<rows {
            let values = q.values(row: r)
            let scale = q.rowScales[r]
            let largest = (0..<columns).map { abs(w[r * columns + $0]) }.max()!
            #expect(values.allSatisfy { $0 >= -127 && $0 <= 127 })
            #expect(q.sums[r] == values.reduce(0) { $0 + Int32($1) })
            if largest == 0 {
                #expect(scale == 1 && values.allSatisfy { $0 == 0 })
            } else {
                #expect(abs(scale - largest / 127) <= largest * 1e-6)
                #expect(values.contains { abs(Int($0)) == 127 }, "the largest weight maps to ±127")
            }
            for c in 0..<columns { #expect(abs(back[r * columns + c] - w[r * columns + c]) <= scale / 2 * 1.0001) }
        }
        let narrow = w.withUnsafeBufferPointer { QuantizedMatrix($0.baseAddress!, rows: rows, columns: columns, limit: 63) }
        #expect((0..<rows).allSatisfy { narrow.values(row: $0).allSatisfy { abs(Int($0)) <= 63 } })
    }

    @Test("activations: u8 per row with a zero point; 0 exact, round trip within half a step",
          arguments: [1, 7, 16, 31, 32, 33, 100, 768])
    func activations(columns: Int) {
        var rng = Random(state: UInt64(columns))
        let rows = 5, stride = columns + 4
        var x = [Float](repeating: .nan, count: rows * stride)  // padding must not be read
        for r in 0..<rows {
            for c in 0..<columns {
                x[r * stride + c] = switch r {
                case 0: rng.float(-3...5)          // mixed signs
                case 1: rng.float(0.1...2)         // all positive: range widened to 0
                case 2: rng.float(-9 ... -1)       // all negative
                case 3: 0                          // all zero
                default: c % 5 == 0 ? 0 : rng.float(-0.17...40)  // GELU-like, exact zeros
                }
            }
        }
        var q = [UInt8](repeating: 0, count: rows * columns)
        var scales = [Float](repeating: 0, count: rows), zeros = [Int32](repeating: -1, count: rows)
        x.withUnsafeBufferPointer { xp in
            RowQuantizer.quantize(xp.baseAddress!, rows: rows, columns: columns, stride: stride,
                                  into: &q, scales: &scales, zeroPoints: &zeros)
        }
        for r in 0..<rows {
            #expect((0...255).contains(zeros[r]) && scales[r] > 0)
            let row = (0..<columns).map { x[r * stride + $0] }
            let low = min(0, row.min()!), high = max(0, row.max()!)
            if high > low { #expect(abs(scales[r] - (high - low) / 255) <= (high - low) * 1e-6) }
            for c in 0..<columns {
                let back = scales[r] * Float(Int32(q[r * columns + c]) - zeros[r])
                // Half a step, plus what the zero point's rounding shifts.
                #expect(abs(back - row[c]) <= scales[r] * 1.0001, "row \(r) column \(c): \(row[c]) -> \(back)")
                if row[c] == 0 { #expect(Int32(q[r * columns + c]) == zeros[r], "0 is exact") }
            }
        }
    }
}
