// Checkpoints of a training run, kept in a run directory RUN:
//   RUN/step-000100/model.safetensors      weights, named by state-dict name
//   RUN/step-000100/optimizer.safetensors  AdamW moments "<name>.exp_avg"/".exp_avg_sq"; metadata "step"
//   RUN/step-000100/state.json             the trainer's state (opaque bytes here)
//   RUN/latest -> step-000100              symbolic links with relative targets
//   RUN/best   -> step-000050
// A checkpoint is written into RUN/.tmp-step-000100, every file and the directory fsynced, then renamed
// into place, so RUN/step-* directories are always complete; a crash leaves at most a .tmp-* entry,
// which readers ignore and the next save removes. The links are replaced atomically (a new link
// under a temporary name renamed over the old one). One writer per run directory.
import Autograd
import Data
import Foundation
import NN
import Optim

public struct CheckpointStore {
    public static let modelFile = "model.safetensors"
    public static let optimizerFile = "optimizer.safetensors"
    public static let stateFile = "state.json"
    public static let latestLink = "latest"
    public static let bestLink = "best"
    static let temporaryPrefix = ".tmp-"

    public let runDirectory: URL
    /// How many of the newest checkpoints `save` keeps (the one `best` names is always kept too);
    /// 0 keeps every checkpoint.
    public let keepLast: Int

    public init(runDirectory: URL, keepLast: Int = 0) {
        precondition(keepLast >= 0, "CheckpointStore: keepLast must be >= 0, got \(keepLast)")
        self.runDirectory = URL(fileURLWithPath: runDirectory.standardizedFileURL.path, isDirectory: true)
        self.keepLast = keepLast
    }

    /// "step-000100": six digits, more when the step needs them (so names sort by step up to 999999).
    public static func directoryName(step: Int) -> String {
        let digits = String(step)
        return "step-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    /// The step of a directory named by `directoryName(step:)`, else nil.
    public static func step(ofDirectoryName name: String) -> Int? {
        guard name.hasPrefix("step-") else { return nil }
        let digits = name.dropFirst(5)
        guard digits.count >= 6, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(digits)
    }

    // MARK: Saving

    /// Writes checkpoint `step` atomically and returns its directory. Points RUN/latest at it (and
    /// RUN/best when `isBest`), then prunes old checkpoints beyond `keepLast`. Refuses to replace an
    /// existing step directory, unless it holds this very state (then it is returned as it is).
    /// `optimizer` nil writes no optimizer file (weights-only checkpoint). `state` must be a JSON object;
    /// state.json holds it plus the tensor files' SHA-256 digests (TensorFileDigests).
    @discardableResult
    public func save(step: Int, model: [NamedParameter], optimizer: AdamW?, state: Foundation.Data,
                     isBest: Bool = false) throws -> URL {
        precondition(step >= 0, "CheckpointStore.save: negative step \(step)")
        let run = runDirectory.path
        try prepareRunDirectory()
        let name = CheckpointStore.directoryName(step: step)
        let final = runDirectory.appendingPathComponent(name, isDirectory: true)
        if FileSystem.entryExists(final.path) {
            // The same state again (a Ctrl-C or SIGTERM right after a scheduled save, or before the first
            // step of a run resumed with the same config): the step, RNG streams and data position are
            // those of the checkpoint already there, so it is this save; nothing is rewritten.
            let existing = final.appendingPathComponent(CheckpointStore.stateFile)
            if let old = try? Foundation.Data(contentsOf: existing),
               let mine = TensorFileDigests.withoutRecord(state), TensorFileDigests.withoutRecord(old) == mine {
                if isBest { try pointLink(CheckpointStore.bestLink, at: name) }
                return final
            }
            throw CheckpointError("\(final.path): a checkpoint for step \(step) already exists; refusing to overwrite "
                                  + "it")
        }
        try removeTemporaries()
        let temp = runDirectory.appendingPathComponent(CheckpointStore.temporaryPrefix + name)
        do {
            try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: false)
        } catch {
            throw CheckpointError("cannot create \(temp.path): \(FileSystem.errorText())")
        }
        do {
            var digests: [String: String] = [:]
            digests[CheckpointStore.modelFile] = try SafeTensors.write(
                model.map { ($0.name, $0.tensor) }, metadata: ["step": String(step)],
                to: temp.appendingPathComponent(CheckpointStore.modelFile))
            if let optimizer {
                digests[CheckpointStore.optimizerFile] = try SafeTensors.write(
                    optimizer.stateTensors, metadata: ["optimizer": "AdamW", "step": String(optimizer.stepCount)],
                    to: temp.appendingPathComponent(CheckpointStore.optimizerFile))
            }
            try FileSystem.writeFile(TensorFileDigests.recording(digests, in: state),
                                     to: temp.appendingPathComponent(CheckpointStore.stateFile).path)
            try FileSystem.syncDirectory(temp.path)
            try FileSystem.rename(temp.path, to: final.path)
        } catch {
            try? FileManager.default.removeItem(at: temp)
            throw error
        }
        try FileSystem.syncDirectory(run)
        try pointLink(CheckpointStore.latestLink, at: name)
        if isBest { try pointLink(CheckpointStore.bestLink, at: name) }
        try FileSystem.syncDirectory(run)
        try prune()
        return final
    }

    /// Creates the run directory if needed; an existing file in its place, or a directory that cannot
    /// be created or written, is an error.
    private func prepareRunDirectory() throws {
        let run = runDirectory.path
        if FileSystem.exists(run) {
            guard FileSystem.isDirectory(run) else {
                throw CheckpointError("run directory \(run) exists but is not a directory")
            }
        } else {
            do {
                try FileManager.default.createDirectory(at: runDirectory, withIntermediateDirectories: true)
            } catch {
                throw CheckpointError("cannot create run directory \(run): \(CheckpointStore.reason(error))")
            }
        }
        guard FileManager.default.isWritableFile(atPath: run) else {
            throw CheckpointError("run directory \(run) is not writable")
        }
    }

    /// Removes what an interrupted save left behind (.tmp-* directories and links).
    private func removeTemporaries() throws {
        for entry in try entries() where entry.hasPrefix(CheckpointStore.temporaryPrefix) {
            let url = runDirectory.appendingPathComponent(entry)
            do { try FileManager.default.removeItem(at: url) } catch {
                throw CheckpointError("cannot remove the leftover \(url.path): \(CheckpointStore.reason(error))")
            }
        }
    }

    /// Atomically makes RUN/`link` a symbolic link to `target` (a name inside RUN).
    private func pointLink(_ link: String, at target: String) throws {
        let temp = runDirectory.appendingPathComponent(CheckpointStore.temporaryPrefix + link).path
        if FileSystem.entryExists(temp) { try? FileManager.default.removeItem(atPath: temp) }
        try FileSystem.symlink(target, at: temp)
        try FileSystem.rename(temp, to: runDirectory.appendingPathComponent(link).path)
    }

    /// Deletes checkpoints older than the newest `keepLast`, sparing the targets of latest and best.
    private func prune() throws {
        guard keepLast > 0 else { return }
        let all = try checkpoints()
        guard all.count > keepLast else { return }
        var keep = Set(all.suffix(keepLast).map(\.url.lastPathComponent))
        for link in [CheckpointStore.latestLink, CheckpointStore.bestLink] {
            if let target = FileSystem.readLink(runDirectory.appendingPathComponent(link).path) { keep.insert(target) }
        }
        for c in all where !keep.contains(c.url.lastPathComponent) {
            do { try FileManager.default.removeItem(at: c.url) } catch {
                throw CheckpointError("cannot remove old checkpoint \(c.url.path): \(CheckpointStore.reason(error))")
            }
        }
        try FileSystem.syncDirectory(runDirectory.path)
    }

    // MARK: Finding checkpoints

    private func entries() throws -> [String] {
        do { return try FileManager.default.contentsOfDirectory(atPath: runDirectory.path) } catch {
            throw CheckpointError("cannot list run directory \(runDirectory.path): \(CheckpointStore.reason(error))")
        }
    }

    /// The complete checkpoints in the run directory (step-* directories holding a model file), by
    /// increasing step. Empty when the directory does not exist.
    public func checkpoints() throws -> [(step: Int, url: URL)] {
        guard FileSystem.isDirectory(runDirectory.path) else { return [] }
        return try CheckpointStore.checkpoints(in: runDirectory, names: entries())
    }

    private static func checkpoints(in run: URL, names: [String]) -> [(step: Int, url: URL)] {
        names.compactMap { name -> (step: Int, url: URL)? in
            guard let step = step(ofDirectoryName: name) else { return nil }
            let url = run.appendingPathComponent(name, isDirectory: true)
            return isCheckpoint(url) ? (step, url) : nil
        }.sorted { $0.step < $1.step }
    }

    static func isCheckpoint(_ url: URL) -> Bool {
        FileSystem.isDirectory(url.path) && FileSystem.exists(url.appendingPathComponent(modelFile).path)
    }

    /// The checkpoint RUN/latest points at, if it is there.
    public var latest: URL? { linkTarget(CheckpointStore.latestLink) }
    /// The checkpoint RUN/best points at, if it is there.
    public var best: URL? { linkTarget(CheckpointStore.bestLink) }

    private func linkTarget(_ link: String) -> URL? {
        guard let target = FileSystem.readLink(runDirectory.appendingPathComponent(link).path) else { return nil }
        let url = runDirectory.appendingPathComponent(target, isDirectory: true).standardizedFileURL
        return CheckpointStore.isCheckpoint(url) ? url : nil
    }

    /// Resolves a resume request: "auto" means this run's newest checkpoint, or nil when the run
    /// directory does not exist or holds none yet (start fresh); any other value is a path, resolved
    /// by `resolve(path:)`.
    public func resolve(resume: String) throws -> URL? {
        if resume == "auto" { return try checkpoints().last?.url }
        return try CheckpointStore.resolve(path: resume)
    }

    /// A checkpoint directory (one holding model.safetensors, possibly reached through a link such as
    /// RUN/latest) resolves to itself; a run directory resolves to its newest checkpoint, which is
    /// what RUN/latest names (after a crash between the rename and the link update, the newer one).
    public static func resolve(path: String) throws -> URL {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        guard FileSystem.exists(url.path) else {
            throw CheckpointError("\(path): no such checkpoint or run directory")
        }
        guard FileSystem.isDirectory(url.path) else {
            throw CheckpointError("\(path): not a directory (expected a checkpoint directory such as RUN/step-000100, "
                                  + "or a run directory)")
        }
        if isCheckpoint(url) { return URL(fileURLWithPath: url.resolvingSymlinksInPath().path, isDirectory: true) }
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: url.path) } catch {
            throw CheckpointError("\(path): cannot list directory: \(reason(error))")
        }
        guard let newest = checkpoints(in: url, names: names).last else {
            throw CheckpointError("\(path): no checkpoint here (neither \(modelFile) nor step-NNNNNN directories)")
        }
        return newest.url
    }

    // MARK: Loading

    /// The state.json bytes of checkpoint `directory` (read this first to rebuild the model).
    public static func readState(from directory: URL) throws -> Foundation.Data {
        let url = directory.appendingPathComponent(stateFile)
        guard FileSystem.exists(url.path) else {
            throw CheckpointError("checkpoint \(directory.path): \(stateFile) is missing")
        }
        if let kind = RegularFile.problem(url.path) {
            throw CheckpointError("\(url.path): is \(kind), not a regular file (expected a checkpoint's state)")
        }
        do { return try Foundation.Data(contentsOf: url) } catch {
            throw CheckpointError("checkpoint \(directory.path): cannot read \(stateFile): \(reason(error))")
        }
    }

    /// Loads checkpoint `directory` into `model` (and `optimizer`, whose moments and step count it
    /// restores) and returns the state.json bytes. With `verify`, each tensor file whose SHA-256
    /// state.json records must match it. Every tensor name and shape is verified before anything is
    /// copied: a missing, extra or differently shaped tensor is refused with an error naming the
    /// checkpoint and the first mismatching tensor, and leaves the model and optimizer unchanged.
    @discardableResult
    public static func load(from directory: URL, into model: [NamedParameter],
                            optimizer: AdamW?, verify: Bool = true) throws -> Foundation.Data {
        let dir = directory.path
        guard FileSystem.isDirectory(dir) else { throw CheckpointError("checkpoint \(dir): no such directory") }
        let state = try readState(from: directory)
        let modelURL = directory.appendingPathComponent(modelFile)
        let statePath = directory.appendingPathComponent(stateFile).path
        let record = try verify ? TensorFileDigests.recorded(in: state, source: statePath) : [:]
        try TensorFileDigests.verify(modelURL, record: record)
        let weights = try SafeTensorsFile(contentsOf: modelURL)
        try checkTensors(weights, expected: model.map { ($0.name, $0.tensor.shape) }, checkpoint: dir,
                         holder: "the model")

        var moments: SafeTensorsFile?
        var optimizerStep = 0
        if let optimizer {
            let url = directory.appendingPathComponent(optimizerFile)
            guard FileSystem.exists(url.path) else {
                throw CheckpointError("checkpoint \(dir): \(optimizerFile) is missing, so the optimizer cannot be "
                                      + "resumed")
            }
            try TensorFileDigests.verify(url, record: record)
            let file = try SafeTensorsFile(contentsOf: url)
            guard let text = file.metadata["step"], let step = Int(text), step >= 0 else {
                throw CheckpointError("\(url.path): metadata \"step\" is missing or not a non-negative integer")
            }
            try checkTensors(file, expected: optimizer.stateTensors.map { ($0.name, $0.tensor.shape) },
                             checkpoint: dir, holder: "the optimizer")
            moments = file
            optimizerStep = step
        }

        // A non-finite value is refused with the tensor's name (the model's values are then undefined):
        // NaN weights would otherwise sample newlines and evaluate to "loss nan" without a word.
        for p in model {
            try weights.read(p.name, into: p.tensor)
            try requireFinite(p.tensor, name: p.name, file: weights.url.path)
        }
        if let optimizer, let moments {
            for (name, t) in optimizer.stateTensors {
                try moments.read(name, into: t)
                try requireFinite(t, name: name, file: moments.url.path)
            }
            optimizer.stepCount = optimizerStep
        }
        return state
    }

    /// Checks the SHA-256 of tensor files `names` of checkpoint `directory` against its state.json's
    /// record (for readers that open the files themselves); names it does not record are not checked.
    public static func verifyFiles(_ names: [String], in directory: URL) throws {
        let state = try readState(from: directory)
        let record = try TensorFileDigests.recorded(in: state, source: directory.appendingPathComponent(stateFile).path)
        for name in names { try TensorFileDigests.verify(directory.appendingPathComponent(name), record: record) }
    }

    /// Throws naming `name` and `file` when `tensor` holds a NaN or an infinity.
    static func requireFinite(_ tensor: Tensor, name: String, file: String) throws {
        let p = tensor.data, n = tensor.count
        // x·0 is 0 for every finite x and NaN for NaN and ±inf, so one vector sum finds any of them.
        var acc = SIMD8<Float>(repeating: 0), i = 0
        while i + 8 <= n { acc += UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self) * 0; i += 8 }
        var tail: Float = 0
        while i < n { tail += p[i] * 0; i += 1 }
        if !(acc.sum() + tail).isFinite, let bad = (0..<n).first(where: { !p[$0].isFinite }) {
            throw CheckpointError("\(file): tensor \"\(name)\" holds a non-finite value (\(p[bad]) at element " +
                                  "\(bad)); the run that saved it diverged, resume from an earlier checkpoint")
        }
    }

    /// Checks that `file` holds exactly the F32 tensors `expected` (names and shapes).
    private static func checkTensors(_ file: SafeTensorsFile, expected: [(String, [Int])], checkpoint: String,
                               holder: String) throws {
        let fileName = file.url.lastPathComponent
        for (name, shape) in expected {
            guard let e = file.entry(name) else {
                throw CheckpointError("checkpoint \(checkpoint): \(fileName) has no tensor \"\(name)\" (\(holder) "
                                      + "expects shape \(shape)); it was saved from a different model")
            }
            guard e.shape == shape else {
                throw CheckpointError("checkpoint \(checkpoint): tensor \"\(name)\" has shape \(e.shape) in "
                                      + "\(fileName) but \(holder) expects \(shape); it was saved from a different "
                                      + "model configuration")
            }
            guard e.dtype == "F32" else {
                throw CheckpointError("checkpoint \(checkpoint): tensor \"\(name)\" in \(fileName) has dtype "
                                      + "\(e.dtype); only F32 is supported")
            }
        }
        let names = Set(expected.map(\.0))
        if let extra = file.entries.first(where: { !names.contains($0.name) }) {
            throw CheckpointError("checkpoint \(checkpoint): \(fileName) holds tensor \"\(extra.name)\", which "
                                  + "\(holder) does not have; it was saved from a different model")
        }
    }

    static func reason(_ error: Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return ns.localizedDescription
    }
}
