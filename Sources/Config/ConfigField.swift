// One typed configuration field: its JSON key, how to read it from a JSON value (with its range
// checked), and its current value for saving. Every config (pretraining, fine-tuning, a model's shape
// in state.json) is a list of these, so reading, overriding, checking and printing exist once.
import Foundation

public struct ConfigField<Root> {
    public let key: String
    /// "integer", "number", "boolean", "string" or the choices of an enum: for help texts.
    public let kind: String
    let read: (inout Root, Any) throws -> Void
    let value: (Root) -> Any
    /// Whether `--set key=value` takes the text verbatim instead of parsing it as JSON.
    let takesText: Bool

    public init(_ key: String, kind: String, takesText: Bool = false,
                read: @escaping (inout Root, Any) throws -> Void, value: @escaping (Root) -> Any) {
        self.key = key; self.kind = kind; self.takesText = takesText; self.read = read; self.value = value
    }

    /// This field of a part (e.g. a GPTConfig) seen through the key path where a bigger config keeps it.
    public func lifted<Outer>(_ path: WritableKeyPath<Outer, Root>) -> ConfigField<Outer> {
        let read = self.read, value = self.value
        return ConfigField<Outer>(key, kind: kind, takesText: takesText,
                                  read: { outer, v in try read(&outer[keyPath: path], v) },
                                  value: { value($0[keyPath: path]) })
    }
}

/// Why one value was refused; the engine adds the key and the source.
public enum FieldProblem: Error {
    case type(expected: String, got: Any)
    case range(String)

    var text: String {
        switch self {
        case let .type(expected, got): return "expects \(expected), got \(JSONValue.describe(got))"
        case let .range(s): return s
        }
    }
}

extension ConfigField {
    public static func int(_ key: String, _ path: WritableKeyPath<Root, Int>, min: Int = 0) -> ConfigField {
        ConfigField(key, kind: "integer", read: { c, v in
            guard let i = JSONValue.integer(v) else { throw FieldProblem.type(expected: "an integer", got: v) }
            guard i >= min else { throw FieldProblem.range("must be ≥ \(min), got \(i)") }
            c[keyPath: path] = i
        }, value: { $0[keyPath: path] })
    }

    /// An integer that may be null (`nil` means "derive it": from the tokenizer, from max_iters, …).
    public static func optionalInt(_ key: String, _ path: WritableKeyPath<Root, Int?>, min: Int = 0) -> ConfigField {
        ConfigField(key, kind: "integer", read: { c, v in
            if v is NSNull { c[keyPath: path] = nil; return }
            guard let i = JSONValue.integer(v), i >= min else {
                throw FieldProblem.type(expected: "an integer ≥ \(min) or null", got: v)
            }
            c[keyPath: path] = i
        }, value: { $0[keyPath: path] as Any? ?? NSNull() })
    }

    public static func double(_ key: String, _ path: WritableKeyPath<Root, Double>, min: Double = 0,
                              below: Double? = nil) -> ConfigField {
        ConfigField(key, kind: "number", read: { c, v in
            c[keyPath: path] = try JSONValue.number(v, min: min, below: below)
        }, value: { $0[keyPath: path] })
    }

    /// A number that may be null (`nil`: keep what the starting checkpoint has).
    public static func optionalDouble(_ key: String, _ path: WritableKeyPath<Root, Double?>, min: Double = 0,
                                      below: Double? = nil) -> ConfigField {
        ConfigField(key, kind: "number", read: { c, v in
            if v is NSNull { c[keyPath: path] = nil; return }
            c[keyPath: path] = try JSONValue.number(v, min: min, below: below)
        }, value: { $0[keyPath: path] as Any? ?? NSNull() })
    }

    public static func bool(_ key: String, _ path: WritableKeyPath<Root, Bool>) -> ConfigField {
        ConfigField(key, kind: "boolean", read: { c, v in
            guard let n = v as? NSNumber, JSONValue.isBool(n) else {
                throw FieldProblem.type(expected: "true or false", got: v)
            }
            c[keyPath: path] = n.boolValue
        }, value: { $0[keyPath: path] })
    }

    /// A string; `allowEmpty` false refuses "".
    public static func string(_ key: String, _ path: WritableKeyPath<Root, String>,
                              allowEmpty: Bool = false) -> ConfigField {
        ConfigField(key, kind: "string", takesText: true, read: { c, v in
            guard let s = v as? String, allowEmpty || !s.isEmpty else {
                throw FieldProblem.type(expected: allowEmpty ? "a string" : "a non-empty string", got: v)
            }
            c[keyPath: path] = s
        }, value: { $0[keyPath: path] })
    }

    public static func optionalString(_ key: String, _ path: WritableKeyPath<Root, String?>) -> ConfigField {
        ConfigField(key, kind: "string", takesText: true, read: { c, v in
            if v is NSNull { c[keyPath: path] = nil; return }
            guard let s = v as? String else { throw FieldProblem.type(expected: "a string or null", got: v) }
            c[keyPath: path] = s
        }, value: { $0[keyPath: path] as Any? ?? NSNull() })
    }

    /// One of an enum's cases, by raw value.
    public static func choice<E: RawRepresentable & CaseIterable>(_ key: String, _ path: WritableKeyPath<Root, E>)
        -> ConfigField where E.RawValue == String {
        let names = E.allCases.map { "\"\($0.rawValue)\"" }
        let expected = names.count == 2 ? names.joined(separator: " or ") : "one of " + names.joined(separator: ", ")
        return ConfigField(key, kind: names.joined(separator: "|"), read: { c, v in
            guard let s = v as? String, let e = E(rawValue: s) else {
                throw FieldProblem.type(expected: expected, got: v)
            }
            c[keyPath: path] = e
        }, value: { $0[keyPath: path].rawValue })
    }

    /// Like `choice`, where null means "the task's default".
    public static func optionalChoice<E: RawRepresentable & CaseIterable>(
        _ key: String, _ path: WritableKeyPath<Root, E?>) -> ConfigField where E.RawValue == String {
        let names = E.allCases.map { "\"\($0.rawValue)\"" }
        return ConfigField(key, kind: names.joined(separator: "|"), read: { c, v in
            if v is NSNull { c[keyPath: path] = nil; return }
            guard let s = v as? String, let e = E(rawValue: s) else {
                throw FieldProblem.type(expected: names.joined(separator: " or ") + " or null", got: v)
            }
            c[keyPath: path] = e
        }, value: { $0[keyPath: path].map { $0.rawValue as Any } ?? NSNull() })
    }
}

/// Reading JSON values as Foundation parses them.
public enum JSONValue {
    /// JSON true/false arrive as NSNumber with Objective-C type "c" (char) on every platform.
    public static func isBool(_ n: NSNumber) -> Bool { String(cString: n.objCType) == "c" }

    /// An integer-valued number (2.0 counts; 2.5, true and "2" do not).
    public static func integer(_ v: Any) -> Int? {
        guard let n = v as? NSNumber, !isBool(n) else { return nil }
        return Int(exactly: n.doubleValue)
    }

    static func number(_ v: Any, min: Double, below: Double?) throws -> Double {
        guard let n = v as? NSNumber, !isBool(n) else { throw FieldProblem.type(expected: "a number", got: v) }
        let d = n.doubleValue
        guard d.isFinite, d >= min else { throw FieldProblem.range("must be ≥ \(min), got \(d)") }
        if let below, d >= below { throw FieldProblem.range("must be < \(below), got \(d)") }
        return d
    }

    /// A `--set` value: a JSON scalar when it parses as one, else the text itself.
    public static func scalar(_ raw: String) -> Any {
        if let data = raw.data(using: .utf8),
           let v = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]),
           !(v is [Any]), !(v is [String: Any]) { return v }
        return raw
    }

    /// The first key that appears twice in the top-level object of `data`, which must be valid JSON
    /// (keys compare after their escapes are decoded: "a" and "\u0061" are the same key).
    public static func duplicateTopLevelKey(in data: Foundation.Data) -> String? {
        let bytes = [UInt8](data)
        var depth = 0, i = 0, seen = Set<String>()
        var lastString: Range<Int>? = nil
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "\""):
                let start = i
                i += 1
                while i < bytes.count && bytes[i] != UInt8(ascii: "\"") { i += bytes[i] == UInt8(ascii: "\\") ? 2 : 1 }
                lastString = start..<min(i + 1, bytes.count)
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1; lastString = nil
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1; lastString = nil
            case UInt8(ascii: ":"):
                if depth == 1, let r = lastString,
                   let key = try? JSONSerialization.jsonObject(with: Foundation.Data(bytes[r]),
                                                               options: [.fragmentsAllowed]) as? String {
                    if !seen.insert(key).inserted { return key }
                }
                lastString = nil
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"): break
            default: lastString = nil
            }
            i += 1
        }
        return nil
    }

    static func describe(_ v: Any) -> String {
        if let s = v as? String { return "\"\(s)\"" }
        if let n = v as? NSNumber { return isBool(n) ? (n.boolValue ? "true" : "false") : "\(n)" }
        if v is NSNull { return "null" }
        return "\(Swift.type(of: v))"
    }
}
