// manifest.json of a prepared dataset directory: what was tokenised, how, and what came out.
// Written last by `tinygpt prepare`, so its presence means every shard it lists is complete.
import Foundation

public struct DatasetManifest: Codable, Equatable, Sendable {
    public struct Source: Codable, Equatable, Sendable {
        public var path: String
        public var bytes: Int
        public var sha256: String
        public var documents: Int
        enum CodingKeys: String, CodingKey { case path, bytes, sha256, documents }
    }

    public struct Shard: Codable, Equatable, Sendable {
        public var file: String
        public var tokens: Int
        enum CodingKeys: String, CodingKey { case file, tokens }
    }

    public struct Split: Codable, Equatable, Sendable {
        public var tokens: Int
        public var shards: [Shard]
        enum CodingKeys: String, CodingKey { case tokens, shards }
    }

    public static let formatName = "tinygpt-dataset"
    public static let currentVersion = 1

    public var format: String
    public var version: Int
    /// The --tokenizer spec ("char", "bpe:1024", "gpt2") and the result's type and size.
    public var tokenizerSpec: String
    public var tokenizerType: String
    public var vocabSize: Int
    public var eotToken: Int32?
    public var tokenWidth: TokenWidth
    public var valFraction: Double
    public var shardTokens: Int
    /// "strict" or "replace"; `replacedSequences` counts invalid UTF-8 sequences replaced.
    public var errors: String
    public var replacedSequences: Int
    public var documents: Int
    public var train: Split
    public var val: Split
    public var sources: [Source]

    enum CodingKeys: String, CodingKey {
        case format, version
        case tokenizerSpec = "tokenizer_spec"
        case tokenizerType = "tokenizer_type"
        case vocabSize = "vocab_size"
        case eotToken = "eot_token"
        case tokenWidth = "token_dtype"
        case valFraction = "val_fraction"
        case shardTokens = "shard_tokens"
        case errors
        case replacedSequences = "replaced_sequences"
        case documents, train, val, sources
    }

    public static func load(_ url: URL) throws -> DatasetManifest {
        try RegularFile.require(url.path, what: "dataset manifest")
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw DataError.missingFile(path: url.path, what: "dataset manifest")
        }
        let m: DatasetManifest
        do {
            m = try JSONDecoder().decode(DatasetManifest.self, from: data)
        } catch let DecodingError.keyNotFound(key, _) {
            throw DataError.badManifest(path: url.path, problem: "missing field \"\(key.stringValue)\"")
        } catch {
            throw DataError.badManifest(path: url.path, problem: "not a dataset manifest (\(Self.describe(error)))")
        }
        guard m.format == formatName else {
            throw DataError.badManifest(path: url.path,
                                        problem: "format is \"\(m.format)\" (expected \"\(formatName)\")")
        }
        guard m.version == currentVersion else {
            throw DataError.badManifest(path: url.path,
                                        problem: "version \(m.version) is not supported (expected \(currentVersion))")
        }
        return m
    }

    public func save(to url: URL) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try AtomicFile.write(try enc.encode(self), to: url)
    }

    static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c),
             DecodingError.dataCorrupted(let c):
            let path = c.codingPath.map { $0.stringValue }.joined(separator: ".")
            return path.isEmpty ? c.debugDescription : "field \(path): \(c.debugDescription)"
        default:
            return "\(error)"
        }
    }
}
