// What pretrain and finetune add to their terminal output from Report: RUN/report.html rewritten at
// every evaluation (a browser refresh shows the run so far), and a sparkline of the evaluations at
// the end. Rendering reads metrics.jsonl once per evaluation, never during a step; a failure only
// skips that refresh.
import Foundation
import Report

final class RunReportWriter {
    let runDirectory: URL
    private var values: [Double?] = []
    private var metricName = "val loss"
    private var wrote = false

    init(runDirectory: URL) { self.runDirectory = runDirectory }

    var reportPath: String { runDirectory.appendingPathComponent("report.html").path }

    /// Records an evaluation's headline value and rewrites RUN/report.html.
    func evaluated(_ name: String, _ value: Double) {
        metricName = name
        values.append(value.isFinite ? value : nil)
        guard let run = try? RunRecord.load(path: runDirectory.path) else { return }
        let page = HTMLReport(runs: [run]).html()
        wrote = (try? Data(page.utf8).write(to: URL(fileURLWithPath: reportPath), options: .atomic)) != nil
    }

    /// "val loss ▇▄▂▁ 4.1989 → 2.4527 (4 evaluations); report: RUN/report.html", nil before any evaluation.
    func summary() -> String? {
        guard !values.isEmpty else { return nil }
        func text(_ v: Double??) -> String { (v ?? nil).map { String(format: "%.4f", $0) } ?? "–" }
        var line = "\(metricName) \(Sparkline.line(values)) \(text(values.first)) → \(text(values.last)) "
            + "(\(values.count) evaluation\(values.count == 1 ? "" : "s"))"
        if wrote { line += "; report: \(reportPath)" }
        return line
    }
}
