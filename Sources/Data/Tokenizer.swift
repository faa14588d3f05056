// The tokenizer interface shared by the character-level, trained byte-level BPE and GPT-2 tokenizers,
// and their one serialised form: tokenizer.json, a JSON object whose "type" field ("char", "bpe",
// "gpt2") selects the concrete type. The same JSON sits beside prepared data and inside checkpoints.
import Foundation

public protocol Tokenizer: AnyObject, Sendable {
    /// The "type" field of tokenizer.json.
    var type: String { get }
    /// Number of token ids: every id is in 0..<vocabSize.
    var vocabSize: Int { get }
    /// Named special tokens such as "<|endoftext|>".
    var specialTokens: [String: Int32] { get }
    /// The end-of-text token that separates documents, if the tokenizer has one.
    var eotToken: Int32? { get }

    /// Encodes ordinary text: special-token names in `text` are encoded as plain text (as tiktoken's
    /// encode_ordinary). The character tokenizer drops characters outside its vocabulary; use
    /// `encodeChecked` on user input to get an error instead.
    func encode(_ text: String) -> [Int32]
    /// Encodes `text`, throwing on anything the tokenizer cannot represent.
    func encodeChecked(_ text: String) throws -> [Int32]
    /// The UTF-8 bytes of `ids` concatenated. Ids outside the vocabulary decode to U+FFFD.
    func decodeBytes(_ ids: [Int32]) -> [UInt8]
    /// The text of `ids`; byte sequences that are not valid UTF-8 become U+FFFD.
    func decode(_ ids: [Int32]) -> String
    /// The JSON object written to tokenizer.json (must include "type").
    func jsonObject() -> [String: Any]
}

extension Tokenizer {
    public func encodeChecked(_ text: String) throws -> [Int32] { encode(text) }

    public func decode(_ ids: [Int32]) -> String {
        String(decoding: decodeBytes(ids), as: UTF8.self)
    }

    /// Throws if any id is outside 0..<vocabSize; `source` names where the ids came from.
    public func checkIds(_ ids: [Int32], source: String) throws {
        let v = Int32(clamping: vocabSize)
        for (i, id) in ids.enumerated() where id < 0 || id >= v {
            throw DataError.tokenOutOfRange(path: source, index: i, token: Int64(id), vocabSize: vocabSize)
        }
    }

    /// tokenizer.json bytes (sorted keys, so the same tokenizer always serialises identically).
    public func serialized() throws -> Foundation.Data {
        try JSONSerialization.data(withJSONObject: jsonObject(), options: [.sortedKeys])
    }

    /// Writes tokenizer.json atomically (temporary file, then rename).
    public func save(to url: URL) throws {
        try AtomicFile.write(try serialized(), to: url)
    }
}

/// Reads tokenizer.json and returns the concrete tokenizer its "type" field names.
public enum TokenizerLoader {
    public static func load(_ url: URL) throws -> any Tokenizer {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw DataError.missingFile(path: url.path, what: "tokenizer file")
        }
        try RegularFile.require(url.path, what: "tokenizer file")
        let data: Foundation.Data
        do { data = try Foundation.Data(contentsOf: url) } catch {
            throw DataError.badTokenizerFile(path: url.path, problem: "cannot read: \(error.localizedDescription)")
        }
        return try decode(data, source: url.path)
    }

    /// Builds a tokenizer from tokenizer.json bytes; `source` names them in errors (a path, or
    /// "checkpoint state.json").
    public static func decode(_ data: Foundation.Data, source: String) throws -> any Tokenizer {
        let object: [String: Any]
        do {
            guard let o = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw DataError.badTokenizerFile(path: source, problem: "expected a JSON object")
            }
            object = o
        } catch let e as DataError { throw e } catch {
            throw DataError.badTokenizerFile(path: source, problem: "not valid JSON")
        }
        return try decode(object, source: source)
    }

    public static func decode(_ object: [String: Any], source: String) throws -> any Tokenizer {
        guard let type = object["type"] as? String else {
            throw DataError.badTokenizerFile(path: source,
                                             problem: "missing string field \"type\" (expected \"char\", \"bpe\" or "
                                                      + "\"gpt2\")")
        }
        switch type {
        case CharTokenizer.typeName: return try CharTokenizer(jsonObject: object, source: source)
        case BytePairTokenizer.trainedTypeName, BytePairTokenizer.gpt2TypeName:
            return try BytePairTokenizer(jsonObject: object, source: source)
        default:
            throw DataError.badTokenizerFile(path: source,
                                             problem: "unknown tokenizer type \"\(type)\" (expected \"char\", \"bpe\" "
                                                      + "or \"gpt2\")")
        }
    }
}

/// Whole-file writes that never leave a partly written file under the final name.
public enum AtomicFile {
    public static func write(_ data: Foundation.Data, to url: URL) throws {
        let tmp = url.deletingLastPathComponent()
            .appendingPathComponent("." + url.lastPathComponent + ".partial")
        do {
            try data.write(to: tmp)
        } catch {
            throw DataError.io(path: tmp.path, operation: "write", errno: errno == 0 ? EIO : errno)
        }
        try rename(tmp, to: url)
    }

    /// rename(2): atomic replacement within one file system.
    public static func rename(_ from: URL, to: URL) throws {
        if Foundation.rename(from.path, to.path) != 0 {
            throw DataError.io(path: to.path, operation: "rename \(from.lastPathComponent) to", errno: errno)
        }
    }
}
