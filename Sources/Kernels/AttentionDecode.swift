// Causal attention for incremental decoding against a key/value cache: n new positions per row attend
// over every cached position up to their own. qkv (B, n, 3C) laid out [q | k | v] (c_attn's output);
// caches (B, NH, capacity, hs); out (B, n, C) with heads merged. Inference only, so no backward.
// One pass over the keys with a running maximum (the "online softmax" of Milakov & Gimelshein, 2018)
// needs no score buffer; `attentionDecodeReference` (two passes, Double) is the test oracle.
import Foundation

/// kCache, vCache (B, NH, capacity, hs) at positions past..<past+n ← the k and v parts of qkv (B, n, 3C).
public func kvCacheAppend(kCache: UnsafeMutablePointer<Float>, vCache: UnsafeMutablePointer<Float>,
                          qkv: UnsafePointer<Float>, B: Int, n: Int, past: Int, capacity: Int, NH: Int, hs: Int) {
    precondition(past >= 0 && past + n <= capacity,
                 "kvCacheAppend: positions \(past)..<\(past + n) do not fit a cache of \(capacity)")
    let C = NH * hs
    for b in 0..<B {
        for i in 0..<n {
            let row = qkv + (b * n + i) * 3 * C
            for h in 0..<NH {
                let dst = ((b * NH + h) * capacity + past + i) * hs
                (kCache + dst).update(from: row + C + h * hs, count: hs)
                (vCache + dst).update(from: row + 2 * C + h * hs, count: hs)
            }
        }
    }
}

@inline(__always)
private func dotProduct(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
    var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
    var i = 0
    while i + 16 <= count {
        acc0 += UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self)
            * UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self)
        acc1 += UnsafeRawPointer(a + i + 8).loadUnaligned(as: SIMD8<Float>.self)
            * UnsafeRawPointer(b + i + 8).loadUnaligned(as: SIMD8<Float>.self)
        i += 16
    }
    if i + 8 <= count {
        acc0 += UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self)
            * UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self)
        i += 8
    }
    var s = (acc0 + acc1).sum()
    while i < count { s += a[i] * b[i]; i += 1 }
    return s
}

/// out (B, n, C): for each row b, head h and new position i (absolute position past + i),
/// softmax_j(q·k_j · scale) over cached positions j ≤ past + i, times v_j. The cache must already
/// hold the new positions (kvCacheAppend). Parallel over (b, h, i) rows with a fixed partition.
public func attentionDecodeForward(_ out: UnsafeMutablePointer<Float>, qkv: UnsafePointer<Float>,
                                   kCache: UnsafePointer<Float>, vCache: UnsafePointer<Float>,
                                   B: Int, n: Int, past: Int, capacity: Int, NH: Int, hs: Int, scale: Float) {
    precondition(past >= 0 && past + n <= capacity,
                 "attentionDecodeForward: positions \(past)..<\(past + n) do not fit a cache of \(capacity)")
    let C = NH * hs
    Parallel.forRanges(B * NH * n, costPerItem: 4 * (past + n) * hs) { rows in
        for r in rows {
            let i = r % n, h = (r / n) % NH, b = r / (n * NH)
            let q = qkv + (b * n + i) * 3 * C + h * hs
            let keys = kCache + (b * NH + h) * capacity * hs
            let values = vCache + (b * NH + h) * capacity * hs
            let o = out + (b * n + i) * C + h * hs
            o.update(repeating: 0, count: hs)
            var running = -Float.infinity, norm: Float = 0
            for j in 0...(past + i) {
                let s = dotProduct(q, keys + j * hs, hs) * scale
                if s > running {
                    // Rescale what was accumulated under the old maximum.
                    let c = running == -.infinity ? 0 : expf(running - s)
                    for d in 0..<hs { o[d] *= c }
                    norm *= c
                    running = s
                }
                let p = expf(s - running)
                norm += p
                let v = values + j * hs
                for d in 0..<hs { o[d] += p * v[d] }
            }
            let inv = 1 / norm
            for d in 0..<hs { o[d] *= inv }
        }
    }
}

/// Naive two-pass reference for attentionDecodeForward, in Double.
public func attentionDecodeReference(_ out: UnsafeMutablePointer<Float>, qkv: UnsafePointer<Float>,
                                     kCache: UnsafePointer<Float>, vCache: UnsafePointer<Float>,
                                     B: Int, n: Int, past: Int, capacity: Int, NH: Int, hs: Int, scale: Float) {
    let C = NH * hs
    for b in 0..<B { for h in 0..<NH { for i in 0..<n {
        let q = qkv + (b * n + i) * 3 * C + h * hs
        let keys = kCache + (b * NH + h) * capacity * hs
        let values = vCache + (b * NH + h) * capacity * hs
        var scores = [Double](repeating: 0, count: past + i + 1)
        for j in 0...(past + i) {
            var s = 0.0
            for d in 0..<hs { s += Double(q[d]) * Double(keys[j * hs + d]) }
            scores[j] = s * Double(scale)
        }
        let m = scores.max()!
        let e = scores.map { Foundation.exp($0 - m) }
        let z = e.reduce(0, +)
        for d in 0..<hs {
            var acc = 0.0
            for j in 0...(past + i) { acc += e[j] * Double(values[j * hs + d]) }
            out[(b * n + i) * C + h * hs + d] = Float(acc / z)
        }
    } } }
}
