// `tinygpt export`: a checkpoint's language model in another tool's files — a Hugging Face
// GPT2LMHeadModel folder (transformers loads it) or llm.c's model and tokenizer files.
import ArgumentParser
import Checkpoint
import Data
import Foundation
import NN
import Evaluate

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a checkpoint as a Hugging Face GPT-2 folder or as llm.c files.",
        discussion: """
            hf: config.json (GPT2LMHeadModel), generation_config.json, model.safetensors (float32; zero biases \
            for a model trained with bias false), and tokenizer files AutoTokenizer loads with our ids: \
            vocab.json + merges.txt + tokenizer.json for byte-level BPE, tokenizer.json for the character tokenizer.
            llmc: model.bin (llm.c version 3, float32, vocabulary padded to a multiple of 128) and tokenizer.bin \
            (llm.c's decode table, version 2).
            A fine-tuned classifier exports its backbone (the classifier head has no place in GPT2LMHeadModel); \
            fine-tuning's added tokens are exported as special tokens. --out appears only complete.
            Examples:
              tinygpt export --checkpoint checkpoints/shakespeare-char-cpu --format hf --out exported/shakespeare
              python3 -c "from transformers import AutoModelForCausalLM as M; M.from_pretrained('exported/shakespeare')"
              tinygpt export --checkpoint checkpoints/gpt2 --format llmc --out exported/gpt2-llmc
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case hf, llmc }

    @Option(name: .long, help: "Checkpoint: a step directory or a run directory (uses its latest).")
    var checkpoint: String
    @Option(name: .long, help: "hf or llmc.") var format: Format
    @Option(name: .long, help: "Folder to create (must not exist, or be empty).") var out: String
    @OptionGroup var verification: VerifyOptions

    func run() throws {
        try runReportingErrors {
            let outURL = URL(fileURLWithPath: out).standardizedFileURL
            try AtomicDirectory.checkWritable(outURL)
            let url = try CheckpointStore.resolve(path: checkpoint)
            let statePath = url.appendingPathComponent(CheckpointStore.stateFile).path
            let state = try RunState.decode(try CheckpointStore.readState(from: url), source: statePath)
            let tokenizer = try TokenizerLoader.decode(state.tokenizer, source: statePath + " (tokenizer)")
            var extraTokens: [String: Int32] = [:]
            var note: String?
            if state.kind.hasPrefix("finetune-") {
                let ft = try FinetuneState.decode(state, source: statePath)
                for (name, id) in ft.tokens { extraTokens["<|\(name)|>"] = id }
                if ft.task == .classify {
                    note = "exported the backbone only: the classifier head (\(ft.labels.count) labels) is not part " +
                            "of GPT2LMHeadModel"
                }
            }
            var config = state.model
            config.dropout = 0
            try config.validate()
            let model = GPT(config: config, seed: nil, trainable: false)
            if verification.verify { try CheckpointStore.verifyFiles([CheckpointStore.modelFile], in: url) }
            let weights = try SafeTensorsFile(contentsOf: url.appendingPathComponent(CheckpointStore.modelFile))
            for p in model.parameters { try weights.read(p.name, into: p.tensor) }
            let vocabulary = tokenizer.vocabSize + extraTokens.count
            guard vocabulary <= config.vocabSize else {
                throw ValidationError("\(statePath): the tokenizer has \(vocabulary) tokens but the model's " +
                        "vocab_size is \(config.vocabSize)")
            }

            try AtomicDirectory.create(outURL) { dir in
                switch format {
                case .hf:
                    try HuggingFaceExport.write(config, parameters: model.parameters, eot: tokenizer.eotToken, to: dir)
                    let files = try HuggingFaceTokenizerFiles.files(for: tokenizer, extraTokens: extraTokens,
                                                                    maxLength: config.blockSize)
                    for (name, data) in files {
                        try AtomicDirectory.writeFile(data, named: name, in: dir)
                    }
                case .llmc:
                    try LLMCModelFile.write(config, parameters: model.parameters,
                                            to: dir.appendingPathComponent("model.bin"))
                    if extraTokens.isEmpty {
                        try AtomicDirectory.writeFile(try LLMCTokenizerFile.encode(tokenizer), named: "tokenizer.bin",
                                                      in: dir)
                    }
                }
            }
            if let note { Terminal.warning(note) }
            Terminal.line("exported \(url.path) (\(format.rawValue)): \(config.nLayer) layers, \(config.nEmbd) " +
                    "wide, vocab \(config.vocabSize), \(tokenizer.type) tokenizer -> \(outURL.path)")
        }
    }
}
