# TinyGPT build entry points. Numeric code is always built in release (debug is 10–120× slower).
SWIFT ?= swift
ARCH := $(shell uname -m)
# AVX2 + FMA code generation (LLVM cpu "haswell") for our own loops on x86-64 (OpenBLAS picks its kernels at run time).
ifeq ($(ARCH),x86_64)
CPUFLAGS := -Xswiftc -target-cpu -Xswiftc haswell
endif
RELEASE := -c release $(CPUFLAGS)
BIN := .build/release/tinygpt

.PHONY: deps build test bench demo clean

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

clean:
	rm -rf .build
