internal import COpenBLAS

/// Whether a GEMM operand is used as stored or transposed.
public enum MatrixTranspose: Sendable {
    case none
    case transposed
}

/// The one entry point to OpenBLAS: single-precision GEMM on row-major
/// matrices, with its shape rules checked before any C call.
public enum BLAS {
    /// The number of threads OpenBLAS uses for each call. OpenBLAS runs its
    /// own pool; set this explicitly rather than relying on environment
    /// variables, which a process cannot rely on being unset.
    public static var threadCount: Int {
        get { Int(openblas_get_num_threads()) }
        set {
            precondition(newValue >= 1, "BLAS.threadCount must be at least 1")
            openblas_set_num_threads(Int32(newValue))
        }
    }

    /// Makes every call run on the calling thread: the encoder splits its
    /// work across threads itself, and OpenBLAS's pool would only spin
    /// beside it.
    public static func useCallingThreadOnly() {
        if openblas_get_num_threads() != 1 { openblas_set_num_threads(1) }
    }

    /// `C = alpha · op(A) · op(B) + beta · C`, all row-major.
    ///
    /// `op(A)` is `m × k`, `op(B)` is `k × n`, `C` is `m × n`. `lda`, `ldb`
    /// and `ldc` are the row strides of the matrices as stored (so `lda ≥ k`
    /// for an untransposed `A`, `lda ≥ m` for a transposed one).
    public static func sgemm(
        _ transA: MatrixTranspose, _ transB: MatrixTranspose,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "sgemm: negative dimension m=\(m) n=\(n) k=\(k)")
        precondition(lda >= max(1, transA == .none ? k : m), "sgemm: lda \(lda) too small for op(A) \(m)×\(k)")
        precondition(ldb >= max(1, transB == .none ? n : k), "sgemm: ldb \(ldb) too small for op(B) \(k)×\(n)")
        precondition(ldc >= max(1, n), "sgemm: ldc \(ldc) too small for C \(m)×\(n)")
        precondition(m <= Int(Int32.max) && n <= Int(Int32.max) && k <= Int(Int32.max),
                     "sgemm: dimension beyond 32-bit BLAS limits")
        if m == 0 || n == 0 { return }
        cblas_sgemm(CblasRowMajor,
                    transA == .none ? CblasNoTrans : CblasTrans,
                    transB == .none ? CblasNoTrans : CblasTrans,
                    Int32(m), Int32(n), Int32(k),
                    alpha, a, Int32(lda), b, Int32(ldb),
                    beta, c, Int32(ldc))
    }
}
