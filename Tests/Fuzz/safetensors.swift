// libFuzzer harness: a safetensors file (8-byte header length, JSON header, tensor data), opened and
// validated by SafeTensorsFile, then every F32 tensor copied out. Any input must give a tensor set or
// a thrown one-line error; a trap or a sanitizer report is a bug.
import Checkpoint
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    let url = FuzzScratch.file("model.safetensors", fuzzInput(data, size))
    guard let file = try? SafeTensorsFile(contentsOf: url) else { return 0 }
    for e in file.entries where e.dtype == "F32" { _ = try? file.tensor(e.name) }
    _ = file.metadata["step"]
    return 0
}
