// The runs as one tidy table for plotting elsewhere: one row per (run, record type, step, metric),
// header run,type,step,metric,value. Null (non-finite when logged) values have an empty value cell;
// booleans are 1 or 0; confusion matrices become confusion[true][predicted] rows; elapsed_s is the
// estimated wall time since the run started.
import Foundation

public enum TidyCSV {
    public static let header = "run,type,step,metric,value"

    public static func csv(_ runs: [RunRecord]) -> String {
        var lines = [header]
        for run in runs {
            let name = field(run.name)
            for r in run.records {
                let prefix = "\(name),\(r.kind.rawValue),\(r.step),"
                var cells = r.values.map { ($0.key, number($0.value)) } + r.missing.map { ($0, "") }
                cells.append(("elapsed_s", number(r.elapsed)))
                if let m = r.confusion {
                    let labels = r.labels ?? m.indices.map(String.init)
                    for (t, row) in m.enumerated() {
                        for (p, n) in row.enumerated() {
                            let tl = t < labels.count ? labels[t] : String(t)
                            let pl = p < labels.count ? labels[p] : String(p)
                            cells.append(("confusion[\(tl)][\(pl)]", String(n)))
                        }
                    }
                }
                for (k, v) in cells.sorted(by: { $0.0 < $1.0 }) { lines.append(prefix + field(k) + "," + v) }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled.
    public static func field(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Shortest text that reads back as the same Double; integers without ".0".
    static func number(_ v: Double) -> String {
        guard v.isFinite else { return "" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }
}
