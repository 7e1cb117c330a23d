#!/usr/bin/env python3
"""Writes tests/fixtures/models/gpt2_decode.onnx (+ gpt2_decode.json): one
decode step of GPT-2 small with a key/value cache, exported to ONNX and with
its weights stripped.

What the graph is.  It takes one new token per sequence and the cached keys
and values of the earlier tokens, and returns the logits for that token and
the caches grown by one position:

* inputs: ``input_ids`` int64 [batch, 1]; ``attention_mask`` int64
  [batch, past + 1] (1 for every position that may be attended to, the
  cached ones and the new one); then, for every layer i = 0..11,
  ``past_key_i`` and ``past_value_i``, float32 [batch, 12, past, 64];
* outputs: ``logits`` float32 [batch, 1, 50257], then ``present_key_i`` and
  ``present_value_i`` float32 [batch, 12, past + 1, 64].

``batch`` and ``past`` are symbolic dims; the total length is written as the
expression ``past + 1`` (a ``dim_param`` string that we hand to the exporter
through ``dynamic_axes``), not as a separate symbol.  There is no
``position_ids`` input: GPT-2 derives the position of the new token from the
length of the cache (``Shape`` of ``past_key_0``, then ``Range`` + ``Add``),
which is what transformers does when no position ids are given.

How it is made.  ``GPT2Config()`` with its defaults (12 layers, 12 heads,
width 768, vocab 50257, 1024 positions, LM head tied to the token
embedding), ``attn_implementation="eager"``; ``GPT2LMHeadModel(config)``
with random weights after ``torch.manual_seed(0)``, float32, eval mode.
Nothing is downloaded (no ``from_pretrained``; ``HF_HUB_OFFLINE=1`` is set
before transformers is imported).  As in the other fixture scripts, a tiny
noise is then added to every parameter (``break_value_ties`` of
make_torchvision_fixtures.py): a fresh model has many bit-identical tensors
(LayerNorm weights all ones, biases all zeros) that the exporter would fold
into one initializer fed through ``Identity`` nodes, which a trained
checkpoint never shows.

A small ``torch.nn.Module`` wraps the model: its forward takes plain tensors,
fills a ``transformers.DynamicCache`` layer by layer with
``cache.update(key, value, layer_idx)``, calls the model with
``use_cache=True`` and returns the logits and every layer's present key and
value as one flat tuple.  It is exported with the TorchScript exporter
(``torch.onnx.export(dynamo=False, opset_version=17, dynamic_axes=...)``)
at example shapes batch 2, past 8 (not 1, so no dim is specialised).  If that
raises, the torch.export-based exporter (``dynamo=True`` with
``dynamic_shapes``) is tried instead; the JSON's ``exporter`` field says
which one wrote the file.  The TorchScript exporter declares the logits'
middle dim as a fresh symbol (it comes out of a ``Slice``); since the graph
only takes one token, that dim is set to 1 afterwards and the JSON says so.
With constant folding on, the tied LM head is stored twice in the graph: the
embedding (for ``Gather``) and its transpose (for the final ``MatMul``).

Checks before stripping.  The exported model, with its weights, is run with
onnxruntime at batch 1, past 16 (all-ones mask) and its logits and present
tensors are compared with the PyTorch wrapper's (max abs difference at most
1e-3); a second run at batch 2, past 16 with the first positions of one row
masked out checks that the mask input really reaches the attention.  The
shapes onnxruntime returns at batch 1, past 16 are recorded.

Then the weights are stripped with ``strip_weights`` of
make_torchvision_fixtures.py: every initializer keeps its name, dims and
dtype, but the bytes of tensors of about 1 KiB or more point at a
``gpt2_decode.onnx.data`` file that does not exist, so the .onnx is small.
Node ``doc_string`` and ``metadata_props`` are dropped except the module
scope entries (the TorchScript exporter writes none anyway).

The JSON records the package versions, the config, ``torch_params`` (sum of
``p.numel()`` over ``model.parameters()``, the tied embedding counted once:
124,439,808), ``weight_bytes_fp32`` (4 x torch_params), the exporter, the
graph's input/output names with their declared shapes, the onnxruntime
output shapes at batch 1, past 16, the result of the checks, and the numbers
``analyze_onnx`` reads from the stripped file.

Takes about half a minute on 2 cores and a few GB of RAM.  With the same
package versions the .onnx and .json come out the same, byte for byte.
Usage (from the repository root)::

    HF_HUB_OFFLINE=1 /work/pyenv/bin/python scripts/make_gpt2_decode_fixture.py
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
NAME = "gpt2_decode"
SEED = 0
ATTN = "eager"
CONFIG: dict = {}  # GPT2Config() defaults; --override only for quick tests
EXAMPLE = {"batch": 2, "past": 8}  # shapes the model is traced with
CHECK = {"batch": 1, "past": 16}  # shapes onnxruntime is run at
TOL = 1e-3
TOTAL = "past + 1"  # dim_param of the total (cached + new) length
OPSET = 17
KEEP_METADATA = {"pkg.torch.onnx.name_scopes", "pkg.torch.onnx.class_hierarchy"}
CLASSIC = f"torch.onnx.export(dynamo=False, opset_version={OPSET}) [TorchScript exporter]"
DYNAMO = "torch.onnx.export(dynamo=True) [torch.export-based exporter]"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def versions() -> dict:
    import onnx
    import onnxruntime
    import onnxscript
    import torch
    import transformers

    return {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
        "onnxscript": onnxscript.__version__,
    }


def names(n_layer: int):
    past = [f"past_{kv}_{i}" for i in range(n_layer) for kv in ("key", "value")]
    present = [f"present_{kv}_{i}" for i in range(n_layer) for kv in ("key", "value")]
    return ["input_ids", "attention_mask"] + past, ["logits"] + present


def build(config_kwargs: dict):
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(SEED)
    config = GPT2Config(**config_kwargs, attn_implementation=ATTN)
    model = GPT2LMHeadModel(config).to(torch.float32).eval()
    break_value_ties(model, SEED)
    return config, model


def make_wrapper(model):
    import torch
    from transformers import DynamicCache

    n_layer = model.config.n_layer

    class DecodeStep(torch.nn.Module):
        """forward(input_ids, attention_mask, past_key_0, past_value_0, ...)
        -> (logits, present_key_0, present_value_0, ...)"""

        def __init__(self, m):
            super().__init__()
            self.model = m

        def forward(self, input_ids, attention_mask, *past):
            cache = DynamicCache(config=self.model.config)
            for i in range(n_layer):
                cache.update(past[2 * i], past[2 * i + 1], i)
            out = self.model(
                input_ids=input_ids,
                attention_mask=attention_mask,
                cache=cache,
                use_cache=True,
                return_dict=True,
            )
            present = []
            for layer in out.cache.layers[:n_layer]:
                present += [layer.keys, layer.values]
            return (out.logits, *present)

    return DecodeStep(model).eval()


def make_inputs(config, batch: int, past: int, seed: int, pad_rows: dict | None = None):
    """input_ids, attention_mask, past_key_0, past_value_0, ... as torch
    tensors; pad_rows {row: n} zeroes the first n mask positions of a row."""
    import torch

    g = torch.Generator().manual_seed(seed)
    head_dim = config.n_embd // config.n_head
    ids = torch.randint(0, config.vocab_size, (batch, 1), generator=g)
    mask = torch.ones(batch, past + 1, dtype=torch.int64)
    for row, n in (pad_rows or {}).items():
        mask[row, :n] = 0
    kv = [torch.randn(batch, config.n_head, past, head_dim, generator=g) for _ in range(2 * config.n_layer)]
    return [ids, mask, *kv]


def dynamic_axes(n_layer: int) -> dict:
    in_names, out_names = names(n_layer)
    axes = {"input_ids": {0: "batch"}, "attention_mask": {0: "batch", 1: TOTAL}, "logits": {0: "batch"}}
    for n in in_names[2:]:
        axes[n] = {0: "batch", 2: "past"}
    for n in out_names[1:]:
        axes[n] = {0: "batch", 2: TOTAL}
    return axes


def export_classic(wrapper, example, n_layer: int, path: Path):
    import onnx
    import torch

    in_names, out_names = names(n_layer)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper,
            tuple(example),
            str(path),
            input_names=in_names,
            output_names=out_names,
            dynamic_axes=dynamic_axes(n_layer),
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    return onnx.load(str(path))


def export_dynamo(wrapper, example, n_layer: int):
    import torch
    from torch.export import Dim

    in_names, out_names = names(n_layer)
    batch, past = Dim("batch"), Dim("past", max=1023)
    # forward(input_ids, attention_mask, *past): the *past tensors form one
    # tuple in torch.export's view of the signature
    specs = ({0: batch}, {0: batch, 1: past + 1}, tuple({0: batch, 2: past} for _ in range(2 * n_layer)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            wrapper,
            tuple(example),
            input_names=in_names,
            output_names=out_names,
            dynamic_shapes=specs,
            dynamo=True,
        )
    return program.model_proto


def clean_metadata(proto) -> int:
    """Drop node doc strings and every metadata_prop but the scope ones;
    returns the number of entries removed."""
    removed = 0
    for g in [proto.graph] + [f for f in proto.functions]:
        for node in g.node:
            if node.doc_string:
                node.doc_string = ""
                removed += 1
            kept = [p for p in node.metadata_props if p.key in KEEP_METADATA]
            removed += len(node.metadata_props) - len(kept)
            del node.metadata_props[:]
            node.metadata_props.extend(kept)
    return removed


def declared(values) -> list:
    out = []
    for v in values:
        t = v.type.tensor_type
        dims = [d.dim_param if d.HasField("dim_param") else (d.dim_value if d.HasField("dim_value") else None)
                for d in t.shape.dim]
        out.append({"name": v.name, "dtype": _dtype_name(t.elem_type), "shape": dims})
    return out


def _dtype_name(elem_type: int) -> str:
    import onnx

    return onnx.TensorProto.DataType.Name(elem_type).lower()


def fix_logits_dim(proto) -> str | None:
    """Set the logits' middle dim (one new token) to 1; returns what the
    exporter had declared there if it was something else."""
    for v in proto.graph.output:
        if v.name == "logits":
            d = v.type.tensor_type.shape.dim[1]
            if d.HasField("dim_value") and d.dim_value == 1:
                return None
            old = d.dim_param if d.HasField("dim_param") else str(d.dim_value)
            d.Clear()
            d.dim_value = 1
            return old
    raise RuntimeError("no logits output")


def check_ort(path: Path, wrapper, config, n_layer: int, batch: int, past: int, seed: int, pad_rows=None):
    import numpy as np
    import onnxruntime as ort
    import torch

    in_names, out_names = names(n_layer)
    inputs = make_inputs(config, batch, past, seed, pad_rows)
    with torch.no_grad():
        ref = [t.numpy() for t in wrapper(*inputs)]
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    opts.log_severity_level = 3
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    got = sess.run(out_names, {n: t.numpy() for n, t in zip(in_names, inputs)})
    diffs = {n: float(np.max(np.abs(a - b))) for n, a, b in zip(out_names, got, ref)}
    shapes = {n: list(a.shape) for n, a in zip(out_names, got)}
    for n, a, b in zip(out_names, got, ref):
        if a.shape != b.shape:
            raise RuntimeError(f"{n}: onnxruntime shape {a.shape} != torch shape {b.shape}")
    worst = max(diffs.values())
    if worst > TOL:
        raise RuntimeError(f"onnxruntime and torch differ by {worst} (> {TOL}) at batch {batch}, past {past}: {diffs}")
    return {
        "batch": batch,
        "past": past,
        "masked_prefix_per_row": {str(k): v for k, v in (pad_rows or {}).items()},
        "max_abs_diff_logits": diffs["logits"],
        "max_abs_diff_all_outputs": worst,
        "tolerance": TOL,
        "logits_abs_max": float(np.max(np.abs(ref[0]))),
    }, shapes, ref[0]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out-dir", default=str(OUT_DIR))
    ap.add_argument("--exporter", default="auto", choices=["auto", "classic", "dynamo"],
                    help="auto: classic, and dynamo if classic raises")
    # quick pipeline checks only, e.g. --override n_layer=2 --override vocab_size=1000
    ap.add_argument("--override", action="append", default=[], help=argparse.SUPPRESS)
    args = ap.parse_args()

    import numpy as np
    import onnx
    import torch

    cfg_kwargs = dict(CONFIG)
    for item in args.override:
        k, v = item.split("=", 1)
        cfg_kwargs[k] = int(v)
    out_dir = Path(args.out_dir)
    final_path = out_dir / f"{NAME}.onnx"
    json_path = out_dir / f"{NAME}.json"

    vers = versions()
    log(f"versions: {vers}")
    config, model = build(cfg_kwargs)
    n_layer = config.n_layer
    torch_params = sum(p.numel() for p in model.parameters())
    log(f"built: {torch_params:,} parameters")
    wrapper = make_wrapper(model)
    example = make_inputs(config, EXAMPLE["batch"], EXAMPLE["past"], SEED)

    cfg_record = {k: getattr(config, k) for k in (
        "n_layer", "n_head", "n_embd", "n_inner", "vocab_size", "n_positions", "activation_function",
        "layer_norm_epsilon", "tie_word_embeddings", "scale_attn_weights", "scale_attn_by_inverse_layer_idx",
        "reorder_and_upcast_attn")}
    entry: dict = {
        "name": NAME,
        "file": final_path.name,
        "family": "gpt2",
        "model_class": "transformers.GPT2LMHeadModel",
        "description": "one decode step of GPT-2 small with a key/value cache (random weights)",
        "config": cfg_record,
        "config_overrides": cfg_kwargs,
        "attn_implementation": ATTN,
        "dtype": "float32",
        "seed": SEED,
        "break_value_ties": True,
        "torch_params": torch_params,
        "weight_bytes_fp32": 4 * torch_params,
        "trace_shapes": dict(EXAMPLE),
        "total_length_dim": {
            "kind": "expression",
            "dim_param": TOTAL,
            "note": "attention_mask dim 1 and the present tensors' dim 2 are declared as the "
                    "dim_param string 'past + 1', not as a separate symbol",
        },
        "position_ids": "not an input; computed in the graph from the cache length "
                        "(Shape of past_key_0, dim 2) plus Range(0, 1)",
        "versions": vers,
    }

    with tempfile.TemporaryDirectory(prefix="nncost_gpt2dec_") as tmp:
        tmp = Path(tmp)
        full_path = tmp / "full" / f"{NAME}.onnx"
        full_path.parent.mkdir()
        t0 = time.time()
        proto = None
        if args.exporter in ("auto", "classic"):
            try:
                proto = export_classic(wrapper, example, n_layer, full_path)
                entry["exporter"] = CLASSIC
            except Exception as exc:
                if args.exporter == "classic":
                    raise
                traceback.print_exc()
                entry["classic_error"] = f"{type(exc).__name__}: {exc}"[:2000]
                log("classic export failed; trying dynamo")
        if proto is None:
            proto = export_dynamo(wrapper, example, n_layer)
            entry["exporter"] = DYNAMO
        log(f"exported in {time.time() - t0:.1f}s with {entry['exporter']}")
        entry["total_length_dim"]["written_by"] = (
            "dynamic_axes (the TorchScript exporter writes the given string)" if entry["exporter"] == CLASSIC
            else "the exporter, from Dim('past') + 1 in dynamic_shapes")

        entry["declared_by_exporter"] = {"inputs": declared(proto.graph.input),
                                         "outputs": declared(proto.graph.output)}
        old = fix_logits_dim(proto)
        if old is not None:
            entry["logits_dim1_fix"] = f"exporter declared logits dim 1 as {old!r}; set to 1 (one new token)"
        entry["node_metadata_removed"] = clean_metadata(proto)
        # save the full (weighted) model again with these edits, for onnxruntime
        checked_path = tmp / "checked" / f"{NAME}.onnx"
        checked_path.parent.mkdir()
        onnx.save_model(proto, str(checked_path), save_as_external_data=True,
                        all_tensors_to_one_file=True, location=f"{NAME}.onnx.data")
        del proto

        t0 = time.time()
        res, shapes, _ = check_ort(checked_path, wrapper, config, n_layer, CHECK["batch"], CHECK["past"], SEED + 1)
        entry["ort_check"] = res
        entry["ort_output_shapes"] = shapes
        log(f"onnxruntime at batch {CHECK['batch']}, past {CHECK['past']}: logits max abs diff "
            f"{res['max_abs_diff_logits']:.2e}, all outputs {res['max_abs_diff_all_outputs']:.2e} "
            f"({time.time() - t0:.1f}s)")
        # masked check: the first 5 cached positions of row 0 are masked out
        res2, _, logits_masked = check_ort(checked_path, wrapper, config, n_layer, 2, CHECK["past"], SEED + 1,
                                           pad_rows={0: 5})
        _, _, logits_open = check_ort(checked_path, wrapper, config, n_layer, 2, CHECK["past"], SEED + 1)
        res2["mask_changes_row0_logits_by"] = float(np.max(np.abs(logits_masked[0] - logits_open[0])))
        res2["mask_changes_row1_logits_by"] = float(np.max(np.abs(logits_masked[1] - logits_open[1])))
        if res2["mask_changes_row0_logits_by"] <= 0.0 or res2["mask_changes_row1_logits_by"] != 0.0:
            raise RuntimeError(f"attention_mask does not act as expected: {res2}")
        entry["ort_check_masked"] = res2
        log(f"masked check: logits diff {res2['max_abs_diff_logits']:.2e}; mask changes row 0 by "
            f"{res2['mask_changes_row0_logits_by']:.3g}, row 1 by {res2['mask_changes_row1_logits_by']}")
        del wrapper, model

        proto = onnx.load(str(checked_path))
        t0 = time.time()
        entry["onnx_external_data_location"] = strip_weights(proto, final_path, tmp / "stripped")
        del proto
        log(f"stripped in {time.time() - t0:.1f}s -> {final_path}")

    stripped = onnx.load(str(final_path), load_external_data=False)
    entry["inputs"] = declared(stripped.graph.input)
    entry["outputs"] = declared(stripped.graph.output)
    entry["onnx_file_bytes"] = final_path.stat().st_size
    entry.update(analyze_onnx(final_path))
    extra = entry["onnx_initializer_elements_float"] - torch_params
    entry["onnx_float_initializer_elements_minus_torch_params"] = extra
    entry["notes"] = [] if entry["exporter"] != CLASSIC else [  # what the TorchScript export looks like
        f"the float initializers hold {extra:,} elements more than torch_params: with constant folding the "
        "tied LM head is stored twice, as wte [vocab, n_embd] (Gather) and as its transpose [n_embd, vocab] "
        f"(the final MatMul); vocab * n_embd = {config.vocab_size * config.n_embd:,}",
        "causal/padding mask, built once and added to the attention scores of every layer: Range over the "
        "key positions, LessOrEqual against the query position (past + 0), And with attention_mask gathered "
        "per (batch, key position), Expand to [batch, 1, 1, past + 1], then Where(mask, 0, -3.4028235e38); "
        "no Trilu",
        "eager attention: MatMul(q, Transpose(present_key)), Mul by 1/sqrt(64), Add mask, Softmax, Cast, "
        "MatMul with present_value; Conv1D projections are Reshape -> Gemm -> Reshape",
        "the cache length comes from a one-input Concat of past_key_0 (what is left of DynamicLayer's "
        "torch.cat with an empty tensor); present_key_0 is concatenated from that value",
    ]
    single = [n.name for n in stripped.graph.node if n.op_type == "Concat" and len(n.input) == 1]
    entry["single_input_concat_nodes"] = single
    json_path.write_text(json.dumps(entry, indent=1) + "\n")

    if entry["onnx_file_bytes"] > 2_000_000:
        log(f"WARNING: {final_path} is {entry['onnx_file_bytes']:,} bytes (> 2 MB)")
    log(f"{final_path}: {entry['onnx_file_bytes']:,} bytes, {entry['node_count']} nodes, opset {entry['opset']}")
    for v in entry["inputs"] + entry["outputs"]:
        if not v["name"].startswith(("past_", "present_")) or v["name"].endswith("_0"):
            log(f"  {v['name']}: {v['dtype']} {v['shape']}")
    log(f"{json_path}: {json_path.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
