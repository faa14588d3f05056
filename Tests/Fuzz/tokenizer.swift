// libFuzzer harness: tokenizer files. The first byte chooses the form: our tokenizer.json (char or
// byte-level BPE), a Hugging Face tokenizer.json, vocab.json + merges.txt, or GPT-2's encoder.json +
// vocab.bpe (the two files of a pair separated by a "\n--\n" line). A tokenizer that loads then
// encodes and decodes a short text.
import Data
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let choice = data.load(as: UInt8.self) % 4
    let body = fuzzInput(data + 1, size - 1)
    var tokenizer: (any Tokenizer)?
    switch choice {
    case 0:
        tokenizer = try? TokenizerLoader.decode(body, source: "tokenizer.json")
    case 1:
        let folder = FuzzScratch.directory.appendingPathComponent("hf-json", isDirectory: true)
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try? body.write(to: folder.appendingPathComponent(HuggingFaceTokenizerFiles.tokenizerFile))
        tokenizer = (try? HuggingFaceTokenizerFiles.read(folder: folder)) ?? nil
    case 2:
        let (vocab, merges) = splitInput(body)
        let folder = FuzzScratch.directory.appendingPathComponent("hf-pair", isDirectory: true)
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try? vocab.write(to: folder.appendingPathComponent(HuggingFaceTokenizerFiles.vocabFile))
        try? merges.write(to: folder.appendingPathComponent(HuggingFaceTokenizerFiles.mergesFile))
        tokenizer = (try? HuggingFaceTokenizerFiles.read(folder: folder)) ?? nil
    default:
        let (encoder, bpe) = splitInput(body)
        tokenizer = try? BytePairTokenizer.loadGPT2(encoderJSON: FuzzScratch.file("encoder.json", encoder),
                                                   vocabBPE: FuzzScratch.file("vocab.bpe", bpe))
    }
    if let tokenizer {
        _ = tokenizer.decode(tokenizer.encode("Hello, world! 123 \u{e9}t\u{e9}\n"))
        _ = try? tokenizer.serialized()
    }
    return 0
}
