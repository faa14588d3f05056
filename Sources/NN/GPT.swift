// The GPT-2 language model (nanoGPT's model.py, written for our tape):
//   x = drop(wte[idx] + wpe[pos])                 // (B, T, C)
//   x = block(x) for each of nLayer blocks        // (B, T, C)
//   logits = ln_f(x) · wteᵀ                       // (B, T, V), head tied to the token embedding
// All parameters live in one arena (ParameterArena), listed in nanoGPT's state_dict order with the
// tied head appearing once as transformer.wte.weight.
import Autograd
import Kernels

public final class GPT {
    public let config: GPTConfig
    public let arena: ParameterArena
    public let wte: Tensor  // (V, C)
    public let wpe: Tensor  // (blockSize, C)
    public let blocks: [Block]
    public let lnF: LayerNorm

    /// GPT-2's init for residual output projections: N(0, 0.02/√(2·nLayer)).
    public static func residualStd(_ config: GPTConfig) -> Float {
        0.02 / Float(2 * config.nLayer).squareRoot()
    }

    /// Every parameter's name, shape, decay flag and initialisation, in nanoGPT's state_dict order.
    public static func parameterSpecs(_ config: GPTConfig) -> [ParameterSpec] {
        var s = [ParameterSpec("transformer.wte.weight", [config.vocabSize, config.nEmbd], decays: true,
                               initialisation: .normal(std: 0.02)),
                 ParameterSpec("transformer.wpe.weight", [config.blockSize, config.nEmbd], decays: true,
                               initialisation: .normal(std: 0.02))]
        for i in 0..<config.nLayer { s += Block.specs("transformer.h.\(i)", config) }
        s += LayerNorm.specs("transformer.ln_f", features: config.nEmbd, bias: config.bias)
        return s
    }

    /// Number of parameters of a model with `config`, without building it.
    public static func parameterCount(_ config: GPTConfig) -> Int {
        parameterSpecs(config).reduce(0) { $0 + $1.count }
    }

    /// Builds the model with GPT-2's initialisation drawn from `seed` (nil: weights left at zero and
    /// LayerNorm weights at one, for a model whose weights are loaded next). `trainable: false` skips
    /// the gradient arena (inference only). `config` must have passed `validate()`.
    public init(config: GPTConfig, seed: UInt64?, trainable: Bool = true) {
        do { try config.validate() } catch {
            preconditionFailure("GPT: invalid configuration (validate it first): \(error)")
        }
        let arena = ParameterArena(specs: GPT.parameterSpecs(config), seed: seed, trainable: trainable)
        self.config = config
        self.arena = arena
        wte = arena["transformer.wte.weight"]
        wpe = arena["transformer.wpe.weight"]
        blocks = (0..<config.nLayer).map { Block(arena, "transformer.h.\($0)", config) }
        lnF = LayerNorm(arena, "transformer.ln_f")
    }

    /// The parameters in state_dict order (shared by the optimiser and checkpoints).
    public var parameters: [NamedParameter] { arena.parameters }

    public var parameterCount: Int { arena.count }

    /// All parameter values as one flat buffer, in `parameters` order, packed. Valid only while the
    /// model is alive: keep it alive across the use (withExtendedLifetime) when the model is not used after.
    public var parameterArena: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: arena.values.pointer, count: arena.values.count)
    }

    /// All gradients as one flat buffer parallel to `parameterArena` (same lifetime rule).
    public var gradientArena: UnsafeMutableBufferPointer<Float> {
        guard let g = arena.gradients else { preconditionFailure("GPT.gradientArena: model was built with trainable: false") }
        return UnsafeMutableBufferPointer(start: g.pointer, count: g.count)
    }

    /// Zeroes every gradient (one memset over the gradient arena).
    public func zeroGrad() { arena.zeroGrad() }

    /// Position ids (B·T): 0..<T in every row; with `segments`, each token's position is the number of
    /// earlier tokens in its row with the same segment id. Positions thus restart at every packed
    /// sequence, and — because attention also only sees the same segment — a packed row computes
    /// exactly what running each sequence on its own would. (causalSelfAttention requires each
    /// segment id to form one contiguous run within its row.)
    static func positions(batch: Int, time: Int, segments: [Int32]?) -> [Int32] {
        guard let segments else {
            var p = [Int32](repeating: 0, count: batch * time)
            for b in 0..<batch { for t in 0..<time { p[b * time + t] = Int32(t) } }
            return p
        }
        var p = [Int32](repeating: 0, count: batch * time)
        var seen: [Int32: Int32] = [:]
        for b in 0..<batch {
            seen.removeAll(keepingCapacity: true)
            for t in 0..<time {
                let s = segments[b * time + t]
                let k = seen[s, default: 0]
                p[b * time + t] = k
                seen[s] = k + 1
            }
        }
        return p
    }

    private func checkInput(_ op: String, _ ids: [Int32], batch: Int, time: Int, segments: [Int32]?) {
        precondition(batch >= 1 && time >= 1 && ids.count == batch * time,
                     "GPT.\(op): \(ids.count) token ids for batch \(batch) × time \(time)")
        precondition(time <= config.blockSize,
                     "GPT.\(op): sequence length \(time) exceeds block size \(config.blockSize)")
        if let segments {
            precondition(segments.count == ids.count,
                         "GPT.\(op): \(segments.count) segment ids for \(ids.count) tokens")
        }
    }

    /// The final LayerNorm's output (B, T, C) for token ids (B·T, row-major). Dropout is active only
    /// when `training` and config.dropout > 0, drawing from `rng`. With `segments` (B·T ids), a token
    /// attends only to earlier tokens of its own segment, and positions restart per segment.
    public func hidden(_ ids: [Int32], batch: Int, time: Int, training: Bool, rng: inout RandomGenerator,
                       segments: [Int32]? = nil) -> Tensor {
        checkInput("hidden", ids, batch: batch, time: time, segments: segments)
        let pos = GPT.positions(batch: batch, time: time, segments: segments)
        let p = config.dropout
        var x = embedding(ids, shape: [batch, time], table: wte)       // (B, T, C)
            + embedding(pos, shape: [batch, time], table: wpe)         // (B, T, C)
        x = dropout(x, p: p, training: training, rng: &rng)
        for block in blocks {
            x = block(x, dropout: p, training: training, rng: &rng, segments: segments)
        }
        return lnF(x)
    }

    /// Logits (B, T, V) for token ids (B·T, row-major); see `hidden` for the other arguments.
    public func forward(_ ids: [Int32], batch: Int, time: Int, training: Bool, rng: inout RandomGenerator,
                        segments: [Int32]? = nil) -> Tensor {
        let h = hidden(ids, batch: batch, time: time, training: training, rng: &rng, segments: segments)
        return lmHead(h)
    }

    /// Tied output head: x (…, C) · wteᵀ → (…, V).
    public func lmHead(_ x: Tensor) -> Tensor { linear(x, weight: wte) }

    /// Mean next-token cross-entropy over targets (B·T) that are not -1, and the logits it was
    /// computed from (optional so that a fused head-and-loss path may skip materialising them; this
    /// implementation always returns them).
    public func loss(_ ids: [Int32], targets: [Int32], batch: Int, time: Int, training: Bool,
                     rng: inout RandomGenerator, segments: [Int32]? = nil) -> (logits: Tensor?, loss: Tensor) {
        precondition(targets.count == ids.count,
                     "GPT.loss: \(targets.count) targets for \(ids.count) token ids (batch \(batch) × time \(time))")
        let logits = forward(ids, batch: batch, time: time, training: training, rng: &rng, segments: segments)
        return (logits, crossEntropy(logits, targets: targets, ignoreIndex: -1))
    }
}
