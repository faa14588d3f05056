// libFuzzer harness: task data for fine-tuning and evaluation, one JSON object per line — read both
// as classification rows ({"text", "label"[, "text_b"]}) and as instruction rows ({"prompt",
// "completion"}).
import Data
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    let url = FuzzScratch.file("rows.jsonl", fuzzInput(data, size))
    _ = try? readLabelledRows(url.path)
    _ = try? readPromptRows(url.path)
    return 0
}
