// Opt-in timing of a training step by operation (forward and backward separately), of the sgemm calls
// made outside our own parallel loops (the BLAS share), and of the optimiser. Off by default: each hook
// is one test of a static flag, so the cost when off is a predictable branch per operation (not per
// element). Totals are kept in nanoseconds of wall-clock time on the thread that drives training;
// kernels' worker threads never record (nested calls inside a timed operation count towards it).
// Autograd's ops are timed where they pass through the tape (Tape.operation and Tape.runBackward).
#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// What a timed interval is charged to.
public enum ProfiledOp: Int, CaseIterable, Sendable {
    case linear, matmul, attention, layerNorm, gelu, softmax, crossEntropy, embedding, elementwise, dropout
    case layout, reduction, reshape, other
    /// sgemm calls made by the driving thread (inside linear and matmul; attention's per-head products
    /// run on worker threads and count as attention).
    case sgemm
    case zeroGrad, gradClip, optimizer

    public var name: String {
        switch self {
        case .linear: "linear"
        case .matmul: "matmul"
        case .attention: "attention"
        case .layerNorm: "layer norm"
        case .gelu: "gelu"
        case .softmax: "softmax"
        case .crossEntropy: "cross-entropy"
        case .embedding: "embedding"
        case .elementwise: "add/mul/affine"
        case .dropout: "dropout"
        case .layout: "layout copies"
        case .reduction: "sum/mean"
        case .reshape: "reshape"
        case .other: "other"
        case .sgemm: "sgemm (BLAS)"
        case .zeroGrad: "zero grad"
        case .gradClip: "grad norm/clip"
        case .optimizer: "AdamW"
        }
    }
}

/// Accumulated time and call count of one operation in one direction.
public struct ProfileTotal: Sendable {
    public let op: ProfiledOp
    public let backward: Bool
    public let nanoseconds: UInt64
    public let calls: Int
}

public enum Profiler {
    /// Turns the hooks on. Set it from the driving thread between steps.
    nonisolated(unsafe) public static var isEnabled = false
    /// Above 0 while a kernel runs sgemm on worker threads: those calls are not recorded.
    nonisolated(unsafe) static var blasSuspended = 0

    private static let slots = 2 * ProfiledOp.allCases.count
    nonisolated(unsafe) private static let times: UnsafeMutablePointer<UInt64> = {
        let p = UnsafeMutablePointer<UInt64>.allocate(capacity: 2 * ProfiledOp.allCases.count)
        p.initialize(repeating: 0, count: 2 * ProfiledOp.allCases.count)
        return p
    }()
    nonisolated(unsafe) private static let counts: UnsafeMutablePointer<Int> = {
        let p = UnsafeMutablePointer<Int>.allocate(capacity: 2 * ProfiledOp.allCases.count)
        p.initialize(repeating: 0, count: 2 * ProfiledOp.allCases.count)
        return p
    }()

    /// Monotonic nanoseconds.
    @inline(__always)
    public static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// The start of an interval: the current time when profiling, else 0 (no clock read).
    @inline(__always)
    public static func start() -> UInt64 { isEnabled ? now() : 0 }

    /// Charges the time since `t0` (from `start()`) to `op`. Does nothing when profiling is off.
    @inline(__always)
    public static func stop(_ op: ProfiledOp, backward: Bool = false, since t0: UInt64) {
        if isEnabled && t0 != 0 { add(op, backward: backward, nanoseconds: now() &- t0) }
    }

    @inline(never)
    static func add(_ op: ProfiledOp, backward: Bool, nanoseconds: UInt64) {
        let i = 2 * op.rawValue + (backward ? 1 : 0)
        times[i] &+= nanoseconds
        counts[i] += 1
    }

    /// Times `body` as `op` when profiling is on.
    @inline(__always)
    public static func measure<R>(_ op: ProfiledOp, backward: Bool = false, _ body: () throws -> R) rethrows -> R {
        let t0 = start()
        defer { stop(op, backward: backward, since: t0) }
        return try body()
    }

    /// Clears every total.
    public static func reset() {
        times.update(repeating: 0, count: slots)
        counts.update(repeating: 0, count: slots)
    }

    /// The non-zero totals, in `ProfiledOp` order (forward before backward).
    public static func totals() -> [ProfileTotal] {
        var out: [ProfileTotal] = []
        for op in ProfiledOp.allCases {
            for backward in [false, true] {
                let i = 2 * op.rawValue + (backward ? 1 : 0)
                if counts[i] > 0 {
                    out.append(ProfileTotal(op: op, backward: backward, nanoseconds: times[i], calls: counts[i]))
                }
            }
        }
        return out
    }

    /// Runs `body` with sgemm recording suspended (for kernels that call sgemm from worker threads).
    @inline(__always)
    public static func withoutBLASRecording<R>(_ body: () throws -> R) rethrows -> R {
        blasSuspended += 1
        defer { blasSuspended -= 1 }
        return try body()
    }
}
