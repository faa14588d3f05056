import Foundation
import Report
import XCTest

final class ReportOutputTests: XCTestCase {
    static let pretrainLines = """
        {"best":false,"ms":1000,"step":0,"train_loss":4.2,"type":"eval","val_loss":4.19}
        {"grad_norm":3.1,"loss":4.22,"lr":1e-05,"ms":500,"step":1,"tokens_per_s":1500,"type":"step"}
        {"grad_norm":null,"loss":null,"lr":2e-05,"ms":500,"nonfinite":["grad_norm","loss"],"skipped":true,\
        "step":2,"tokens_per_s":1500,"type":"step"}
        {"grad_norm":2.5,"loss":3.9,"lr":3e-05,"ms":250,"step":4,"tokens_per_s":3000,"type":"step"}
        not json
        {"best":true,"ms":1000,"step":4,"train_loss":3.8,"type":"eval","val_loss":3.85}

        """

    static let classifyLines = """
        {"accuracy":0.5,"best":false,"confusion":[[2,8],[5,5]],"dev_loss":0.69,"labels":["neg<>","pos, \\"ok\\""],\
        "macro_f1":0.33,"metric":"accuracy","ms":10,"step":0,"task":"classify","type":"eval"}
        {"grad_norm":1,"lm_loss":0.1,"loss":0.7,"lr":1e-4,"ms":20,"step":2,"task_loss":0.65,"tokens_per_s":100,\
        "type":"step"}
        {"accuracy":0.75,"best":true,"confusion":[[8,2],[3,7]],"dev_loss":0.6,"labels":["neg<>","pos, \\"ok\\""],\
        "macro_f1":0.74,"metric":"accuracy","ms":10,"step":2,"task":"classify","type":"eval"}

        """

    func run(_ name: String, _ text: String) -> RunRecord {
        let (records, bad) = RunRecord.parseMetrics(text)
        return RunRecord(name: name, directory: URL(fileURLWithPath: "/tmp/\(name)"), records: records,
                         config: ["learning_rate": "0.001", "n_layer": name == "b" ? "6" : "4"], unreadableLines: bad)
    }

    func testParsingKeepsNullsAsMissingAndEstimatesWallTime() {
        let r = run("a", Self.pretrainLines)
        XCTAssertEqual(r.records.count, 5)
        XCTAssertEqual(r.unreadableLines, 1)
        XCTAssertEqual(r.steps[1].missing, ["grad_norm", "loss"])
        XCTAssertNil(r.steps[1]["loss"])
        XCTAssertEqual(r.steps[1]["skipped"], 1)
        // 1 s eval + 0.5 + 0.5 + 2 × 0.25 (steps 3 and 4 at the logged step time) + 1 s eval.
        XCTAssertEqual(r.totalSeconds, 3.5, accuracy: 1e-9)
        XCTAssertEqual(r.bestEval?.step, 4)
        XCTAssertFalse(r.isFinetune)
    }

    func testCSVIsOneTidyTableWithEmptyCellsForNulls() {
        let csv = TidyCSV.csv([run("a", Self.pretrainLines)])
        let lines = csv.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines[0], "run,type,step,metric,value")
        XCTAssertTrue(lines.allSatisfy { $0.split(separator: ",", omittingEmptySubsequences: false).count == 5 })
        XCTAssertTrue(lines.contains("a,step,2,loss,"))
        XCTAssertTrue(lines.contains("a,step,1,loss,4.22"))
        XCTAssertTrue(lines.contains("a,step,2,skipped,1"))
        XCTAssertTrue(lines.contains("a,eval,4,val_loss,3.85"))
        XCTAssertTrue(lines.contains("a,eval,4,best,1"))
        XCTAssertTrue(lines.contains("a,eval,0,elapsed_s,1"))
    }

    func testCSVQuotesNamesAndLabelsWithCommasAndQuotes() {
        let csv = TidyCSV.csv([run("run, \"x\"", Self.classifyLines)])
        XCTAssertTrue(csv.contains("\"run, \"\"x\"\"\",eval,2,accuracy,0.75\n"))
        XCTAssertTrue(csv.contains("\"confusion[neg<>][pos, \"\"ok\"\"]\",2\n"))
        XCTAssertEqual(TidyCSV.field("plain"), "plain")
        XCTAssertEqual(TidyCSV.field("a\nb"), "\"a\nb\"")
    }

    func testHTMLEscapesRunNamesAndLabels() {
        let html = HTMLReport(runs: [run("<script>alert('x')</script>", Self.classifyLines)], generated: nil).html()
        XCTAssertFalse(html.contains("<script"))
        XCTAssertTrue(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"))
        XCTAssertTrue(html.contains("<th>neg&lt;&gt;</th>"))
        XCTAssertTrue(html.contains("pos, &quot;ok&quot;"))
        XCTAssertEqual(escapeHTML("a&b<c>\"d'"), "a&amp;b&lt;c&gt;&quot;d&#39;")
    }

    func testFineTuneReportHasDevChartsAndTheBestConfusionMatrix() {
        let html = HTMLReport(runs: [run("ft", Self.classifyLines)], generated: nil).html()
        XCTAssertTrue(html.contains("Dev accuracy"))
        XCTAssertTrue(html.contains("Confusion matrix: ft, step 2 (best)"))
        XCTAssertTrue(html.contains(">8</td>"))
        XCTAssertTrue(html.contains("accuracy 0.7500 (step 2)"))
        XCTAssertFalse(html.contains("Dev exact match"))
        XCTAssertTrue(html.contains("train (task + λ·LM)"))
        XCTAssertTrue(html.contains("train (task)</text>"))
    }

    func testOverlaidRunsHighlightTheConfigKeysThatDiffer() {
        let html = HTMLReport(runs: [run("a", Self.pretrainLines), run("b", Self.pretrainLines)], generated: nil).html()
        XCTAssertTrue(html.contains("<tr class=\"diff\"><td>n_layer</td><td>4</td><td>6</td></tr>"))
        XCTAssertTrue(html.contains("<tr><td>learning_rate</td>"))
        XCTAssertTrue(html.contains("1 key differ"))
        XCTAssertTrue(html.contains("a val"))
        XCTAssertTrue(html.contains("b val"))
        XCTAssertFalse(html.contains("<script"))
        XCTAssertFalse(html.contains("http://") && !html.contains("http://www.w3.org/2000/svg"))
        // Every chart drawn has something in it.
        for svg in html.components(separatedBy: "<svg").dropFirst() {
            XCTAssertTrue(svg.contains("<polyline") || svg.contains("<circle"))
        }
    }

    func testLoadNamesTheMissingMetricsFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        XCTAssertThrowsError(try RunRecord.load(path: dir.path)) { error in
            XCTAssertTrue("\(error)".contains(dir.appendingPathComponent("metrics.jsonl").path))
        }
        try Data(Self.pretrainLines.utf8).write(to: dir.appendingPathComponent("metrics.jsonl"))
        let r = try RunRecord.load(path: dir.path)
        XCTAssertEqual(r.name, dir.lastPathComponent)
        XCTAssertTrue(r.config.isEmpty)
        XCTAssertNil(r.parameterCount)
    }
}
