// safetensors files (Hugging Face's format, https://github.com/huggingface/safetensors, README "Format"):
//   8 bytes   N, the header length, unsigned little-endian
//   N bytes   JSON object {name: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...,
//             "__metadata__": {str: str}}; the writer pads it with spaces so the data starts 8-byte aligned
//   rest      the tensors' raw little-endian bytes, row-major; offsets are relative to the end of the
//             header, and the tensors must tile the data section exactly (no gaps, no overlap, nothing
//             after the last one), which is what the reference implementation checks too.
// TinyGPT writes F32 only; the reader understands every dtype's size (to validate offsets) but reads F32.
import Autograd
import Data
import Foundation

public enum SafeTensors {
    /// The reference implementation refuses headers above 100 MB; so do we.
    public static let maxHeaderLength = 100_000_000

    /// Bytes per element of each dtype name in the format.
    public static let dtypeSizes: [String: Int] = [
        "BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1,
        "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
        "I32": 4, "U32": 4, "F32": 4,
        "I64": 8, "U64": 8, "F64": 8,
    ]

    /// The 8-byte length prefix plus the padded JSON header for F32 tensors of `shapes`, laid out in
    /// the given order. Keys appear as given ("__metadata__" first, its keys sorted), so equal inputs
    /// give byte-identical files.
    public static func header(names: [String], shapes: [[Int]], metadata: [String: String] = [:]) throws -> [UInt8] {
        precondition(names.count == shapes.count, "SafeTensors.header: \(names.count) names for \(shapes.count) shapes")
        var seen = Set<String>()
        var json = "{"
        var first = true
        if !metadata.isEmpty {
            json += "\"__metadata__\":{"
            json += metadata.keys.sorted()
                .map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
                .joined(separator: ",")
            json += "}"
            first = false
        }
        var offset = 0
        for (name, shape) in zip(names, shapes) {
            guard name != "__metadata__" else {
                throw CheckpointError("safetensors: \"__metadata__\" cannot name a tensor")
            }
            guard seen.insert(name).inserted else {
                throw CheckpointError("safetensors: tensor name \"\(name)\" appears twice")
            }
            let bytes = shape.reduce(1, *) * 4
            json += (first ? "" : ",") + jsonString(name)
            json += ":{\"dtype\":\"F32\",\"shape\":[\(shape.map(String.init).joined(separator: ","))],"
            json += "\"data_offsets\":[\(offset),\(offset + bytes)]}"
            offset += bytes
            first = false
        }
        json += "}"
        var body = Array(json.utf8)
        while body.count % 8 != 0 { body.append(0x20) }
        var out = [UInt8](repeating: 0, count: 8)
        var n = UInt64(body.count)
        for i in 0..<8 { out[i] = UInt8(truncatingIfNeeded: n); n >>= 8 }
        return out + body
    }

    /// Writes `tensors` (as F32, in the given order) and `metadata` to `url`, replacing any file there,
    /// and fsyncs it when `sync` is true. Returns the file's SHA-256 (lower-case hex).
    @discardableResult
    public static func write(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:],
                             to url: URL, sync: Bool = true) throws -> String {
        let head = try header(names: tensors.map(\.name), shapes: tensors.map(\.tensor.shape), metadata: metadata)
        let w = try FileSystem.Writer(path: url.path)
        try w.write(head)
        for (_, t) in tensors {
            #if _endian(little)
            try w.write(UnsafeRawBufferPointer(start: t.data, count: t.count * 4))
            #else
            let le = (0..<t.count).map { t.data[$0].bitPattern.littleEndian }
            try le.withUnsafeBytes { try w.write($0) }
            #endif
        }
        try w.syncAndClose(sync: sync)
        return w.digest
    }
}

/// A parsed, validated safetensors file. The file is memory-mapped; tensors are copied out on request.
public final class SafeTensorsFile {
    public struct Entry: Equatable {
        public let name: String
        public let dtype: String
        public let shape: [Int]
        /// Byte range inside the data section (after the header).
        public let dataOffsets: Range<Int>
        public var count: Int { shape.reduce(1, *) }
    }

    public let url: URL
    public let metadata: [String: String]
    /// The tensors in data order.
    public let entries: [Entry]
    private let index: [String: Int]
    let bytes: Foundation.Data
    let dataStart: Int

    /// Opens and validates `url`: a header that is truncated, not a JSON object, has entries without a
    /// valid dtype, shape or data_offsets, or offsets that leave the data section, disagree with the
    /// shape or do not tile the data exactly, is refused with a one-line error naming the file.
    public init(contentsOf url: URL) throws {
        self.url = url
        let path = url.path
        if let kind = RegularFile.problem(path) {
            throw CheckpointError("\(path): is \(kind), not a regular file (expected a safetensors file)")
        }
        do {
            bytes = try Foundation.Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            let reason = FileSystem.exists(path) ? "cannot read it" : "no such file"
            throw CheckpointError("\(path): \(reason)")
        }
        func fail(_ what: String) -> CheckpointError { CheckpointError("\(path): \(what)") }
        guard bytes.count >= 8 else {
            throw fail("truncated safetensors file (\(bytes.count) bytes; the header length alone takes 8)")
        }
        let headerLength = bytes.prefix(8).enumerated().reduce(UInt64(0)) {
            $0 | UInt64($1.element) << (8 * UInt64($1.offset))
        }
        guard headerLength <= UInt64(SafeTensors.maxHeaderLength) else {
            throw fail("safetensors header length \(headerLength) is larger than the "
                       + "\(SafeTensors.maxHeaderLength)-byte limit (not a safetensors file?)")
        }
        let n = Int(headerLength)
        guard n <= bytes.count - 8 else {
            throw fail("truncated safetensors file: the header needs \(n) bytes but only \(bytes.count - 8) follow "
                       + "its length")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<(8 + n)))
        } catch {
            throw fail("safetensors header is not valid JSON")
        }
        guard let header = object as? [String: Any] else { throw fail("safetensors header is not a JSON object") }
        dataStart = 8 + n
        let dataLength = bytes.count - dataStart

        var metadata: [String: String] = [:]
        if let meta = header["__metadata__"] {
            guard let m = meta as? [String: Any] else { throw fail("\"__metadata__\" is not an object of strings") }
            for (k, v) in m {
                guard let s = v as? String else { throw fail("\"__metadata__\" value of \"\(k)\" is not a string") }
                metadata[k] = s
            }
        }
        self.metadata = metadata

        var entries: [Entry] = []
        for name in header.keys.sorted() where name != "__metadata__" {
            guard let info = header[name] as? [String: Any] else {
                throw fail("tensor \"\(name)\": entry is not an object")
            }
            guard let dtype = info["dtype"] as? String else {
                throw fail("tensor \"\(name)\": missing or invalid \"dtype\"")
            }
            guard let size = SafeTensors.dtypeSizes[dtype] else {
                throw fail("tensor \"\(name)\": unknown dtype \"\(dtype)\"")
            }
            guard let shape = SafeTensorsFile.integers(info["shape"]), shape.allSatisfy({ $0 >= 0 }) else {
                throw fail("tensor \"\(name)\": missing or invalid \"shape\" (expected a list of non-negative "
                           + "integers)")
            }
            guard let offsets = SafeTensorsFile.integers(info["data_offsets"]), offsets.count == 2,
                  offsets[0] >= 0, offsets[0] <= offsets[1] else {
                throw fail("tensor \"\(name)\": missing or invalid \"data_offsets\" (expected [begin, end] with begin "
                           + "<= end)")
            }
            guard offsets[1] <= dataLength else {
                throw fail("tensor \"\(name)\": data_offsets [\(offsets[0]), \(offsets[1])] run past the end of the "
                           + "data (\(dataLength) bytes; file truncated?)")
            }
            var expected = size
            for d in shape {
                let (p, overflow) = expected.multipliedReportingOverflow(by: d)
                guard !overflow else { throw fail("tensor \"\(name)\": shape \(shape) is too large") }
                expected = p
            }
            guard offsets[1] - offsets[0] == expected else {
                throw fail("tensor \"\(name)\": data_offsets [\(offsets[0]), \(offsets[1])] span "
                           + "\(offsets[1] - offsets[0]) bytes, but shape \(shape) of \(dtype) needs \(expected)")
            }
            entries.append(Entry(name: name, dtype: dtype, shape: shape, dataOffsets: offsets[0]..<offsets[1]))
        }
        entries.sort {
            ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound,
             $0.name) < ($1.dataOffsets.lowerBound, $1.dataOffsets.upperBound, $1.name)
        }
        var position = 0
        for e in entries {
            guard e.dataOffsets.lowerBound == position else {
                throw fail("tensor \"\(e.name)\" starts at byte \(e.dataOffsets.lowerBound) of the data, expected "
                           + "\(position) (tensors overlap or leave a gap)")
            }
            position = e.dataOffsets.upperBound
        }
        guard position == dataLength else {
            throw fail("\(dataLength - position) bytes of data follow the last tensor (the header does not describe "
                       + "the whole file)")
        }
        self.entries = entries
        var index: [String: Int] = [:]
        for (i, e) in entries.enumerated() { index[e.name] = i }
        self.index = index
    }

    public var names: [String] { entries.map(\.name) }

    public func entry(_ name: String) -> Entry? { index[name].map { entries[$0] } }

    /// A new tensor holding F32 tensor `name`.
    public func tensor(_ name: String) throws -> Tensor {
        let e = try f32Entry(name)
        let t = Tensor(uninitialized: e.shape)
        copy(e, into: t)
        return t
    }

    /// Copies F32 tensor `name` into `tensor`, whose shape must match.
    public func read(_ name: String, into tensor: Tensor) throws {
        let e = try f32Entry(name)
        guard e.shape == tensor.shape else {
            throw CheckpointError("\(url.path): tensor \"\(name)\" has shape \(e.shape), expected \(tensor.shape)")
        }
        copy(e, into: tensor)
    }

    private func f32Entry(_ name: String) throws -> Entry {
        guard let e = entry(name) else { throw CheckpointError("\(url.path): no tensor named \"\(name)\"") }
        guard e.dtype == "F32" else {
            throw CheckpointError("\(url.path): tensor \"\(name)\" has dtype \(e.dtype); only F32 is supported")
        }
        return e
    }

    private func copy(_ e: Entry, into t: Tensor) {
        let start = dataStart + e.dataOffsets.lowerBound
        bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let src = raw.baseAddress! + start
            #if _endian(little)
            UnsafeMutableRawPointer(t.data).copyMemory(from: src, byteCount: e.count * 4)
            #else
            for i in 0..<e.count {
                t.data[i] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i,
                                                                                     as: UInt32.self)))
            }
            #endif
        }
    }

    /// JSON integers (not fractions or booleans) as Ints, or nil.
    private static func integers(_ value: Any?) -> [Int]? {
        guard let list = value as? [Any] else { return nil }
        var out: [Int] = []
        for v in list {
            // JSONSerialization stores integers with an integer type code; fractions are "d" and
            // booleans "c" (which `is Bool`/`as? Int` would not tell apart from 0 and 1).
            let integerCodes = ["i", "q", "l", "s", "I", "Q", "L", "S"]
            guard let n = v as? NSNumber, integerCodes.contains(String(cString: n.objCType)) else { return nil }
            guard let i = Int(exactly: n.int64Value), n.stringValue == String(i) else { return nil }
            out.append(i)
        }
        return out
    }
}
