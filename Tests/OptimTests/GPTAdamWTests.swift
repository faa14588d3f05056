import XCTest
import Autograd
import Kernels
import NN
import Optim
import TestSupport

/// Three AdamW steps on the tiny GPT of Tests/Fixtures/gpt_tiny.json ("adamw" block, written by
/// scripts/make_fixtures.py, torch.manual_seed 1337): torch.optim.AdamW(lr 1e-2, betas (0.9, 0.95),
/// eps 1e-8), weight decay 0.1 on tensors with dim >= 2 and 0 on the rest, no clipping, the same batch
/// every step. `losses` = [before step 1, before step 2, before step 3, after step 3].
final class GPTAdamWTests: XCTestCase {
    override func setUp() { Tape.current.reset() }

    func testThreeStepsMatchTorchLosses() throws {
        let f = try Fixtures.load("gpt_tiny.json")
        let config = try JSONDecoder().decode(GPTConfig.self,
                                              from: JSONSerialization.data(withJSONObject: f["config"]!))
        let model = GPT(config: config, seed: nil)
        let params = try XCTUnwrap(f["params"] as? [[String: Any]])
        XCTAssertEqual(model.parameters.map(\.name), params.map { $0["name"] as! String })
        for (p, r) in zip(model.parameters, params) {
            let data = Fixtures.floats(r["data"])
            XCTAssertEqual(p.tensor.shape, Fixtures.ints(r["shape"]), p.name)
            XCTAssertEqual(p.tensor.count, data.count, p.name)
            data.withUnsafeBufferPointer { p.tensor.data.update(from: $0.baseAddress!, count: data.count) }
            // nanoGPT's grouping, which the fixture used: decay exactly the tensors with dim >= 2.
            XCTAssertEqual(p.decays, p.tensor.rank >= 2, p.name)
        }
        let adam = try XCTUnwrap(f["adamw"] as? [String: Any])
        let betas = try XCTUnwrap(adam["betas"] as? [Double])
        let expected = try XCTUnwrap(adam["losses"] as? [Double])
        XCTAssertEqual(expected.count, 4)
        let opt = AdamW(parameters: model.parameters, lr: try XCTUnwrap(adam["lr"] as? Double), beta1: betas[0],
                        beta2: betas[1], eps: try XCTUnwrap(adam["eps"] as? Double),
                        weightDecay: try XCTUnwrap(adam["weight_decay"] as? Double))
        let idx = Fixtures.ints(f["idx"]).map(Int32.init), targets = Fixtures.ints(f["targets"]).map(Int32.init)
        let batch = (f["idx"] as! [Any]).count, time = idx.count / batch
        var rng = RandomGenerator(seed: 0)

        var losses: [Double] = []
        for _ in 0..<3 {
            model.zeroGrad()
            let (_, loss) = model.loss(idx, targets: targets, batch: batch, time: time, training: true, rng: &rng)
            losses.append(Double(loss.item))
            loss.backward()
            opt.step()
        }
        let final = withoutGrad {
            model.loss(idx, targets: targets, batch: batch, time: time, training: false, rng: &rng).loss
        }
        losses.append(Double(final.item))
        Tape.current.reset()

        // The fixture's trajectory ran in float64; float32 rounding (amplified by Adam's division by
        // sqrt(v) for elements with tiny gradients) stays far inside 1e-5 relative (measured 1.3e-7).
        for (i, (got, want)) in zip(losses, expected).enumerated() {
            XCTAssertEqual(got, want, accuracy: 1e-5 * want, "loss \(i) (0-2 before steps 1-3, 3 after step 3)")
        }
        XCTAssertLessThan(losses[3], losses[0])  // three steps on one batch must fit it better
        print("GPT AdamW losses: \(losses) vs torch \(expected); max rel diff "
              + "\(zip(losses, expected).map { abs($0 - $1) / $1 }.max()!)")
    }
}
