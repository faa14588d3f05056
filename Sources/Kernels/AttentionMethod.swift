// Which attention kernel pair training and evaluation use. Both compute the same attention:
//   materialized  attentionForward/Backward (Attention.swift): saves P, (B, NH, T, probsStride) floats
//   tiled         attentionTiledForward/Backward (AttentionTiled.swift): saves lse, (B, NH, T) floats
// The tiled pair is chosen from `tiledFromT` on (where it measured at least as fast on the CPU
// recipe's model, BENCHMARKS.md) and whenever one call's probabilities would pass
// `materializedLimitBytes`, so memory stays linear in T for long contexts whatever the batch.

public enum AttentionMethod: String, CaseIterable, Sendable {
    case materialized
    case tiled

    /// Sequence lengths from which the tiled kernels are used.
    public static let tiledFromT = 512
    /// Bytes of probabilities one materialized call may save (per layer); above it the tiled kernels
    /// are used at any T.
    public static let materializedLimitBytes = 64 << 20

    /// A method that every later call uses instead of the automatic choice (nil: automatic); for
    /// benchmarks and tests that compare the two.
    nonisolated(unsafe) public private(set) static var forced: AttentionMethod?

    public static func force(_ method: AttentionMethod?) { forced = method }

    /// The automatic choice for one call of geometry `g`.
    public static func automatic(_ g: AttentionGeometry) -> AttentionMethod {
        let probsBytes = Double(g.B) * Double(g.NH) * Double(g.T) * Double(g.probsStride) * 4
        return g.T >= tiledFromT || probsBytes > Double(materializedLimitBytes) ? .tiled : .materialized
    }

    /// What a call of geometry `g` uses now: the forced method, else the automatic choice.
    public static func chosen(_ g: AttentionGeometry) -> AttentionMethod { forced ?? automatic(g) }

    /// Floats one call of geometry `g` saves for backward.
    public func savedFloats(_ g: AttentionGeometry) -> Int {
        switch self {
        case .materialized: return g.probsCount
        case .tiled: return attentionTiledSavedCount(g)
        }
    }
}
