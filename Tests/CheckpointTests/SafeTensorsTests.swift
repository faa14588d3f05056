import XCTest
import Autograd
import Checkpoint
import Kernels

final class SafeTensorsTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("safetensors-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    /// header length (u64 LE) + JSON header + raw bytes, assembled by hand.
    func file(header: String, data: [UInt8]) -> [UInt8] {
        let h = Array(header.utf8)
        var n = UInt64(h.count)
        var out: [UInt8] = []
        for _ in 0..<8 { out.append(UInt8(n & 0xFF)); n >>= 8 }
        return out + h + data
    }

    func write(_ bytes: [UInt8], _ name: String = "t.safetensors") throws -> URL {
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    func message(_ body: () throws -> Void) -> String {
        do { try body(); return "no error" } catch { return "\(error)" }
    }

    func testByteLayoutMatchesHandBuiltFile() throws {
        let url = dir.appendingPathComponent("layout.safetensors")
        try SafeTensors.write([("a", Tensor([1.5, -2], shape: [2])), ("b", Tensor([0.25], shape: [1, 1]))],
                              metadata: ["k": "v"], to: url)
        // 135 bytes of JSON, padded with 1 space to 136 so the data starts at byte 144 (8-aligned).
        // Python's safetensors 0.8.0 (`save_file({"a": tensor([1.5, -2.]), "b": tensor([[0.25]])},
        // metadata={"k": "v"})`) writes exactly these bytes too.
        let json = #"{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"#
            + #""b":{"dtype":"F32","shape":[1,1],"data_offsets":[8,12]}}"#
        XCTAssertEqual(json.utf8.count, 135)
        let expected: [UInt8] = [136, 0, 0, 0, 0, 0, 0, 0] + Array(json.utf8) + [0x20]
            + [0x00, 0x00, 0xC0, 0x3F]   // 1.5  = 0x3FC00000, little-endian
            + [0x00, 0x00, 0x00, 0xC0]   // -2   = 0xC0000000
            + [0x00, 0x00, 0x80, 0x3E]   // 0.25 = 0x3E800000
        XCTAssertEqual(Array(try Data(contentsOf: url)), expected)
    }

    func testRoundTripIsBitwise() throws {
        var rng = RandomGenerator(seed: 3)
        let big = Tensor.normal([17, 33], rng: &rng)
        let special = Tensor([0, -0.0, .infinity, -.infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude,
                              Float(bitPattern: 0x7FC0_1234)], shape: [7])
        let scalar = Tensor([42], shape: [])
        let empty = Tensor.zeros([0, 5])
        let tensors: [(name: String, tensor: Tensor)] = [("transformer.wte.weight", big), ("special", special),
                                                         ("scalar", scalar), ("empty", empty),
                                                         ("ünïcode \"quoted\"\n", special)]
        let url = dir.appendingPathComponent("round.safetensors")
        try SafeTensors.write(tensors, metadata: ["step": "12", "note": "a \"b\" \\ c"], to: url)
        let f = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(f.metadata, ["step": "12", "note": "a \"b\" \\ c"])
        XCTAssertEqual(f.names, tensors.map(\.name))  // data order is the writing order
        for (name, t) in tensors {
            let back = try f.tensor(name)
            XCTAssertEqual(back.shape, t.shape, name)
            XCTAssertEqual(back.array.map(\.bitPattern), t.array.map(\.bitPattern), name)
            let into = Tensor.full(t.shape, value: 7)
            try f.read(name, into: into)
            XCTAssertEqual(into.array.map(\.bitPattern), t.array.map(\.bitPattern), name)
        }
        XCTAssertEqual(f.entry("special")?.dtype, "F32")
        XCTAssertNil(f.entry("missing"))
        // The header is padded so the data section starts on an 8-byte boundary.
        let bytes = Array(try Data(contentsOf: url))
        let n = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        XCTAssertEqual(n % 8, 0)
        // Writing the same tensors again gives the same bytes.
        let url2 = dir.appendingPathComponent("round2.safetensors")
        try SafeTensors.write(tensors, metadata: ["note": "a \"b\" \\ c", "step": "12"], to: url2)
        XCTAssertEqual(try Data(contentsOf: url2), try Data(contentsOf: url))
    }

    /// Files from other writers: keys in any order, metadata last, no padding, non-F32 tensors present.
    func testReadsForeignLayouts() throws {
        let header = #"{"y":{"data_offsets":[8,16],"shape":[1],"dtype":"F64"},"#
            + #""x":{"shape":[2],"dtype":"F32","data_offsets":[0,8]},"__metadata__":{"format":"pt"}}"#
        let url = try write(file(header: header,
                                 data: [0, 0, 0x80, 0x3F, 0, 0, 0, 0x40] + [UInt8](repeating: 0, count: 8)))
        let f = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(f.names, ["x", "y"])
        XCTAssertEqual(f.metadata, ["format": "pt"])
        XCTAssertEqual(try f.tensor("x").array, [1, 2])
        XCTAssertEqual(f.entry("y")?.shape, [1])
        XCTAssertEqual(message { _ = try f.tensor("y") },
                       "\(url.path): tensor \"y\" has dtype F64; only F32 is supported")
    }

    func testReadErrors() throws {
        let good = #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        let data8 = [UInt8](repeating: 0, count: 8)
        let cases: [(bytes: [UInt8], expected: String)] = [
            ([1, 2, 3], "truncated safetensors file (3 bytes; the header length alone takes 8)"),
            (Array(file(header: good, data: data8).prefix(30)),
             "truncated safetensors file: the header needs 54 bytes but only 22 follow its length"),
            ([0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0] + data8,
             "safetensors header length 4294967295 is larger than the 100000000-byte limit (not a safetensors file?)"),
            (file(header: #"{"x": {"dtype": "F32""#, data: []), "safetensors header is not valid JSON"),
            (file(header: "[1, 2]", data: []), "safetensors header is not a JSON object"),
            (file(header: #"{"x": 3}"#, data: []), "tensor \"x\": entry is not an object"),
            (file(header: #"{"x":{"shape":[2],"data_offsets":[0,8]}}"#, data: data8),
             "tensor \"x\": missing or invalid \"dtype\""),
            (file(header: #"{"x":{"dtype":"F31","shape":[2],"data_offsets":[0,8]}}"#, data: data8),
             "tensor \"x\": unknown dtype \"F31\""),
            (file(header: #"{"x":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}"#, data: data8),
             "tensor \"x\": missing or invalid \"shape\" (expected a list of non-negative integers)"),
            (file(header: #"{"x":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, data: data8),
             "tensor \"x\": missing or invalid \"shape\" (expected a list of non-negative integers)"),
            (file(header: #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, data: data8),
             "tensor \"x\": missing or invalid \"data_offsets\" (expected [begin, end] with begin <= end)"),
            (file(header: #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,true]}}"#, data: data8),
             "tensor \"x\": missing or invalid \"data_offsets\" (expected [begin, end] with begin <= end)"),
            (file(header: good, data: [0, 0, 0, 0]),
             "tensor \"x\": data_offsets [0, 8] run past the end of the data (4 bytes; file truncated?)"),
            (file(header: #"{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: data8),
             "tensor \"x\": data_offsets [0, 8] span 8 bytes, but shape [3] of F32 needs 12"),
            (file(header: #"{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: data8),
             "tensor \"x\" starts at byte 4 of the data, expected 0 (tensors overlap or leave a gap)"),
            (file(header: #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"#
                    + #""y":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: data8),
             "tensor \"y\" starts at byte 4 of the data, expected 8 (tensors overlap or leave a gap)"),
            (file(header: good, data: data8 + [1, 2]),
             "2 bytes of data follow the last tensor (the header does not describe the whole file)"),
            (file(header: #"{"__metadata__":{"a":1}}"#, data: []), "\"__metadata__\" value of \"a\" is not a string"),
        ]
        for (i, c) in cases.enumerated() {
            let url = try write(c.bytes, "bad\(i).safetensors")
            XCTAssertEqual(message { _ = try SafeTensorsFile(contentsOf: url) }, "\(url.path): \(c.expected)",
                           "case \(i)")
        }
        let missing = dir.appendingPathComponent("nope.safetensors")
        XCTAssertEqual(message { _ = try SafeTensorsFile(contentsOf: missing) }, "\(missing.path): no such file")
    }

    func testReadIntoChecksNameAndShape() throws {
        let url = dir.appendingPathComponent("x.safetensors")
        try SafeTensors.write([("x", Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3]))], to: url)
        let f = try SafeTensorsFile(contentsOf: url)
        let wrong = Tensor.zeros([3, 2])
        XCTAssertEqual(message { try f.read("x", into: wrong) },
                       "\(url.path): tensor \"x\" has shape [2, 3], expected [3, 2]")
        XCTAssertEqual(wrong.array, [0, 0, 0, 0, 0, 0])
        XCTAssertEqual(message { _ = try f.tensor("y") }, "\(url.path): no tensor named \"y\"")
    }

    func testWriterRefusesBadNamesAndUnwritablePaths() throws {
        let t = Tensor.zeros([1])
        let url = dir.appendingPathComponent("w.safetensors")
        XCTAssertEqual(message { try SafeTensors.write([("a", t), ("a", t)], to: url) },
                       "safetensors: tensor name \"a\" appears twice")
        XCTAssertEqual(message { try SafeTensors.write([("__metadata__", t)], to: url) },
                       "safetensors: \"__metadata__\" cannot name a tensor")
        let inside = dir.appendingPathComponent("no/such/dir/w.safetensors")
        XCTAssertEqual(message { try SafeTensors.write([("a", t)], to: inside) },
                       "cannot create \(inside.path): No such file or directory")
    }
}
