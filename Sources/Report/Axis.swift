// Chart axes: "nice" tick values (steps of 1, 2 or 5 times a power of ten) on a linear or a
// logarithmic scale, and series cleaned for plotting (null, NaN, infinite values, and values ≤ 0 on a
// log scale, are dropped but remembered so a chart can flag where they were).
import Foundation

public enum AxisScale: String, Sendable {
    case linear, log
}

/// One axis: the value range it spans, its tick values, and the mapping of a value to [0, 1].
public struct Axis: Equatable, Sendable {
    public let lower: Double
    public let upper: Double
    public let ticks: [Double]
    public let scale: AxisScale

    /// An axis covering `values` (non-finite values, and values ≤ 0 on a log scale, are ignored).
    /// No usable value gives [0, 1] (linear) or [1, 10] (log); a single value gets a range around it.
    public init(covering values: [Double], scale: AxisScale = .linear, targetTicks: Int = 5) {
        self.scale = scale
        let usable = values.filter { $0.isFinite && (scale == .linear || $0 > 0) }
        switch scale {
        case .linear:
            var lo = usable.min() ?? 0, hi = usable.max() ?? 1
            if lo == hi {
                let pad = lo == 0 ? 1 : abs(lo) * 0.1
                lo -= pad; hi += pad
            }
            let step = Axis.niceStep(range: hi - lo, targetTicks: targetTicks)
            let first = (lo / step).rounded(.down), last = (hi / step).rounded(.up)
            lower = first * step
            upper = last * step
            ticks = stride(from: first, through: last + 0.5, by: 1).map { Axis.clean($0 * step, step: step) }
        case .log:
            var lo = usable.min() ?? 1, hi = usable.max() ?? 10
            if lo == hi { lo /= 2; hi *= 2 }
            let candidates = Axis.logCandidates(from: lo, to: hi)
            // The coarsest family (decades, then 1-3, then 1-2-5) that puts at least 3 ticks inside.
            var chosen = candidates[0]
            for c in candidates {
                chosen = c
                if c.filter({ $0 >= lo && $0 <= hi }).count >= 3 { break }
            }
            let l = chosen.last(where: { $0 <= lo }) ?? lo, u = chosen.first(where: { $0 >= hi }) ?? hi
            lower = l
            upper = u
            ticks = chosen.filter { $0 >= l && $0 <= u }
        }
    }

    /// Where `value` falls on the axis, 0 at `lower` and 1 at `upper`; nil when it cannot be placed
    /// (not finite, or ≤ 0 on a log scale).
    public func position(_ value: Double) -> Double? {
        guard value.isFinite else { return nil }
        switch scale {
        case .linear:
            return upper == lower ? 0.5 : (value - lower) / (upper - lower)
        case .log:
            guard value > 0 else { return nil }
            return upper == lower ? 0.5 : (log10(value) - log10(lower)) / (log10(upper) - log10(lower))
        }
    }

    /// The tick spacing for a range: 1, 2 or 5 times a power of ten, about range / targetTicks.
    public static func niceStep(range: Double, targetTicks: Int = 5) -> Double {
        guard range > 0, range.isFinite else { return 1 }
        let raw = range / Double(max(1, targetTicks))
        let power = pow(10, (log10(raw)).rounded(.down))
        let fraction = raw / power
        let nice: Double = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10
        return nice * power
    }

    /// A tick label short enough for an axis: 0.001, 2.5, 1200, 3e-05, 1.5e+06.
    public static func label(_ v: Double) -> String {
        if v == 0 { return "0" }
        let a = abs(v)
        if a >= 1e5 || a < 1e-3 { return String(format: "%.3g", v) }
        var s = String(format: "%.4f", v)
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s
    }

    /// Removes the floating-point residue of step multiplication (0.30000000000000004 → 0.3).
    private static func clean(_ v: Double, step: Double) -> Double {
        let digits = max(0, -Int((log10(step)).rounded(.down)) + 1)
        let scale = pow(10, Double(digits))
        return (v * scale).rounded() / scale
    }

    /// Tick families on a log scale covering [lo, hi], coarsest first.
    private static func logCandidates(from lo: Double, to hi: Double) -> [[Double]] {
        let first = Int((log10(lo)).rounded(.down)), last = Int((log10(hi)).rounded(.up))
        func family(_ mantissas: [Double]) -> [Double] {
            (first...last).flatMap { e in mantissas.map { $0 * pow(10, Double(e)) } }
        }
        return [family([1]), family([1, 3]), family([1, 2, 5]), family([1, 1.5, 2, 3, 4, 5, 6, 7, 8, 9])]
    }
}

/// A series ready to plot: the points with a usable value, and the x positions of those without one.
public struct Series: Sendable {
    public struct Point: Equatable, Sendable {
        public var x: Double
        public var y: Double
        public init(x: Double, y: Double) { self.x = x; self.y = y }
    }

    public var name: String
    /// Index into the chart palette (one colour per run).
    public var color: Int
    /// Dashed lines for evaluations, solid for per-step values.
    public var dashed: Bool
    /// Draw a marker at each point (sparse series such as evaluations).
    public var markers: Bool
    public var points: [Point]
    /// x positions whose value was null, NaN or infinite (or ≤ 0 on a log scale).
    public var skippedX: [Double]

    /// Pairs x with y, keeping the finite values (positive ones when `scale` is log).
    public init(name: String, color: Int = 0, dashed: Bool = false, markers: Bool = false,
                x: [Double], y: [Double?], scale: AxisScale = .linear) {
        self.name = name
        self.color = color
        self.dashed = dashed
        self.markers = markers
        var points: [Point] = [], skipped: [Double] = []
        for (xi, yi) in zip(x, y) {
            if let v = yi, v.isFinite, scale == .linear || v > 0, xi.isFinite {
                points.append(Point(x: xi, y: v))
            } else if xi.isFinite {
                skipped.append(xi)
            }
        }
        self.points = points
        skippedX = skipped
    }
}
