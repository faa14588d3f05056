// Errors for bad user input in the data layer: every case renders as one line that names the file
// (or flag) and says what was expected, so the CLI can print it as is and exit non-zero.
import Foundation

public enum DataError: Error, CustomStringConvertible, LocalizedError, Equatable {
    /// A file or directory that should exist does not.
    case missingFile(path: String, what: String)
    /// An input that holds no text at all.
    case emptyInput(path: String)
    /// Bytes that are not UTF-8; `offset` is the byte offset of the first bad byte in the file.
    case invalidUTF8(path: String, offset: Int)
    /// A JSONL line that does not parse, or lacks a string "text" field (1-based line number).
    case badJSONLine(path: String, line: Int, problem: String)
    /// A token shard whose header or size is wrong.
    case badShard(path: String, problem: String)
    /// A token id that the tokenizer (or the shard width) cannot represent.
    case tokenOutOfRange(path: String, index: Int, token: Int64, vocabSize: Int)
    /// A character the character-level tokenizer has never seen.
    case unknownCharacter(character: String, offset: Int)
    /// A malformed tokenizer.json, encoder.json, vocab.bpe or manifest.json.
    case badTokenizerFile(path: String, problem: String)
    case badManifest(path: String, problem: String)
    /// A dataset directory that is incomplete.
    case incompleteDataset(path: String, problem: String)
    /// An output directory that already holds something else.
    case outputNotEmpty(path: String, problem: String)
    /// A flag or option value that makes no sense.
    case badOption(flag: String, problem: String)
    /// A split too small for the requested window.
    case notEnoughTokens(what: String, tokens: Int, needed: Int)
    /// An operating-system failure on a file (open, read, write, rename, mmap).
    case io(path: String, operation: String, errno: Int32)
    /// A FIFO, device, socket or directory where a file was expected.
    case notRegularFile(path: String, kind: String, what: String)

    public var description: String {
        switch self {
        case let .notRegularFile(path, kind, what):
            return "\(path): is \(kind), not a regular file (expected a \(what))"
        case .missingFile(let path, let what):
            return "\(path): \(what) not found"
        case .emptyInput(let path):
            return "\(path): input is empty (expected some text)"
        case .invalidUTF8(let path, let offset):
            return "\(path): invalid UTF-8 at byte offset \(offset) (pass --errors replace to substitute U+FFFD)"
        case .badJSONLine(let path, let line, let problem):
            return "\(path):\(line): \(problem)"
        case .badShard(let path, let problem):
            return "\(path): \(problem)"
        case .tokenOutOfRange(let path, let index, let token, let vocabSize):
            return "\(path): token \(index) has id \(token), outside the vocabulary of \(vocabSize) tokens"
        case .unknownCharacter(let character, let offset):
            let shown = character.unicodeScalars.map { s in
                s.properties.isWhitespace || s.value < 0x20
                    ? "U+" + String(s.value, radix: 16, uppercase: true) : String(s)
            }.joined()
            return "character \(shown) at offset \(offset) is not in the character tokenizer's vocabulary"
        case .badTokenizerFile(let path, let problem):
            return "\(path): \(problem)"
        case .badManifest(let path, let problem):
            return "\(path): \(problem)"
        case .incompleteDataset(let path, let problem):
            return "\(path): \(problem)"
        case .outputNotEmpty(let path, let problem):
            return "\(path): \(problem)"
        case .badOption(let flag, let problem):
            return "\(flag): \(problem)"
        case .notEnoughTokens(let what, let tokens, let needed):
            return "\(what) has \(tokens) tokens but at least \(needed) are needed"
        case .io(let path, let operation, let errno):
            return "\(path): cannot \(operation): \(String(cString: strerror(errno)))"
        }
    }

    public var errorDescription: String? { description }
}
