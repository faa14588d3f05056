#!/usr/bin/env python3
"""PyTorch's scaled_dot_product_attention on CPU at the shapes of `Benchmarks long-context`.

One layer of the CPU recipe's model (4 heads of 32 channels, n_embd 128) at T = 64 ... 8192 with the
batch scaled to keep the tokens per call equal: causal attention forward + backward (is_causal=True),
timed as the median of a few calls after one warm-up, with torch.set_num_threads(N). Compare its
tokens/s with the "attn tok/s" column of `Benchmarks long-context`. Each length runs in its own
process, so its peak RSS is its own.

Usage: python3 scripts/bench_sdpa.py [--threads 2] [--tokens 8192] [--lengths 64,256,1024,4096,8192]
"""
import argparse
import resource
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tokens", type=int, default=8192)
    ap.add_argument("--lengths", default="64,256,1024,4096,8192")
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--head-size", type=int, default=32)
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child: time this T only
    args = ap.parse_args()
    if args.one is None:
        print(f"== PyTorch {torch.__version__} scaled_dot_product_attention, CPU, {args.threads} threads, "
              f"{args.tokens} tokens per call ==")
        print(f"{'T':<6}{'batch':>6}{'fwd+bwd ms':>12}{'tokens/s':>12}{'peak RSS MiB':>14}", flush=True)
        for T in [int(x) for x in args.lengths.split(",")]:
            subprocess.run([sys.executable, __file__, "--one", str(T), "--threads", str(args.threads),
                            "--tokens", str(args.tokens), "--heads", str(args.heads),
                            "--head-size", str(args.head_size)], check=True)
        return
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    for T in [args.one]:
        B = max(1, args.tokens // T)
        shape = (B, args.heads, T, args.head_size)
        q, k, v = (torch.randn(shape, requires_grad=True) for _ in range(3))
        w = torch.randn(shape)

        def call():
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            (y * w).sum().backward()
            q.grad = k.grad = v.grad = None

        call()
        times = []
        for _ in range(3 if T >= 4096 else 7):
            t0 = time.perf_counter()
            call()
            times.append(time.perf_counter() - t0)
        t = statistics.median(times)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{T:<6}{B:>6}{1000 * t:>12.2f}{B * T / t:>12.0f}{rss:>14.0f}", flush=True)


if __name__ == "__main__":
    main()
