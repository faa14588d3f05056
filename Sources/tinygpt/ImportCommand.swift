// `tinygpt import`: pretrained GPT-2 weights (a Hugging Face folder or an llm.c model file) become a
// run directory holding one checkpoint (step 0, weights only), which sample, eval and finetune --init
// read like any pretraining run. state.json says where it came from ("import").
import ArgumentParser
import Checkpoint
import Data
import Foundation
import Kernels
import NN
import Evaluate
import Train

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Turn pretrained GPT-2 weights (Hugging Face folder or llm.c file) into a TinyGPT run directory.",
        discussion: """
            --from is one of:
              a Hugging Face GPT-2 folder: config.json (model_type gpt2) and model.safetensors, or a sharded \
            model.safetensors.index.json; float32, float16 or bfloat16; its tokenizer from vocab.json + merges.txt \
            or tokenizer.json
              an llm.c model file (gpt2_124M.bin: version 3 float32 or 5 bfloat16), with --tokenizer
            --tokenizer (needed when the source has none): gpt2 (GPT-2's encoder.json + vocab.bpe, found as \
            'prepare --tokenizer gpt2' finds them), a folder with vocab.json + merges.txt or tokenizer.json, a \
            TinyGPT tokenizer.json, or a prepared dataset directory.
            The run directory appears only complete; an existing non-empty --out is refused. Beside the \
            checkpoint it holds model-config.json, the model's shape as a pretraining config (for tinygpt plan).
            Examples:
              tinygpt import --from gpt2-hf --out checkpoints/gpt2
              tinygpt import --from gpt2_124M.bin --tokenizer gpt2 --out checkpoints/gpt2
              tinygpt sample --checkpoint checkpoints/gpt2 --prompt "Hello"
              tinygpt plan --config checkpoints/gpt2/model-config.json --set batch_size=4
              tinygpt finetune --init checkpoints/gpt2 --task classify --train train.jsonl --dev dev.jsonl
            """)

    static let modelConfigFile = "model-config.json"

    @Option(name: .long, help: "Hugging Face GPT-2 folder, or llm.c model file (.bin).") var from: String
    @Option(name: .long, help: "Run directory to create (must not exist, or be empty).") var out: String
    @Option(name: .long,
            help: "Tokenizer when --from has none: gpt2, a folder, a tokenizer.json or a dataset directory.")
    var tokenizer: String?

    func run() throws {
        try runReportingErrors {
            let source = URL(fileURLWithPath: from).standardizedFileURL
            let outURL = URL(fileURLWithPath: out).standardizedFileURL
            try AtomicDirectory.checkWritable(outURL)
            let model: GPT
            var info: [String: Any] = ["source": source.path]
            var tok: (any Tokenizer)?
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: source.path, isDirectory: &isDirectory) else {
                throw ValidationError("--from \(from): no such file or folder")
            }
            if isDirectory.boolValue
                && !FileManager.default.fileExists(atPath: source.appendingPathComponent("config.json").path)
                && FileManager.default.fileExists(atPath: source.appendingPathComponent("model.bin").path) {
                // A folder written by `tinygpt export --format llmc`.
                let loaded = try LLMCModelFile.read(source.appendingPathComponent("model.bin"))
                model = loaded.model
                info["format"] = "llmc"; info["version"] = Int(loaded.header.version)
            } else if isDirectory.boolValue {
                // The tokenizer files parse on a second thread while the weights convert.
                let folderTokenizer = tokenizer != nil ? nil
                    : Background { try HuggingFaceTokenizerFiles.read(folder: source) }
                let imported = try HuggingFaceGPT2.load(folder: source)
                model = imported.model
                info["format"] = "hf"; info["dtypes"] = imported.dtypes; info["files"] = imported.files
                if let folderTokenizer { tok = try folderTokenizer.value() }
            } else {
                let loaded = try LLMCModelFile.read(source)
                model = loaded.model
                info["format"] = "llmc"; info["version"] = Int(loaded.header.version)
            }
            if let tokenizer { tok = try ImportCommand.loadTokenizer(tokenizer) }
            guard let tok else {
                if info["format"] as? String == "llmc" {
                    throw ValidationError("\(source.path): llm.c's tokenizer file holds no merges, so it cannot " +
                            "encode; pass --tokenizer gpt2|PATH")
                }
                throw ValidationError("\(source.path): no tokenizer here (vocab.json + merges.txt or " +
                        "tokenizer.json); pass --tokenizer gpt2|PATH")
            }
            guard tok.vocabSize <= model.config.vocabSize else {
                throw ValidationError("\(tokenizer ?? source.path): the tokenizer has \(tok.vocabSize) tokens but " +
                        "the model's vocab_size is \(model.config.vocabSize)")
            }
            if (info["format"] as? String) == "llmc", isDirectory.boolValue {
                let table = source.appendingPathComponent("tokenizer.bin")
                if FileManager.default.fileExists(atPath: table.path) {
                    try LLMCTokenizerFile.check(table, against: tok)
                }
            }

            var cfg = TrainConfig()
            cfg.dataset = ""
            cfg.vocabSize = model.config.vocabSize
            cfg.blockSize = model.config.blockSize
            cfg.nLayer = model.config.nLayer; cfg.nHead = model.config.nHead; cfg.nEmbd = model.config.nEmbd
            cfg.bias = model.config.bias; cfg.dropout = 0
            var trainConfig = cfg.jsonObject
            trainConfig.removeValue(forKey: "dataset")  // none: the weights came from elsewhere
            var state = RunState(kind: "pretrain", step: 0, config: trainConfig, model: model.config,
                                 tokenizer: tok.jsonObject(), batchRNG: RandomGenerator(seed: UInt64(cfg.seed)),
                                 dropoutRNG: RandomGenerator(seed: UInt64(cfg.seed) &+ 1), sampler: nil,
                                 bestValLoss: nil, threads: 0)
            state.extra["import"] = info
            let bytes = try state.encoded()
            // The model's keys as a partial pretraining config, for `tinygpt plan --config RUN/model-config.json`.
            let shape: [String: Any] = ["n_layer": cfg.nLayer, "n_head": cfg.nHead, "n_embd": cfg.nEmbd,
                                        "block_size": cfg.blockSize, "vocab_size": model.config.vocabSize,
                                        "bias": cfg.bias, "dropout": 0.0]
            let shapeBytes = try JSONSerialization.data(withJSONObject: shape, options: [.prettyPrinted, .sortedKeys])
            try AtomicDirectory.create(outURL) { dir in
                try CheckpointStore(runDirectory: dir).save(step: 0, model: model.parameters, optimizer: nil,
                                                            state: bytes)
                try AtomicDirectory.writeFile(shapeBytes, named: ImportCommand.modelConfigFile, in: dir)
            }
            let c = model.config
            Terminal.line("imported \(source.path) (\(info["format"]!)): \(c.nLayer) layers, \(c.nHead) heads, " +
                    "\(c.nEmbd) wide, "
                          + "block \(c.blockSize), vocab \(c.vocabSize), \(tok.type) tokenizer of \(tok.vocabSize) " +
                                  "tokens -> \(outURL.path)")
        }
    }

    /// --tokenizer: "gpt2", a Hugging Face folder or tokenizer.json, a TinyGPT tokenizer.json, or a dataset directory.
    static func loadTokenizer(_ spec: String) throws -> any Tokenizer {
        if spec == "gpt2" {
            return try BytePairTokenizer.loadGPT2(directory: try BytePairTokenizer.findGPT2Directory())
        }
        let url = URL(fileURLWithPath: spec)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw ValidationError("--tokenizer \(spec): no such file or folder")
        }
        if isDirectory.boolValue {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("manifest.json").path) {
                return try DatasetDirectory(url).loadTokenizer()
            }
            let json = url.appendingPathComponent(HuggingFaceTokenizerFiles.tokenizerFile)
            if isOurs(json) { return try TokenizerLoader.load(json) }
            if let t = try HuggingFaceTokenizerFiles.read(folder: url) { return t }
            throw ValidationError("--tokenizer \(spec): no vocab.json + merges.txt or tokenizer.json in this folder")
        }
        if isOurs(url) { return try TokenizerLoader.load(url) }
        return try HuggingFaceTokenizerFiles.readTokenizerJSON(url)
    }

    /// Whether `url` is a TinyGPT tokenizer.json (a top-level "type"; Hugging Face's has "model").
    static func isOurs(_ url: URL) -> Bool {
        let object = (try? JSONSerialization.jsonObject(with: Foundation.Data(contentsOf: url))) as? [String: Any]
        return object?["type"] is String && object?["model"] == nil
    }
}
