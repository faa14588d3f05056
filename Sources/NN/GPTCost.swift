// What a GPT costs, from its config alone: where its parameters are, and nanoGPT's FLOPs estimate.
// FLOPs per token follow nanoGPT's estimate_mfu (PaLM, Chowdhery et al. 2022, appendix B):
//   6·N + 12·L·C·T, N = parameters without the position embedding, T = the sequence length trained on.
// 6·N is the forward (2·N) and backward (4·N) multiply-adds of every weight; 12·L·C·T the attention
// scores and weighted sums (Q·Kᵀ and P·V, forward and backward), which have no weights.

/// A GPT's parameter count by part. The output head is tied to the token embedding, so `head` is
/// only the final LayerNorm.
public struct ParameterSplit: Equatable, Sendable {
    /// Token (V·C) and position (blockSize·C) embeddings.
    public var embedding: Int
    /// The nLayer transformer blocks.
    public var blocks: Int
    /// ln_f (the logits reuse transformer.wte.weight).
    public var head: Int

    public var total: Int { embedding + blocks + head }
}

extension GPT {
    /// Parameters by part, read off the spec list so it stays in step with the model. Every block has
    /// the same parameters, so the list of a model of at most two blocks is read and its blocks scaled
    /// (a config may ask for a million layers; listing them would take seconds).
    public static func parameterSplit(_ config: GPTConfig) -> ParameterSplit {
        var listed = config
        listed.nLayer = min(config.nLayer, 2)
        var s = ParameterSplit(embedding: 0, blocks: 0, head: 0)
        for spec in parameterSpecs(listed) {
            if spec.name.hasPrefix("transformer.wte.") || spec.name.hasPrefix("transformer.wpe.") {
                s.embedding += spec.count
            } else if spec.name.hasPrefix("transformer.h.") {
                s.blocks += spec.count
            } else {
                s.head += spec.count
            }
        }
        if listed.nLayer > 0 { s.blocks = s.blocks / listed.nLayer * config.nLayer }
        return s
    }
}

extension GPTConfig {
    /// nanoGPT's FLOPs per trained token, 6·N + 12·L·C·T with N excluding the position embedding
    /// and T = blockSize.
    public var flopsPerToken: Double {
        let n = GPT.parameterCount(self) - blockSize * nEmbd
        return 6 * Double(n) + 12 * Double(nLayer) * Double(nEmbd) * Double(blockSize)
    }
}
