// Which attention kernel pair training and evaluation use. Both compute the same attention:
//   materialized  attentionForward/Backward (Attention.swift): saves P, (B, NH, T, probsStride) floats
//   tiled         attentionTiledForward/Backward (AttentionTiled.swift): saves lse, (B, NH, T) floats
// The tiled pair trades speed for memory: on the CPU recipe's model (2 cores, per-tile sgemm) it
// measured (roughly, on a busy machine) as fast at T ≤ 256 and 0.6–0.8× the step throughput from
// T = 512 on, while its peak RSS stays flat (392 against 4,487 MiB at T = 8192). So it is chosen
// only where the probabilities get large: from `tiledFromT` on, or when one call's probabilities
// would pass `materializedLimitBytes`.

public enum AttentionMethod: String, CaseIterable, Sendable {
    case materialized
    case tiled

    /// Sequence lengths from which the tiled kernels are used.
    public static let tiledFromT = 4096
    /// Bytes of probabilities one materialized call may save (per layer); above it the tiled kernels
    /// are used at any T.
    public static let materializedLimitBytes = 256 << 20

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
