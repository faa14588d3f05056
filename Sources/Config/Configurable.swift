// The config engine: a config is a struct with defaults (`init()`) and a field table. Layers apply in
// order — defaults < file < flags < `--set key=value` — and unknown keys and wrongly typed values are
// one-line errors naming the file or flag, the key, and the nearest known key.
import Foundation

public protocol Configurable {
    init()
    static var fields: [ConfigField<Self>] { get }
    /// Cross-field checks (n_head divides n_embd, min_lr ≤ learning_rate, …); `source` names where
    /// the last layer came from.
    func validate(source: String) throws
}

extension Configurable {
    public func validate(source: String) throws {}

    public static var keys: [String] { fields.map(\.key) }

    static func field(_ key: String) -> ConfigField<Self>? { fields.first { $0.key == key } }

    /// Applies the keys of a JSON object (in key order), then validates.
    public mutating func apply(json object: [String: Any], source: String) throws {
        for key in object.keys.sorted() {
            guard let field = Self.field(key) else {
                throw ConfigError(source: source, message: "unknown config key \"\(key)\"" + Self.suggestion(for: key))
            }
            do { try field.read(&self, object[key]!) } catch let p as FieldProblem {
                throw ConfigError(source: source, message: "\"\(key)\" \(p.text)")
            }
        }
        try validate(source: source)
    }

    /// Applies `key=value` items. Text fields take the value verbatim (so `template=1` is the string
    /// "1"); the others parse it as a JSON scalar.
    public mutating func apply(overrides: [String], source: String = "--set") throws {
        var object: [String: Any] = [:]
        for item in overrides {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                throw ConfigError(source: source, message: "expected key=value, got \"\(item)\"")
            }
            let key = String(item[..<eq]), raw = String(item[item.index(after: eq)...])
            object[key] = Self.field(key)?.takesText == true ? raw : JSONValue.scalar(raw)
        }
        try apply(json: object, source: source)
    }

    /// Typed command-line flags: each (key, value) pair whose value was given, under `source`.
    public mutating func apply(flags: [(String, Any?)], source: String = "command-line flag") throws {
        var object: [String: Any] = [:]
        for case let (key, value?) in flags { object[key] = value }
        try apply(json: object, source: source)
    }

    /// The defaults with a config file on top.
    public static func load(path: String) throws -> Self {
        var st = stat()
        if stat(path, &st) == 0 && st.st_mode & S_IFMT != S_IFREG {
            throw ConfigError(source: path, message: "is not a regular file (a FIFO, device or directory); " +
                    "expected a JSON config file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(source: path, message: "cannot read config file (missing or unreadable)")
        }
        let parsed: Any
        do { parsed = try JSONSerialization.jsonObject(with: data) } catch {
            let ns = error as NSError
            let why = (ns.userInfo[NSDebugDescriptionErrorKey] as? String) ?? ns.localizedDescription
            throw ConfigError(source: path, message: "not valid JSON (\(why))")
        }
        guard let object = parsed as? [String: Any] else {
            throw ConfigError(source: path, message: "expected a JSON object at the top level")
        }
        // JSONSerialization keeps the last of two equal keys without a word; a config that sets a key
        // twice is a mistake whichever one was meant.
        if let key = JSONValue.duplicateTopLevelKey(in: data) {
            throw ConfigError(source: path, message: "config key \"\(key)\" appears more than once")
        }
        var config = Self()
        try config.apply(json: object, source: path)
        return config
    }

    /// Every field as a JSON object under its key.
    public var jsonObject: [String: Any] {
        var o: [String: Any] = [:]
        for field in Self.fields { o[field.key] = field.value(self) }
        return o
    }

    public var jsonData: Data {
        (try? JSONSerialization.data(withJSONObject: jsonObject, options: [.prettyPrinted, .sortedKeys])) ?? Data()
    }

    static func suggestion(for key: String) -> String {
        let best = keys.min { editDistance($0, key) < editDistance($1, key) }
        if let best, editDistance(best, key) <= 3 { return " (did you mean \"\(best)\"?)" }
        return ""
    }
}

/// Levenshtein distance, for did-you-mean suggestions.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
    var row = Array(0...b.count)
    for i in 1...a.count {
        var previous = row[0]
        row[0] = i
        for j in 1...b.count {
            let current = row[j]
            row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
            previous = current
        }
    }
    return row[b.count]
}

/// An error that names where the problem is (a file, file:line, a flag or a key) and what is wrong,
/// printed on one line as "SOURCE: message".
public protocol SourcedError: Error, CustomStringConvertible, LocalizedError {
    var source: String { get }
    var message: String { get }
}

extension SourcedError {
    public var description: String { "\(source): \(message)" }
    public var errorDescription: String? { description }
}

/// A configuration problem — a config file, a flag or a `--set` item.
public struct ConfigError: SourcedError, Equatable {
    public let source: String
    public let message: String
    public init(source: String, message: String) { self.source = source; self.message = message }
}
