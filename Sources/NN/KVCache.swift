// Key/value cache for generation: each layer's keys and values for every position seen so far, so a
// new token costs one position's work (its own projections plus attention over the cache) instead of
// a forward pass over the whole context. Positions are absolute (learned position embeddings), so a
// full cache cannot slide: the caller crops the context, resets the cache and re-fills it
// (see GPT.generate).
import Autograd
import Kernels

public struct KVCache {
    public let batch: Int
    /// Positions the cache can hold: the model's block size.
    public let capacity: Int
    /// Positions filled so far (the same for every row of the batch).
    public internal(set) var length: Int = 0
    // Per layer (B, NH, capacity, hs). Reference types: a copy of a KVCache shares these buffers.
    let keys: [TensorStorage]
    let values: [TensorStorage]

    public init(for model: GPT, batch: Int = 1) {
        precondition(batch >= 1, "KVCache: batch must be >= 1, got \(batch)")
        let c = model.config
        self.batch = batch
        capacity = c.blockSize
        let size = batch * c.nHead * c.blockSize * c.headSize
        keys = (0..<c.nLayer).map { _ in TensorStorage(count: size, zeroed: false) }
        values = (0..<c.nLayer).map { _ in TensorStorage(count: size, zeroed: false) }
    }

    public var remaining: Int { capacity - length }
    public var isFull: Bool { length == capacity }

    /// Forgets every position (the buffers are reused).
    public mutating func reset() { length = 0 }
}

extension GPT {
    /// Logits (B, n, V) for n new tokens per row (`ids` is B·n, row-major) at positions
    /// cache.length..<cache.length + n, attending to everything already in the cache; appends the new
    /// keys and values. Runs without recording gradients and without dropout. The cache must have room
    /// for the n positions; each row gets the same positions.
    public func forwardIncremental(_ ids: [Int32], cache: inout KVCache) -> Tensor {
        let B = cache.batch
        precondition(!ids.isEmpty && ids.count % B == 0,
                     "GPT.forwardIncremental: \(ids.count) token ids for a cache of batch \(B)")
        let n = ids.count / B, past = cache.length
        precondition(cache.capacity == config.blockSize && cache.keys.count == config.nLayer,
                     "GPT.forwardIncremental: cache was built for a different model")
        precondition(past + n <= cache.capacity,
                     "GPT.forwardIncremental: cache holds \(past) of \(cache.capacity) positions, cannot add \(n); "
                     + "crop the context and reset the cache")
        let nh = config.nHead, hs = config.headSize, c = config.nEmbd
        let scale = 1 / Float(hs).squareRoot()
        let logits: Tensor = withoutGrad {
            var pos = [Int32](repeating: 0, count: B * n)
            for b in 0..<B { for i in 0..<n { pos[b * n + i] = Int32(past + i) } }
            var x = embedding(ids, shape: [B, n], table: wte)    // (B, n, C)
                + embedding(pos, shape: [B, n], table: wpe)      // (B, n, C)
            for (l, block) in blocks.enumerated() {
                let qkv = block.attn.cAttn(block.ln1(x))          // (B, n, 3C)
                let y = Tensor(uninitialized: [B, n, c])          // (B, n, C)
                let k = cache.keys[l].pointer, v = cache.values[l].pointer
                kvCacheAppend(kCache: k, vCache: v, qkv: qkv.data, B: B, n: n, past: past,
                              capacity: cache.capacity, NH: nh, hs: hs)
                attentionDecodeForward(y.data, qkv: qkv.data, kCache: k, vCache: v, B: B, n: n, past: past,
                                       capacity: cache.capacity, NH: nh, hs: hs, scale: scale)
                x = block.attn.cProj(y, residual: x)
                x = block.mlp(block.ln2(x), residual: x)
            }
            return lmHead(lnF(x))                                 // (B, n, V)
        }
        cache.length = past + n
        return logits
    }
}
