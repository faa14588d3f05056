// How the reference answer is read out of a completion for exact match (instruction tuning, GSM8K).
import Foundation

/// How the answer is read out of a completion for exact match.
public enum AnswerPattern: String, CaseIterable, Sendable {
    /// The whole completion, whitespace-trimmed.
    case none
    /// The number after "####" (GSM8K's answer line), commas removed.
    case gsm8k

    /// The answer in `text`, or nil when the pattern finds none.
    public func extract(_ text: String) -> String? {
        switch self {
        case .none:
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        case .gsm8k:
            guard let r = text.range(of: "####") else { return nil }
            var s = Substring(text[r.upperBound...]).drop { $0 == " " || $0 == "\t" }
            var number = ""
            if s.first == "-" { number.append("-"); s = s.dropFirst() }
            for ch in s {
                if ch.isASCII && ch.isNumber { number.append(ch) } else if ch == "," { continue }
                else if ch == "." { number.append(ch) } else { break }
            }
            while number.hasSuffix(".") { number.removeLast() }
            // "18.00" and "18" are the same answer.
            if number.contains(".") {
                while number.hasSuffix("0") { number.removeLast() }
                if number.hasSuffix(".") { number.removeLast() }
            }
            return number.isEmpty || number == "-" ? nil : number
        }
    }
}
