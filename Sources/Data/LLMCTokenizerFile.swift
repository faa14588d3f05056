// llm.c's tokenizer file (karpathy/llm.c, llmc/tokenizer.h; written by its train_gpt2.py): the decode
// table only, for printing samples.
//   header   256 little-endian int32: [0] magic 20240328, [1] version (1: GPT-2, end-of-text 50256;
//            2: [3] is the end-of-text id), [2] vocabulary size
//   tokens   per id: one byte n (1...255), then the token's n bytes
// It holds no merges, so it cannot encode: importing checks it against a tokenizer instead.
import Foundation

public enum LLMCTokenizerFile {
    public static let magic: Int32 = 20240328

    /// A version-2 file for `tokenizer` (every token must be 1 to 255 bytes; llm.c has no use for an
    /// absent end-of-text, which is written as the vocabulary size, an id no token has).
    public static func encode(_ tokenizer: any Tokenizer) throws -> Foundation.Data {
        var fields = [Int32](repeating: 0, count: 256)
        fields[0] = magic; fields[1] = 2
        fields[2] = Int32(tokenizer.vocabSize)
        fields[3] = tokenizer.eotToken ?? Int32(tokenizer.vocabSize)
        var out = Foundation.Data()
        for f in fields { withUnsafeBytes(of: f.littleEndian) { out.append(contentsOf: $0) } }
        for id in 0..<tokenizer.vocabSize {
            let bytes = tokenizer.decodeBytes([Int32(id)])
            guard (1...255).contains(bytes.count) else {
                throw DataError.badTokenizerFile(path: "tokenizer", problem: "token \(id) is \(bytes.count) bytes; " +
                        "llm.c's tokenizer file holds 1 to 255")
            }
            out.append(UInt8(bytes.count))
            out.append(contentsOf: bytes)
        }
        return out
    }

    /// The tokens' bytes and the end-of-text id of the file at `url`.
    public static func read(_ url: URL) throws -> (tokens: [[UInt8]], eot: Int32?) {
        let path = url.path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataError.missingFile(path: path, what: "llm.c tokenizer file")
        }
        func fail(_ m: String) -> DataError { DataError.badTokenizerFile(path: path, problem: m) }
        guard data.count >= 1024 else { throw fail("\(data.count) bytes, shorter than the 1024-byte header") }
        let bytes = [UInt8](data)
        func field(_ i: Int) -> Int32 {
            Int32(bitPattern: UInt32(bytes[4 * i]) | UInt32(bytes[4 * i + 1]) << 8
                | UInt32(bytes[4 * i + 2]) << 16 | UInt32(bytes[4 * i + 3]) << 24)
        }
        guard field(0) == magic else { throw fail("header[0] (magic) is \(field(0)), expected \(magic)") }
        let version = field(1), vocab = Int(field(2))
        guard version == 1 || version == 2 else { throw fail("header[1] (version) is \(version), expected 1 or 2") }
        guard vocab > 0, vocab <= (bytes.count - 1024) / 2 else { throw fail("header[2] (vocabulary size) \(vocab) " +
                "does not fit the file") }
        var tokens: [[UInt8]] = []
        tokens.reserveCapacity(vocab)
        var p = 1024
        for id in 0..<vocab {
            guard p < bytes.count, bytes[p] > 0, p + 1 + Int(bytes[p]) <= bytes.count else {
                throw fail("token \(id): length byte missing, zero or running past the end of the file")
            }
            tokens.append(Array(bytes[(p + 1)..<(p + 1 + Int(bytes[p]))]))
            p += 1 + Int(bytes[p])
        }
        guard p == bytes.count else { throw fail("\(bytes.count - p) bytes follow the last token") }
        let eot: Int32? = version == 1 ? 50256 : (Int(field(3)) < vocab ? field(3) : nil)
        return (tokens, eot)
    }

    /// Throws unless the file at `url` lists exactly `tokenizer`'s tokens and end-of-text id.
    public static func check(_ url: URL, against tokenizer: any Tokenizer) throws {
        let (tokens, eot) = try read(url)
        func fail(_ m: String) -> DataError { DataError.badTokenizerFile(path: url.path, problem: m) }
        guard tokens.count == tokenizer.vocabSize else {
            throw fail("\(tokens.count) tokens, but the tokenizer has \(tokenizer.vocabSize)")
        }
        for (id, t) in tokens.enumerated() where tokenizer.decodeBytes([Int32(id)]) != t {
            throw fail("token \(id) is \(t) here but \(tokenizer.decodeBytes([Int32(id)])) in the tokenizer")
        }
        guard eot == tokenizer.eotToken else {
            throw fail("end-of-text id \(eot.map(String.init) ?? "none"), the tokenizer's is " +
                    "\(tokenizer.eotToken.map(String.init) ?? "none")")
        }
    }
}
