#!/usr/bin/env python3
"""Writes tests/fixtures/models/llama_1b_dynamo.onnx (+ llama_1b_dynamo.json):
a ``transformers.LlamaForCausalLM`` with Llama-3.2-1B's shape, exported to
ONNX with PyTorch's dynamo exporter and its weights stripped.

* The model is built from a ``LlamaConfig`` written below (Llama-3.2-1B's
  shape: 16 layers, hidden 2048, FFN 8192, 32 heads / 8 key-value heads,
  vocab 128256, tied embeddings, rope_theta 500000) with RANDOM weights
  (``LlamaForCausalLM(config)``, ``torch.manual_seed(0)``, then a tiny
  noise from ``break_value_ties`` of make_torchvision_fixtures.py so that
  the all-ones RMSNorm weights are not merged into one initializer by the
  exporter's optimizer), in eval mode,
  ``attn_implementation="sdpa"``, float32 (~5 GB of weights; float16 with
  ``--dtype float16`` if memory is short).  Nothing is downloaded: no
  ``from_pretrained``, and ``HF_HUB_OFFLINE=1`` is set before transformers
  is imported.
* Export: ``torch.onnx.export(model, (input_ids,), kwargs={"use_cache":
  False}, dynamo=True, dynamic_shapes=...)`` with ``input_ids`` of example
  shape [2, 16] (batch 2, not 1: torch.export specializes dimensions whose
  example size is 1), dynamic as ``batch`` x ``seq``; the only output is
  ``logits``.  If the dynamo export raises, the classic TorchScript exporter
  (``dynamo=False``, opset 17, ``dynamic_axes``) is used instead; the
  ``exporter`` field of the JSON says which one wrote the file.
* Of each node's ``metadata_props`` only ``pkg.torch.onnx.name_scopes`` and
  ``pkg.torch.onnx.class_hierarchy`` are kept (stack traces etc. dropped).
* The weights are stripped with ``strip_weights`` of
  ``scripts/make_torchvision_fixtures.py``: every initializer keeps its
  name/dims/dtype, tensors of ~1 KiB or more point at a
  ``llama_1b_dynamo.onnx.data`` file that does not exist.
* ``llama_1b_dynamo.json`` records the package versions, the config,
  ``torch_params`` (sum of ``p.numel()`` over ``model.parameters()``; the
  tied embedding / LM head is counted once: 1,235,814,400), the exporter and
  the numbers ``analyze_onnx`` (same script) reads from the stripped file
  (node count, op counts, initializer elements, ...).

Needs ~12 GB of RAM in float32 (peak RSS measured: 11.6 GB) and ~1.5 min
on 2 cores.  With the same package versions the .onnx and .json come out
the same, byte for byte.  Usage (repository root)::

    HF_HUB_OFFLINE=1 /work/pyenv/bin/python scripts/make_llama_1b_fixture.py
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SCRIPTS = Path(__file__).resolve().parent
REPO_ROOT = SCRIPTS.parent
sys.path.insert(0, str(SCRIPTS))
from make_torchvision_fixtures import analyze_onnx, break_value_ties, strip_weights  # noqa: E402

OUT_DIR = REPO_ROOT / "tests" / "fixtures" / "models"
NAME = "llama_1b_dynamo"
SEED = 0

# Llama-3.2-1B's shape (meta-llama/Llama-3.2-1B config.json), written here
# instead of downloaded.  rope_scaling ("llama3" type) is left out: it only
# changes the values of the rotary inverse frequencies, not the graph.
CONFIG = {
    "hidden_size": 2048,
    "intermediate_size": 8192,
    "num_hidden_layers": 16,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "vocab_size": 128256,
    "max_position_embeddings": 131072,
    "rope_theta": 500000.0,
    "tie_word_embeddings": True,
    "rms_norm_eps": 1e-5,
}
ATTN = "sdpa"
EXAMPLE_SHAPE = (2, 16)  # [batch, seq] the model is traced with
INPUT_NAME, OUTPUT_NAME = "input_ids", "logits"
CLASSIC_OPSET = 17
KEEP_METADATA = {"pkg.torch.onnx.name_scopes", "pkg.torch.onnx.class_hierarchy"}
DYNAMO = "torch.onnx.export(dynamo=True) [torch.export-based exporter]"
CLASSIC = f"torch.onnx.export(dynamo=False, opset_version={CLASSIC_OPSET}) [TorchScript exporter]"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def versions() -> dict:
    import onnx
    import onnxscript
    import torch
    import transformers

    return {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "onnx": onnx.__version__,
        "onnxscript": onnxscript.__version__,
    }


def build_model(config_kwargs: dict, dtype: str):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(SEED)
    config = LlamaConfig(**config_kwargs, use_cache=False, attn_implementation=ATTN)
    model = LlamaForCausalLM(config).to(getattr(torch, dtype)).eval()
    # A fresh model has bit-identical tensors (every RMSNorm weight is all
    # ones), which the exporter's optimizer merges into one initializer; a
    # tiny noise on every parameter (as in the other fixture scripts) makes
    # the graph look like that of a trained checkpoint.
    break_value_ties(model, SEED)
    return model


def keep_scope_metadata(proto) -> int:
    """Drop every node metadata_prop but the module scope ones; returns the
    number of entries removed."""
    removed = 0
    graphs = [proto.graph] + [f for f in proto.functions]
    for g in graphs:
        for node in g.node:
            kept = [p for p in node.metadata_props if p.key in KEEP_METADATA]
            removed += len(node.metadata_props) - len(kept)
            del node.metadata_props[:]
            node.metadata_props.extend(kept)
    return removed


def export_dynamo(model, input_ids):
    import torch
    from torch.export import Dim

    # use_cache (a kwarg) has no dynamic shape; it must still be named here.
    dynamic_shapes = {"input_ids": {0: Dim("batch"), 1: Dim("seq")}, "use_cache": None}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            model,
            (input_ids,),
            kwargs={"use_cache": False},
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_shapes=dynamic_shapes,
            dynamo=True,
        )
    # The exporter only renames the symbolic dims (s72, s70, ...) after the
    # Dim names when dynamic_shapes flattens to exactly one entry per ONNX
    # input, which the None of use_cache breaks; so name them here.
    shape = program.model.graph.inputs[0].shape
    mapping = {d: n for d, n in zip(shape, ("batch", "seq")) if isinstance(d.value, str) and d.value != n}
    if mapping:
        program.rename_axes(mapping)
    return program.model_proto


def export_classic(model, input_ids, tmp: Path):
    import onnx
    import torch

    class LogitsOnly(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids):
            return self.m(input_ids=input_ids, use_cache=False, return_dict=True).logits

    path = tmp / "classic" / f"{NAME}.onnx"
    path.parent.mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            LogitsOnly(model).eval(),
            (input_ids,),
            str(path),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch", 1: "seq"}, OUTPUT_NAME: {0: "batch", 1: "seq"}},
            opset_version=CLASSIC_OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    return onnx.load(str(path))  # with its external data


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out-dir", default=str(OUT_DIR))
    ap.add_argument("--dtype", default="float32", choices=["float32", "float16"])
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    # for a quick check of the pipeline only: override config entries, e.g.
    # --override num_hidden_layers=2 --override vocab_size=1000
    ap.add_argument("--override", action="append", default=[], help=argparse.SUPPRESS)
    args = ap.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    config = dict(CONFIG)
    for item in args.override:
        k, v = item.split("=", 1)
        config[k] = type(CONFIG[k])(v) if not isinstance(CONFIG[k], bool) else v == "True"
    out_dir = Path(args.out_dir)
    final_path = out_dir / f"{NAME}.onnx"
    json_path = out_dir / f"{NAME}.json"

    vers = versions()
    log(f"versions: {vers}")
    t0 = time.time()
    model = build_model(config, args.dtype)
    torch_params = sum(p.numel() for p in model.parameters())
    log(f"built in {time.time() - t0:.1f}s: {torch_params:,} parameters ({args.dtype})")

    g = torch.Generator().manual_seed(SEED)
    input_ids = torch.randint(0, config["vocab_size"], EXAMPLE_SHAPE, generator=g)

    entry: dict = {
        "name": NAME,
        "file": final_path.name,
        "family": "llama",
        "model_class": "transformers.LlamaForCausalLM",
        "config": config,
        "attn_implementation": ATTN,
        "dtype": args.dtype,
        "seed": SEED,
        "torch_params": torch_params,
        "trace_input_shape": list(EXAMPLE_SHAPE),
        "versions": vers,
    }

    with tempfile.TemporaryDirectory(prefix="nncost_llama1b_") as tmp:
        tmp = Path(tmp)
        t0 = time.time()
        try:
            proto = export_dynamo(model, input_ids)
            entry["exporter"] = DYNAMO
        except Exception as exc:
            traceback.print_exc()
            log(f"dynamo export failed after {time.time() - t0:.1f}s; falling back to the classic exporter")
            entry["dynamo_error"] = f"{type(exc).__name__}: {exc}"[:2000]
            t0 = time.time()
            proto = export_classic(model, input_ids, tmp)
            entry["exporter"] = CLASSIC
        # (the time is only logged, so that the JSON comes out the same each run)
        log(f"exported in {time.time() - t0:.1f}s with {entry['exporter']}")
        del model

        entry["node_metadata_props_removed"] = keep_scope_metadata(proto)
        entry["node_metadata_props_kept"] = sorted(KEEP_METADATA)
        t0 = time.time()
        # work_dir: a fresh, not-yet-existing directory (strip_weights mkdirs it)
        entry["onnx_external_data_location"] = strip_weights(proto, final_path, tmp / "stripped")
        del proto
        log(f"stripped in {time.time() - t0:.1f}s -> {final_path}")

    entry["onnx_file_bytes"] = final_path.stat().st_size
    entry.update(analyze_onnx(final_path))
    json_path.write_text(json.dumps(entry, indent=1) + "\n")

    log(f"{final_path}: {entry['onnx_file_bytes']:,} bytes, {entry['node_count']} nodes, opset {entry['opset']}")
    log(f"initializer elements: float {entry['onnx_initializer_elements_float']:,}, "
        f"int {entry['onnx_initializer_elements_int']:,}, other {entry['onnx_initializer_elements_other']:,}; "
        f"torch_params {torch_params:,}")
    log(f"graph inputs {entry['graph_inputs']}, outputs {entry['graph_outputs']}")
    log(f"{json_path}: {json_path.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
