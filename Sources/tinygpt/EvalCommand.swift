// `tinygpt eval`: measure a checkpoint without changing it.
//   --task lm        mean loss and perplexity over a text file or a prepared split
//   --task icl       zero-shot (GPT-2) or k-shot (GPT-3) classification by label-word likelihood
//   --task classify  a fine-tuned classifier's accuracy, macro-F1 and confusion matrix
// A readable table by default; --json prints one JSON object (and nothing else) on stdout.
import ArgumentParser
import Data
import Foundation
import Evaluate
import Kernels

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a checkpoint: perplexity, in-context classification, or a fine-tuned classifier.",
        discussion: """
        --task lm: the text (or split) is cut into non-overlapping windows of block_size tokens; each \
        window predicts its own next tokens, so every token after the first is predicted once from the \
        tokens before it in its window. Reports the mean loss (nats/token) and perplexity = exp(loss).

        --task icl: each dev row is rendered with --template ({text}, and {text_b} for pair tasks) and \
        every label is scored by the summed log-likelihood of its words after the prompt; the best label \
        wins. --labels lists LABEL=WORDS pairs separated by commas; the words are appended verbatim, so \
        "0= negative" scores the text " negative" (leading space included). In --template and --labels, \
        \\n is a newline, \\t a tab, \\\\ a backslash, and in --labels \\, a comma. With --shots k, k rows \
        drawn from --train (seeded by --seed and the row's index, never a row with the query's own text) \
        are rendered with the template and their label words and prepended, separated by blank lines; \
        prompts that do not fit the context are cut from the left and counted. Defaults fit SST-2: \
        --template "Review: {text}\\nSentiment:" --labels "0= negative,1= positive".

        --task classify: a checkpoint made by `tinygpt finetune --task classify` predicts the label of \
        every --dev row.
        """)

    @Option(name: .long, help: "Checkpoint: a step directory or a run directory (uses its latest).")
    var checkpoint: String
    /// What `eval` measures.
    enum Task: String, CaseIterable, ExpressibleByArgument { case lm, icl, classify }

    @Option(name: .long, help: "lm (perplexity), icl (in-context classification) or classify (fine-tuned classifier).")
    var task: Task = .lm

    @Option(name: .long, help: "lm: a UTF-8 text file to measure.") var text: String?
    @Option(name: .long, help: "lm: a dataset directory made by 'tinygpt prepare'.") var data: String?
    @Option(name: .long, help: "lm with --data: the split to read, train or val.") var split: String?
    @Option(name: .customLong("max-tokens"), help: "lm: read only the first N tokens.") var maxTokens: Int?
    @Option(name: .customLong("batch-size"),
            help: "lm: windows per forward pass (default: as many as fit 128 MiB of logits).")
    var batchSize: Int?

    @Option(name: .long, help: "icl, classify: labelled JSONL rows {\"text\", \"label\"[, \"text_b\"]} to evaluate.")
    var dev: String?
    @Option(name: .long, help: "icl: prompt template with {text} (and optionally {text_b}).") var template: String?
    @Option(name: .long, help: "icl: verbalisers, LABEL=WORDS pairs separated by commas.") var labels: String?
    @Option(name: .long, help: "icl: demonstrations per query (0 = zero-shot).") var shots: Int?
    @Option(name: .long, help: "icl: labelled JSONL rows to draw demonstrations from.") var train: String?
    @Option(name: .long, help: "icl: seed for drawing demonstrations.") var seed: UInt64?
    @Option(name: .customLong("max-examples"), help: "icl, classify: evaluate only the first N dev rows.")
    var maxExamples: Int?

    @Flag(name: .long, help: "Print one JSON object instead of a table.") var json = false
    @Option(name: .long, help: "Threads for our kernels and OpenBLAS (default: all cores).") var threads: Int?
    @OptionGroup var verification: VerifyOptions

    func run() throws {
        try runReportingErrors {
            try checkFlags()
            if let threads { Parallel.setThreadCount(threads) }
            var out: [String: Any]
            switch task {
            case .lm: out = try runLanguageModel()
            case .icl: out = try runInContext()
            case .classify: out = try runClassifier()
            }
            if json {
                out["checkpoint"] = checkpoint
                let data = try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys])
                Terminal.line(String(decoding: data, as: UTF8.self))
            }
        }
    }

    /// Refuses a task name or a flag combination that would silently be ignored.
    func checkFlags() throws {
        let given: [(String, Bool)] = [
            ("--text", text != nil), ("--data", data != nil), ("--split", split != nil),
            ("--max-tokens", maxTokens != nil), ("--batch-size", batchSize != nil), ("--dev", dev != nil),
            ("--template", template != nil), ("--labels", labels != nil), ("--shots", shots != nil),
            ("--train", train != nil), ("--seed", seed != nil), ("--max-examples", maxExamples != nil),
        ]
        let allowed: [Task: Set<String>] = [
            .lm: ["--text", "--data", "--split", "--max-tokens", "--batch-size"],
            .icl: ["--dev", "--template", "--labels", "--shots", "--train", "--seed", "--max-examples"],
            .classify: ["--dev", "--max-examples"],
        ]
        if let (flag, _) = given.first(where: { $0.1 && !allowed[task]!.contains($0.0) }) {
            throw ValidationError("\(flag) does not apply to --task \(task.rawValue)")
        }
        if let t = threads, t < 1 { throw ValidationError("--threads: must be >= 1, got \(t)") }
        if let m = maxTokens, m < 2 { throw ValidationError("--max-tokens: must be >= 2, got \(m)") }
        if let b = batchSize, b < 1 { throw ValidationError("--batch-size: must be >= 1, got \(b)") }
        if let m = maxExamples, m < 1 { throw ValidationError("--max-examples: must be >= 1, got \(m)") }
        if let s = shots, s < 0 { throw ValidationError("--shots: must be >= 0, got \(s)") }
        switch task {
        case .lm:
            if (text == nil) == (data == nil) {
                throw ValidationError("--task lm needs exactly one of --text FILE or --data DIR")
            }
            if split != nil && data == nil { throw ValidationError("--split applies only with --data") }
        case .icl:
            if dev == nil { throw ValidationError("--task icl needs --dev FILE (labelled JSONL rows)") }
            if (shots ?? 0) > 0 && train == nil {
                throw ValidationError("--shots \(shots!) needs --train FILE to draw demonstrations from")
            }
            if train != nil && (shots ?? 0) == 0 {
                throw ValidationError("--train is used only with --shots k (k >= 1)")
            }
        case .classify:
            if dev == nil { throw ValidationError("--task classify needs --dev FILE (labelled JSONL rows)") }
        }
    }

    func progress(_ what: String) -> (Int, Int) -> Void {
        guard Terminal.isTTY && !json else { return { _, _ in } }
        return { done, total in Terminal.live("\(what) \(done)/\(total)") }
    }

    func describe(_ loaded: LoadedModel) -> String {
        let c = loaded.model.config
        return "\(loaded.directory.path) (step \(loaded.state.step); \(c.nLayer) layers, \(c.nHead) heads, "
            + "\(c.nEmbd) wide, block \(c.blockSize), "
            + "\(loaded.tokenizer.type) tokenizer of \(loaded.tokenizer.vocabSize) tokens)"
    }

    /// The checkpoint as a language model (a fine-tuned classifier is refused with a pointer to --task classify).
    func loadLanguageModel() throws -> LoadedModel {
        try LoadedModel(checkpoint: checkpoint, verify: verification.verify)
    }

    func runLanguageModel() throws -> [String: Any] {
        let loaded = try loadLanguageModel()
        let model = loaded.model
        let result: PerplexityResult
        let source: String
        if let text {
            var tokens = try LanguageModelEvaluation.tokens(ofTextFile: text, tokenizer: loaded.tokenizer)
            if let m = maxTokens, tokens.count > m { tokens.removeLast(tokens.count - m) }
            source = text
            result = try LanguageModelEvaluation.evaluate(model: model, tokens: tokens, source: text,
                                                          batchSize: batchSize ?? 0, progress: progress("windows"))
        } else {
            let s = split ?? "val"
            let dataset = try LanguageModelEvaluation.dataset(directory: data!, split: s, tokenizer: loaded.tokenizer,
                                                              vocabSize: model.config.vocabSize)
            source = "\(data!) (\(s) split)"
            result = try LanguageModelEvaluation.evaluate(model: model, dataset: dataset, source: source,
                                                          maxTokens: maxTokens, batchSize: batchSize ?? 0,
                                                          progress: progress("windows"))
        }
        if json { var o = result.jsonObject; o["source"] = source; return o }
        Terminal.line("checkpoint   \(describe(loaded))")
        Terminal.line("data         \(source)")
        Terminal.line("tokens       \(result.tokens) read, \(result.predicted) predicted in \(result.windows) "
                      + "window\(result.windows == 1 ? "" : "s") of up to \(result.blockSize)")
        Terminal.line(String(format: "mean loss    %.4f nats/token (%.4f bits)", result.meanLoss, result.bitsPerToken))
        Terminal.line(String(format: "perplexity   %.3f", result.perplexity))
        Terminal.line(String(format: "time         %.1f s (%.0f tokens/s)", result.seconds,
                             Double(result.predicted) / max(result.seconds, 1e-9)))
        return [:]
    }

    func runInContext() throws -> [String: Any] {
        let templateText = template.map(unescapeFlagText) ?? PromptTemplate.sentimentDefault
        let promptTemplate = try PromptTemplate(templateText)
        let verbalizers = try Verbalizer.parse(labels ?? Verbalizer.sentimentDefault)
        let k = shots ?? 0
        let devRows = try readLabelledRows(dev!)
        let trainRows = k > 0 ? try readLabelledRows(train!) : []
        let loaded = try loadLanguageModel()
        let options = InContextOptions(template: promptTemplate, verbalizers: verbalizers, shots: k,
                                       seed: seed ?? 1337, maxExamples: maxExamples)
        let evaluator = try InContextEvaluator(model: loaded.model, tokenizer: loaded.tokenizer, options: options,
                                               dev: devRows, devPath: dev!, train: trainRows, trainPath: train)
        let result = try evaluator.run(progress: progress("examples"))
        if json {
            var o = result.jsonObject
            o["dev"] = dev!; o["template"] = templateText
            o["verbalizers"] = Dictionary(uniqueKeysWithValues: verbalizers.map { ($0.label, $0.words) })
            if let train { o["train"] = train }
            return o
        }
        let words = Dictionary(uniqueKeysWithValues: verbalizers.map { ($0.label, $0.words) })
        Terminal.line("checkpoint   \(describe(loaded))")
        Terminal.line("task         \(k == 0 ? "zero-shot" : "\(k)-shot") classification of \(dev!) "
                      + "(\(result.examples) rows)"
                      + (k > 0 ? ", demonstrations from \(train!) (seed \(options.seed))" : ""))
        Terminal.line("template     \(quoted(templateText))")
        Terminal.line("labels       " + verbalizers.map { "\($0.label) = \(quoted($0.words))" }.joined(separator: ", "))
        Terminal.line(String(format: "prompts      %.1f tokens on average; %d of %d cut from the left to fit %d",
                             result.meanPromptTokens, result.truncated, result.examples, evaluator.promptLimit))
        let m = result.metrics
        Terminal.line(String(format: "accuracy     %.2f%% (%d/%d)", 100 * m.accuracy,
                             m.confusion.indices.reduce(0) { $0 + m.confusion[$1][$1] }, result.examples))
        Terminal.line(String(format: "macro-F1     %.4f", m.macroF1))
        Terminal.line(String(format: "majority     %.2f%% (always %@ %@)", 100 * result.majorityAccuracy,
                             result.majorityLabel, quoted(words[result.majorityLabel] ?? "")))
        Terminal.line("confusion (rows: true label, columns: predicted)")
        for line in m.confusionTable { Terminal.line("  " + line) }
        Terminal.line(String(format: "time         %.1f s (%.1f rows/s)", result.seconds,
                             Double(result.examples) / max(result.seconds, 1e-9)))
        return [:]
    }

    func runClassifier() throws -> [String: Any] {
        var rows = try readLabelledRows(dev!)
        if let m = maxExamples, rows.count > m { rows.removeLast(rows.count - m) }
        let classifier = try FineTunedClassifier(checkpoint: checkpoint, verify: verification.verify)
        let t0 = Date()
        let m = try classifier.evaluate(rows: rows, source: dev!)
        let seconds = Date().timeIntervalSince(t0)
        // The majority baseline is the most frequent true label among the evaluated rows.
        let support = m.confusion.map { $0.reduce(0, +) }
        var majority = 0
        for k in 1..<support.count where support[k] > support[majority] { majority = k }
        if json {
            var o = m.jsonObject
            o["task"] = "classify"; o["dev"] = dev!; o["examples"] = rows.count; o["seconds"] = seconds
            o["majority_label"] = m.labels[majority]; o["majority_accuracy"] = m.majorityAccuracy
            return o
        }
        let c = classifier.model.config
        Terminal.line("checkpoint   \(classifier.directory.path) (step \(classifier.state.step); "
                      + "\(c.nLayer) layers, \(c.nEmbd) wide, \(m.labels.count) labels)")
        Terminal.line("task         fine-tuned classification of \(dev!) (\(rows.count) rows)")
        Terminal.line(String(format: "accuracy     %.2f%% (%d/%d)", 100 * m.accuracy,
                             m.confusion.indices.reduce(0) { $0 + m.confusion[$1][$1] }, rows.count))
        Terminal.line(String(format: "macro-F1     %.4f", m.macroF1))
        Terminal.line(String(format: "majority     %.2f%% (always %@)", 100 * m.majorityAccuracy, m.labels[majority]))
        Terminal.line("confusion (rows: true label, columns: predicted)")
        for line in m.confusionTable { Terminal.line("  " + line) }
        Terminal.line(String(format: "time         %.1f s (%.1f rows/s)", seconds,
                             Double(rows.count) / max(seconds, 1e-9)))
        return [:]
    }

    func quoted(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\t", with: "\\t") + "\""
    }
}
