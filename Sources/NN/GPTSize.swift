// How big a GPT and its batches may be before anything is counted in Int or allocated. Sizes come from
// config files, flags and checkpoints, so a product such as n_layer·n_embd² or B·NH·T² can overflow
// Int (a trap) or ask for petabytes (an allocation abort). `sizeProblem` checks every count that
// GPTCost, GPTActivations, the parameter arena and the attention buffers compute, in Double, against
// `countLimit`; below it every Int product in those files is exact. `trainingMemory` is the peak
// memory accounting that `tinygpt plan` reports and that training checks before it allocates.
import Kernels

/// Bytes a training run holds at its peak (fp32 throughout).
public struct TrainingMemory: Equatable, Sendable {
    public var parameters: Int
    public var gradients: Int
    /// AdamW's first and second moments.
    public var adamMoments: Int
    /// Saved for backward by one micro-batch's forward.
    public var activations: Int
    /// The gradient of the logits, allocated at the start of backward while every activation
    /// is still held (the largest buffer backward adds).
    public var logitsGradient: Int
    public var total: Int { parameters + gradients + adamMoments + activations + logitsGradient }

    public init(parameters: Int, gradients: Int, adamMoments: Int, activations: Int, logitsGradient: Int) {
        self.parameters = parameters; self.gradients = gradients; self.adamMoments = adamMoments
        self.activations = activations; self.logitsGradient = logitsGradient
    }
}

extension GPT {
    /// The most elements (parameters, saved activations, tokens per step) any count may reach:
    /// 2^50, 4 PiB of fp32, far beyond any machine, and small enough that sums of byte counts stay
    /// exact in Int.
    public static let countLimit = 0x1p50

    /// The first count past `countLimit` that a model of `config` trained on micro-batches of `batch`
    /// sequences of `time` tokens would need, as one line naming the keys that make it; nil when
    /// every count fits. Checks the configured sizes alone (no Int arithmetic on them).
    public static func sizeProblem(_ config: GPTConfig, batch: Int = 1, time: Int? = nil) -> String? {
        let v = Double(config.vocabSize), t = Double(config.blockSize), l = Double(config.nLayer)
        let nh = Double(config.nHead), c = Double(config.nEmbd)
        let b = Double(batch), tt = Double(time ?? config.blockSize)
        let tp = tt + 16
        // Each term as GPTCost and GPTActivations count it, with the keys that make it.
        let terms: [(String, Double)] = [
            ("vocab_size × n_embd (the token embedding)", v * c),
            ("block_size × n_embd (the position embedding)", t * c),
            ("n_layer × 12·n_embd² (the blocks' weights)", l * (12 * c * c + 16 * c)),
            ("batch_size × block_size (tokens per micro-batch)", b * tt),
            ("batch_size × block_size × n_layer × n_embd (the blocks' activations)", b * tt * l * (24 * c + 4)),
            ("batch_size × n_layer × n_head × block_size² (the attention probabilities)", b * tt * l * nh * tp),
            ("batch_size × block_size × vocab_size (the logits)", b * tt * (v + c + 3)),
        ]
        let total = terms.reduce(0) { $0 + $1.1 }
        guard let worst = terms.max(by: { $0.1 < $1.1 }), !(total < countLimit) else { return nil }
        return "\(worst.0) comes to \(scientific(worst.1)) values; at most \(scientific(countLimit)) can be " +
                "counted (n_layer \(config.nLayer), n_head \(config.nHead), n_embd \(config.nEmbd), block_size " +
                "\(config.blockSize), vocab_size \(config.vocabSize), batch_size \(batch))"
    }

    /// Peak bytes of training `config` on micro-batches of `batch` × `time` tokens with AdamW: the
    /// parameters, their gradients, two moments, one micro-batch's saved activations and the logits'
    /// gradient. Call only when `sizeProblem` is nil.
    public static func trainingMemory(_ config: GPTConfig, batch: Int, time: Int) -> TrainingMemory {
        let n = parameterSplit(config).total * MemoryLayout<Float>.size
        let activations = savedActivations(config, batch: batch, time: time)
        return TrainingMemory(parameters: n, gradients: n, adamMoments: 2 * n, activations: activations.bytes,
                              logitsGradient: activations.logits * MemoryLayout<Float>.size)
    }

    /// 1.23e+20: a count too large to read in digits.
    static func scientific(_ x: Double) -> String {
        guard x.isFinite else { return "\(x)" }
        var exponent = 0, mantissa = x
        while mantissa >= 10 { mantissa /= 10; exponent += 1 }
        let rounded = (mantissa * 100).rounded() / 100
        return "\(rounded)e+\(exponent)"
    }
}
