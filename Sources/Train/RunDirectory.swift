// A run's directory: its checkpoints (CheckpointStore), metrics.jsonl, and the rules that keep a
// user's earlier run safe — a new run never starts over checkpoints it did not make, and an
// unwritable place fails before any work is done.
import Foundation
import Checkpoint
import Config

public final class RunDirectory {
    public let url: URL
    public let store: CheckpointStore
    public private(set) var metrics: MetricsLog?

    public init(_ url: URL, keepLast: Int) {
        self.url = url
        store = CheckpointStore(runDirectory: url, keepLast: keepLast)
    }

    /// The checkpoint `--resume` names (a step directory, a run directory, or "auto" for this run's
    /// latest, if any). Without one, a directory that already holds checkpoints is refused.
    /// A checkpoint of another run may start this one only in a directory that holds no checkpoints
    /// (or that is that run's own): resuming into a folder of someone else's run would truncate its
    /// metrics.jsonl and point its latest and best at a foreign step.
    public func resumeCheckpoint(_ resume: String?) throws -> URL? {
        if let resume, let url = try store.resolve(resume: resume) {
            let from = url.deletingLastPathComponent().resolvingSymlinksInPath().standardizedFileURL.path
            let here = self.url.resolvingSymlinksInPath().standardizedFileURL.path
            if from != here, let existing = try store.checkpoints().last {
                throw TrainingError(source: "--out \(self.url.path)", message: "already holds checkpoints of " +
                        "another run (latest \(existing.url.lastPathComponent)) than the one --resume \(resume) " +
                        "continues; pass --out \(from) or an empty directory")
            }
            return url
        }
        if let existing = try store.checkpoints().last {
            throw TrainingError(source: url.path, message: "already holds checkpoints (latest " +
                    "\(existing.url.lastPathComponent)); pass --resume auto to continue it or --out to start a new run")
        }
        return nil
    }

    /// Fails unless the directory is (or can be created as) a writable directory.
    public func checkWritable() throws {
        var probe = url.standardizedFileURL
        var isDirectory: ObjCBool = false
        while !FileManager.default.fileExists(atPath: probe.path, isDirectory: &isDirectory) {
            let parent = probe.deletingLastPathComponent()
            if parent.path == probe.path { break }
            probe = parent
        }
        guard isDirectory.boolValue else {
            throw TrainingError(source: "--out \(url.path)", message: "\(probe.path) is not a directory")
        }
        guard FileManager.default.isWritableFile(atPath: probe.path) else {
            throw TrainingError(source: "--out \(url.path)", message: "\(probe.path) is not writable")
        }
    }

    /// Creates the directory and opens metrics.jsonl; a resumed run first drops the lines logged after
    /// the step it resumes from.
    public func openMetrics(resumedAt step: Int?) throws {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw TrainingError(source: url.path, message: "cannot create the run directory " +
                    "(\((error as NSError).localizedDescription))")
        }
        let metricsURL = url.appendingPathComponent("metrics.jsonl")
        if let step { try MetricsLog.truncate(url: metricsURL, afterStep: step) }
        metrics = try MetricsLog(url: metricsURL)
    }
}

/// What starts a training run: its config, where it writes, and what it resumes.
public struct RunOptions<Config> {
    public var config: Config
    public var runDirectory: URL
    /// A step directory, a run directory, or "auto" (this run's latest checkpoint, if any).
    public var resume: String?
    /// Check each loaded checkpoint's tensor files against the SHA-256 digests its state.json records.
    public var verifyCheckpoints: Bool

    public init(config: Config, runDirectory: URL, resume: String? = nil, verifyCheckpoints: Bool = true) {
        self.config = config; self.runDirectory = runDirectory; self.resume = resume
        self.verifyCheckpoints = verifyCheckpoints
    }
}

/// A problem setting up or running a training run: its run directory, its data, a checkpoint that
/// does not fit.
public struct TrainingError: SourcedError, Equatable {
    public let source: String
    public let message: String
    public init(source: String, message: String) { self.source = source; self.message = message }
}
