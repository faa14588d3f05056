// Row-major single-precision matrix products over OpenBLAS, C (M, N) = alpha·op(A) (M, K)·op(B) (K, N)
// + beta·C with op an optional transpose. Every matrix product in TinyGPT goes through these four:
//   sgemm(transA:…:ldc:)    one product: a single row by sgemv, a large one in blocks of C, one per thread
//   sgemm(_: MatrixProduct)  the same, its parameters in one struct
//   sgemmPair(_:_:)          two independent products at once, half the threads each (linear's backward)
//   sgemmStridedBatched      `batch` products at fixed strides, one `sgemm` each
import COpenBLAS

/// Products with fewer multiply-adds (M·N·K) than this run on one thread: below it, waking a second
/// thread costs about as much as it saves (see `Benchmarks gemm-threads`).
nonisolated(unsafe) public var sgemmSplitMinimumMNK = 1 << 20

/// C = alpha·op(A)·op(B) + beta·C, all row-major. `lda`, `ldb`, `ldc` are row strides of the stored
/// matrices (A is stored M×K, or K×M when `transA`). Large products are split into one block of rows
/// (or, when C is wider than tall, of columns) of C per thread, each computed by single-threaded
/// OpenBLAS; the blocks depend only on the shape and the thread count, so results are reproducible
/// at a given thread count.
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
    let threads = Parallel.threadCount
    if m == 1 {
        singleRowProduct(transA: transA, transB: transB, n: n, k: k, alpha: alpha, a: a, lda: lda,
                         b: b, ldb: ldb, beta: beta, c: c)
    } else if threads > 1 && !Parallel.gemmUsesBLASThreads && Parallel.parallelDepth == 0
                && m * n * k >= sgemmSplitMinimumMNK {
        sgemmSplit(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                   b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, threads: threads)
    } else {
        blasSgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                  b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }
    Profiler.stop(.sgemm, since: t0)
}

/// C (1, N) = alpha·op(A) (1, K)·op(B) (K, N) + beta·C as a matrix-vector product: sgemm would pack
/// all of B for one row of output (KV-cache decoding does this for every weight matrix per token),
/// while sgemv streams B once. op(A)'s K values are A's row, or A's column when `transA`.
@inline(__always)
private func singleRowProduct(transA: Bool, transB: Bool, n: Int, k: Int, alpha: Float,
                              a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                              beta: Float, c: UnsafeMutablePointer<Float>) {
    let incX = Int32(transA ? lda : 1)
    // With beta = 0, C may hold anything (fresh buffers are uninitialised); sgemv scales it by beta,
    // and 0·NaN would leak through.
    if beta == 0 { c.update(repeating: 0, count: n) }
    if transB {  // B stored (N, K): c = B·a
        cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(k), alpha, b, Int32(ldb), a, incX, beta, c, 1)
    } else {     // B stored (K, N): c = Bᵀ·a
        cblas_sgemv(CblasRowMajor, CblasTrans, Int32(k), Int32(n), alpha, b, Int32(ldb), a, incX, beta, c, 1)
    }
}

@inline(__always)
private func blasSgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                       a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                       beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// Block boundaries are multiples of this many rows or columns (whole micro-kernel tiles).
private let sgemmSplitGranule = 16

/// One row-major product C = alpha·op(A)·op(B) + beta·C, with `sgemm`'s parameters.
public struct MatrixProduct {
    public var transA: Bool, transB: Bool
    public var m: Int, n: Int, k: Int
    public var alpha: Float
    public var a: UnsafePointer<Float>, lda: Int
    public var b: UnsafePointer<Float>, ldb: Int
    public var beta: Float
    public var c: UnsafeMutablePointer<Float>, ldc: Int

    public init(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
                a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        self.transA = transA; self.transB = transB
        self.m = m; self.n = n; self.k = k; self.alpha = alpha
        self.a = a; self.lda = lda; self.b = b; self.ldb = ldb
        self.beta = beta; self.c = c; self.ldc = ldc
    }

    var multiplyAdds: Int { m * n * k }
}

/// `sgemm` with its parameters in a `MatrixProduct`.
@inline(__always)
public func sgemm(_ p: MatrixProduct) {
    sgemm(transA: p.transA, transB: p.transB, m: p.m, n: p.n, k: p.k, alpha: p.alpha,
          a: p.a, lda: p.lda, b: p.b, ldb: p.ldb, beta: p.beta, c: p.c, ldc: p.ldc)
}

/// Runs `sgemm(first)` and `sgemm(second)`, which must be independent (neither writes what the
/// other reads). Large pairs run at the same time, half the threads each, each product split over
/// its half as `sgemm` splits over all (at an even thread count): with two threads each product is one
/// single-threaded OpenBLAS call, so there is one fork-join instead of two and nobody packs an
/// operand twice. A linear layer's backward is such a pair (dx and dW, equal multiply-add counts).
/// Blocks depend only on the shapes and the thread count, as in `sgemm`.
public func sgemmPair(_ first: MatrixProduct, _ second: MatrixProduct) {
    let threads = Parallel.threadCount
    // An odd thread count would leave one product with fewer threads than the other, and it would
    // finish last: there the products run in turn, each split over all the threads.
    guard threads > 1 && threads % 2 == 0 && !Parallel.gemmUsesBLASThreads && Parallel.parallelDepth == 0
            && first.multiplyAdds >= sgemmSplitMinimumMNK && second.multiplyAdds >= sgemmSplitMinimumMNK
            && first.m > 1 && second.m > 1 && first.k > 0 && second.k > 0 else {
        sgemm(first)
        sgemm(second)
        return
    }
    let t0 = Profiler.blasSuspended == 0 ? Profiler.start() : 0
    let parts = threads / 2
    Parallel.forRanges(threads, minWork: 0) { range in
        for worker in range {
            if worker < parts { sgemmBlock(first, part: worker, of: parts) }
            else { sgemmBlock(second, part: worker - parts, of: parts) }
        }
    }
    Profiler.stop(.sgemm, since: t0)
}

/// C split along its longer side into `threads` blocks of whole granules, one per thread.
private func sgemmSplit(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int) {
    let extent = max(m, n)
    let parts = min(threads, (extent + sgemmSplitGranule - 1) / sgemmSplitGranule)
    if parts <= 1 {
        blasSgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                  b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        return
    }
    let product = MatrixProduct(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                                a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    Parallel.forRanges(parts, minWork: 0) { range in
        for part in range { sgemmBlock(product, part: part, of: parts) }
    }
}

/// Block `part` of `parts` of C, split along its longer side into blocks of whole granules, by one
/// single-threaded OpenBLAS call (none when the block is empty).
private func sgemmBlock(_ p: MatrixProduct, part: Int, of parts: Int) {
    let byRows = p.m >= p.n
    let extent = byRows ? p.m : p.n
    let granules = (extent + sgemmSplitGranule - 1) / sgemmSplitGranule
    let g = Parallel.chunkRange(part, of: parts, count: granules)
    let lo = g.lowerBound * sgemmSplitGranule, hi = min(extent, g.upperBound * sgemmSplitGranule)
    if lo >= hi { return }
    if byRows {
        // Rows lo..<hi of C need rows lo..<hi of op(A): stored rows, or stored columns when transA.
        blasSgemm(transA: p.transA, transB: p.transB, m: hi - lo, n: p.n, k: p.k, alpha: p.alpha,
                  a: p.a + (p.transA ? lo : lo * p.lda), lda: p.lda, b: p.b, ldb: p.ldb,
                  beta: p.beta, c: p.c + lo * p.ldc, ldc: p.ldc)
    } else {
        // Columns lo..<hi of C need columns lo..<hi of op(B): stored columns, or rows when transB.
        blasSgemm(transA: p.transA, transB: p.transB, m: p.m, n: hi - lo, k: p.k, alpha: p.alpha,
                  a: p.a, lda: p.lda, b: p.b + (p.transB ? lo * p.ldb : lo), ldb: p.ldb,
                  beta: p.beta, c: p.c + lo, ldc: p.ldc)
    }
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
