// A trainable tensor with its state-dict name (nanoGPT / Hugging Face naming, e.g.
// "transformer.h.0.attn.c_attn.weight") and whether weight decay applies to it (2-D weights and
// embeddings decay; biases and LayerNorm parameters do not, as in nanoGPT).
import Autograd

public struct NamedParameter {
    public let name: String
    public let tensor: Tensor
    public let decays: Bool

    public init(name: String, tensor: Tensor, decays: Bool) {
        self.name = name
        self.tensor = tensor
        self.decays = decays
    }
}
