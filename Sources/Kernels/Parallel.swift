// Fixed-partition parallel loops over rows, and the thread-count controls for our loops and OpenBLAS.
// Work is split into contiguous chunks whose boundaries depend only on the item count and the
// configured thread count, so a computation is bitwise reproducible at a given thread count.
import COpenBLAS
import Dispatch
import Foundation

public enum Parallel {
    /// Threads used by our own loops. Defaults to the machine's active cores.
    nonisolated(unsafe) public private(set) static var threadCount: Int =
        max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Sets the thread count for our loops and for OpenBLAS together.
    public static func setThreadCount(_ n: Int) {
        precondition(n >= 1, "Parallel.setThreadCount: thread count must be >= 1, got \(n)")
        threadCount = n
        setBLASThreads(n)
    }

    /// Sets only OpenBLAS's thread count (for measuring per-call threading).
    public static func setBLASThreads(_ n: Int) {
        openblas_set_num_threads(Int32(n))
    }

    public static var blasThreads: Int { Int(openblas_get_num_threads()) }

    /// Calls `body` on disjoint contiguous ranges covering 0..<count, one range per thread.
    /// Runs serially when `count * costPerItem` is below `minWork` (threading overhead would dominate).
    /// `body` must only write to locations owned by its range.
    @inline(__always)
    public static func forRanges(_ count: Int, costPerItem: Int = 1, minWork: Int = 32_768,
                                 _ body: (Range<Int>) -> Void) {
        let threads = threadCount
        if threads <= 1 || count < 2 || count * costPerItem < minWork {
            if count > 0 { body(0..<count) }
            return
        }
        let chunks = min(threads, count)
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
