// Rebuilding a model and its tokenizer from a checkpoint alone (for sampling, evaluation and
// fine-tuning): state.json gives the architecture and tokenizer, model.safetensors the weights.
import Foundation
import Checkpoint
import Data
import NN

public struct LoadedModel {
    public let model: GPT
    public let tokenizer: any Tokenizer
    public let state: RunState
    public let directory: URL

    /// `path`: a step directory, or a run directory (its latest checkpoint). A fine-tuned classifier
    /// is refused with a pointer to `tinygpt eval --task classify` (its weights include a head that a
    /// language model does not have). `verify`: check the weights against state.json's SHA-256.
    public init(checkpoint path: String, verify: Bool = true) throws {
        let url = try CheckpointStore.resolve(path: path)
        let stateURL = url.appendingPathComponent(CheckpointStore.stateFile)
        state = try RunState.decode(try CheckpointStore.readState(from: url), source: stateURL.path)
        if state.kind == FinetuneState.kind(.classify) {
            throw EvaluationError(path, "is a fine-tuned classifier (\(state.kind)), not a language model; "
                                   + "evaluate it with `tinygpt eval --task classify`, or use the checkpoint it was " +
                                           "fine-tuned from")
        }
        tokenizer = try TokenizerLoader.decode(state.tokenizer, source: stateURL.path + " (tokenizer)")
        if tokenizer.vocabSize > state.model.vocabSize {
            throw EvaluationError(stateURL.path, "the tokenizer has \(tokenizer.vocabSize) tokens but the model's " +
                                  "vocab_size is \(state.model.vocabSize); the checkpoint is inconsistent")
        }
        let weightBytes = Double(GPT.parameterCount(state.model)) * Double(MemoryLayout<Float>.size)
        if weightBytes > Double(ProcessInfo.processInfo.physicalMemory) {
            throw EvaluationError(stateURL.path, "the model's \(GPT.parameterCount(state.model)) parameters need " +
                                  "more memory than this machine has")
        }
        var config = state.model
        config.dropout = 0
        model = GPT(config: config, seed: nil)
        try CheckpointStore.load(from: url, into: model.parameters, optimizer: nil, verify: verify)
        directory = url
    }
}
