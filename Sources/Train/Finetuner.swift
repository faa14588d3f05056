// Fine-tuning a pretrained GPT on labelled data, the same loop as Pretrainer (AdamW, warm-up + cosine
// schedule, clipping, periodic evaluation, checkpoints, exact resume, Ctrl-C) over task rows:
//   classify  GPT-1 (Radford et al. 2018, §3.2): L3 = CE(head(h_extract), label) + λ·LM loss on the input
//   generate  instruction tuning: LM loss on the completion and end tokens only, optional packing
// Rows are visited in a fresh permutation each epoch (RowOrder); batches are right-padded to their
// longest row (causal attention keeps padding out of every real position; pad targets are -1), or,
// with pack, several generate rows share a context as attention segments.
import Foundation
import Autograd
import Checkpoint
import Data
import Kernels
import NN
import Optim

public struct FinetuneOptions {
    public var config: FinetuneConfig
    public var runDirectory: URL
    /// A step directory, a run directory, or "auto" (this run's latest checkpoint, if any).
    public var resume: String?

    public init(config: FinetuneConfig, runDirectory: URL, resume: String? = nil) {
        self.config = config; self.runDirectory = runDirectory; self.resume = resume
    }
}

public struct FinetuneResult {
    public var step: Int
    public var bestMetric: Double?
    public var lastEval: TaskEvalMetrics?
    public var interrupted: Bool
    public var seconds: Double
}

/// A row as token ids: classify rows end in the extract token and carry a label index; generate rows
/// hold prompt + completion + end, of which the first `promptCount` ids get no loss.
struct EncodedRow {
    var ids: [Int32]
    var label: Int32 = 0
    var promptCount: Int = 0
}

/// One batch, row-major (B·T).
struct TaskBatch {
    var batch: Int
    var time: Int
    var ids: [Int32]
    var targets: [Int32]          // LM targets (-1: no loss)
    var segments: [Int32]?
    var extract: [Int] = []       // classify: flat (b·T + t) index of each row's extract token
    var labels: [Int32] = []      // classify: label index per row
    var tokens: Int               // real (non-pad) positions
}

public final class Finetuner {
    public let config: FinetuneConfig
    public let model: GPT
    public let head: ClassifierHead?
    public let tokenizer: any Tokenizer
    public private(set) var finetuneState: FinetuneState
    let trainable: [NamedParameter]
    let optimizer: AdamW
    let schedule: LearningRateSchedule
    let store: CheckpointStore
    let metrics: MetricsLog
    let trainRows: [EncodedRow]
    let devRows: [EncodedRow]
    /// generate: the first dev_limit dev rows as (prompt ids, prompt text, reference completion).
    let devPrompts: [(ids: [Int32], prompt: String, reference: String)]
    var plan: BatchPlan
    var batchRNG: RandomGenerator
    var dropoutRNG: RandomGenerator
    var step = 0
    let endToken: Int32?
    let resumedFrom: String?
    let warnings: [String]
    let emit: (TrainingEvent) -> Void

    public var labels: [String] { finetuneState.labels }

    /// Sets up the run: reads and encodes the task files, builds the model from the initial checkpoint
    /// (or restores a checkpoint of this run), and the optimiser. Throws a one-line error for bad input
    /// files, an initial checkpoint that does not fit the data, or an unusable run directory.
    public init(_ options: FinetuneOptions, events: @escaping (TrainingEvent) -> Void = { _ in }) throws {
        let config = options.config
        try config.validate()
        emit = events
        if config.threads > 0 { Parallel.setThreadCount(config.threads) }
        let task = config.task
        if config.freezeBase && task == .generate {
            throw TrainConfigError(source: "--freeze-base", message: "applies to --task classify (it trains the classifier head and the task-token embeddings only)")
        }

        // Run directory: refuse to start over an earlier run, and fail early when it cannot be written.
        store = CheckpointStore(runDirectory: options.runDirectory, keepLast: config.keepLast)
        var resumeURL: URL? = nil
        if let r = options.resume { resumeURL = try store.resolve(resume: r) }
        if resumeURL == nil, let existing = try store.checkpoints().last {
            throw TrainConfigError(source: options.runDirectory.path, message: "already holds checkpoints (latest \(existing.url.lastPathComponent)); pass --resume auto to continue it or --out to start a new run")
        }
        try Finetuner.checkWritable(options.runDirectory)

        // Task files.
        let labelledTrain = task == .classify ? try readLabelledRows(config.trainFile) : []
        let labelledDev = task == .classify ? try readLabelledRows(config.devFile) : []
        let promptTrain = task == .generate ? try readPromptRows(config.trainFile) : []
        let promptDev = task == .generate ? try readPromptRows(config.devFile) : []
        var labels: [String] = []
        if task == .classify {
            labels = Finetuner.labelMap(labelledTrain)
            if labels.count < 2 {
                throw TrainConfigError(source: config.trainFile, message: "every row has the label \"\(labels[0])\"; classification needs at least two labels")
            }
            let known = Set(labels)
            if let bad = labelledDev.first(where: { !known.contains($0.label) }) {
                throw TrainConfigError(source: "\(config.devFile):\(bad.line)", message: "label \"\(bad.label)\" does not appear in the training file \(config.trainFile) (its labels: \(labels.joined(separator: ", ")))")
            }
        }

        // Model, tokenizer and fine-tuning state: from this run's checkpoint, or the initial weights.
        let model: GPT, head: ClassifierHead?, tokenizer: any Tokenizer, ft: FinetuneState
        var restored: RunState? = nil
        if let url = resumeURL {
            let source = url.appendingPathComponent(CheckpointStore.stateFile).path
            let state = try RunState.decode(try CheckpointStore.readState(from: url), source: source)
            guard state.kind == FinetuneState.kind(task) else {
                throw TrainConfigError(source: url.path, message: "is a \"\(state.kind)\" checkpoint, not \(FinetuneState.kind(task)); it cannot resume --task \(task.rawValue)")
            }
            ft = try FinetuneState.decode(state, source: source)
            if task == .classify && ft.labels != labels {
                throw TrainConfigError(source: config.trainFile, message: "labels (\(labels.joined(separator: ", "))) differ from the checkpoint's (\(ft.labels.joined(separator: ", ")))")
            }
            if task == .generate && ft.template != config.template {
                throw TrainConfigError(source: "--template", message: "differs from the one the checkpoint \(url.path) was trained with")
            }
            tokenizer = try TokenizerLoader.decode(state.tokenizer, source: source + " (tokenizer)")
            var mc = state.model
            mc.dropout = Float(config.dropout ?? Double(state.model.dropout))
            try mc.validate()
            model = GPT(config: mc, seed: nil)
            head = task == .classify ? ClassifierHead(features: mc.nEmbd, labels: labels.count, seed: nil) : nil
            restored = state
        } else {
            let base = try Finetuner.loadBase(config)
            tokenizer = base.tokenizer
            let baseVocab = base.config.vocabSize
            var tokens: [String: Int32] = [:]
            var added = 0
            if task == .classify {
                tokens = ["start": Int32(baseVocab), "delimiter": Int32(baseVocab + 1), "extract": Int32(baseVocab + 2)]
                added = ClassificationFormat.addedTokens
            } else {
                let end = InstructionFormat.endToken(tokenizer: tokenizer, baseVocabSize: baseVocab)
                tokens = ["end": end.id]
                added = end.added ? 1 : 0
            }
            var mc = base.config
            mc.vocabSize = baseVocab + added
            mc.dropout = Float(config.dropout ?? Double(base.config.dropout))
            try mc.validate()
            model = GPT(config: mc, seed: base.model == nil ? UInt64(config.seed) : nil)
            if let b = base.model { Finetuner.copyWeights(from: b, to: model, seed: UInt64(config.seed) &+ 3) }
            head = task == .classify ? ClassifierHead(features: mc.nEmbd, labels: labels.count, seed: UInt64(config.seed) &+ 4) : nil
            ft = FinetuneState(task: task, baseVocabSize: baseVocab, tokens: tokens, labels: labels,
                               template: task == .generate ? config.template : nil, initFrom: config.initFrom)
        }

        // Encode every row now, so a tokenizer that cannot represent the data fails before training.
        let block = model.config.blockSize
        var truncatedTrain = 0, truncatedDev = 0
        var trainRows: [EncodedRow] = [], devRows: [EncodedRow] = []
        var devPrompts: [(ids: [Int32], prompt: String, reference: String)] = []
        func encodingError(_ path: String, _ line: Int, _ error: Error) -> TrainConfigError {
            TrainConfigError(source: "\(path):\(line)", message: "\(error) (the tokenizer of the initial checkpoint cannot encode this data)")
        }
        if task == .classify {
            let format = ClassificationFormat(tokenizer: tokenizer, baseVocabSize: ft.baseVocabSize, blockSize: block)
            let index = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, Int32($0)) })
            for (rows, path, isTrain) in [(labelledTrain, config.trainFile, true), (labelledDev, config.devFile, false)] {
                for r in rows {
                    let e: (ids: [Int32], truncated: Bool)
                    do { e = try format.encode(text: r.text, textB: r.textB) } catch { throw encodingError(path, r.line, error) }
                    if e.truncated { if isTrain { truncatedTrain += 1 } else { truncatedDev += 1 } }
                    let row = EncodedRow(ids: e.ids, label: index[r.label]!)
                    if isTrain { trainRows.append(row) } else { devRows.append(row) }
                }
            }
            endToken = nil
        } else {
            let end = ft.tokens["end"]!
            let format = try InstructionFormat(tokenizer: tokenizer, template: config.template, end: end, blockSize: block)
            for (rows, path, isTrain) in [(promptTrain, config.trainFile, true), (promptDev, config.devFile, false)] {
                for r in rows {
                    let e: (ids: [Int32], promptCount: Int, truncated: Bool)
                    do { e = try format.encode(prompt: r.prompt, completion: r.completion) } catch { throw encodingError(path, r.line, error) }
                    if e.ids.count < 2 {
                        throw TrainConfigError(source: "\(path):\(r.line)", message: "the row encodes to fewer than two tokens; nothing to train on")
                    }
                    if e.truncated { if isTrain { truncatedTrain += 1 } else { truncatedDev += 1 } }
                    let row = EncodedRow(ids: e.ids, promptCount: e.promptCount)
                    if isTrain { trainRows.append(row) } else { devRows.append(row) }
                }
            }
            for r in promptDev.prefix(config.devLimit) {
                devPrompts.append((try format.promptIds(r.prompt), r.prompt, r.completion))
            }
            endToken = end
        }
        var warnings: [String] = []
        if truncatedTrain + truncatedDev > 0 {
            warnings.append("\(truncatedTrain) of \(trainRows.count) train rows and \(truncatedDev) of \(devRows.count) dev rows are longer than the \(block)-token context and were truncated")
        }

        // What the optimiser updates. freeze_base: the head and the added token embeddings only (the
        // base rows of wte get their gradient zeroed after each backward pass, so with no weight decay
        // on wte their Adam moments and updates stay exactly zero).
        var trainable: [NamedParameter]
        if config.freezeBase {
            for p in model.parameters where p.tensor !== model.wte { p.tensor.requiresGrad = false }
            let wte = model.parameters.first { $0.tensor === model.wte }!
            trainable = [NamedParameter(name: wte.name, tensor: wte.tensor, decays: false)]
        } else {
            trainable = model.parameters
        }
        trainable += head?.parameters ?? []
        let optimizer = AdamW(parameters: trainable, lr: config.learningRate, beta1: config.beta1, beta2: config.beta2,
                              eps: config.eps, weightDecay: config.weightDecay)

        self.config = config
        self.model = model
        self.head = head
        self.tokenizer = tokenizer
        self.trainable = trainable
        self.optimizer = optimizer
        self.trainRows = trainRows
        self.devRows = devRows
        self.devPrompts = devPrompts
        self.warnings = warnings
        schedule = LearningRateSchedule(learningRate: config.learningRate, minLR: config.minLR,
                                        warmupIters: config.warmupIters, lrDecayIters: config.effectiveLRDecayIters,
                                        decayLR: config.decayLR)
        batchRNG = RandomGenerator(seed: UInt64(config.seed) &+ 1)
        dropoutRNG = RandomGenerator(seed: UInt64(config.seed) &+ 2)
        finetuneState = ft

        // Packed contexts are filled row by row from the epoch order; they need no length buckets.
        let poolBatches = config.lengthBuckets && !(task == .generate && config.pack) ? BatchPlan.defaultPoolBatches : 1
        if let state = restored, let url = resumeURL {
            try CheckpointStore.load(from: url, into: model.parameters + (head?.parameters ?? []), optimizer: optimizer)
            guard ft.cursor < trainRows.count else {
                throw TrainConfigError(source: config.trainFile, message: "has \(trainRows.count) rows but the checkpoint stopped at row \(ft.cursor) of an epoch; the training file changed")
            }
            step = state.step
            batchRNG = state.batchRNG
            dropoutRNG = state.dropoutRNG
            plan = BatchPlan(lengths: trainRows.map(\.ids.count), batchSize: config.batchSize, poolBatches: poolBatches,
                             seed: UInt64(config.seed), epoch: ft.epoch, cursor: ft.cursor, poolBatch: ft.poolBatch)
            resumedFrom = url.path
        } else {
            plan = BatchPlan(lengths: trainRows.map(\.ids.count), batchSize: config.batchSize, poolBatches: poolBatches,
                             seed: UInt64(config.seed))
            resumedFrom = nil
        }

        do {
            try FileManager.default.createDirectory(at: options.runDirectory, withIntermediateDirectories: true)
        } catch {
            throw TrainConfigError(source: options.runDirectory.path, message: "cannot create the run directory (\((error as NSError).localizedDescription))")
        }
        let metricsURL = options.runDirectory.appendingPathComponent("metrics.jsonl")
        if resumedFrom != nil { try MetricsLog.truncate(url: metricsURL, afterStep: step) }
        metrics = try MetricsLog(url: metricsURL)
    }

    // MARK: Setup helpers

    /// Labels in a fixed order that depends only on the set of labels: numerically when every label
    /// is an integer (so 0, 1, 2 map to outputs 0, 1, 2), otherwise by Unicode code points.
    static func labelMap(_ rows: [LabelledRow]) -> [String] {
        let set = Set(rows.map(\.label))
        if set.allSatisfy({ Int($0) != nil }) { return set.sorted { Int($0)! < Int($1)! } }
        return set.sorted { Array($0.unicodeScalars.map(\.value)).lexicographicallyPrecedes($1.unicodeScalars.map(\.value)) }
    }

    /// The starting point: a pretraining checkpoint's model and tokenizer, or (scratch) a pretraining
    /// config's model shape and its dataset's tokenizer, with no weights (model nil).
    static func loadBase(_ config: FinetuneConfig) throws -> (model: GPT?, config: GPTConfig, tokenizer: any Tokenizer) {
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
                throw TrainConfigError(source: url.path, message: "is a \"\(state.kind)\" checkpoint; fine-tuning starts from a pretraining checkpoint")
            }
            loaded = try LoadedModel(checkpoint: url.path)
        } catch {
            throw TrainConfigError(source: "--init", message: "\(error)")
        }
        var mc = loaded.model.config
        mc.dropout = loaded.state.model.dropout
        return (loaded.model, mc, loaded.tokenizer)
    }

    /// Copies every base weight into the grown model; the rows wte gains (task tokens) get GPT-2's
    /// embedding init N(0, 0.02) from `seed`.
    static func copyWeights(from base: GPT, to model: GPT, seed: UInt64) {
        for (b, m) in zip(base.parameters, model.parameters) {
            precondition(b.name == m.name, "Finetuner.copyWeights: parameter \(b.name) meets \(m.name)")
            m.tensor.data.update(from: b.tensor.data, count: b.tensor.count)
            if m.tensor.count > b.tensor.count {
                var rng = RandomGenerator(seed: seed)
                rng.fillNormal(m.tensor.data + b.tensor.count, count: m.tensor.count - b.tensor.count, mean: 0, std: 0.02)
            }
        }
    }

    /// Fails unless `run` is (or can be created as) a writable directory.
    static func checkWritable(_ run: URL) throws {
        var url = run.standardizedFileURL
        var isDir: ObjCBool = false
        while !FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) {
            let parent = url.deletingLastPathComponent()
            if parent.path == url.path { break }
            url = parent
        }
        guard isDir.boolValue else {
            throw TrainConfigError(source: "--out \(run.path)", message: "\(url.path) is not a directory")
        }
        guard FileManager.default.isWritableFile(atPath: url.path) else {
            throw TrainConfigError(source: "--out \(run.path)", message: "\(url.path) is not writable")
        }
    }

    // MARK: Training loop

    public var parameterCount: Int { model.parameterCount + (head?.arena.count ?? 0) }

    /// Trains until max_iters (or Ctrl-C), evaluating and checkpointing along the way.
    @discardableResult
    public func run() throws -> FinetuneResult {
        let t0 = Date()
        let added = finetuneState.tokens
        emit(.finetuneStarted(FinetuneSummary(
            task: config.task, config: config.jsonObject, parameterCount: parameterCount,
            trainableCount: trainable.reduce(0) { $0 + $1.tensor.count }, trainRows: trainRows.count,
            devRows: devRows.count, labels: labels, addedTokens: added, startStep: step,
            resumedFrom: resumedFrom, initFrom: finetuneState.initFrom)))
        for w in warnings { emit(.warning(w)) }
        var last: TaskEvalMetrics? = nil
        if step == 0 && config.maxIters > 0 { last = evaluate() }
        while step < config.maxIters {
            if Interrupt.requested {
                let url = try saveCheckpoint(isBest: false)
                emit(.checkpoint(path: url.path, step: step))
                emit(.interrupted(step: step))
                return FinetuneResult(step: step, bestMetric: finetuneState.bestMetric, lastEval: last,
                                      interrupted: true, seconds: Date().timeIntervalSince(t0))
            }
            trainStep()
            if step % config.evalInterval == 0 || step == config.maxIters {
                let e = evaluate()
                last = e
                if config.alwaysSaveCheckpoint || e.isBest || step == config.maxIters {
                    let url = try saveCheckpoint(isBest: e.isBest)
                    emit(.checkpoint(path: url.path, step: step))
                }
            }
        }
        let seconds = Date().timeIntervalSince(t0)
        emit(.finished(step: step, seconds: seconds))
        return FinetuneResult(step: step, bestMetric: finetuneState.bestMetric, lastEval: last, interrupted: false,
                              seconds: seconds)
    }

    /// The next training batch (consumes rows from the epoch order).
    func nextBatch() -> TaskBatch {
        if config.task == .generate && config.pack { return packedBatch() }
        let picked = plan.next().map { trainRows[$0] }
        return config.task == .classify ? classifyBatch(picked) : generateBatch(picked)
    }

    /// Right-padded classification batch. LM targets cover the text tokens only: position t predicts
    /// ids[t+1] when that is a base-vocabulary token (not a delimiter or extract token).
    func classifyBatch(_ rows: [EncodedRow]) -> TaskBatch {
        let b = rows.count, t = rows.map(\.ids.count).max()!
        let base = Int32(finetuneState.baseVocabSize)
        var ids = [Int32](repeating: 0, count: b * t), targets = [Int32](repeating: -1, count: b * t)
        var extract: [Int] = [], labels: [Int32] = [], tokens = 0
        for (i, r) in rows.enumerated() {
            for (j, id) in r.ids.enumerated() {
                ids[i * t + j] = id
                if j + 1 < r.ids.count, r.ids[j + 1] < base { targets[i * t + j] = r.ids[j + 1] }
            }
            extract.append(i * t + r.ids.count - 1)
            labels.append(r.label)
            tokens += r.ids.count
        }
        return TaskBatch(batch: b, time: t, ids: ids, targets: targets, segments: nil, extract: extract,
                         labels: labels, tokens: tokens)
    }

    /// Right-padded generation batch: inputs ids[0..<n-1], targets ids[1..<n] where they belong to the
    /// completion or the end token.
    func generateBatch(_ rows: [EncodedRow]) -> TaskBatch {
        let b = rows.count, t = rows.map { $0.ids.count - 1 }.max()!
        var ids = [Int32](repeating: 0, count: b * t), targets = [Int32](repeating: -1, count: b * t)
        var tokens = 0
        for (i, r) in rows.enumerated() {
            Finetuner.place(r, into: &ids, targets: &targets, at: i * t)
            tokens += r.ids.count - 1
        }
        return TaskBatch(batch: b, time: t, ids: ids, targets: targets, segments: nil, tokens: tokens)
    }

    static func place(_ r: EncodedRow, into ids: inout [Int32], targets: inout [Int32], at offset: Int) {
        let n = r.ids.count - 1
        for j in 0..<n {
            ids[offset + j] = r.ids[j]
            if j + 1 >= r.promptCount { targets[offset + j] = r.ids[j + 1] }
        }
    }

    /// batch_size contexts of block_size positions, each filled with whole rows in epoch order until
    /// the next one does not fit; every row is its own attention segment (positions restart), and the
    /// unused tail is one more segment with no targets.
    func packedBatch() -> TaskBatch {
        let b = config.batchSize, t = model.config.blockSize
        var ids = [Int32](repeating: 0, count: b * t), targets = [Int32](repeating: -1, count: b * t)
        var segments = [Int32](repeating: 0, count: b * t)
        var tokens = 0
        for i in 0..<b {
            var used = 0, segment: Int32 = 0
            while true {
                let r = trainRows[plan.peekRow]
                let n = r.ids.count - 1
                if used > 0 && used + n > t { break }
                _ = plan.nextRow()
                Finetuner.place(r, into: &ids, targets: &targets, at: i * t + used)
                for j in 0..<n { segments[i * t + used + j] = segment }
                segment += 1
                used += n
                tokens += n
                if used == t { break }
            }
            for j in used..<t { segments[i * t + j] = segment }
        }
        return TaskBatch(batch: b, time: t, ids: ids, targets: targets, segments: segments, tokens: tokens)
    }

    /// The loss of one batch (recorded on the tape when gradients are on), and its task and LM parts.
    func batchLoss(_ batch: TaskBatch, training: Bool, rng: inout RandomGenerator) -> (loss: Tensor, task: Float, lm: Float) {
        let h = model.hidden(batch.ids, batch: batch.batch, time: batch.time, training: training, rng: &rng,
                             segments: batch.segments)                                       // (B, T, C)
        guard let head else {
            let loss = lmLoss(h, targets: batch.targets)
            return (loss, loss.item, loss.item)
        }
        var hx = selectRows(h, rows: batch.extract)                                            // (B, C)
        hx = dropout(hx, p: model.config.dropout, training: training, rng: &rng)
        let taskLoss = crossEntropy(head(hx), targets: batch.labels)                           // (B, K) → []
        guard config.lmWeight > 0 else { return (taskLoss, taskLoss.item, 0) }
        let lm = lmLoss(h, targets: batch.targets)
        return (taskLoss + lm * Float(config.lmWeight), taskLoss.item, lm.item)
    }

    /// Mean next-token cross-entropy over the positions that have a target. Only those rows of h go
    /// through the (C → V) head: padding and, for generate, prompt positions cost nothing there.
    func lmLoss(_ h: Tensor, targets: [Int32]) -> Tensor {
        var rows: [Int] = [], kept: [Int32] = []
        for (i, t) in targets.enumerated() where t >= 0 { rows.append(i); kept.append(t) }
        if rows.isEmpty { return Tensor([0], shape: []) }
        return crossEntropy(model.lmHead(selectRows(h, rows: rows)), targets: kept)      // (N, V) → []
    }

    /// One optimiser step on one batch.
    func trainStep() {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let lr = schedule.lr(at: step)
        let batch = nextBatch()
        model.zeroGrad()
        head?.zeroGrad()
        Tape.current.reset()
        let (loss, taskLoss, lmPart) = batchLoss(batch, training: true, rng: &dropoutRNG)
        loss.backward()
        if config.freezeBase, let g = model.wte.grad {
            g.data.update(repeating: 0, count: finetuneState.baseVocabSize * model.config.nEmbd)
        }
        // Clipping is folded into the update (the gradients are scaled as AdamW reads them).
        let norm = globalGradientNorm(trainable)
        optimizer.lr = lr
        optimizer.step(gradientScale: clippingScale(norm: norm, maxNorm: config.gradClip))
        step += 1
        let ms = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
        let m = StepMetrics(step: step, maxSteps: config.maxIters, loss: loss.item, learningRate: lr, gradNorm: norm,
                            milliseconds: ms, tokensPerSecond: Double(batch.tokens) / (ms / 1000))
        if step % config.logInterval == 0 || step == config.maxIters {
            var o = m.jsonObject
            if config.task == .classify { o["task_loss"] = Double(taskLoss); o["lm_loss"] = Double(lmPart) }
            metrics.append(o)
            emit(.step(m))
        }
    }

    // MARK: Evaluation

    /// Dev metrics without gradients or dropout (and without touching the training RNGs or data
    /// order, so evaluating never changes what training does).
    @discardableResult
    public func evaluate() -> TaskEvalMetrics {
        let t0 = DispatchTime.now().uptimeNanoseconds
        var e = config.task == .classify ? evaluateClassifier() : evaluateGenerator()
        let higherIsBetter = e.metric == "accuracy"
        // The step-0 evaluation scores the initial model as a baseline; it has no checkpoint, so `best`
        // starts with the first evaluation after training.
        e.isBest = step > 0 && (finetuneState.bestMetric.map { higherIsBetter ? e.metricValue > $0 : e.metricValue < $0 } ?? true)
        if e.isBest { finetuneState.bestMetric = e.metricValue }
        e.milliseconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
        metrics.append(e.jsonObject)
        emit(.taskEval(e))
        return e
    }

    func evaluateClassifier() -> TaskEvalMetrics {
        let head = head!, k = head.labelCount
        let logits = classifierLogits(model: model, head: head, rows: devRows.map(\.ids), batchSize: config.batchSize)
        var lossSum = 0.0
        for (i, r) in devRows.enumerated() {
            let row = logits[(i * k)..<((i + 1) * k)]
            let mx = Double(row.max()!)
            let lse = mx + log(row.reduce(0.0) { $0 + exp(Double($1) - mx) })
            lossSum += lse - Double(row[i * k + Int(r.label)])
        }
        let c = ClassificationMetrics(predictions: argmaxRows(logits, labels: k), targets: devRows.map { Int($0.label) },
                                      labels: labels)
        let devLoss = lossSum / Double(devRows.count)
        let metric = config.effectiveMetric
        return TaskEvalMetrics(step: step, task: .classify, devLoss: devLoss, classification: c, metric: metric,
                               metricValue: metric == "accuracy" ? c.accuracy : devLoss, isBest: false, milliseconds: 0)
    }

    func evaluateGenerator() -> TaskEvalMetrics {
        // Completion loss: token-weighted mean over every dev row.
        var lossSum = 0.0, count = 0
        var unusedRNG = RandomGenerator(seed: 0)
        let byLength = devRows.sorted { $0.ids.count < $1.ids.count }  // little padding
        withoutGrad {
            var start = 0
            while start < byLength.count {
                let rows = Array(byLength[start..<min(start + config.batchSize, byLength.count)])
                let batch = generateBatch(rows)
                let n = batch.targets.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) }
                if n > 0 {
                    lossSum += Double(batchLoss(batch, training: false, rng: &unusedRNG).loss.item) * Double(n)
                    count += n
                }
                start += rows.count
            }
        }
        // Exact match of greedy completions on the first dev_limit rows.
        var matches = 0
        var example: (prompt: String, generated: String, reference: String)? = nil
        let end = endToken!
        for (i, p) in devPrompts.enumerated() {
            var sampler = Sampler(options: SamplingOptions(temperature: 0), seed: 0)
            let out = (try? model.generate(prompt: p.ids, maxNewTokens: config.maxNewTokens, sampler: &sampler) { $0 != end }) ?? []
            let text = tokenizer.decode(out.filter { $0 != end && Int($0) < tokenizer.vocabSize })
            if let want = config.answerPattern.extract(p.reference), let got = config.answerPattern.extract(text), want == got {
                matches += 1
            }
            if i == 0 { example = (p.prompt, text, p.reference) }
        }
        let devLoss = count > 0 ? lossSum / Double(count) : 0
        let em = devPrompts.isEmpty ? 0 : Double(matches) / Double(devPrompts.count)
        let metric = config.effectiveMetric
        return TaskEvalMetrics(step: step, task: .generate, devLoss: devLoss, exactMatches: matches,
                               exactMatchRows: devPrompts.count, example: example, metric: metric,
                               metricValue: metric == "accuracy" ? em : devLoss, isBest: false, milliseconds: 0)
    }

    // MARK: Checkpoints

    func runState() -> RunState {
        var ft = finetuneState
        let p = plan.position
        ft.epoch = p.epoch
        ft.cursor = p.cursor
        ft.poolBatch = p.poolBatch
        var s = RunState(kind: FinetuneState.kind(config.task), step: step, config: config.jsonObject, model: model.config,
                         tokenizer: tokenizer.jsonObject(), batchRNG: batchRNG, dropoutRNG: dropoutRNG, sampler: nil,
                         bestValLoss: nil, threads: Parallel.threadCount)
        s.extra[FinetuneState.key] = ft.jsonObject
        return s
    }

    func saveCheckpoint(isBest: Bool) throws -> URL {
        try store.save(step: step, model: model.parameters + (head?.parameters ?? []), optimizer: optimizer,
                       state: try runState().encoded(), isBest: isBest)
    }
}
