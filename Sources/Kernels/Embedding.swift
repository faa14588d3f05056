// Embedding lookup: out (N, C) = table (V, C) rows picked by ids (N), N = B·T.
// Backward scatter-adds dout rows into dtable. To stay deterministic without atomics, each thread owns
// a fixed range of table rows and scans all ids, adding the rows that land in its range in id order;
// so every table row receives its contributions in the same order whatever the thread count.
// ids are validated by the caller (0 ≤ id < V).

/// out (N, C) = table[ids[i], :] for i in 0..<N.
public func embeddingForward(_ out: UnsafeMutablePointer<Float>, ids: UnsafePointer<Int32>,
                             table: UnsafePointer<Float>, count n: Int, channels c: Int) {
    Parallel.forRanges(n, costPerItem: c, minWork: 1 << 16) { range in
        for i in range { (out + i * c).update(from: table + Int(ids[i]) * c, count: c) }
    }
}

/// dtable (V, C) += Σ_{i: ids[i] = v} dout[i, :]. Differentiates `out[i, :] = table[ids[i], :]`.
public func embeddingBackward(dtable: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                              ids: UnsafePointer<Int32>, count n: Int, vocab v: Int, channels c: Int) {
    // Parallel over destination rows, as described above; each thread reads all N ids.
    Parallel.forRanges(v, costPerItem: max(1, n * c / max(v, 1)), minWork: 1 << 16) { owned in
        let lo = Int32(owned.lowerBound), hi = Int32(owned.upperBound)
        for i in 0..<n {
            let id = ids[i]
            if id < lo || id >= hi { continue }
            let d = dtable + Int(id) * c, g = dout + i * c
            var j = 0
            while j + 16 <= c { store16(load16(d + j) + load16(g + j), d + j); j += 16 }
            while j < c { d[j] += g[j]; j += 1 }
        }
    }
}

// MARK: - Reference (test oracle)

public func embeddingBackwardReference(dtable: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                                       ids: UnsafePointer<Int32>, count n: Int, channels c: Int) {
    for i in 0..<n {
        for j in 0..<c { dtable[Int(ids[i]) * c + j] += dout[i * c + j] }
    }
}
