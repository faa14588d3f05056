// The tape: each differentiable operation appends one entry (its output and a closure that turns the
// output's gradient into gradients of its inputs). Execution order is a topological order, so
// backward() runs the entries in reverse, then drops them, releasing saved activations at once.
// Every op's forward runs inside `Tape.operation(kind)`, the one place the opt-in profiler times ops
// (backward: in `runBackward`), so the ops themselves carry no timing code.
//
// Operations: op → forward kernel → backward kernel (kernels live in Sources/Kernels)
//   matmul / batched       sgemm, sgemmStridedBatched          → sgemm with transposed operands
//   linear                 sgemm (bias pre-filled)             → sgemm ×2, addColumnSums
//   + − × (broadcast)      add/sub/mulForward                  → axpy, addProduct, column sums
//   affine (scalar)        scaleShift                          → axpy
//   reshape                view, no copy                       → axpy into the source gradient
//   sum / mean             sumDouble                           → broadcast fill
//   gelu                   geluForward                         → geluBackward
//   softmax                softmaxForward                      → softmaxBackward
//   layerNorm              layerNormForward (saves mean, rstd) → layerNormBackward
//   embedding              embeddingForward                    → embeddingBackward (scatter-add)
//   crossEntropy           crossEntropyForward (saves lse)     → crossEntropyBackward (recomputes softmax)
//   dropout                dropoutForward (bit mask)           → dropoutBackward
//   scaledDotProductAttention, causalSelfAttention
//                          attentionForward (saves probs)      → attentionBackward, or from
//                          AttentionMethod.tiledFromT on:
//                          attentionTiledForward (saves lse)   → attentionTiledBackward (recomputes P)
//   splitHeads / mergeHeads, slice / concat, selectRows
//                          Layout.swift copies / gathers       → the matching scatter-adds

import Kernels

public final class Tape {
    struct Entry {
        let output: Tensor
        let op: ProfiledOp
        let backward: (Tensor) -> Void  // receives output.grad
    }

    var entries: [Entry] = []

    /// The tape operations record onto. One per process: training orchestrates from one thread.
    nonisolated(unsafe) public static var current = Tape()
    /// False inside `withoutGrad { }`.
    nonisolated(unsafe) public static var isRecording = true

    public init() {}

    /// Number of recorded operations waiting for backward.
    public var count: Int { entries.count }

    /// Runs one operation's forward: every op's body goes through here. `body` computes the output and
    /// records its backward with `op.record`, which files the entry under `kind`. With the opt-in
    /// profiler (Kernels/Profiler.swift) on, the forward is charged to `kind` and so, in `runBackward`,
    /// is the backward; with it off, the cost is one test of a flag per operation.
    @inline(__always)
    public static func operation<R>(_ kind: ProfiledOp, _ body: (Operation) -> R) -> R {
        let t0 = Profiler.start()
        defer { Profiler.stop(kind, since: t0) }
        return body(Operation(kind: kind))
    }

    /// The operation whose forward is running: records its backward under its kind.
    public struct Operation {
        public let kind: ProfiledOp

        /// `Tape.record` under this operation's kind.
        @inline(__always)
        public func record(_ output: Tensor, inputs: [Tensor], backward: @escaping (Tensor) -> Void) {
            Tape.record(output, inputs: inputs, op: kind, backward: backward)
        }
    }

    /// Records `backward` for `output` if gradients are on and any input requires them.
    /// Marks `output` as requiring gradients when it records. `op` is what the profiler charges the
    /// backward to (ops record through `Operation.record`, which passes their kind).
    @inline(__always)
    public static func record(_ output: Tensor, inputs: [Tensor], op: ProfiledOp = .other,
                              backward: @escaping (Tensor) -> Void) {
        guard isRecording, inputs.contains(where: { $0.requiresGrad }) else { return }
        output.requiresGrad = true
        current.entries.append(Entry(output: output, op: op, backward: backward))
    }

    /// Drops everything recorded without running it (e.g. after an evaluation forward pass).
    public func reset() { entries.removeAll(keepingCapacity: true) }

    /// Runs the entries in reverse (seed the outputs' gradients first; `backward()` does this for a
    /// scalar). Entries whose output received no gradient are skipped.
    /// Intermediate gradients are released once consumed; leaves keep theirs.
    public func runBackward() {
        while let entry = entries.popLast() {
            guard let g = entry.output.grad else { continue }
            let t0 = Profiler.start()
            entry.backward(g)
            entry.output.grad = nil
            Profiler.stop(entry.op, backward: true, since: t0)
        }
    }
}

/// Runs `body` without recording anything on the tape (evaluation, generation).
@discardableResult
public func withoutGrad<R>(_ body: () throws -> R) rethrows -> R {
    let previous = Tape.isRecording
    Tape.isRecording = false
    defer { Tape.isRecording = previous }
    return try body()
}

extension Tensor {
    /// Back-propagates from this scalar: adds d(self)/d(leaf) into every leaf's `grad`.
    public func backward() {
        precondition(count == 1, "backward: needs a scalar, got shape \(shape)")
        guard requiresGrad else { return }
        gradPointer()[0] += 1
        Tape.current.runBackward()
    }
}
