// llm.c's model checkpoint (karpathy/llm.c, train_gpt2.c gpt2_build_from_checkpoint; written by its
// train_gpt2.py write_model):
//   header   256 little-endian int32: [0] magic 20240326, [1] version (3: float32, 5: bfloat16),
//            [2] maxT, [3] V, [4] L, [5] NH, [6] C, [7] Vp (V padded, to a multiple of 128 by its writer)
//   tensors  back to back, grouped by kind across layers, weights as [out, in] (nn.Linear's layout,
//            which is ours):
//            wte (Vp, C)  wpe (maxT, C)  ln1w (L, C)  ln1b (L, C)  qkvw (L, 3C, C)  qkvb (L, 3C)
//            attprojw (L, C, C)  attprojb (L, C)  ln2w (L, C)  ln2b (L, C)  fcw (L, 4C, C)  fcb (L, 4C)
//            fcprojw (L, C, 4C)  fcprojb (L, C)  lnfw (C)  lnfb (C)
// Reading drops wte's padding rows V..<Vp; writing pads with zero rows and writes version 3.
import Autograd
import Foundation
import NN

public enum LLMCModelFile {
    public static let magic: Int32 = 20240326
    public static let headerBytes = 256 * 4

    /// The shape fields of a header.
    public struct Header: Equatable {
        public var version: Int32
        public var maxT, V, L, NH, C, Vp: Int

        public init(version: Int32, maxT: Int, V: Int, L: Int, NH: Int, C: Int, Vp: Int) {
            self.version = version; self.maxT = maxT; self.V = V; self.L = L; self.NH = NH; self.C = C; self.Vp = Vp
        }
    }

    /// Our per-layer parameters in llm.c's order of groups, with each one's size per layer.
    static func layerGroups(_ c: Int) -> [(suffix: String, count: Int)] {
        [("ln_1.weight", c), ("ln_1.bias", c), ("attn.c_attn.weight", 3 * c * c), ("attn.c_attn.bias", 3 * c),
         ("attn.c_proj.weight", c * c), ("attn.c_proj.bias", c), ("ln_2.weight", c), ("ln_2.bias", c),
         ("mlp.c_fc.weight", 4 * c * c), ("mlp.c_fc.bias", 4 * c),
         ("mlp.c_proj.weight", 4 * c * c), ("mlp.c_proj.bias", c)]
    }

    /// llm.c's padded vocabulary: V rounded up to a multiple of 128.
    public static func paddedVocabulary(_ v: Int) -> Int { (v + 127) / 128 * 128 }

    /// Floats in the file after the header for `h`, or nil on overflow.
    static func floatCount(_ h: Header) -> Int? {
        var total = 0
        for (a, b) in [(h.Vp, h.C), (h.maxT, h.C), (h.L, 12 * h.C * h.C + 13 * h.C), (2, h.C)] {
            let (p, o1) = a.multipliedReportingOverflow(by: b)
            let (s, o2) = total.addingReportingOverflow(p)
            if o1 || o2 { return nil }
            total = s
        }
        return total
    }

    /// Reads `url` into a new GPT (biases on, dropout 0).
    public static func read(_ url: URL, trainable: Bool = false) throws -> (model: GPT, header: Header) {
        let path = url.path
        let bytes: Foundation.Data
        do { bytes = try Foundation.Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw CheckpointError("\(path): \(FileSystem.exists(path) ? "cannot read it" : "no such file")")
        }
        guard bytes.count >= headerBytes else {
            throw CheckpointError("\(path): \(bytes.count) bytes, shorter than llm.c's \(headerBytes)-byte header")
        }
        let field: (Int) -> Int32 = { i in
            bytes.withUnsafeBytes { Int32(littleEndian: $0.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)) }
        }
        guard field(0) == magic else {
            throw CheckpointError("\(path): header[0] (magic) is \(field(0)), expected \(magic) (an llm.c model file)")
        }
        let version = field(1)
        guard version == 3 || version == 5 else {
            throw CheckpointError("\(path): header[1] (version) is \(version), expected 3 (float32) or 5 (bfloat16)")
        }
        let names = ["maxT", "V", "L", "NH", "C", "Vp"]
        var v: [Int] = []
        for i in 2...7 {
            let x = Int(field(i))
            guard x > 0, x <= 1 << 24 else { throw CheckpointError("\(path): header[\(i)] (\(names[i - 2])) is " +
                    "\(x), expected a positive size") }
            v.append(x)
        }
        let h = Header(version: version, maxT: v[0], V: v[1], L: v[2], NH: v[3], C: v[4], Vp: v[5])
        guard h.Vp >= h.V else { throw CheckpointError("\(path): header[7] (Vp) is \(h.Vp), smaller than header[3] " +
                "(V) \(h.V)") }
        guard h.C % h.NH == 0 else { throw CheckpointError("\(path): header[6] (C) \(h.C) is not divisible by " +
                "header[5] (NH) \(h.NH)") }
        let width = version == 3 ? 4 : 2
        guard let count = floatCount(h), count.multipliedReportingOverflow(by: width).overflow == false,
              bytes.count == headerBytes + count * width else {
            let need = floatCount(h).map { "\(headerBytes + $0 * width)" } ?? "more than can be addressed"
            throw CheckpointError("\(path): \(bytes.count) bytes, but its header describes \(need) (truncated or " +
                    "not this model)")
        }
        let config = GPTConfig(vocabSize: h.V, blockSize: h.maxT, nLayer: h.L, nHead: h.NH, nEmbd: h.C,
                               dropout: 0, bias: true)
        let model = GPT(config: config, seed: nil, trainable: trainable)
        bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let base = raw.baseAddress! + headerBytes
            var offset = 0  // in elements
            func take(_ n: Int, into dst: UnsafeMutablePointer<Float>?) {
                if let dst {
                    if width == 4 {
                        for i in 0..<n {
                            let bits = base.loadUnaligned(fromByteOffset: 4 * (offset + i), as: UInt32.self)
                            dst[i] = Float(bitPattern: UInt32(littleEndian: bits))
                        }
                    } else {
                        for i in 0..<n {
                            let bits = base.loadUnaligned(fromByteOffset: 2 * (offset + i), as: UInt16.self)
                            dst[i] = Float(bitPattern: UInt32(UInt16(littleEndian: bits)) << 16)
                        }
                    }
                }
                offset += n
            }
            take(h.V * h.C, into: model.wte.data)
            take((h.Vp - h.V) * h.C, into: nil)
            take(h.maxT * h.C, into: model.wpe.data)
            for (suffix, n) in layerGroups(h.C) {
                for l in 0..<h.L { take(n, into: model.arena["transformer.h.\(l).\(suffix)"].data) }
            }
            take(h.C, into: model.lnF.weight.data)
            take(h.C, into: model.arena["transformer.ln_f.bias"].data)
        }
        return (model, h)
    }

    /// The 1024-byte version-3 header for `config`.
    public static func header(_ config: GPTConfig) -> [UInt8] {
        var fields = [Int32](repeating: 0, count: 256)
        fields[0] = magic; fields[1] = 3
        fields[2] = Int32(config.blockSize); fields[3] = Int32(config.vocabSize); fields[4] = Int32(config.nLayer)
        fields[5] = Int32(config.nHead); fields[6] = Int32(config.nEmbd)
        fields[7] = Int32(paddedVocabulary(config.vocabSize))
        return fields.flatMap { v -> [UInt8] in
            let u = UInt32(bitPattern: v)
            return (0..<4).map { UInt8(truncatingIfNeeded: u >> (8 * $0)) }
        }
    }

    /// Writes a version-3 (float32) file for `config` from `parameters` (our names); biases a bias-free
    /// model lacks are written as zeros, and wte's padding rows as zeros.
    public static func write(_ config: GPTConfig, parameters: [NamedParameter], to url: URL) throws {
        let ours = Dictionary(parameters.map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a })
        let c = config.nEmbd
        let w = try FileSystem.Writer(path: url.path)
        try w.write(header(config))
        func put(_ name: String, _ n: Int) throws {
            if let t = ours[name] {
                guard t.count == n else { throw CheckpointError("\(name): \(t.count) values, expected \(n)") }
                #if _endian(little)
                try w.write(UnsafeRawBufferPointer(start: t.data, count: n * 4))
                #else
                try (0..<n).map { t.data[$0].bitPattern.littleEndian }.withUnsafeBytes { try w.write($0) }
                #endif
            } else if name.hasSuffix(".bias") && !config.bias {
                try zeros(n)
            } else {
                throw CheckpointError("\(name): missing from the model")
            }
        }
        func zeros(_ n: Int) throws {
            let chunk = [UInt8](repeating: 0, count: min(n * 4, 1 << 20))
            var left = n * 4
            while left > 0 {
                let k = min(left, chunk.count)
                try chunk.withUnsafeBytes { try w.write(UnsafeRawBufferPointer(rebasing: $0[0..<k])) }
                left -= k
            }
        }
        try put("transformer.wte.weight", config.vocabSize * c)
        try zeros((paddedVocabulary(config.vocabSize) - config.vocabSize) * c)
        try put("transformer.wpe.weight", config.blockSize * c)
        for (suffix, n) in layerGroups(c) {
            for l in 0..<config.nLayer { try put("transformer.h.\(l).\(suffix)", n) }
        }
        try put("transformer.ln_f.weight", c)
        try put("transformer.ln_f.bias", c)
        try w.syncAndClose()
    }
}
