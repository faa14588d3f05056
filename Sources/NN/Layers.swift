// The two leaf layers of GPT-2: Linear (y = x·Wᵀ + b, W stored (out, in) as in PyTorch) and LayerNorm
// over the last axis. Each layer lists its parameter specs under a state-dict prefix and is then built
// from views into the model's parameter arena, so the spec list is the single source of names and order.
import Autograd

public struct Linear {
    public let weight: Tensor  // (out, in)
    public let bias: Tensor?   // (out)

    /// Specs for `prefix.weight` (N(0, std), decays) and, when `bias`, `prefix.bias` (zeros).
    public static func specs(_ prefix: String, inFeatures: Int, outFeatures: Int, bias: Bool,
                             std: Float) -> [ParameterSpec] {
        var s = [ParameterSpec(prefix + ".weight", [outFeatures, inFeatures], decays: true,
                               initialisation: .normal(std: std))]
        if bias { s.append(ParameterSpec(prefix + ".bias", [outFeatures], decays: false, initialisation: .zeros)) }
        return s
    }

    public init(_ arena: ParameterArena, _ prefix: String) {
        weight = arena[prefix + ".weight"]
        bias = arena.contains(prefix + ".bias") ? arena[prefix + ".bias"] : nil
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

    /// Specs for `prefix.weight` (ones) and, when `bias`, `prefix.bias` (zeros); neither decays.
    public static func specs(_ prefix: String, features: Int, bias: Bool) -> [ParameterSpec] {
        var s = [ParameterSpec(prefix + ".weight", [features], decays: false, initialisation: .ones)]
        if bias { s.append(ParameterSpec(prefix + ".bias", [features], decays: false, initialisation: .zeros)) }
        return s
    }

    public init(_ arena: ParameterArena, _ prefix: String, eps: Float = 1e-5) {
        weight = arena[prefix + ".weight"]
        bias = arena.contains(prefix + ".bias") ? arena[prefix + ".bias"] : nil
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { layerNorm(x, weight: weight, bias: bias, eps: eps) }
}
