// libFuzzer harness: a checkpoint's state.json as the loaders read it — RunState (format, step, model
// shape, RNG words, sampler, tensor digests), the fine-tuning fields when the kind says so, and the
// tokenizer it carries.
import Checkpoint
import Data
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    let bytes = fuzzInput(data, size)
    _ = try? TensorFileDigests.recorded(in: bytes, source: "state.json")
    guard let state = try? RunState.decode(bytes, source: "state.json") else { return 0 }
    if state.kind.hasPrefix("finetune-") { _ = try? FinetuneState.decode(state, source: "state.json") }
    if let tokenizer = try? TokenizerLoader.decode(state.tokenizer, source: "state.json (tokenizer)") {
        _ = tokenizer.decode(tokenizer.encode("To be, or not"))
    }
    return 0
}
