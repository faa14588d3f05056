// `tinygpt prepare`: tokenise text files, directories and JSONL into a dataset directory of llm.c
// token shards (see Sources/Data/DatasetPreparer.swift). Renders the library's progress events as a
// progress bar on a terminal and as plain lines otherwise.
import ArgumentParser
import Data
import Dispatch
import Foundation

struct PrepareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Tokenise text into train/val token shards for training.",
        discussion: """
            Inputs are plain-text files (one document each), directories of them, and JSONL files
            (.jsonl, one document per line in its "text" field). The last --val-fraction of the input
            bytes becomes the validation split. Writes tokenizer.json, train_NNNNNN.bin,
            val_NNNNNN.bin (llm.c's shard format) and manifest.json into --out.
            Example: tinygpt prepare --input data/tinyshakespeare.txt --tokenizer char --out data/shakespeare_char
            """)

    @Option(name: .long, parsing: .upToNextOption, help: "Text files, directories or .jsonl files.")
    var input: [String]

    @Option(name: .long, help: "char, bpe:N (train a byte-level BPE of N tokens, e.g. bpe:1024) or gpt2.")
    var tokenizer: String

    @Option(name: .long, help: "Output dataset directory, e.g. data/shakespeare_char.")
    var out: String

    @Option(name: .customLong("val-fraction"),
            help: "Fraction of the input (by bytes, from the end) kept for validation.")
    var valFraction: Double = 0.1

    @Option(name: .customLong("shard-tokens"), help: "Tokens per shard file.")
    var shardTokens: Int = 100_000_000

    @Flag(name: .long, help: "Replace a different dataset already in --out.")
    var overwrite = false

    @Option(name: .long, help: "strict (stop at invalid UTF-8) or replace (substitute U+FFFD).")
    var errors: String = "strict"

    @Option(name: .customLong("gpt2-dir"),
            help: "Folder with GPT-2's encoder.json and vocab.bpe (default: data/gpt2-bpe or ../shared/data/gpt2-bpe).")
    var gpt2Dir: String?

    func run() throws {
        try runReportingErrors {
            guard let policy = UTF8ErrorPolicy(rawValue: errors) else {
                throw DataError.badOption(flag: "--errors", problem: "\"\(errors)\" is not strict or replace")
            }
            var options = PrepareOptions(
                inputs: input.map { URL(fileURLWithPath: $0) },
                tokenizer: try TokenizerSpec(parsing: tokenizer),
                output: URL(fileURLWithPath: out))
            options.valFraction = valFraction
            options.shardTokens = shardTokens
            options.overwrite = overwrite
            options.errors = policy
            options.gpt2Directory = gpt2Dir.map { URL(fileURLWithPath: $0) }

            let renderer = PrepareProgressRenderer()
            let manifest = try DatasetPreparer.prepare(options) { renderer.handle($0) }
            Terminal.line("wrote \(out): \(manifest.tokenizerType) tokenizer, vocab \(manifest.vocabSize), "
                + "train \(manifest.train.tokens) tokens in \(manifest.train.shards.count) shard(s), "
                + "val \(manifest.val.tokens) tokens in \(manifest.val.shards.count) shard(s), "
                + "\(manifest.documents) document(s)"
                + (manifest.replacedSequences > 0
                    ? ", \(manifest.replacedSequences) invalid UTF-8 sequence(s) replaced" : ""))
        }
    }
}

/// Turns PrepareEvents into a live bar (TTY, at most 10 redraws a second) or plain lines (every 10%).
final class PrepareProgressRenderer {
    private var lastDraw: UInt64 = 0
    private var lastTenth = -1

    func handle(_ event: PrepareEvent) {
        switch event {
        case .phaseStarted(let phase, let total):
            lastTenth = -1
            if !Terminal.isTTY {
                Terminal.line(phase == .training ? "training \(total) merges"
                                                 : "\(phase.rawValue) \(Self.megabytes(total)) of text")
            }
        case .progress(let p) where p.phase == .training:
            // Training progress counts merges, not bytes.
            let tenth = p.totalBytes > 0 ? p.bytesDone * 10 / p.totalBytes : 10
            if Terminal.isTTY {
                Terminal.live("training \(p.bytesDone)/\(p.totalBytes) merges")
            } else if tenth > lastTenth {
                lastTenth = tenth
                Terminal.line("training \(p.bytesDone)/\(p.totalBytes) merges")
            }
        case .progress(let p):
            let fraction = p.totalBytes > 0 ? Double(p.bytesDone) / Double(p.totalBytes) : 1
            if Terminal.isTTY {
                let now = DispatchTime.now().uptimeNanoseconds
                guard now - lastDraw > 100_000_000 || p.bytesDone == p.totalBytes else { return }
                lastDraw = now
                let width = 30
                let filled = Int(fraction * Double(width))
                let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
                Terminal.live("\(p.phase.rawValue) [\(bar)] \(Int(fraction * 100))% "
                    + "\(Self.megabytes(p.bytesDone))/\(Self.megabytes(p.totalBytes)) "
                    + String(format: "%.1f MB/s", p.bytesPerSecond / 1e6)
                    + " ETA \(p.etaSeconds.map { Terminal.duration($0) } ?? "?")")
            } else {
                let tenth = Int(fraction * 10)
                guard tenth > lastTenth else { return }
                lastTenth = tenth
                Terminal.line("\(p.phase.rawValue) \(tenth * 10)% \(Self.megabytes(p.bytesDone)) "
                    + String(format: "%.1f MB/s", p.bytesPerSecond / 1e6)
                    + " ETA \(p.etaSeconds.map { Terminal.duration($0) } ?? "?")")
            }
        case .shardWritten(let file, let tokens):
            Terminal.line("wrote \(file) (\(tokens) tokens)")
        case .finished:
            break
        }
    }

    static func megabytes(_ bytes: Int) -> String { String(format: "%.1f MB", Double(bytes) / 1e6) }
}
