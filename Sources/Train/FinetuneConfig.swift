// The effective configuration of a fine-tuning run, under nanoGPT-style JSON keys (saved in
// state.json and printed at the start). Precedence: defaults < command-line flags < --set key=value.
// Defaults follow the GPT-1 paper's fine-tuning recipe where it gives one (Radford et al. 2018, §4.1:
// batch 32, λ = 0.5, weight decay 0.01, classifier dropout 0.1 via the model dropout, β₂ 0.999) and
// nanoGPT otherwise; the learning rate is higher than GPT-1's 6.25e-5 because small models need it.
import Foundation

public struct FinetuneConfig: Equatable {
    public enum Task: String, CaseIterable, Sendable { case classify, generate }

    // What to train on
    public var task: Task = .classify
    public var initFrom = ""                 // "init": a pretraining checkpoint, or "scratch"
    public var modelConfig: String? = nil    // "model_config": a pretraining config file (for scratch)
    public var trainFile = ""
    public var devFile = ""
    // Objective
    public var lmWeight = 0.5                // λ of GPT-1's L3 = L2 + λ·L1 (classify only)
    public var freezeBase = false
    public var dropout: Double? = nil        // nil: the initial checkpoint's (or model config's)
    // Generation format and metrics
    public var template = InstructionFormat.defaultTemplate
    public var pack = false
    public var lengthBuckets = true          // batch rows of similar length together (less padding)
    public var answerPattern = AnswerPattern.none
    public var devLimit = 50
    public var maxNewTokens = 128
    public var metric: String? = nil         // "accuracy" or "loss"; nil: accuracy (classify), loss (generate)
    // Optimisation
    public var batchSize = 32
    public var maxIters = 1000
    public var learningRate = 1e-4
    public var weightDecay = 0.01
    public var beta1 = 0.9
    public var beta2 = 0.999
    public var eps = 1e-8
    public var gradClip = 1.0
    public var decayLR = true
    public var warmupIters = 0
    public var lrDecayIters: Int? = nil      // nil: max_iters
    public var minLR = 0.0
    // Evaluation, logging, checkpoints
    public var evalInterval = 100
    public var logInterval = 10
    public var alwaysSaveCheckpoint = true
    public var keepLast = 3
    // Reproducibility and threads
    public var seed = 1337
    public var threads = 0

    public init() {}

    /// "accuracy" or "loss", after defaults.
    public var effectiveMetric: String { metric ?? (task == .classify ? "accuracy" : "loss") }

    public var effectiveLRDecayIters: Int { lrDecayIters ?? maxIters }

    struct Field {
        let read: (inout FinetuneConfig, Any) throws -> Void
        let value: (FinetuneConfig) -> Any
    }

    private static func number(_ v: Any) -> Double? {
        guard let n = v as? NSNumber, !TrainConfig.isBool(n) else { return nil }
        return n.doubleValue
    }
    static func int(_ kp: WritableKeyPath<FinetuneConfig, Int>, min: Int = 0) -> Field {
        Field(read: { c, v in
            guard let d = number(v), let i = Int(exactly: d) else { throw ConfigError.type(expected: "an integer", got: v) }
            guard i >= min else { throw ConfigError.range("must be ≥ \(min), got \(i)") }
            c[keyPath: kp] = i
        }, value: { $0[keyPath: kp] })
    }
    static func optionalInt(_ kp: WritableKeyPath<FinetuneConfig, Int?>) -> Field {
        Field(read: { c, v in
            if v is NSNull { c[keyPath: kp] = nil; return }
            guard let d = number(v), let i = Int(exactly: d), i >= 0 else { throw ConfigError.type(expected: "an integer ≥ 0 or null", got: v) }
            c[keyPath: kp] = i
        }, value: { $0[keyPath: kp] as Any? ?? NSNull() })
    }
    static func double(_ kp: WritableKeyPath<FinetuneConfig, Double>, below: Double? = nil) -> Field {
        Field(read: { c, v in
            guard let d = number(v) else { throw ConfigError.type(expected: "a number", got: v) }
            guard d.isFinite, d >= 0 else { throw ConfigError.range("must be ≥ 0, got \(d)") }
            if let below, d >= below { throw ConfigError.range("must be < \(below), got \(d)") }
            c[keyPath: kp] = d
        }, value: { $0[keyPath: kp] })
    }
    static func bool(_ kp: WritableKeyPath<FinetuneConfig, Bool>) -> Field {
        Field(read: { c, v in
            guard let n = v as? NSNumber, TrainConfig.isBool(n) else { throw ConfigError.type(expected: "true or false", got: v) }
            c[keyPath: kp] = n.boolValue
        }, value: { $0[keyPath: kp] })
    }
    static func string(_ kp: WritableKeyPath<FinetuneConfig, String>) -> Field {
        Field(read: { c, v in
            guard let s = v as? String else { throw ConfigError.type(expected: "a string", got: v) }
            c[keyPath: kp] = s
        }, value: { $0[keyPath: kp] })
    }
    static func optionalString(_ kp: WritableKeyPath<FinetuneConfig, String?>) -> Field {
        Field(read: { c, v in
            if v is NSNull { c[keyPath: kp] = nil; return }
            guard let s = v as? String else { throw ConfigError.type(expected: "a string or null", got: v) }
            c[keyPath: kp] = s
        }, value: { $0[keyPath: kp] as Any? ?? NSNull() })
    }

    static let fields: [(String, Field)] = [
        ("task", Field(read: { c, v in
            guard let s = v as? String, let t = Task(rawValue: s) else { throw ConfigError.type(expected: "\"classify\" or \"generate\"", got: v) }
            c.task = t
        }, value: { $0.task.rawValue })),
        ("init", string(\.initFrom)),
        ("model_config", optionalString(\.modelConfig)),
        ("train_file", string(\.trainFile)),
        ("dev_file", string(\.devFile)),
        ("lm_weight", double(\.lmWeight)),
        ("freeze_base", bool(\.freezeBase)),
        ("dropout", Field(read: { c, v in
            if v is NSNull { c.dropout = nil; return }
            guard let d = number(v), d >= 0, d < 1 else { throw ConfigError.type(expected: "a number in [0, 1) or null", got: v) }
            c.dropout = d
        }, value: { $0.dropout as Any? ?? NSNull() })),
        ("template", string(\.template)),
        ("pack", bool(\.pack)),
        ("length_buckets", bool(\.lengthBuckets)),
        ("answer_pattern", Field(read: { c, v in
            guard let s = v as? String, let p = AnswerPattern(rawValue: s) else { throw ConfigError.type(expected: "\"none\" or \"gsm8k\"", got: v) }
            c.answerPattern = p
        }, value: { $0.answerPattern.rawValue })),
        ("dev_limit", int(\.devLimit)),
        ("max_new_tokens", int(\.maxNewTokens, min: 1)),
        ("metric", Field(read: { c, v in
            if v is NSNull { c.metric = nil; return }
            guard let s = v as? String, s == "accuracy" || s == "loss" else { throw ConfigError.type(expected: "\"accuracy\" or \"loss\"", got: v) }
            c.metric = s
        }, value: { $0.effectiveMetric })),
        ("batch_size", int(\.batchSize, min: 1)),
        ("max_iters", int(\.maxIters)),
        ("learning_rate", double(\.learningRate)),
        ("weight_decay", double(\.weightDecay)),
        ("beta1", double(\.beta1, below: 1)),
        ("beta2", double(\.beta2, below: 1)),
        ("eps", double(\.eps)),
        ("grad_clip", double(\.gradClip)),
        ("decay_lr", bool(\.decayLR)),
        ("warmup_iters", int(\.warmupIters)),
        ("lr_decay_iters", optionalInt(\.lrDecayIters)),
        ("min_lr", double(\.minLR)),
        ("eval_interval", int(\.evalInterval, min: 1)),
        ("log_interval", int(\.logInterval, min: 1)),
        ("always_save_checkpoint", bool(\.alwaysSaveCheckpoint)),
        ("keep_last", int(\.keepLast, min: 1)),
        ("seed", int(\.seed)),
        ("threads", int(\.threads)),
    ]
    static let fieldsByKey = Dictionary(uniqueKeysWithValues: fields)
    public static var keys: [String] { fields.map(\.0) }

    /// Applies the keys of a JSON object; `source` names the flag or file in errors.
    public mutating func apply(json object: [String: Any], source: String) throws {
        for key in object.keys.sorted() {
            guard let field = Self.fieldsByKey[key] else {
                let best = Self.keys.min { TrainConfig.editDistance($0, key) < TrainConfig.editDistance($1, key) }
                let hint = best.map { TrainConfig.editDistance($0, key) <= 3 ? " (did you mean \"\($0)\"?)" : "" } ?? ""
                throw TrainConfigError(source: source, message: "unknown fine-tuning config key \"\(key)\"" + hint)
            }
            do { try field.read(&self, object[key]!) } catch let e as ConfigError {
                throw TrainConfigError(source: source, message: "\"\(key)\" \(e.text)")
            }
        }
    }

    /// Applies `key=value` overrides; values parse as JSON scalars when they can, else as strings.
    public mutating func apply(overrides: [String], source: String = "--set") throws {
        var object: [String: Any] = [:]
        for item in overrides {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                throw TrainConfigError(source: source, message: "expected key=value, got \"\(item)\"")
            }
            let key = String(item[..<eq]), raw = String(item[item.index(after: eq)...])
            // Text-valued keys take the raw text, so "--set template=1" is the string "1".
            object[key] = ["template", "init", "model_config", "train_file", "dev_file"].contains(key)
                ? raw : TrainConfig.parseScalar(raw)
        }
        try apply(json: object, source: source)
    }

    /// Cross-field checks, with the flag to blame in the message.
    public func validate() throws {
        if initFrom.isEmpty { throw TrainConfigError(source: "--init", message: "missing (a pretraining checkpoint, or \"scratch\" with --config)") }
        if initFrom == "scratch" && modelConfig == nil {
            throw TrainConfigError(source: "--init scratch", message: "needs --config FILE (a pretraining config giving the model shape and dataset tokenizer)")
        }
        if trainFile.isEmpty { throw TrainConfigError(source: "--train", message: "missing (a JSONL file)") }
        if devFile.isEmpty { throw TrainConfigError(source: "--dev", message: "missing (a JSONL file)") }
        if task == .generate && !template.contains(InstructionFormat.promptPlaceholder) {
            throw TrainConfigError(source: "--template", message: "must contain \(InstructionFormat.promptPlaceholder), got \"\(template)\"")
        }
        if minLR > learningRate {
            throw TrainConfigError(source: "min_lr", message: "\(minLR) must not exceed learning_rate (\(learningRate))")
        }
    }

    public var jsonObject: [String: Any] {
        var o: [String: Any] = [:]
        for (key, field) in Self.fields { o[key] = field.value(self) }
        return o
    }
}

/// How the answer is read out of a completion for exact match.
public enum AnswerPattern: String, CaseIterable, Sendable {
    /// The whole completion, whitespace-trimmed.
    case none
    /// The number after "####" (GSM8K's answer line), commas removed.
    case gsm8k

    /// The answer in `text`, or nil when the pattern finds none.
    public func extract(_ text: String) -> String? {
        switch self {
        case .none:
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        case .gsm8k:
            guard let r = text.range(of: "####") else { return nil }
            var s = Substring(text[r.upperBound...]).drop { $0 == " " || $0 == "\t" }
            var number = ""
            if s.first == "-" { number.append("-"); s = s.dropFirst() }
            for ch in s {
                if ch.isASCII && ch.isNumber { number.append(ch) } else if ch == "," { continue }
                else if ch == "." { number.append(ch) } else { break }
            }
            while number.hasSuffix(".") { number.removeLast() }
            // "18.00" and "18" are the same answer.
            if number.contains(".") {
                while number.hasSuffix("0") { number.removeLast() }
                if number.hasSuffix(".") { number.removeLast() }
            }
            return number.isEmpty || number == "-" ? nil : number
        }
    }
}
