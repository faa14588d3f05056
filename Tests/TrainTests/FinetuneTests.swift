import XCTest
import Foundation
import Autograd
import Checkpoint
import Data
import Kernels
import NN
import Train
import Config
import Evaluate
import Planning

/// Fine-tuning end to end on small synthetic tasks: learning, the saved classifier, exact resume,
/// freezing, padding independence.
final class FinetuneTests: XCTestCase {
    override func tearDown() { Interrupt.simulate(false) }

    func testClassifierLearnsAndSavedClassifierAgrees() throws {
        let dir = ScratchDirectory()
        let files = try writeSentimentFiles(in: dir.url)
        var config = finetuneConfig(initFrom: try pretrainTinyModel(in: dir.url), files: files, maxIters: 150)
        config.evalInterval = 75
        config.dropout = 0
        let run = dir.url.appendingPathComponent("ft")
        let out = try finetune(config, run: run)
        let final = try XCTUnwrap(out.evals.last?.classification)
        XCTAssertGreaterThanOrEqual(final.accuracy, 0.9,
                                    "synthetic sentiment should be learnt (accuracy \(final.accuracy))")
        XCTAssertLessThan(out.evals.first!.classification!.accuracy, 0.75, "step 0 should be near chance")
        XCTAssertEqual(final.labels, ["negative", "positive"])

        // The saved classifier reproduces the final evaluation.
        let classifier = try FineTunedClassifier(checkpoint: run.path)
        classifier.batchSize = config.batchSize  // the same batches as training's evaluation: identical logits
        XCTAssertEqual(classifier.labels, ["negative", "positive"])
        let dev = try readLabelledRows(files.dev)
        let m = try classifier.evaluate(rows: dev, source: files.dev)
        XCTAssertEqual(m, final)
        let predictions = try classifier.predict(texts: dev.map(\.text), textsB: nil)
        XCTAssertEqual(ClassificationMetrics(predictions: predictions,
                                             targets: dev.map { $0.label == "positive" ? 1 : 0 },
                                             labels: classifier.labels), final)

        // metrics.jsonl: the step loss is the task loss plus λ times the LM loss; evals carry the metrics.
        let lines = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        let steps = lines.filter { $0["type"] as? String == "step" }
        XCTAssertEqual(steps.count, 150 / config.logInterval)
        for s in steps {
            let total = s["loss"] as! Double, task = s["task_loss"] as! Double, lm = s["lm_loss"] as! Double
            XCTAssertEqual(total, task + 0.5 * lm, accuracy: 1e-4 * max(1, total))
        }
        let evals = lines.filter { $0["type"] as? String == "eval" }
        XCTAssertEqual(evals.map { $0["step"] as! Int }, [0, 75, 150])
        XCTAssertEqual(evals.last?["accuracy"] as? Double, final.accuracy)
        XCTAssertEqual(evals.last?["confusion"] as? [[Int]], final.confusion)
        XCTAssertNotNil(CheckpointStore(runDirectory: run).best, "a best checkpoint must exist")
    }

    func testClassifierResumeIsBitwiseIdentical() throws {
        let dir = ScratchDirectory()
        let files = try writeSentimentFiles(in: dir.url, train: 60)  // several epochs in 20 steps of 16
        let initRun = try pretrainTinyModel(in: dir.url)
        var config = finetuneConfig(initFrom: initRun, files: files, maxIters: 20)
        config.dropout = 0.1
        config.evalInterval = 5
        config.lrDecayIters = 20
        let straight = try finetune(config, run: dir.url.appendingPathComponent("a"))
        var first = config
        first.maxIters = 10
        let runB = dir.url.appendingPathComponent("b")
        let a = try finetune(first, run: runB)
        let b = try finetune(config, run: runB, resume: "auto")
        for s in 1...10 { XCTAssertEqual(a.losses[s], straight.losses[s], "loss at step \(s)") }
        for s in 11...20 { XCTAssertEqual(b.losses[s], straight.losses[s], "loss at step \(s) after resume") }
        XCTAssertNil(b.losses[10])
        XCTAssertEqual(b.weights, straight.weights, "final weights differ after resume")
        XCTAssertEqual(b.evals.last?.classification, straight.evals.last?.classification)
    }

    func testPackedGenerationCtrlCResumeIsBitwiseIdentical() throws {
        let dir = ScratchDirectory()
        let files = try writeSentimentFiles(in: dir.url, train: 50, dev: 10, generate: true)
        var config = finetuneConfig(initFrom: try pretrainTinyModel(in: dir.url), files: files, maxIters: 12,
                                    task: .generate)
        config.pack = true
        config.batchSize = 2
        config.evalInterval = 100
        config.devLimit = 3
        config.maxNewTokens = 4
        config.dropout = 0.1
        config.lrDecayIters = 12
        config.template = "{prompt}:"
        let straight = try finetune(config, run: dir.url.appendingPathComponent("a"))
        let runB = dir.url.appendingPathComponent("b")
        let stopped = try finetune(config, run: runB) { event in
            if case let .step(m) = event, m.step == 7 { Interrupt.simulate() }
        }
        XCTAssertTrue(stopped.result.interrupted)
        Interrupt.simulate(false)
        let resumed = try finetune(config, run: runB, resume: runB.appendingPathComponent("step-000007").path)
        for s in 8...12 { XCTAssertEqual(resumed.losses[s], straight.losses[s], "loss at step \(s)") }
        XCTAssertEqual(resumed.weights, straight.weights)
        XCTAssertEqual(resumed.evals.last?.devLoss, straight.evals.last?.devLoss)
        // A generate checkpoint holds only GPT tensors, so sampling and evaluation can load it.
        let loaded = try LoadedModel(checkpoint: runB.path)
        XCTAssertEqual(loaded.state.kind, "finetune-generate")
        XCTAssertThrowsError(try FineTunedClassifier(checkpoint: runB.path)) { e in
            XCTAssertTrue(String(describing: e).contains("finetune-generate"), "\(e)")
        }
    }

    func testGenerationLearnsAnswers() throws {
        let dir = ScratchDirectory()
        let files = try writeSentimentFiles(in: dir.url, generate: true)
        var config = finetuneConfig(initFrom: try pretrainTinyModel(in: dir.url), files: files, maxIters: 400,
                                    task: .generate)
        config.pack = true
        config.batchSize = 4
        config.evalInterval = 200
        config.devLimit = 40
        config.maxNewTokens = 12
        config.metric = .accuracy
        config.dropout = 0
        config.template = "{prompt}:"
        let out = try finetune(config, run: dir.url.appendingPathComponent("g"))
        let start = out.evals.first!, end = out.evals.last!
        XCTAssertEqual(start.exactMatchRows, 40)
        XCTAssertLessThan(end.devLoss, start.devLoss * 0.5,
                          "completion loss should fall (\(start.devLoss) → \(end.devLoss))")
        XCTAssertGreaterThanOrEqual(end.exactMatch ?? 0, 0.8, "greedy answers should mostly match")
    }

    func testFreezeBaseTrainsOnlyHeadAndTaskTokens() throws {
        let dir = ScratchDirectory()
        let files = try writeSentimentFiles(in: dir.url, train: 64)
        let initRun = try pretrainTinyModel(in: dir.url)
        var config = finetuneConfig(initFrom: initRun, files: files, maxIters: 8)
        config.freezeBase = true
        config.evalInterval = 8
        let run = dir.url.appendingPathComponent("frozen")
        _ = try finetune(config, run: run)
        let base = try LoadedModel(checkpoint: initRun).model
        let tuned = try FineTunedClassifier(checkpoint: run.path)
        let v = base.config.vocabSize, c = base.config.nEmbd
        for (b, t) in zip(base.parameters, tuned.model.parameters) {
            let n = b.tensor.count
            XCTAssertEqual(Array(UnsafeBufferPointer(start: t.tensor.data, count: n)),
                           Array(UnsafeBufferPointer(start: b.tensor.data, count: n)), "\(b.name) changed")
        }
        let added = Array(UnsafeBufferPointer(start: tuned.model.wte.data + v * c, count: 3 * c))
        let initial = try firstCheckpointTaskRows(initRun: initRun, files: files, dir: dir.url, vocab: v, channels: c)
        XCTAssertNotEqual(added, initial, "task-token embeddings should train")
    }

    func testPaddingDoesNotChangeLogits() throws {
        let dir = ScratchDirectory()
        let files = try writeSentimentFiles(in: dir.url, train: 32)
        var config = finetuneConfig(initFrom: try pretrainTinyModel(in: dir.url), files: files, maxIters: 3)
        config.evalInterval = 3
        let run = dir.url.appendingPathComponent("p")
        _ = try finetune(config, run: run)
        let clf = try FineTunedClassifier(checkpoint: run.path)
        let short = try clf.format.encode(text: "good film", textB: nil).ids
        let long = try clf.format.encode(text: "the plot was very dull and the film was a movie", textB: nil).ids
        let alone = classifierLogits(model: clf.model, head: clf.head, rows: [short], batchSize: 8)
        let padded = classifierLogits(model: clf.model, head: clf.head, rows: [long, short, long], batchSize: 8)
        for i in 0..<2 { XCTAssertEqual(alone[i], padded[2 + i], accuracy: 1e-5) }
        for i in 0..<2 { XCTAssertEqual(padded[i], padded[4 + i], accuracy: 1e-5) }
    }

    func testLabelMapOrderAndScratchInit() throws {
        let dir = ScratchDirectory()
        let train = dir.url.appendingPathComponent("t.jsonl"), dev = dir.url.appendingPathComponent("d.jsonl")
        try ("{\"text\": \"good\", \"label\": 10}\n{\"text\": \"bad\", \"label\": 9}\n"
             + "{\"text\": \"film\", \"label\": \"2\"}\n")
            .write(to: train, atomically: true, encoding: .utf8)
        try "{\"text\": \"good\", \"label\": 2}\n".write(to: dev, atomically: true, encoding: .utf8)
        let dataset = try prepareCharDataset(in: dir.url, text: sentimentCorpus())
        let modelConfig = dir.url.appendingPathComponent("model.json")
        try "{\"dataset\": \"\(dataset)\", \"n_layer\": 1, \"n_head\": 2, \"n_embd\": 16, \"block_size\": 32}"
            .write(to: modelConfig, atomically: true, encoding: .utf8)
        var config = finetuneConfig(initFrom: "scratch", files: (train.path, dev.path), maxIters: 2)
        config.modelConfig = modelConfig.path
        let numeric = try Finetuner(FinetuneOptions(config: config, runDirectory: dir.url.appendingPathComponent("n")))
        XCTAssertEqual(numeric.labels, ["2", "9", "10"])
        XCTAssertEqual(numeric.model.config.nLayer, 1)
        XCTAssertEqual(numeric.model.config.vocabSize, CharTokenizer(corpus: sentimentCorpus()).vocabSize + 3)
        try ("{\"text\": \"good\", \"label\": \"pos\"}\n{\"text\": \"bad\", \"label\": \"neg\"}\n"
             + "{\"text\": \"film\", \"label\": \"Neutral\"}\n")
            .write(to: train, atomically: true, encoding: .utf8)
        try "{\"text\": \"good\", \"label\": \"pos\"}\n".write(to: dev, atomically: true, encoding: .utf8)
        let strings = try Finetuner(FinetuneOptions(config: config, runDirectory: dir.url.appendingPathComponent("s")))
        XCTAssertEqual(strings.labels, ["Neutral", "neg", "pos"])
    }
}

// MARK: Helpers shared by the fine-tuning tests

let positiveWords = ["good", "great", "fun"]
let negativeWords = ["bad", "awful", "dull"]
let neutralWords = ["the", "movie", "was", "plot", "and", "very", "a", "film"]

/// Sentences of neutral words with exactly one sentiment word; the label is its polarity.
func sentimentRows(count: Int, seed: UInt64) -> [(text: String, positive: Bool)] {
    var rng = RandomGenerator(seed: seed)
    return (0..<count).map { _ in
        var words = (0..<(2 + rng.nextInt(below: 4))).map { _ in neutralWords[rng.nextInt(below: neutralWords.count)] }
        let positive = rng.nextInt(below: 2) == 1
        let list = positive ? positiveWords : negativeWords
        words.insert(list[rng.nextInt(below: list.count)], at: rng.nextInt(below: words.count + 1))
        return (words.joined(separator: " "), positive)
    }
}

func sentimentCorpus() -> String {
    sentimentRows(count: 300, seed: 99).map(\.text).joined(separator: "\n")
        + "\n### Instruction:\n\n### Response:\npositive negative\n"
}

/// Writes train/dev JSONL: {"text", "label": "positive"|"negative"}, or with `generate`
/// {"prompt": text, "completion": "positive"|"negative"}.
func writeSentimentFiles(in dir: URL, train: Int = 400, dev: Int = 100,
                         generate: Bool = false) throws -> (train: String, dev: String) {
    func write(_ rows: [(text: String, positive: Bool)], _ name: String) throws -> String {
        let lines = try rows.map { r -> String in
            let label = r.positive ? "positive" : "negative"
            let o: [String: Any] = generate ? ["prompt": r.text, "completion": label] : ["text": r.text, "label": label]
            return String(decoding: try JSONSerialization.data(withJSONObject: o), as: UTF8.self)
        }
        let url = dir.appendingPathComponent(name)
        try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }
    return (try write(sentimentRows(count: train, seed: 1), "train.jsonl"),
            try write(sentimentRows(count: dev, seed: 2), "dev.jsonl"))
}

/// A tiny character-level GPT pretrained for a few steps on sentiment sentences; returns its run directory.
func pretrainTinyModel(in dir: URL) throws -> String {
    let dataset = try prepareCharDataset(in: dir, text: sentimentCorpus())
    var c = tinyConfig(dataset: dataset, maxIters: 10)
    c.blockSize = 48
    c.nEmbd = 32
    c.evalInterval = 10
    let run = dir.appendingPathComponent("pretrain")
    _ = try train(c, run: run)
    return run.path
}

func finetuneConfig(initFrom: String, files: (train: String, dev: String), maxIters: Int,
                    task: FinetuneConfig.Task = .classify) -> FinetuneConfig {
    var c = FinetuneConfig()
    c.task = task
    c.initFrom = initFrom
    c.trainFile = files.train
    c.devFile = files.dev
    c.batchSize = 16
    c.maxIters = maxIters
    c.learningRate = 3e-3
    c.warmupIters = 2
    c.minLR = 3e-4
    c.logInterval = 1
    c.evalInterval = 10
    c.threads = 2
    c.seed = 7
    return c
}

/// Runs a fine-tuning and returns the logged step losses, the evaluations and every parameter
/// (GPT then head) flattened.
func finetune(_ config: FinetuneConfig, run: URL, resume: String? = nil,
              onEvent: @escaping (TrainingEvent) -> Void = { _ in })
    throws -> (losses: [Int: Float], evals: [TaskEvalMetrics], weights: [Float], result: FinetuneResult) {
    var losses: [Int: Float] = [:]
    var evals: [TaskEvalMetrics] = []
    let trainer = try Finetuner(FinetuneOptions(config: config, runDirectory: run, resume: resume)) { event in
        if case let .step(m) = event { losses[m.step] = m.loss }
        if case let .finetuneEval(e) = event { evals.append(e) }
        onEvent(event)
    }
    let result = try trainer.run()
    var weights = Array(trainer.model.parameterArena)
    if let head = trainer.head {
        weights += Array(UnsafeBufferPointer(start: head.arena.values.pointer, count: head.arena.count))
    }
    return (losses, evals, weights, result)
}

/// The task-token rows of wte as initialised (a run stopped before its first step).
func firstCheckpointTaskRows(initRun: String, files: (train: String, dev: String), dir: URL, vocab: Int,
                             channels: Int) throws -> [Float] {
    var config = finetuneConfig(initFrom: initRun, files: files, maxIters: 0)
    config.freezeBase = true
    let trainer = try Finetuner(FinetuneOptions(config: config, runDirectory: dir.appendingPathComponent("untrained")))
    return Array(UnsafeBufferPointer(start: trainer.model.wte.data + vocab * channels, count: 3 * channels))
}
