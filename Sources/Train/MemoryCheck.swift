// The memory check before a training run allocates its model and batches: the peak `tinygpt plan`
// reports (GPT.trainingMemory: parameters, gradients, AdamW moments, one micro-batch's activations and
// the logits' gradient) against this machine's physical memory. A run that cannot fit is refused with
// both figures before anything is allocated or written, instead of dying in an allocation abort;
// allow_oversubscribe (--allow-oversubscribe) lets a user who knows better (swap, a sparse first
// touch) go ahead.
import Foundation
import Config
import NN

public enum MemoryCheck {
    /// This machine's physical memory in bytes.
    public static var physicalMemory: Int { Int(clamping: ProcessInfo.processInfo.physicalMemory) }

    /// Throws a one-line error under `source` when a model of `model` trained on micro-batches of
    /// `batch` × `time` tokens cannot be counted, or needs more than `physicalMemory` bytes and
    /// `allowOversubscribe` is false. Returns the estimate.
    @discardableResult
    public static func verify(_ model: GPTConfig, batch: Int, time: Int, allowOversubscribe: Bool,
                              source: String, physicalMemory: Int = physicalMemory) throws -> TrainingMemory {
        if let problem = GPT.sizeProblem(model, batch: batch, time: time) {
            throw ConfigError(source: source, message: problem)
        }
        let need = GPT.trainingMemory(model, batch: batch, time: time)
        if need.total > physicalMemory && !allowOversubscribe {
            throw TrainingError(source: source, message: "training needs about \(bytes(need.total)) (weights, " +
                    "gradients and AdamW moments \(bytes(need.parameters * 4)), activations of one micro-batch of " +
                    "\(batch) × \(time) \(bytes(need.activations + need.logitsGradient))) but this machine has " +
                    "\(bytes(physicalMemory)); lower batch_size, block_size or the model's size, or set " +
                    "allow_oversubscribe (--allow-oversubscribe) to try anyway")
        }
        return need
    }

    /// 1.5 GiB, 12.0 TiB.
    static func bytes(_ n: Int) -> String {
        var x = Double(n), unit = 0
        let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        while x >= 1024 && unit < units.count - 1 { x /= 1024; unit += 1 }
        return unit == 0 ? "\(n) bytes" : String(format: "%.1f %@", x, units[unit])
    }
}
