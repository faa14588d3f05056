// One run directory as the report sees it: the records of RUN/metrics.jsonl ("type": "step" and
// "type": "eval" lines) and what RUN/latest/state.json says about the run (effective config, model,
// tokenizer, threads), plus the parameter count from the checkpoint's safetensors header.
import Foundation

/// A bad RUN argument or an unreadable file, said in one line naming the path.
public struct ReportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// One line of metrics.jsonl.
public struct MetricRecord: Sendable {
    public enum Kind: String, Sendable { case step, eval }
    public var kind: Kind
    public var step: Int
    /// Numeric fields (booleans as 0 or 1), by their metrics.jsonl key.
    public var values: [String: Double]
    /// Keys written as null (non-finite when logged: see "nonfinite").
    public var missing: [String]
    /// Classification evaluations: label names and confusion[true][predicted].
    public var labels: [String]?
    public var confusion: [[Int]]?
    /// Seconds since the run started, estimated from the logged durations (see RunRecord.load).
    public var elapsed: Double

    public var isBest: Bool { values["best"] == 1 }

    /// The value of `key`, nil when absent or null.
    public subscript(key: String) -> Double? { values[key] }
}

/// A run directory loaded for a report.
public struct RunRecord: Sendable {
    public var name: String
    public var directory: URL
    public var records: [MetricRecord]
    /// The effective config, each value as compact JSON text ("0.001", "true", "\"char\"").
    public var config: [String: String]
    /// "pretrain", "finetune-classify", "finetune-generate" (from state.json), nil without a checkpoint.
    public var kind: String?
    public var tokenizer: String?
    public var threads: Int?
    public var parameterCount: Int?
    /// Lines of metrics.jsonl that were not JSON objects with a type and a step (a line cut off by a crash).
    public var unreadableLines: Int

    public var steps: [MetricRecord] { records.filter { $0.kind == .step } }
    public var evals: [MetricRecord] { records.filter { $0.kind == .eval } }
    public var isFinetune: Bool { evals.contains { $0.values["dev_loss"] != nil || $0.values["accuracy"] != nil } }
    public var totalSeconds: Double { records.last?.elapsed ?? 0 }

    /// The evaluation marked best last (the one `best` points at), else the last evaluation.
    public var bestEval: MetricRecord? { evals.last(where: { $0.isBest }) ?? evals.last }

    public init(name: String, directory: URL, records: [MetricRecord], config: [String: String] = [:],
                kind: String? = nil, tokenizer: String? = nil, threads: Int? = nil, parameterCount: Int? = nil,
                unreadableLines: Int = 0) {
        self.name = name; self.directory = directory; self.records = records; self.config = config
        self.kind = kind; self.tokenizer = tokenizer; self.threads = threads; self.parameterCount = parameterCount
        self.unreadableLines = unreadableLines
    }

    /// Loads RUN/metrics.jsonl and, when there is a checkpoint, RUN/latest/state.json.
    public static func load(path: String, name: String? = nil) throws -> RunRecord {
        let dir = URL(fileURLWithPath: path)
        let metrics = dir.appendingPathComponent("metrics.jsonl")
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
            throw ReportError("\(path): no such run directory")
        }
        guard let data = FileManager.default.contents(atPath: metrics.path) else {
            throw ReportError("\(metrics.path): no such file (a run directory written by pretrain or finetune has one)")
        }
        let (records, bad) = parseMetrics(String(decoding: data, as: UTF8.self))
        var run = RunRecord(name: name ?? dir.standardizedFileURL.lastPathComponent, directory: dir,
                            records: records, unreadableLines: bad)
        if let stateDir = latestCheckpoint(in: dir) {
            run.readState(stateDir.appendingPathComponent("state.json"))
            run.parameterCount = safetensorsParameterCount(stateDir.appendingPathComponent("model.safetensors"))
        }
        return run
    }

    /// Parses metrics.jsonl text; the elapsed time adds each logged step's duration once per step
    /// since the previous logged step (log_interval) and each evaluation's duration.
    public static func parseMetrics(_ text: String) -> (records: [MetricRecord], unreadable: Int) {
        var records: [MetricRecord] = [], bad = 0
        var clock = 0.0, lastStep = 0
        for line in text.split(whereSeparator: \.isNewline) where !line.allSatisfy(\.isWhitespace) {
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let type = obj["type"] as? String, let kind = MetricRecord.Kind(rawValue: type),
                  let step = (obj["step"] as? NSNumber)?.intValue else { bad += 1; continue }
            var values: [String: Double] = [:], missing: [String] = []
            for (k, v) in obj where k != "type" && k != "step" {
                if v is NSNull { missing.append(k); continue }
                if !(v is String), let n = v as? NSNumber { values[k] = n.doubleValue }
            }
            let ms = values["ms"] ?? 0
            if kind == .step {
                clock += ms / 1000 * Double(max(1, step - lastStep))
                lastStep = step
            } else {
                clock += ms / 1000
            }
            records.append(MetricRecord(kind: kind, step: step, values: values, missing: missing.sorted(),
                                        labels: obj["labels"] as? [String],
                                        confusion: (obj["confusion"] as? [[NSNumber]])?.map { $0.map(\.intValue) },
                                        elapsed: clock))
        }
        return (records, bad)
    }

    /// RUN/latest, else the last step-NNNNNN directory.
    static func latestCheckpoint(in dir: URL) -> URL? {
        let latest = dir.appendingPathComponent("latest")
        if FileManager.default.fileExists(atPath: latest.appendingPathComponent("state.json").path) { return latest }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { $0.hasPrefix("step-") }.sorted().last
            .map { dir.appendingPathComponent($0) }
            .flatMap { FileManager.default.fileExists(atPath: $0.appendingPathComponent("state.json").path) ? $0 : nil }
    }

    mutating func readState(_ url: URL) {
        guard let data = FileManager.default.contents(atPath: url.path),
              let state = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return }
        kind = state["kind"] as? String
        threads = (state["threads"] as? NSNumber)?.intValue
        tokenizer = (state["tokenizer"] as? [String: Any])?["type"] as? String
        if let v = (state["tokenizer"] as? [String: Any])?["vocab_size"] as? NSNumber, tokenizer != nil {
            tokenizer! += " (\(v.intValue))"
        }
        var flat: [String: String] = [:]
        for (k, v) in (state["model"] as? [String: Any]) ?? [:] { flat[k] = Self.jsonText(v) }
        for (k, v) in (state["config"] as? [String: Any]) ?? [:] { flat[k] = Self.jsonText(v) }
        config = flat
    }

    static func jsonText(_ v: Any) -> String {
        if v is NSNull { return "null" }
        if let s = v as? String { return s }
        if let data = try? JSONSerialization.data(withJSONObject: v, options: [.sortedKeys, .fragmentsAllowed]) {
            return String(decoding: data, as: UTF8.self)
        }
        return "\(v)"
    }

    /// Sum of the tensor sizes in a safetensors header (8-byte little-endian length, then JSON).
    static func safetensorsParameterCount(_ url: URL) -> Int? {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return nil }
        defer { try? handle.close() }
        guard let head = try? handle.read(upToCount: 8), head.count == 8 else { return nil }
        let length = head.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard length < 100_000_000, let json = try? handle.read(upToCount: Int(length)),
              let header = try? JSONSerialization.jsonObject(with: json) as? [String: Any] else { return nil }
        var total = 0
        for (k, v) in header where k != "__metadata__" {
            guard let shape = (v as? [String: Any])?["shape"] as? [NSNumber] else { continue }
            total += shape.reduce(1) { $0 * $1.intValue }
        }
        return total
    }
}
