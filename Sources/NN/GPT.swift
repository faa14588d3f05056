// The GPT-2 language model, whole, in one file (nanoGPT's model.py, written for our tape):
//   x = drop(wte[idx] + wpe[pos])                 // (B, T, C)
//   x = block(x) for each of nLayer blocks        // (B, T, C)
//   logits = ln_f(x) · wteᵀ                       // (B, T, V), head tied to the token embedding
// Read top to bottom: the model (config → embeddings, blocks, ln_f → forward and loss), then the block
// and its attention and MLP, then the parameter list. Each layer declares its parameters in its initialiser
// (ParameterBuilder) in nanoGPT's state_dict order; all live in one arena, the tied head appearing once
// as transformer.wte.weight. The config itself (nanoGPT's GPTConfig, JSON names) is in GPTConfig.swift.
import Autograd
import Kernels

// MARK: - The model

public final class GPT {
    public let config: GPTConfig
    public let arena: ParameterArena
    public let wte: Tensor  // (V, C), also the output head
    public let wpe: Tensor  // (blockSize, C)
    public let blocks: [Block]
    public let lnF: LayerNorm

    /// nanoGPT's `transformer` module: every parameter of the model, declared in state_dict order.
    private struct Transformer {
        let wte: Tensor, wpe: Tensor, h: [Block], lnF: LayerNorm

        init(_ p: ParameterBuilder, _ config: GPTConfig) {
            let c = config.nEmbd
            wte = p.declare("transformer.wte.weight", [config.vocabSize, c], decays: true, .normal(std: 0.02))
            wpe = p.declare("transformer.wpe.weight", [config.blockSize, c], decays: true, .normal(std: 0.02))
            h = (0..<config.nLayer).map { Block(p, "transformer.h.\($0)", config) }
            lnF = LayerNorm(p, "transformer.ln_f", features: c, bias: config.bias)
        }
    }

    /// Builds the model with GPT-2's initialisation drawn from `seed` (nil: weights left at zero and
    /// LayerNorm weights at one, for a model whose weights are loaded next). `trainable: false` skips
    /// the gradient arena (inference only). `config` must have passed `validate()`.
    public init(config: GPTConfig, seed: UInt64?, trainable: Bool = true) {
        do { try config.validate() } catch {
            preconditionFailure("GPT: invalid configuration (validate it first): \(error)")
        }
        let built = ParameterArena.build(seed: seed, trainable: trainable) { Transformer($0, config) }
        self.config = config
        arena = built.arena
        wte = built.layers.wte
        wpe = built.layers.wpe
        blocks = built.layers.h
        lnF = built.layers.lnF
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

// MARK: - Positions

extension GPT {
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
}

// MARK: - Block, attention, MLP

/// A transformer block, pre-norm as in nanoGPT:
///   x = x + dropout(attn(ln_1(x)))
///   x = x + dropout(mlp(ln_2(x)))
/// nanoGPT also drops attention probabilities inside scaled_dot_product_attention (attn_dropout); the
/// fused causalSelfAttention has no dropout, so here dropout acts on the two residual branches
/// (resid_dropout) and, in GPT, on the embeddings — the same places except inside the softmax.
public struct Block {
    public let ln1: LayerNorm
    public let attn: CausalSelfAttention
    public let ln2: LayerNorm
    public let mlp: MLP

    /// Declared in nanoGPT's state_dict order: ln_1, attn, ln_2, mlp.
    public init(_ p: ParameterBuilder, _ prefix: String, _ config: GPTConfig) {
        ln1 = LayerNorm(p, prefix + ".ln_1", features: config.nEmbd, bias: config.bias)
        attn = CausalSelfAttention(p, prefix + ".attn", config)
        ln2 = LayerNorm(p, prefix + ".ln_2", features: config.nEmbd, bias: config.bias)
        mlp = MLP(p, prefix + ".mlp", config)
    }

    /// x (B, T, C) → (B, T, C).
    public func callAsFunction(_ x: Tensor, dropout p: Float, training: Bool, rng: inout RandomGenerator,
                               segments: [Int32]?) -> Tensor {
        var x = x
        if p > 0 && training {
            x = x + dropout(attn(ln1(x), segments: segments), p: p, training: training, rng: &rng)
            x = x + dropout(mlp(ln2(x)), p: p, training: training, rng: &rng)
        } else {
            // No dropout on the branches: each residual add happens inside its c_proj product.
            x = attn(ln1(x), segments: segments, residual: x)
            x = mlp(ln2(x), residual: x)
        }
        return x
    }
}

/// Causal multi-head self-attention: c_attn (C → 3C, laid out [q | k | v]), attention, c_proj (C → C).
public struct CausalSelfAttention {
    public let cAttn: Linear  // C → 3C
    public let cProj: Linear  // C → C
    public let heads: Int

    /// c_proj is a residual output projection: GPT-2 scales its init by 1/√(2·nLayer).
    public init(_ p: ParameterBuilder, _ prefix: String, _ config: GPTConfig) {
        let c = config.nEmbd
        cAttn = Linear(p, prefix + ".c_attn", inFeatures: c, outFeatures: 3 * c, bias: config.bias, std: 0.02)
        cProj = Linear(p, prefix + ".c_proj", inFeatures: c, outFeatures: c, bias: config.bias,
                       std: GPT.residualStd(config))
        heads = config.nHead
    }

    /// x (B, T, C) → (B, T, C), before dropout; plus `residual` when given (added inside c_proj).
    public func callAsFunction(_ x: Tensor, segments: [Int32]?, residual: Tensor? = nil) -> Tensor {
        let qkv = cAttn(x)                                                       // (B, T, 3C)
        let y = causalSelfAttention(qkv: qkv, heads: heads, segments: segments)  // (B, T, C)
        return residual.map { cProj(y, residual: $0) } ?? cProj(y)
    }
}

/// The feed-forward branch: c_fc (C → 4C), GELU, c_proj (4C → C).
public struct MLP {
    public let cFc: Linear    // C → 4C
    public let cProj: Linear  // 4C → C

    public init(_ p: ParameterBuilder, _ prefix: String, _ config: GPTConfig) {
        let c = config.nEmbd
        cFc = Linear(p, prefix + ".c_fc", inFeatures: c, outFeatures: 4 * c, bias: config.bias, std: 0.02)
        cProj = Linear(p, prefix + ".c_proj", inFeatures: 4 * c, outFeatures: c, bias: config.bias,
                       std: GPT.residualStd(config))
    }

    /// x (B, T, C) → (B, T, C), before dropout; plus `residual` when given (added inside c_proj).
    public func callAsFunction(_ x: Tensor, residual: Tensor? = nil) -> Tensor {
        let h = cFc.gelu(x)  // gelu(c_fc(x)), activation fused into the product
        return residual.map { cProj(h, residual: $0) } ?? cProj(h)
    }
}

// MARK: - Parameter list and flat buffers

extension GPT {
    /// GPT-2's init for residual output projections: N(0, 0.02/√(2·nLayer)).
    public static func residualStd(_ config: GPTConfig) -> Float {
        0.02 / Float(2 * config.nLayer).squareRoot()
    }

    /// Every parameter's name, shape, decay flag and initialisation, in nanoGPT's state_dict order.
    public static func parameterSpecs(_ config: GPTConfig) -> [ParameterSpec] {
        ParameterArena.specs { _ = Transformer($0, config) }
    }

    /// Number of parameters of a model with `config`, without building it.
    public static func parameterCount(_ config: GPTConfig) -> Int {
        parameterSplit(config).total
    }

    /// The parameters in state_dict order (shared by the optimiser and checkpoints).
    public var parameters: [NamedParameter] { arena.parameters }

    public var parameterCount: Int { arena.count }

    /// All parameter values as one flat buffer, in `parameters` order, packed. Valid only while the
    /// model is alive: keep it alive across the use (withExtendedLifetime) when the model is not used
    /// after.
    public var parameterArena: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: arena.values.pointer, count: arena.values.count)
    }

    /// All gradients as one flat buffer parallel to `parameterArena` (same lifetime rule).
    public var gradientArena: UnsafeMutableBufferPointer<Float> {
        guard let g = arena.gradients else {
            preconditionFailure("GPT.gradientArena: model was built with trainable: false")
        }
        return UnsafeMutableBufferPointer(start: g.pointer, count: g.count)
    }

    /// Zeroes every gradient (one memset over the gradient arena).
    public func zeroGrad() { arena.zeroGrad() }
}
