// A one-line sparkline for the terminal (▁▂▃▄▅▆▇█), e.g. the validation loss at each evaluation.
import Foundation

public enum Sparkline {
    static let bars: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    /// One character per value (averaged into `width` buckets when there are more); a missing or
    /// non-finite value is "·", and all-equal values draw at mid height.
    public static func line(_ values: [Double?], width: Int = 60) -> String {
        guard !values.isEmpty else { return "" }
        var column = values
        if values.count > width {
            column = (0..<width).map { b in
                let lo = b * values.count / width, hi = (b + 1) * values.count / width
                let finite = values[lo..<hi].compactMap { $0 }.filter(\.isFinite)
                return finite.isEmpty ? nil : finite.reduce(0, +) / Double(finite.count)
            }
        }
        let finite = column.compactMap { $0 }.filter(\.isFinite)
        guard let lo = finite.min(), let hi = finite.max() else { return String(repeating: "·", count: column.count) }
        return String(column.map { v -> Character in
            guard let v, v.isFinite else { return "·" }
            if hi == lo { return bars[3] }
            return bars[min(7, Int((v - lo) / (hi - lo) * 7.999))]
        })
    }
}
