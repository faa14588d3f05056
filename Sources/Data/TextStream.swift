// Streams the text of prepare's inputs in bounded pieces (constant memory): plain-text files (one
// document each) and JSONL files (one document per line, from its "text" field), in the order given,
// directories expanded to their files sorted by path. Validates UTF-8 (strict: error with the byte
// offset; replace: U+FFFD), hashes the raw bytes (SHA-256), and marks which split each piece is in:
// the validation split is the last `valFraction` of the input bytes, cut at that exact byte offset
// inside a plain-text file (as nanoGPT's prepare.py slices the text) or at the next JSONL line.
// Plain text is cut into pieces only where a non-space ASCII byte is followed by whitespace: GPT-2's
// pre-tokeniser never joins across such a point, so piecewise encoding equals whole-text encoding.
import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@inline(__always)
private func posixRead(_ fd: Int32, _ p: UnsafeMutableRawPointer, _ n: Int) -> Int { read(fd, p, n) }

public enum UTF8ErrorPolicy: String, Sendable, Codable {
    case strict, replace
}

/// One input file.
struct SourceFile {
    var url: URL
    var path: String   // as shown in errors and the manifest
    var bytes: Int
    var isJSONL: Bool
}

enum DatasetSplit: Int { case train = 0, val = 1 }

/// Valid UTF-8 text to tokenise.
struct TextPiece {
    var bytes: [UInt8]
    var startsDocument: Bool
    var split: DatasetSplit
}

enum SourceEnumerator {
    /// Files of `inputs` (directories expanded recursively, hidden entries skipped, sorted by path).
    static func expand(_ inputs: [URL]) throws -> [SourceFile] {
        guard !inputs.isEmpty else {
            throw DataError.badOption(flag: "--input", problem: "at least one input file or directory is needed")
        }
        var out: [SourceFile] = []
        let fm = FileManager.default
        for input in inputs {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: input.path, isDirectory: &isDir) else {
                throw DataError.missingFile(path: input.path, what: "input")
            }
            if isDir.boolValue {
                guard let walker = fm.enumerator(at: input, includingPropertiesForKeys: [.isRegularFileKey],
                                                 options: [.skipsHiddenFiles]) else {
                    throw DataError.missingFile(path: input.path, what: "readable input directory")
                }
                var files: [SourceFile] = []
                for case let url as URL in walker {
                    let regular = (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) ?? false
                    guard regular == true else { continue }
                    let f = try describe(url)
                    if f.bytes > 0 { files.append(f) }  // empty files inside a directory are skipped
                }
                files.sort { $0.path < $1.path }
                guard !files.isEmpty else { throw DataError.emptyInput(path: input.path) }
                out += files
            } else {
                let f = try describe(input)
                guard f.bytes > 0 else { throw DataError.emptyInput(path: input.path) }
                out.append(f)
            }
        }
        return out
    }

    static func describe(_ url: URL) throws -> SourceFile {
        var st = stat()
        guard stat(url.path, &st) == 0 else { throw DataError.io(path: url.path, operation: "stat", errno: errno) }
        let ext = url.pathExtension.lowercased()
        return SourceFile(url: url, path: url.path, bytes: Int(st.st_size), isJSONL: ext == "jsonl" || ext == "ndjson")
    }
}

/// Reads all sources in order and hands out batches of pieces.
final class TextStream {
    let sources: [SourceFile]
    let totalBytes: Int
    /// Global raw-byte offset where the validation split starts.
    let splitOffset: Int
    let policy: UTF8ErrorPolicy
    let readBytes: Int

    private(set) var bytesDone = 0          // raw bytes consumed, all files
    private(set) var documents = 0
    private(set) var replacedSequences = 0
    private(set) var hashes: [String] = []
    private(set) var documentsPerSource: [Int] = []

    private var sourceIndex = -1
    private var fd: Int32 = -1
    private var fileOffset = 0              // raw bytes read from the current file
    private var fileBase = 0                // global offset of the current file's first byte
    private var hasher = SHA256()
    private var rawCarry: [UInt8] = []      // incomplete UTF-8 tail (plain text) or partial line (JSONL)
    private var textCarry: [UInt8] = []     // valid text waiting for a safe cut point
    private var textCarryStartsDocument = false
    private var jsonLine = 0
    private var readBuffer: [UInt8]

    init(sources: [SourceFile], valFraction: Double, policy: UTF8ErrorPolicy, readBytes: Int = 256 << 10) {
        self.sources = sources
        totalBytes = sources.reduce(0) { $0 + $1.bytes }
        splitOffset = Int((Double(totalBytes) * (1 - valFraction)).rounded(.down))
        self.policy = policy
        self.readBytes = readBytes
        readBuffer = [UInt8](repeating: 0, count: readBytes)
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Pieces totalling at least `minBytes` (fewer at the end); nil when everything has been read.
    func nextBatch(minBytes: Int) throws -> [TextPiece]? {
        var out: [TextPiece] = []
        var bytes = 0
        while bytes < minBytes {
            if fd < 0 {
                if !(try openNext()) { break }
            }
            let before = out.count
            try readStep(into: &out)
            for p in out[before...] { bytes += p.bytes.count }
        }
        return out.isEmpty && fd < 0 && sourceIndex >= sources.count ? nil : out
    }

    private func openNext() throws -> Bool {
        sourceIndex += 1
        guard sourceIndex < sources.count else { return false }
        let s = sources[sourceIndex]
        fd = open(s.url.path, O_RDONLY)
        if fd < 0 { throw DataError.io(path: s.path, operation: "open", errno: errno) }
        fileBase = sources[..<sourceIndex].reduce(0) { $0 + $1.bytes }
        fileOffset = 0
        hasher = SHA256()
        rawCarry = []
        textCarry = []
        textCarryStartsDocument = true
        jsonLine = 0
        documentsPerSource.append(0)
        if !s.isJSONL { documents += 1; documentsPerSource[sourceIndex] += 1 }
        return true
    }

    private func split(at globalOffset: Int) -> DatasetSplit {
        globalOffset >= splitOffset ? .val : .train
    }

    /// One read(2) of the current file and the pieces it completes.
    private func readStep(into out: inout [TextPiece]) throws {
        let s = sources[sourceIndex]
        var limit = readBytes
        // A plain-text read stops exactly at the split offset so train and val are cut there.
        let globalPos = fileBase + fileOffset
        let hardSplit = !s.isJSONL && globalPos < splitOffset && globalPos + limit >= splitOffset
        if hardSplit { limit = splitOffset - globalPos }
        var n = 0
        if limit > 0 {
            let f = fd
            repeat {
                n = readBuffer.withUnsafeMutableBytes { posixRead(f, $0.baseAddress!, limit) }
            } while n < 0 && errno == EINTR
            if n < 0 { throw DataError.io(path: s.path, operation: "read", errno: errno) }
        }
        let eof = n == 0
        let chunkStart = fileOffset
        if n > 0 {
            readBuffer.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            fileOffset += n
            bytesDone += n
        }
        if s.isJSONL {
            try jsonlStep(s, newBytes: n, chunkStart: chunkStart, eof: eof, into: &out)
        } else {
            try textStep(s, newBytes: n, chunkStart: chunkStart, eof: eof,
                         atSplit: hardSplit && fileBase + fileOffset == splitOffset, into: &out)
        }
        if eof {
            if fileOffset != s.bytes {
                throw DataError.badOption(flag: "--input",
                                          problem: "\(s.path) changed size while being read (\(s.bytes) then "
                                                   + "\(fileOffset) bytes)")
            }
            close(fd)
            fd = -1
            hashes.append(hasher.finalize().hexString)
            if s.isJSONL && documentsPerSource[sourceIndex] == 0 {
                throw DataError.badJSONLine(path: s.path, line: jsonLine,
                                            problem: "no documents in the file (expected one JSON object with a "
                                                     + "\"text\" field per line)")
            }
        }
    }

    /// Validates (or repairs) `buf`; returns the valid text and leaves an incomplete tail in rawCarry.
    private func validText(_ buf: [UInt8], fileOffsetOfBuf: Int, final: Bool, path: String) throws -> [UInt8] {
        let (bad, validLength) = buf.withUnsafeBufferPointer { UTF8Scalars.validate($0, allowIncompleteTail: !final) }
        if let bad {
            if policy == .strict { throw DataError.invalidUTF8(path: path, offset: fileOffsetOfBuf + bad) }
            let tail = final ? 0 : UTF8Scalars.incompleteTailLength(buf)
            let body = buf[0..<(buf.count - tail)]
            rawCarry = Array(buf[(buf.count - tail)...])
            let repaired = Array(String(decoding: body, as: UTF8.self).utf8)
            replacedSequences += Self.countReplacement(repaired) - Self.countReplacement(Array(body))
            return repaired
        }
        rawCarry = Array(buf[validLength...])
        return validLength == buf.count ? buf : Array(buf[0..<validLength])
    }

    private static func countReplacement(_ b: [UInt8]) -> Int {
        var c = 0, i = 0
        while i + 2 < b.count {
            if b[i] == 0xEF && b[i + 1] == 0xBF && b[i + 2] == 0xBD { c += 1; i += 3 } else { i += 1 }
        }
        return c
    }

    private func textStep(_ s: SourceFile, newBytes n: Int, chunkStart: Int, eof: Bool, atSplit: Bool,
                          into out: inout [TextPiece]) throws {
        var buf = rawCarry
        buf += readBuffer[0..<n]
        let text = try validText(buf, fileOffsetOfBuf: chunkStart - (buf.count - n), final: eof, path: s.path)
        // Text read so far lies before the current raw position; its split is that of its last byte.
        let splitOfText = split(at: fileBase + fileOffset - rawCarry.count - 1)
        var pending = textCarry
        pending += text
        if eof || atSplit {
            if !pending.isEmpty {
                out.append(TextPiece(bytes: pending, startsDocument: textCarryStartsDocument, split: splitOfText))
                textCarryStartsDocument = false
            }
            textCarry = []
            return
        }
        let cut = Self.safeCut(pending)
        if cut > 0 {
            out.append(TextPiece(bytes: Array(pending[0..<cut]), startsDocument: textCarryStartsDocument,
                                 split: splitOfText))
            textCarryStartsDocument = false
            textCarry = Array(pending[cut...])
        } else if pending.count > max(16 * readBytes, 8 << 20) {
            // No safe point in 8 MB of text (no spaces at all): cut at a scalar boundary anyway, which
            // may split one pre-token in two; memory stays bounded.
            var c = pending.count
            while c > 0 && pending[c - 1] & 0xC0 == 0x80 { c -= 1 }
            if c > 0 && pending[c - 1] >= 0xC0 { c -= 1 }
            out.append(TextPiece(bytes: Array(pending[0..<c]), startsDocument: textCarryStartsDocument,
                                 split: splitOfText))
            textCarryStartsDocument = false
            textCarry = Array(pending[c...])
        } else {
            textCarry = pending
        }
    }

    /// Largest p > 0 with text[p-1] a visible ASCII byte and text[p] ASCII whitespace, or 0.
    static func safeCut(_ text: [UInt8]) -> Int {
        var p = text.count - 1
        while p > 0 {
            let b = text[p]
            if b == 0x20 || b == 0x0A || b == 0x09 || b == 0x0D {
                let a = text[p - 1]
                if a > 0x20 && a < 0x7F { return p }
            }
            p -= 1
        }
        return 0
    }

    private func jsonlStep(_ s: SourceFile, newBytes n: Int, chunkStart: Int, eof: Bool,
                           into out: inout [TextPiece]) throws {
        var buf = rawCarry
        let bufStart = chunkStart - rawCarry.count  // file offset of buf[0]
        buf += readBuffer[0..<n]
        var lineStart = 0
        var i = 0
        while i < buf.count {
            if buf[i] == 0x0A {
                try jsonLineDocument(s, buf[lineStart..<i], fileOffset: bufStart + lineStart, into: &out)
                lineStart = i + 1
            }
            i += 1
        }
        if eof {
            if lineStart < buf.count {
                try jsonLineDocument(s, buf[lineStart...], fileOffset: bufStart + lineStart, into: &out)
            }
            rawCarry = []
        } else {
            rawCarry = Array(buf[lineStart...])
        }
    }

    private func jsonLineDocument(_ s: SourceFile, _ line: ArraySlice<UInt8>, fileOffset: Int,
                                  into out: inout [TextPiece]) throws {
        jsonLine += 1
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return }  // blank line
        var bytes = Array(line)
        let (bad, _) = bytes.withUnsafeBufferPointer { UTF8Scalars.validate($0, allowIncompleteTail: false) }
        if let bad {
            if policy == .strict { throw DataError.invalidUTF8(path: s.path, offset: fileOffset + bad) }
            let repaired = Array(String(decoding: bytes, as: UTF8.self).utf8)
            replacedSequences += Self.countReplacement(repaired) - Self.countReplacement(bytes)
            bytes = repaired
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Foundation.Data(bytes), options: [.fragmentsAllowed])
        } catch {
            throw DataError.badJSONLine(path: s.path, line: jsonLine, problem: "not valid JSON")
        }
        guard let dict = object as? [String: Any] else {
            throw DataError.badJSONLine(path: s.path, line: jsonLine,
                                        problem: "expected a JSON object with a \"text\" field")
        }
        guard let text = dict["text"] as? String else {
            throw DataError.badJSONLine(path: s.path, line: jsonLine,
                                        problem: dict["text"] == nil ? "no \"text\" field" : "\"text\" is not a string")
        }
        documents += 1
        documentsPerSource[sourceIndex] += 1
        out.append(TextPiece(bytes: Array(text.utf8), startsDocument: true, split: split(at: fileBase + fileOffset)))
    }
}
