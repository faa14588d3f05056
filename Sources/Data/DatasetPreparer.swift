// `tinygpt prepare` as a library: text files, directories and JSONL in; tokenizer.json, llm.c token
// shards (train_NNNNNN.bin, val_NNNNNN.bin) and manifest.json out. Streams the input in bounded
// batches (memory stays flat), tokenises each batch on all cores (pieces keep their order), joins
// documents with the end-of-text token when the tokenizer has one, and reports progress through a
// callback (the library never prints). Files are written under temporary names and renamed; the
// manifest is written last, so a directory with a manifest is complete.
import Dispatch
import Crypto
import Foundation
import Kernels

/// The --tokenizer flag: "char", "bpe:N" (train a byte-level BPE of N tokens) or "gpt2".
public enum TokenizerSpec: Equatable, Sendable, CustomStringConvertible {
    case char
    case bpe(vocabSize: Int)
    case gpt2

    public init(parsing s: String) throws {
        if s == "char" { self = .char; return }
        if s == "gpt2" { self = .gpt2; return }
        if s.hasPrefix("bpe:"), let n = Int(s.dropFirst(4)) {
            guard n >= BytePairTrainer.minimumVocabSize && n <= BytePairTrainer.maximumVocabSize else {
                let range = "\(BytePairTrainer.minimumVocabSize)...\(BytePairTrainer.maximumVocabSize)"
                throw DataError.badOption(flag: "--tokenizer", problem: "bpe vocabulary size \(n) is outside "
                                          + "\(range) (256 bytes + merges + <|endoftext|>)")
            }
            self = .bpe(vocabSize: n)
            return
        }
        throw DataError.badOption(flag: "--tokenizer",
                                  problem: "\"\(s)\" is not one of char, bpe:N (e.g. bpe:1024), gpt2")
    }

    public var description: String {
        switch self {
        case .char: return "char"
        case .bpe(let n): return "bpe:\(n)"
        case .gpt2: return "gpt2"
        }
    }
}

public struct PrepareOptions: Sendable {
    public var inputs: [URL]
    public var tokenizer: TokenizerSpec
    public var output: URL
    public var valFraction: Double = 0.1
    public var shardTokens: Int = 100_000_000
    public var overwrite = false
    public var errors: UTF8ErrorPolicy = .strict
    /// Folder with GPT-2's encoder.json and vocab.bpe (for .gpt2); nil searches the usual places.
    public var gpt2Directory: URL?
    /// Text handed to the tokenising threads per batch.
    public var batchBytes = 8 << 20
    /// Bytes per read(2) of an input file (plain text is tokenised in pieces of about this size).
    public var readBytes = 256 << 10

    public init(inputs: [URL], tokenizer: TokenizerSpec, output: URL) {
        self.inputs = inputs
        self.tokenizer = tokenizer
        self.output = output
    }
}

public enum PreparePhase: String, Sendable {
    case scanning      // reading the corpus for the character set / BPE word counts
    case training      // BPE merges (progress counts merges instead of bytes)
    case tokenizing    // encoding and writing shards
}

public struct PrepareProgress: Sendable {
    public var phase: PreparePhase
    public var bytesDone: Int
    public var totalBytes: Int
    public var seconds: Double
    public var bytesPerSecond: Double { seconds > 0 ? Double(bytesDone) / seconds : 0 }
    /// Estimated seconds left in this phase (nil before any rate is known).
    public var etaSeconds: Double? {
        bytesPerSecond > 0 ? Double(totalBytes - bytesDone) / bytesPerSecond : nil
    }
}

public enum PrepareEvent: Sendable {
    case phaseStarted(PreparePhase, totalBytes: Int)
    case progress(PrepareProgress)
    case shardWritten(file: String, tokens: Int)
    case finished(DatasetManifest)
}

/// Per-thread encoding of validated UTF-8 pieces: prepare's hot path.
protocol PieceEncoder: Tokenizer {
    func makeWorkspace() -> AnyObject?
    func encodePiece(_ bytes: UnsafeBufferPointer<UInt8>, workspace: AnyObject?, into out: inout [Int32]) throws
}

extension CharTokenizer: PieceEncoder {
    func makeWorkspace() -> AnyObject? { nil }
    func encodePiece(_ bytes: UnsafeBufferPointer<UInt8>, workspace: AnyObject?, into out: inout [Int32]) throws {
        if let bad = append(utf8: bytes, to: &out) {
            let s = String(decoding: bytes, as: UTF8.self).unicodeScalars
            let c = s[s.index(s.startIndex, offsetBy: bad)]
            throw DataError.unknownCharacter(character: String(c), offset: bad)
        }
    }
}

public enum DatasetPreparer {
    public static func prepare(_ options: PrepareOptions,
                               progress: (PrepareEvent) -> Void = { _ in }) throws -> DatasetManifest {
        guard options.valFraction >= 0 && options.valFraction < 1 else {
            throw DataError.badOption(flag: "--val-fraction", problem: "\(options.valFraction) is outside [0, 1)")
        }
        guard options.shardTokens >= 1 && options.shardTokens <= TokenShardWriter.maxTokens else {
            throw DataError.badOption(flag: "--shard-tokens",
                                      problem: "\(options.shardTokens) is outside 1...\(TokenShardWriter.maxTokens)")
        }
        let sources = try SourceEnumerator.expand(options.inputs)
        // GPT-2's files are found before anything is written.
        let gpt2 = options.tokenizer == .gpt2
            ? try BytePairTokenizer.loadGPT2(directory: options.gpt2Directory ?? BytePairTokenizer.findGPT2Directory())
            : nil
        try checkOutput(options, sources: sources)

        let tokenizer: any PieceEncoder
        switch options.tokenizer {
        case .char:
            tokenizer = try buildCharTokenizer(options, sources: sources, progress: progress)
        case .bpe(let n):
            tokenizer = try trainBytePair(options, sources: sources, vocabSize: n, progress: progress)
        case .gpt2:
            tokenizer = gpt2!
        }

        // Built beside the old dataset, which stays whole until the new one is complete: a prepare that
        // fails (invalid UTF-8 at the end of the input, a full disk) leaves it as it was.
        let staging = options.output.appendingPathComponent(stagingDirectory, isDirectory: true)
        try? FileManager.default.removeItem(at: staging)
        do { try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: false) } catch {
            throw DataError.io(path: staging.path, operation: "create directory", errno: errno == 0 ? EACCES : errno)
        }
        var staged = options
        staged.output = staging
        let manifest: DatasetManifest
        do {
            try tokenizer.save(to: staging.appendingPathComponent(DatasetDirectory.tokenizerFile))
            manifest = try tokenize(staged, sources: sources, tokenizer: tokenizer, progress: progress)
        } catch {
            try? FileManager.default.removeItem(at: staging)
            throw error
        }
        try swap(staging, into: options.output)
        return manifest
    }

    /// Where a prepare builds the new dataset, inside the output directory (so the moves are renames).
    static let stagingDirectory = ".prepare-staging"

    /// Replaces the dataset files of `dir` by those of `staging`: the old manifest goes first and the
    /// new one comes last, so the directory reads as complete only when all its files are the new ones.
    static func swap(_ staging: URL, into dir: URL) throws {
        try removeDatasetFiles(in: dir)
        let names = datasetFiles(in: staging).sorted { a, b in b == DatasetDirectory.manifestFile && a != b }
        for n in names {
            let from = staging.appendingPathComponent(n).path, to = dir.appendingPathComponent(n).path
            if rename(from, to) != 0 { throw DataError.io(path: to, operation: "rename", errno: errno) }
        }
        try? FileManager.default.removeItem(at: staging)
    }

    // MARK: output directory

    /// Creates the output directory, or checks that what it holds may be replaced.
    static func checkOutput(_ options: PrepareOptions, sources: [SourceFile]) throws {
        let dir = options.output
        var isDir: ObjCBool = false
        if !FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir) {
            do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
                throw DataError.io(path: dir.path, operation: "create directory", errno: errno == 0 ? EACCES : errno)
            }
            return
        }
        guard isDir.boolValue else {
            throw DataError.outputNotEmpty(path: dir.path, problem: "exists and is not a directory")
        }
        if options.overwrite || datasetFiles(in: dir).isEmpty { return }
        let manifestURL = dir.appendingPathComponent(DatasetDirectory.manifestFile)
        guard FileManager.default.fileExists(atPath: manifestURL.path) else {
            throw DataError.outputNotEmpty(path: dir.path,
                                           problem: "holds dataset files but no manifest.json (an interrupted "
                                                    + "prepare?); pass --overwrite to replace them")
        }
        if let old = try? DatasetManifest.load(manifestURL),
           old.tokenizerSpec == options.tokenizer.description, old.valFraction == options.valFraction,
           old.shardTokens == options.shardTokens, old.errors == options.errors.rawValue,
           old.sources.map({ [$0.path, String($0.bytes)] }) == sources.map({ [$0.path, String($0.bytes)] }),
           // A source edited in place keeps its path and size; its bytes decide.
           zip(old.sources, sources).allSatisfy({ sha256(of: $1.url) == $0.sha256 }) {
            return  // the same dataset again: rebuilding it gives the same files
        }
        throw DataError.outputNotEmpty(path: dir.path,
                                       problem: "already holds a different dataset; pass --overwrite to replace it")
    }

    /// The SHA-256 of a file's bytes (as the manifest records each source's), nil when unreadable.
    static func sha256(of url: URL) -> String? {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return nil }
        defer { try? handle.close() }
        var hash = SHA256()
        while let chunk = try? handle.read(upToCount: 1 << 20), !chunk.isEmpty { hash.update(data: chunk) }
        return hash.finalize().hexString
    }

    /// Names of files that a prepare writes (and --overwrite may delete); nothing else is touched.
    static func datasetFiles(in dir: URL) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { n in
            n == DatasetDirectory.manifestFile || n == DatasetDirectory.tokenizerFile
                || DatasetDirectory.isShardName(n, prefix: "train") || DatasetDirectory.isShardName(n, prefix: "val")
                || (n.hasSuffix(".partial") && (n.hasPrefix("train_") || n.hasPrefix("val_") || n.hasPrefix(".")))
        }
    }

    static func removeDatasetFiles(in dir: URL) throws {
        // The manifest goes first: from here until the new one is written the directory is incomplete.
        let names = datasetFiles(in: dir).sorted { a, _ in a == DatasetDirectory.manifestFile }
        for n in names {
            let url = dir.appendingPathComponent(n)
            if unlink(url.path) != 0 && errno != ENOENT {
                throw DataError.io(path: url.path, operation: "remove", errno: errno)
            }
        }
    }

    // MARK: passes

    /// Calls `body` with each batch of the whole input, emitting progress for `phase`.
    static func stream(_ options: PrepareOptions, sources: [SourceFile], phase: PreparePhase,
                       progress: (PrepareEvent) -> Void, _ body: ([TextPiece]) throws -> Void) throws -> TextStream {
        let stream = TextStream(sources: sources, valFraction: options.valFraction, policy: options.errors,
                                readBytes: options.readBytes)
        progress(.phaseStarted(phase, totalBytes: stream.totalBytes))
        let start = DispatchTime.now().uptimeNanoseconds
        while let batch = try stream.nextBatch(minBytes: options.batchBytes) {
            try body(batch)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            progress(.progress(PrepareProgress(phase: phase, bytesDone: stream.bytesDone,
                                               totalBytes: stream.totalBytes, seconds: seconds)))
        }
        return stream
    }

    static func buildCharTokenizer(_ options: PrepareOptions, sources: [SourceFile],
                                   progress: (PrepareEvent) -> Void) throws -> CharTokenizer {
        var ascii = [Bool](repeating: false, count: 128)
        var other = Set<UInt32>()
        _ = try stream(options, sources: sources, phase: .scanning, progress: progress) { batch in
            for piece in batch {
                piece.bytes.withUnsafeBufferPointer { p in
                    var i = 0
                    while i < p.count {
                        if p[i] < 0x80 { ascii[Int(p[i])] = true; i += 1; continue }
                        let (s, len) = UTF8Scalars.decode(p, at: i)
                        other.insert(s)
                        i += len
                    }
                }
            }
        }
        var scalars = (0..<128).filter { ascii[$0] }.map { Unicode.Scalar(UInt8($0)) }
        scalars += other.compactMap { Unicode.Scalar($0) }
        return CharTokenizer(scalars: scalars)
    }

    /// Counts pre-tokens on all threads (one counter per thread, merged), then learns the merges.
    static func trainBytePair(_ options: PrepareOptions, sources: [SourceFile], vocabSize: Int,
                              progress: (PrepareEvent) -> Void) throws -> BytePairTokenizer {
        let threads = max(1, Parallel.threadCount)
        let trainers = (0..<threads).map { _ in BytePairTrainer() }
        let box = TrainerBox(trainers)
        _ = try stream(options, sources: sources, phase: .scanning, progress: progress) { batch in
            let chunks = min(threads, batch.count)
            let work = { (chunk: Int) in
                for i in Parallel.chunkRange(chunk, of: chunks, count: batch.count) {
                    batch[i].bytes.withUnsafeBufferPointer { box.items[chunk].add(utf8: $0) }
                }
            }
            if chunks <= 1 {
                if chunks == 1 { work(0) }
            } else {
                DispatchQueue.concurrentPerform(iterations: chunks, execute: work)
            }
        }
        for t in trainers.dropFirst() { trainers[0].merge(t) }
        let wanted = vocabSize - BytePairTrainer.minimumVocabSize
        progress(.phaseStarted(.training, totalBytes: wanted))
        let start = DispatchTime.now().uptimeNanoseconds
        return try trainers[0].train(vocabSize: vocabSize) { done, total in
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            progress(.progress(PrepareProgress(phase: .training, bytesDone: done, totalBytes: total, seconds: seconds)))
        }
    }

    /// Encodes, writes shards and the manifest.
    static func tokenize(_ options: PrepareOptions, sources: [SourceFile], tokenizer: any PieceEncoder,
                         progress: (PrepareEvent) -> Void) throws -> DatasetManifest {
        let width = TokenShardFormat.width(forVocabSize: tokenizer.vocabSize)
        let writers = [
            SplitWriter(directory: options.output, prefix: "train", width: width, shardTokens: options.shardTokens),
            SplitWriter(directory: options.output, prefix: "val", width: width, shardTokens: options.shardTokens),
        ]
        let threads = max(1, Parallel.threadCount)
        let workspaces = WorkspaceBox((0..<threads).map { _ in tokenizer.makeWorkspace() })
        var firstDocument = true
        let eot = tokenizer.eotToken

        let stream = try stream(options, sources: sources, phase: .tokenizing, progress: progress) { batch in
            let encoded = try encodeInParallel(batch, tokenizer: tokenizer, threads: threads, workspaces: workspaces)
            for (piece, tokens) in zip(batch, encoded) {
                let w = writers[piece.split.rawValue]
                if piece.startsDocument {
                    if !firstDocument, let eot { try w.append([eot], progress: progress) }
                    firstDocument = false
                }
                try w.append(tokens, progress: progress)
            }
        }
        let train = try writers[0].finish(progress: progress)
        let val = try writers[1].finish(progress: progress)
        let manifest = DatasetManifest(
            format: DatasetManifest.formatName, version: DatasetManifest.currentVersion,
            tokenizerSpec: options.tokenizer.description, tokenizerType: tokenizer.type,
            vocabSize: tokenizer.vocabSize, eotToken: tokenizer.eotToken, tokenWidth: width,
            valFraction: options.valFraction, shardTokens: options.shardTokens,
            errors: options.errors.rawValue, replacedSequences: stream.replacedSequences,
            documents: stream.documents, train: train, val: val,
            sources: sources.indices.map { i in
                DatasetManifest.Source(path: sources[i].path, bytes: sources[i].bytes,
                                       sha256: stream.hashes[i], documents: stream.documentsPerSource[i])
            })
        try manifest.save(to: options.output.appendingPathComponent(DatasetDirectory.manifestFile))
        progress(.finished(manifest))
        return manifest
    }

    /// Encodes pieces on `threads` threads, each taking a contiguous run of pieces; results in order.
    static func encodeInParallel(_ pieces: [TextPiece], tokenizer: any PieceEncoder, threads: Int,
                                 workspaces: WorkspaceBox) throws -> [[Int32]] {
        let results = ResultBox(count: pieces.count)
        let chunks = min(threads, pieces.count)
        let work = { (chunk: Int) in
            let ws = workspaces.items[chunk]
            for i in Parallel.chunkRange(chunk, of: chunks, count: pieces.count) {
                var out: [Int32] = []
                out.reserveCapacity(pieces[i].bytes.count / 3)
                do {
                    try pieces[i].bytes.withUnsafeBufferPointer {
                        try tokenizer.encodePiece($0, workspace: ws, into: &out)
                    }
                } catch {
                    results.setError(error, at: i)
                    return
                }
                results.set(out, at: i)
            }
        }
        if chunks <= 1 {
            if chunks == 1 { work(0) }
        } else {
            DispatchQueue.concurrentPerform(iterations: chunks, execute: work)
        }
        if let e = results.firstError() { throw e }
        return results.values
    }
}

/// Per-thread trainers; thread `i` only touches items[i].
final class TrainerBox: @unchecked Sendable {
    let items: [BytePairTrainer]
    init(_ items: [BytePairTrainer]) { self.items = items }
}

/// Per-thread workspaces; thread `i` only touches items[i].
final class WorkspaceBox: @unchecked Sendable {
    let items: [AnyObject?]
    init(_ items: [AnyObject?]) { self.items = items }
}

/// Results written by index from several threads; each index is written by exactly one thread.
final class ResultBox: @unchecked Sendable {
    private let slots: UnsafeMutablePointer<[Int32]>
    private let count: Int
    private var errors: [(Int, Error)] = []
    private let lock = NSLock()
    init(count: Int) {
        self.count = count
        slots = .allocate(capacity: max(count, 1))
        slots.initialize(repeating: [], count: count)
    }
    deinit { slots.deinitialize(count: count); slots.deallocate() }
    func set(_ v: [Int32], at i: Int) { slots[i] = v }
    var values: [[Int32]] { Array(UnsafeBufferPointer(start: slots, count: count)) }
    func setError(_ e: Error, at i: Int) { lock.lock(); errors.append((i, e)); lock.unlock() }
    func firstError() -> Error? { errors.min { $0.0 < $1.0 }?.1 }
}

/// Writes one split as numbered shards of at most `shardTokens` tokens.
final class SplitWriter {
    let directory: URL
    let prefix: String
    let width: TokenWidth
    let shardTokens: Int
    private var current: TokenShardWriter?
    private var shards: [DatasetManifest.Shard] = []

    init(directory: URL, prefix: String, width: TokenWidth, shardTokens: Int) {
        self.directory = directory
        self.prefix = prefix
        self.width = width
        self.shardTokens = shardTokens
    }

    private func open() throws -> TokenShardWriter {
        if let c = current { return c }
        let name = prefix + "_" + String(format: "%06d", shards.count) + ".bin"
        let w = try TokenShardWriter(url: directory.appendingPathComponent(name), width: width)
        current = w
        return w
    }

    private func close(progress: (PrepareEvent) -> Void) throws {
        guard let c = current else { return }
        let n = try c.finish()
        shards.append(.init(file: c.url.lastPathComponent, tokens: n))
        current = nil
        progress(.shardWritten(file: c.url.lastPathComponent, tokens: n))
    }

    func append(_ tokens: [Int32], progress: (PrepareEvent) -> Void) throws {
        var start = 0
        while start < tokens.count {
            let w = try open()
            let take = min(tokens.count - start, shardTokens - w.count)
            try w.append(tokens[start..<(start + take)])
            start += take
            if w.count == shardTokens { try close(progress: progress) }
        }
    }

    /// Closes the last shard (an empty split still gets one empty shard) and returns the split summary.
    func finish(progress: (PrepareEvent) -> Void) throws -> DatasetManifest.Split {
        if current == nil && shards.isEmpty { _ = try open() }
        try close(progress: progress)
        return .init(tokens: shards.reduce(0) { $0 + $1.tokens }, shards: shards)
    }
}
