// Token shards in llm.c's format (dev/data/data_common.py, write_datafile): a header of 256 little-endian
// int32 (header[0] = magic, header[1] = version, header[2] = token count, the rest 0), then the tokens.
//   uint16 tokens: magic 20240520, version 1 (llm.c's "gpt-2" layout; also modded-nanogpt's shards)
//   uint32 tokens: magic 20240801, version 7 (llm.c's "llama-3" layout), used when vocab > 65,536
// Any other magic/version pair is refused rather than guessed at. Shards are read through mmap.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@inline(__always)
private func posixWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int { write(fd, p, n) }

public enum TokenShardFormat {
    public static let headerInts = 256
    public static let headerBytes = 1024
    public static let magic16: Int32 = 20_240_520
    public static let version16: Int32 = 1
    public static let magic32: Int32 = 20_240_801
    public static let version32: Int32 = 7

    /// The narrowest token width that holds ids 0..<vocabSize.
    public static func width(forVocabSize vocabSize: Int) -> TokenWidth {
        vocabSize <= 65_536 ? .uint16 : .uint32
    }
}

public enum TokenWidth: String, Codable, Sendable {
    case uint16, uint32
    public var bytes: Int { self == .uint16 ? 2 : 4 }
    var magic: Int32 { self == .uint16 ? TokenShardFormat.magic16 : TokenShardFormat.magic32 }
    var version: Int32 { self == .uint16 ? TokenShardFormat.version16 : TokenShardFormat.version32 }
}

/// Streams tokens into a shard: writes to "<name>.partial", and only `finish()` fills in the
/// header's token count, flushes to disk and renames to the final name, so an interrupted write
/// never leaves a shard that looks complete.
public final class TokenShardWriter {
    public let url: URL
    public let width: TokenWidth
    public private(set) var count = 0
    private let partialURL: URL
    private var fd: Int32
    private var buffer: [UInt8] = []
    private static let flushBytes = 1 << 20

    public static func partialURL(for url: URL) -> URL {
        url.deletingLastPathComponent().appendingPathComponent(url.lastPathComponent + ".partial")
    }

    public init(url: URL, width: TokenWidth) throws {
        self.url = url
        self.width = width
        partialURL = Self.partialURL(for: url)
        fd = open(partialURL.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if fd < 0 { throw DataError.io(path: partialURL.path, operation: "create", errno: errno) }
        buffer.reserveCapacity(Self.flushBytes + 4096)
        buffer.append(contentsOf: Self.header(width: width, count: 0))
    }

    deinit {
        // An unfinished writer (error or interruption) removes its partial file.
        if fd >= 0 { close(fd); unlink(partialURL.path) }
    }

    static func header(width: TokenWidth, count: Int) -> [UInt8] {
        var h = [Int32](repeating: 0, count: TokenShardFormat.headerInts)
        h[0] = width.magic.littleEndian
        h[1] = width.version.littleEndian
        h[2] = Int32(count).littleEndian
        return h.withUnsafeBytes { Array($0) }
    }

    /// Maximum tokens one shard can count in its int32 header.
    public static let maxTokens = Int(Int32.max)

    /// Appends ids; each must fit the width (0...65535 for uint16).
    public func append<C: Collection>(_ tokens: C) throws where C.Element == Int32 {
        let limit: Int64 = width == .uint16 ? 65_535 : Int64(UInt32.max)
        if count + tokens.count > Self.maxTokens {
            throw DataError.badShard(path: url.path,
                                     problem: "more than \(Self.maxTokens) tokens do not fit one shard's int32 count")
        }
        var index = count
        for t in tokens {
            guard t >= 0 && Int64(t) <= limit else {
                throw DataError.tokenOutOfRange(path: url.path, index: index, token: Int64(t),
                                                vocabSize: Int(limit) + 1)
            }
            if width == .uint16 {
                let v = UInt16(truncatingIfNeeded: t).littleEndian
                buffer.append(UInt8(truncatingIfNeeded: v)); buffer.append(UInt8(truncatingIfNeeded: v >> 8))
            } else {
                let v = UInt32(truncatingIfNeeded: t).littleEndian
                buffer.append(UInt8(truncatingIfNeeded: v)); buffer.append(UInt8(truncatingIfNeeded: v >> 8))
                buffer.append(UInt8(truncatingIfNeeded: v >> 16)); buffer.append(UInt8(truncatingIfNeeded: v >> 24))
            }
            index += 1
        }
        count = index
        if buffer.count >= Self.flushBytes { try flush() }
    }

    private func flush() throws {
        try buffer.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let w = posixWrite(fd, raw.baseAddress! + off, raw.count - off)
                if w < 0 {
                    if errno == EINTR { continue }
                    throw DataError.io(path: partialURL.path, operation: "write", errno: errno)
                }
                off += w
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Writes the final header, syncs and renames into place. Returns the token count.
    @discardableResult
    public func finish() throws -> Int {
        try flush()
        let h = Self.header(width: width, count: count)
        let w = h.withUnsafeBytes { pwrite(fd, $0.baseAddress!, $0.count, 0) }
        if w != h.count { throw DataError.io(path: partialURL.path, operation: "write header of", errno: errno) }
        if fsync(fd) != 0 { throw DataError.io(path: partialURL.path, operation: "sync", errno: errno) }
        close(fd)
        fd = -1
        try AtomicFile.rename(partialURL, to: url)
        return count
    }

    /// Writes a whole shard in one call.
    public static func write(_ tokens: [Int32], to url: URL, width: TokenWidth) throws {
        let w = try TokenShardWriter(url: url, width: width)
        try w.append(tokens)
        try w.finish()
    }
}

/// One shard mapped read-only into memory. The header is validated on open.
public final class TokenShard: @unchecked Sendable {  // immutable after init; the mapping lives until deinit
    public let url: URL
    public let width: TokenWidth
    public let count: Int
    private let mapping: UnsafeMutableRawPointer?
    private let mappedBytes: Int
    private let tokens: UnsafeRawPointer?

    public init(url: URL) throws {
        self.url = url
        let path = url.path
        try RegularFile.require(path, what: "token shard")
        let fd = open(path, O_RDONLY)
        if fd < 0 {
            if errno == ENOENT { throw DataError.missingFile(path: path, what: "token shard") }
            throw DataError.io(path: path, operation: "open", errno: errno)
        }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) != 0 { throw DataError.io(path: path, operation: "stat", errno: errno) }
        let size = Int(st.st_size)
        guard size >= TokenShardFormat.headerBytes else {
            throw DataError.badShard(path: path,
                                     problem: "\(size) bytes is too short for the "
                                              + "\(TokenShardFormat.headerBytes)-byte llm.c shard header")
        }
        let m = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        if m == MAP_FAILED || m == nil { throw DataError.io(path: path, operation: "mmap", errno: errno) }
        let base = UnsafeRawPointer(m!)
        func unmapOnError() { munmap(m, size) }
        let magic = Int32(littleEndian: base.loadUnaligned(as: Int32.self))
        let version = Int32(littleEndian: base.loadUnaligned(fromByteOffset: 4, as: Int32.self))
        let n = Int(Int32(littleEndian: base.loadUnaligned(fromByteOffset: 8, as: Int32.self)))
        let w: TokenWidth
        switch magic {
        case TokenShardFormat.magic16: w = .uint16
        case TokenShardFormat.magic32: w = .uint32
        default:
            unmapOnError()
            throw DataError.badShard(path: path,
                                     problem: "wrong magic number \(magic) (expected \(TokenShardFormat.magic16) for "
                                              + "uint16 tokens or \(TokenShardFormat.magic32) for uint32 tokens)")
        }
        guard version == w.version else {
            unmapOnError()
            throw DataError.badShard(path: path,
                                     problem: "unsupported version \(version) for magic \(magic) (expected "
                                              + "\(w.version))")
        }
        let payload = size - TokenShardFormat.headerBytes
        guard n >= 0, n * w.bytes == payload else {
            unmapOnError()
            throw DataError.badShard(path: path,
                                     problem: "header says \(n) tokens (\(n * w.bytes) bytes) but the file holds "
                                              + "\(payload) bytes after the header")
        }
        width = w
        count = n
        mapping = m
        mappedBytes = size
        tokens = base + TokenShardFormat.headerBytes
        madvise(m, size, MADV_WILLNEED)
    }

    deinit { if let m = mapping { munmap(m, mappedBytes) } }

    @inline(__always)
    public subscript(i: Int) -> Int32 {
        precondition(i >= 0 && i < count, "TokenShard: index \(i) out of 0..<\(count) in \(url.lastPathComponent)")
        return width == .uint16
            ? Int32(UInt16(littleEndian: tokens!.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            : Int32(bitPattern: UInt32(littleEndian: tokens!.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
    }

    /// Copies tokens[start..<start+n] into `out` as Int32.
    public func copy(from start: Int, count n: Int, into out: UnsafeMutablePointer<Int32>) {
        precondition(start >= 0 && n >= 0 && start + n <= count,
                     "TokenShard.copy: range \(start)..<\(start + n) out of 0..<\(count) in \(url.lastPathComponent)")
        guard n > 0, let t = tokens else { return }
        if width == .uint16 {
            let p = t.assumingMemoryBound(to: UInt16.self) + start  // 1024-byte header keeps 2-byte alignment
            for i in 0..<n { out[i] = Int32(UInt16(littleEndian: p[i])) }
        } else {
            let p = t.assumingMemoryBound(to: UInt32.self) + start
            for i in 0..<n { out[i] = Int32(bitPattern: UInt32(littleEndian: p[i])) }
        }
    }

    /// All tokens as Int32 (tests and small shards).
    public func allTokens() -> [Int32] {
        [Int32](unsafeUninitializedCapacity: count) { buf, initialized in
            copy(from: 0, count: count, into: buf.baseAddress!)
            initialized = count
        }
    }

    /// Index and value of the first token outside 0..<vocabSize, or nil.
    public func firstTokenOutside(vocabSize: Int) -> (Int, Int64)? {
        guard let t = tokens else { return nil }
        if width == .uint16 {
            if vocabSize > 65_535 { return nil }
            let p = t.assumingMemoryBound(to: UInt16.self)
            let limit = UInt16(vocabSize)
            for i in 0..<count where UInt16(littleEndian: p[i]) >= limit {
                return (i, Int64(UInt16(littleEndian: p[i])))
            }
        } else {
            let p = t.assumingMemoryBound(to: UInt32.self)
            let limit = UInt32(clamping: vocabSize)
            for i in 0..<count where UInt32(littleEndian: p[i]) >= limit {
                return (i, Int64(UInt32(littleEndian: p[i])))
            }
        }
        return nil
    }
}
