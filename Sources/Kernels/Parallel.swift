// Fixed-partition parallel loops over rows, and the thread-count controls for our loops and OpenBLAS.
// Work is split into contiguous chunks whose boundaries depend only on the item count and the
// configured thread count, so a computation is bitwise reproducible at a given thread count.
// OpenBLAS itself runs on one thread: sgemm (Gemm.swift) splits large products over our threads,
// which for the small products of CPU-sized models is faster than OpenBLAS's own threading and
// never nests threads inside our loops.
import COpenBLAS
import Dispatch
import Foundation

public enum Parallel {
    /// Threads used by our own loops and by sgemm's split. Defaults to the machine's active cores.
    /// (Its first use also puts OpenBLAS on one thread; see `gemmUsesBLASThreads`.)
    nonisolated(unsafe) public private(set) static var threadCount: Int = {
        openblas_set_num_threads(1)
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// When true, sgemm hands whole products to OpenBLAS running on `threadCount` threads instead of
    /// splitting them over our own threads with single-threaded OpenBLAS inside (for comparing the two).
    nonisolated(unsafe) public private(set) static var gemmUsesBLASThreads = false

    /// Above 0 while `forRanges` runs chunks on several threads: code inside must not start more.
    nonisolated(unsafe) public private(set) static var parallelDepth = 0

    /// Sets the thread count for our loops and sgemm's split (OpenBLAS stays on one thread).
    public static func setThreadCount(_ n: Int) {
        precondition(n >= 1, "Parallel.setThreadCount: thread count must be >= 1, got \(n)")
        threadCount = n
        setBLASThreads(gemmUsesBLASThreads ? n : 1)
    }

    /// Chooses who threads matrix products (see `gemmUsesBLASThreads`).
    public static func setGemmUsesBLASThreads(_ on: Bool) {
        gemmUsesBLASThreads = on
        setBLASThreads(on ? threadCount : 1)
    }

    /// Sets only OpenBLAS's thread count (for measuring per-call threading).
    public static func setBLASThreads(_ n: Int) {
        openblas_set_num_threads(Int32(n))
    }

    public static var blasThreads: Int { Int(openblas_get_num_threads()) }

    /// Calls `body` on disjoint contiguous ranges covering 0..<count, one range per thread.
    /// Runs serially when `count * costPerItem` is below `minWork` (threading overhead would dominate)
    /// or when called from inside another `forRanges` (its threads are already busy).
    /// `body` must only write to locations owned by its range.
    @inline(__always)
    public static func forRanges(_ count: Int, costPerItem: Int = 1, minWork: Int = 32_768,
                                 _ body: (Range<Int>) -> Void) {
        let threads = threadCount
        if threads <= 1 || count < 2 || count * costPerItem < minWork || parallelDepth > 0 {
            if count > 0 { body(0..<count) }
            return
        }
        let chunks = min(threads, count)
        parallelDepth += 1
        defer { parallelDepth -= 1 }
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            body(chunkRange(chunk, of: chunks, count: count))
        }
    }

    /// The `chunk`-th of `chunks` near-equal contiguous ranges of 0..<count.
    @inline(__always)
    public static func chunkRange(_ chunk: Int, of chunks: Int, count: Int) -> Range<Int> {
        let base = count / chunks, extra = count % chunks
        let start = chunk * base + min(chunk, extra)
        return start..<(start + base + (chunk < extra ? 1 : 0))
    }
}
