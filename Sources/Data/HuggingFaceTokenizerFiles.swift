// Our tokenizers in Hugging Face's files, both ways:
//   vocab.json + merges.txt   GPT-2's byte-level BPE (GPT2Tokenizer): token strings spell bytes through
//                             GPT-2's byte → character table; merges one "left right" pair per line
//   tokenizer.json            the `tokenizers` library's format (PreTrainedTokenizerFast): a BPE model
//                             with the ByteLevel pre-tokenizer and decoder for byte-level BPE, and for
//                             the character tokenizer a WordLevel model over one-character tokens after
//                             a Split pre-tokenizer that isolates every character, joined by a Fuse decoder
// Reading accepts what writing produces, and GPT-2-style folders written by transformers. Byte-level
// BPE must have our id layout (bytes 0..<256, merge i = id 256 + i, specials after the merges).
import Foundation

public enum HuggingFaceTokenizerFiles {
    public static let vocabFile = "vocab.json"
    public static let mergesFile = "merges.txt"
    public static let tokenizerFile = "tokenizer.json"
    public static let tokenizerConfigFile = "tokenizer_config.json"
    /// Matches any one character (Oniguruma, which `tokenizers` uses, has no dot-matches-newline default).
    static let anyCharacter = "[\\s\\S]"

    // MARK: reading

    /// The tokenizer in `folder`: vocab.json + merges.txt, else tokenizer.json; nil when neither is there.
    public static func read(folder: URL) throws -> (any Tokenizer)? {
        let fm = FileManager.default
        let vocab = folder.appendingPathComponent(vocabFile), merges = folder.appendingPathComponent(mergesFile)
        if fm.fileExists(atPath: vocab.path) && fm.fileExists(atPath: merges.path) {
            let encoder = try jsonObject(vocab)
            guard let map = encoder as? [String: Int] else {
                throw DataError.badTokenizerFile(path: vocab.path, problem: "expected a JSON object of token -> id")
            }
            guard let data = fm.contents(atPath: merges.path), let text = String(data: data, encoding: .utf8) else {
                throw DataError.badTokenizerFile(path: merges.path, problem: "cannot read it as UTF-8 text")
            }
            var pairs: [(String, String)] = []
            for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let l = line.hasSuffix("\r") ? line.dropLast() : line
                if l.isEmpty || (n == 0 && l.hasPrefix("#version")) { continue }
                let parts = l.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                    throw DataError.badTokenizerFile(path: merges.path, problem: "line \(n + 1): expected two " +
                            "tokens separated by one space")
                }
                pairs.append((String(parts[0]), String(parts[1])))
            }
            return try bytePair(vocab: map, merges: pairs, added: [:], source: vocab.path)
        }
        let file = folder.appendingPathComponent(tokenizerFile)
        guard fm.fileExists(atPath: file.path) else { return nil }
        return try readTokenizerJSON(file)
    }

    static func jsonObject(_ url: URL) throws -> Any {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw DataError.missingFile(path: url.path, what: "tokenizer file")
        }
        guard let o = try? JSONSerialization.jsonObject(with: data) else {
            throw DataError.badTokenizerFile(path: url.path, problem: "not valid JSON")
        }
        return o
    }

    /// A `tokenizers` tokenizer.json holding a byte-level BPE or a character-level WordLevel model.
    public static func readTokenizerJSON(_ url: URL) throws -> any Tokenizer {
        let path = url.path
        func fail(_ m: String) -> DataError { DataError.badTokenizerFile(path: path, problem: m) }
        guard let o = try jsonObject(url) as? [String: Any], let model = o["model"] as? [String: Any],
              let type = model["type"] as? String else {
            throw fail("expected an object with model.type")
        }
        var added: [String: Int] = [:]
        for case let t as [String: Any] in (o["added_tokens"] as? [Any]) ?? [] {
            guard let id = t["id"] as? Int, let content = t["content"] as? String else { throw fail("added_tokens: " +
                    "entry without id and content") }
            added[content] = id
        }
        guard let vocab = model["vocab"] as? [String: Int] else { throw fail("model.vocab: expected an object of " +
                "token -> id") }
        switch type {
        case "BPE":
            let pre = (o["pre_tokenizer"] as? [String: Any])?["type"] as? String
            guard pre == "ByteLevel" else { throw fail("pre_tokenizer: \(pre ?? "none"); only byte-level BPE " +
                    "(ByteLevel) can be imported") }
            var pairs: [(String, String)] = []
            for (i, m) in ((model["merges"] as? [Any]) ?? []).enumerated() {
                if let s = m as? String {
                    let parts = s.split(separator: " ", omittingEmptySubsequences: false)
                    guard parts.count == 2 else { throw fail("model.merges[\(i)]: expected \"left right\"") }
                    pairs.append((String(parts[0]), String(parts[1])))
                } else if let a = m as? [String], a.count == 2 {
                    pairs.append((a[0], a[1]))
                } else {
                    throw fail("model.merges[\(i)]: expected \"left right\" or [left, right]")
                }
            }
            return try bytePair(vocab: vocab, merges: pairs, added: added, source: path)
        case "WordLevel":
            var scalars: [Unicode.Scalar] = []
            for (token, id) in vocab.sorted(by: { $0.value < $1.value }) where added[token] == nil {
                let u = Array(token.unicodeScalars)
                guard u.count == 1, id == scalars.count else {
                    throw fail("model.vocab: \"\(token)\" -> \(id); only a character vocabulary with ids in " +
                            "code-point order can be imported")
                }
                scalars.append(u[0])
            }
            let tok = CharTokenizer(scalars: scalars)
            guard tok.scalars == scalars, !scalars.isEmpty else { throw fail("model.vocab: characters are not in " +
                    "code-point order") }
            return tok
        default:
            throw fail("model.type \"\(type)\"; only BPE (byte-level) and WordLevel (characters) can be imported")
        }
    }

    /// Byte-level BPE from token strings: GPT-2's 50257-token vocabulary is typed "gpt2", any other "bpe".
    static func bytePair(vocab: [String: Int], merges: [(String, String)], added: [String: Int],
                         source: String) throws -> BytePairTokenizer {
        func fail(_ m: String) -> DataError { DataError.badTokenizerFile(path: source, problem: m) }
        var byteIds = [Int32](repeating: 0, count: 256)
        for b in 0..<256 {
            let s = String(BytePairTokenizer.gpt2ByteToUnicode[b])
            guard let id = vocab[s], id >= 0, id < 256 else {
                throw fail("byte \(b) (\"\(s)\") must have an id below 256 (bytes first, then merges)")
            }
            byteIds[b] = Int32(id)
        }
        var ids: [(Int32, Int32)] = []
        ids.reserveCapacity(merges.count)
        for (i, (l, r)) in merges.enumerated() {
            guard let a = vocab[l], let b = vocab[r] else { throw fail("merge \(i + 1) \"\(l) \(r)\" uses a token " +
                    "that is not in the vocabulary") }
            guard vocab[l + r] == 256 + i else {
                throw fail("merge \(i + 1) \"\(l) \(r)\": the merged token has id " +
                        "\(vocab[l + r].map(String.init) ?? "none"), expected \(256 + i)")
            }
            ids.append((Int32(clamping: a), Int32(clamping: b)))
        }
        var specials: [String: Int32] = [:]
        for (token, id) in vocab where id >= 256 + merges.count { specials[token] = Int32(clamping: id) }
        for (token, id) in added { specials[token] = Int32(clamping: id) }
        let type = vocab.count == 50257 && merges.count == 50000
            ? BytePairTokenizer.gpt2TypeName : BytePairTokenizer.trainedTypeName
        return try BytePairTokenizer(type: type, byteIds: byteIds, merges: ids, specialTokens: specials, source: source)
    }

    // MARK: writing

    /// The token strings of a byte-level BPE in id order (GPT-2's byte → character spelling; special
    /// tokens by name). Two ids spelling the same bytes cannot be written as a vocabulary and are refused.
    static func tokenStrings(_ tok: BytePairTokenizer) throws -> [String] {
        let table = BytePairTokenizer.gpt2ByteToUnicode
        let base = 256 + tok.merges.count
        var out: [String] = []
        out.reserveCapacity(tok.vocabSize)
        var seen: [String: Int] = [:]
        let names = Dictionary(uniqueKeysWithValues: tok.specialTokens.map { ($0.value, $0.key) })
        for id in 0..<tok.vocabSize {
            var s = ""
            if id >= base {
                s = names[Int32(id)] ?? ""
            } else {
                for b in tok.bytes(of: Int32(id)) { s.unicodeScalars.append(table[Int(b)]) }
            }
            if let other = seen[s] {
                throw DataError.badTokenizerFile(path: "tokenizer", problem: "tokens \(other) and \(id) spell the " +
                        "same bytes; a Hugging Face vocabulary cannot hold both")
            }
            seen[s] = id
            out.append(s)
        }
        return out
    }

    /// The files that make `tokenizer` load in transformers' AutoTokenizer with the same ids: name → bytes.
    /// `extraTokens` (name → id, ids following the tokenizer's own) are added as special tokens (a
    /// fine-tuned model's task tokens); `maxLength` is the model's context.
    public static func files(for tokenizer: any Tokenizer, extraTokens: [String: Int32] = [:],
                             maxLength: Int) throws -> [(name: String, data: Foundation.Data)] {
        var specials = tokenizer.specialTokens
        for (k, v) in extraTokens { specials[k] = v }
        let added: [[String: Any]] = specials.sorted { $0.value < $1.value }.map {
            ["id": Int($0.value), "content": $0.key, "single_word": false, "lstrip": false, "rstrip": false,
             "normalized": false, "special": true]
        }
        // tokenizer.json's top-level values as JSON text; the big ones (vocabulary, merges) are written
        // by hand in id order, because Foundation's sorted-key writer takes seconds on 50,000 keys.
        var top: [String: String] = ["version": "\"1.0\"", "truncation": "null", "padding": "null",
                                     "normalizer": "null", "added_tokens": try json(added)]
        var config: [String: Any] = ["model_max_length": maxLength, "clean_up_tokenization_spaces": false]
        var out: [(String, Foundation.Data)] = []
        var strings: [String]
        if let bpe = tokenizer as? BytePairTokenizer {
            strings = try tokenStrings(bpe)
        } else if let char = tokenizer as? CharTokenizer {
            strings = char.scalars.map { String($0) }
        } else {
            throw DataError.badTokenizerFile(path: "tokenizer", problem: "\(tokenizer.type) tokenizers have no " +
                    "Hugging Face form")
        }
        for (name, id) in extraTokens.sorted(by: { $0.value < $1.value }) {
            guard Int(id) == strings.count else {
                throw DataError.badTokenizerFile(path: "tokenizer", problem: "added token \(name) has id \(id), " +
                        "expected \(strings.count)")
            }
            strings.append(name)
        }
        let entries = strings.enumerated().map { jsonString($0.element) + ":" + String($0.offset) }
        let vocab = "{" + entries.joined(separator: ",") + "}"
        if let bpe = tokenizer as? BytePairTokenizer {
            let mergeLines = bpe.merges.map { strings[Int($0.0)] + " " + strings[Int($0.1)] }
            let byteLevel: [String: Any] = ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true,
                                            "use_regex": true]
            top["pre_tokenizer"] = try json(byteLevel)
            let postProcessor: [String: Any] = ["type": "ByteLevel", "add_prefix_space": false,
                                                "trim_offsets": false, "use_regex": true]
            top["post_processor"] = try json(postProcessor)
            top["decoder"] = try json(byteLevel)
            top["model"] = #"{"type":"BPE","dropout":null,"unk_token":null,"#
                + #""continuing_subword_prefix":"","end_of_word_suffix":"","#
                + #""fuse_unk":false,"byte_fallback":false,"ignore_merges":false,"vocab":"# + vocab
                + #","merges":["# + mergeLines.map(jsonString).joined(separator: ",") + "]}"
            out.append((vocabFile, Foundation.Data(vocab.utf8)))
            out.append((mergesFile, Foundation.Data(("#version: 0.2\n" + mergeLines.map { $0 + "\n" }.joined()).utf8)))
            config["tokenizer_class"] = "GPT2Tokenizer"
            config["add_prefix_space"] = false
            if bpe.specialTokens[BytePairTokenizer.endOfText] != nil {
                for key in ["bos_token", "eos_token", "unk_token"] { config[key] = BytePairTokenizer.endOfText }
            }
        } else {
            let split: [String: Any] = ["type": "Split", "pattern": ["Regex": anyCharacter], "behavior": "Isolated",
                                        "invert": false]
            top["pre_tokenizer"] = try json(split)
            top["post_processor"] = "null"
            top["decoder"] = #"{"type":"Fuse"}"#
            top["model"] = #"{"type":"WordLevel","unk_token":"<unk>","vocab":"# + vocab + "}"
            config["tokenizer_class"] = "PreTrainedTokenizerFast"
        }
        let members = top.sorted { $0.key < $1.key }.map { jsonString($0.key) + ":" + $0.value }
        let text = "{" + members.joined(separator: ",") + "}"
        out.append((tokenizerFile, Foundation.Data(text.utf8)))
        out.append((tokenizerConfigFile, Foundation.Data(try json(config).utf8)))
        return out
    }

    static func json(_ o: Any) throws -> String {
        let data = try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }
}
