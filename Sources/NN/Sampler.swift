// Picking the next token from logits (V): temperature, then top-k, then top-p (nucleus), then a draw
// from the renormalised distribution with the sampler's own seeded RandomGenerator; temperature 0 is
// greedy (argmax, no random draw). The same order as Hugging Face's generate (temperature, top_k,
// top_p); top-k keeps exactly k tokens (ties broken towards the lower token id) and top-p keeps the
// smallest set of most likely tokens whose probability reaches p.
import Foundation
import Kernels

public struct SamplingOptions: Equatable, Sendable {
    /// Divides the logits; 0 means greedy decoding.
    public var temperature: Float
    /// Keep only the k most likely tokens (nil: all).
    public var topK: Int?
    /// Keep the smallest set of most likely tokens with total probability ≥ p (nil or 1: all).
    public var topP: Float?

    public init(temperature: Float = 1, topK: Int? = nil, topP: Float? = nil) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
    }

    public func validate() throws {
        if !(temperature >= 0 && temperature.isFinite) {
            throw GenerationError.invalidOption("temperature must be a finite number >= 0, got \(temperature)")
        }
        if let k = topK, k < 1 { throw GenerationError.invalidOption("top-k must be at least 1, got \(k)") }
        if let p = topP, !(p > 0 && p <= 1) {
            throw GenerationError.invalidOption("top-p must be in (0, 1], got \(p)")
        }
    }
}

/// A problem with a generation request (prompt or options), in one line.
public enum GenerationError: Error, Equatable, CustomStringConvertible, LocalizedError {
    case emptyPrompt
    case tokenOutOfRange(position: Int, token: Int32, vocabSize: Int)
    case invalidOption(String)

    public var description: String {
        switch self {
        case .emptyPrompt: return "the prompt is empty: generation needs at least one token to start from"
        case .tokenOutOfRange(let i, let t, let v):
            return "prompt token \(i) is \(t), outside the model's vocabulary 0..<\(v)"
        case .invalidOption(let m): return m
        }
    }

    public var errorDescription: String? { description }
}

/// The tokens that may be drawn and their probabilities (summing to 1) under `options`; for
/// filtered distributions the candidates come most likely first. Greedy (temperature 0) yields
/// the argmax alone.
public func samplingCandidates(_ logits: UnsafePointer<Float>, count: Int,
                               options: SamplingOptions) -> (tokens: [Int32], probabilities: [Double]) {
    precondition(count > 0, "samplingCandidates: empty logits")
    if options.temperature == 0 {
        var best = 0
        for i in 1..<count where logits[i] > logits[best] { best = i }
        return ([Int32(best)], [1])
    }
    let invT = 1 / Double(options.temperature)
    let k = min(options.topK ?? count, count)
    let p = Double(options.topP ?? 1)
    var tokens: [Int32]
    if k < count || p < 1 {
        // Most likely first; equal logits in token order so the result never depends on the sort.
        tokens = (0..<Int32(count)).sorted { a, b in
            logits[Int(a)] != logits[Int(b)] ? logits[Int(a)] > logits[Int(b)] : a < b
        }
        if k < count { tokens.removeLast(count - k) }
    } else {
        tokens = Array(0..<Int32(count))
    }
    var maxZ = -Double.infinity
    for t in tokens { maxZ = max(maxZ, Double(logits[Int(t)]) * invT) }
    var probs = tokens.map { exp(Double(logits[Int($0)]) * invT - maxZ) }
    var total = probs.reduce(0, +)
    if p < 1 {
        var cumulative = 0.0, keep = 0
        while keep < probs.count {
            cumulative += probs[keep] / total
            keep += 1
            if cumulative >= p { break }
        }
        tokens.removeLast(tokens.count - keep)
        probs.removeLast(probs.count - keep)
        total = probs.reduce(0, +)
    }
    return (tokens, probs.map { $0 / total })
}

/// The full distribution over the vocabulary (zeros for filtered-out tokens) that `Sampler` draws from.
public func samplingDistribution(_ logits: [Float], options: SamplingOptions) -> [Double] {
    let (tokens, probs) = logits.withUnsafeBufferPointer {
        samplingCandidates($0.baseAddress!, count: logits.count, options: options)
    }
    var dist = [Double](repeating: 0, count: logits.count)
    for (t, p) in zip(tokens, probs) { dist[Int(t)] = p }
    return dist
}

/// Draws tokens with a seeded generator: the same seed, options and logits give the same tokens.
public struct Sampler {
    public var options: SamplingOptions
    public var rng: RandomGenerator

    public init(options: SamplingOptions, seed: UInt64) {
        self.init(options: options, rng: RandomGenerator(seed: seed))
    }

    public init(options: SamplingOptions, rng: RandomGenerator) {
        self.options = options
        self.rng = rng
    }

    /// The next token for logits (count = V). Greedy decoding consumes no random numbers.
    public mutating func next(_ logits: UnsafePointer<Float>, count: Int) -> Int32 {
        let (tokens, probs) = samplingCandidates(logits, count: count, options: options)
        if tokens.count == 1 { return tokens[0] }
        let u = rng.nextDouble()
        var cumulative = 0.0
        for (t, p) in zip(tokens, probs) {
            cumulative += p
            if u < cumulative { return t }
        }
        // Rounding left the total a hair below u: take the last token with any probability.
        return tokens[probs.lastIndex { $0 > 0 } ?? 0]
    }

    public mutating func next(_ logits: [Float]) -> Int32 {
        logits.withUnsafeBufferPointer { next($0.baseAddress!, count: logits.count) }
    }
}
