internal import COpenBLAS
internal import CDNNL

/// The BLAS libraries linked at run time, as they describe themselves.
public enum LinkedBLAS {
    /// OpenBLAS's build configuration, e.g. "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY Cooperlake MAX_THREADS=64".
    public static var openBLAS: String {
        guard let config = openblas_get_config() else { return "OpenBLAS (no configuration string)" }
        return String(cString: config)
    }

    /// oneDNN's version (the int8 GEMM), e.g. "oneDNN 2.6.3".
    public static var oneDNN: String {
        guard let v = dnnl_version()?.pointee else { return "oneDNN (unknown version)" }
        return "oneDNN \(v.major).\(v.minor).\(v.patch)"
    }
}
