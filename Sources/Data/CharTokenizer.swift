// Character-level tokenizer: the vocabulary is the sorted set of Unicode scalars (Python's str
// characters) in the corpus and a character's id is its rank, as nanoGPT's
// data/shakespeare_char/prepare.py builds it (sorted(list(set(data)))). tiny Shakespeare gives 65.
import Foundation

public final class CharTokenizer: Tokenizer {
    public static let typeName = "char"
    public var type: String { Self.typeName }

    /// The vocabulary in id order (ascending scalar value).
    public let scalars: [Unicode.Scalar]
    private let asciiIds: [Int32]              // 128 entries, -1 where absent
    private let otherIds: [UInt32: Int32]      // non-ASCII scalars

    public var vocabSize: Int { scalars.count }
    public var specialTokens: [String: Int32] { [:] }
    public var eotToken: Int32? { nil }

    /// A tokenizer over exactly these scalars (deduplicated and sorted here).
    public init(scalars: some Sequence<Unicode.Scalar>) {
        let sorted = Array(Set(scalars)).sorted { $0.value < $1.value }
        self.scalars = sorted
        var ascii = [Int32](repeating: -1, count: 128)
        var other: [UInt32: Int32] = [:]
        for (i, s) in sorted.enumerated() {
            if s.value < 128 { ascii[Int(s.value)] = Int32(i) } else { other[s.value] = Int32(i) }
        }
        asciiIds = ascii
        otherIds = other
    }

    /// The vocabulary of `corpus`.
    public convenience init(corpus: String) {
        self.init(scalars: corpus.unicodeScalars)
    }

    public convenience init(jsonObject object: [String: Any], source: String) throws {
        guard let vocab = object["vocab"] as? [String] else {
            throw DataError.badTokenizerFile(path: source,
                                             problem: "char tokenizer needs a \"vocab\" array of one-character strings")
        }
        var scalars: [Unicode.Scalar] = []
        for (i, s) in vocab.enumerated() {
            let u = Array(s.unicodeScalars)
            guard u.count == 1 else {
                throw DataError.badTokenizerFile(path: source,
                                                 problem: "vocab entry \(i) holds \(u.count) characters (expected "
                                                          + "exactly 1)")
            }
            if let last = scalars.last, last.value >= u[0].value {
                throw DataError.badTokenizerFile(path: source,
                                                 problem: "vocab entry \(i) is out of order or repeated (expected "
                                                          + "ascending code points)")
            }
            scalars.append(u[0])
        }
        guard !scalars.isEmpty else {
            throw DataError.badTokenizerFile(path: source, problem: "char tokenizer vocab is empty")
        }
        self.init(scalars: scalars)
    }

    public func jsonObject() -> [String: Any] {
        ["type": Self.typeName, "vocab": scalars.map { String($0) }]
    }

    @inline(__always)
    func id(of scalar: Unicode.Scalar) -> Int32 {
        scalar.value < 128 ? asciiIds[Int(scalar.value)] : (otherIds[scalar.value] ?? -1)
    }

    public func encode(_ text: String) -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(text.utf8.count)
        for s in text.unicodeScalars {
            let i = id(of: s)
            if i >= 0 { out.append(i) }
        }
        return out
    }

    public func encodeChecked(_ text: String) throws -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(text.utf8.count)
        for (offset, s) in text.unicodeScalars.enumerated() {
            let i = id(of: s)
            guard i >= 0 else { throw DataError.unknownCharacter(character: String(s), offset: offset) }
            out.append(i)
        }
        return out
    }

    /// Appends the ids of valid UTF-8 `bytes` to `out`; returns the scalar offset of the first
    /// character outside the vocabulary, or nil. (The prepare pipeline's fast path.)
    func append(utf8 bytes: UnsafeBufferPointer<UInt8>, to out: inout [Int32]) -> Int? {
        var scalarIndex = 0
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            if b < 0x80 {
                let t = asciiIds[Int(b)]
                if t < 0 { return scalarIndex }
                out.append(t)
                i += 1
            } else {
                let (scalar, len) = UTF8Scalars.decode(bytes, at: i)
                let t = otherIds[scalar] ?? -1
                if t < 0 { return scalarIndex }
                out.append(t)
                i += len
            }
            scalarIndex += 1
        }
        return nil
    }

    public func decodeBytes(_ ids: [Int32]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(ids.count)
        let n = Int32(scalars.count)
        for id in ids {
            let s = (id >= 0 && id < n) ? scalars[Int(id)] : Unicode.Scalar(0xFFFD)!
            if s.value < 0x80 { out.append(UInt8(s.value)) } else { out.append(contentsOf: String(s).utf8) }
        }
        return out
    }
}
