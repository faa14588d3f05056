// A GPT-2 transformer block, pre-norm as in nanoGPT's model.py:
//   x = x + dropout(attn.c_proj(causalSelfAttention(attn.c_attn(ln_1(x)))))
//   x = x + dropout(mlp.c_proj(gelu(mlp.c_fc(ln_2(x)))))
// nanoGPT also drops attention probabilities inside scaled_dot_product_attention (attn_dropout); the
// fused causalSelfAttention has no dropout, so here dropout acts on the two residual branches
// (resid_dropout) and, in GPT, on the embeddings — the same places except inside the softmax.
import Autograd
import Kernels

public struct CausalSelfAttention {
    public let cAttn: Linear  // C → 3C, output laid out [q | k | v]
    public let cProj: Linear  // C → C
    public let heads: Int

    /// c_proj is a residual output projection: GPT-2 scales its init by 1/√(2·nLayer).
    public static func specs(_ prefix: String, _ config: GPTConfig) -> [ParameterSpec] {
        let c = config.nEmbd
        return Linear.specs(prefix + ".c_attn", inFeatures: c, outFeatures: 3 * c, bias: config.bias, std: 0.02)
            + Linear.specs(prefix + ".c_proj", inFeatures: c, outFeatures: c, bias: config.bias,
                           std: GPT.residualStd(config))
    }

    public init(_ arena: ParameterArena, _ prefix: String, _ config: GPTConfig) {
        cAttn = Linear(arena, prefix + ".c_attn")
        cProj = Linear(arena, prefix + ".c_proj")
        heads = config.nHead
    }

    /// x (B, T, C) → (B, T, C), before dropout; plus `residual` when given (added inside c_proj).
    public func callAsFunction(_ x: Tensor, segments: [Int32]?, residual: Tensor? = nil) -> Tensor {
        let qkv = cAttn(x)                                                     // (B, T, 3C)
        let y = causalSelfAttention(qkv: qkv, heads: heads, segments: segments)  // (B, T, C)
        return residual.map { cProj(y, residual: $0) } ?? cProj(y)
    }
}

public struct MLP {
    public let cFc: Linear    // C → 4C
    public let cProj: Linear  // 4C → C

    public static func specs(_ prefix: String, _ config: GPTConfig) -> [ParameterSpec] {
        let c = config.nEmbd
        return Linear.specs(prefix + ".c_fc", inFeatures: c, outFeatures: 4 * c, bias: config.bias, std: 0.02)
            + Linear.specs(prefix + ".c_proj", inFeatures: 4 * c, outFeatures: c, bias: config.bias,
                           std: GPT.residualStd(config))
    }

    public init(_ arena: ParameterArena, _ prefix: String) {
        cFc = Linear(arena, prefix + ".c_fc")
        cProj = Linear(arena, prefix + ".c_proj")
    }

    /// x (B, T, C) → (B, T, C), before dropout; plus `residual` when given (added inside c_proj).
    public func callAsFunction(_ x: Tensor, residual: Tensor? = nil) -> Tensor {
        let h = cFc.gelu(x)  // gelu(c_fc(x)), activation fused into the product
        return residual.map { cProj(h, residual: $0) } ?? cProj(h)
    }
}

public struct Block {
    public let ln1: LayerNorm
    public let attn: CausalSelfAttention
    public let ln2: LayerNorm
    public let mlp: MLP

    /// State-dict order of nanoGPT's Block: ln_1, attn, ln_2, mlp.
    public static func specs(_ prefix: String, _ config: GPTConfig) -> [ParameterSpec] {
        LayerNorm.specs(prefix + ".ln_1", features: config.nEmbd, bias: config.bias)
            + CausalSelfAttention.specs(prefix + ".attn", config)
            + LayerNorm.specs(prefix + ".ln_2", features: config.nEmbd, bias: config.bias)
            + MLP.specs(prefix + ".mlp", config)
    }

    public init(_ arena: ParameterArena, _ prefix: String, _ config: GPTConfig) {
        ln1 = LayerNorm(arena, prefix + ".ln_1")
        attn = CausalSelfAttention(arena, prefix + ".attn", config)
        ln2 = LayerNorm(arena, prefix + ".ln_2")
        mlp = MLP(arena, prefix + ".mlp")
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
