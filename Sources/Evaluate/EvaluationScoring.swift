// Log-likelihood of candidate continuations after a prompt, the scoring rule of GPT-2's zero-shot and
// GPT-3's few-shot classification:
//   score(c | p) = Σ_j log softmax(logits(p + c[..<j]))[c[j]]      j = 0..<len(c)
// For each prompt the sequences p + c.dropLast() are built, identical ones merged (single-token
// verbalisers all share the bare prompt), and every sequence of a batch of prompts goes through one
// forward pass to the final LayerNorm, right-padded to the longest (causal attention never lets a
// position see the padding after it). Only the rows that predict a continuation token go through the
// (V-wide, and therefore dominant) output head.
import Foundation
import Autograd
import Kernels
import NN

extension GPT {
    /// `result[q][c]` = summed log-probability of `continuations[c]` right after `prompts[q]`, in nats.
    /// Every prompt and continuation must be non-empty, and each prompt plus a continuation less its
    /// last token must fit in the block size.
    public func continuationLogLikelihoods(prompts: [[Int32]], continuations: [[Int32]]) -> [[Double]] {
        precondition(!continuations.isEmpty && continuations.allSatisfy { !$0.isEmpty },
                     "continuationLogLikelihoods: every continuation needs at least one token")
        let V = config.vocabSize
        // Distinct sequences, and for each (prompt, continuation) the sequence that scores it.
        var sequences: [[Int32]] = []
        var sequenceOf = [[Int]](repeating: [], count: prompts.count)
        for (q, p) in prompts.enumerated() {
            precondition(!p.isEmpty, "continuationLogLikelihoods: prompt \(q) is empty")
            var seen: [[Int32]: Int] = [:]
            for c in continuations {
                let s = p + c.dropLast()
                precondition(s.count <= config.blockSize,
                             "continuationLogLikelihoods: prompt \(q) (\(p.count) tokens) plus a continuation of " +
                                     "\(c.count) exceeds block size \(config.blockSize)")
                if let i = seen[s] { sequenceOf[q].append(i); continue }
                seen[s] = sequences.count
                sequenceOf[q].append(sequences.count)
                sequences.append(s)
            }
        }
        if prompts.isEmpty { return [] }
        let S = sequences.count, T = sequences.map(\.count).max()!
        var ids = [Int32](repeating: 0, count: S * T)
        for (s, seq) in sequences.enumerated() { for (t, id) in seq.enumerated() { ids[s * T + t] = id } }
        // Rows of the (S·T, C) hidden states that predict each continuation token, and those tokens.
        var rows: [Int] = [], targets: [Int32] = []
        for (q, p) in prompts.enumerated() {
            for (c, cont) in continuations.enumerated() {
                let base = sequenceOf[q][c] * T + p.count - 1
                for (j, token) in cont.enumerated() { rows.append(base + j); targets.append(token) }
            }
        }
        var rng = RandomGenerator(seed: 0)  // unused: no dropout when not training
        let logits: Tensor = withoutGrad {
            let h = hidden(ids, batch: S, time: T, training: false, rng: &rng)  // (S, T, C)
            return lmHead(selectRows(h, rows: rows))                           // (R, V)
        }
        var logp = [Double](repeating: 0, count: rows.count)
        let x = logits.data
        for r in 0..<rows.count {
            let row = x + r * V
            let m = rowMax(row, count: V)
            let lse = Double(m) + log(Double(expShiftSum(nil, row, count: V, shift: m)))
            logp[r] = Double(row[Int(targets[r])]) - lse
        }
        withExtendedLifetime(logits) {}
        var out = [[Double]](repeating: [Double](repeating: 0, count: continuations.count), count: prompts.count)
        var r = 0
        for q in 0..<prompts.count {
            for (c, cont) in continuations.enumerated() {
                var s = 0.0
                for _ in cont { s += logp[r]; r += 1 }
                out[q][c] = s
            }
        }
        return out
    }
}
