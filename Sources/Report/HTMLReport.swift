// The run report: one self-contained HTML page (inline CSS and SVG, no scripts, fonts or images
// fetched) with a header per run, the effective configs side by side (keys that differ highlighted),
// loss curves against step and wall time, optimisation and speed curves, fine-tuning dev metrics and
// the best evaluation's confusion matrix.
import Foundation

public struct HTMLReport {
    public var runs: [RunRecord]
    public var yScale: AxisScale
    /// Written in the page's footer (nil leaves it out, for reproducible output).
    public var generated: Date?

    public init(runs: [RunRecord], yScale: AxisScale = .linear, generated: Date? = Date()) {
        self.runs = runs; self.yScale = yScale; self.generated = generated
    }

    public func html() -> String {
        let title = runs.count == 1 ? "Run report: \(runs[0].name)" : "Run report: \(runs.count) runs"
        var page = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
            <title>\(escapeHTML(title))</title>
            <style>\(Self.css)</style>
            </head><body>
            <h1>\(escapeHTML(title))</h1>

            """
        page += runTable()
        page += section("Loss", lossCharts())
        page += section("Optimisation", [
            chart("Learning rate", "step", key: "lr", scale: .linear),
            chart("Gradient norm (before clipping)", "step", key: "grad_norm", scale: yScale),
        ])
        page += section("Speed", [
            chart("Tokens per second", "step", key: "tokens_per_s", scale: .linear),
            chart("Step time (ms)", "step", key: "ms", scale: .linear),
        ])
        page += section("Dev metrics", [
            evalChart("Dev accuracy", key: "accuracy"), evalChart("Dev macro-F1", key: "macro_f1"),
            evalChart("Dev exact match", key: "exact_match"),
        ])
        page += confusionTables()
        page += configTable()
        if let g = generated {
            let f = ISO8601DateFormatter()
            page += "<p class=\"foot\">Made by tinygpt report at \(f.string(from: g)) from "
                + runs.map { escapeHTML($0.directory.path + "/metrics.jsonl") }.joined(separator: ", ") + ".</p>\n"
        }
        return page + "</body></html>\n"
    }

    // MARK: Header

    func runTable() -> String {
        var s = "<table class=\"runs\"><tr><th></th><th>run</th><th>kind</th><th>parameters</th><th>tokenizer</th>"
            + "<th>threads</th><th>steps</th><th>time</th><th>best</th><th>final</th></tr>\n"
        for (i, run) in runs.enumerated() {
            let color = reportPalette[i % reportPalette.count]
            let params = run.parameterCount.map { String(format: "%.2fM", Double($0) / 1e6) } ?? "?"
            let lastStep = run.records.map(\.step).max() ?? 0
            let (best, final) = bestAndFinal(run)
            var notes: [String] = []
            let skipped = run.steps.filter { $0.values["skipped"] == 1 }.count
            if skipped > 0 { notes.append("\(skipped) skipped update\(skipped == 1 ? "" : "s")") }
            let nonfinite = run.records.filter { !$0.missing.isEmpty }.count
            if nonfinite > 0 { notes.append("\(nonfinite) record\(nonfinite == 1 ? "" : "s") with non-finite values") }
            if run.unreadableLines > 0 { notes.append("\(run.unreadableLines) unreadable line(s)") }
            s += "<tr><td><span class=\"swatch\" style=\"background:\(color)\"></span></td>"
                + "<td><b>\(escapeHTML(run.name))</b><br><span " +
                        "class=\"path\">\(escapeHTML(run.directory.relativePath))</span>"
                + (notes.isEmpty ? "" : "<br><span class=\"warn\">\(notes.joined(separator: "; "))</span>") + "</td>"
                + "<td>\(escapeHTML(run.kind ?? (run.isFinetune ? "finetune" : "pretrain")))</td><td>\(params)</td>"
                + "<td>\(escapeHTML(run.tokenizer ?? "?"))</td><td>\(run.threads.map(String.init) ?? "?")</td>"
                + "<td>\(lastStep)</td><td>\(Self.duration(run.totalSeconds))</td>"
                + "<td>\(escapeHTML(best))</td><td>\(escapeHTML(final))</td></tr>\n"
        }
        return s + "</table>\n<p class=\"note\">Time adds the logged step and evaluation durations "
            + "(checkpoint writing not included).</p>\n"
    }

    /// "val loss 1.903 (step 2000)" for the best and the last evaluation.
    func bestAndFinal(_ run: RunRecord) -> (String, String) {
        let key = run.isFinetune ? (run.evals.last?.values["accuracy"] != nil ? "accuracy"
            : run.evals.last?.values["exact_match"] != nil ? "exact_match" : "dev_loss") : "val_loss"
        let name = key.replacingOccurrences(of: "_", with: " ")
        func text(_ r: MetricRecord?) -> String {
            guard let r, let v = r.values[key] else { return "–" }
            return String(format: "%@ %.4f (step %d)", name, v, r.step)
        }
        let best: MetricRecord?
        if let marked = run.evals.last(where: { $0.isBest }) { best = marked } else {
            let valued = run.evals.filter { $0.values[key] != nil }
            best = key == "val_loss" || key == "dev_loss" ? valued.min { $0.values[key]! < $1.values[key]! }
                : valued.max { $0.values[key]! < $1.values[key]! }
        }
        return (text(best), text(run.evals.last))
    }

    func configTable() -> String {
        let keys = Set(runs.flatMap { $0.config.keys }).sorted()
        guard !keys.isEmpty else { return "<p class=\"note\">No checkpoint yet, so no effective config.</p>\n" }
        let differing = keys.filter { k in Set(runs.map { $0.config[k] ?? "–" }).count > 1 }
        var s = "<h2>Effective config</h2>\n<details open><summary>From each run's latest checkpoint"
            + (runs.count > 1 ? " (\(differing.count) key\(differing.count == 1 ? "" : "s") differ, highlighted)" : "")
            + "</summary><table class=\"config\"><tr><th>key</th>"
            + runs.map { "<th>\(escapeHTML($0.name))</th>" }.joined() + "</tr>\n"
        for k in keys {
            let diff = differing.contains(k)
            s += "<tr\(diff ? " class=\"diff\"" : "")><td>\(escapeHTML(k))</td>"
                + runs.map { "<td>\(escapeHTML($0.config[k] ?? "–"))</td>" }.joined() + "</tr>\n"
        }
        return s + "</table></details>\n"
    }

    // MARK: Charts

    func lossCharts() -> [LineChart] {
        var byStep: [Series] = [], byTime: [Series] = []
        let many = runs.count > 1
        for (i, run) in runs.enumerated() {
            let prefix = many ? run.name + " " : ""
            let steps = run.steps, evals = run.evals
            let evalKeys = run.isFinetune ? [("dev_loss", "dev")]
                                          : [("val_loss", "val"), ("train_loss", "train (eval)")]
            for (useTime, into) in [(false, 0), (true, 1)] {
                let x = steps.map { useTime ? $0.elapsed : Double($0.step) }
                // A fine-tune's step loss is task + λ·LM; its task part is what the dev loss measures.
                let hasTask = steps.contains { $0["task_loss"] != nil }
                var list = [Series(name: prefix + (hasTask ? "train (task + λ·LM)" : "train"), color: i, x: x,
                                   y: steps.map { $0["loss"] }, scale: yScale)]
                if hasTask {
                    list.append(Series(name: prefix + "train (task)", color: i, markers: true, x: x,
                                       y: steps.map { $0["task_loss"] }, scale: yScale))
                }
                for (key, label) in evalKeys
                where evals.contains(where: { $0[key] != nil || $0.missing.contains(key) }) {
                    if key == "train_loss" && many { continue }
                    list.append(Series(name: prefix + label, color: i, dashed: true, markers: true,
                                       x: evals.map { useTime ? $0.elapsed : Double($0.step) },
                                       y: evals.map { $0[key] }, scale: yScale))
                }
                if into == 0 { byStep += list } else { byTime += list }
            }
        }
        return [LineChart(title: "Loss against step", xLabel: "step", series: byStep, yScale: yScale),
                LineChart(title: "Loss against wall time", xLabel: "seconds", series: byTime, yScale: yScale)]
    }

    func chart(_ title: String, _ xLabel: String, key: String, scale: AxisScale) -> LineChart {
        let series = runs.enumerated().map { i, run in
            let steps = run.steps.filter { $0[key] != nil || $0.missing.contains(key) }
            return Series(name: run.name, color: i, x: steps.map { Double($0.step) }, y: steps.map { $0[key] },
                          scale: scale)
        }
        return LineChart(title: title, xLabel: xLabel, series: series, yScale: scale)
    }

    func evalChart(_ title: String, key: String) -> LineChart {
        let series = runs.enumerated().map { i, run in
            let evals = run.evals.filter { $0[key] != nil || $0.missing.contains(key) }
            return Series(name: run.name, color: i, dashed: true, markers: true, x: evals.map { Double($0.step) },
                          y: evals.map { $0[key] })
        }
        return LineChart(title: title, xLabel: "step", series: series)
    }

    func section(_ title: String, _ charts: [LineChart]) -> String {
        let drawn = charts.filter { !$0.isEmpty }
        guard !drawn.isEmpty else { return "" }
        return "<h2>\(escapeHTML(title))</h2>\n<div class=\"charts\">\n"
            + drawn.map { "<figure>" + $0.svg() + "</figure>\n" }.joined() + "</div>\n"
    }

    // MARK: Confusion matrices

    func confusionTables() -> String {
        var s = ""
        for run in runs {
            guard let e = run.evals.last(where: { $0.isBest && $0.confusion != nil })
                    ?? run.evals.last(where: { $0.confusion != nil }),
                  let m = e.confusion else { continue }
            let labels = e.labels ?? m.indices.map(String.init)
            let peak = max(1, m.flatMap { $0 }.max() ?? 1)
            s += "<h3>Confusion matrix: \(escapeHTML(run.name)), step \(e.step)\(e.isBest ? " (best)" : "")</h3>\n"
                + "<table class=\"confusion\"><tr><th>true \\ predicted</th>"
                + labels.map { "<th>\(escapeHTML($0))</th>" }.joined() + "</tr>\n"
            for (r, row) in m.enumerated() {
                s += "<tr><th>\(escapeHTML(r < labels.count ? labels[r] : String(r)))</th>"
                for (c, n) in row.enumerated() {
                    let shade = Double(n) / Double(peak)
                    let ink = shade > 0.55 ? "#fff" : "#000"
                    let bg = r == c ? String(format: "rgba(0,114,178,%.2f)", shade)
                        : String(format: "rgba(213,94,0,%.2f)", shade)
                    s += "<td style=\"background:\(bg);color:\(ink)\">\(n)</td>"
                }
                s += "</tr>\n"
            }
            s += "</table>\n"
        }
        return s.isEmpty ? "" : "<h2>Best evaluation</h2>\n" + s
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds > 0 else { return "–" }
        let s = Int(seconds.rounded())
        if s >= 3600 { return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) }
        if s >= 60 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return String(format: "%.1fs", seconds)
    }

    static let css = """
        body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#222;max-width:1280px}
        h1{font-size:20px}h2{font-size:17px;margin-top:28px}h3{font-size:15px}
        table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #ddd;padding:3px 8px;text-align:left}
        th{background:#f4f4f4}.swatch{display:inline-block;width:14px;height:14px;border-radius:3px}
        .path,.note,.foot{color:#666;font-size:12px}.warn{color:#b00020}
        tr.diff td{background:#fff3c4;font-weight:600}
        .config td{font-family:ui-monospace,Menlo,monospace;font-size:12px}
        .confusion td{text-align:right;min-width:48px;font-variant-numeric:tabular-nums}
        .charts{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0;border:1px solid #eee;padding:4px}
        svg text{font-family:system-ui,sans-serif}svg .title{font-size:13px;font-weight:600}
        svg .tick,svg .legend{font-size:11px;fill:#333}svg .axis{font-size:12px;fill:#333}
        svg .warn{font-size:11px;fill:#b00020}svg .grid{stroke:#e6e6e6;stroke-width:1}
        svg .frame{fill:none;stroke:#999}svg .skipped{fill:#d00}
        """
}
