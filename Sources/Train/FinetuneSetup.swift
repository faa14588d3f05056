// Everything a fine-tuning run needs before its first step, one job per function: read the task
// files, fix the label map, build the model (from this run's checkpoint, or the initial weights grown
// by the task tokens), encode every row, and choose what the optimiser trains. Every problem is a
// one-line error naming the file, line or flag, raised before any training.
import Foundation
import Checkpoint
import Config
import Data
import Evaluate
import Kernels
import NN

enum FinetuneSetup {
    /// The task's rows as read from the JSONL files.
    struct Rows {
        var labelledTrain: [LabelledRow] = [], labelledDev: [LabelledRow] = []
        var promptTrain: [PromptRow] = [], promptDev: [PromptRow] = []
        var labels: [String] = []
    }

    /// The model, its tokenizer and the fine-tuning state, before the rows are encoded.
    struct Start {
        var model: GPT
        var head: ClassifierHead?
        var tokenizer: any Tokenizer
        var state: FinetuneState
        var resume: (url: URL, state: RunState)?
    }

    /// Builds the task, and where it resumes from.
    static func makeTask(_ config: FinetuneConfig, run: RunDirectory, resume: String?, verify: Bool = true) throws
        -> (FinetuneTask, ResumePoint?) {
        let resumeURL = try run.resumeCheckpoint(resume)
        try run.checkWritable()
        let rows = try readRows(config)
        let start = try resumeURL.map { try restore(config, from: $0, rows: rows) }
            ?? initialModel(config, rows: rows, verify: verify)
        let encoded = try encode(config, rows: rows, start: start)
        let trainable = trainableParameters(config, model: start.model, head: start.head)

        // Packed contexts are filled row by row from the epoch order; they need no length buckets.
        let pool = config.lengthBuckets && !(config.task == .generate && config.pack) ? BatchPlan.defaultPoolBatches : 1
        let lengths = encoded.train.map(\.ids.count), ft = start.state
        var resumePoint: ResumePoint? = nil
        var plan = BatchPlan(lengths: lengths, batchSize: config.batchSize, poolBatches: pool,
                             seed: UInt64(config.seed))
        if let (url, state) = start.resume {
            guard ft.cursor < encoded.train.count else {
                throw TrainingError(source: config.trainFile, message: "has \(encoded.train.count) rows but the " +
                        "checkpoint stopped at row \(ft.cursor) of an epoch; the training file changed")
            }
            plan = BatchPlan(lengths: lengths, batchSize: config.batchSize, poolBatches: pool,
                             seed: UInt64(config.seed), epoch: ft.epoch, cursor: ft.cursor, poolBatch: ft.poolBatch)
            resumePoint = ResumePoint(checkpoint: url, state: state, best: ft.bestMetric, verify: verify)
        }
        let task = FinetuneTask(config: config, model: start.model, head: start.head, tokenizer: start.tokenizer,
                                state: ft, trainable: trainable, trainRows: encoded.train, devRows: encoded.dev,
                                devPrompts: encoded.devPrompts, plan: plan, endToken: ft.tokens["end"],
                                warnings: encoded.warnings)
        return (task, resumePoint)
    }

    /// Reads the task files; classify also fixes the label map and checks the dev labels against it.
    static func readRows(_ config: FinetuneConfig) throws -> Rows {
        var rows = Rows()
        guard config.task == .classify else {
            rows.promptTrain = try readPromptRows(config.trainFile)
            rows.promptDev = try readPromptRows(config.devFile)
            return rows
        }
        rows.labelledTrain = try readLabelledRows(config.trainFile)
        rows.labelledDev = try readLabelledRows(config.devFile)
        rows.labels = labelMap(rows.labelledTrain)
        if rows.labels.count < 2 {
            throw TrainingError(source: config.trainFile, message: "every row has the label \"\(rows.labels[0])\"; " +
                    "classification needs at least two labels")
        }
        let known = Set(rows.labels)
        if let bad = rows.labelledDev.first(where: { !known.contains($0.label) }) {
            throw TrainingError(source: "\(config.devFile):\(bad.line)", message: "label \"\(bad.label)\" does not " +
                    "appear in the training file \(config.trainFile) (its labels: " +
                    "\(rows.labels.joined(separator: ", ")))")
        }
        return rows
    }

    /// Labels in a fixed order that depends only on the set of labels: numerically when every label
    /// is an integer (so 0, 1, 2 map to outputs 0, 1, 2), otherwise by Unicode code points.
    static func labelMap(_ rows: [LabelledRow]) -> [String] {
        let set = Set(rows.map(\.label))
        if set.allSatisfy({ Int($0) != nil }) { return set.sorted { Int($0)! < Int($1)! } }
        return set.sorted {
            Array($0.unicodeScalars.map(\.value)).lexicographicallyPrecedes($1.unicodeScalars.map(\.value))
        }
    }

    /// This run's checkpoint: its model shape, tokenizer and fine-tuning state (weights load later,
    /// with the optimiser's moments).
    static func restore(_ config: FinetuneConfig, from url: URL, rows: Rows) throws -> Start {
        let task = config.task
        let source = url.appendingPathComponent(CheckpointStore.stateFile).path
        let state = try RunState.decode(try CheckpointStore.readState(from: url), source: source)
        guard state.kind == FinetuneState.kind(task) else {
            throw TrainingError(source: url.path, message: "is a \"\(state.kind)\" checkpoint, not " +
                    "\(FinetuneState.kind(task)); it cannot resume --task \(task.rawValue)")
        }
        let ft = try FinetuneState.decode(state, source: source)
        if task == .classify && ft.labels != rows.labels {
            throw TrainingError(source: config.trainFile, message: "labels (\(rows.labels.joined(separator: ", "))) " +
                    "differ from the checkpoint's (\(ft.labels.joined(separator: ", ")))")
        }
        if task == .generate && ft.template != config.template {
            throw TrainingError(source: "--template", message: "differs from the one the checkpoint \(url.path) was " +
                    "trained with")
        }
        let tokenizer = try TokenizerLoader.decode(state.tokenizer, source: source + " (tokenizer)")
        var mc = state.model
        mc.dropout = Float(config.dropout ?? Double(state.model.dropout))
        try mc.validate()
        try MemoryCheck.verify(mc, batch: config.batchSize, time: mc.blockSize,
                               allowOversubscribe: config.allowOversubscribe, source: source)
        let head = task == .classify ? ClassifierHead(features: mc.nEmbd, labels: rows.labels.count, seed: nil) : nil
        return Start(model: GPT(config: mc, seed: nil), head: head, tokenizer: tokenizer, state: ft,
                     resume: (url, state))
    }

    /// The initial weights (or a scratch model), with the task tokens appended to the vocabulary and,
    /// for classify, a new head.
    static func initialModel(_ config: FinetuneConfig, rows: Rows, verify: Bool) throws -> Start {
        let task = config.task, seed = config.seed
        let base = try loadBase(config, verify: verify)
        let baseVocab = base.config.vocabSize
        var tokens: [String: Int32] = [:]
        var added = 0
        if task == .classify {
            tokens = ["start": Int32(baseVocab), "delimiter": Int32(baseVocab + 1), "extract": Int32(baseVocab + 2)]
            added = ClassificationFormat.addedTokens
        } else {
            let end = InstructionFormat.endToken(tokenizer: base.tokenizer, baseVocabSize: baseVocab)
            tokens = ["end": end.id]
            added = end.added ? 1 : 0
        }
        var mc = base.config
        mc.vocabSize = baseVocab + added
        mc.dropout = Float(config.dropout ?? Double(base.config.dropout))
        try mc.validate()
        try MemoryCheck.verify(mc, batch: config.batchSize, time: mc.blockSize,
                               allowOversubscribe: config.allowOversubscribe,
                               source: config.initFrom == "scratch" ? config.modelConfig ?? "model_config"
                                                                    : config.initFrom)
        let model = GPT(config: mc, seed: base.model == nil ? UInt64(seed) : nil)
        if let b = base.model { copyWeights(from: b, to: model, seed: SeedOffset.addedEmbeddings.seed(seed)) }
        let head = task == .classify
            ? ClassifierHead(features: mc.nEmbd, labels: rows.labels.count, seed: SeedOffset.classifierHead.seed(seed))
            : nil
        let state = FinetuneState(task: task, baseVocabSize: baseVocab, tokens: tokens, labels: rows.labels,
                                  template: task == .generate ? config.template : nil, initFrom: config.initFrom)
        return Start(model: model, head: head, tokenizer: base.tokenizer, state: state, resume: nil)
    }

    /// The starting point: a pretraining checkpoint's model and tokenizer, or (scratch) a pretraining
    /// config's model shape and its dataset's tokenizer, with no weights (model nil).
    static func loadBase(_ config: FinetuneConfig, verify: Bool) throws
        -> (model: GPT?, config: GPTConfig, tokenizer: any Tokenizer) {
        if config.initFrom == "scratch" {
            let tc = try TrainConfig.load(path: config.modelConfig!)
            let tokenizer = try DatasetDirectory(URL(fileURLWithPath: tc.dataset)).loadTokenizer()
            let vocab = try tc.vocabularySize(tokenizerSize: tokenizer.vocabSize, source: config.modelConfig!)
            let mc = tc.modelConfig(vocabSize: vocab)
            try mc.validate()
            return (nil, mc, tokenizer)
        }
        let loaded: LoadedModel
        do {
            let url = try CheckpointStore.resolve(path: config.initFrom)
            let state = try RunState.decode(try CheckpointStore.readState(from: url),
                                            source: url.appendingPathComponent(CheckpointStore.stateFile).path)
            guard state.kind == "pretrain" else {
                throw TrainingError(source: url.path, message: "is a \"\(state.kind)\" checkpoint; fine-tuning " +
                        "starts from a pretraining checkpoint")
            }
            loaded = try LoadedModel(checkpoint: url.path, verify: verify)
        } catch {
            throw TrainingError(source: "--init", message: "\(error)")
        }
        var mc = loaded.model.config
        mc.dropout = loaded.state.model.dropout
        return (loaded.model, mc, loaded.tokenizer)
    }

    /// Copies every base weight into the grown model; the rows wte gains (task tokens) get GPT-2's
    /// embedding init N(0, 0.02) from `seed`.
    static func copyWeights(from base: GPT, to model: GPT, seed: UInt64) {
        for (b, m) in zip(base.parameters, model.parameters) {
            precondition(b.name == m.name, "FinetuneSetup.copyWeights: parameter \(b.name) meets \(m.name)")
            m.tensor.data.update(from: b.tensor.data, count: b.tensor.count)
            if m.tensor.count > b.tensor.count {
                var rng = RandomGenerator(seed: seed)
                rng.fillNormal(m.tensor.data + b.tensor.count, count: m.tensor.count - b.tensor.count,
                               mean: 0, std: 0.02)
            }
        }
    }

    /// The rows as token ids.
    struct Encoded {
        var train: [EncodedRow] = [], dev: [EncodedRow] = []
        var devPrompts: [(ids: [Int32], prompt: String, reference: String)] = []
        var warnings: [String] = []
    }

    /// Encodes every row now, so a tokenizer that cannot represent the data fails before training.
    static func encode(_ config: FinetuneConfig, rows: Rows, start: Start) throws -> Encoded {
        let block = start.model.config.blockSize
        var out = Encoded()
        var truncatedTrain = 0, truncatedDev = 0
        func encodingError(_ path: String, _ line: Int, _ error: Error) -> TrainingError {
            TrainingError(source: "\(path):\(line)", message: "\(error) (the tokenizer of the initial checkpoint " +
                    "cannot encode this data)")
        }
        func add(_ row: EncodedRow, truncated: Bool, isTrain: Bool) {
            if isTrain { out.train.append(row); truncatedTrain += truncated ? 1 : 0 }
            else { out.dev.append(row); truncatedDev += truncated ? 1 : 0 }
        }
        if config.task == .classify {
            let format = ClassificationFormat(tokenizer: start.tokenizer, baseVocabSize: start.state.baseVocabSize,
                                              blockSize: block)
            let index = Dictionary(uniqueKeysWithValues: rows.labels.enumerated().map { ($1, Int32($0)) })
            for (list, path, isTrain) in [(rows.labelledTrain, config.trainFile, true),
                                          (rows.labelledDev, config.devFile, false)] {
                for r in list {
                    let e: (ids: [Int32], truncated: Bool)
                    do {
                        e = try format.encode(text: r.text, textB: r.textB)
                    } catch {
                        throw encodingError(path, r.line, error)
                    }
                    add(EncodedRow(ids: e.ids, label: index[r.label]!), truncated: e.truncated, isTrain: isTrain)
                }
            }
        } else {
            let format = try InstructionFormat(tokenizer: start.tokenizer, template: config.template,
                                               end: start.state.tokens["end"]!, blockSize: block)
            for (list, path, isTrain) in [(rows.promptTrain, config.trainFile, true),
                                          (rows.promptDev, config.devFile, false)] {
                for r in list {
                    let e: (ids: [Int32], promptCount: Int, truncated: Bool)
                    do {
                        e = try format.encode(prompt: r.prompt, completion: r.completion)
                    } catch {
                        throw encodingError(path, r.line, error)
                    }
                    if e.ids.count < 2 {
                        throw TrainingError(source: "\(path):\(r.line)", message: "the row encodes to fewer than " +
                                "two tokens; nothing to train on")
                    }
                    add(EncodedRow(ids: e.ids, promptCount: e.promptCount), truncated: e.truncated, isTrain: isTrain)
                }
            }
            for r in rows.promptDev.prefix(config.devLimit) {
                out.devPrompts.append((try format.promptIds(r.prompt), r.prompt, r.completion))
            }
        }
        if truncatedTrain + truncatedDev > 0 {
            out.warnings.append("\(truncatedTrain) of \(out.train.count) train rows and \(truncatedDev) of " +
                    "\(out.dev.count) dev rows are longer than the \(block)-token context and were truncated")
        }
        return out
    }

    /// What the optimiser updates. freeze_base: the head and the added token embeddings only (the base
    /// rows of wte have their gradient zeroed after each backward pass; see FinetuneTask.afterBackward).
    static func trainableParameters(_ config: FinetuneConfig, model: GPT, head: ClassifierHead?) -> [NamedParameter] {
        var trainable: [NamedParameter]
        if config.freezeBase {
            for p in model.parameters where p.tensor !== model.wte { p.tensor.requiresGrad = false }
            let wte = model.parameters.first { $0.tensor === model.wte }!
            trainable = [NamedParameter(name: wte.name, tensor: wte.tensor, decays: false)]
        } else {
            trainable = model.parameters
        }
        return trainable + (head?.parameters ?? [])
    }
}
