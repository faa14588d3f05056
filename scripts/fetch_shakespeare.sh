#!/usr/bin/env bash
# Prints the path of tiny Shakespeare (1,115,394 characters), fetching it first if needed:
# uses ../shared/data/tinyshakespeare.txt when present, otherwise data/tinyshakespeare/tinyshakespeare.txt,
# downloaded and checked against its pinned SHA-256 by `tinygpt fetch tinyshakespeare` (build first).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
shared="$root/../shared/data/tinyshakespeare.txt"
local_copy="$root/data/tinyshakespeare/tinyshakespeare.txt"

if [ -s "$shared" ]; then
    echo "$(cd "$(dirname "$shared")" && pwd)/tinyshakespeare.txt"
    exit 0
fi
if [ ! -s "$local_copy" ]; then
    "$root/.build/release/tinygpt" fetch tinyshakespeare --out "$root/data/tinyshakespeare" >&2
fi
echo "$local_copy"
