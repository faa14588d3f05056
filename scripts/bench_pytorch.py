#!/usr/bin/env python3
"""The training-step benchmark of `Benchmarks train`, in PyTorch eager, for side-by-side ratios.

The model is a GPT-2 written here the way nanoGPT's model.py defines it (pre-norm blocks, fused c_attn,
scaled_dot_product_attention with is_causal, tied lm head, GPT-2 init) and the step is nanoGPT
train.py's CPU loop (forward, cross-entropy, backward, clip_grad_norm_, AdamW with decay on 2-D
weights only, zero_grad(set_to_none=True)). GELU uses the tanh approximation, as TinyGPT does
(nanoGPT's nn.GELU() is the exact erf form; the cost difference is negligible). Batches are random
token ids, as in `Benchmarks train`. Each case runs in its own process so its peak RSS is its own.

  python3 scripts/bench_pytorch.py [--threads N] [--cases cpu,baby,gpt2] [--json OUT] [--compare OURS.json]
  python3 scripts/bench_pytorch.py --pairs K --ours .build/release/Benchmarks [--cases cpu] [--threads N]
  python3 scripts/bench_pytorch.py --recipe-run [--threads N] [--seed S] [--exact-gelu]   # the full CPU recipe

--compare reads the JSON written by `Benchmarks train --json FILE` and prints our/PyTorch ratios.
--pairs K alternates our benchmark (`Benchmarks train-case KEY`) and PyTorch K times per case and
prints every pair and the median ratio: on a machine whose speed drifts by ±15% from one run to the
next, a ratio from one pair can land anywhere in that band.
--recipe-run trains configs/shakespeare-char-cpu.json for its 2000 steps with nanoGPT's evaluation
schedule on the prepared token shards (llm.c format) and prints the wall time and final val loss.
"""
import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# key, title, config file, vocab size when the config has none, batch/block overrides, warm-up, steps
CASES = {
    "cpu": ("CPU recipe", "configs/shakespeare-char-cpu.json", 65, None, None, 10, 60),
    "baby": ("baby GPT", "configs/shakespeare-char.json", 65, None, None, 1, 3),
    "gpt2": ("GPT-2 124M, batch 4×64", "configs/gpt2-124m.json", 50257, 4, 64, 2, 5),
}


def load_case(key):
    title, path, vocab, batch, block, warmup, steps = CASES[key]
    with open(os.path.join(ROOT, path)) as f:
        cfg = json.load(f)
    cfg.setdefault("vocab_size", vocab)
    if cfg.get("vocab_size") is None:
        cfg["vocab_size"] = vocab
    if batch:
        cfg["batch_size"] = batch
    if block:
        cfg["block_size"] = block
    # nanoGPT train.py defaults for keys a config file may leave out
    defaults = dict(n_layer=12, n_head=12, n_embd=768, block_size=1024, dropout=0.0, bias=False,
                    batch_size=12, learning_rate=6e-4, weight_decay=0.1, beta1=0.9, beta2=0.95,
                    grad_clip=1.0, seed=1337)
    for k, v in defaults.items():
        cfg.setdefault(k, v)
    return title, cfg, warmup, steps


def build_model(torch, cfg, exact_gelu=False):
    nn = torch.nn
    F = torch.nn.functional
    C, NH, L, V, T = cfg["n_embd"], cfg["n_head"], cfg["n_layer"], cfg["vocab_size"], cfg["block_size"]
    p, bias = cfg["dropout"], cfg["bias"]

    class SelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_attn = nn.Linear(C, 3 * C, bias=bias)
            self.c_proj = nn.Linear(C, C, bias=bias)
            self.drop = nn.Dropout(p)

        def forward(self, x):
            B, T_, _ = x.shape
            q, k, v = self.c_attn(x).split(C, dim=2)
            q, k, v = (t.view(B, T_, NH, C // NH).transpose(1, 2) for t in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=p if self.training else 0.0, is_causal=True)
            return self.drop(self.c_proj(y.transpose(1, 2).contiguous().view(B, T_, C)))

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_fc = nn.Linear(C, 4 * C, bias=bias)
            self.c_proj = nn.Linear(4 * C, C, bias=bias)
            self.drop = nn.Dropout(p)

        def forward(self, x):
            return self.drop(self.c_proj(F.gelu(self.c_fc(x), approximate="none" if exact_gelu else "tanh")))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1 = nn.LayerNorm(C, bias=bias)
            self.attn = SelfAttention()
            self.ln_2 = nn.LayerNorm(C, bias=bias)
            self.mlp = MLP()

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(V, C)
            self.wpe = nn.Embedding(T, C)
            self.drop = nn.Dropout(p)
            self.h = nn.ModuleList(Block() for _ in range(L))
            self.ln_f = nn.LayerNorm(C, bias=bias)
            self.lm_head = nn.Linear(C, V, bias=False)
            self.lm_head.weight = self.wte.weight  # tied, as GPT-2
            for name, prm in self.named_parameters():
                if name.endswith("c_proj.weight"):
                    nn.init.normal_(prm, 0.0, 0.02 / math.sqrt(2 * L))
                elif prm.dim() == 2:
                    nn.init.normal_(prm, 0.0, 0.02)
                elif name.endswith("bias"):
                    nn.init.zeros_(prm)

        def forward(self, idx, targets):
            pos = torch.arange(idx.shape[1], dtype=torch.long)
            x = self.drop(self.wte(idx) + self.wpe(pos))
            for block in self.h:
                x = block(x)
            logits = self.lm_head(self.ln_f(x))
            return F.cross_entropy(logits.view(-1, V), targets.view(-1), ignore_index=-1)

    return GPT()


def make_optimizer(torch, model, cfg):
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg["learning_rate"], betas=(cfg["beta1"], cfg["beta2"]))


def flops_per_token(model, cfg):
    """nanoGPT's estimate_mfu numerator: 6·N + 12·L·C·T, N without the position embedding."""
    n = sum(p.numel() for p in model.parameters()) - model.wpe.weight.numel()
    return 6 * n + 12 * cfg["n_layer"] * cfg["n_embd"] * cfg["block_size"]


def run_case(key, threads):
    import torch
    torch.set_num_threads(threads)
    title, cfg, warmup, steps = load_case(key)
    torch.manual_seed(cfg["seed"])
    model = build_model(torch, cfg)
    model.train()
    opt = make_optimizer(torch, model, cfg)
    B, T, V = cfg["batch_size"], cfg["block_size"], cfg["vocab_size"]
    g = torch.Generator().manual_seed(5)
    batches = [(torch.randint(V, (B, T), generator=g), torch.randint(V, (B, T), generator=g)) for _ in range(4)]

    def step(i):
        x, y = batches[i % len(batches)]
        loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg["grad_clip"])
        opt.step()
        opt.zero_grad(set_to_none=True)

    for i in range(warmup):
        step(i)
    times = []
    cpu0 = time.process_time()
    for i in range(steps):
        t0 = time.perf_counter()
        step(i)
        times.append(time.perf_counter() - t0)
    cpu = (time.process_time() - cpu0) / steps
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    med = statistics.median(times)
    tokens = B * T
    fpt = flops_per_token(model, cfg)
    return dict(key=key, title=title, threads=threads, params=sum(p.numel() for p in model.parameters()),
                tokensPerStep=tokens, flopsPerToken=fpt, msPerStep=med * 1000, minMsPerStep=min(times) * 1000,
                cpuMsPerStep=cpu * 1000, tokensPerSecond=tokens / med, gflops=fpt * tokens / med / 1e9,
                peakRSSMiB=rss, torch=torch.__version__)


def read_tokens(path):
    import numpy as np
    header = np.fromfile(path, dtype=np.int32, count=256)
    if header[0] != 20240520 or header[1] != 1:
        sys.exit(f"{path}: not a uint16 llm.c token shard (magic {header[0]}, version {header[1]})")
    return np.fromfile(path, dtype=np.uint16, offset=1024, count=int(header[2]))


def recipe_run(threads, data_dir, seed=None, exact_gelu=False):
    """nanoGPT train.py's loop for configs/shakespeare-char-cpu.json: lr warm-up + cosine decay,
    estimate_loss every eval_interval steps (and at step 0), over the prepared char-level shards."""
    import numpy as np
    import torch
    torch.set_num_threads(threads)
    with open(os.path.join(ROOT, "configs/shakespeare-char-cpu.json")) as f:
        cfg = json.load(f)
    cfg["vocab_size"] = 65
    cfg.setdefault("weight_decay", 0.1)
    cfg.setdefault("beta1", 0.9)
    cfg.setdefault("grad_clip", 1.0)
    if seed is not None:
        cfg["seed"] = seed
    train = torch.from_numpy(read_tokens(os.path.join(data_dir, "train_000000.bin")).astype(np.int64))
    val = torch.from_numpy(read_tokens(os.path.join(data_dir, "val_000000.bin")).astype(np.int64))
    torch.manual_seed(cfg["seed"])
    model = build_model(torch, cfg, exact_gelu)
    opt = make_optimizer(torch, model, cfg)
    B, T = cfg["batch_size"], cfg["block_size"]

    def batch(data):
        ix = torch.randint(len(data) - T - 1, (B,))
        return torch.stack([data[i:i + T] for i in ix]), torch.stack([data[i + 1:i + 1 + T] for i in ix])

    def lr_at(it):
        if it < cfg["warmup_iters"]:
            return cfg["learning_rate"] * (it + 1) / (cfg["warmup_iters"] + 1)
        if it > cfg["lr_decay_iters"]:
            return cfg["min_lr"]
        r = (it - cfg["warmup_iters"]) / (cfg["lr_decay_iters"] - cfg["warmup_iters"])
        return cfg["min_lr"] + 0.5 * (1.0 + math.cos(math.pi * r)) * (cfg["learning_rate"] - cfg["min_lr"])

    @torch.no_grad()
    def estimate():
        model.eval()
        out = {}
        for name, data in (("train", train), ("val", val)):
            out[name] = sum(model(*batch(data)).item() for _ in range(cfg["eval_iters"])) / cfg["eval_iters"]
        model.train()
        return out

    t0 = time.perf_counter()
    losses = None
    for it in range(cfg["max_iters"] + 1):
        if it % cfg["eval_interval"] == 0 or it == cfg["max_iters"]:
            losses = estimate()
            print(f"step {it}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}", flush=True)
        if it == cfg["max_iters"]:
            break
        for group in opt.param_groups:
            group["lr"] = lr_at(it)
        loss = model(*batch(train))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg["grad_clip"])
        opt.step()
        opt.zero_grad(set_to_none=True)
    wall = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"PyTorch {torch.__version__}, {threads} threads, seed {cfg['seed']}, "
          f"{'exact' if exact_gelu else 'tanh'} GELU: {cfg['max_iters']} steps with evals in {wall:.1f} s "
          f"({wall / cfg['max_iters'] * 1000:.1f} ms/step overall), final val loss {losses['val']:.4f}, "
          f"peak RSS {rss:.0f} MiB")


def torch_case(key, threads):
    """One case in a child process (so its peak RSS is its own); None if it failed."""
    proc = subprocess.run([sys.executable, __file__, "--case", key, "--threads", str(threads)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"{key}: failed\n{proc.stderr.strip()}")
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_pairs(keys, pairs, ours, threads):
    """Ours, then PyTorch, `pairs` times per case; every pair's ms/step and the median tokens/s ratio."""
    import tempfile
    import torch
    print(f"== {pairs} alternating pairs per case: ours, then PyTorch {torch.__version__} ({threads} threads) ==")
    for k in keys:
        ratios = []
        for i in range(pairs):
            with tempfile.NamedTemporaryFile(suffix=".json") as out:
                proc = subprocess.run([ours, "train-case", k, "--threads", str(threads), "--profile-steps", "0",
                                       "--json", out.name], capture_output=True, text=True)
                if proc.returncode != 0:
                    sys.exit(f"bench_pytorch.py: {ours} train-case {k} failed: {proc.stderr.strip() or proc.stdout.strip()}")
                o = json.load(open(out.name))
            t = torch_case(k, threads)
            if t is None:
                continue
            ratios.append(o["tokensPerSecond"] / t["tokensPerSecond"])
            print(f"{CASES[k][0]:<26} pair {i + 1}: ours {o['msPerStep']:8.1f} ms, PyTorch {t['msPerStep']:8.1f} ms, "
                  f"tokens/s ratio {ratios[-1]:.2f}×", flush=True)
        if ratios:
            print(f"{CASES[k][0]:<26} median tokens/s ratio over {len(ratios)} pairs: {statistics.median(ratios):.2f}× "
                  f"(range {min(ratios):.2f}–{max(ratios):.2f}×)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--cases", default="cpu,baby,gpt2")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--compare", help="JSON from `Benchmarks train --json FILE`: print our/PyTorch ratios")
    ap.add_argument("--recipe-run", action="store_true", help="train the full CPU recipe on the prepared data")
    ap.add_argument("--exact-gelu", action="store_true",
                    help="with --recipe-run: nanoGPT's exact (erf) GELU instead of the tanh form TinyGPT uses")
    ap.add_argument("--seed", type=int, help="with --recipe-run: the seed (default: the config's)")
    ap.add_argument("--data", default=os.path.join(ROOT, "data/shakespeare_char"))
    ap.add_argument("--pairs", type=int, help="alternate ours and PyTorch this many times per case")
    ap.add_argument("--ours", help="with --pairs: our Benchmarks executable")
    ap.add_argument("--case", help=argparse.SUPPRESS)  # child process: run one case, print its JSON
    args = ap.parse_args()
    try:
        import torch  # noqa: F401
    except ImportError:
        sys.exit("bench_pytorch.py: PyTorch is not installed (pip install torch); nothing to compare")
    if args.case:
        print(json.dumps(run_case(args.case, args.threads)))
        return
    if args.recipe_run:
        recipe_run(args.threads, args.data, args.seed, args.exact_gelu)
        return

    keys = [k for k in args.cases.split(",") if k]
    for k in keys:
        if k not in CASES:
            sys.exit(f"bench_pytorch.py: unknown case \"{k}\" (expected: {', '.join(CASES)})")
    if args.pairs is not None:
        if args.pairs < 1:
            sys.exit(f"bench_pytorch.py: --pairs expects a positive count, got {args.pairs}")
        if not args.ours:
            sys.exit("bench_pytorch.py: --pairs needs --ours PATH (our Benchmarks executable)")
        run_pairs(keys, args.pairs, args.ours, args.threads)
        return
    results = []
    import torch
    print(f"== PyTorch {torch.__version__} eager, same model and loop ({args.threads} threads) ==")
    for k in keys:
        r = torch_case(k, args.threads)
        if r is None:
            continue
        results.append(r)
        print(f"{r['title']:<26}{r['msPerStep']:>10.1f} ms/step{r['tokensPerSecond']:>10.0f} tokens/s"
              f"{r['gflops']:>8.1f} GFLOP/s{r['peakRSSMiB']:>8.0f} MiB RSS")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    if args.compare:
        with open(args.compare) as f:
            loaded = json.load(f)
        if isinstance(loaded, dict):  # one case (`Benchmarks train-case KEY --json FILE`)
            loaded = [loaded]
        ours = {r["key"]: r for r in loaded}
        print(f"\nour / PyTorch ({args.threads} threads; tokens/s ratio > 1 and RSS ratio < 1 favour us):")
        print(f"{'model':<26}{'ours ms':>9}{'torch ms':>10}{'tokens/s':>10}{'RSS':>8}")
        for r in results:
            o = ours.get(r["key"])
            if not o:
                continue
            print(f"{r['title']:<26}{o['msPerStep']:>9.1f}{r['msPerStep']:>10.1f}"
                  f"{o['tokensPerSecond'] / r['tokensPerSecond']:>9.2f}×"
                  f"{o['peakRSSMiB'] / r['peakRSSMiB']:>7.2f}×")


if __name__ == "__main__":
    main()
