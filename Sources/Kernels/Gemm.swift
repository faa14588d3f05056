// Row-major single-precision matrix products over OpenBLAS's cblas_sgemm.
// C (M, N) = alpha * op(A) (M, K) · op(B) (K, N) + beta * C, where op is an optional transpose.
// Every matrix product in TinyGPT goes through these two functions.
import COpenBLAS

/// C = alpha·op(A)·op(B) + beta·C, all row-major. `lda`, `ldb`, `ldc` are row strides of the stored
/// matrices (A is stored M×K, or K×M when `transA`).
@inline(__always)
public func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                  alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                  b: UnsafePointer<Float>, ldb: Int,
                  beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
    if m == 0 || n == 0 { return }
    if k == 0 {
        // BLAS leaves C untouched when K = 0 only if beta == 1; make the semantics explicit.
        for i in 0..<m { let row = c + i * ldc; for j in 0..<n { row[j] = beta == 0 ? 0 : beta * row[j] } }
        return
    }
    let t0 = Profiler.blasSuspended == 0 ? Profiler.start() : 0
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    Profiler.stop(.sgemm, since: t0)
}

/// `batch` independent products C[i] = alpha·op(A[i])·op(B[i]) + beta·C[i], the i-th matrices
/// starting `strideA`, `strideB`, `strideC` floats after the previous. A stride of 0 reuses one matrix.
public func sgemmStridedBatched(batch: Int, transA: Bool = false, transB: Bool = false,
                                m: Int, n: Int, k: Int, alpha: Float = 1,
                                a: UnsafePointer<Float>, lda: Int, strideA: Int,
                                b: UnsafePointer<Float>, ldb: Int, strideB: Int,
                                beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int, strideC: Int) {
    for i in 0..<batch {
        sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
              a: a + i * strideA, lda: lda, b: b + i * strideB, ldb: ldb,
              beta: beta, c: c + i * strideC, ldc: ldc)
    }
}
