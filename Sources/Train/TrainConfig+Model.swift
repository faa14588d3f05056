// The model a pretraining config describes, and its vocabulary size given the dataset's tokenizer:
// shared by the pretrainer, a fine-tune from scratch, `tinygpt plan` and the benchmarks.
import NN

extension TrainConfig {
    /// The GPT of this config's shape with `vocabSize` tokens (not yet validated).
    public func modelConfig(vocabSize: Int) -> GPTConfig {
        GPTConfig(vocabSize: vocabSize, blockSize: blockSize, nLayer: nLayer, nHead: nHead, nEmbd: nEmbd,
                  dropout: Float(dropout), bias: bias)
    }

    /// vocab_size from the config, else the tokenizer's; a configured size below the tokenizer's is a
    /// one-line error under `source` (the tokenizer would emit ids the embedding cannot hold).
    public func vocabularySize(tokenizerSize: Int, source: String = "vocab_size") throws -> Int {
        let v = vocabSize ?? tokenizerSize
        if v < tokenizerSize {
            let what = source == "vocab_size" ? "" : "vocab_size "
            throw TrainConfigError(source: source, message: "\(what)\(v) is smaller than the dataset tokenizer's \(tokenizerSize) tokens")
        }
        return v
    }
}
