// Inputs of `tinygpt eval` beyond the labelled rows (read by Data's readLabelledRows): prompt
// templates with {text} / {text_b} placeholders and verbalisers (the words each label is scored by).
// Every problem is one EvaluationError line naming the file and line, or the flag.
import Foundation
import Config
import Data

/// A bad evaluation input: `source` is a file (with ":line" where one applies) or a flag.
public struct EvaluationError: SourcedError, Equatable {
    public let source: String
    public let message: String
    public init(_ source: String, _ message: String) { self.source = source; self.message = message }
}

/// Flag text with C-style escapes: \n (newline), \t (tab), \\ (backslash); any other escaped
/// character stands for itself. Shells pass "\n" inside quotes as two characters, hence this.
public func unescapeFlagText(_ s: String) -> String {
    var out = ""
    var escaped = false
    for c in s {
        if escaped {
            switch c {
            case "n": out.append("\n")
            case "t": out.append("\t")
            default: out.append(c)
            }
            escaped = false
        } else if c == "\\" {
            escaped = true
        } else {
            out.append(c)
        }
    }
    if escaped { out.append("\\") }
    return out
}

/// A prompt template: "{text}" (required) and "{text_b}" (optional, for pair tasks) are replaced by a
/// row's fields; everything else is literal.
public struct PromptTemplate: Equatable, Sendable {
    public static let textPlaceholder = "{text}"
    public static let textBPlaceholder = "{text_b}"
    /// GPT-2/GPT-3-style sentiment prompt, used when none is given (SST-2's dev file fits it).
    public static let sentimentDefault = "Review: {text}\nSentiment:"

    public let template: String
    public var usesTextB: Bool { template.contains(Self.textBPlaceholder) }

    /// `source` names where the template came from in errors (a flag).
    public init(_ template: String, source: String = "--template") throws {
        guard template.contains(Self.textPlaceholder) else {
            throw EvaluationError(source, "template \(Self.quoted(template)) has no {text} placeholder")
        }
        self.template = template
    }

    /// The template with the row's text (and text_b) substituted.
    public func render(text: String, textB: String? = nil) -> String {
        var s = template
        if usesTextB { s = s.replacingOccurrences(of: Self.textBPlaceholder, with: textB ?? "") }
        return s.replacingOccurrences(of: Self.textPlaceholder, with: text)
    }

    public func render(_ row: LabelledRow) -> String { render(text: row.text, textB: row.textB) }

    /// The literal parts only (to check that the tokenizer can encode them).
    var literalText: String {
        template.replacingOccurrences(of: Self.textBPlaceholder, with: "")
            .replacingOccurrences(of: Self.textPlaceholder, with: "")
    }

    static func quoted(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\t", with: "\\t") + "\""
    }
}

/// A label and the words that stand for it after the prompt (its verbaliser): label "1", words
/// " positive". The words are appended to the prompt verbatim, so a leading space matters (GPT-2's
/// tokenizer folds the space into the word's token).
public struct Verbalizer: Equatable, Sendable {
    public let label: String
    public let words: String

    public init(label: String, words: String) { self.label = label; self.words = words }

    /// SST-2: 0 = negative, 1 = positive.
    public static let sentimentDefault = "0= negative,1= positive"

    /// Parses `LABEL=WORDS,LABEL=WORDS,...`: the label is everything before the first '=' (spaces
    /// trimmed), the words everything after it, verbatim (leading spaces kept). Escapes as in
    /// `unescapeFlagText`, plus "\," for a comma and "\=" for an equals sign inside a label.
    public static func parse(_ spec: String, source: String = "--labels") throws -> [Verbalizer] {
        var items: [(label: String, words: String, sawEquals: Bool)] = []
        var label = "", words = "", sawEquals = false, escaped = false
        func finish() { items.append((label, words, sawEquals)); label = ""; words = ""; sawEquals = false }
        for c in spec {
            var literal: Character? = nil
            if escaped {
                literal = c == "n" ? "\n" : c == "t" ? "\t" : c
                escaped = false
            } else if c == "\\" {
                escaped = true; continue
            } else if c == "," {
                finish(); continue
            } else if c == "=" && !sawEquals {
                sawEquals = true; continue
            } else {
                literal = c
            }
            if let ch = literal { if sawEquals { words.append(ch) } else { label.append(ch) } }
        }
        if escaped { if sawEquals { words.append("\\") } else { label.append("\\") } }
        finish()

        let example = "expected LABEL=WORDS pairs separated by commas, e.g. \"\(sentimentDefault)\""
        var out: [Verbalizer] = []
        for (i, item) in items.enumerated() {
            let name = item.label.trimmingCharacters(in: .whitespaces)
            guard item.sawEquals, !name.isEmpty else {
                throw EvaluationError(source, "entry \(i + 1) \(PromptTemplate.quoted(item.label + item.words)) has " +
                        "no label before '=' (\(example))")
            }
            guard !item.words.isEmpty else {
                throw EvaluationError(source, "label \"\(name)\" has no words after '=' (\(example))")
            }
            if out.contains(where: { $0.label == name }) {
                throw EvaluationError(source, "label \"\(name)\" is listed twice")
            }
            out.append(Verbalizer(label: name, words: item.words))
        }
        guard out.count >= 2 else {
            throw EvaluationError(source, "needs at least two labels to choose between (\(example))")
        }
        return out
    }
}

extension Tokenizer {
    /// `text` encoded, or an EvaluationError naming `file:line` (and the 1-based line within the text
    /// when it spans several) if the tokenizer cannot represent it.
    func encodeForEvaluation(_ text: String, place: String) throws -> [Int32] {
        do { return try encodeChecked(text) } catch let DataError.unknownCharacter(character, offset) {
            let shown = DataError.unknownCharacter(character: character, offset: offset).description
            throw EvaluationError(place, "the checkpoint's \(type) tokenizer cannot encode this text: \(shown)")
        } catch {
            throw EvaluationError(place, "the checkpoint's \(type) tokenizer cannot encode this text: \(error)")
        }
    }
}
