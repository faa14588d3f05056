#!/usr/bin/env python3
"""Checks a `tinygpt export --format hf` folder in transformers (run by `make check-interop`):

    python3 scripts/check_interop.py --hf DIR --text HELDOUT.txt --eval-json EVAL.json \
        [--ids-text FULL.txt --ids-dir DATASET] [--reference reference.jsonl]

1. AutoModelForCausalLM loads the folder; its mean next-token loss on --text, in TinyGPT's windows
   (non-overlapping block_size windows, each token after the first predicted once from its own
   window's context), equals `tinygpt eval --task lm --text` (--eval-json) within 1e-4, on the same
   number of tokens.
2. AutoTokenizer on the folder (special-token names read as plain text, as TinyGPT's encode and
   tiktoken's encode_ordinary read them) gives our ids: on --ids-text, the tokens TinyGPT's `prepare
   --val-fraction 0` wrote to --ids-dir's train shards; on each line of --reference ({"text", "ids"}),
   its ids. Exits non-zero on the first mismatch.
"""
import argparse
import glob
import json
import math
import sys

import numpy as np
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


def fail(message):
    print("check-interop: FAIL: " + message)
    sys.exit(1)


def shard_tokens(directory):
    out = []
    for path in sorted(glob.glob(directory + "/train_*.bin")):
        raw = open(path, "rb").read()
        header = np.frombuffer(raw[:1024], dtype="<i4")
        dtype = {20240520: "<u2", 20240801: "<u4"}[int(header[0])]
        out.extend(np.frombuffer(raw[1024:], dtype=dtype)[: int(header[2])].tolist())
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--hf", required=True)
    p.add_argument("--text", required=True)
    p.add_argument("--eval-json", required=True)
    p.add_argument("--ids-text")
    p.add_argument("--ids-dir")
    p.add_argument("--reference")
    a = p.parse_args()

    torch.set_num_threads(2)
    model = AutoModelForCausalLM.from_pretrained(a.hf).eval()
    tok = AutoTokenizer.from_pretrained(a.hf)
    print(f"{a.hf}: {type(model).__name__}, {type(tok).__name__}, vocab {model.config.vocab_size}, "
          f"{sum(t.numel() for t in model.parameters())} parameters")

    # 1. Loss on held-out text, TinyGPT's windows.
    ours = json.load(open(a.eval_json))
    text = open(a.text, encoding="utf-8").read()
    ids = tok(text, split_special_tokens=True)["input_ids"]
    if len(ids) != ours["tokens"]:
        fail(f"{a.text}: AutoTokenizer gives {len(ids)} tokens, tinygpt eval read {ours['tokens']}")
    block = model.config.n_positions
    total, predicted = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(ids) - 1, block):
            end = min(start + block, len(ids) - 1)
            x = torch.tensor([ids[start:end]])
            y = torch.tensor(ids[start + 1:end + 1])
            logits = model(x).logits[0].double()
            total += torch.nn.functional.cross_entropy(logits, y, reduction="sum").item()
            predicted += end - start
    loss = total / predicted
    diff = abs(loss - ours["mean_loss"])
    print(f"held-out loss: transformers {loss:.6f}, tinygpt eval {ours['mean_loss']:.6f}, |diff| {diff:.2e} "
          f"over {predicted} predicted tokens")
    if not diff <= 1e-4:
        fail(f"loss differs by {diff:.2e} (> 1e-4)")

    # 2. Tokenizer ids.
    print(f"{a.text}: AutoTokenizer gives tinygpt eval's token count ({len(ids)})")
    if a.ids_text:
        want = shard_tokens(a.ids_dir)
        got = tok(open(a.ids_text, encoding="utf-8").read(), split_special_tokens=True)["input_ids"]
        if got != want:
            first = next((i for i, (g, w) in enumerate(zip(got, want)) if g != w), min(len(got), len(want)))
            fail(f"{a.ids_text}: AutoTokenizer ids differ from ours at token {first} ({len(got)} vs {len(want)} tokens)")
        print(f"{a.ids_text}: AutoTokenizer gives our {len(want)} ids")
    if a.reference:
        lines = [json.loads(l) for l in open(a.reference, encoding="utf-8") if l.strip()]
        for n, row in enumerate(lines):
            # Lines with "allowed_special" read those names as special tokens (tiktoken's allowed_special).
            got = tok(row["text"], split_special_tokens=not row.get("allowed_special"))["input_ids"]
            if got != row["ids"]:
                fail(f"{a.reference} line {n + 1}: AutoTokenizer gives {got[:12]}..., expected {row['ids'][:12]}...")
        print(f"{a.reference}: AutoTokenizer gives the reference ids on all {len(lines)} lines")
    print("check-interop: OK")


if __name__ == "__main__":
    main()
