// The figures of `tinygpt plan` as an aligned table (human-readable units) or a JSON object (raw
// numbers: counts, FLOPs, bytes, milliseconds and seconds).
import Foundation
import Kernels
import Planning
import Train

struct PlanReport {
    let configPath: String
    let plan: TrainingPlan
    let estimate: StepTimeEstimate
    let measured: ThroughputMeasurement
    let physicalMemory: Int
    var parallel: DataParallelEstimate? = nil

    /// Above this share of physical memory the run risks swapping or being killed.
    static let memoryWarningFraction = 0.8

    var memoryFraction: Double { Double(plan.memory.total) / Double(max(physicalMemory, 1)) }

    var memoryWarning: String? {
        guard memoryFraction > Self.memoryWarningFraction else { return nil }
        return "\(configPath): estimated peak memory \(Units.bytes(plan.memory.total)) is " +
                "\(Int((100 * memoryFraction).rounded()))% of this machine's \(Units.bytes(physicalMemory)) (over " +
                "80%); lower batch_size or block_size, or raise gradient_accumulation_steps"
    }

    var table: [String] {
        let c = plan.config, m = plan.model, mem = plan.memory, e = estimate
        let vocab = plan.vocabularyFromDataset ? "vocab \(m.vocabSize) (from \(c.dataset))" : "vocab \(m.vocabSize)"
        var rows: [(String, String, String, String)] = []
        func row(_ group: String, _ label: String, _ value: String, _ note: String = "") {
            rows.append((group, label, value, note))
        }
        row("parameters", "embedding", Units.count(plan.parameters.embedding), "token \(m.vocabSize)×\(m.nEmbd) + " +
                "position \(m.blockSize)×\(m.nEmbd)")
        row("", "blocks", Units.count(plan.parameters.blocks), "\(m.nLayer) × " +
                "\(Units.count(plan.parameters.blocks / m.nLayer))")
        row("", "head", Units.count(plan.parameters.head), "ln_f; the output layer is the token embedding")
        row("", "total", Units.count(plan.parameters.total))
        row("FLOPs", "per token", Units.count(plan.flopsPerToken), "6·N + 12·L·C·T")
        row("", "per step", Units.count(plan.flopsPerStep), "\(c.batchSize) × \(c.blockSize) × " +
                "\(c.gradientAccumulationSteps) tokens")
        row("memory (fp32)", "parameters", Units.bytes(mem.parameters))
        row("", "gradients", Units.bytes(mem.gradients))
        row("", "AdamW moments", Units.bytes(mem.adamMoments))
        row("", "activations", Units.bytes(mem.activations), "saved by one micro-batch of \(c.batchSize) × " +
                "\(c.blockSize)")
        for (method, bytes) in plan.attentionBytes {
            row("", "attention, \(method.rawValue)", Units.bytes(bytes),
                (method == plan.attention ? "chosen; " : "") + (method == .tiled ? "log-sum-exp per row" :
                    "probabilities \(c.blockSize)×\(c.blockSize) per head") + ", all layers"
                    + (method == plan.attention ? " (in activations)" : ""))
        }
        row("", "logits gradient", Units.bytes(mem.logitsGradient), "at the start of backward")
        row("", "total", Units.bytes(mem.total), "\(Units.percent(memoryFraction)) of " +
                "\(Units.bytes(physicalMemory)) physical")
        row("time (\(measured.threads) " +
                "thread\(measured.threads == 1 ? "" : "s"))", "GEMM", Units.fixed(measured.gemmGFLOPS) + " GFLOP/s",
            "the model's products, measured now")
        row("", "memcpy", Units.fixed(measured.memcpyBytesPerSecond / 1e9) + " GB/s", "read + write")
        row("", "per step", Units.milliseconds(e.stepMs),
            "GEMM \(Units.milliseconds(e.gemmMs)), attention \(Units.milliseconds(e.attentionMs)), element-wise " +
                    "\(Units.milliseconds(e.elementwiseMs))")
        row("", "tokens/s", Units.count(e.tokensPerSecond))
        row("", "\(c.maxIters) steps", Units.duration(e.trainSeconds))
        row("", "evaluations", Units.duration(e.evalSeconds),
            "\(e.evaluations) × 2 splits × \(c.evalIters) batches of \(Units.milliseconds(e.evalBatchMs))")
        row("", "total", Units.duration(e.totalSeconds))
        if let p = parallel {
            row("data-parallel (model)", "ranks", "\(p.ranks)",
                "machines like this one, \(Units.fixed(p.gigabitsPerSecond)) Gb/s")
            row("", "compute", Units.milliseconds(p.computeMs), "1/\(p.ranks) of the micro-batches per rank")
            row("", "allreduce", Units.milliseconds(p.allreduceMs), "ring: 2(N-1)/N × " +
                    "\(Units.bytes(plan.memory.gradients)) + 2(N-1) × \(Int(p.latencyMicroseconds)) µs")
            row("", "per step", Units.milliseconds(p.stepMs), "scaling efficiency \(Units.percent(p.efficiency))")
            row("", "\(c.maxIters) steps", Units.duration(Double(c.maxIters) * p.stepMs / 1000))
        }

        let w0 = rows.map(\.0.count).max() ?? 0, w1 = rows.map(\.1.count).max() ?? 0
        let w2 = rows.map(\.2.count).max() ?? 0
        let header = "\(configPath): \(m.nLayer) layers, \(m.nHead) heads, \(m.nEmbd) wide, context \(m.blockSize), " +
                "\(vocab)"
        return [header] + rows.map { r in
            let line = Units.pad(r.0, w0) + "  " + Units.pad(r.1, w1) + "  " + Units.lpad(r.2, w2)
            return r.3.isEmpty ? line : line + "   " + r.3
        }
    }

    var jsonObject: [String: Any] {
        var o = baseJSON
        if let p = parallel {
            o["data_parallel"] = ["ranks": p.ranks, "network_gbps": p.gigabitsPerSecond,
                                  "latency_us": p.latencyMicroseconds, "compute_ms_per_step": p.computeMs,
                                  "allreduce_ms_per_step": p.allreduceMs, "ms_per_step": p.stepMs,
                                  "scaling_efficiency": p.efficiency]
        }
        return o
    }

    var baseJSON: [String: Any] {
        let c = plan.config, m = plan.model, mem = plan.memory, e = estimate
        return [
            "config": configPath,
            "model": ["vocab_size": m.vocabSize, "vocab_size_from_dataset": plan.vocabularyFromDataset,
                      "block_size": m.blockSize, "n_layer": m.nLayer, "n_head": m.nHead, "n_embd": m.nEmbd,
                      "bias": m.bias, "dropout": Double(m.dropout)],
            "batch_size": c.batchSize,
            "gradient_accumulation_steps": c.gradientAccumulationSteps,
            "tokens_per_step": c.tokensPerStep,
            "parameters": ["embedding": plan.parameters.embedding, "blocks": plan.parameters.blocks,
                           "head": plan.parameters.head, "total": plan.parameters.total],
            "flops_per_token": plan.flopsPerToken,
            "flops_per_step": plan.flopsPerStep,
            "memory_bytes": ["parameters": mem.parameters, "gradients": mem.gradients,
                             "adam_moments": mem.adamMoments, "activations": mem.activations,
                             "logits_gradient": mem.logitsGradient, "total": mem.total],
            "attention": ["method": plan.attention.rawValue,
                          "saved_bytes": Dictionary(uniqueKeysWithValues: plan.attentionBytes.map {
                              ($0.method.rawValue, $0.bytes) })] as [String: Any],
            "physical_memory_bytes": physicalMemory,
            "memory_fraction": memoryFraction,
            "time": ["threads": measured.threads, "gemm_gflops": measured.gemmGFLOPS,
                     "attention_forward_ms": 1000 * measured.attentionForwardSeconds,
                     "attention_backward_ms": 1000 * measured.attentionBackwardSeconds,
                     "memcpy_bytes_per_second": measured.memcpyBytesPerSecond,
                     "probe_seconds": measured.seconds,
                     "ms_per_step": e.stepMs, "gemm_ms_per_step": e.gemmMs,
                     "attention_ms_per_step": e.attentionMs, "elementwise_ms_per_step": e.elementwiseMs,
                     "tokens_per_second": e.tokensPerSecond, "max_iters": c.maxIters,
                     "evaluations": e.evaluations, "eval_iters": c.evalIters, "eval_batch_ms": e.evalBatchMs,
                     "train_seconds": e.trainSeconds, "eval_seconds": e.evalSeconds,
                     "total_seconds": e.totalSeconds] as [String: Any],
        ]
    }
}

/// Human-readable numbers for the plan table.
enum Units {
    /// 802.9K, 124.44M, 3.73G (powers of 1000).
    static func count(_ x: Double) -> String {
        let a = abs(x)
        if a < 1e3 { return String(format: "%.0f", x) }
        for (scale, suffix) in [(1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")] where a >= scale {
            return String(format: a / scale >= 100 ? "%.1f%@" : "%.2f%@", x / scale, suffix)
        }
        return String(format: "%.0f", x)
    }
    static func count(_ x: Int) -> String { count(Double(x)) }

    /// 512 KiB, 3.1 MiB, 9.27 GiB (powers of 1024).
    static func bytes(_ n: Int) -> String {
        let x = Double(n), kib = 1024.0, mib = kib * 1024, gib = mib * 1024
        if x >= gib { return String(format: "%.2f GiB", x / gib) }
        if x >= mib { return String(format: "%.1f MiB", x / mib) }
        if x >= kib { return String(format: "%.0f KiB", x / kib) }
        return "\(n) B"
    }

    /// 4.5 ms, 512 ms, 2.73 s, then as `duration`.
    static func milliseconds(_ ms: Double) -> String {
        if ms < 100 { return String(format: "%.1f ms", ms) }
        if ms < 1000 { return String(format: "%.0f ms", ms) }
        if ms < 60_000 { return String(format: "%.2f s", ms / 1000) }
        return duration(ms / 1000)
    }

    /// 42.1 s, 3m 20s, 2h 05m, 4d 03h, 68.1 years.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        if seconds < 60 { return String(format: "%.1f s", seconds) }
        if seconds >= 365.25 * 86_400 { return String(format: "%.1f years", seconds / (365.25 * 86_400)) }
        let s = Int(seconds.rounded())
        if s < 3600 { return String(format: "%dm %02ds", s / 60, s % 60) }
        if s < 86_400 { return String(format: "%dh %02dm", s / 3600, (s % 3600) / 60) }
        return String(format: "%dd %02dh", s / 86_400, (s % 86_400) / 3600)
    }

    static func fixed(_ x: Double) -> String { String(format: "%.1f", x) }
    static func percent(_ x: Double) -> String { String(format: x < 0.01 ? "%.2f%%" : "%.0f%%", 100 * x) }

    static func pad(_ s: String, _ w: Int) -> String {
        s.count >= w ? s : s + String(repeating: " ", count: w - s.count)
    }
    static func lpad(_ s: String, _ w: Int) -> String {
        s.count >= w ? s : String(repeating: " ", count: w - s.count) + s
    }
}
