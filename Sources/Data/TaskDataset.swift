// Labelled task data for fine-tuning and evaluation, one JSON object per line (JSONL):
//   classification  {"text": "...", "label": "positive" | 1 [, "text_b": "..."]}   (text_b: pair tasks)
//   generation      {"prompt": "...", "completion": "..."}
// Other fields are ignored; blank lines are skipped but still counted, so every error names the file
// and the 1-based line number a text editor shows. Labels may be strings or integers and are kept as
// strings ("1" and 1 are the same label).
import Foundation

/// One classification example.
public struct LabelledRow: Equatable, Sendable {
    public var text: String
    /// The second text of a pair task (entailment, similarity), else nil.
    public var textB: String?
    /// The label as written in the file, integers in decimal ("0", "positive").
    public var label: String
    /// 1-based line number in the file it came from (0 when built in code).
    public var line: Int

    public init(text: String, textB: String? = nil, label: String, line: Int = 0) {
        self.text = text; self.textB = textB; self.label = label; self.line = line
    }
}

/// One instruction-tuning example.
public struct PromptRow: Equatable, Sendable {
    public var prompt: String
    public var completion: String
    /// 1-based line number in the file it came from (0 when built in code).
    public var line: Int

    public init(prompt: String, completion: String, line: Int = 0) {
        self.prompt = prompt; self.completion = completion; self.line = line
    }
}

/// Reads classification rows from a JSONL file. Throws DataError (one line naming the file and line)
/// for a missing or empty file, a line that is not a JSON object, or a row without a string "text"
/// or a string/integer "label".
public func readLabelledRows(_ path: String) throws -> [LabelledRow] {
    try TaskDatasetReader.objects(path).map { line, o in
        let text = try TaskDatasetReader.string(o, "text", path: path, line: line)
        var textB: String? = nil
        if let b = o["text_b"], !(b is NSNull) {
            guard let s = b as? String else {
                throw DataError.badJSONLine(path: path, line: line, problem: "\"text_b\" is not a string")
            }
            textB = s
        }
        guard let raw = o["label"] else {
            throw DataError.badJSONLine(path: path, line: line, problem: "no \"label\" field")
        }
        guard let label = TaskDatasetReader.labelString(raw) else {
            throw DataError.badJSONLine(path: path, line: line, problem: "\"label\" must be a string or an integer")
        }
        return LabelledRow(text: text, textB: textB, label: label, line: line)
    }
}

/// Reads {"prompt", "completion"} rows from a JSONL file, with the same errors as `readLabelledRows`.
public func readPromptRows(_ path: String) throws -> [PromptRow] {
    try TaskDatasetReader.objects(path).map { line, o in
        PromptRow(prompt: try TaskDatasetReader.string(o, "prompt", path: path, line: line),
                  completion: try TaskDatasetReader.string(o, "completion", path: path, line: line),
                  line: line)
    }
}

enum TaskDatasetReader {
    /// The JSON objects of a JSONL file with their line numbers; at least one is required.
    static func objects(_ path: String) throws -> [(Int, [String: Any])] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw DataError.missingFile(path: path, what: "JSONL file")
        }
        if isDirectory.boolValue {
            throw DataError.badOption(flag: path, problem: "is a directory (expected a JSONL file)")
        }
        try RegularFile.require(path, what: "JSONL file")
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataError.io(path: path, operation: "read", errno: errno == 0 ? EIO : errno)
        }
        var out: [(Int, [String: Any])] = []
        var lineNumber = 0
        var start = data.startIndex
        while start < data.endIndex {
            lineNumber += 1
            let end = data[start...].firstIndex(of: 0x0A) ?? data.endIndex
            let line = data[start..<end]
            start = end < data.endIndex ? data.index(after: end) : end
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            guard String(data: Foundation.Data(line), encoding: .utf8) != nil else {
                throw DataError.badJSONLine(path: path, line: lineNumber, problem: "not valid UTF-8")
            }
            let parsed: Any
            do {
                parsed = try JSONSerialization.jsonObject(with: Foundation.Data(line), options: [.fragmentsAllowed])
            } catch {
                throw DataError.badJSONLine(path: path, line: lineNumber, problem: "not valid JSON")
            }
            guard let object = parsed as? [String: Any] else {
                throw DataError.badJSONLine(path: path, line: lineNumber, problem: "expected a JSON object")
            }
            out.append((lineNumber, object))
        }
        if out.isEmpty { throw DataError.emptyInput(path: path) }
        return out
    }

    static func string(_ o: [String: Any], _ key: String, path: String, line: Int) throws -> String {
        guard let v = o[key] else {
            throw DataError.badJSONLine(path: path, line: line, problem: "no \"\(key)\" field")
        }
        guard let s = v as? String else {
            throw DataError.badJSONLine(path: path, line: line, problem: "\"\(key)\" is not a string")
        }
        return s
    }

    /// A string label as is; an integral JSON number in decimal; anything else (booleans, 1.5,
    /// arrays) nil.
    static func labelString(_ v: Any) -> String? {
        if let s = v as? String { return s }
        guard let n = v as? NSNumber, String(cString: n.objCType) != "c" else { return nil }
        let d = n.doubleValue
        guard d.isFinite, d == d.rounded(), let i = Int64(exactly: d) else { return nil }
        return String(i)
    }
}
