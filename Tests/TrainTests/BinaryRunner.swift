import XCTest
import Foundation

// Running the built `tinygpt` executable from tests (data-parallel runs under mpirun, crash tests).

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
let tinygptBinary = repositoryRoot.appendingPathComponent(".build/release/tinygpt")
let mpirunPath: String? = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"]
    .first { FileManager.default.isExecutableFile(atPath: $0) }

/// Runs `tinygpt` (under mpirun with `ranks` > 0); returns the exit status and the output.
@discardableResult
func runTinyGPT(_ arguments: [String], ranks: Int = 0, threads: Int = 1, timeout: TimeInterval = 120,
                whileRunning: ((Process) -> Void)? = nil) throws -> (status: Int32, output: String) {
    let p = Process()
    if ranks > 0 {
        p.executableURL = URL(fileURLWithPath: mpirunPath!)
        p.arguments = ["--allow-run-as-root", "--oversubscribe", "-np", "\(ranks)", tinygptBinary.path]
            + arguments + ["--threads", "\(threads)"]
    } else {
        p.executableURL = tinygptBinary
        p.arguments = arguments + ["--threads", "\(threads)"]
    }
    let log = FileManager.default.temporaryDirectory.appendingPathComponent("tinygpt-run-\(UUID().uuidString).log")
    FileManager.default.createFile(atPath: log.path, contents: nil)
    let handle = try FileHandle(forWritingTo: log)
    p.standardOutput = handle
    p.standardError = handle
    try p.run()
    whileRunning?(p)
    let deadline = Date().addingTimeInterval(timeout)
    while p.isRunning && Date() < deadline { usleep(20_000) }
    if p.isRunning { p.terminate(); p.waitUntilExit(); XCTFail("timed out: \(arguments.joined(separator: " "))") }
    p.waitUntilExit()
    try handle.close()
    let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
    try? FileManager.default.removeItem(at: log)
    return (p.terminationStatus, output)
}

/// The float32 tensor data of a checkpoint's model.safetensors, in file order.
func checkpointWeights(_ checkpoint: URL) throws -> [Float] {
    let data = try Data(contentsOf: checkpoint.appendingPathComponent("model.safetensors"))
    let headerLength = data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
    let body = data.dropFirst(8 + Int(headerLength))
    return body.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
}
