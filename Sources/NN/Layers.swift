// The two leaf layers of GPT-2: Linear (y = x·Wᵀ + b, W stored (out, in) as in PyTorch) and LayerNorm
// over the last axis. Each declares its parameters under a state-dict prefix (ParameterBuilder): the
// declaration gives the arena its entry and the layer its view, so names and shapes are written once.
import Autograd

public struct Linear {
    public let weight: Tensor  // (out, in)
    public let bias: Tensor?   // (out)

    /// `prefix.weight` (out, in), N(0, std), decays; with `bias`, `prefix.bias` (out), zeros.
    public init(_ p: ParameterBuilder, _ prefix: String, inFeatures: Int, outFeatures: Int, bias: Bool,
                std: Float) {
        weight = p.declare(prefix + ".weight", [outFeatures, inFeatures], decays: true, .normal(std: std))
        self.bias = bias ? p.declare(prefix + ".bias", [outFeatures], decays: false, .zeros) : nil
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { linear(x, weight: weight, bias: bias) }

    /// gelu(self(x)) in one op (see `linearGELU`).
    public func gelu(_ x: Tensor) -> Tensor { linearGELU(x, weight: weight, bias: bias) }

    /// residual + self(x) in one pass (see `linear(_:weight:bias:residual:)`).
    public func callAsFunction(_ x: Tensor, residual: Tensor) -> Tensor {
        linear(x, weight: weight, bias: bias, residual: residual)
    }
}

public struct LayerNorm {
    public let weight: Tensor  // (C)
    public let bias: Tensor?   // (C)
    public let eps: Float

    /// `prefix.weight` (C), ones; with `bias`, `prefix.bias` (C), zeros; neither decays.
    public init(_ p: ParameterBuilder, _ prefix: String, features: Int, bias: Bool, eps: Float = 1e-5) {
        weight = p.declare(prefix + ".weight", [features], decays: false, .ones)
        self.bias = bias ? p.declare(prefix + ".bias", [features], decays: false, .zeros) : nil
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { layerNorm(x, weight: weight, bias: bias, eps: eps) }
}
