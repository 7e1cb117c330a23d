#!/usr/bin/env bash
# The web page tested in headless Chromium (scripts/web_test.mjs): built by
# scripts/build_web.sh, driven by playwright-core (pinned, installed from
# npm into target/web-test), compared with the command line's JSON. Makes
# the 100 MB ResNet-50 it times from the weight-stripped torchvision
# fixture, with random weights, in the conformance venv (onnx and numpy),
# and prints the wasm's size raw and gzipped.
#
#     scripts/web_test.sh [path/to/nncost]    (default: target/debug/nncost)
set -euo pipefail
cd "$(dirname "$0")/.."
nncost="${1:-target/debug/nncost}"
target_dir="${CARGO_TARGET_DIR:-target}"
work="$target_dir/web-test"
mkdir -p "$work"

if ! command -v node >/dev/null 2>&1; then
    echo "web_test: node is not installed" >&2
    exit 1
fi
if [ ! -x /usr/bin/chromium ]; then
    echo "web_test: /usr/bin/chromium is not installed" >&2
    exit 1
fi

scripts/build_web.sh

playwright=1.65.2
if [ "$(node -p "require('./$work/node_modules/playwright-core/package.json').version" 2>/dev/null)" != "$playwright" ]; then
    npm install --prefix "$work" --no-audit --no-fund --no-save --silent "playwright-core@$playwright"
fi

# The sizes the issue bounds: under 3 MB, and under 1 MB compressed.
module="$target_dir/web/pkg/nncost_web_bg.wasm"
raw=$(wc -c < "$module")
gz=$(gzip -9 -c "$module" | wc -c)
echo "wasm: $raw bytes ($(( raw / 1024 )) KiB), $gz gzipped ($(( gz / 1024 )) KiB)"
if [ "$raw" -ge 3000000 ] || [ "$gz" -ge 1000000 ]; then
    echo "web_test: the wasm is over 3 MB or over 1 MB gzipped" >&2
    exit 1
fi

# ResNet-50 with its weights in the file, as torch.onnx.export writes it:
# the fixture's initializers (stripped: their data points to a file that
# is not there) filled with random float32.
resnet50="$work/resnet50_full.onnx"
if [ ! -s "$resnet50" ]; then
    venv="$target_dir/conformance-venv"
    if [ ! -x "$venv/bin/python" ]; then
        python3 -m venv "$venv"
    fi
    "$venv/bin/pip" install --quiet --disable-pip-version-check onnx==1.23.2 numpy==2.4.6
    "$venv/bin/python" - "$resnet50" <<'PY'
import sys
import numpy as np
import onnx
from onnx import helper

m = onnx.load("tests/fixtures/torchvision/resnet50.onnx", load_external_data=False)
rng = np.random.default_rng(0)
for t in m.graph.initializer:
    if t.data_location == onnx.TensorProto.EXTERNAL:
        dtype = helper.tensor_dtype_to_np_dtype(t.data_type)
        t.raw_data = rng.standard_normal(tuple(t.dims)).astype(dtype).tobytes()
        t.data_location = onnx.TensorProto.DEFAULT
        del t.external_data[:]
onnx.save(m, sys.argv[1] + ".tmp")
PY
    mv "$resnet50.tmp" "$resnet50"
fi

node scripts/web_test.mjs "$nncost" "$target_dir/web/index.html" "$resnet50"
