// `tinygpt fetch NAME`: downloads one of the public datasets or files the project uses (see
// Sources/Fetch/Catalog.swift), verifies each file's SHA-256, converts it to the files the commands
// read, and prints the entry's licence on the first download. Progress is a live line on a terminal
// and a line every 10% otherwise.
import ArgumentParser
import Dispatch
import Fetch
import Foundation

struct FetchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Download a public dataset or file set, verified by SHA-256, into data/NAME.",
        discussion: """
            Names: \(Catalog.entries.map(\.name).joined(separator: ", ")) (--list describes them). \
            A partial download is resumed; a file is moved into place only after its size and SHA-256 \
            match the pinned values; files already there are verified and kept. Every entry except the GPT-2 \
            weights (gpt2, gpt2-medium, gpt2-large, gpt2-xl: Hugging Face's main branch) is pinned. Folders have the same layout as ../shared/data.

            Example: tinygpt fetch sst2   (writes data/sst2/train.jsonl and data/sst2/dev.jsonl)
            Example: tinygpt fetch gpt2 && tinygpt import --from data/gpt2 --out checkpoints/gpt2
            """)

    @Argument(help: "What to fetch (see --list).")
    var name: String?

    @Option(name: .long, help: "Folder to write into (default: data/NAME).")
    var out: String?

    @Flag(name: .long, help: "List the names, what each is, and their sources.")
    var list = false

    @Option(name: .long, help: "Seconds without data before a download fails.")
    var timeout: Double = 60

    func run() throws {
        try runReportingErrors {
            if list {
                for entry in Catalog.entries {
                    Terminal.line("\(entry.name): \(entry.summary)")
                    for file in entry.files { Terminal.line("    \(file.url.absoluteString)") }
                }
                return
            }
            guard let name else {
                throw ValidationError("give a NAME (one of \(Catalog.entries.map(\.name).joined(separator: ", ")))")
            }
            let entry = try Catalog.entry(named: name)
            let folder = URL(fileURLWithPath: out ?? "data/\(entry.name)")
            let renderer = FetchProgressRenderer()
            let outputs = try Fetcher.fetch(entry, into: folder, timeout: timeout) { renderer.handle($0) }
            Terminal.line("\(entry.name) ready: " + outputs.map(\.path).joined(separator: ", "))
        }
    }
}

/// Renders FetchEvents: a live line on a TTY (at most 10 redraws a second), plain lines every 10%.
final class FetchProgressRenderer {
    private var lastDraw: UInt64 = 0
    private var lastTenth = -1
    private var start: UInt64 = 0
    private var startBytes = 0

    func handle(_ event: FetchEvent) {
        switch event {
        case .licence(let name, let text):
            Terminal.line("licence (\(name)): \(text)")
        case .unpinned(let url):
            Terminal.warning("\(url.absoluteString) has no pinned checksum; it is not verified")
        case .present(let path):
            Terminal.line("present \(path)")
        case .started(let url, let resumeFrom, let total):
            lastTenth = -1
            start = DispatchTime.now().uptimeNanoseconds
            startBytes = resumeFrom
            Terminal.line((resumeFrom > 0 ? "resuming at \(Self.megabytes(resumeFrom)) " : "downloading ")
                          + url.absoluteString + (total.map { " (\(Self.megabytes($0)))" } ?? ""))
        case .progress(_, let bytes, let total):
            let now = DispatchTime.now().uptimeNanoseconds
            let seconds = Double(now - start) / 1e9
            let rate = seconds > 0 ? Double(bytes - startBytes) / seconds : 0
            let speed = String(format: "%.1f MB/s", rate / 1e6)
            if Terminal.isTTY {
                guard now - lastDraw > 100_000_000 || bytes == total else { return }
                lastDraw = now
                if let total, total > 0 {
                    let width = 30
                    let filled = min(width, bytes * width / total)
                    let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
                    Terminal.live("[\(bar)] \(bytes * 100 / total)% " +
                            "\(Self.megabytes(bytes))/\(Self.megabytes(total)) \(speed)")
                } else {
                    Terminal.live("\(Self.megabytes(bytes)) \(speed)")
                }
            } else if let total, total > 0 {
                let tenth = bytes * 10 / total
                guard tenth > lastTenth else { return }
                lastTenth = tenth
                Terminal.line("\(tenth * 10)% \(Self.megabytes(bytes)) \(speed)")
            }
        case .downloaded(let path, let bytes):
            Terminal.line("verified \(path) (\(bytes) bytes)")
        case .converted(let path):
            Terminal.line("wrote \(path)")
        }
    }

    static func megabytes(_ bytes: Int) -> String { String(format: "%.1f MB", Double(bytes) / 1e6) }
}
