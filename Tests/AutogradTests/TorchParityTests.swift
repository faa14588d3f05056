// Parity of every autograd op with PyTorch. Reference numbers: Tests/Fixtures/ops.json, written by
// scripts/make_fixtures.py (each case seeded with torch.manual_seed(crc32(case name)); see
// Tests/Fixtures/README.md). A case holds float32 inputs, integer attributes, PyTorch's output computed
// in float64, an upstream weight w, and PyTorch's gradients of L = Σ out ⊙ w for every input.
// Each test runs the op forward, compares the output, runs backward from L and compares every gradient.
// Default tolerance |got - want| <= 1e-5 + 1e-5·|want|: inputs and outputs are O(1) and every op here
// is a handful of float32 roundings away from the float64 reference.
import XCTest
import Autograd
import Kernels
import TestSupport

final class TorchParityTests: XCTestCase {
    nonisolated(unsafe) static var loaded: [String: Any]?

    static func cases() throws -> [String: Any] {
        if let c = loaded { return c }
        guard let c = try Fixtures.load("ops.json")["cases"] as? [String: Any] else {
            throw FixtureError.malformed("ops.json: no \"cases\" object")
        }
        loaded = c
        return c
    }

    /// Loads case `name`, builds its inputs (all requiring gradients), runs `op`, and compares the output
    /// and every input gradient with PyTorch's.
    func check(_ name: String, rtol: Double = 1e-5, atol: Double = 1e-5,
               file: StaticString = #filePath, line: UInt = #line,
               _ op: (_ inputs: [String: Tensor], _ attrs: [String: Any]) -> Tensor) throws {
        let all = try Self.cases()
        guard let c = all[name] as? [String: Any],
              let inputSpecs = c["inputs"] as? [String: Any],
              let out = c["out"] as? [String: Any], let w = c["w"] as? [String: Any],
              let grads = c["grads"] as? [String: Any] else {
            XCTFail("ops.json: case \(name) missing or malformed", file: file, line: line)
            return
        }
        let attrs = c["attrs"] as? [String: Any] ?? [:]
        var inputs: [String: Tensor] = [:]
        for (key, spec) in inputSpecs {
            let s = spec as? [String: Any] ?? [:]
            inputs[key] = Tensor(Fixtures.floats(s["data"]), shape: Fixtures.ints(s["shape"]), requiresGrad: true)
        }
        Tape.current.reset()
        defer { Tape.current.reset() }
        let y = op(inputs, attrs)
        let wantShape = Fixtures.ints(out["shape"])
        XCTAssertEqual(y.shape, wantShape, "\(name): output shape", file: file, line: line)
        guard y.shape == wantShape else { return }
        let fwd = compareClose(y.array, Fixtures.floats(out["data"]), rtol: rtol, atol: atol, name: "\(name) output")
        XCTAssert(fwd.ok, fwd.message, file: file, line: line)

        let weight = Tensor(Fixtures.floats(w["data"]), shape: Fixtures.ints(w["shape"]))
        let loss = sum(y * weight)
        loss.backward()
        for key in inputSpecs.keys.sorted() {
            let want = Fixtures.floats(grads[key])
            let got = inputs[key]?.grad?.array ?? [Float](repeating: 0, count: want.count)
            let r = compareClose(got, want, rtol: rtol, atol: atol, name: "\(name) d\(key)")
            XCTAssert(r.ok, r.message, file: file, line: line)
        }
    }

    func testMatmul2DAllTransposes() throws {
        for tag in ["nn", "nt", "tn", "tt"] {
            try check("matmul_2d_" + tag) { x, a in
                matmul(x["a"]!, x["b"]!, transA: a["transA"] as! Bool, transB: a["transB"] as! Bool)
            }
        }
    }

    func testMatmulBatchedAllTransposes() throws {
        for tag in ["nn", "nt", "tn", "tt"] {
            try check("matmul_batched_" + tag) { x, a in
                matmul(x["a"]!, x["b"]!, transA: a["transA"] as! Bool, transB: a["transB"] as! Bool)
            }
        }
    }

    func testMatmulBatchedWithSharedMatrixAllTransposes() throws {
        for tag in ["nn", "nt", "tn", "tt"] {
            try check("matmul_shared_" + tag) { x, a in
                matmul(x["a"]!, x["b"]!, transA: a["transA"] as! Bool, transB: a["transB"] as! Bool)
            }
        }
    }

    func testLinear() throws {
        try check("linear_bias") { x, _ in linear(x["x"]!, weight: x["w"]!, bias: x["b"]!) }
        try check("linear_nobias") { x, _ in linear(x["x"]!, weight: x["w"]!) }
    }

    func testAddSubMulWithBroadcasts() throws {
        for kind in ["same", "vector", "scalar"] {
            try check("add_" + kind) { x, _ in x["a"]! + x["b"]! }
            try check("sub_" + kind) { x, _ in x["a"]! - x["b"]! }
            try check("mul_" + kind) { x, _ in x["a"]! * x["b"]! }
        }
    }

    func testAffine() throws {
        try check("affine") { x, a in
            affine(x["x"]!, scale: Float(a["scale"] as! Double), shift: Float(a["shift"] as! Double))
        }
    }

    func testSumAndMean() throws {
        try check("sum") { x, _ in sum(x["x"]!) }
        try check("mean") { x, _ in mean(x["x"]!) }
    }

    func testReshape() throws {
        try check("reshape") { x, _ in x["x"]!.reshaped([4, -1]) }
    }

    func testGelu() throws {
        try check("gelu") { x, _ in gelu(x["x"]!) }
    }

    func testSoftmaxIncludingLargeLogits() throws {
        try check("softmax") { x, _ in softmax(x["x"]!) }
    }

    func testLayerNormWithAndWithoutAffine() throws {
        try check("layer_norm_affine") { x, a in
            layerNorm(x["x"]!, weight: x["weight"]!, bias: x["bias"]!, eps: Float(a["eps"] as! Double))
        }
        try check("layer_norm_plain") { x, a in
            layerNorm(x["x"]!, weight: nil, bias: nil, eps: Float(a["eps"] as! Double))
        }
    }

    func testEmbeddingWithRepeatedIds() throws {
        try check("embedding") { x, a in
            embedding(Fixtures.ints(a["ids"]).map { Int32($0) }, shape: Fixtures.ints(a["shape"]), table: x["table"]!)
        }
    }

    func testCrossEntropyWithIgnoredTargets() throws {
        try check("cross_entropy") { x, a in
            crossEntropy(x["logits"]!, targets: Fixtures.ints(a["targets"]).map { Int32($0) },
                         ignoreIndex: Int32(a["ignoreIndex"] as! Int))
        }
    }

    func testCrossEntropyAllIgnoredIsZeroWithZeroGradient() {
        // PyTorch returns NaN here (0/0); the agreed API defines the mean over no rows as 0.
        Tape.current.reset()
        defer { Tape.current.reset() }
        let logits = Tensor([0.5, -1, 2, 0.25, 3, -2], shape: [2, 3], requiresGrad: true)
        let loss = crossEntropy(logits, targets: [-1, -1])
        XCTAssertEqual(loss.array, [0])
        loss.backward()
        XCTAssertEqual(logits.grad?.array ?? [Float](repeating: 0, count: 6), [Float](repeating: 0, count: 6))
    }

    func testScaledDotProductAttention() throws {
        for name in ["sdpa_causal", "sdpa_full"] {
            try check(name) { x, a in
                scaledDotProductAttention(q: x["q"]!, k: x["k"]!, v: x["v"]!, causal: a["causal"] as! Bool)
            }
        }
        try check("sdpa_causal_scale") { x, a in
            scaledDotProductAttention(q: x["q"]!, k: x["k"]!, v: x["v"]!, causal: true,
                                      scale: Float(a["scale"] as! Double))
        }
    }

    func testCausalSelfAttentionMatchesTorchSplitAndSDPA() throws {
        try check("causal_self_attention") { x, a in causalSelfAttention(qkv: x["qkv"]!, heads: a["heads"] as! Int) }
    }

    func testCausalSelfAttentionWithSegments() throws {
        try check("causal_self_attention_segments") { x, a in
            causalSelfAttention(qkv: x["qkv"]!, heads: a["heads"] as! Int,
                                segments: Fixtures.ints(a["segments"]).map { Int32($0) })
        }
    }

    func testSplitAndMergeHeads() throws {
        try check("split_heads") { x, a in splitHeads(x["x"]!, heads: a["heads"] as! Int) }
        try check("merge_heads") { x, _ in mergeHeads(x["x"]!) }
    }

    func testSliceAndConcat() throws {
        try check("slice") { x, a in slice(x["x"]!, lastAxis: (a["lower"] as! Int)..<(a["upper"] as! Int)) }
        try check("concat") { x, _ in concat(lastAxis: [x["a"]!, x["b"]!, x["d"]!]) }
    }

    func testSelectRowsWithRepeats() throws {
        for name in ["select_rows", "select_rows_flattened"] {
            try check(name) { x, a in selectRows(x["x"]!, rows: Fixtures.ints(a["rows"])) }
        }
    }

    /// Every case in ops.json is exercised by one of the tests above (a new case needs a new check).
    func testEveryFixtureCaseIsCovered() throws {
        let covered = Set(Self.coveredCases)
        let missing = try Self.cases().keys.filter { !covered.contains($0) }.sorted()
        XCTAssert(missing.isEmpty, "ops.json cases without a parity test: \(missing)")
    }

    static let coveredCases: [String] = {
        var names: [String] = ["linear_bias", "linear_nobias", "affine", "sum", "mean", "reshape",
            "gelu", "softmax", "layer_norm_affine", "layer_norm_plain", "embedding", "cross_entropy",
            "sdpa_causal", "sdpa_full", "sdpa_causal_scale", "causal_self_attention",
            "causal_self_attention_segments", "split_heads", "merge_heads", "slice", "concat",
            "select_rows", "select_rows_flattened"]
        for t in ["nn", "nt", "tn", "tt"] {
            names += ["matmul_2d_" + t, "matmul_batched_" + t, "matmul_shared_" + t]
        }
        for kind in ["same", "vector", "scalar"] { names += ["add_" + kind, "sub_" + kind, "mul_" + kind] }
        return names
    }()
}
