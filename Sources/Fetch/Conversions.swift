// The conversions from the files the sources publish to the JSONL rows the tasks read, written
// exactly as Python's json.dumps(row, ensure_ascii=False) writes them (", " and ": " separators,
// keys in the order given, only `"`, `\` and control characters escaped), so that the result is
// byte-for-byte the JSONL in ../shared/data:
//   sst2      SentEval's `sentence <TAB> label` lines -> {"text": sentence stripped, "label": int}
//   alpaca2k  the 2,000-entry JSON array -> first 1,800 train, last 200 dev; {"prompt": instruction,
//             or instruction + "\n\n" + input when input is non-empty, "completion": output}, all stripped
//   gsm8k     {"question", "answer"} lines -> {"prompt": question, "completion": answer}, unchanged
// "Stripped" is Python's str.strip(): Unicode white space plus U+001C...U+001F.
import Foundation

public enum Conversion: String, Sendable, Equatable {
    case none, sst2, alpaca2k, gsm8k

    /// (source files read, relative to the entry's folder) -> converted files written.
    public var plan: [(inputs: [String], output: String)] {
        switch self {
        case .none: return []
        case .sst2: return [(["orig/sentiment-train"], "train.jsonl"), (["orig/sentiment-dev"], "dev.jsonl")]
        case .alpaca2k: return [(["orig/alpaca_small.json"], "train.jsonl"), (["orig/alpaca_small.json"], "dev.jsonl")]
        case .gsm8k: return [(["orig/train.jsonl"], "train.jsonl"), (["orig/test.jsonl"], "test.jsonl")]
        }
    }

    /// The bytes of `output` converted from the source file at `input`.
    public func convert(_ input: URL, output: String) throws -> [UInt8] {
        guard let data = try? Foundation.Data(contentsOf: input) else {
            throw FetchError.io(path: input.path, problem: "cannot read")
        }
        switch self {
        case .none: return Array(data)
        case .sst2: return try Self.sst2(data, path: input.path)
        case .alpaca2k: return try Self.alpaca(data, path: input.path, dev: output == "dev.jsonl")
        case .gsm8k: return try Self.gsm8k(data, path: input.path)
        }
    }

    static func sst2(_ data: Foundation.Data, path: String) throws -> [UInt8] {
        guard let text = String(data: data, encoding: .utf8) else {
            throw FetchError.badSource(path: path, problem: "not UTF-8")
        }
        var out = [UInt8]()
        var lineNumber = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.isEmpty { continue }
            guard let tab = line.lastIndex(of: "\t"),
                  let label = Int(pythonStrip(line[line.index(after: tab)...])), label == 0 || label == 1 else {
                throw FetchError.badSource(path: path, problem: "line \(lineNumber) is not \"sentence<TAB>0|1\"")
            }
            JSONLine.object([("text", .string(pythonStrip(line[..<tab]))), ("label", .int(label))], into: &out)
        }
        return out
    }

    private struct AlpacaEntry: Decodable { var instruction: String; var input: String; var output: String }
    static let alpacaTrainCount = 1800

    static func alpaca(_ data: Foundation.Data, path: String, dev: Bool) throws -> [UInt8] {
        let entries: [AlpacaEntry]
        do { entries = try JSONDecoder().decode([AlpacaEntry].self, from: data) } catch {
            throw FetchError.badSource(path: path, problem: "not a JSON array of {instruction, input, output}")
        }
        guard entries.count > alpacaTrainCount else {
            throw FetchError.badSource(path: path, problem: "\(entries.count) entries, expected more than " +
                    "\(alpacaTrainCount)")
        }
        var out = [UInt8]()
        for e in dev ? entries[alpacaTrainCount...] : entries[..<alpacaTrainCount] {
            let instruction = pythonStrip(e.instruction[...]), input = pythonStrip(e.input[...])
            let prompt = input.isEmpty ? instruction : instruction + "\n\n" + input
            JSONLine.object([("prompt", .string(prompt)), ("completion", .string(pythonStrip(e.output[...])))],
                            into: &out)
        }
        return out
    }

    private struct GSM8KEntry: Decodable { var question: String; var answer: String }

    static func gsm8k(_ data: Foundation.Data, path: String) throws -> [UInt8] {
        var out = [UInt8]()
        var lineNumber = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.isEmpty { continue }
            guard let e = try? JSONDecoder().decode(GSM8KEntry.self, from: Foundation.Data(line)) else {
                throw FetchError.badSource(path: path, problem: "line \(lineNumber) is not {\"question\", \"answer\"}")
            }
            JSONLine.object([("prompt", .string(e.question)), ("completion", .string(e.answer))], into: &out)
        }
        return out
    }

    /// Python's str.strip() with no argument.
    static func pythonStrip(_ s: Substring) -> String {
        func isSpace(_ c: Unicode.Scalar) -> Bool {
            c.properties.isWhitespace || (0x1C...0x1F).contains(c.value)
        }
        let scalars = s.unicodeScalars
        guard let first = scalars.firstIndex(where: { !isSpace($0) }),
              let last = scalars.lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(String.UnicodeScalarView(scalars[first...last]))
    }
}

/// One JSONL line in Python's json.dumps(obj, ensure_ascii=False) layout.
enum JSONLine {
    enum Value { case string(String), int(Int) }

    static func object(_ fields: [(String, Value)], into out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        for (i, (key, value)) in fields.enumerated() {
            if i > 0 { out.append(contentsOf: Array(", ".utf8)) }
            string(key, into: &out)
            out.append(contentsOf: Array(": ".utf8))
            switch value {
            case .string(let s): string(s, into: &out)
            case .int(let n): out.append(contentsOf: Array(String(n).utf8))
            }
        }
        out.append(contentsOf: Array("}\n".utf8))
    }

    static func string(_ s: String, into out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: Array("\\\"".utf8))
            case UInt8(ascii: "\\"): out.append(contentsOf: Array("\\\\".utf8))
            case 0x0A: out.append(contentsOf: Array("\\n".utf8))
            case 0x0D: out.append(contentsOf: Array("\\r".utf8))
            case 0x09: out.append(contentsOf: Array("\\t".utf8))
            case 0x08: out.append(contentsOf: Array("\\b".utf8))
            case 0x0C: out.append(contentsOf: Array("\\f".utf8))
            case 0x00..<0x20:
                out.append(contentsOf: Array("\\u00".utf8))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
