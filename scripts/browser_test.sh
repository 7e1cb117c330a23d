#!/usr/bin/env bash
# The HTML report in a real browser (Debian's chromium, headless): for a
# CNN, a transformer and a detector, the page loads without a console
# message, its self-test (the page opened with #selftest opens every module
# of the tree, sorts the node table by FLOPs and filters it) finds every
# <details> open and every node row, and the totals in the page equal the
# JSON report's.
#
#     scripts/browser_test.sh [path/to/nncost]    (default: target/debug/nncost)
set -euo pipefail
cd "$(dirname "$0")/.."
nncost="${1:-target/debug/nncost}"
browser="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$browser" ]; then
    echo "browser_test: chromium is not installed" >&2
    exit 1
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

check() {
    local name="$1"; shift
    "$nncost" "$@" --format html -o "$out/$name.html"
    "$nncost" "$@" --format json -o "$out/$name.json"
    timeout 120 "$browser" --headless --no-sandbox --disable-gpu --enable-logging=stderr --v=0 \
        --dump-dom "file://$out/$name.html#selftest" > "$out/$name.dom" 2> "$out/$name.log"
    python3 - "$out/$name" <<'PY'
import html, json, re, sys
base = sys.argv[1]
dom = open(base + ".dom").read()
log = open(base + ".log").read()
report = json.load(open(base + ".json"))
console = [l for l in log.splitlines() if ":CONSOLE" in l]
assert not console, f"console messages: {console}"
m = re.search(r'<pre id="selftest">([^<]*)</pre>', dom)
assert m and m.group(1), "the page's self-test wrote nothing"
got = json.loads(html.unescape(m.group(1)))
assert got["details"] > 0 and got["open"] == got["details"], got
assert got["rows"] == len(report["nodes"]), (got["rows"], len(report["nodes"]))
t = report["totals"]
text = lambda c: str(c) if not isinstance(c, dict) else c["expression"]
for k in ("params", "macs", "flops"):
    assert got["totals"][k] == text(t[k]), (k, got["totals"][k], t[k])
if "memory" in report:
    assert got["memory_peak"] == text(report["memory"]["file_order"]["peak_bytes"]), got
    assert got["live_chart"] >= 1, got
if "roofline" in report:
    want = report["roofline"]["seconds"]
    assert abs(got["roofline_seconds"] - want) <= 1e-9 * want, (got, want)
    timed = [n for n in report["nodes"] if n["time"]["seconds"] > 0 and n["time"]["intensity"] and (n["flops"] or 0) + (n["int_ops"] or 0) > 0]
    assert got["roofline_points"] == len(timed), (got["roofline_points"], len(timed))
assert "http://" not in dom.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in dom
print(f"{base.rsplit('/', 1)[-1]}: {got['rows']} rows, {got['details']} modules open, heaviest {got['heaviest']}, "
      f"totals equal the JSON's; page ready after {got['ready_ms']} ms")
PY
}

check cnn examples/resnet18.onnx --dim batch=1
check cnn_memory examples/resnet18.onnx --dim batch=1 --hardware h100 --dtype bf16
check transformer tests/fixtures/models/bert_tiny_classic_op17.onnx --dim batch=1 --dim seq=128
check detector tests/fixtures/torchvision_oracle/fasterrcnn_mobilenet_v3_large_320_fpn.onnx --bound max
# A 1B-parameter LLM (Llama-3.2-1B's shape, dynamo export), as the issue asks.
start=$(date +%s%N)
"$nncost" tests/fixtures/models/llama_1b_dynamo.onnx --dim batch=1 --dim seq=2048 --format html -o "$out/llm.html"
echo "llama_1b: HTML written in $(( ($(date +%s%N) - start) / 1000000 )) ms ($(wc -c < "$out/llm.html") bytes)"
check llm tests/fixtures/models/llama_1b_dynamo.onnx --dim batch=1 --dim seq=2048
# The largest fixture graph, for size: 13,712 nodes.
start=$(date +%s%N)
"$nncost" tests/fixtures/torchvision/swin_v2_b.onnx --dim batch=1 --format html -o "$out/big.html"
echo "swin_v2_b: HTML written in $(( ($(date +%s%N) - start) / 1000000 )) ms ($(wc -c < "$out/big.html") bytes)"
check big tests/fixtures/torchvision/swin_v2_b.onnx --dim batch=1
echo "browser_test: ok"
