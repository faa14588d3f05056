// The GPT's shape as config fields, declared once under the keys GPTConfig's coding keys name
// (nanoGPT's): pretraining configs embed them, state.json stores a checkpoint's model with them, and
// `plan` reads them. vocab_size 0 stands for null, "take it from the dataset's tokenizer".
import Foundation
import NN

extension GPTConfig: Configurable {
    typealias Key = GPTConfig.CodingKeys

    public static let fields: [ConfigField<GPTConfig>] = [
        ConfigField(Key.vocabSize.rawValue, kind: "integer", read: { c, v in
            if v is NSNull { c.vocabSize = 0; return }
            guard let i = JSONValue.integer(v), i > 0 else {
                throw FieldProblem.type(expected: "a positive integer or null", got: v)
            }
            c.vocabSize = i
        }, value: { $0.vocabSize > 0 ? $0.vocabSize as Any : NSNull() }),
        .int(Key.blockSize.rawValue, \.blockSize, min: 1),
        .int(Key.nLayer.rawValue, \.nLayer, min: 1),
        .int(Key.nHead.rawValue, \.nHead, min: 1),
        .int(Key.nEmbd.rawValue, \.nEmbd, min: 1),
        ConfigField(Key.dropout.rawValue, kind: "number", read: { c, v in
            c.dropout = Float(try JSONValue.number(v, min: 0, below: 1))
        }, value: { Double("\($0.dropout)") ?? Double($0.dropout) }),   // 0.2, not 0.200000003
        .bool(Key.bias.rawValue, \.bias),
    ]

    public func validate(source: String) throws {
        if nEmbd % nHead != 0 {
            throw ConfigError(source: source, message: "n_head (\(nHead)) must divide n_embd (\(nEmbd))")
        }
    }
}

extension GPTConfig {
    /// nanoGPT's GPTConfig defaults (the memberwise initialiser's, needed by `Configurable`).
    public init() { self.init(vocabSize: 50304) }

    /// A saved model shape (state.json's "model" object): every key must be there.
    public init(savedJSON object: [String: Any], source: String) throws {
        if let missing = Self.keys.first(where: { object[$0] == nil }) {
            throw ConfigError(source: source, message: "model.\(missing) is missing")
        }
        self.init()
        try apply(json: object, source: source)
    }
}
