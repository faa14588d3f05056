# TinyGPT build entry points. Numeric code is always built in release (debug is 10–120× slower).
SWIFT ?= swift
ARCH := $(shell uname -m)
# AVX2 + FMA code generation (LLVM cpu "haswell") for our own loops on x86-64 (OpenBLAS picks its kernels at run time).
ifeq ($(ARCH),x86_64)
CPUFLAGS := -Xswiftc -target-cpu -Xswiftc haswell
endif
RELEASE := -c release $(CPUFLAGS)
BIN := .build/release/tinygpt

.PHONY: deps build test bench demo data clean

deps:
	@if ! pkg-config --exists openblas; then \
		echo "installing libopenblas-dev"; \
		apt-get update && apt-get install -y libopenblas-dev; \
	fi

build: deps
	$(SWIFT) build $(RELEASE)

test: deps
	$(SWIFT) test $(RELEASE)

bench: deps
	$(SWIFT) build $(RELEASE) --product Benchmarks
	.build/release/Benchmarks

# Tiny Shakespeare, character-level (nanoGPT's shakespeare_char): data/shakespeare_char/.
data/shakespeare_char/manifest.json: | build
	$(BIN) prepare --input "$$(scripts/fetch_shakespeare.sh)" --tokenizer char --out data/shakespeare_char --overwrite

data: data/shakespeare_char/manifest.json

# Pretrain nanoGPT's CPU recipe on tiny Shakespeare, then print a sample.
demo: build data
	$(BIN) pretrain --config configs/shakespeare-char-cpu.json --out checkpoints/shakespeare-char-cpu --resume auto
	$(BIN) sample --checkpoint checkpoints/shakespeare-char-cpu --max-new-tokens 500 --prompt "ROMEO:"

clean:
	rm -rf .build
