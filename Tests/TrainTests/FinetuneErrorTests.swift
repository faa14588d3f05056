import XCTest
import Foundation
import Checkpoint
import Train
import Config
import Evaluate
import Planning
import Data

/// Bad input to fine-tuning: each is one line naming the file (and line) or flag, and nothing saved is
/// touched.
final class FinetuneErrorTests: XCTestCase {
    private func assertOneLineError(_ fragments: [String], file: StaticString = #filePath, line: UInt = #line,
                                    _ body: () throws -> Void) {
        do {
            try body()
            XCTFail("expected an error containing \(fragments)", file: file, line: line)
        } catch {
            let text = String(describing: error)
            XCTAssertFalse(text.contains("\n"), "error is not one line: \(text)", file: file, line: line)
            for f in fragments {
                XCTAssert(text.contains(f), "error \"\(text)\" does not contain \"\(f)\"", file: file, line: line)
            }
        }
    }

    private func start(_ config: FinetuneConfig, _ run: URL, resume: String? = nil) throws {
        _ = try Finetuner(FinetuneOptions(config: config, runDirectory: run, resume: resume))
    }

    func testDataProblems() throws {
        let dir = ScratchDirectory()
        let files = try writeSentimentFiles(in: dir.url, train: 40, dev: 10)
        let initRun = try pretrainTinyModel(in: dir.url)
        let run = dir.url.appendingPathComponent("run")
        func file(_ name: String, _ text: String) throws -> String {
            let url = dir.url.appendingPathComponent(name)
            try text.write(to: url, atomically: true, encoding: .utf8)
            return url.path
        }
        // A dev label the training file never uses.
        let dev = try file("dev-bad.jsonl", "{\"text\": \"good\", \"label\": \"positive\"}\n"
                                            + "{\"text\": \"fun\", \"label\": \"neutral\"}\n")
        assertOneLineError(["dev-bad.jsonl:2", "\"neutral\"", "does not appear", "train.jsonl"]) {
            try start(finetuneConfig(initFrom: initRun, files: (files.train, dev), maxIters: 1), run)
        }
        // Text the checkpoint's tokenizer cannot encode (an upper-case letter the char tokenizer never saw).
        let zebra = try file("zebra.jsonl", "{\"text\": \"good\", \"label\": \"positive\"}\n"
                                            + "{\"text\": \"bad Zebra\", \"label\": \"negative\"}\n")
        assertOneLineError(["zebra.jsonl:2", "character Z", "tokenizer"]) {
            try start(finetuneConfig(initFrom: initRun, files: (zebra, files.dev), maxIters: 1), run)
        }
        // Empty file, missing field, a single label.
        let empty = try file("empty.jsonl", "")
        assertOneLineError(["empty.jsonl", "empty"]) {
            try start(finetuneConfig(initFrom: initRun, files: (empty, files.dev), maxIters: 1), run)
        }
        let noLabel = try file("nolabel.jsonl", "{\"text\": \"good\", \"label\": \"positive\"}\n{\"text\": \"bad\"}\n")
        assertOneLineError(["nolabel.jsonl:2", "no \"label\" field"]) {
            try start(finetuneConfig(initFrom: initRun, files: (noLabel, files.dev), maxIters: 1), run)
        }
        let oneLabel = try file("one.jsonl", "{\"text\": \"good\", \"label\": \"positive\"}\n")
        assertOneLineError(["one.jsonl", "at least two labels"]) {
            try start(finetuneConfig(initFrom: initRun, files: (oneLabel, oneLabel), maxIters: 1), run)
        }
        // generate rows read as generate; a classification file lacks "prompt".
        assertOneLineError(["train.jsonl:1", "no \"prompt\" field"]) {
            try start(finetuneConfig(initFrom: initRun, files: files, maxIters: 1, task: .generate), run)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: run.path),
                       "failed set-ups must not create the run directory")
    }

    func testFlagAndCheckpointProblems() throws {
        let dir = ScratchDirectory()
        let files = try writeSentimentFiles(in: dir.url, train: 40, dev: 10)
        let genDir = dir.url.appendingPathComponent("gen")
        try FileManager.default.createDirectory(at: genDir, withIntermediateDirectories: true)
        let genFiles = try writeSentimentFiles(in: genDir, train: 20, dev: 5, generate: true)
        let initRun = try pretrainTinyModel(in: dir.url)
        var noPrompt = finetuneConfig(initFrom: initRun, files: genFiles, maxIters: 1, task: .generate)
        noPrompt.template = "Question: {text}"
        assertOneLineError(["--template", "{prompt}"]) { try start(noPrompt, dir.url.appendingPathComponent("x")) }
        var frozenGenerate = finetuneConfig(initFrom: initRun, files: genFiles, maxIters: 1, task: .generate)
        frozenGenerate.freezeBase = true
        assertOneLineError(["--freeze-base", "classify"]) {
            try start(frozenGenerate, dir.url.appendingPathComponent("x"))
        }
        assertOneLineError(["--init", "no-such-run", "no such checkpoint"]) {
            try start(finetuneConfig(initFrom: dir.url.appendingPathComponent("no-such-run").path, files: files,
                                     maxIters: 1),
                      dir.url.appendingPathComponent("x"))
        }
        // --out below a regular file cannot be created.
        let blocker = dir.url.appendingPathComponent("a-file")
        try "x".write(to: blocker, atomically: true, encoding: .utf8)
        assertOneLineError(["--out", "a-file", "not a directory"]) {
            try start(finetuneConfig(initFrom: initRun, files: files, maxIters: 1),
                      blocker.appendingPathComponent("run"))
        }

        // A finished run is neither overwritten nor resumed as another task; fine-tuning does not start
        // from a fine-tuned checkpoint.
        let run = dir.url.appendingPathComponent("done")
        var config = finetuneConfig(initFrom: initRun, files: files, maxIters: 2)
        config.evalInterval = 2
        _ = try finetune(config, run: run)
        let weights = run.appendingPathComponent("step-000002/model.safetensors")
        let before = try Data(contentsOf: weights)
        assertOneLineError(["already holds checkpoints", "--resume auto"]) { try start(config, run) }
        var asGenerate = finetuneConfig(initFrom: initRun, files: genFiles, maxIters: 4, task: .generate)
        asGenerate.evalInterval = 2
        assertOneLineError(["finetune-classify", "cannot resume --task generate"]) {
            try start(asGenerate, run, resume: "auto")
        }
        assertOneLineError(["--init", "finetune-classify", "pretraining checkpoint"]) {
            try start(finetuneConfig(initFrom: run.path, files: files, maxIters: 1),
                      dir.url.appendingPathComponent("y"))
        }
        let otherLabels = dir.url.appendingPathComponent("relabelled.jsonl")
        try "{\"text\": \"good\", \"label\": \"yes\"}\n{\"text\": \"bad\", \"label\": \"no\"}\n"
            .write(to: otherLabels, atomically: true, encoding: .utf8)
        var relabelled = config
        relabelled.trainFile = otherLabels.path
        relabelled.devFile = otherLabels.path
        relabelled.maxIters = 4
        assertOneLineError(["relabelled.jsonl", "differ from the checkpoint"]) {
            try start(relabelled, run, resume: "auto")
        }
        // Sampling and perplexity load checkpoints as language models; a classifier is pointed elsewhere.
        assertOneLineError([run.path, "fine-tuned classifier", "eval --task classify"]) {
            _ = try LoadedModel(checkpoint: run.path)
        }
        XCTAssertEqual(try Data(contentsOf: weights), before, "the saved checkpoint changed")
        XCTAssertEqual(try CheckpointStore(runDirectory: run).checkpoints().map(\.step), [2])
    }
}
