#!/usr/bin/env bash
# Builds the libFuzzer harnesses of Tests/Fuzz as .build/fuzz/fuzz-NAME. The parsers' modules (Data,
# Config, Checkpoint) are compiled again with coverage and AddressSanitizer (-sanitize=fuzzer,address);
# the layers below them and swift-crypto are linked from the ordinary release build, so that build must
# exist (swift build -c release). Outside Package.swift, so `swift build` never sees libFuzzer.
# Usage: scripts/build_fuzz.sh NAME...
set -euo pipefail
cd "$(dirname "$0")/.."
REL=.build/release
OUT=.build/fuzz
CRYPTO=.build/checkouts/swift-crypto/Sources
[ -f "$REL/Modules/Kernels.swiftmodule" ] || { echo "build_fuzz: build first (swift build -c release)"; exit 1; }
mkdir -p "$OUT/Modules" "$OUT/obj"
CPU=()
[ "$(uname -m)" = x86_64 ] && CPU=(-target-cpu haswell)
FLAGS=(-O -wmo -parse-as-library -sanitize=fuzzer,address -enforce-exclusivity=unchecked -swift-version 5 "${CPU[@]}"
       -I "$OUT/Modules" -I "$REL/Modules" -module-cache-path "$OUT/ModuleCache"
       -Xcc "-fmodule-map-file=$CRYPTO/CCryptoBoringSSLShims/include/module.modulemap"
       -Xcc -I -Xcc "$CRYPTO/CCryptoBoringSSLShims/include"
       -Xcc "-fmodule-map-file=$CRYPTO/CCryptoBoringSSL/include/module.modulemap"
       -Xcc -I -Xcc "$CRYPTO/CCryptoBoringSSL/include"
       -Xcc -fmodule-map-file=Sources/COpenBLAS/module.modulemap $(pkg-config --cflags-only-I openblas))

# An instrumented module, rebuilt when one of its sources is newer than its object.
module() {
    local name=$1 obj="$OUT/obj/$1.o"
    if [ -f "$obj" ] && [ -z "$(find "Sources/$name" -name '*.swift' -newer "$obj")" ]; then return; fi
    echo "fuzz: compiling $name"
    swiftc "${FLAGS[@]}" -module-name "$name" -emit-module -emit-module-path "$OUT/Modules/$name.swiftmodule" \
        -c Sources/"$name"/*.swift -o "$obj"
}
module Data
module Config
module Checkpoint

# The release build's objects of the other modules: the Swift ones as its output file maps name them
# (a build folder may also hold objects of sources that no longer exist), the C ones all.
LINK=("$OUT"/obj/Data.o "$OUT"/obj/Config.o "$OUT"/obj/Checkpoint.o)
for m in Kernels Autograd NN Optim Crypto CryptoBoringWrapper; do
    while IFS= read -r o; do LINK+=("$o"); done < <(python3 -c 'import json, sys
for k, v in json.load(open(sys.argv[1])).items():
    if k and "object" in v: print(v["object"])' "$REL/$m.build/output-file-map.json")
done
for m in CCryptoBoringSSLShims CCryptoBoringSSL; do
    while IFS= read -r o; do LINK+=("$o"); done < <(find "$REL/$m.build" -name '*.o' | sort)
done
for name in "$@"; do
    extra=()
    # The pretraining config lives in Train; its two field tables are compiled into the harness.
    [ "$name" = config ] && extra=(Sources/Train/TrainConfig.swift Sources/Train/OptimizationConfig.swift)
    echo "fuzz: linking fuzz-$name"
    swiftc "${FLAGS[@]}" -module-name "Fuzz_$name" Tests/Fuzz/FuzzSupport.swift "Tests/Fuzz/$name.swift" \
        "${extra[@]}" "${LINK[@]}" -lopenblas -o "$OUT/fuzz-$name" 2> "$OUT/link-$name.log" \
        || { cat "$OUT/link-$name.log"; exit 1; }
done
