// JSON written by hand where Foundation's writer is too slow or orders keys its own way (safetensors
// headers, tokenizer files with 50k entries in id order): a string as a JSON literal.
import Foundation

/// A JSON string literal for `s` (RFC 8259 escaping; other characters stay UTF-8).
public func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
        }
    }
    return out + "\""
}
