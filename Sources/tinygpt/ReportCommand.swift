// `tinygpt report`: one self-contained HTML page (or a tidy CSV) of one or more runs' metrics.jsonl.
import ArgumentParser
import Foundation
import Report

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Draw one or more runs' learning curves and metrics as an HTML page (or a CSV table).",
        discussion: """
            The HTML page is self-contained (inline SVG, no scripts, opens offline): loss against step and \
            against wall time with the runs overlaid, learning rate, gradient norm, tokens/s and step time, \
            fine-tuning dev metrics and the best evaluation's confusion matrix, and each run's effective \
            config with the keys that differ between runs highlighted. The default --out is RUN/report.html \
            for one run (pretrain and finetune also keep it up to date at every evaluation) and \
            report.html in the current directory for several; an existing file is only replaced when it \
            is that RUN/report.html or was named with --out. --format csv writes one tidy table \
            (run,type,step,metric,value) to --out or to standard output.
            Example: tinygpt report checkpoints/cpu checkpoints/cpu-seed2 --out seeds.html --log-scale
            """)

    enum Format: String, CaseIterable, ExpressibleByArgument { case html, csv }

    @Argument(help: "Run directories (each holds metrics.jsonl).") var runs: [String]
    @Option(name: .long, help: "Output file (default: RUN/report.html for one run, ./report.html for several).")
    var out: String?
    @Flag(name: .customLong("log-scale"), help: "Logarithmic y axis for the losses and the gradient norm.")
    var logScale = false
    @Option(name: .long, help: "html or csv.") var format: Format = .html

    func validate() throws {
        if runs.isEmpty { throw ValidationError("give at least one run directory") }
    }

    func run() throws {
        try runReportingErrors {
            let records = try loadRuns(runs)
            switch format {
            case .csv:
                let text = TidyCSV.csv(records)
                if let out { try write(text, to: out) } else { Terminal.raw(text) }
            case .html:
                let page = HTMLReport(runs: records, yScale: logScale ? .log : .linear).html()
                let path: String
                if let out {
                    path = out
                } else if runs.count == 1 {
                    path = URL(fileURLWithPath: runs[0]).appendingPathComponent("report.html").path
                } else {
                    path = "report.html"
                    if FileManager.default.fileExists(atPath: path) {
                        throw ValidationError("report.html already exists here; name the file to write with --out")
                    }
                }
                try write(page, to: path)
                Terminal.line("wrote \(path) (open it in a browser)")
            }
        }
    }

    func write(_ text: String, to path: String) throws {
        do { try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw ValidationError("\(path): cannot write (\(error.localizedDescription))")
        }
    }
}

/// Loads run directories, naming each by its folder (by its path when two folders share a name).
func loadRuns(_ paths: [String]) throws -> [RunRecord] {
    let names = paths.map { URL(fileURLWithPath: $0).standardizedFileURL.lastPathComponent }
    return try paths.enumerated().map { i, p in
        let clash = names.filter { $0 == names[i] }.count > 1
        return try RunRecord.load(path: p, name: clash ? p : names[i])
    }
}
