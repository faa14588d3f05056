// The effective configuration of a run: model shape and training hyper-parameters under nanoGPT's
// names. Config files are partial (defaults < file < command-line overrides); unknown keys and
// wrongly typed values are errors that name the file and the key.
import Foundation

public struct TrainConfig: Equatable {
    // Data
    public var dataset = "data/shakespeare_char"
    // Model (nanoGPT's GPTConfig)
    public var vocabSize: Int? = nil       // nil: taken from the dataset's tokenizer
    public var blockSize = 1024
    public var nLayer = 12
    public var nHead = 12
    public var nEmbd = 768
    public var dropout = 0.0
    public var bias = false                // nanoGPT's train.py default
    // Optimisation (nanoGPT train.py defaults)
    public var batchSize = 12
    public var gradientAccumulationSteps = 1
    public var maxIters = 600_000
    public var learningRate = 6e-4
    public var weightDecay = 0.1
    public var beta1 = 0.9
    public var beta2 = 0.95
    public var eps = 1e-8
    public var gradClip = 1.0
    public var decayLR = true
    public var warmupIters = 2000
    public var lrDecayIters = 600_000
    public var minLR = 6e-5
    // Evaluation, logging, checkpoints
    public var evalInterval = 2000
    public var evalIters = 200
    public var logInterval = 1
    public var alwaysSaveCheckpoint = true
    public var keepLast = 3
    // Reproducibility and threads
    public var seed = 1337
    public var threads = 0                 // 0: all active cores

    public init() {}

    /// One entry per JSON key: how to read it from a JSON value, and its current value for saving.
    struct Field {
        let read: (inout TrainConfig, Any) throws -> Void
        let value: (TrainConfig) -> Any
        let kind: String
    }

    static func int(_ kp: WritableKeyPath<TrainConfig, Int>, min: Int = 0) -> Field {
        Field(read: { c, v in
            guard let n = v as? NSNumber, !isBool(n), let i = Int(exactly: n.doubleValue) else { throw ConfigError.type(expected: "an integer", got: v) }
            guard i >= min else { throw ConfigError.range("must be ≥ \(min), got \(i)") }
            c[keyPath: kp] = i
        }, value: { $0[keyPath: kp] }, kind: "integer")
    }
    static func optionalInt(_ kp: WritableKeyPath<TrainConfig, Int?>) -> Field {
        Field(read: { c, v in
            if v is NSNull { c[keyPath: kp] = nil; return }
            guard let n = v as? NSNumber, !isBool(n), let i = Int(exactly: n.doubleValue), i > 0 else { throw ConfigError.type(expected: "a positive integer or null", got: v) }
            c[keyPath: kp] = i
        }, value: { $0[keyPath: kp] as Any? ?? NSNull() }, kind: "integer")
    }
    static func double(_ kp: WritableKeyPath<TrainConfig, Double>, min: Double = 0, below: Double? = nil) -> Field {
        Field(read: { c, v in
            guard let n = v as? NSNumber, !isBool(n) else { throw ConfigError.type(expected: "a number", got: v) }
            let d = n.doubleValue
            guard d.isFinite, d >= min else { throw ConfigError.range("must be ≥ \(min), got \(d)") }
            if let below, d >= below { throw ConfigError.range("must be < \(below), got \(d)") }
            c[keyPath: kp] = d
        }, value: { $0[keyPath: kp] }, kind: "number")
    }
    static func bool(_ kp: WritableKeyPath<TrainConfig, Bool>) -> Field {
        Field(read: { c, v in
            guard let n = v as? NSNumber, isBool(n) else { throw ConfigError.type(expected: "true or false", got: v) }
            c[keyPath: kp] = n.boolValue
        }, value: { $0[keyPath: kp] }, kind: "boolean")
    }
    static func string(_ kp: WritableKeyPath<TrainConfig, String>) -> Field {
        Field(read: { c, v in
            guard let s = v as? String, !s.isEmpty else { throw ConfigError.type(expected: "a non-empty string", got: v) }
            c[keyPath: kp] = s
        }, value: { $0[keyPath: kp] }, kind: "string")
    }

    static let fields: [(String, Field)] = [
        ("dataset", string(\.dataset)),
        ("vocab_size", optionalInt(\.vocabSize)),
        ("block_size", int(\.blockSize, min: 1)),
        ("n_layer", int(\.nLayer, min: 1)),
        ("n_head", int(\.nHead, min: 1)),
        ("n_embd", int(\.nEmbd, min: 1)),
        ("dropout", double(\.dropout, below: 1)),
        ("bias", bool(\.bias)),
        ("batch_size", int(\.batchSize, min: 1)),
        ("gradient_accumulation_steps", int(\.gradientAccumulationSteps, min: 1)),
        ("max_iters", int(\.maxIters)),
        ("learning_rate", double(\.learningRate)),
        ("weight_decay", double(\.weightDecay)),
        ("beta1", double(\.beta1, below: 1)),
        ("beta2", double(\.beta2, below: 1)),
        ("eps", double(\.eps)),
        ("grad_clip", double(\.gradClip)),
        ("decay_lr", bool(\.decayLR)),
        ("warmup_iters", int(\.warmupIters)),
        ("lr_decay_iters", int(\.lrDecayIters)),
        ("min_lr", double(\.minLR)),
        ("eval_interval", int(\.evalInterval, min: 1)),
        ("eval_iters", int(\.evalIters, min: 1)),
        ("log_interval", int(\.logInterval, min: 1)),
        ("always_save_checkpoint", bool(\.alwaysSaveCheckpoint)),
        ("keep_last", int(\.keepLast, min: 1)),
        ("seed", int(\.seed)),
        ("threads", int(\.threads)),
    ]
    static let fieldsByKey = Dictionary(uniqueKeysWithValues: fields)
    public static var keys: [String] { fields.map(\.0) }

    /// Applies the keys of a JSON object. `source` names the file or flag in error messages.
    public mutating func apply(json object: [String: Any], source: String) throws {
        for key in object.keys.sorted() {
            guard let field = Self.fieldsByKey[key] else {
                throw TrainConfigError(source: source, message: "unknown config key \"\(key)\"" + Self.suggestion(for: key))
            }
            do { try field.read(&self, object[key]!) } catch let e as ConfigError {
                throw TrainConfigError(source: source, message: "\"\(key)\" \(e.text)")
            }
        }
        try validate(source: source)
    }

    /// Applies `key=value` overrides (from --set); the value is parsed as JSON when it can be, else as a string.
    public mutating func apply(overrides: [String], source: String = "--set") throws {
        var object: [String: Any] = [:]
        for item in overrides {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                throw TrainConfigError(source: source, message: "expected key=value, got \"\(item)\"")
            }
            let key = String(item[..<eq]), raw = String(item[item.index(after: eq)...])
            object[key] = Self.parseScalar(raw)
        }
        try apply(json: object, source: source)
    }

    /// Loads a config file on top of the defaults.
    public static func load(path: String) throws -> TrainConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TrainConfigError(source: path, message: "cannot read config file (missing or unreadable)")
        }
        let parsed: Any
        do { parsed = try JSONSerialization.jsonObject(with: data) } catch {
            throw TrainConfigError(source: path, message: "not valid JSON (\(Self.jsonErrorSummary(error)))")
        }
        guard let object = parsed as? [String: Any] else {
            throw TrainConfigError(source: path, message: "expected a JSON object at the top level")
        }
        var config = TrainConfig()
        try config.apply(json: object, source: path)
        return config
    }

    public func validate(source: String) throws {
        if nEmbd % nHead != 0 {
            throw TrainConfigError(source: source, message: "n_head (\(nHead)) must divide n_embd (\(nEmbd))")
        }
        if minLR > learningRate {
            throw TrainConfigError(source: source, message: "min_lr (\(minLR)) must not exceed learning_rate (\(learningRate))")
        }
    }

    /// The whole effective config as a JSON object (nanoGPT key names).
    public var jsonObject: [String: Any] {
        var o: [String: Any] = [:]
        for (key, field) in Self.fields { o[key] = field.value(self) }
        return o
    }

    public var jsonData: Data {
        (try? JSONSerialization.data(withJSONObject: jsonObject, options: [.prettyPrinted, .sortedKeys])) ?? Data()
    }

    /// Tokens consumed per optimiser step.
    public var tokensPerStep: Int { batchSize * blockSize * gradientAccumulationSteps }

    static func parseScalar(_ raw: String) -> Any {
        if let data = raw.data(using: .utf8),
           let v = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]),
           !(v is [Any]), !(v is [String: Any]) { return v }
        return raw
    }

    /// JSON true/false arrive as NSNumber with Objective-C type "c" (char) on every platform.
    static func isBool(_ n: NSNumber) -> Bool { String(cString: n.objCType) == "c" }

    static func suggestion(for key: String) -> String {
        let best = keys.min { editDistance($0, key) < editDistance($1, key) }
        if let best, editDistance(best, key) <= 3 { return " (did you mean \"\(best)\"?)" }
        return ""
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var row = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var prev = row[0]; row[0] = i
            for j in 1...max(b.count, 1) where !b.isEmpty {
                let cur = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] == b[j - 1] ? 0 : 1))
                prev = cur
            }
        }
        return row[b.count]
    }

    static func jsonErrorSummary(_ error: Error) -> String {
        let ns = error as NSError
        return (ns.userInfo[NSDebugDescriptionErrorKey] as? String) ?? ns.localizedDescription
    }
}

enum ConfigError: Error {
    case type(expected: String, got: Any)
    case range(String)
    var text: String {
        switch self {
        case let .type(expected, got): return "expects \(expected), got \(describe(got))"
        case let .range(s): return s
        }
    }
    private func describe(_ v: Any) -> String {
        if let s = v as? String { return "\"\(s)\"" }
        if let n = v as? NSNumber { return TrainConfig.isBool(n) ? (n.boolValue ? "true" : "false") : "\(n)" }
        if v is NSNull { return "null" }
        return "\(Swift.type(of: v))"
    }
}

/// A configuration problem, printed as "SOURCE: message".
public struct TrainConfigError: Error, CustomStringConvertible, LocalizedError {
    public let source: String
    public let message: String
    public var description: String { "\(source): \(message)" }
    public var errorDescription: String? { description }
}
