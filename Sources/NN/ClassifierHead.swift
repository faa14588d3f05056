// The GPT-1 classification head: a linear layer from the final hidden state at the extract token to
// one logit per label (Radford et al. 2018, "Improving Language Understanding by Generative
// Pre-Training", §3.2: P(y|x) = softmax(h_l^m W_y)). It keeps its own small parameter arena, so a
// fine-tuning run lists the GPT's parameters followed by these under the state-dict names
// "classifier.weight" (K, C), init N(0, 0.02), and "classifier.bias" (K), zeros.
import Autograd
import Kernels

public final class ClassifierHead {
    public static let prefix = "classifier"

    public let arena: ParameterArena
    public let linear: Linear
    public let labelCount: Int
    public let features: Int

    /// `seed` nil leaves the weights at zero (for a head whose weights are loaded next).
    public init(features: Int, labels: Int, seed: UInt64?, trainable: Bool = true) {
        precondition(features > 0 && labels > 0,
                     "ClassifierHead: needs positive features and labels, got \(features) and \(labels)")
        let built = ParameterArena.build(seed: seed, trainable: trainable) {
            Linear($0, ClassifierHead.prefix, inFeatures: features, outFeatures: labels, bias: true, std: 0.02)
        }
        arena = built.arena
        linear = built.layers
        labelCount = labels
        self.features = features
    }

    public var parameters: [NamedParameter] { arena.parameters }

    public func zeroGrad() { arena.zeroGrad() }

    /// x (N, C) → logits (N, K).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.lastDim == features,
                     "ClassifierHead: input \(x.shape) does not end in \(features) features")
        return linear(x)
    }
}
