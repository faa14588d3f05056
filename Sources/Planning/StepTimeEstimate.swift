// How long a training run should take, from a TrainingPlan and a ThroughputMeasurement:
//   step  = micro × (3·GEMM + attention forward and backward + element-wise) + optimiser
//   GEMM       the forward products of every linear layer and the head, timed with sgemm at their own
//              shapes; backward makes two products of the same size per forward one (dX and dW), so ×3
//   attention  the fused attention kernels (products and softmax), timed on a few heads and scaled
//   element-wise  bytes the other kernels read and write (forward, below; backward counted as twice
//              forward) and the optimiser's bytes, at memcpy bandwidth, times `elementwiseFactor`
//   run   = max_iters · step + evaluations · 2 splits · eval_iters · forward-only batch
import Foundation
import NN

public struct StepTimeEstimate: Sendable {
    /// Element-wise kernels reach a fraction of memcpy bandwidth (GELU and softmax are bound by exp
    /// and tanh), and each op also pays tape and dispatch costs; this factor converts bytes at memcpy
    /// speed into the time those kernels really take. Calibrated on 2026-11-29 on the 2-core Xeon of
    /// BENCHMARKS.md at 2 threads on a quiet machine (load average < 2): `Benchmarks train` measured
    /// the non-GEMM, non-attention work at 9.4 ms/step for the CPU recipe and 0.70 s/step for the baby
    /// GPT, against 11.2 ms and 0.69 s of bytes at the memcpy speed `tinygpt plan` measured just after:
    /// factors 0.84 and 1.0. (An earlier calibration under load average 4.5–6.5 gave about 3: on a
    /// busy machine the estimate comes out low.)
    public static let elementwiseFactor = 1.0

    /// Milliseconds per optimiser step, by part.
    public var gemmMs: Double
    public var attentionMs: Double
    public var elementwiseMs: Double
    public var stepMs: Double { gemmMs + attentionMs + elementwiseMs }
    public var tokensPerSecond: Double
    /// One forward-only evaluation batch.
    public var evalBatchMs: Double
    public var evaluations: Int
    /// Training steps plus evaluations, in seconds.
    public var trainSeconds: Double
    public var evalSeconds: Double
    public var totalSeconds: Double { trainSeconds + evalSeconds }

    public init(_ plan: TrainingPlan, _ measured: ThroughputMeasurement) {
        let cfg = plan.config, model = plan.model
        let micro = Double(cfg.gradientAccumulationSteps)
        let gemmForward = measured.gemmSeconds
        let layers = Double(model.nLayer)
        let attentionForward = layers * measured.attentionForwardSeconds
        let perByte = Self.elementwiseFactor / measured.memcpyBytesPerSecond
        let floatBytes = Double(MemoryLayout<Float>.size)
        let forwardBytes = Self.elementwiseForwardFloats(model, batch: cfg.batchSize, time: cfg.blockSize,
                                                         training: true) * floatBytes
        // zero_grad writes N; clipping reads N and rescales (2N); AdamW reads p, g, m, v, writes p, m, v.
        let optimizerBytes = 10 * Double(plan.parameters.total) * floatBytes

        gemmMs = 1000 * micro * 3 * gemmForward
        attentionMs = 1000 * micro * layers * (measured.attentionForwardSeconds + measured.attentionBackwardSeconds)
        elementwiseMs = 1000 * (micro * 3 * forwardBytes + optimizerBytes) * perByte
        tokensPerSecond = Double(cfg.tokensPerStep) / ((gemmMs + attentionMs + elementwiseMs) / 1000)
        let evalBytes = Self.elementwiseForwardFloats(model, batch: cfg.batchSize, time: cfg.blockSize,
                                                      training: false) * floatBytes
        evalBatchMs = 1000 * (gemmForward + attentionForward + evalBytes * perByte)
        evaluations = Self.evaluationCount(maxIters: cfg.maxIters, evalInterval: cfg.evalInterval)
        trainSeconds = Double(cfg.maxIters) * (gemmMs + attentionMs + elementwiseMs) / 1000
        evalSeconds = Double(evaluations) * 2 * Double(cfg.evalIters) * evalBatchMs / 1000
    }

    /// Evaluations a fresh run makes: one before the first step, then every eval_interval steps and
    /// at the last step (as Pretrainer.run does).
    public static func evaluationCount(maxIters: Int, evalInterval: Int) -> Int {
        guard maxIters > 0 else { return 0 }
        return 1 + maxIters / evalInterval + (maxIters % evalInterval == 0 ? 0 : 1)
    }

    /// Floats the non-GEMM kernels read plus write in one forward pass, per the op list of GPT.swift:
    /// embeddings (two lookups and their sum) 5C; per block: two LayerNorms 2C each, two residual sums
    /// 3C each, GELU 8C, bias fills 9C (with bias), dropouts 2C each (training, p > 0); ln_f 2C;
    /// cross-entropy 2V. (Attention, softmax included, is timed on its own.)
    static func elementwiseForwardFloats(_ model: GPTConfig, batch: Int, time: Int, training: Bool) -> Double {
        let c = model.nEmbd
        let drops = training && model.dropout > 0
        var block = 2 * c + 2 * c + 6 * c + 8 * c
        if model.bias { block += 9 * c }
        if drops { block += 4 * c }
        let perToken = 5 * c + (drops ? 2 * c : 0) + model.nLayer * block + 2 * c + 2 * model.vocabSize
        return Double(batch * time) * Double(perToken)
    }
}
