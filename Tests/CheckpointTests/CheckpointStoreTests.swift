import XCTest
import Autograd
import Checkpoint
import Kernels
import NN
import Optim

final class CheckpointStoreTests: XCTestCase {
    var root: URL!
    var run: URL { root.appendingPathComponent("run") }

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("checkpoint-tests-\(UUID().uuidString)")
            .resolvingSymlinksInPath()
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: root)
    }

    func model(seed: UInt64, wte: [Int] = [5, 4], extra: Bool = false) -> [NamedParameter] {
        var rng = RandomGenerator(seed: seed)
        var ps = [NamedParameter(name: "transformer.wte.weight",
                                 tensor: Tensor.normal(wte, rng: &rng, requiresGrad: true), decays: true),
                  NamedParameter(name: "transformer.ln_f.bias",
                                 tensor: Tensor.normal([4], rng: &rng, requiresGrad: true), decays: false)]
        if extra {
            ps.append(NamedParameter(name: "lm_head.weight",
                                     tensor: Tensor.normal([5, 4], rng: &rng, requiresGrad: true), decays: true))
        }
        return ps
    }

    /// An optimiser that has taken `steps` steps, so its moments are not zero.
    func trainedOptimizer(_ params: [NamedParameter], steps: Int = 2, seed: UInt64 = 11) -> AdamW {
        let opt = AdamW(parameters: params, lr: 1e-2, beta2: 0.99, weightDecay: 0.1)
        var rng = RandomGenerator(seed: seed)
        for _ in 0..<steps {
            for p in params { p.tensor.grad = Tensor.normal(p.tensor.shape, rng: &rng) }
            opt.step()
        }
        return opt
    }

    func state(_ step: Int) -> Data { Data("{\"step\": \(step)}\n".utf8) }

    /// The "step" of state.json bytes (which hold the given state plus the tensor files' digests).
    func step(ofState data: Data) throws -> Int? {
        (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["step"] as? Int
    }

    func message(_ body: () throws -> Void) -> String {
        do { try body(); return "no error" } catch { return "\(error)" }
    }

    func entries(_ url: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: url.path).sorted()
    }

    func link(_ name: String) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: run.appendingPathComponent(name).path)
    }

    func testDirectoryNames() {
        XCTAssertEqual(CheckpointStore.directoryName(step: 0), "step-000000")
        XCTAssertEqual(CheckpointStore.directoryName(step: 100), "step-000100")
        XCTAssertEqual(CheckpointStore.directoryName(step: 1_234_567), "step-1234567")
        XCTAssertEqual(CheckpointStore.step(ofDirectoryName: "step-000100"), 100)
        XCTAssertEqual(CheckpointStore.step(ofDirectoryName: "step-1234567"), 1_234_567)
        XCTAssertNil(CheckpointStore.step(ofDirectoryName: "step-100"))
        XCTAssertNil(CheckpointStore.step(ofDirectoryName: "step-00010a"))
        XCTAssertNil(CheckpointStore.step(ofDirectoryName: ".tmp-step-000100"))
    }

    func testSaveAndLoadRoundTripIsBitwise() throws {
        let params = model(seed: 1)
        let opt = trainedOptimizer(params, steps: 3)
        let store = CheckpointStore(runDirectory: run)
        let dir = try store.save(step: 30, model: params, optimizer: opt, state: state(30))
        XCTAssertEqual(dir.path, run.appendingPathComponent("step-000030").path)
        XCTAssertEqual(try entries(dir), ["model.safetensors", "optimizer.safetensors", "state.json"])
        XCTAssertEqual(try entries(run), ["latest", "step-000030"])
        XCTAssertEqual(link("latest"), "step-000030")
        XCTAssertEqual(store.latest?.path, dir.path)
        XCTAssertNil(store.best)

        let fresh = model(seed: 2)
        let freshOpt = AdamW(parameters: fresh, lr: 1e-2, beta2: 0.99, weightDecay: 0.1)
        let loaded = try CheckpointStore.load(from: dir, into: fresh, optimizer: freshOpt)
        XCTAssertEqual(try CheckpointStore.readState(from: dir), loaded)
        // state.json is the given state plus the tensor files' digests.
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: loaded) as? [String: Any])
        XCTAssertEqual(object["step"] as? Int, 30)
        let digests = try XCTUnwrap(object["sha256"] as? [String: String])
        XCTAssertEqual(digests.keys.sorted(), ["model.safetensors", "optimizer.safetensors"])
        XCTAssertTrue(digests.values.allSatisfy { $0.count == 64 })
        for (a, b) in zip(params, fresh) {
            XCTAssertEqual(a.tensor.array.map(\.bitPattern), b.tensor.array.map(\.bitPattern), a.name)
        }
        for (a, b) in zip(opt.stateTensors, freshOpt.stateTensors) {
            XCTAssertEqual(a.name, b.name)
            XCTAssertEqual(a.tensor.array.map(\.bitPattern), b.tensor.array.map(\.bitPattern), a.name)
        }
        XCTAssertEqual(freshOpt.stepCount, 3)

        // The weights file is named by state-dict name and records the step.
        let weights = try SafeTensorsFile(contentsOf: dir.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(weights.names, ["transformer.wte.weight", "transformer.ln_f.bias"])
        XCTAssertEqual(weights.metadata["step"], "30")
        let moments = try SafeTensorsFile(contentsOf: dir.appendingPathComponent("optimizer.safetensors"))
        XCTAssertEqual(moments.names, ["transformer.wte.weight.exp_avg", "transformer.wte.weight.exp_avg_sq",
                                       "transformer.ln_f.bias.exp_avg", "transformer.ln_f.bias.exp_avg_sq"])
        XCTAssertEqual(moments.metadata["step"], "3")
    }

    func testWeightsOnlyCheckpoint() throws {
        let params = model(seed: 1)
        let dir = try CheckpointStore(runDirectory: run).save(step: 1, model: params, optimizer: nil, state: state(1))
        XCTAssertEqual(try entries(dir), ["model.safetensors", "state.json"])
        let fresh = model(seed: 2)
        try CheckpointStore.load(from: dir, into: fresh, optimizer: nil)
        XCTAssertEqual(fresh[0].tensor.array, params[0].tensor.array)
        // Resuming an optimiser needs its file.
        let opt = AdamW(parameters: fresh)
        XCTAssertEqual(message { try CheckpointStore.load(from: dir, into: fresh, optimizer: opt) },
                       "checkpoint \(dir.path): optimizer.safetensors is missing, so the optimizer cannot be resumed")
    }

    /// A signal right after a scheduled save asks for the same step with the same state again: that is
    /// the checkpoint already written, not a conflict (the run then exits 130 instead of failing).
    func testSavingTheSameStateAgainIsTheSameCheckpoint() throws {
        let store = CheckpointStore(runDirectory: run)
        let params = model(seed: 1)
        let dir = try store.save(step: 5, model: params, optimizer: nil, state: state(5))
        let before = try Data(contentsOf: dir.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(try store.save(step: 5, model: params, optimizer: nil, state: state(5), isBest: true), dir)
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("model.safetensors")), before)
        let best = run.appendingPathComponent("best").path
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: best), dir.lastPathComponent)
    }

    func testNeverOverwritesAnExistingCheckpoint() throws {
        let store = CheckpointStore(runDirectory: run)
        let params = model(seed: 1)
        let dir = try store.save(step: 5, model: params, optimizer: nil, state: state(5))
        let before = try Data(contentsOf: dir.appendingPathComponent("model.safetensors"))
        let other = model(seed: 9)
        XCTAssertEqual(message { try store.save(step: 5, model: other, optimizer: nil, state: state(99)) },
                       "\(dir.path): a checkpoint for step 5 already exists; refusing to overwrite it")
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("model.safetensors")), before)
        XCTAssertEqual(try step(ofState: CheckpointStore.readState(from: dir)), 5)
    }

    /// A crash mid-save leaves only a .tmp-* directory (and possibly a .tmp-* link): readers ignore
    /// it and the next save removes it.
    func testLeftoverTemporaryFromACrashIsIgnoredAndCleaned() throws {
        let store = CheckpointStore(runDirectory: run)
        let params = model(seed: 1)
        try store.save(step: 10, model: params, optimizer: nil, state: state(10))
        let temp = run.appendingPathComponent(".tmp-step-000020")
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: false)
        try Data([1, 2, 3]).write(to: temp.appendingPathComponent("model.safetensors"))  // half-written
        try FileManager.default.createSymbolicLink(atPath: run.appendingPathComponent(".tmp-latest").path,
                                                   withDestinationPath: ".tmp-step-000020")
        XCTAssertEqual(try store.checkpoints().map(\.step), [10])
        XCTAssertEqual(try store.resolve(resume: "auto")?.lastPathComponent, "step-000010")
        XCTAssertEqual(try CheckpointStore.resolve(path: run.path).lastPathComponent, "step-000010")
        XCTAssertEqual(store.latest?.lastPathComponent, "step-000010")

        try store.save(step: 20, model: params, optimizer: nil, state: state(20))
        XCTAssertEqual(try entries(run), ["latest", "step-000010", "step-000020"])
        XCTAssertEqual(link("latest"), "step-000020")
        XCTAssertEqual(try step(ofState: CheckpointStore.readState(from: run.appendingPathComponent("step-000020"))),
                       20)
    }

    func testLatestBestAndPruning() throws {
        let store = CheckpointStore(runDirectory: run, keepLast: 2)
        let params = model(seed: 1)
        for (step, isBest) in [(1, true), (2, false), (3, true), (4, false), (5, false)] {
            try store.save(step: step, model: params, optimizer: nil, state: state(step), isBest: isBest)
            XCTAssertEqual(link("latest"), CheckpointStore.directoryName(step: step))
        }
        // The newest two, plus the best (step 3), which pruning never removes.
        XCTAssertEqual(try entries(run), ["best", "latest", "step-000003", "step-000004", "step-000005"])
        XCTAssertEqual(link("best"), "step-000003")
        XCTAssertEqual(store.best?.lastPathComponent, "step-000003")
        try store.save(step: 6, model: params, optimizer: nil, state: state(6), isBest: true)
        XCTAssertEqual(try entries(run), ["best", "latest", "step-000005", "step-000006"])
        XCTAssertEqual(link("best"), "step-000006")
        XCTAssertEqual(store.latest?.lastPathComponent, "step-000006")

        // keepLast 0 keeps everything.
        let all = CheckpointStore(runDirectory: root.appendingPathComponent("all"))
        for step in 1...4 { try all.save(step: step, model: params, optimizer: nil, state: state(step)) }
        XCTAssertEqual(try all.checkpoints().map(\.step), [1, 2, 3, 4])
    }

    func testResolveForms() throws {
        let store = CheckpointStore(runDirectory: run)
        // auto before anything exists: start fresh.
        XCTAssertNil(try store.resolve(resume: "auto"))
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        XCTAssertNil(try store.resolve(resume: "auto"))
        XCTAssertEqual(message { _ = try store.resolve(resume: run.path) },
                       "\(run.path): no checkpoint here (neither model.safetensors nor step-NNNNNN directories)")

        let params = model(seed: 1)
        let first = try store.save(step: 100, model: params, optimizer: nil, state: state(100))
        let second = try store.save(step: 200, model: params, optimizer: nil, state: state(200))
        XCTAssertEqual(try store.resolve(resume: "auto"), second)
        XCTAssertEqual(try store.resolve(resume: run.path), second)           // a run directory: its latest
        XCTAssertEqual(try store.resolve(resume: first.path), first)          // a step directory: itself
        XCTAssertEqual(try store.resolve(resume: run.appendingPathComponent("latest").path)?.path,
                       second.path)  // through the link
        XCTAssertEqual(try CheckpointStore.resolve(path: run.path + "/"), second)

        let missing = root.appendingPathComponent("nothing").path
        XCTAssertEqual(message { _ = try store.resolve(resume: missing) },
                       "\(missing): no such checkpoint or run directory")
        let file = root.appendingPathComponent("file.txt")
        try Data("x".utf8).write(to: file)
        XCTAssertEqual(message { _ = try store.resolve(resume: file.path) },
                       "\(file.path): not a directory (expected a checkpoint directory such as RUN/step-000100, or a "
                       + "run directory)")
        // Relative paths resolve against the current directory.
        let cwd = FileManager.default.currentDirectoryPath
        XCTAssert(FileManager.default.changeCurrentDirectoryPath(root.path))
        defer { _ = FileManager.default.changeCurrentDirectoryPath(cwd) }
        XCTAssertEqual(try store.resolve(resume: "run/step-000100")?.path, first.path)
    }

    func testLoadRefusesMismatchedModelsAndChangesNothing() throws {
        let params = model(seed: 1)
        let opt = trainedOptimizer(params)
        let dir = try CheckpointStore(runDirectory: run).save(step: 2, model: params, optimizer: opt, state: state(2))
        let d = dir.path

        let wider = model(seed: 3, wte: [5, 6])
        let before = wider.map { $0.tensor.array }
        XCTAssertEqual(message { try CheckpointStore.load(from: dir, into: wider, optimizer: nil) },
                       "checkpoint \(d): tensor \"transformer.wte.weight\" has shape [5, 4] in model.safetensors but "
                       + "the model expects [5, 6]; it was saved from a different model configuration")
        XCTAssertEqual(wider.map { $0.tensor.array }, before)

        let bigger = model(seed: 3, extra: true)
        let biggerBefore = bigger.map { $0.tensor.array }
        XCTAssertEqual(message { try CheckpointStore.load(from: dir, into: bigger, optimizer: nil) },
                       "checkpoint \(d): model.safetensors has no tensor \"lm_head.weight\" (the model expects shape "
                       + "[5, 4]); it was saved from a different model")
        XCTAssertEqual(bigger.map { $0.tensor.array }, biggerBefore)  // nothing copied, not even the tensors that fit

        let smaller = Array(model(seed: 3).prefix(1))
        XCTAssertEqual(message { try CheckpointStore.load(from: dir, into: smaller, optimizer: nil) },
                       "checkpoint \(d): model.safetensors holds tensor \"transformer.ln_f.bias\", which the model "
                       + "does not have; it was saved from a different model")

        // The optimiser's moments are verified the same way, before the model is touched.
        let fresh = model(seed: 3)
        let freshBefore = fresh.map { $0.tensor.array }
        let otherOpt = AdamW(parameters: [fresh[0]])
        XCTAssertEqual(message { try CheckpointStore.load(from: dir, into: fresh, optimizer: otherOpt) },
                       "checkpoint \(d): optimizer.safetensors holds tensor \"transformer.ln_f.bias.exp_avg\", which "
                       + "the optimizer does not have; it was saved from a different model")
        XCTAssertEqual(fresh.map { $0.tensor.array }, freshBefore)
        XCTAssertEqual(otherOpt.stepCount, 0)

        // A checkpoint without state.json, or a directory that is not there.
        try FileManager.default.removeItem(at: dir.appendingPathComponent("state.json"))
        XCTAssertEqual(message { try CheckpointStore.load(from: dir, into: fresh, optimizer: nil) },
                       "checkpoint \(d): state.json is missing")
        XCTAssertEqual(fresh.map { $0.tensor.array }, freshBefore)
        let nowhere = root.appendingPathComponent("step-000001")
        XCTAssertEqual(message { try CheckpointStore.load(from: nowhere, into: fresh, optimizer: nil) },
                       "checkpoint \(nowhere.path): no such directory")
    }

    func testCorruptCheckpointFileIsNamed() throws {
        let params = model(seed: 1)
        let dir = try CheckpointStore(runDirectory: run).save(step: 1, model: params, optimizer: nil, state: state(1))
        let file = dir.appendingPathComponent("model.safetensors")
        let bytes = try Data(contentsOf: file)
        try bytes.prefix(bytes.count - 4).write(to: file)
        XCTAssert(message { try CheckpointStore.load(from: dir, into: params, optimizer: nil) }
            .hasPrefix("\(file.path): sha256 mismatch (state.json records "))
        XCTAssert(message { try CheckpointStore.load(from: dir, into: params, optimizer: nil, verify: false) }
            .hasPrefix("\(file.path): tensor \"transformer.ln_f.bias\": data_offsets [80, 96] run past the end of the "
                       + "data"))
    }

    func testUnwritableRunDirectoryIsAClearError() throws {
        let params = model(seed: 1)
        let file = root.appendingPathComponent("plain-file")
        try Data("x".utf8).write(to: file)
        XCTAssertEqual(message {
            try CheckpointStore(runDirectory: file).save(step: 1, model: params, optimizer: nil, state: state(1))
        },
                       "run directory \(file.path) exists but is not a directory")
        let below = file.appendingPathComponent("run")
        let text = message {
            try CheckpointStore(runDirectory: below).save(step: 1, model: params, optimizer: nil, state: state(1))
        }
        XCTAssert(text.hasPrefix("cannot create run directory \(below.path): "), text)
        XCTAssertEqual(text.split(separator: "\n").count, 1)
        if getuid() != 0 {  // root ignores permission bits
            let locked = root.appendingPathComponent("locked")
            try FileManager.default.createDirectory(at: locked, withIntermediateDirectories: false)
            try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: locked.path)
            defer { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: locked.path) }
            XCTAssertEqual(message {
                try CheckpointStore(runDirectory: locked).save(step: 1, model: params, optimizer: nil, state: state(1))
            },
                           "run directory \(locked.path) is not writable")
        }
    }
}
