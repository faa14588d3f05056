// One allocation for all of a model's parameters and a parallel one for their gradients (llm.c's
// layout): each parameter is a Tensor view at an offset into the value arena, and its `grad` a view at
// the same offset into the gradient arena. Zeroing gradients is one memset, and the optimiser and the
// checkpoint code can treat the model as one flat buffer as well as a list of named tensors. Models
// build theirs with `ParameterArena.build` from their layers' declarations (ParameterBuilder.swift).
import Autograd
import Kernels

/// How a parameter starts out.
public enum ParameterInit: Equatable, Sendable {
    case normal(std: Float)
    case zeros
    case ones
}

/// A parameter's name, shape, weight-decay flag and initialisation, before any memory exists.
public struct ParameterSpec: Equatable, Sendable {
    public let name: String
    public let shape: [Int]
    public let decays: Bool
    public let initialisation: ParameterInit

    public init(_ name: String, _ shape: [Int], decays: Bool, initialisation: ParameterInit) {
        self.name = name
        self.shape = shape
        self.decays = decays
        self.initialisation = initialisation
    }

    public var count: Int { shape.reduce(1, *) }
}

public final class ParameterArena {
    /// What the arena was built from, in order.
    public let specs: [ParameterSpec]
    /// The parameters in spec order, packed back to back (no padding), so `values.count` is the
    /// parameter count.
    public let parameters: [NamedParameter]
    public let values: TensorStorage
    /// Nil when built with `trainable: false` (inference only: half the memory).
    public let gradients: TensorStorage?
    private let index: [String: Int]

    /// Allocates and initialises the parameters. `seed` drives the normal initialisations in spec
    /// order; nil leaves them zero (for models whose weights are about to be loaded).
    public init(specs: [ParameterSpec], seed: UInt64?, trainable: Bool) {
        self.specs = specs
        let total = specs.reduce(0) { $0 + $1.count }
        values = TensorStorage(count: total)
        gradients = trainable ? TensorStorage(count: total) : nil
        var rng = RandomGenerator(seed: seed ?? 0)
        var list: [NamedParameter] = []
        var index: [String: Int] = [:]
        var offset = 0
        for spec in specs {
            precondition(index[spec.name] == nil, "ParameterArena: duplicate parameter name \(spec.name)")
            let t = Tensor(shape: spec.shape, storage: values, offset: offset, requiresGrad: trainable)
            t.name = spec.name
            if let gradients { t.grad = Tensor(shape: spec.shape, storage: gradients, offset: offset) }
            switch spec.initialisation {
            case .normal(let std): if seed != nil { rng.fillNormal(t.data, count: t.count, mean: 0, std: std) }
            case .zeros: break  // storage starts zeroed
            case .ones: t.data.update(repeating: 1, count: t.count)
            }
            index[spec.name] = list.count
            list.append(NamedParameter(name: spec.name, tensor: t, decays: spec.decays))
            offset += spec.count
        }
        parameters = list
        self.index = index
    }

    /// The parameter called `name`; a missing name is a programming error.
    public subscript(name: String) -> Tensor {
        guard let i = index[name] else { preconditionFailure("ParameterArena: no parameter named \(name)") }
        return parameters[i].tensor
    }

    public func contains(_ name: String) -> Bool { index[name] != nil }

    public var count: Int { values.count }

    /// Sets every gradient to zero in one (parallel) fill. A parameter whose `grad` was replaced or
    /// dropped (by code outside the model) gets its arena view back.
    public func zeroGrad() {
        guard let gradients else { return }
        fillZero(gradients.pointer, count: gradients.count)
        var offset = 0
        for p in parameters {
            let t = p.tensor
            if t.grad?.storage !== gradients || t.grad?.offset != offset {
                t.grad = Tensor(shape: t.shape, storage: gradients, offset: offset)
            }
            offset += t.count
        }
    }
}
