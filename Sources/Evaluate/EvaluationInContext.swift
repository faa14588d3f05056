// In-context classification without any weight update: zero-shot as in GPT-2 (Radford et al. 2019)
// and k-shot as in GPT-3 (Brown et al. 2020, section 2: "K examples of context and completion,
// then one final example of context, with the model expected to provide the completion").
//   prompt(q) = demo_1 + sep + … + demo_k + sep + template(q)      demo = template(row) + words(row.label)
//   prediction(q) = argmax over labels of score(words(label) | prompt(q))   (EvaluationScoring.swift)
// The k demonstrations of query i are drawn without replacement from the train rows by a generator
// seeded with (seed, i), so a query's prompt does not depend on which other queries are evaluated, and
// rows whose text equals the query's are never drawn (train and dev may be the same file). Prompts
// longer than the block size less the longest verbaliser are cut from the left (counted).
import Foundation
import Data
import Kernels
import NN

public struct InContextOptions: Sendable {
    public var template: PromptTemplate
    public var verbalizers: [Verbalizer]
    /// Demonstrations per query (0 = zero-shot).
    public var shots: Int
    public var seed: UInt64
    /// Evaluate only the first N dev rows.
    public var maxExamples: Int?
    /// Between demonstrations, and between the last one and the query (GPT-3 used a blank line).
    public var separator: String

    public init(template: PromptTemplate, verbalizers: [Verbalizer], shots: Int = 0, seed: UInt64 = 1337,
                maxExamples: Int? = nil, separator: String = "\n\n") {
        self.template = template; self.verbalizers = verbalizers; self.shots = shots; self.seed = seed
        self.maxExamples = maxExamples; self.separator = separator
    }
}

public struct InContextResult {
    public var shots: Int
    public var seed: UInt64
    /// Predicted label of each evaluated dev row, in order.
    public var predictions: [String]
    /// Accuracy, macro-F1 and confusion[true][predicted] over the verbalisers' labels, in their order.
    public var metrics: ClassificationMetrics
    /// The most frequent label of the evaluated dev rows (ties: the one listed first).
    public var majorityLabel: String
    /// Prompts cut from the left to fit the context.
    public var truncated: Int
    public var meanPromptTokens: Double
    public var seconds: Double

    public var labels: [String] { metrics.labels }
    public var examples: Int { predictions.count }
    public var accuracy: Double { metrics.accuracy }
    /// Accuracy of always answering the majority label.
    public var majorityAccuracy: Double { metrics.majorityAccuracy }

    public var jsonObject: [String: Any] {
        var o = metrics.jsonObject
        o["task"] = "icl"; o["shots"] = shots; o["seed"] = seed; o["examples"] = examples
        o["majority_label"] = majorityLabel; o["majority_accuracy"] = majorityAccuracy
        o["truncated"] = truncated; o["mean_prompt_tokens"] = meanPromptTokens; o["seconds"] = seconds
        return o
    }
}

public final class InContextEvaluator {
    public let model: GPT
    public let tokenizer: any Tokenizer
    public let options: InContextOptions
    public let dev: [LabelledRow]
    public let train: [LabelledRow]
    let devPath: String
    let trainPath: String
    let labelTokens: [[Int32]]
    let wordsByLabel: [String: String]
    /// Longest prompt (tokens) that leaves room for every continuation.
    public let promptLimit: Int
    /// Train rows per text key, to exclude a query's own text from its demonstrations.
    let trainTextCounts: [String: Int]

    /// Validates every input before any work: labels of dev (and train) rows are among the
    /// verbalisers, the tokenizer can encode every row, the template and the words, the template's
    /// placeholders have fields, and `shots` train rows other than the query exist.
    public init(model: GPT, tokenizer: any Tokenizer, options: InContextOptions, dev: [LabelledRow],
                devPath: String, train: [LabelledRow] = [], trainPath: String? = nil) throws {
        self.model = model; self.tokenizer = tokenizer; self.options = options
        self.dev = dev; self.train = train; self.devPath = devPath; self.trainPath = trainPath ?? "--train"
        let labels = options.verbalizers.map(\.label)
        guard labels.count >= 2 else { throw EvaluationError("--labels", "needs at least two labels to choose " +
                "between") }
        let labelList = labels.joined(separator: ", ")
        guard !dev.isEmpty else { throw EvaluationError(devPath, "holds no rows") }
        if let m = options.maxExamples, m < 1 { throw EvaluationError("--max-examples", "must be >= 1, got \(m)") }
        guard options.shots >= 0 else { throw EvaluationError("--shots", "must be >= 0, got \(options.shots)") }

        // Labels, placeholders and encodability of the rows that will be used.
        let used = Array(dev.prefix(options.maxExamples ?? dev.count))
        func check(_ rows: [LabelledRow], path: String) throws {
            for row in rows {
                let place = "\(path):\(row.line)"
                guard labels.contains(row.label) else {
                    throw EvaluationError(place, "label \"\(row.label)\" is not among the --labels (\(labelList))")
                }
                if options.template.usesTextB && row.textB == nil {
                    throw EvaluationError(place, "row has no \"text_b\" field, but the template uses {text_b}")
                }
                _ = try tokenizer.encodeForEvaluation(row.text, place: place)
                if let b = row.textB, options.template.usesTextB {
                    _ = try tokenizer.encodeForEvaluation(b, place: place)
                }
            }
        }
        try check(used, path: devPath)
        _ = try tokenizer.encodeForEvaluation(options.template.literalText, place: "--template")
        _ = try tokenizer.encodeForEvaluation(options.separator, place: "separator")

        var counts: [String: Int] = [:]
        if options.shots > 0 {
            guard !train.isEmpty else {
                throw EvaluationError("--shots", "\(options.shots) demonstrations need a --train file to draw them " +
                        "from")
            }
            guard options.shots <= train.count else {
                throw EvaluationError("--shots", "\(options.shots) demonstrations requested but \(self.trainPath) " +
                        "holds only \(train.count) row\(train.count == 1 ? "" : "s")")
            }
            try check(train, path: self.trainPath)
            for row in train { counts[Self.textKey(row), default: 0] += 1 }
            for q in used {
                let eligible = train.count - (counts[Self.textKey(q)] ?? 0)
                if eligible < options.shots {
                    throw EvaluationError("--shots", "\(options.shots) demonstrations requested but only " +
                            "\(eligible) row\(eligible == 1 ? "" : "s") of \(self.trainPath) differ from the query " +
                            "at \(devPath):\(q.line)")
                }
            }
        }
        trainTextCounts = counts

        var tokens: [[Int32]] = []
        for v in options.verbalizers {
            let t = try tokenizer.encodeForEvaluation(v.words, place: "--labels (words of label \"\(v.label)\")")
            guard !t.isEmpty else { throw EvaluationError("--labels", "the words of label \"\(v.label)\" encode to " +
                    "no tokens") }
            tokens.append(t)
        }
        labelTokens = tokens
        wordsByLabel = Dictionary(uniqueKeysWithValues: options.verbalizers.map { ($0.label, $0.words) })
        let longest = tokens.map(\.count).max()!
        promptLimit = model.config.blockSize - (longest - 1)
        guard promptLimit >= 1 else {
            throw EvaluationError("--labels", "the longest label words take \(longest) tokens, more than the " +
                    "model's block size \(model.config.blockSize) allows")
        }
    }

    static func textKey(_ row: LabelledRow) -> String { row.text + "\u{0}" + (row.textB ?? "") }

    /// Number of dev rows evaluated.
    public var queryCount: Int { min(dev.count, options.maxExamples ?? dev.count) }

    /// Indices into `train` of query `i`'s demonstrations, in prompt order.
    public func demonstrations(forQuery i: Int) -> [Int] {
        let k = options.shots
        if k == 0 { return [] }
        let key = Self.textKey(dev[i])
        let excluded = trainTextCounts[key] ?? 0
        func isEligible(_ j: Int) -> Bool { excluded == 0 || Self.textKey(train[j]) != key }
        var rng = RandomGenerator(seed: options.seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(i))
        let eligible = train.count - excluded
        if 2 * k <= eligible {
            // Rejection sampling: expected draws < 2k, independent of the train file's size.
            var chosen: [Int] = []
            var taken = Set<Int>()
            while chosen.count < k {
                let j = rng.nextInt(below: train.count)
                if isEligible(j) && taken.insert(j).inserted { chosen.append(j) }
            }
            return chosen
        }
        // Most of the pool is needed: partial Fisher–Yates over the eligible indices.
        var pool = train.indices.filter(isEligible)
        for a in 0..<k {
            let b = a + rng.nextInt(below: pool.count - a)
            pool.swapAt(a, b)
        }
        return Array(pool.prefix(k))
    }

    /// Query `i`'s full prompt text (demonstrations, then the query's rendered template).
    public func promptText(forQuery i: Int) -> String {
        let sep = options.separator
        var s = ""
        for j in demonstrations(forQuery: i) {
            s += options.template.render(train[j]) + wordsByLabel[train[j].label]! + sep
        }
        return s + options.template.render(dev[i])
    }

    /// Query `i`'s prompt tokens, cut from the left to `promptLimit`, and whether it was cut.
    public func promptTokens(forQuery i: Int) throws -> (tokens: [Int32], truncated: Bool) {
        let ids = try tokenizer.encodeForEvaluation(promptText(forQuery: i), place: "\(devPath):\(dev[i].line)")
        guard !ids.isEmpty else { throw EvaluationError("\(devPath):\(dev[i].line)", "the prompt encodes to no " +
                "tokens") }
        if ids.count <= promptLimit { return (ids, false) }
        return (Array(ids.suffix(promptLimit)), true)
    }

    /// Scores every label for each evaluated dev row; `progress(done, total)` after each batch.
    public func run(progress: (Int, Int) -> Void = { _, _ in }) throws -> InContextResult {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let labels = options.verbalizers.map(\.label)
        let n = queryCount
        let distinctTails = Set(labelTokens.map { Array($0.dropLast()) }).count
        let longestTail = labelTokens.map(\.count).max()! - 1
        let tokenBudget = 4096  // padded tokens per forward pass
        var predicted: [Int] = [], targets: [Int] = []
        predicted.reserveCapacity(n); targets.reserveCapacity(n)
        var truncated = 0, promptTokens = 0
        var i = 0
        var next: (tokens: [Int32], truncated: Bool)? = nil  // encoded but did not fit the last batch
        while i < n {
            // Consecutive queries while the padded batch stays within the budget.
            var batch: [[Int32]] = []
            var longest = 0
            while i + batch.count < n {
                let (p, cut) = try next ?? self.promptTokens(forQuery: i + batch.count)
                next = nil
                let len = max(longest, p.count + longestTail)
                if !batch.isEmpty && (batch.count + 1) * distinctTails * len > tokenBudget { next = (p, cut); break }
                batch.append(p); longest = len
                if cut { truncated += 1 }
                promptTokens += p.count
            }
            let scores = model.continuationLogLikelihoods(prompts: batch, continuations: labelTokens)
            for (b, s) in scores.enumerated() {
                var best = 0
                for c in 1..<s.count where s[c] > s[best] { best = c }
                predicted.append(best)
                targets.append(labels.firstIndex(of: dev[i + b].label)!)
            }
            i += batch.count
            progress(i, n)
        }
        let metrics = ClassificationMetrics(predictions: predicted, targets: targets, labels: labels)
        var majority = 0  // ties go to the label listed first
        let support = metrics.confusion.map { $0.reduce(0, +) }
        for k in 1..<labels.count where support[k] > support[majority] { majority = k }
        return InContextResult(shots: options.shots, seed: options.seed, predictions: predicted.map { labels[$0] },
                               metrics: metrics, majorityLabel: labels[majority], truncated: truncated,
                               meanPromptTokens: Double(promptTokens) / Double(n),
                               seconds: Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }
}
