// Classification scores from predicted and true label indices: accuracy, macro-averaged F1 (the
// unweighted mean of each label's F1, as scikit-learn's f1_score(average="macro")) and the confusion
// matrix. A label that is neither predicted nor present has precision and recall 0/0; it scores F1 0
// (scikit-learn's zero_division=0), so a classifier is never rewarded for labels absent from the data.
import Foundation

public struct ClassificationMetrics: Equatable {
    public let labels: [String]
    /// Fraction of rows whose prediction equals the target (0 for no rows).
    public let accuracy: Double
    /// Mean over labels of 2·precision·recall / (precision + recall).
    public let macroF1: Double
    /// confusion[true][predicted]: row counts.
    public let confusion: [[Int]]

    /// `predictions` and `targets` are indices into `labels`, one per row.
    public init(predictions: [Int], targets: [Int], labels: [String]) {
        precondition(predictions.count == targets.count,
                     "ClassificationMetrics: \(predictions.count) predictions for \(targets.count) targets")
        let k = labels.count
        precondition(k > 0, "ClassificationMetrics: no labels")
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: k), count: k)
        var correct = 0
        for (p, t) in zip(predictions, targets) {
            precondition(p >= 0 && p < k && t >= 0 && t < k,
                         "ClassificationMetrics: label index out of range 0..<\(k) (prediction \(p), target \(t))")
            confusion[t][p] += 1
            if p == t { correct += 1 }
        }
        var f1Sum = 0.0
        for c in 0..<k {
            let tp = Double(confusion[c][c])
            let predicted = Double((0..<k).reduce(0) { $0 + confusion[$1][c] })
            let actual = Double(confusion[c].reduce(0, +))
            let precision = predicted > 0 ? tp / predicted : 0
            let recall = actual > 0 ? tp / actual : 0
            f1Sum += precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
        }
        self.labels = labels
        self.confusion = confusion
        accuracy = targets.isEmpty ? 0 : Double(correct) / Double(targets.count)
        macroF1 = f1Sum / Double(k)
    }

    /// Number of rows scored.
    public var count: Int { confusion.reduce(0) { $0 + $1.reduce(0, +) } }

    /// The accuracy of always predicting the most frequent true label (the majority baseline).
    public var majorityAccuracy: Double {
        let n = count
        return n == 0 ? 0 : Double(confusion.map { $0.reduce(0, +) }.max() ?? 0) / Double(n)
    }

    /// {"labels", "accuracy", "macro_f1", "confusion" ([true][predicted]), "count"}.
    public var jsonObject: [String: Any] {
        ["labels": labels, "accuracy": accuracy, "macro_f1": macroF1, "confusion": confusion, "count": count]
    }

    /// The confusion matrix as aligned text lines (rows: true label, columns: predicted).
    public var confusionTable: [String] {
        let names = labels.map { $0.count > 12 ? String($0.prefix(11)) + "…" : $0 }
        let width = max(9, (names.map(\.count) + confusion.flatMap { $0.map { String($0).count } }).max() ?? 6)
        func pad(_ s: String) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }
        var lines = [pad("true\\pred") + " " + names.map(pad).joined(separator: " ")]
        for (i, row) in confusion.enumerated() {
            lines.append(pad(names[i]) + " " + row.map { pad(String($0)) }.joined(separator: " "))
        }
        return lines
    }
}
