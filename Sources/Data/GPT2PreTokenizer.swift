// GPT-2's pre-tokenisation, written out by hand over UTF-8 bytes. It splits text exactly as the regex
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// (openai/gpt-2 src/encoder.py; tiktoken's r50k pattern) does: alternatives tried in that order at each
// position, classes decided per Unicode scalar (\p{L}: general category L*, \p{N}: N*, \s: the
// White_Space property). BPE merges then run inside each piece only.

public enum GPT2PreTokenizer {
    // Scalar classes.
    static let letter: UInt8 = 1, number: UInt8 = 2, space: UInt8 = 3, other: UInt8 = 4

    /// Classes of all BMP scalars, computed once (the hot path for non-ASCII text is one load).
    private static let bmpClasses: [UInt8] = (0..<0x10000).map { classifySlow(UInt32($0)) }

    static func classifySlow(_ v: UInt32) -> UInt8 {
        guard let s = Unicode.Scalar(v) else { return other }  // surrogates never occur in valid UTF-8
        let p = s.properties
        if p.isWhitespace { return space }
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return letter
        case .decimalNumber, .letterNumber, .otherNumber: return number
        default: return other
        }
    }

    /// Calls `body` with the byte range of each pre-token of valid UTF-8 `p`, in order.
    @inline(__always)
    static func forEachPiece(_ p: UnsafeBufferPointer<UInt8>, _ body: (Range<Int>) -> Void) {
        bmpClasses.withUnsafeBufferPointer { bmp in
            let n = p.count
            // Class and byte length of the scalar at i.
            @inline(__always) func cls(_ i: Int) -> (UInt8, Int) {
                let b = p[i]
                if b < 0x80 { return (asciiClass(b), 1) }
                let (v, len) = UTF8Scalars.decode(p, at: i)
                return (v < 0x10000 ? bmp[Int(v)] : classifySlow(v), len)
            }
            var i = 0
            while i < n {
                let start = i
                let b = p[i]
                // 's 't 're 've 'm 'll 'd (lower case only, as in the pattern)
                if b == 0x27 && i + 1 < n {
                    let c = p[i + 1]
                    if c == 0x73 || c == 0x74 || c == 0x6D || c == 0x64 { body(i..<(i + 2)); i += 2; continue }
                    if i + 2 < n {
                        let d = p[i + 2]
                        if (c == 0x72 && d == 0x65) || (c == 0x76 && d == 0x65) || (c == 0x6C && d == 0x6C) {
                            body(i..<(i + 3)); i += 3; continue
                        }
                    }
                }
                var (k, len) = cls(i)
                // " ?X+" for X in letters, numbers, other: an optional single space then a run.
                if b == 0x20 && i + 1 < n {
                    let (k2, len2) = cls(i + 1)
                    if k2 != space { k = k2; i += 1; len = len2 }
                }
                if k != space {
                    i += len
                    while i < n {
                        let (k3, l3) = cls(i)
                        if k3 != k { break }
                        i += l3
                    }
                    body(start..<i)
                    continue
                }
                // Whitespace run [start, j). Followed by a non-space: `\s+(?!\S)` leaves the last
                // whitespace scalar for the next piece (it then goes alone, or as the space of " ?X+").
                var j = i + len
                var lastStart = i
                while j < n {
                    let (k3, l3) = cls(j)
                    if k3 != space { break }
                    lastStart = j
                    j += l3
                }
                if j < n && lastStart > start {
                    body(start..<lastStart)
                    i = lastStart
                } else {
                    body(start..<j)
                    i = j
                }
            }
        }
    }

    @inline(__always)
    static func asciiClass(_ b: UInt8) -> UInt8 {
        switch b {
        case 0x41...0x5A, 0x61...0x7A: return letter
        case 0x30...0x39: return number
        case 0x09...0x0D, 0x20: return space
        default: return other
        }
    }

    /// The pre-tokens of `text` as strings (tests and debugging).
    public static func pieces(_ text: String) -> [String] {
        var out: [String] = []
        var s = text
        s.withUTF8 { p in
            forEachPiece(p) { r in out.append(String(decoding: UnsafeBufferPointer(rebasing: p[r]), as: UTF8.self)) }
        }
        return out
    }
}
