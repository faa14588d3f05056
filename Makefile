# TinyGPT build entry points. Numeric code is always built in release (debug is 10–120× slower).
SWIFT ?= swift
ARCH := $(shell uname -m)
# AVX2 + FMA code generation (LLVM cpu "haswell") for our own loops on x86-64 (OpenBLAS picks its kernels at run time).
ifeq ($(ARCH),x86_64)
CPUFLAGS := -Xswiftc -target-cpu -Xswiftc haswell
endif
RELEASE := -c release $(CPUFLAGS)
BIN := .build/release/tinygpt

.PHONY: deps build test bench bench-compare bench-port demo data fetch-data clean check-report

# Datasets: the copy in ../shared/data when it is there, otherwise `tinygpt fetch NAME` downloads and
# verifies it into data/NAME once (same layout; see data/README.md).
SHARED_DATA := ../shared/data
SST2 := $(if $(wildcard $(SHARED_DATA)/sst2/train.jsonl),$(SHARED_DATA)/sst2,data/sst2)
ALPACA := $(if $(wildcard $(SHARED_DATA)/alpaca-2k/train.jsonl),$(SHARED_DATA)/alpaca-2k,data/alpaca-2k)
GSM8K := $(if $(wildcard $(SHARED_DATA)/gsm8k/train.jsonl),$(SHARED_DATA)/gsm8k,data/gsm8k)
GPT2_BPE := $(if $(wildcard $(SHARED_DATA)/gpt2-bpe/encoder.json),$(SHARED_DATA)/gpt2-bpe,data/gpt2-bpe)

deps:
	@if ! pkg-config --exists openblas || ! pkg-config --exists ompi-c || ! command -v mpirun >/dev/null; then \
		echo "installing libopenblas-dev, libopenmpi-dev, openmpi-bin"; \
		apt-get update && apt-get install -y libopenblas-dev libopenmpi-dev openmpi-bin; \
	fi

build: deps
	$(SWIFT) build $(RELEASE)

# The data-parallel tests run the built tinygpt under mpirun, so the executables are built first.
test: deps
	$(SWIFT) build $(RELEASE)
	$(SWIFT) test $(RELEASE)
	$(MAKE) fuzz-smoke

# libFuzzer harnesses for every parser of user files (Tests/Fuzz/, seeds in Tests/Fuzz/corpus/),
# built by scripts/build_fuzz.sh beside the release build. Inputs libFuzzer finds interesting go to
# .build/fuzz/corpus/NAME (the committed seeds are only read); a crash leaves its input in .build/fuzz/.
# fuzz: 10^6 inputs per harness; fuzz-smoke: 3 seconds each.
FUZZERS := safetensors shard manifest state tokenizer config jsonl
FUZZ_RUNS ?= 1000000
FUZZ_FLAGS := -rss_limit_mb=4096 -timeout=20 -print_final_stats=1 -artifact_prefix=.build/fuzz/
FUZZ_ENV := ASAN_OPTIONS=detect_leaks=0:malloc_context_size=0

.PHONY: fuzz fuzz-smoke fuzz-build
fuzz-build:
	$(SWIFT) build $(RELEASE) --product tinygpt
	scripts/build_fuzz.sh $(FUZZERS)

fuzz: fuzz-build
	@for f in $(FUZZERS); do \
		mkdir -p .build/fuzz/corpus/$$f; echo "fuzz-$$f: $(FUZZ_RUNS) runs"; \
		$(FUZZ_ENV) .build/fuzz/fuzz-$$f -runs=$(FUZZ_RUNS) $(FUZZ_FLAGS) .build/fuzz/corpus/$$f Tests/Fuzz/corpus/$$f \
			2> .build/fuzz/$$f.log || { tail -40 .build/fuzz/$$f.log; exit 1; }; \
		grep -E "^Done|stat::number_of_executed_units|stat::peak_rss_mb" .build/fuzz/$$f.log; \
	done

fuzz-smoke: fuzz-build
	@for f in $(FUZZERS); do \
		mkdir -p .build/fuzz/corpus/$$f; \
		$(FUZZ_ENV) .build/fuzz/fuzz-$$f -max_total_time=3 $(FUZZ_FLAGS) .build/fuzz/corpus/$$f Tests/Fuzz/corpus/$$f \
			2> .build/fuzz/$$f.log || { tail -40 .build/fuzz/$$f.log; exit 1; }; \
		echo "fuzz-$$f: $$(grep -E '^Done' .build/fuzz/$$f.log)"; \
	done

bench: deps
	$(SWIFT) build $(RELEASE) --product Benchmarks
	.build/release/Benchmarks

# TinyGPT against karpathy/nanoGPT's own train.py (a checkout you name: NANOGPT=path/to/nanoGPT, from
# git clone https://github.com/karpathy/nanoGPT; nothing of it is copied here). Alternating pairs of
# whole processes (scripts/bench_nanogpt.py): step time of the CPU recipe (10 pairs), whole runs
# (3 pairs: wall time, peak RSS, final val loss) and the baby GPT (2 pairs). Needs torch and numpy.
BENCH_THREADS ?= 2
NANOGPT ?=
bench-compare: build data
	@test -n "$(NANOGPT)" || { echo "bench-compare: set NANOGPT=path/to/nanoGPT (git clone https://github.com/karpathy/nanoGPT)"; exit 1; }
	python3 scripts/bench_nanogpt.py --nanogpt "$(NANOGPT)" --threads $(BENCH_THREADS) --cases cpu --pairs 10
	python3 scripts/bench_nanogpt.py --nanogpt "$(NANOGPT)" --threads $(BENCH_THREADS) --cases cpu --pairs 3 --whole-run
	python3 scripts/bench_nanogpt.py --nanogpt "$(NANOGPT)" --threads $(BENCH_THREADS) --cases baby --pairs 2

# Our training step beside scripts/bench_pytorch.py, this project's PyTorch port of nanoGPT's model and
# loop (a second reference: same model, random batches), then 5 alternating pairs of the CPU recipe.
bench-port: deps
	@python3 -c "import torch" 2>/dev/null || { echo "bench-port: PyTorch is not installed (pip install torch)"; exit 1; }
	$(SWIFT) build $(RELEASE) --product Benchmarks
	.build/release/Benchmarks --threads $(BENCH_THREADS) --json .build/bench-ours.json train
	python3 scripts/bench_pytorch.py --threads $(BENCH_THREADS) --compare .build/bench-ours.json
	python3 scripts/bench_pytorch.py --threads $(BENCH_THREADS) --pairs 5 --cases cpu --ours .build/release/Benchmarks

# Tiny Shakespeare, character-level (nanoGPT's shakespeare_char): data/shakespeare_char/.
data/shakespeare_char/manifest.json: | build
	$(BIN) prepare --input "$$(scripts/fetch_shakespeare.sh)" --tokenizer char --out data/shakespeare_char --overwrite

data: data/shakespeare_char/manifest.json

data/sst2/train.jsonl: | build
	$(BIN) fetch sst2 --out data/sst2
data/alpaca-2k/train.jsonl: | build
	$(BIN) fetch alpaca-2k --out data/alpaca-2k
data/gsm8k/train.jsonl: | build
	$(BIN) fetch gsm8k --out data/gsm8k
data/gpt2-bpe/encoder.json: | build
	$(BIN) fetch gpt2-bpe --out data/gpt2-bpe

# Every dataset and tokenizer file the demos and examples read (GPT-2's weights: tinygpt fetch gpt2).
fetch-data: $(SST2)/train.jsonl $(ALPACA)/train.jsonl $(GSM8K)/train.jsonl $(GPT2_BPE)/encoder.json
	@scripts/fetch_shakespeare.sh

# Pretrain nanoGPT's CPU recipe on tiny Shakespeare, then print a sample.
demo: build data
	$(BIN) pretrain --config configs/shakespeare-char-cpu.json --out checkpoints/shakespeare-char-cpu --resume auto
	$(BIN) sample --checkpoint checkpoints/shakespeare-char-cpu --max-new-tokens 500 --prompt "ROMEO:"

clean:
	rm -rf .build

# Fine-tuning demo (GPT-1's recipe at toy scale, about 8 minutes on 2 cores): a byte-level BPE
# tokenizer and a small GPT pretrained on the SST-2 training sentences as unlabelled text (reused
# when already there), then fine-tuned to classify sentiment (classifier on the extract token plus
# 0.5 x the LM loss), and the best checkpoint evaluated on the dev set (majority class: 50.9%).
# demo-finetune-ablations repeats the fine-tuning with --lm-weight 0 and without pretraining.
SST2_FINETUNE := --task classify --train $(SST2)/train.jsonl --dev $(SST2)/dev.jsonl \
	--max-iters 2500 --eval-interval 500 --learning-rate 5e-4 --set warmup_iters=50 --set log_interval=100

.PHONY: demo-finetune demo-finetune-ablations

data/sst2_bpe/manifest.json: | build $(SST2)/train.jsonl
	$(BIN) prepare --input $(SST2)/train.jsonl --tokenizer bpe:4096 --out data/sst2_bpe --overwrite

demo-finetune: build $(SST2)/train.jsonl data/sst2_bpe/manifest.json
	$(BIN) pretrain --config configs/sst2-bpe-cpu.json --out checkpoints/sst2-bpe-cpu --resume auto
	$(BIN) finetune --init checkpoints/sst2-bpe-cpu $(SST2_FINETUNE) --out checkpoints/sst2-classify --resume auto
	$(BIN) eval --checkpoint checkpoints/sst2-classify/best --task classify --dev $(SST2)/dev.jsonl

demo-finetune-ablations: demo-finetune
	$(BIN) finetune --init checkpoints/sst2-bpe-cpu $(SST2_FINETUNE) --lm-weight 0 --out checkpoints/sst2-classify-lm0 --resume auto
	$(BIN) eval --checkpoint checkpoints/sst2-classify-lm0/best --task classify --dev $(SST2)/dev.jsonl
	$(BIN) finetune --init scratch --config configs/sst2-bpe-cpu.json $(SST2_FINETUNE) --out checkpoints/sst2-classify-scratch --resume auto
	$(BIN) eval --checkpoint checkpoints/sst2-classify-scratch/best --task classify --dev $(SST2)/dev.jsonl

# Interoperability check (needs torch and transformers; not part of `make test`): trains two small
# models (character and GPT-2 tokenizers) for a few steps, exports each with `tinygpt export --format
# hf`, and checks in transformers that the held-out loss equals `tinygpt eval`'s within 1e-4 on the same
# token count, and that AutoTokenizer gives our ids on tiny Shakespeare (char, gpt2; a trained bpe:512
# is learnt from the training text only, so it is checked on the held-out count and loss) and on
# GPT-2's reference lines.
INTEROP := .build/interop
SHAKESPEARE := ../shared/data/tinyshakespeare.txt
INTEROP_TRAIN := --set eval_interval=40 --set eval_iters=2 --set warmup_iters=5 --set log_interval=20 --max-iters 40

.PHONY: check-interop
check-interop: build
	@python3 -c "import torch, transformers" 2>/dev/null || { echo "check-interop: needs torch and transformers (pip install torch transformers)"; exit 1; }
	rm -rf $(INTEROP) && mkdir -p $(INTEROP)
	head -c 1000000 $(SHAKESPEARE) > $(INTEROP)/train.txt
	tail -c +1000001 $(SHAKESPEARE) | head -c 20000 > $(INTEROP)/heldout.txt
	@for tok in char gpt2 bpe:512; do \
		set -e; d=$(INTEROP)/$${tok%%:*}; \
		$(BIN) prepare --input $(INTEROP)/train.txt --tokenizer $$tok --out $$d-data; \
		[ $$tok = bpe:512 ] || $(BIN) prepare --input $(SHAKESPEARE) --tokenizer $$tok --val-fraction 0 --out $$d-ids; \
		$(BIN) pretrain --config configs/shakespeare-char-cpu.json --dataset $$d-data --out $$d-run $(INTEROP_TRAIN) \
			$$( [ $$tok = char ] || echo "--set n_layer=2 --set n_embd=64 --set bias=true" ); \
		$(BIN) export --checkpoint $$d-run --format hf --out $$d-hf; \
		$(BIN) eval --checkpoint $$d-run --task lm --text $(INTEROP)/heldout.txt --json > $$d-eval.json; \
		python3 scripts/check_interop.py --hf $$d-hf --text $(INTEROP)/heldout.txt --eval-json $$d-eval.json \
			$$( [ $$tok = bpe:512 ] || echo "--ids-text $(SHAKESPEARE) --ids-dir $$d-ids" ) \
			$$( [ $$tok = gpt2 ] && echo "--reference ../shared/data/gpt2-bpe/reference.jsonl" ); \
	done

# The run report drawn in headless Chromium (Debian's chromium package): two short runs overlaid;
# fails on console messages or an empty chart; the picture is .build/check-report/report.png.
check-report: build
	scripts/check_report.sh
