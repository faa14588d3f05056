#!/usr/bin/env python3
"""TinyGPT against karpathy/nanoGPT's own train.py, unmodified, in alternating pairs of whole processes.

  python3 scripts/bench_nanogpt.py --nanogpt DIR [--cases cpu,baby,gpt2] [--pairs K] [--iters N]
                                   [--whole-run] [--threads T] [--tinygpt .build/release/tinygpt]

DIR is a checkout of https://github.com/karpathy/nanoGPT (git clone it anywhere; nothing of it is copied
here). Its data/shakespeare_char (and, for the gpt2 case, data/shakespeare) train.bin/val.bin are written
from this project's prepared tiny Shakespeare when missing, as nanoGPT's own prepare.py would (raw uint16
tokens; meta.pkl for the character vocabulary), so nothing is downloaded.

Cases, each the same model, batch and schedule on both sides:
  cpu   nanoGPT README's CPU recipe (4 layers, 4 heads, 128 wide, block 64, batch 12, no dropout)
        against configs/shakespeare-char-cpu.json
  baby  config/train_shakespeare_char.py (6/6/384, block 256, batch 64) against configs/shakespeare-char.json
  gpt2  GPT-2 124M shape (12/12/768, block 1024, batch 4, bias) on GPT-2 tokens of tiny Shakespeare

Each pair runs TinyGPT, then nanoGPT (the order flips every other pair, so drift does not favour one
side). From each run: the median of its per-step times (nanoGPT's "iter N: ... time X ms" lines; our
metrics.jsonl "ms"), the whole process's wall time, peak RSS (wait4), and the last val loss. Printed: every
pair, then the medians and ranges of our/their ratios. --iters N shortens the runs for step timing
(the learning-rate schedule keeps the recipe's length); --whole-run trains the recipe's full length and
compares wall time and final val loss too.
"""
import argparse
import json
import os
import pickle
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

NANOGPT_CPU = ["config/train_shakespeare_char.py", "--device=cpu", "--compile=False", "--eval_iters=20",
               "--log_interval=1", "--block_size=64", "--batch_size=12", "--n_layer=4", "--n_head=4",
               "--n_embd=128", "--max_iters=2000", "--lr_decay_iters=2000", "--dropout=0.0"]
NANOGPT_BABY = ["config/train_shakespeare_char.py", "--device=cpu", "--compile=False", "--log_interval=1"]
NANOGPT_GPT2 = ["--dataset=shakespeare", "--device=cpu", "--compile=False", "--n_layer=12",
                "--n_head=12", "--n_embd=768", "--block_size=1024", "--batch_size=4", "--bias=True",
                "--gradient_accumulation_steps=1", "--dropout=0.0", "--log_interval=1", "--eval_iters=1"]

# key: (title, our config, our dataset, their flags, nanoGPT dataset folder, full length, default --iters)
CASES = {
    "cpu": ("CPU recipe (4L/4H/128, B12×T64)", "configs/shakespeare-char-cpu.json", "data/shakespeare_char",
            NANOGPT_CPU, "shakespeare_char", 2000, 200),
    "baby": ("baby GPT (6L/6H/384, B64×T256)", "configs/shakespeare-char.json", "data/shakespeare_char",
             NANOGPT_BABY, "shakespeare_char", 5000, 4),
    "gpt2": ("GPT-2 124M (12L/12H/768, B4×T1024)", "configs/gpt2-124m.json", "data/shakespeare_gpt2",
             NANOGPT_GPT2, "shakespeare", 600000, 2),
}


def fail(message):
    sys.exit(f"bench_nanogpt.py: {message}")


def read_shard(path):
    """Tokens of one of our shards (llm.c's format: 256 int32 header, then uint16 or uint32 tokens)."""
    import numpy as np
    header = np.fromfile(path, dtype=np.int32, count=256)
    if header[0] != 20240520:
        fail(f"{path}: not a token shard (magic {header[0]}, expected 20240520)")
    width = np.uint16 if header[1] == 1 else np.uint32
    return np.fromfile(path, dtype=width, offset=256 * 4, count=int(header[2]))


def ensure_nanogpt_data(nanogpt, folder, dataset):
    """Writes nanoGPT's data/FOLDER/{train,val}.bin (raw uint16) from our prepared dataset when missing."""
    out = os.path.join(nanogpt, "data", folder)
    if os.path.exists(os.path.join(out, "train.bin")):
        return
    import numpy as np
    src = os.path.join(ROOT, dataset)
    manifest_path = os.path.join(src, "manifest.json")
    if not os.path.exists(manifest_path):
        fail(f"{src}: not prepared (run `make data`, or `tinygpt prepare --tokenizer gpt2` for the gpt2 case)")
    os.makedirs(out, exist_ok=True)
    for split in ("train", "val"):
        names = sorted(n for n in os.listdir(src) if n.startswith(split) and n.endswith(".bin"))
        tokens = np.concatenate([read_shard(os.path.join(src, n)) for n in names]).astype(np.uint16)
        tokens.tofile(os.path.join(out, f"{split}.bin"))
    if folder == "shakespeare_char":
        with open(os.path.join(src, "tokenizer.json")) as f:
            chars = json.load(f)["vocab"]
        meta = {"vocab_size": len(chars), "itos": dict(enumerate(chars)), "stoi": {c: i for i, c in enumerate(chars)}}
        with open(os.path.join(out, "meta.pkl"), "wb") as f:
            pickle.dump(meta, f)
    print(f"wrote {out}/train.bin and val.bin from {src}", flush=True)


def run_process(argv, cwd, env):
    """Runs argv; returns (stdout, wall seconds, peak RSS in MiB)."""
    start = time.perf_counter()
    with tempfile.TemporaryFile(mode="w+") as out:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if proc.returncode != 0:
        fail(f"{' '.join(argv[:3])} … exited {proc.returncode}:\n{text[-2000:]}")
    return text, wall, usage.ru_maxrss / 1024


def ours(key, tinygpt, threads, iters, whole, env):
    title, config, dataset, _, _, length, _ = CASES[key]
    run = tempfile.mkdtemp(prefix="tinygpt-bench-")
    try:
        argv = [tinygpt, "pretrain", "--config", os.path.join(ROOT, config), "--out", run, "--threads",
                str(threads), "--dataset", os.path.join(ROOT, dataset), "--set", "log_interval=1"]
        if key == "gpt2":
            argv += ["--set", "batch_size=4", "--set", "gradient_accumulation_steps=1", "--set", "eval_iters=1"]
        if not whole:
            argv += ["--set", f"max_iters={iters}", "--set", f"lr_decay_iters={length}",
                     "--set", f"eval_interval={max(iters, 1)}"]
        _, wall, rss = run_process(argv, ROOT, env)
        steps, val = [], None
        with open(os.path.join(run, "metrics.jsonl")) as f:
            for line in f:
                r = json.loads(line)
                if r.get("type") == "step" and r.get("ms") is not None:
                    steps.append(r["ms"])
                elif r.get("type") == "eval" and r.get("val_loss") is not None:
                    val = r["val_loss"]
        return dict(step_ms=statistics.median(steps), wall=wall, rss=rss, val=val, steps=len(steps))
    finally:
        shutil.rmtree(run, ignore_errors=True)


def theirs(key, nanogpt, iters, whole, env):
    _, _, _, flags, _, length, _ = CASES[key]
    run = tempfile.mkdtemp(prefix="nanogpt-bench-")
    try:
        argv = [sys.executable, "train.py"] + flags + [f"--out_dir={run}"]
        if not whole:
            # iterations 0..iters; one evaluation, at iteration 0 (nanoGPT always evaluates there)
            argv += [f"--max_iters={iters}", f"--lr_decay_iters={length}", f"--eval_interval={iters + 1}"]
        text, wall, rss = run_process(argv, nanogpt, env)
        steps = [float(m) for m in re.findall(r"^iter \d+: loss [-\d.naif]+, time ([\d.]+)ms", text, re.M)]
        vals = re.findall(r"^step \d+: train loss [\d.]+, val loss ([\d.]+)", text, re.M)
        if not steps:
            fail(f"no 'iter N: … time X ms' lines in nanoGPT's output:\n{text[-1500:]}")
        steps = steps[1:] if len(steps) > 1 else steps  # iteration 0 includes the first evaluation
        return dict(step_ms=statistics.median(steps), wall=wall, rss=rss,
                    val=float(vals[-1]) if vals else None, steps=len(steps))
    finally:
        shutil.rmtree(run, ignore_errors=True)


def spread(values):
    return f"median {statistics.median(values):.2f} (range {min(values):.2f}–{max(values):.2f})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nanogpt", required=True, help="a checkout of karpathy/nanoGPT")
    ap.add_argument("--cases", default="cpu")
    ap.add_argument("--pairs", type=int, default=10)
    ap.add_argument("--iters", type=int, help="steps per run for step timing (default: per case)")
    ap.add_argument("--whole-run", action="store_true", help="train each recipe's full length")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tinygpt", default=os.path.join(ROOT, ".build/release/tinygpt"))
    args = ap.parse_args()
    if not os.path.exists(os.path.join(args.nanogpt, "train.py")):
        fail(f"--nanogpt {args.nanogpt}: no train.py there (git clone https://github.com/karpathy/nanoGPT)")
    if not os.access(args.tinygpt, os.X_OK):
        fail(f"--tinygpt {args.tinygpt}: not an executable (make build)")
    if args.pairs < 1:
        fail(f"--pairs expects a positive count, got {args.pairs}")
    # The version comes from a child: torch loaded here would count in every child's peak RSS (wait4
    # reports the maximum since fork, before exec).
    probe = subprocess.run([sys.executable, "-c", "import numpy, torch; print(torch.__version__)"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        fail("PyTorch or NumPy is not installed (pip install torch numpy)")
    torch_version = probe.stdout.strip()
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    head = subprocess.run(["git", "-C", args.nanogpt, "log", "-1", "--format=%h %cs"], capture_output=True,
                          text=True).stdout.strip() or "unknown commit"
    print(f"nanoGPT {head} on PyTorch {torch_version}, {args.threads} threads; "
          f"{'whole runs' if args.whole_run else 'step timing'}; {args.pairs} alternating pairs", flush=True)
    for key in args.cases.split(","):
        if key not in CASES:
            fail(f"unknown case \"{key}\" (expected: {', '.join(CASES)})")
        title, _, dataset, _, folder, _, default_iters = CASES[key]
        ensure_nanogpt_data(args.nanogpt, folder, dataset)
        iters = args.iters or default_iters
        step_ratio, wall_ratio, rss_ratio, our_vals, their_vals = [], [], [], [], []
        print(f"== {title} ==", flush=True)
        for i in range(args.pairs):
            run_ours = lambda: ours(key, args.tinygpt, args.threads, iters, args.whole_run, env)
            run_theirs = lambda: theirs(key, args.nanogpt, iters, args.whole_run, env)
            if i % 2 == 0:
                o = run_ours(); t = run_theirs()
            else:
                t = run_theirs(); o = run_ours()
            step_ratio.append(t["step_ms"] / o["step_ms"])
            wall_ratio.append(o["wall"] / t["wall"])
            rss_ratio.append(o["rss"] / t["rss"])
            if o["val"] is not None: our_vals.append(o["val"])
            if t["val"] is not None: their_vals.append(t["val"])
            val = f", val {o['val']:.4f} / {t['val']:.4f}" if args.whole_run and o["val"] and t["val"] else ""
            print(f"pair {i + 1}: step {o['step_ms']:.2f} / {t['step_ms']:.2f} ms (speed {step_ratio[-1]:.2f}×), "
                  f"wall {o['wall']:.1f} / {t['wall']:.1f} s, RSS {o['rss']:.0f} / {t['rss']:.0f} MiB{val}",
                  flush=True)
        print(f"step speed, ours over theirs: {spread(step_ratio)}×")
        print(f"wall time, ours / theirs: {spread(wall_ratio)}")
        print(f"peak RSS, ours / theirs: {spread(rss_ratio)}")
        if args.whole_run and our_vals and their_vals:
            print(f"final val loss: ours mean {statistics.mean(our_vals):.4f}, nanoGPT mean "
                  f"{statistics.mean(their_vals):.4f} (one seed each side: the spread across seeds is larger)")


if __name__ == "__main__":
    main()
