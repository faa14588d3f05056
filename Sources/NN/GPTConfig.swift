// The GPT model's shape: nanoGPT's GPTConfig fields under nanoGPT's JSON names. Decoding is written out
// by hand so that missing keys take nanoGPT's defaults (block 1024, vocab 50304, 12 layers, 12 heads,
// 768 wide, dropout 0, biases on) and unknown keys are errors that name the key.
import Foundation

public struct GPTConfig: Equatable, Sendable {
    public var vocabSize: Int
    public var blockSize: Int
    public var nLayer: Int
    public var nHead: Int
    public var nEmbd: Int
    /// Dropout probability on the embeddings and on both residual branches (0 = off).
    public var dropout: Float
    /// Biases in the linear layers and LayerNorms (nanoGPT's `bias` flag).
    public var bias: Bool

    public init(vocabSize: Int = 50304, blockSize: Int = 1024, nLayer: Int = 12, nHead: Int = 12,
                nEmbd: Int = 768, dropout: Float = 0, bias: Bool = true) {
        self.vocabSize = vocabSize
        self.blockSize = blockSize
        self.nLayer = nLayer
        self.nHead = nHead
        self.nEmbd = nEmbd
        self.dropout = dropout
        self.bias = bias
    }

    /// Size of one attention head (nEmbd / nHead).
    public var headSize: Int { nEmbd / max(nHead, 1) }

    /// Throws the first problem found, in one line naming the field by its JSON key.
    public func validate() throws {
        for (key, value) in [("vocab_size", vocabSize), ("block_size", blockSize), ("n_layer", nLayer),
                             ("n_head", nHead), ("n_embd", nEmbd)] where value <= 0 {
            throw GPTConfigError.invalid("\(key) must be a positive integer, got \(value)")
        }
        if nEmbd % nHead != 0 {
            throw GPTConfigError.invalid("n_embd (\(nEmbd)) must be divisible by n_head (\(nHead))")
        }
        if !(dropout >= 0 && dropout < 1) {
            throw GPTConfigError.invalid("dropout must be in [0, 1), got \(dropout)")
        }
    }
}

/// A problem with a model configuration, described in one line.
public enum GPTConfigError: Error, Equatable, CustomStringConvertible, LocalizedError {
    case unknownKey(String)
    case wrongType(key: String, expected: String)
    case invalid(String)

    public var description: String {
        switch self {
        case .unknownKey(let key): return "unknown config key \"\(key)\""
        case .wrongType(let key, let expected): return "config key \"\(key)\" must be \(expected)"
        case .invalid(let message): return message
        }
    }

    public var errorDescription: String? { description }
}

extension GPTConfig: Codable {
    public enum CodingKeys: String, CodingKey, CaseIterable {
        case vocabSize = "vocab_size"
        case blockSize = "block_size"
        case nLayer = "n_layer"
        case nHead = "n_head"
        case nEmbd = "n_embd"
        case dropout
        case bias
    }

    /// Any key, to find the ones CodingKeys does not know.
    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Decodes a partial config: absent keys keep nanoGPT's defaults. Does not validate; call
    /// `validate()` once overrides have been applied.
    public init(from decoder: Decoder) throws {
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        let all = try decoder.container(keyedBy: AnyKey.self)
        if let unknown = all.allKeys.map(\.stringValue).sorted().first(where: { !known.contains($0) }) {
            throw GPTConfigError.unknownKey(unknown)
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func value<T: Decodable>(_ key: CodingKeys, _ type: T.Type, _ expected: String) throws -> T? {
            // Any failure here is a value of the wrong kind (a string, 12.5 for an integer, a number
            // too large); Foundation reports some of them with an error that names neither key nor type.
            do { return try c.decodeIfPresent(type, forKey: key) } catch {
                throw GPTConfigError.wrongType(key: key.rawValue, expected: expected)
            }
        }
        let d = GPTConfig()
        self.init(vocabSize: try value(.vocabSize, Int.self, "an integer") ?? d.vocabSize,
                  blockSize: try value(.blockSize, Int.self, "an integer") ?? d.blockSize,
                  nLayer: try value(.nLayer, Int.self, "an integer") ?? d.nLayer,
                  nHead: try value(.nHead, Int.self, "an integer") ?? d.nHead,
                  nEmbd: try value(.nEmbd, Int.self, "an integer") ?? d.nEmbd,
                  dropout: try value(.dropout, Float.self, "a number") ?? d.dropout,
                  bias: try value(.bias, Bool.self, "true or false") ?? d.bias)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(vocabSize, forKey: .vocabSize)
        try c.encode(blockSize, forKey: .blockSize)
        try c.encode(nLayer, forKey: .nLayer)
        try c.encode(nHead, forKey: .nHead)
        try c.encode(nEmbd, forKey: .nEmbd)
        try c.encode(dropout, forKey: .dropout)
        try c.encode(bias, forKey: .bias)
    }
}
