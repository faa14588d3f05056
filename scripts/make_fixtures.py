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


def encode(obj, indent=0):
    """Compact JSON: lists of numbers stay on one line, containers of containers are indented."""
    pad = " " * indent
    inner = " " * (indent + 1)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{inner}{json.dumps(k)}: {encode(v, indent + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list):
        if all(not isinstance(v, (dict, list)) for v in obj) or all(
                isinstance(v, list) and all(not isinstance(u, (dict, list)) for u in v) for v in obj):
            return json.dumps(obj, separators=(",", ":"), allow_nan=False)
        items = [inner + encode(v, indent + 1) for v in obj]
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
    return (torch.randn(*shape, dtype=torch.float32) * std + mean).to(torch.float32).double()


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


if __name__ == "__main__":
    os.makedirs(OUT_DIR, exist_ok=True)
    torch.set_num_threads(1)
    make_gpt_tiny()
    make_adamw()
