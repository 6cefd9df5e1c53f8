internal import CDNNL

/// The one entry point to oneDNN: `C[m×n] (s32) = A[m×k] (u8) · B[n×k]ᵀ (s8)`,
/// row-major, with its shape rules checked before any C call.
public enum Int8GEMM {
    /// Whether the CPU has VNNI (AVX-512 VNNI or AVX-VNNI), as oneDNN sees it.
    /// Without it oneDNN multiplies u8 × s8 with `vpmaddubsw`, whose 16-bit
    /// sums of two products saturate past 32,767; weights are then kept to
    /// ±63 so that 2 · 255 · 63 fits (the `reduce_range` of ONNX Runtime).
    public static let hasVNNI: Bool = {
        let isa = dnnl_get_effective_cpu_isa()
        return [dnnl_cpu_isa_avx512_core_vnni, dnnl_cpu_isa_avx512_core_bf16, dnnl_cpu_isa_avx512_core_amx,
                dnnl_cpu_isa_avx2_vnni].contains(isa)
    }()

    /// The largest weight magnitude quantized weights may use on this CPU.
    public static var weightLimit: Int8 { hasVNNI ? 127 : 63 }

    /// `c[m, n] = Σₖ a[m, k] · b[n, k]`; `a` rows are `lda` apart, `b` rows
    /// `ldb`, `c` rows `ldc`. Runs on the calling thread only: the encoder
    /// does its own splitting across threads.
    public static func multiply(m: Int, n: Int, k: Int,
                                a: UnsafePointer<UInt8>, lda: Int,
                                b: UnsafePointer<Int8>, ldb: Int,
                                c: UnsafeMutablePointer<Int32>, ldc: Int) {
        precondition(m >= 0 && n >= 0 && k >= 0, "Int8GEMM: negative dimension m=\(m) n=\(n) k=\(k)")
        precondition(lda >= max(1, k) && ldb >= max(1, k) && ldc >= max(1, n),
                     "Int8GEMM: leading dimension too small (lda \(lda), ldb \(ldb), ldc \(ldc) for \(m)×\(n)×\(k))")
        if m == 0 || n == 0 { return }
        // oneDNN on OpenMP starts a team of all cores unless this thread's
        // team size is 1; setting it is a thread-local store.
        omp_set_num_threads(1)
        var offset: Int32 = 0
        let status = dnnl_gemm_u8s8s32(CChar(UInt8(ascii: "N")), CChar(UInt8(ascii: "T")), CChar(UInt8(ascii: "F")),
                                       dnnl_dim_t(m), dnnl_dim_t(n), dnnl_dim_t(k), 1,
                                       a, dnnl_dim_t(lda), 0, b, dnnl_dim_t(ldb), 0,
                                       0, c, dnnl_dim_t(ldc), &offset)
        precondition(status == dnnl_success, "dnnl_gemm_u8s8s32 failed with status \(status.rawValue); this is a bug")
    }
}
