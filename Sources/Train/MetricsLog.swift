// RUN/metrics.jsonl: one JSON object per logged step and per evaluation, appended as the run goes;
// a resumed run first drops the lines after the step it resumes from, so the file reads as one run.
import Foundation

/// Appends one JSON object per line to RUN/metrics.jsonl.
public final class MetricsLog {
    private let handle: FileHandle
    public let url: URL

    public init(url: URL) throws {
        self.url = url
        if !FileManager.default.fileExists(atPath: url.path) {
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                throw TrainingError(source: url.path, message: "cannot create the metrics file")
            }
        }
        handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
    }

    public func append(_ object: [String: Any]) {
        guard let data = try? JSONSerialization.data(withJSONObject: Self.finite(object), options: [.sortedKeys])
        else { return }
        handle.write(data + Data([0x0A]))
    }

    /// JSON has no NaN or infinity: such a value is written as null and its key listed under
    /// "nonfinite", so the record is kept and says what went wrong.
    static func finite(_ object: [String: Any]) -> [String: Any] {
        var out = object, bad: [String] = []
        for (k, v) in object {
            if let d = v as? Double, !d.isFinite { out[k] = NSNull(); bad.append(k) }
            if let f = v as? Float, !f.isFinite { out[k] = NSNull(); bad.append(k) }
        }
        if !bad.isEmpty { out["nonfinite"] = bad.sorted() }
        return out
    }

    /// Drops lines whose "step" is greater than `step` (a resumed run rewrites what it repeats).
    public static func truncate(url: URL, afterStep step: Int) throws {
        guard let data = FileManager.default.contents(atPath: url.path) else { return }
        let kept = String(decoding: data, as: UTF8.self)
            .split(separator: "\n", omittingEmptySubsequences: true)
            .filter { line in
                guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      let s = obj["step"] as? Int else { return true }
                return s <= step
            }
        let text = kept.joined(separator: "\n") + (kept.isEmpty ? "" : "\n")
        try Data(text.utf8).write(to: url, options: .atomic)
    }

    deinit { try? handle.close() }
}
