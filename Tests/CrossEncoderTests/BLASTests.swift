import Testing
import CrossEncoder

/// Row-major reference product, in Double to keep the reference exact enough.
private func naiveGEMM(_ transA: MatrixTranspose, _ transB: MatrixTranspose, m: Int, n: Int, k: Int,
                       alpha: Float, a: [Float], lda: Int, b: [Float], ldb: Int,
                       beta: Float, c: [Float], ldc: Int) -> [Float] {
    var out = c
    for i in 0..<m {
        for j in 0..<n {
            var sum = 0.0
            for p in 0..<k {
                let av = transA == .none ? a[i * lda + p] : a[p * lda + i]
                let bv = transB == .none ? b[p * ldb + j] : b[j * ldb + p]
                sum += Double(av) * Double(bv)
            }
            out[i * ldc + j] = Float(Double(alpha) * sum + Double(beta) * Double(c[i * ldc + j]))
        }
    }
    return out
}

private struct LCG {
    var state: UInt64
    mutating func next() -> Float {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(Int((state >> 33) % 2001) - 1000) / 250
    }
}

@Suite("BLAS sgemm wrapper")
struct BLASTests {
    static let shapes: [(Int, Int, Int)] = [(1, 1, 1), (7, 13, 5), (5, 7, 13), (3, 1, 8), (16, 9, 33)]

    @Test("equals a naive product on odd shapes, every transpose combination",
          arguments: [MatrixTranspose.none, .transposed], [MatrixTranspose.none, .transposed])
    func matchesNaive(transA: MatrixTranspose, transB: MatrixTranspose) {
        var rng = LCG(state: 42)
        for (m, n, k) in Self.shapes {
            // Strides wider than the logical rows, to catch ld mix-ups.
            let lda = (transA == .none ? k : m) + 2
            let ldb = (transB == .none ? n : k) + 1
            let ldc = n + 3
            let a = (0..<((transA == .none ? m : k) * lda)).map { _ in rng.next() }
            let b = (0..<((transB == .none ? k : n) * ldb)).map { _ in rng.next() }
            let c0 = (0..<(m * ldc)).map { _ in rng.next() }
            for (alpha, beta) in [(Float(1), Float(0)), (Float(0.5), Float(2))] {
                let expected = naiveGEMM(transA, transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                                         b: b, ldb: ldb, beta: beta, c: c0, ldc: ldc)
                var c = c0
                a.withUnsafeBufferPointer { pa in
                    b.withUnsafeBufferPointer { pb in
                        c.withUnsafeMutableBufferPointer { pc in
                            BLAS.sgemm(transA, transB, m: m, n: n, k: k, alpha: alpha,
                                       a: pa.baseAddress!, lda: lda, b: pb.baseAddress!, ldb: ldb,
                                       beta: beta, c: pc.baseAddress!, ldc: ldc)
                        }
                    }
                }
                for i in 0..<m {
                    for j in 0..<n {
                        let e = expected[i * ldc + j], got = c[i * ldc + j]
                        #expect(abs(e - got) <= 1e-4 * max(1, abs(e)),
                                "\(m)×\(n)×\(k) \(transA)/\(transB) α=\(alpha) β=\(beta) at (\(i),\(j)): \(got) vs \(e)")
                    }
                    // Padding columns of C must be untouched.
                    for j in n..<ldc { #expect(c[i * ldc + j] == c0[i * ldc + j]) }
                }
            }
        }
    }

    @Test("thread count can be set explicitly")
    func threadCount() {
        let before = BLAS.threadCount
        BLAS.threadCount = 1
        #expect(BLAS.threadCount == 1)
        BLAS.threadCount = before
        #expect(BLAS.threadCount == before)
    }
}
