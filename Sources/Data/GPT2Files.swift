// GPT-2's tokenizer from OpenAI's release files: encoder.json (token string -> id) and vocab.bpe (the
// merges in rank order, after a "#version" line). Token strings spell bytes through GPT-2's
// bytes_to_unicode table (openai/gpt-2 src/encoder.py): printable Latin-1 bytes stand for themselves,
// the other 68 bytes map to U+0100 upwards in byte order. Merge i yields id 256 + i in these files.
import Foundation

extension BytePairTokenizer {
    /// GPT-2's byte -> character table.
    public static let gpt2ByteToUnicode: [Unicode.Scalar] = {
        let printable = Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        for b in printable { table[b] = Unicode.Scalar(UInt32(b))! }
        var n: UInt32 = 0
        for b in 0..<256 where !printable.contains(b) {
            table[b] = Unicode.Scalar(256 + n)!
            n += 1
        }
        return table
    }()

    /// Loads encoder.json and vocab.bpe from `directory`.
    public static func loadGPT2(directory: URL) throws -> BytePairTokenizer {
        try loadGPT2(encoderJSON: directory.appendingPathComponent("encoder.json"),
                     vocabBPE: directory.appendingPathComponent("vocab.bpe"))
    }

    public static func loadGPT2(encoderJSON: URL, vocabBPE: URL) throws -> BytePairTokenizer {
        guard let encData = FileManager.default.contents(atPath: encoderJSON.path) else {
            throw DataError.missingFile(path: encoderJSON.path, what: "GPT-2 encoder.json")
        }
        guard let bpeData = FileManager.default.contents(atPath: vocabBPE.path) else {
            throw DataError.missingFile(path: vocabBPE.path, what: "GPT-2 vocab.bpe")
        }
        guard let encoder = (try? JSONSerialization.jsonObject(with: encData)) as? [String: Int] else {
            throw DataError.badTokenizerFile(path: encoderJSON.path, problem: "expected a JSON object of token -> id")
        }
        func id(_ token: Substring, line: Int) throws -> Int32 {
            guard let i = encoder[String(token)] else {
                throw DataError.badTokenizerFile(path: vocabBPE.path,
                                                 problem: "line \(line): token \"\(token)\" is not in encoder.json")
            }
            return Int32(i)
        }
        var byteIds = [Int32](repeating: 0, count: 256)
        for b in 0..<256 {
            guard let i = encoder[String(gpt2ByteToUnicode[b])] else {
                throw DataError.badTokenizerFile(path: encoderJSON.path, problem: "no token for byte \(b)")
            }
            byteIds[b] = Int32(i)
        }
        guard let text = String(data: bpeData, encoding: .utf8) else {
            throw DataError.badTokenizerFile(path: vocabBPE.path, problem: "not UTF-8 text")
        }
        var merges: [(Int32, Int32)] = []
        merges.reserveCapacity(50_000)
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.isEmpty || (n == 0 && line.hasPrefix("#version")) { continue }
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw DataError.badTokenizerFile(path: vocabBPE.path,
                                                 problem: "line \(n + 1): expected two tokens separated by one space")
            }
            let l = try id(parts[0], line: n + 1), r = try id(parts[1], line: n + 1)
            let merged = try id(parts[0] + parts[1], line: n + 1)
            guard Int(merged) == 256 + merges.count else {
                throw DataError.badTokenizerFile(path: vocabBPE.path,
                                                 problem: "line \(n + 1): merged token has id \(merged) in "
                                                          + "encoder.json (expected \(256 + merges.count))")
            }
            merges.append((l, r))
        }
        var specials: [String: Int32] = [:]
        for (token, i) in encoder where i >= 256 + merges.count { specials[token] = Int32(i) }
        guard encoder.count == 256 + merges.count + specials.count else {
            throw DataError.badTokenizerFile(path: encoderJSON.path,
                                             problem: "\(encoder.count) entries do not match 256 bytes + "
                                                      + "\(merges.count) merges + \(specials.count) special tokens")
        }
        return try BytePairTokenizer(type: gpt2TypeName, byteIds: byteIds, merges: merges,
                                     specialTokens: specials, source: encoderJSON.path)
    }

    /// Where `--tokenizer gpt2` looks for encoder.json and vocab.bpe when no folder is given:
    /// $TINYGPT_GPT2_DIR, data/gpt2-bpe, ../shared/data/gpt2-bpe (relative to the working directory).
    public static func findGPT2Directory() throws -> URL {
        var candidates: [String] = []
        if let env = ProcessInfo.processInfo.environment["TINYGPT_GPT2_DIR"], !env.isEmpty { candidates.append(env) }
        candidates += ["data/gpt2-bpe", "../shared/data/gpt2-bpe"]
        for c in candidates {
            let u = URL(fileURLWithPath: c)
            if FileManager.default.fileExists(atPath: u.appendingPathComponent("encoder.json").path),
               FileManager.default.fileExists(atPath: u.appendingPathComponent("vocab.bpe").path) {
                return u
            }
        }
        throw DataError.badOption(flag: "--gpt2-dir",
                                  problem: "GPT-2's encoder.json and vocab.bpe were not found in "
                                           + "\(candidates.joined(separator: ", ")) (pass --gpt2-dir DIR)")
    }
}
