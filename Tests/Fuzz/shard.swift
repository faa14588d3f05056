// libFuzzer harness: an llm.c token shard (1024-byte header: magic, version, token count; then
// uint16 or uint32 tokens), its header checked on open and its tokens read.
import Data
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    let url = FuzzScratch.file("train_000000.bin", fuzzInput(data, size))
    guard let shard = try? TokenShard(url: url) else { return 0 }
    _ = shard.firstTokenOutside(vocabSize: 50257)
    if shard.count > 0 { _ = shard[shard.count - 1] }
    return 0
}
