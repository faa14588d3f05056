#!/bin/sh
# make check-report: two short pretraining runs (learning rates 1e-3 and 2e-3), their report, and the
# report drawn by headless Chromium. Fails when the page logs anything to the console (it has no
# scripts, and its Content-Security-Policy turns any fetch into a console error), when it has no SVG,
# or when an SVG draws no line or point. Leaves the picture in .build/check-report/report.png.
set -eu
BIN=.build/release/tinygpt
DIR=.build/check-report
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
    echo "check-report: Chromium is not installed (apt-get install -y chromium)"; exit 1
fi
TEXT=${SHAKESPEARE:-../shared/data/tinyshakespeare.txt}
rm -rf "$DIR" && mkdir -p "$DIR"
$BIN prepare --input "$TEXT" --tokenizer char --out "$DIR/data" >/dev/null
for lr in 1e-3 2e-3; do
    $BIN pretrain --config configs/shakespeare-char-cpu.json --dataset "$DIR/data" --out "$DIR/lr-$lr" \
        --max-iters 60 --eval-interval 20 --eval-iters 5 --learning-rate $lr --set warmup_iters=20 \
        --set log_interval=2 | tail -2
done
$BIN report "$DIR/lr-1e-3" "$DIR/lr-2e-3" --out "$DIR/report.html"
$BIN report "$DIR/lr-1e-3" --format csv --out "$DIR/report.csv"
"$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars --enable-logging=stderr --v=0 \
    --window-size=1280,1400 --screenshot="$DIR/report.png" "file://$PWD/$DIR/report.html" 2>"$DIR/console.log" >/dev/null
"$CHROMIUM" --headless --no-sandbox --disable-gpu --enable-logging=stderr --v=0 \
    --dump-dom "file://$PWD/$DIR/report.html" 2>>"$DIR/console.log" >"$DIR/dom.html"
python3 - "$DIR" <<'PY'
import re, sys
d = sys.argv[1]
log = open(f"{d}/console.log", errors="replace").read()
console = [l for l in log.splitlines() if ":CONSOLE" in l]
dom = open(f"{d}/dom.html", errors="replace").read()
svgs = re.findall(r"<svg\b.*?</svg>", dom, re.S)
empty = [i for i, s in enumerate(svgs) if "<polyline" not in s and "<circle" not in s]
problems = []
if console: problems.append("console messages:\n  " + "\n  ".join(console))
if not svgs: problems.append("the page has no SVG")
if empty: problems.append(f"SVG(s) {empty} draw nothing")
if problems:
    print("check-report: FAILED\n" + "\n".join(problems)); sys.exit(1)
print(f"check-report: ok ({len(svgs)} charts, no console messages); picture: {d}/report.png")
PY
