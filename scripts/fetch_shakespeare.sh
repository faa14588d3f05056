#!/usr/bin/env bash
# Prints the path of tiny Shakespeare (1,115,394 characters), fetching it first if needed:
# uses ../shared/data/tinyshakespeare.txt when present, otherwise data/tinyshakespeare.txt,
# downloading it there from its public source (Karpathy's char-rnn repository) when missing.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
shared="$root/../shared/data/tinyshakespeare.txt"
local_copy="$root/data/tinyshakespeare.txt"
url="https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"

if [ -s "$shared" ]; then
    echo "$(cd "$(dirname "$shared")" && pwd)/tinyshakespeare.txt"
    exit 0
fi
if [ ! -s "$local_copy" ]; then
    mkdir -p "$root/data"
    echo "downloading $url" >&2
    curl -fsSL "$url" -o "$local_copy.partial"
    mv "$local_copy.partial" "$local_copy"
fi
echo "$local_copy"
