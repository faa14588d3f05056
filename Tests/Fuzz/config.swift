// libFuzzer harness: the config engine (Configurable) on config files, as `--config` reads them: a
// pretraining config (TrainConfig, its optimisation keys and the model's) and a bare model config
// (GPTConfig). Inputs after a "\n--\n" line are also applied as `--set key=value` lines.
import Config
import Foundation
import NN

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    let (file, sets) = splitInput(fuzzInput(data, size))
    let url = FuzzScratch.file("config.json", file)
    let overrides = String(decoding: sets, as: UTF8.self).split(separator: "\n").map(String.init)
    if var config = try? TrainConfig.load(path: url.path) {
        _ = try? config.apply(overrides: overrides)
    }
    if var model = try? GPTConfig.load(path: url.path) {
        _ = try? model.apply(overrides: overrides)
        if (try? model.validate()) != nil { _ = GPT.sizeProblem(model) }
    }
    return 0
}
