// RUN/metrics.jsonl: one JSON object per logged step and per evaluation, appended as the run goes;
// a resumed run first drops the lines after the step it resumes from, so the file reads as one run.
// A write that fails (a full disk) is undone to the end of the last whole line and recorded in
// `failure` as a one-line error, and the log stops there; a resume also drops a torn last line that a
// crash mid-write left behind.
import Foundation

/// Appends one JSON object per line to RUN/metrics.jsonl.
public final class MetricsLog {
    private let handle: FileHandle
    public let url: URL
    /// The first write error, after which nothing more is appended.
    public private(set) var failure: TrainingError?

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
        guard failure == nil,
              let data = try? JSONSerialization.data(withJSONObject: Self.finite(object), options: [.sortedKeys])
        else { return }
        let end = try? handle.offset()
        do { try handle.write(contentsOf: data + Data([0x0A])) } catch {
            failure = TrainingError(source: url.path, message: "cannot append to the metrics log " +
                    "(\(MetricsLog.reason(error))); no further records are written")
            if let end { try? handle.truncate(atOffset: end) }
        }
    }

    static func reason(_ error: Error) -> String {
        let ns = error as NSError
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return ns.localizedDescription
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
        guard var data = FileManager.default.contents(atPath: url.path) else { return }
        // A last line without its newline was cut short by a crash or a full disk: drop it.
        if let last = data.last, last != 0x0A {
            data = data.prefix(upTo: data.lastIndex(of: 0x0A).map { $0 + 1 } ?? data.startIndex)
        }
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
