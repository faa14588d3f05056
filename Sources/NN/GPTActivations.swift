// The activations one training forward keeps for backward, counted from what the autograd ops save.
// Every recorded op's tape entry holds its output until backward pops it, and its closure holds its
// inputs (earlier outputs or parameters) plus any extra buffers. Per token (B·T of them), for
// C = n_embd, NH = n_head, Tp = probsStride (T rounded up to 16), V = vocab_size, A = what the
// attention kernel saves (AttentionMethod: NH·Tp probabilities materialized, NH log-sum-exps tiled):
//   embeddings     wte[idx] C, wpe[pos] C, their sum C                                  3C
//   each block     ln_1 out C + mean, rstd 2; c_attn out (qkv) 3C; attention out C and
//                  A; c_proj out with the residual added C; ln_2 out C + 2;
//                  gelu(c_fc) out 4C and gelu' 4C (the pre-activation is not kept);
//                  c_proj out with the residual C                                   16C + 4 + A
//   head           ln_f out C + 2; logits V; cross-entropy logsumexp 1                C + 3 + V
// With dropout (training, p > 0) the residual adds are separate ops (one more C output each), plus
// one more C output per dropout (after the embeddings and on both residual branches of every block)
// and a bit mask of one bit per element. Scalars (the loss) and the integer ids are not counted.
import Kernels

/// Saved activations of one micro-batch.
public struct ActivationCount: Equatable, Sendable {
    /// Floats held by the embeddings' outputs.
    public var embedding: Int
    /// Floats held per transformer block.
    public var perBlock: Int
    /// Floats held by ln_f, the logits and the loss.
    public var head: Int
    /// Floats of the logits alone (B·T·V; included in `head`).
    public var logits: Int
    /// Bytes of dropout bit masks (UInt64 words).
    public var maskBytes: Int
    public var blocks: Int
    /// The attention kernel pair counted, and the floats it saves per block (included in `perBlock`).
    public var attention: AttentionMethod
    public var attentionPerBlock: Int

    /// Every saved float.
    public var floats: Int { embedding + blocks * perBlock + head }
    /// Every saved byte (fp32 tensors and the masks).
    public var bytes: Int { floats * MemoryLayout<Float>.size + maskBytes }
}

extension GPT {
    /// The activations a training forward over `batch` sequences of `time` tokens saves for backward.
    /// `training: false` or dropout 0 leaves out the dropout outputs and masks. `attention` nil counts
    /// the method the attention op would choose now (AttentionMethod.chosen).
    public static func savedActivations(_ config: GPTConfig, batch: Int, time: Int, training: Bool = true,
                                        attention method: AttentionMethod? = nil) -> ActivationCount {
        let tokens = batch * time, c = config.nEmbd
        let attention = AttentionGeometry.fused(B: batch, T: time, NH: config.nHead, hs: config.headSize)
        let drops = training && config.dropout > 0
        let dropoutOutput = drops ? tokens * c : 0
        let mask = drops ? dropoutMaskWords(count: tokens * c) * MemoryLayout<UInt64>.size : 0
        let residualSums = drops ? 2 * tokens * c : 0
        let method = method ?? AttentionMethod.chosen(attention)
        let attentionSaved = method.savedFloats(attention)
        let perBlock = tokens * (16 * c + 4) + attentionSaved + residualSums + 2 * dropoutOutput
        let logits = tokens * config.vocabSize
        return ActivationCount(embedding: 3 * tokens * c + dropoutOutput,
                               perBlock: perBlock,
                               head: tokens * (c + 3) + logits,
                               logits: logits,
                               maskBytes: mask * (1 + 2 * config.nLayer),
                               blocks: config.nLayer,
                               attention: method,
                               attentionPerBlock: attentionSaved)
    }
}
