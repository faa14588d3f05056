// A prepared dataset directory (data/NAME): tokenizer.json, train_NNNNNN.bin, val_NNNNNN.bin and
// manifest.json, as `tinygpt prepare` writes them. The manifest is written last, so it is required:
// without it the directory is an interrupted prepare. Its shard lists (not a glob) name the shards,
// and their token counts are checked against the shard headers when a split is opened. Directories of
// shards from llm.c's scripts (renamed to train_/val_NNNNNN.bin, with a tokenizer.json) can be opened
// with `allowMissingManifest`.
import Foundation

public struct DatasetDirectory: Sendable {
    public static let tokenizerFile = "tokenizer.json"
    public static let manifestFile = "manifest.json"

    public let url: URL
    public var tokenizerURL: URL { url.appendingPathComponent(Self.tokenizerFile) }
    public var manifestURL: URL { url.appendingPathComponent(Self.manifestFile) }
    public let trainShards: [URL]
    public let valShards: [URL]
    /// The manifest (nil only when opened with allowMissingManifest and there is none).
    public let manifest: DatasetManifest?

    /// Finds the files; throws a one-line error naming the first thing missing.
    public init(_ url: URL, allowMissingManifest: Bool = false) throws {
        self.url = url
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: url.path, isDirectory: &isDir), isDir.boolValue else {
            throw DataError.missingFile(path: url.path,
                                        what: "dataset directory (make one with `tinygpt prepare --out \(url.path)`)")
        }
        guard fm.fileExists(atPath: url.appendingPathComponent(Self.tokenizerFile).path) else {
            throw DataError.incompleteDataset(path: url.path,
                                              problem: "no \(Self.tokenizerFile) (was `tinygpt prepare` interrupted?)")
        }
        let manifestURL = url.appendingPathComponent(Self.manifestFile)
        if fm.fileExists(atPath: manifestURL.path) {
            let m = try DatasetManifest.load(manifestURL)
            manifest = m
            func listed(_ split: DatasetManifest.Split, _ name: String) throws -> [URL] {
                guard !split.shards.isEmpty else {
                    throw DataError.badManifest(path: manifestURL.path, problem: "lists no \(name) shards")
                }
                return try split.shards.map { s in
                    guard Self.isShardName(s.file, prefix: name) else {
                        throw DataError.badManifest(path: manifestURL.path,
                                                    problem: "\(name) shard name \"\(s.file)\" is not "
                                                             + "\(name)_NNNNNN.bin")
                    }
                    let u = url.appendingPathComponent(s.file)
                    guard fm.fileExists(atPath: u.path) else {
                        throw DataError.incompleteDataset(path: url.path,
                                                          problem: "\(s.file) is listed in manifest.json but missing")
                    }
                    return u
                }
            }
            trainShards = try listed(m.train, "train")
            valShards = try listed(m.val, "val")
        } else {
            guard allowMissingManifest else {
                throw DataError.incompleteDataset(path: url.path,
                                                  problem: "no manifest.json (an interrupted `tinygpt prepare`? run "
                                                           + "it again)")
            }
            manifest = nil
            let names = (try? fm.contentsOfDirectory(atPath: url.path)) ?? []
            trainShards = Self.shards(named: "train", in: names).map { url.appendingPathComponent($0) }
            valShards = Self.shards(named: "val", in: names).map { url.appendingPathComponent($0) }
            guard !trainShards.isEmpty else {
                throw DataError.incompleteDataset(path: url.path, problem: "no train_NNNNNN.bin shards")
            }
            guard !valShards.isEmpty else {
                throw DataError.incompleteDataset(path: url.path, problem: "no val_NNNNNN.bin shards")
            }
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

    public func loadTokenizer() throws -> any Tokenizer { try TokenizerLoader.load(tokenizerURL) }

    public func loadManifest() throws -> DatasetManifest {
        if let manifest { return manifest }
        return try DatasetManifest.load(manifestURL)
    }

    /// The train split, checked against the tokenizer's vocabulary.
    public func trainDataset(vocabSize: Int) throws -> TokenShardDataset {
        try open(trainShards, listed: manifest?.train, vocabSize: vocabSize)
    }

    /// The validation split, checked against the tokenizer's vocabulary.
    public func valDataset(vocabSize: Int) throws -> TokenShardDataset {
        try open(valShards, listed: manifest?.val, vocabSize: vocabSize)
    }

    private func open(_ urls: [URL], listed: DatasetManifest.Split?, vocabSize: Int) throws -> TokenShardDataset {
        let d = try TokenShardDataset(shardURLs: urls)
        if let listed {
            for (shard, entry) in zip(d.shards, listed.shards) where shard.count != entry.tokens {
                throw DataError.badShard(path: shard.url.path,
                                         problem: "holds \(shard.count) tokens but manifest.json lists \(entry.tokens)")
            }
        }
        try d.validate(vocabSize: vocabSize)
        return d
    }
}
