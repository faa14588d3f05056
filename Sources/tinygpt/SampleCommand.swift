// `tinygpt sample`: stream text from a checkpoint (KV-cached generation).
import ArgumentParser
import Data
import Foundation
import Evaluate
import NN

struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample", abstract: "Generate text from a checkpoint, streaming tokens as they are sampled.",
        discussion: """
            Generation stops at the tokenizer's end-of-text token (GPT-2's <|endoftext|>) unless --no-stop \
            is given, at the first --stop string (not printed), or after --max-new-tokens tokens.
            Example: tinygpt sample --checkpoint checkpoints/cpu --prompt "ROMEO:" --max-new-tokens 300 --top-k 40
            Example: tinygpt sample --checkpoint checkpoints/sft --prompt "Q: 2+2?\\nA:" --stop "\\n\\n"
            """)

    @Option(name: .long, help: "Checkpoint: a step directory or a run directory (uses its latest).")
    var checkpoint: String
    @Option(name: .long, help: "Text to continue (default: a newline, or the end-of-text token).")
    var prompt: String?
    @Option(name: .customLong("max-new-tokens"), help: "Tokens to generate.") var maxNewTokens: Int = 500
    @Option(name: .long, help: "Softmax temperature; 0 means greedy.") var temperature: Float = 0.8
    @Option(name: .customLong("top-k"), help: "Keep only the k most likely tokens.") var topK: Int?
    @Option(name: .customLong("top-p"), help: "Keep the smallest set of tokens whose probability reaches p.")
    var topP: Float?
    @Option(name: .long, help: "Random seed.") var seed: UInt64 = 1337
    @Option(name: .customLong("num-samples"), help: "Independent samples to draw.") var numSamples: Int = 1
    @Option(name: .customLong("stop"), parsing: .singleValue,
            help: "End a sample at this text (repeatable; \\n is a newline).")
    var stopStrings: [String] = []
    @Flag(name: .customLong("no-stop"), help: "Do not stop at the end-of-text token or at --stop strings.")
    var noStop = false
    @OptionGroup var verification: VerifyOptions

    func run() throws {
        try runReportingErrors {
            guard maxNewTokens >= 0 else { throw ValidationError("--max-new-tokens must be >= 0, got \(maxNewTokens)") }
            guard numSamples >= 1 else { throw ValidationError("--num-samples must be >= 1, got \(numSamples)") }
            let loaded = try LoadedModel(checkpoint: checkpoint, verify: verification.verify)
            let tok = loaded.tokenizer
            var ids: [Int32]
            if let prompt, !prompt.isEmpty {
                ids = try tok.encodeChecked(prompt)
                if ids.isEmpty { throw ValidationError("--prompt encodes to no tokens") }
            } else if let eot = tok.eotToken {
                ids = [eot]
            } else {
                ids = try tok.encodeChecked("\n")
            }
            let options = SamplingOptions(temperature: temperature, topK: topK, topP: topP)
            var sampler = Sampler(options: options, seed: seed)
            for i in 0..<numSamples {
                if i > 0 { Terminal.raw("\n---------------\n") }
                if let prompt { Terminal.raw(prompt) }
                var decoder = StreamingDecoder(tokenizer: tok)
                var stops = StopSequences(noStop ? [] : stopStrings.map(unescapeFlagText))
                let end = noStop ? nil : tok.eotToken
                _ = try loaded.model.generate(prompt: ids, maxNewTokens: maxNewTokens, sampler: &sampler) { token in
                    if token == end { return false }
                    Terminal.raw(stops.push(decoder.push(token)))
                    return !stops.stopped
                }
                Terminal.raw(stops.push(decoder.finish()) + stops.finish() + "\n")
            }
        }
    }
}
