#!/usr/bin/env python3
"""Writes the Hugging Face interoperability fixtures in Tests/Fixtures/interop (run from anywhere):

    pip install torch transformers safetensors
    python3 scripts/make_interop_fixtures.py

Each fixture is a small random GPT-2 built with transformers' GPT2LMHeadModel (seed named below) and
saved as a Hugging Face folder, next to the logits it gives on fixed token ids:

  gpt2-tiny/          float32, keys "transformer.*", one model.safetensors (save_pretrained), and a
                      byte-level BPE tokenizer (vocab.json + merges.txt: GPT-2's byte alphabet, 44
                      merges learnt below, <|endoftext|> last = 301 tokens).
  gpt2-tiny-fp16/     the same weights rounded to float16, keys without the "transformer." prefix
                      (as the hub's gpt2 checkpoint has them), one model.safetensors, no tokenizer.
  gpt2-tiny-bf16-sharded/  the same weights rounded to bfloat16, save_pretrained with a small
                      max_shard_size (model-0000N-of-0000M.safetensors + model.safetensors.index.json).
  <name>.logits.safetensors   "ids" (I64, (B, T)) and "logits" (F32, (B, T, V)): float32 transformers
                      on the folder's own (rounded) weights; "tokenizer_ids" and "tokenizer_text" (the
                      text as UTF-8 bytes, U8) for gpt2-tiny: GPT2TokenizerFast's ids on that text.
  gpt2-tiny.listing.json   what GPT2LMHeadModel expects for the gpt2-tiny config: the tensor names,
                      shapes and dtypes save_pretrained writes, and config.to_dict().

With --gpt2-small DIR it instead writes a random GPT-2 small (124M parameters, GPT-2's shapes and,
when ../shared/data/gpt2-bpe is there, its tokenizer files) to DIR, for timing import and export;
that folder (500 MB) is not a fixture.

Shapes: vocab 301, n_positions 32, n_embd 32, n_head 4, n_layer 2 (c_attn [32, 96] and c_fc
[32, 128] are not square, so a missed Conv1D transpose fails on shape; the square c_proj is caught by
the logits). Every parameter, biases and LayerNorms included, is drawn at random so none is a
default. Everything is seeded: re-running gives the same tensors.
"""
import copy
import json
import os
import shutil

import regex
import torch
from safetensors.torch import save_file
from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "interop")
SEED = 1337

CONFIG = dict(vocab_size=301, n_positions=32, n_embd=32, n_layer=2, n_head=4, activation_function="gelu_new",
              resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, layer_norm_epsilon=1e-5,
              bos_token_id=300, eos_token_id=300)

TEXT = ("First Citizen: Before we proceed any further, hear me speak. All: Speak, speak. "
        "You are all resolved rather to die than to famish? the the then there these, they'll 12345!")
TOKENIZER_TEXT = "Hello world, the cat's there!  Speak\n\tthen café 42<|endoftext|>x"


# ----------------------------------------------------------------------------------------------------
# A 301-token byte-level BPE in GPT-2's file format.

def bytes_to_unicode():
    """GPT-2's byte -> character table (openai/gpt-2 encoder.py), in its id order."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return list(zip(bs, [chr(c) for c in cs]))


PAT = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def learn_merges(text, count):
    """Plain BPE on GPT-2 pre-tokens: merge the most frequent adjacent pair (first seen on ties)."""
    table = dict(bytes_to_unicode())
    words = [[table[b] for b in piece.encode("utf-8")] for piece in PAT.findall(text)]
    merges = []
    for _ in range(count):
        counts = {}
        for w in words:
            for a, b in zip(w, w[1:]):
                counts[(a, b)] = counts.get((a, b), 0) + 1
        best = max(counts.items(), key=lambda kv: kv[1])[0]
        merges.append(best)
        merged = []
        for w in words:
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            merged.append(out)
        words = merged
    return merges


def write_tokenizer(folder):
    vocab = {c: i for i, (_, c) in enumerate(bytes_to_unicode())}
    merges = learn_merges(TEXT, CONFIG["vocab_size"] - 257)
    for a, b in merges:
        assert a + b not in vocab, a + b
        vocab[a + b] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    assert len(vocab) == CONFIG["vocab_size"]
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))


# ----------------------------------------------------------------------------------------------------
# Models.

def random_model():
    torch.manual_seed(SEED)
    model = GPT2LMHeadModel(GPT2Config(**CONFIG)).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or name.endswith("ln_f.weight"):
                p.copy_(1 + 0.1 * torch.randn_like(p))
            else:
                p.copy_(0.1 * torch.randn_like(p))
    return model


def rounded(model, dtype):
    """A float32 copy of `model` whose weights went through `dtype`."""
    out = GPT2LMHeadModel(copy.deepcopy(model.config)).eval()
    out.load_state_dict({k: v.to(dtype).to(torch.float32) for k, v in model.state_dict().items()})
    return out


def ids():
    g = torch.Generator().manual_seed(SEED + 1)
    return torch.randint(0, CONFIG["vocab_size"], (2, 8), generator=g)


def write_logits(name, model, extra=None):
    x = ids()
    with torch.no_grad():
        logits = model(x).logits.to(torch.float32).contiguous()
    tensors = {"ids": x.to(torch.int64).contiguous(), "logits": logits}
    tensors.update(extra or {})
    save_file(tensors, os.path.join(OUT, name + ".logits.safetensors"), metadata={"seed": str(SEED)})


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    model = random_model()

    # fp32, save_pretrained, with tokenizer.
    folder = os.path.join(OUT, "gpt2-tiny")
    model.save_pretrained(folder, safe_serialization=True)
    write_tokenizer(folder)
    tok = GPT2TokenizerFast.from_pretrained(folder)
    tok_ids = tok(TOKENIZER_TEXT)["input_ids"]
    write_logits("gpt2-tiny", model, {
        "tokenizer_ids": torch.tensor(tok_ids, dtype=torch.int64),
        "tokenizer_text": torch.tensor(list(TOKENIZER_TEXT.encode("utf-8")), dtype=torch.uint8),
    })

    # fp16, keys without the "transformer." prefix, written directly.
    folder = os.path.join(OUT, "gpt2-tiny-fp16")
    os.makedirs(folder)
    half = rounded(model, torch.float16)
    state = {k[len("transformer."):]: v.to(torch.float16).contiguous()
             for k, v in model.state_dict().items() if k.startswith("transformer.") and not k.endswith(".attn.bias")
             and not k.endswith(".attn.masked_bias")}
    save_file(state, os.path.join(folder, "model.safetensors"), metadata={"format": "pt"})
    model.config.to_json_file(os.path.join(folder, "config.json"))
    write_logits("gpt2-tiny-fp16", half)

    # bf16, sharded.
    folder = os.path.join(OUT, "gpt2-tiny-bf16-sharded")
    bf = rounded(model, torch.bfloat16)
    copy.deepcopy(bf).to(torch.bfloat16).save_pretrained(folder, safe_serialization=True, max_shard_size="40KB")
    assert os.path.exists(os.path.join(folder, "model.safetensors.index.json"))
    write_logits("gpt2-tiny-bf16-sharded", bf)

    # What GPT2LMHeadModel expects: save_pretrained's tensors and the config dict.
    from safetensors import safe_open
    listing = {"config": model.config.to_dict(), "tensors": []}
    with safe_open(os.path.join(OUT, "gpt2-tiny", "model.safetensors"), framework="pt") as f:
        for k in f.keys():
            t = f.get_tensor(k)
            listing["tensors"].append({"name": k, "shape": list(t.shape), "dtype": str(t.dtype)})
    listing["tensors"].sort(key=lambda e: e["name"])
    listing["config"].pop("transformers_version", None)
    with open(os.path.join(OUT, "gpt2-tiny.listing.json"), "w") as f:
        json.dump(listing, f, indent=1, sort_keys=True)
        f.write("\n")
    for root, _, files in os.walk(OUT):
        for name in sorted(files):
            print(os.path.relpath(os.path.join(root, name), OUT), os.path.getsize(os.path.join(root, name)))


def gpt2_small(folder):
    torch.manual_seed(SEED)
    GPT2LMHeadModel(GPT2Config()).save_pretrained(folder, safe_serialization=True)
    bpe = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data", "gpt2-bpe")
    if os.path.isdir(bpe):
        shutil.copy(os.path.join(bpe, "encoder.json"), os.path.join(folder, "vocab.json"))
        shutil.copy(os.path.join(bpe, "vocab.bpe"), os.path.join(folder, "merges.txt"))


if __name__ == "__main__":
    import sys
    if len(sys.argv) == 3 and sys.argv[1] == "--gpt2-small":
        gpt2_small(sys.argv[2])
    else:
        main()
