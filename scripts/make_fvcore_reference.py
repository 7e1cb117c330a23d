#!/usr/bin/env python3
"""Generate fvcore's per-module FLOP reference for torchvision ResNets.

Writes ``tests/fixtures/torchvision/fvcore_reference.json``: the numbers that
fvcore (facebookresearch/fvcore, ``fvcore.nn.FlopCountAnalysis``) reports for
``torchvision.models.resnet50`` and ``resnet18``, so that nncost's Rust tests
can compare their own per-layer / per-block counts against an independent,
widely used counter.

IMPORTANT -- units: fvcore counts one fused multiply-add as ONE "flop".  Its
numbers are therefore MACs (multiply-accumulates), not FLOPs; multiply by 2
for FLOPs in the "2 * MACs" convention.  The JSON says so in its ``note``.

fvcore's ``total`` is NOT torchvision's published "GFLOPS" figure: fvcore
also counts eval-mode batch_norm (2 per element with affine, 1 without) and
adaptive_avg_pool2d (1 per input element), which torchvision's figure leaves
out.  Restricted to conv + linear (``by_operator["conv"] +
by_operator["linear"]``, also stored as ``conv_linear``) fvcore agrees exactly
with torchvision: resnet50 4,089,184,256 (4.089 G), resnet18 1,814,073,344
(1.814 G).  With fvcore 0.1.5.post20221221 the full totals are resnet50
4,111,512,576 and resnet18 1,819,065,856.

What it does, for each model:

1. ``torch.manual_seed(0)``; build ``torchvision.models.<name>(weights=None)``
   (random init; nothing is downloaded -- counts do not depend on weights) and
   put it in eval mode;
2. input ``torch.zeros(1, 3, 224, 224)`` (counts are data-independent);
3. ``fca = FlopCountAnalysis(model, x)`` with fvcore's default op handles and
   warnings silenced; record

   * ``total``            -- ``fca.total()``;
   * ``conv_linear``      -- ``by_operator["conv"] + by_operator["linear"]``
     (the part comparable to torchvision's published figure);
   * ``by_module``        -- ``fca.by_module()``: module path -> count, for
     EVERY module at every depth (``""`` is the whole model; names are PyTorch
     module paths such as ``layer1``, ``layer1.0``, ``layer1.0.conv1``);
     modules that fvcore counted as zero (e.g. ``relu``) are kept, as 0;
   * ``by_operator``      -- ``fca.by_operator()``: op kind -> count;
   * ``unsupported_ops``  -- ``fca.unsupported_ops()``: op name -> number of
     times fvcore met an op it has no handle for (these contribute 0 to the
     counts; for ResNets they are element-wise ops such as ``aten::add_`` and
     pooling);
   * ``table_depth2``     -- text of ``flop_count_table(fca, max_depth=2)``.

All counts are written as integers; keys are sorted, so reruns give a
byte-identical file for the same fvcore / torch / torchvision versions.

Requirements: torch, torchvision, fvcore (``pip install fvcore``).  Generated
with fvcore 0.1.5.post20221221, torch 2.15.0, torchvision 0.29.2 (exact
versions are recorded in the JSON).

Regenerate (from the repository root)::

    /work/pyenv/bin/python scripts/make_fvcore_reference.py

Options: ``--out PATH`` to write elsewhere; ``--check`` to exit non-zero
unless ``conv_linear`` equals torchvision's published figure (resnet50
4,089,184,256; resnet18 1,814,073,344).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import warnings
from importlib import metadata
from pathlib import Path

warnings.filterwarnings("ignore")  # before importing fvcore / torch.jit users

import torch
import torchvision

from fvcore.nn import FlopCountAnalysis, flop_count_table

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "tests" / "fixtures" / "torchvision" / "fvcore_reference.json"

MODELS = ("resnet50", "resnet18")
INPUT_SHAPE = (1, 3, 224, 224)
EXPECTED_CONV_LINEAR = {"resnet50": 4_089_184_256, "resnet18": 1_814_073_344}
NOTE = (
    "fvcore counts a fused multiply-add as one flop: these are MACs "
    "(multiply by 2 for FLOPs). Input is zeros of input_shape, model in eval "
    "mode with weights=None; unsupported_ops contribute 0. total includes "
    "batch_norm and adaptive_avg_pool2d; conv_linear (conv + linear only) is "
    "what torchvision publishes as GFLOPS."
)


def analyse(name: str) -> dict:
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None).eval()
    x = torch.zeros(*INPUT_SHAPE)

    fca = FlopCountAnalysis(model, x)
    fca.unsupported_ops_warnings(False)
    fca.uncalled_modules_warnings(False)
    fca.tracer_warnings("none")

    with torch.no_grad():
        total = int(fca.total())
        raw_by_module = fca.by_module()
        by_operator = {str(k): int(v) for k, v in fca.by_operator().items()}
        unsupported = {str(k): int(v) for k, v in fca.unsupported_ops().items()}
        table = flop_count_table(fca, max_depth=2)

    # Every named module (all depths), including ones fvcore counted as 0.
    by_module: dict[str, int] = {}
    for mod_name, _ in model.named_modules():
        by_module[mod_name] = int(raw_by_module.get(mod_name, 0))
    # Anything fvcore reports that named_modules() did not list (should be none).
    for mod_name, v in raw_by_module.items():
        by_module.setdefault(mod_name, int(v))

    assert by_module[""] == total, (name, by_module[""], total)
    return {
        "input_shape": list(INPUT_SHAPE),
        "total": total,
        "conv_linear": by_operator.get("conv", 0) + by_operator.get("linear", 0),
        "by_module": by_module,
        "by_operator": by_operator,
        "unsupported_ops": unsupported,
        "table_depth2": table,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--check", action="store_true", help="assert known totals")
    args = ap.parse_args()

    logging.getLogger("fvcore").setLevel(logging.ERROR)
    torch.set_num_threads(1)

    result = {
        "fvcore": metadata.version("fvcore"),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "note": NOTE,
        "models": {name: analyse(name) for name in MODELS},
    }

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")

    ok = True
    for name in MODELS:
        m = result["models"][name]
        got = m["conv_linear"]
        want = EXPECTED_CONV_LINEAR[name]
        status = "ok" if got == want else f"DIFFERS (expected {want:,})"
        print(f"{name}: total {m['total']:,} MACs; conv+linear {got:,}  {status}")
        ok &= got == want
    print(f"wrote {args.out}")
    if args.check and not ok:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
