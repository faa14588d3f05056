#!/usr/bin/env python3
"""Writes the PyTorch reference fixtures in Tests/Fixtures (run from anywhere):

    python3 scripts/make_fixtures.py

gpt_tiny.json  a tiny GPT-2-style model (nanoGPT architecture and state-dict names): weights, one batch,
               logits, loss, every parameter gradient, and the losses of three AdamW steps.
adamw.json     torch.optim.AdamW trajectories on two small parameters (constant and scheduled lr).
ops.json       forward outputs and input gradients of every autograd op against PyTorch.

Every fixture draws from its own torch.manual_seed, so the output is the same on every run. Inputs are
float32 values; model and op references are computed in float64 from those values and rounded to
float32 when written (a more accurate oracle than float32 PyTorch). adamw.json runs in float32 because
the optimiser is element-wise and the Swift AdamW follows PyTorch's order of operations.
Floats are written as the shortest decimal that rounds back to the same float32.
"""
import json
import math
import os
import zlib

import numpy as np
import torch
import torch.nn.functional as F

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures")
LINE_LIMIT = 120  # the repository keeps every line of Sources/ and Tests/ within 120 columns


# ----------------------------------------------------------------------------------------------------
# JSON output: tensors as {"shape": [...], "data": [flat row-major list]}, floats as short float32 text.

def f32(x):
    """A Python float whose repr is the shortest decimal that reads back as the same float32."""
    return float(str(np.float32(x)))


def flat(t):
    a = t.detach().to(torch.float32).reshape(-1).numpy()
    return [f32(v) for v in a]


def tensor_json(t):
    return {"shape": list(t.shape), "data": flat(t)}


def ints(t):
    return t.tolist()


def encode(obj, indent=0, column=0):
    """Compact JSON within 120 columns: lists of numbers stay on one line where they fit (`column` is
    where the value starts) and otherwise fill lines; containers of containers are indented."""
    pad = " " * indent
    inner = " " * (indent + 1)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = []
        for k, v in obj.items():
            key = f"{inner}{json.dumps(k)}: "
            items.append(key + encode(v, indent + 1, len(key)))
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list):
        scalars = all(not isinstance(v, (dict, list)) for v in obj)
        if scalars or all(isinstance(v, list) and all(not isinstance(u, (dict, list)) for u in v) for v in obj):
            line = json.dumps(obj, separators=(",", ":"), allow_nan=False)
            if column + len(line) + 1 <= LINE_LIMIT:  # + 1: a following comma
                return line
        if scalars:
            lines, current = [], ""
            for v in obj:
                token = json.dumps(v, allow_nan=False) + ","
                if current and len(inner) + len(current) + len(token) > LINE_LIMIT:
                    lines.append(inner + current)
                    current = ""
                current += token
            lines.append(inner + current[:-1])
            return "[\n" + "\n".join(lines) + "\n" + pad + "]"
        items = [inner + encode(v, indent + 1, len(inner)) for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(obj, allow_nan=False)


def write(name, obj):
    path = os.path.join(OUT_DIR, name)
    text = encode(obj) + "\n"
    with open(path, "w") as f:
        f.write(text)
    size = len(text.encode())
    assert size < 1_000_000, f"{name} is {size} bytes, fixtures must stay under 1 MB"
    print(f"wrote {os.path.relpath(path)} ({size} bytes)")


def randn32(*shape, std=1.0, mean=0.0):
    """float32 samples (the values the Swift side sees), promoted to float64 for the reference math."""
    return (torch.randn(tuple(shape), dtype=torch.float32) * std + mean).to(torch.float32).double()


# ----------------------------------------------------------------------------------------------------
# gpt_tiny.json: a GPT-2 / nanoGPT-architecture model written out with functional ops.

GPT_CONFIG = {"vocab_size": 17, "block_size": 8, "n_layer": 2, "n_head": 2, "n_embd": 32, "bias": True,
              "dropout": 0.0}


def gpt_param_shapes(cfg):
    V, Tb, C, L = cfg["vocab_size"], cfg["block_size"], cfg["n_embd"], cfg["n_layer"]
    shapes = [("transformer.wte.weight", (V, C)), ("transformer.wpe.weight", (Tb, C))]
    for i in range(L):
        p = f"transformer.h.{i}."
        shapes += [
            (p + "ln_1.weight", (C,)), (p + "ln_1.bias", (C,)),
            (p + "attn.c_attn.weight", (3 * C, C)), (p + "attn.c_attn.bias", (3 * C,)),
            (p + "attn.c_proj.weight", (C, C)), (p + "attn.c_proj.bias", (C,)),
            (p + "ln_2.weight", (C,)), (p + "ln_2.bias", (C,)),
            (p + "mlp.c_fc.weight", (4 * C, C)), (p + "mlp.c_fc.bias", (4 * C,)),
            (p + "mlp.c_proj.weight", (C, 4 * C)), (p + "mlp.c_proj.bias", (C,)),
        ]
    shapes += [("transformer.ln_f.weight", (C,)), ("transformer.ln_f.bias", (C,))]
    return shapes


def causal_attention(qkv, n_head):
    """qkv (B, T, 3C) laid out [q | k | v] -> (B, T, C), heads merged."""
    B, T, C3 = qkv.shape
    C = C3 // 3
    hs = C // n_head
    q, k, v = qkv.split(C, dim=2)
    q = q.view(B, T, n_head, hs).transpose(1, 2)  # (B, NH, T, hs)
    k = k.view(B, T, n_head, hs).transpose(1, 2)
    v = v.view(B, T, n_head, hs).transpose(1, 2)
    att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))  # (B, NH, T, T)
    future = torch.ones(T, T, dtype=torch.bool).triu(1)
    att = att.masked_fill(future, float("-inf")).softmax(dim=-1)
    y = att @ v  # (B, NH, T, hs)
    return y.transpose(1, 2).reshape(B, T, C)


def gpt_forward(params, idx, cfg):
    """params: dict name -> tensor. Returns logits (B, T, V)."""
    C, nh = cfg["n_embd"], cfg["n_head"]
    T = idx.shape[1]
    x = params["transformer.wte.weight"][idx] + params["transformer.wpe.weight"][:T]  # (B, T, C)
    for i in range(cfg["n_layer"]):
        p = lambda n: params[f"transformer.h.{i}.{n}"]
        h = F.layer_norm(x, (C,), p("ln_1.weight"), p("ln_1.bias"), eps=1e-5)
        y = causal_attention(F.linear(h, p("attn.c_attn.weight"), p("attn.c_attn.bias")), nh)
        x = x + F.linear(y, p("attn.c_proj.weight"), p("attn.c_proj.bias"))
        h = F.layer_norm(x, (C,), p("ln_2.weight"), p("ln_2.bias"), eps=1e-5)
        h = F.gelu(F.linear(h, p("mlp.c_fc.weight"), p("mlp.c_fc.bias")), approximate="tanh")
        x = x + F.linear(h, p("mlp.c_proj.weight"), p("mlp.c_proj.bias"))
    x = F.layer_norm(x, (C,), params["transformer.ln_f.weight"], params["transformer.ln_f.bias"], eps=1e-5)
    return x @ params["transformer.wte.weight"].t()  # lm_head tied to wte


def gpt_loss(logits, targets):
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-1)


def make_gpt_tiny():
    torch.manual_seed(1337)
    cfg = GPT_CONFIG
    shapes = gpt_param_shapes(cfg)
    params = {}
    for name, shape in shapes:
        if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or name.endswith("ln_f.weight"):
            t = randn32(*shape, std=0.1, mean=1.0)  # LayerNorm gain around 1
        else:
            t = randn32(*shape, std=0.1)  # weights, embeddings and biases N(0, 0.1)
        params[name] = t.requires_grad_(True)
    B, T, V = 2, cfg["block_size"], cfg["vocab_size"]
    idx = torch.randint(0, V, (B, T))
    targets = torch.randint(0, V, (B, T))
    targets[0, 3] = -1
    targets[1, 6] = -1

    # Sanity check of the hand-written attention against PyTorch's fused one.
    with torch.no_grad():
        qkv = torch.randn(B, T, 3 * cfg["n_embd"], dtype=torch.float64)
        C, nh = cfg["n_embd"], cfg["n_head"]
        q, k, v = (u.view(B, T, nh, C // nh).transpose(1, 2) for u in qkv.split(C, dim=2))
        ref = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(B, T, C)
        assert torch.allclose(causal_attention(qkv, nh), ref, atol=1e-12)

    logits = gpt_forward(params, idx, cfg)
    loss = gpt_loss(logits, targets)
    loss.backward()
    grads = [{"name": n, "shape": list(params[n].shape), "data": flat(params[n].grad)} for n, _ in shapes]

    # Three AdamW steps on the same batch, nanoGPT's grouping: decay only tensors with dim >= 2.
    adam = {"lr": 1e-2, "betas": [0.9, 0.95], "eps": 1e-8, "weight_decay": 0.1}
    work = {n: params[n].detach().clone().requires_grad_(True) for n, _ in shapes}
    groups = [
        {"params": [work[n] for n, _ in shapes if work[n].dim() >= 2], "weight_decay": adam["weight_decay"]},
        {"params": [work[n] for n, _ in shapes if work[n].dim() < 2], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=adam["lr"], betas=tuple(adam["betas"]), eps=adam["eps"], foreach=False)
    losses = []
    for _ in range(3):
        opt.zero_grad(set_to_none=True)
        l = gpt_loss(gpt_forward(work, idx, cfg), targets)
        losses.append(f32(l.item()))
        l.backward()
        opt.step()
    with torch.no_grad():
        losses.append(f32(gpt_loss(gpt_forward(work, idx, cfg), targets).item()))
    adam["losses"] = losses

    write("gpt_tiny.json", {
        "config": cfg,
        "params": [{"name": n, "shape": list(s), "data": flat(params[n])} for n, s in shapes],
        "idx": ints(idx),
        "targets": ints(targets),
        "logits": tensor_json(logits),
        "loss": f32(loss.item()),
        "grads": grads,
        "adamw": adam,
    })


# ----------------------------------------------------------------------------------------------------
# adamw.json: torch.optim.AdamW in float32 on a decayed 2-D parameter and an undecayed 1-D one.

def make_adamw():
    torch.manual_seed(42)
    initial = {"w": torch.randn(3, 4), "b": torch.randn(4)}
    wd = {"w": 0.1, "b": 0.0}
    betas, eps = (0.9, 0.99), 1e-8
    scenarios = []
    for label, lrs in [("constant lr", [1e-3, 1e-3, 1e-3]), ("scheduled lr", [1e-3, 5e-4, 2.5e-4])]:
        params = {n: t.clone().requires_grad_(True) for n, t in initial.items()}
        groups = [{"params": [params[n]], "weight_decay": wd[n]} for n in initial]
        opt = torch.optim.AdamW(groups, lr=lrs[0], betas=betas, eps=eps, foreach=False)
        grads, after = [], []
        for lr in lrs:
            for g in opt.param_groups:
                g["lr"] = lr
            step = {n: torch.randn(*t.shape) for n, t in initial.items()}
            for n, p in params.items():
                p.grad = step[n].clone()
            opt.step()
            grads.append({n: flat(g) for n, g in step.items()})
            after.append({n: flat(p) for n, p in params.items()})
        scenarios.append({"name": label, "lrs": lrs, "betas": list(betas), "eps": eps, "weight_decay": wd,
                          "grads": grads, "after": after})
    write("adamw.json", {"initial": {n: tensor_json(t) for n, t in initial.items()}, "scenarios": scenarios})

# ----------------------------------------------------------------------------------------------------
# ops.json: every autograd op. Each case holds float32 inputs, integer/flag attributes, the forward
# output, a fixed random upstream weight w of the output's shape, and d(Σ out ⊙ w)/d(input) for every
# float input.

class OpCases:
    def __init__(self):
        self.cases = {}

    def add(self, name, fn, inputs, attrs=None):
        """inputs: dict name -> float64 tensor of float32 values; fn(**inputs) -> output tensor.
        Seeds from the case name, so adding a case leaves the others unchanged."""
        assert name not in self.cases, name
        # Round to float32 first: the inputs written must be exactly the values the reference used.
        leaves = {n: t.detach().float().double().requires_grad_(True) for n, t in inputs.items()}
        out = fn(**leaves)
        torch.manual_seed(zlib.crc32(("w:" + name).encode()))
        w = randn32(*out.shape)
        (out * w).sum().backward()
        self.cases[name] = {
            "inputs": {n: tensor_json(t) for n, t in leaves.items()},
            "attrs": attrs or {},
            "out": tensor_json(out),
            "w": tensor_json(w),
            "grads": {n: flat(t.grad) for n, t in leaves.items()},
        }


def seeded(name):
    torch.manual_seed(zlib.crc32(name.encode()))


def make_ops():
    c = OpCases()

    def mm(a, b, ta, tb):
        return (a.transpose(-2, -1) if ta else a) @ (b.transpose(-2, -1) if tb else b)

    # matmul: 2-D, batched (equal leading dims), batched with a shared 2-D right operand.
    for ta in (False, True):
        for tb in (False, True):
            tag = ("t" if ta else "n") + ("t" if tb else "n")
            attrs = {"transA": ta, "transB": tb}
            fn = lambda a, b, ta=ta, tb=tb: mm(a, b, ta, tb)
            seeded("matmul_2d_" + tag)
            c.add("matmul_2d_" + tag, fn, {"a": randn32(*((4, 3) if ta else (3, 4))),
                                           "b": randn32(*((5, 4) if tb else (4, 5)))}, attrs)
            seeded("matmul_batched_" + tag)
            c.add("matmul_batched_" + tag, fn, {"a": randn32(*((2, 3, 4, 3) if ta else (2, 3, 3, 4))),
                                                "b": randn32(*((2, 3, 5, 4) if tb else (2, 3, 4, 5)))}, attrs)
            seeded("matmul_shared_" + tag)
            c.add("matmul_shared_" + tag, fn, {"a": randn32(*((2, 3, 4, 3) if ta else (2, 3, 3, 4))),
                                               "b": randn32(*((5, 4) if tb else (4, 5)))}, attrs)

    seeded("linear")
    c.add("linear_bias", lambda x, w, b: F.linear(x, w, b),
          {"x": randn32(2, 3, 6), "w": randn32(5, 6), "b": randn32(5)})
    seeded("linear_nobias")
    c.add("linear_nobias", lambda x, w: F.linear(x, w), {"x": randn32(2, 3, 6), "w": randn32(5, 6)})

    # add/sub/mul: equal shapes, trailing-vector broadcast, one-element broadcast.
    for op, f in (("add", torch.add), ("sub", torch.sub), ("mul", torch.mul)):
        for kind, bshape in (("same", (2, 3, 4)), ("vector", (4,)), ("scalar", (1,))):
            name = f"{op}_{kind}"
            seeded(name)
            c.add(name, lambda a, b, f=f: f(a, b), {"a": randn32(2, 3, 4), "b": randn32(*bshape)})

    seeded("affine")
    c.add("affine", lambda x: x * 0.75 - 1.25, {"x": randn32(3, 5)}, {"scale": 0.75, "shift": -1.25})

    seeded("gelu")
    c.add("gelu", lambda x: F.gelu(x, approximate="tanh"), {"x": randn32(4, 9, std=2.5)})

    seeded("softmax")
    x = randn32(2, 3, 7, std=3.0)
    x[1, 2] += 80.0  # a row of large logits: needs the max-subtraction
    c.add("softmax", lambda x: torch.softmax(x, dim=-1), {"x": x})

    seeded("layer_norm_affine")
    c.add("layer_norm_affine", lambda x, weight, bias: F.layer_norm(x, (8,), weight, bias, eps=1e-5),
          {"x": randn32(2, 3, 8, std=2.0, mean=0.5), "weight": randn32(8, std=0.5, mean=1.0),
           "bias": randn32(8, std=0.5)}, {"eps": 1e-5})
    seeded("layer_norm_plain")
    c.add("layer_norm_plain", lambda x: F.layer_norm(x, (8,), eps=1e-5),
          {"x": randn32(4, 8, std=2.0, mean=-0.5)}, {"eps": 1e-5})

    seeded("embedding")
    ids = [3, 0, 3, 5, 1, 3, 0, 2]  # repeated ids: backward must accumulate
    c.add("embedding", lambda table: F.embedding(torch.tensor(ids).view(2, 4), table),
          {"table": randn32(6, 5)}, {"ids": ids, "shape": [2, 4]})

    seeded("cross_entropy")
    targets = [2, 6, -1, 0, 3, 3, -1, 5]
    c.add("cross_entropy", lambda logits: F.cross_entropy(logits.reshape(-1, 7), torch.tensor(targets),
                                                          ignore_index=-1),
          {"logits": randn32(2, 4, 7, std=2.0)}, {"targets": targets, "ignoreIndex": -1})

    for causal in (True, False):
        name = "sdpa_" + ("causal" if causal else "full")
        seeded(name)
        c.add(name, lambda q, k, v, causal=causal: F.scaled_dot_product_attention(q, k, v, is_causal=causal),
              {"q": randn32(2, 2, 5, 4), "k": randn32(2, 2, 5, 4), "v": randn32(2, 2, 5, 4)}, {"causal": causal})
    seeded("sdpa_causal_scale")
    c.add("sdpa_causal_scale", lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.3),
          {"q": randn32(1, 3, 6, 4), "k": randn32(1, 3, 6, 4), "v": randn32(1, 3, 6, 4)},
          {"causal": True, "scale": 0.3})

    def torch_self_attention(qkv, heads, mask=None):
        B, T, C3 = qkv.shape
        C = C3 // 3
        q, k, v = (u.view(B, T, heads, C // heads).transpose(1, 2) for u in qkv.split(C, dim=2))
        if mask is None:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return y.transpose(1, 2).reshape(B, T, C)

    seeded("causal_self_attention")
    c.add("causal_self_attention", lambda qkv: torch_self_attention(qkv, 2), {"qkv": randn32(2, 5, 24)},
          {"heads": 2})
    seeded("causal_self_attention_segments")
    segments = [0, 0, 0, 1, 1, 1, 1, 4, 4, 4, 4, 4, 9, 9]  # (B=2, T=7), packed documents
    seg = torch.tensor(segments).view(2, 7)
    mask = (seg[:, :, None] == seg[:, None, :]) & torch.ones(7, 7, dtype=torch.bool).tril()
    c.add("causal_self_attention_segments", lambda qkv: torch_self_attention(qkv, 3, mask[:, None]),
          {"qkv": randn32(2, 7, 36)}, {"heads": 3, "segments": segments})

    seeded("split_heads")
    c.add("split_heads", lambda x: x.view(2, 3, 2, 4).transpose(1, 2), {"x": randn32(2, 3, 8)}, {"heads": 2})
    seeded("merge_heads")
    c.add("merge_heads", lambda x: x.transpose(1, 2).reshape(2, 3, 8), {"x": randn32(2, 2, 3, 4)})

    seeded("slice")
    c.add("slice", lambda x: x[..., 2:5], {"x": randn32(2, 3, 7)}, {"lower": 2, "upper": 5})
    seeded("concat")
    c.add("concat", lambda a, b, d: torch.cat([a, b, d], dim=-1),
          {"a": randn32(2, 3, 2), "b": randn32(2, 3, 3), "d": randn32(2, 3, 1)})

    seeded("select_rows")
    rows = [4, 1, 4, 0]
    c.add("select_rows", lambda x: x[torch.tensor(rows)], {"x": randn32(6, 4)}, {"rows": rows})
    seeded("select_rows_flattened")
    rows3 = [5, 0, 2, 5, 3]
    c.add("select_rows_flattened", lambda x: x.reshape(-1, 4)[torch.tensor(rows3)], {"x": randn32(2, 3, 4)},
          {"rows": rows3})

    seeded("reshape")
    c.add("reshape", lambda x: x.reshape(4, -1), {"x": randn32(2, 3, 4)})
    seeded("sum")
    c.add("sum", lambda x: x.sum(), {"x": randn32(3, 5)})
    seeded("mean")
    c.add("mean", lambda x: x.mean(), {"x": randn32(3, 5)})

    write("ops.json", {"cases": c.cases})


if __name__ == "__main__":
    os.makedirs(OUT_DIR, exist_ok=True)
    torch.set_num_threads(1)
    make_gpt_tiny()
    make_adamw()
    make_ops()
