// libFuzzer harness: a prepared dataset's manifest.json (DatasetManifest: format, version, tokenizer,
// splits, sources).
import Data
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    let url = FuzzScratch.file("manifest.json", fuzzInput(data, size))
    _ = try? DatasetManifest.load(url)
    return 0
}
