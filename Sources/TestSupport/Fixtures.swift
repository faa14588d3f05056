// Loading of the PyTorch reference fixtures in Tests/Fixtures (JSON written by scripts/make_fixtures.py).
import Foundation

public enum Fixtures {
    /// The repository's Tests/Fixtures directory, found from this source file's location.
    public static var directory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Tests/Fixtures")
    }

    /// The shared data directory (../shared/data from the repository root), if present.
    public static var sharedData: URL? {
        let url = directory.deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/data")
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }

    /// Parses Tests/Fixtures/`name` as a JSON object.
    public static func load(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: directory.appendingPathComponent(name))
        guard let obj = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw FixtureError.malformed(name)
        }
        return obj
    }

    public static func floats(_ value: Any?) -> [Float] {
        if let a = value as? [Double] { return a.map(Float.init) }
        if let a = value as? [NSNumber] { return a.map { $0.floatValue } }
        if let a = value as? [Any] { return a.flatMap { floats($0) } }  // nested lists flatten row-major
        if let d = value as? Double { return [Float(d)] }
        return []
    }

    public static func ints(_ value: Any?) -> [Int] {
        if let a = value as? [Int] { return a }
        if let a = value as? [Any] { return a.flatMap { ints($0) } }
        if let i = value as? Int { return [i] }
        return []
    }
}

public enum FixtureError: Error { case malformed(String) }
