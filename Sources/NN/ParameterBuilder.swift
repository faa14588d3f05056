// How a layer declares its parameters: in its initialiser, beside the property that holds each one
// (`weight = p.declare(prefix + ".weight", [out, in], decays: true, .normal(std: 0.02))`), so a
// parameter's name, shape, decay flag and initialisation are written once. Building a model runs its
// initialisers twice over the same declarations: first to list them (the arena is allocated from the
// list, in declaration order), then to hand each declaration its view into the arena.
import Autograd

public final class ParameterBuilder {
    /// Nil while listing.
    private let arena: ParameterArena?
    /// What has been declared so far, in order.
    public private(set) var specs: [ParameterSpec] = []
    /// What `declare` returns while listing: the layers built then are discarded.
    private lazy var placeholder = Tensor(zeros: [0])

    fileprivate init(binding arena: ParameterArena?) { self.arena = arena }

    /// Declares the next parameter and returns its tensor (the arena's view once bound).
    public func declare(_ name: String, _ shape: [Int], decays: Bool,
                        _ initialisation: ParameterInit) -> Tensor {
        let spec = ParameterSpec(name, shape, decays: decays, initialisation: initialisation)
        let i = specs.count
        specs.append(spec)
        guard let arena else { return placeholder }
        precondition(i < arena.specs.count && arena.specs[i] == spec,
                     "ParameterBuilder: declaration \(i) (\(name)) differs from the listing pass")
        return arena.parameters[i].tensor
    }
}

extension ParameterArena {
    /// The parameters `declare` declares, in order, without allocating any.
    public static func specs(_ declare: (ParameterBuilder) -> Void) -> [ParameterSpec] {
        let p = ParameterBuilder(binding: nil)
        declare(p)
        return p.specs
    }

    /// Allocates and initialises an arena for the parameters `declare` declares (`seed` and `trainable`
    /// as in `init(specs:seed:trainable:)`), and returns it with what `declare` builds over it.
    public static func build<Layers>(
        seed: UInt64?, trainable: Bool, _ declare: (ParameterBuilder) -> Layers
    ) -> (arena: ParameterArena, layers: Layers) {
        let arena = ParameterArena(specs: specs { _ = declare($0) }, seed: seed, trainable: trainable)
        let p = ParameterBuilder(binding: arena)
        let layers = declare(p)
        precondition(p.specs.count == arena.specs.count,
                     "ParameterBuilder: \(p.specs.count) declarations bound, \(arena.specs.count) listed")
        return (arena, layers)
    }
}
