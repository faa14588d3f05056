// state.json: everything beyond the tensors that a checkpoint needs so that a resumed run continues
// exactly as an unbroken one would (RNG states, data position, step, best loss) and so that sampling and
// fine-tuning can rebuild the model and tokenizer from the checkpoint alone.
import Foundation
import Config
import Data
import Kernels
import NN

public struct RunState {
    public static let format = "tinygpt-checkpoint"
    public static let version = 1
    /// The largest step state.json may hold.
    public static let maximumStep = 1 << 50

    public var kind: String                 // "pretrain" (fine-tuning adds its own kinds)
    public var step: Int
    public var config: [String: Any]        // effective TrainConfig (nanoGPT keys)
    public var model: GPTConfig
    public var tokenizer: [String: Any]     // tokenizer.json object
    public var batchRNG: RandomGenerator
    public var dropoutRNG: RandomGenerator
    public var sampler: SamplerState?
    public var bestValLoss: Double?
    public var threads: Int
    public var extra: [String: Any] = [:]   // fields owned by other run kinds (task heads, label maps, …)
    /// The tensor files' SHA-256 digests as read (TensorFileDigests); the store writes them, so
    /// `encoded()` leaves them out.
    public var fileDigests: [String: String] = [:]

    public init(kind: String, step: Int, config: [String: Any], model: GPTConfig, tokenizer: [String: Any],
                batchRNG: RandomGenerator, dropoutRNG: RandomGenerator, sampler: SamplerState?,
                bestValLoss: Double?, threads: Int) {
        self.kind = kind; self.step = step; self.config = config; self.model = model; self.tokenizer = tokenizer
        self.batchRNG = batchRNG; self.dropoutRNG = dropoutRNG; self.sampler = sampler
        self.bestValLoss = bestValLoss; self.threads = threads
    }

    public func encoded() throws -> Foundation.Data {
        var o: [String: Any] = [
            "format": Self.format, "version": Self.version, "kind": kind, "step": step, "config": config,
            "model": model.jsonObject,
            "tokenizer": tokenizer,
            // UInt64 words as strings: JSON numbers are doubles in many readers and would lose bits.
            "rng": ["batch": batchRNG.state.map(String.init), "dropout": dropoutRNG.state.map(String.init)],
            "threads": threads,
        ]
        if let sampler { o["sampler"] = try JSONSerialization.jsonObject(with: JSONEncoder().encode(sampler)) }
        if let bestValLoss { o["best_val_loss"] = bestValLoss }
        for (k, v) in extra { o[k] = v }
        return try JSONSerialization.data(withJSONObject: o, options: [.prettyPrinted, .sortedKeys])
    }

    public static func decode(_ data: Foundation.Data, source: String) throws -> RunState {
        func fail(_ m: String) -> CheckpointError { CheckpointError("\(source): \(m)") }
        guard let o = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw fail("state.json is not a JSON object")
        }
        guard o["format"] as? String == format else { throw fail("not a TinyGPT checkpoint state (format field)") }
        guard let v = o["version"] as? Int, v == version else {
            throw fail("unsupported checkpoint version \(o["version"] ?? "none") (this build reads \(version))")
        }
        guard let kind = o["kind"] as? String, let step = o["step"] as? Int,
              let config = o["config"] as? [String: Any], let m = o["model"] as? [String: Any],
              let tokenizer = o["tokenizer"] as? [String: Any], let rng = o["rng"] as? [String: Any] else {
            throw fail("state.json lacks one of kind, step, config, model, tokenizer, rng")
        }
        // A step past 2^50 would take longer than any run; a negative one would train at a negative
        // learning rate.
        guard (0...Self.maximumStep).contains(step) else {
            throw fail("step must be in 0...\(Self.maximumStep), got \(step)")
        }
        let model: GPTConfig
        do { model = try GPTConfig(savedJSON: m, source: source) } catch let e as ConfigError {
            throw fail(e.message)
        }
        guard model.vocabSize > 0 else { throw fail("model.vocab_size must be a positive integer, got null") }
        if let problem = GPT.sizeProblem(model) { throw fail("model: " + problem) }
        func words(_ k: String) throws -> RandomGenerator {
            guard let a = rng[k] as? [String], a.count == 4 else { throw fail("rng.\(k) must be 4 words") }
            let w = a.compactMap(UInt64.init)
            guard w.count == 4, w.contains(where: { $0 != 0 }) else { throw fail("rng.\(k) is malformed") }
            return RandomGenerator(state: w)
        }
        var sampler: SamplerState? = nil
        if let s = o["sampler"] {
            // JSONSerialization traps on a top-level value that is not an object, so check first.
            guard let object = s as? [String: Any],
                  let data = try? JSONSerialization.data(withJSONObject: object),
                  let decoded = try? JSONDecoder().decode(SamplerState.self, from: data) else {
                throw fail("\"sampler\" is not a saved data position (an object with the sampler's fields)")
            }
            sampler = decoded
        }
        var state = RunState(kind: kind, step: step, config: config, model: model, tokenizer: tokenizer,
                             batchRNG: try words("batch"), dropoutRNG: try words("dropout"), sampler: sampler,
                             bestValLoss: o["best_val_loss"] as? Double, threads: (o["threads"] as? Int) ?? 0)
        let known: Set<String> = ["format", "version", "kind", "step", "config", "model", "tokenizer", "rng",
                                  "threads", "sampler", "best_val_loss"]
        if let digests = o[TensorFileDigests.key] {
            state.fileDigests = try TensorFileDigests.parse(digests, source: source)
        }
        for (k, v) in o where !known.contains(k) && k != TensorFileDigests.key { state.extra[k] = v }
        return state
    }
}
