// The effective configuration of a pretraining run under nanoGPT's names: the model's shape
// (GPTConfig's fields) and the training hyper-parameters. Config files are partial: defaults < file <
// flags < --set (the engine in Config/).
import Foundation
import Config
import NN

@dynamicMemberLookup
public struct TrainConfig: Configurable, Equatable {
    // Data
    public var dataset = "data/shakespeare_char"
    /// nanoGPT's init_from: "scratch", or a checkpoint whose weights start the run (fresh optimizer
    /// and step counter; its tokenizer must be the dataset's).
    public var initFrom = "scratch"
    // Model: nanoGPT's GPTConfig, with train.py's bias default and vocab_size from the tokenizer.
    public var model = GPTConfig(vocabSize: 0, blockSize: 1024, nLayer: 12, nHead: 12, nEmbd: 768, dropout: 0,
                                 bias: false)
    // Optimisation, evaluation and checkpoints (nanoGPT train.py defaults)
    public var optimization = OptimizationConfig()
    public var evalIters = 200
    // Reproducibility and threads
    public var seed = 1337
    public var threads = 0                 // 0: all active cores

    public init() {}

    public static let fields: [ConfigField<TrainConfig>] =
        [.string("dataset", \.dataset), .string("init_from", \.initFrom)]
        + GPTConfig.fields.map { $0.lifted(\.model) }
        + OptimizationConfig.fields.map { $0.lifted(\.optimization) }
        + [.int("eval_iters", \.evalIters, min: 1),
           .int("seed", \.seed),
           .int("threads", \.threads)]

    public func validate(source: String) throws {
        try model.validate(source: source)
        try optimization.validate(source: source)
    }

    /// `config.nLayer`, `config.learningRate`, …: the model's and the optimisation's fields by name.
    public subscript<T>(dynamicMember path: WritableKeyPath<GPTConfig, T>) -> T {
        get { model[keyPath: path] }
        set { model[keyPath: path] = newValue }
    }
    public subscript<T>(dynamicMember path: WritableKeyPath<OptimizationConfig, T>) -> T {
        get { optimization[keyPath: path] }
        set { optimization[keyPath: path] = newValue }
    }

    /// vocab_size as configured; nil: the dataset tokenizer's.
    public var vocabSize: Int? {
        get { model.vocabSize > 0 ? model.vocabSize : nil }
        set { model.vocabSize = newValue ?? 0 }
    }

    /// Tokens consumed per optimiser step.
    public var tokensPerStep: Int { optimization.batchSize * model.blockSize * optimization.gradientAccumulationSteps }

    /// Refuses sizes too large to count (GPT.sizeProblem for `model`, and tokens per optimiser step)
    /// with a one-line error under `source` naming the keys; call before counting or allocating.
    public func checkSizes(model: GPTConfig, source: String) throws {
        if let problem = GPT.sizeProblem(model, batch: optimization.batchSize, time: model.blockSize) {
            throw ConfigError(source: source, message: problem)
        }
        let perStep = Double(optimization.batchSize) * Double(model.blockSize)
            * Double(optimization.gradientAccumulationSteps)
        if !(perStep < GPT.countLimit) {
            let o = optimization
            throw ConfigError(source: source, message: "batch_size × block_size × gradient_accumulation_steps " +
                    "(\(o.batchSize) × \(model.blockSize) × \(o.gradientAccumulationSteps)) is more tokens per " +
                    "step than can be counted; lower gradient_accumulation_steps")
        }
    }

    /// The GPT of this config's shape with `vocabSize` tokens (not yet validated).
    public func modelConfig(vocabSize: Int) -> GPTConfig {
        var m = model
        m.vocabSize = vocabSize
        return m
    }

    /// vocab_size from the config, else the tokenizer's; a configured size below the tokenizer's is a
    /// one-line error under `source` (the tokenizer would emit ids the embedding cannot hold).
    public func vocabularySize(tokenizerSize: Int, source: String = "vocab_size") throws -> Int {
        let v = vocabSize ?? tokenizerSize
        if v < tokenizerSize {
            let what = source == "vocab_size" ? "" : "vocab_size "
            throw ConfigError(source: source, message: "\(what)\(v) is smaller than the dataset tokenizer's " +
                    "\(tokenizerSize) tokens")
        }
        return v
    }
}
