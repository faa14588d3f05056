// A prepared dataset directory (data/NAME): tokenizer.json, train_NNNNNN.bin, val_NNNNNN.bin and
// manifest.json, as `tinygpt prepare` writes them. Shards made by llm.c's scripts can be used too by
// renaming them to this pattern and adding a tokenizer.json; the manifest is then optional.
import Foundation

public struct DatasetDirectory: Sendable {
    public static let tokenizerFile = "tokenizer.json"
    public static let manifestFile = "manifest.json"

    public let url: URL
    public var tokenizerURL: URL { url.appendingPathComponent(Self.tokenizerFile) }
    public var manifestURL: URL { url.appendingPathComponent(Self.manifestFile) }
    public let trainShards: [URL]
    public let valShards: [URL]

    /// Finds the files; throws a one-line error naming the first thing missing.
    public init(_ url: URL) throws {
        self.url = url
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), isDir.boolValue else {
            throw DataError.missingFile(path: url.path, what: "dataset directory (make one with `tinygpt prepare --out \(url.path)`)")
        }
        guard FileManager.default.fileExists(atPath: url.appendingPathComponent(Self.tokenizerFile).path) else {
            throw DataError.incompleteDataset(path: url.path, problem: "no \(Self.tokenizerFile) (was `tinygpt prepare` interrupted?)")
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        trainShards = Self.shards(named: "train", in: names).map { url.appendingPathComponent($0) }
        valShards = Self.shards(named: "val", in: names).map { url.appendingPathComponent($0) }
        guard !trainShards.isEmpty else {
            throw DataError.incompleteDataset(path: url.path, problem: "no train_NNNNNN.bin shards")
        }
        guard !valShards.isEmpty else {
            throw DataError.incompleteDataset(path: url.path, problem: "no val_NNNNNN.bin shards")
        }
    }

    /// "PREFIX_" + digits + ".bin", sorted by name (zero-padded numbers sort in order).
    static func shards(named prefix: String, in names: [String]) -> [String] {
        names.filter { isShardName($0, prefix: prefix) }.sorted()
    }

    static func isShardName(_ name: String, prefix: String) -> Bool {
        guard name.hasPrefix(prefix + "_"), name.hasSuffix(".bin") else { return false }
        let digits = name.dropFirst(prefix.count + 1).dropLast(4)
        return !digits.isEmpty && digits.allSatisfy { $0.isASCII && $0.isNumber }
    }

    public var hasManifest: Bool { FileManager.default.fileExists(atPath: manifestURL.path) }

    public func loadTokenizer() throws -> any Tokenizer { try TokenizerLoader.load(tokenizerURL) }

    public func loadManifest() throws -> DatasetManifest { try DatasetManifest.load(manifestURL) }

    /// The train split, checked against the tokenizer's vocabulary.
    public func trainDataset(vocabSize: Int) throws -> TokenShardDataset {
        try open(trainShards, vocabSize: vocabSize)
    }

    /// The validation split, checked against the tokenizer's vocabulary.
    public func valDataset(vocabSize: Int) throws -> TokenShardDataset {
        try open(valShards, vocabSize: vocabSize)
    }

    private func open(_ urls: [URL], vocabSize: Int) throws -> TokenShardDataset {
        let d = try TokenShardDataset(shardURLs: urls)
        try d.validate(vocabSize: vocabSize)
        return d
    }
}
