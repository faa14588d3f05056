// What a pretraining config will cost before it runs: parameters, FLOPs, and memory. The model is the
// one Pretrainer would build from the same config (vocab_size from the config, else from the
// dataset's tokenizer). Time comes from StepTimeEstimate with a ThroughputMeasurement.
import Foundation
import Config
import Data
import Kernels
import NN
import Train

public struct TrainingPlan {
    /// The config with vocab_size filled in.
    public let config: TrainConfig
    public let model: GPTConfig
    public let parameters: ParameterSplit
    /// nanoGPT's 6·N + 12·L·C·T.
    public let flopsPerToken: Double
    public let memory: MemoryEstimate
    /// The attention kernel pair training will use (AttentionMethod.automatic), which `memory` counts.
    public let attention: AttentionMethod
    /// Bytes every layer's attention saves for backward in one micro-batch, by method.
    public let attentionBytes: [(method: AttentionMethod, bytes: Int)]
    /// True when vocab_size came from the dataset's tokenizer rather than the config.
    public private(set) var vocabularyFromDataset = false

    /// Bytes a run holds at its peak (fp32 throughout), as training checks them before it allocates.
    public typealias MemoryEstimate = TrainingMemory

    /// Resolves vocab_size the way Pretrainer does, then counts. `source` names the config in errors.
    public init(config: TrainConfig, source: String) throws {
        var cfg = config
        cfg.vocabSize = try Self.vocabularySize(cfg, source: source)
        let fromDataset = config.vocabSize == nil
        let model = cfg.modelConfig(vocabSize: cfg.vocabSize!)
        do { try model.validate() } catch { throw ConfigError(source: source, message: "\(error)") }
        try cfg.checkSizes(model: model, source: source)
        self.init(config: cfg, model: model)
        vocabularyFromDataset = fromDataset
    }

    /// Counts for a model whose vocabulary is already known; its sizes must have passed
    /// `TrainConfig.checkSizes`.
    public init(config: TrainConfig, model: GPTConfig) {
        self.config = config
        self.model = model
        parameters = GPT.parameterSplit(model)
        flopsPerToken = model.flopsPerToken
        memory = GPT.trainingMemory(model, batch: config.batchSize, time: config.blockSize)
        let g = AttentionGeometry.fused(B: config.batchSize, T: config.blockSize, NH: model.nHead, hs: model.headSize)
        attention = AttentionMethod.chosen(g)
        attentionBytes = AttentionMethod.allCases.map { ($0, 4 * model.nLayer * $0.savedFloats(g)) }
    }

    /// FLOPs of one optimiser step: per token × batch × block × gradient accumulation.
    public var flopsPerStep: Double { flopsPerToken * Double(config.tokensPerStep) }

    /// The forward products of one micro-batch, as `linear` makes them: rows B·T against each layer's
    /// c_attn (3C), attn.c_proj (C), mlp.c_fc (4C) and mlp.c_proj (C from 4C), and the tied head (V).
    public var gemmShapes: [GemmShape] {
        let rows = config.batchSize * config.blockSize, c = model.nEmbd, l = model.nLayer
        return [GemmShape("attn.c_attn", m: rows, n: 3 * c, k: c, calls: l),
                GemmShape("attn.c_proj", m: rows, n: c, k: c, calls: l),
                GemmShape("mlp.c_fc", m: rows, n: 4 * c, k: c, calls: l),
                GemmShape("mlp.c_proj", m: rows, n: c, k: 4 * c, calls: l),
                GemmShape("lm_head", m: rows, n: model.vocabSize, k: c)]
    }

    /// The causal self-attention of one micro-batch.
    public var attentionShape: AttentionShape {
        AttentionShape(pairs: config.batchSize * model.nHead, T: config.blockSize, hs: model.headSize,
                       method: attention)
    }

    /// Threads the run would use (config `threads`, 0 = all active cores).
    public var threads: Int {
        config.threads > 0 ? config.threads : max(1, ProcessInfo.processInfo.activeProcessorCount)
    }

    /// Times this model's products and memcpy on this machine now, and estimates the run.
    public func estimateTime() -> (StepTimeEstimate, ThroughputMeasurement) {
        let measured = ThroughputProbe.measure(gemmShapes, attention: attentionShape, threads: threads)
        return (StepTimeEstimate(self, measured), measured)
    }

    /// vocab_size from the config, else the dataset's tokenizer; one-line errors name `source`.
    static func vocabularySize(_ cfg: TrainConfig, source: String) throws -> Int {
        let dataset: DatasetDirectory
        let tokenizerSize: Int
        do {
            dataset = try DatasetDirectory(URL(fileURLWithPath: cfg.dataset))
            tokenizerSize = try dataset.loadTokenizer().vocabSize
        } catch {
            guard let v = cfg.vocabSize else {
                throw ConfigError(source: source, message: "has no vocab_size, and dataset \(cfg.dataset) cannot " +
                        "supply one (\(error)); pass --vocab-size N")
            }
            return v
        }
        return try cfg.vocabularySize(tokenizerSize: tokenizerSize)
    }
}
