#!/usr/bin/env python3
"""Speed of the Python package: ``nncost.analyze`` in process, and
``nncost.profile`` with the export's time and nncost's time apart.

Requirements: the package installed (``pip install ./python``), and for
``profile`` torch, torchvision, onnxscript and transformers.

Usage (repository root)::

    python scripts/bench_python.py [--model resnet50_full.onnx] [--runs 51]

* ``analyze``: ``nncost.analyze(PATH, dims={"batch": 1})`` then reading
  ``.params`` and ``.macs`` (which renders and parses the JSON report), timed
  with ``time.perf_counter`` around the whole call, after 5 warm-ups;
  medians. PATH is the stripped ResNet-50 fixture and, with ``--model``, a
  file with its weights embedded (``scripts/bench.py --workdir DIR`` makes
  one).
* ``profile``: ResNet-50 (torchvision, random weights, 1x3x224x224) and
  BERT-base (transformers ``BertModel(BertConfig())``, random weights, 1x128
  token ids); ``report.export_seconds`` (torch.onnx.export, dynamo) and
  ``report.analysis_seconds`` (serialising the graph without its weights and
  analysing it), medians of ``--profile-runs`` runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings
from pathlib import Path

import nncost

ROOT = Path(__file__).resolve().parent.parent


def time_analyze(path: Path, runs: int) -> float:
    def once() -> None:
        r = nncost.analyze(path, dims={"batch": 1})
        assert r.params > 0 and r.macs > 0

    for _ in range(5):
        once()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        once()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def time_profile(make, args, runs: int):
    export, analysis = [], []
    for _ in range(runs):
        module = make()
        r = nncost.profile(module, args)
        export.append(r.export_seconds)
        analysis.append(r.analysis_seconds)
    return statistics.median(export), statistics.median(analysis), r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, help="an ONNX file with its weights embedded (e.g. ResNet-50, 102 MB)")
    ap.add_argument("--runs", type=int, default=51)
    ap.add_argument("--profile-runs", type=int, default=3)
    ap.add_argument("--skip-profile", action="store_true")
    args = ap.parse_args()

    print(f"nncost {nncost.__version__}; {os.cpu_count()} CPUs; load {os.getloadavg()}")
    files = [ROOT / "tests/fixtures/torchvision/resnet50.onnx"]
    if args.model:
        files.append(args.model)
    for f in files:
        size = f.stat().st_size / 1e6
        ms = time_analyze(f, args.runs) * 1e3
        print(f"analyze  {f.name:<24} {size:8.1f} MB  median {ms:7.3f} ms over {args.runs} runs")

    if args.skip_profile:
        return
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    warnings.filterwarnings("ignore")
    import torch
    import torchvision
    import transformers

    torch.manual_seed(0)
    cases = [
        ("ResNet-50", lambda: torchvision.models.resnet50(weights=None), (torch.randn(1, 3, 224, 224),)),
        (
            "BERT-base",
            lambda: transformers.BertModel(transformers.BertConfig()),
            (torch.randint(0, 30522, (1, 128)),),
        ),
    ]
    for name, make, inputs in cases:
        export, analysis, r = time_profile(make, inputs, args.profile_runs)
        print(
            f"profile  {name:<10} export {export:7.3f} s   nncost {analysis * 1e3:8.2f} ms   "
            f"params {r.params:,}  MACs {r.macs:,}  ({len(r.nodes)} nodes)"
        )


if __name__ == "__main__":
    main()
