#!/usr/bin/env python3
"""Generate the torchvision ONNX test fixtures used by nncost's Rust tests.

For every classification model in ``torchvision.models`` (the top-level
namespace, i.e. ``torchvision.models.list_models(module=torchvision.models)``)
this script:

1. reads the metadata of the model's DEFAULT weights enum -- published
   "GFLOPS" (``meta["_ops"]``), ``meta["num_params"]`` and the evaluation
   resolution (``weights.transforms().crop_size``).  The weights themselves
   are NEVER downloaded or loaded;
2. builds the same architecture with random weights (``weights=None``) in
   eval mode and counts PyTorch's own parameters and buffers;
3. exports it to ONNX (opset 17) with the classic TorchScript exporter
   (``torch.onnx.export(..., dynamo=False)``), input ``input`` of shape
   1x3xSxS, output ``logits``, batch dimension dynamic (``"batch"``);
4. strips the weights: every initializer keeps name/dims/dtype but the bytes
   of tensors >= ~1 KiB are moved to an external data file which is then
   deleted, so the committed ``.onnx`` only holds the graph and small
   (shape-like) constants;
5. records reference numbers, computed independently from the exported ONNX
   with the ``onnx`` package, in ``tests/fixtures/torchvision/reference.json``.

Each model is handled in its own subprocess (``--worker NAME``) so that
memory is returned to the OS between models (vit_h_14 / regnet_y_128gf have
~630M parameters).  The parent process collects the per-model results and
rewrites ``reference.json`` after every model, so an interrupted run can be
continued with ``--resume``.

About ``meta["_ops"]`` (published as "GFLOPS" in the torchvision docs):
it was measured by torchvision's ``test/common_extended_utils.py`` (added in
pytorch/vision PR #6936), a TorchDispatchMode counter that only looks at
``aten.convolution``/``_convolution``, ``aten.mm``/``matmul``, ``aten.addmm``
and ``aten.bmm`` and counts ONE per multiply-accumulate (conv:
``batch * prod(weight.shape) * prod(out_spatial)``, matmul: ``prod(A.shape) *
B.shape[-1]``), ignoring bias adds, BN, activations, pooling, softmax, etc.
So the value is really conv+linear+attention-matmul GMACs, at batch 1 and
at the crop resolution of the DEFAULT weights, rounded to 3 decimals.  The
counter itself is not shipped in the torchvision wheel; only the numbers in
each weights enum's ``meta`` are.

Usage (from the repository root)::

    /work/pyenv/bin/python scripts/make_torchvision_fixtures.py            # all models
    /work/pyenv/bin/python scripts/make_torchvision_fixtures.py --models resnet18,vit_b_16
    /work/pyenv/bin/python scripts/make_torchvision_fixtures.py --resume   # skip done ones

Requirements: see ``scripts/requirements-fixtures.txt``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections import Counter, defaultdict
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT_DIR = REPO_ROOT / "tests" / "fixtures" / "torchvision"
DEFAULT_EXAMPLES_DIR = REPO_ROOT / "examples"
DEFAULT_BENCH_DIR = Path("/work/bench")

OPSET = 17
INPUT_NAME = "input"
OUTPUT_NAME = "logits"
BATCH_DIM = "batch"
# Initializers whose payload is at least this many bytes are moved to the
# (deleted) external data file.  NB: onnx compares ``sys.getsizeof(raw_data)``
# against it, which is len(raw_data) + ~33 bytes of Python object header, so
# tensors of >= ~991 payload bytes are externalized.
EXTERNAL_SIZE_THRESHOLD = 1024
EXPORTER = "torch.onnx.export(dynamo=False) [TorchScript exporter]"
# Per-model wall-clock limit for a worker subprocess (seconds).
WORKER_TIMEOUT = 3 * 3600


# --------------------------------------------------------------------------
# Helpers shared by parent and worker
# --------------------------------------------------------------------------


def log(msg: str) -> None:
    """Print a timestamped progress line (unbuffered, for the nohup log)."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def list_classification_models() -> list[str]:
    import torchvision

    return sorted(torchvision.models.list_models(module=torchvision.models))


# --------------------------------------------------------------------------
# Model construction (worker side)
# --------------------------------------------------------------------------


def published_metadata(name: str) -> dict:
    """Metadata of the DEFAULT weights enum.  Does not touch the weights."""
    import torchvision

    weights = torchvision.models.get_model_weights(name).DEFAULT
    meta = weights.meta
    crop = weights.transforms().crop_size  # e.g. [224]; a list of one int
    crop = list(crop) if isinstance(crop, (list, tuple)) else [crop]
    if len(crop) == 1:
        crop = crop * 2
    if crop[0] != crop[1]:
        raise ValueError(f"non-square crop size {crop} for {name}")
    return {
        "published_weights": str(weights),
        "published_gmacs": meta["_ops"],
        "published_num_params": meta["num_params"],
        "published_min_size": list(meta.get("min_size", [])),
        "resolution": int(crop[0]),
    }


def build_kwargs(name: str, resolution: int) -> dict:
    """Constructor kwargs that make the random-weight model match the
    architecture the DEFAULT-weights builder would produce.

    The torchvision builders override some kwargs only when weights are
    given (see ``_ovewrite_named_param`` calls).  We replicate the ones that
    change the exported graph:

    * vit_*: ``image_size`` = ``meta["min_size"][0]`` (vit_h_14's SWAG
      weights run at 518, and the positional embedding depends on it);
    * maxvit_t: ``input_size`` (224, already the default);
    * googlenet / inception_v3: pretrained builders set
      ``transform_input=True``; we also set ``aux_logits=False`` so the aux
      classifier heads are not built (they are never part of the eval-mode
      output anyway) and ``init_weights=False`` (skip the slow truncated
      normal init; values do not matter here).  NB: torchvision's
      published num_params for inception_v3 (27,161,264) INCLUDES the aux
      head (the pretrained model keeps it), googlenet's (6,624,904) does not.
    """
    if name.startswith("vit_"):
        return {"image_size": resolution}
    if name == "maxvit_t":
        return {"input_size": (resolution, resolution)}
    if name in ("googlenet", "inception_v3"):
        return {"aux_logits": False, "init_weights": False, "transform_input": True}
    return {}


def break_value_ties(model, seed: int = 0) -> None:
    """Add tiny noise to every float parameter and BN running statistic.

    Freshly initialised networks contain many bit-identical tensors (all-zero
    biases, BN gamma=1/beta=0/mean=0/var=1, ...).  The TorchScript exporter
    de-duplicates initializers *by value* and then feeds the duplicates
    through ``Identity`` nodes, something that never happens with trained
    weights.  Perturbing the values makes the exported graph look like a
    real (pretrained) export.  Shapes and counts are unaffected.
    """
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if p.is_floating_point():
                p.add_(torch.empty_like(p).normal_(0.0, 1e-3, generator=gen))
        for bname, b in model.named_buffers():
            if bname.endswith("running_mean"):
                b.add_(torch.empty_like(b).normal_(0.0, 1e-3, generator=gen))
            elif bname.endswith("running_var"):
                b.mul_(1.0 + 0.1 * torch.empty_like(b).uniform_(generator=gen))


def count_torch_tensors(model) -> dict:
    """Parameters and buffers as PyTorch sees them."""
    params = sum(p.numel() for p in model.parameters())
    bn_stats = 0  # running_mean + running_var
    num_batches_tracked = 0  # one int64 scalar per BatchNorm layer
    other = Counter()  # any other buffer, keyed by its attribute name
    for bname, b in model.named_buffers():
        leaf = bname.rsplit(".", 1)[-1]
        if leaf in ("running_mean", "running_var"):
            bn_stats += b.numel()
        elif leaf == "num_batches_tracked":
            num_batches_tracked += b.numel()
        else:
            other[f"{leaf}:{str(b.dtype).replace('torch.', '')}"] += b.numel()
    return {
        "torch_params": params,
        "torch_buffers": bn_stats,
        "torch_num_batches_tracked": num_batches_tracked,
        "torch_other_buffers": dict(sorted(other.items())),
    }


def strip_weights(proto, final_path: Path, work_dir: Path) -> str:
    """Write ``proto`` (an in-memory ModelProto holding all its weights) to
    ``final_path`` with its weights stripped, and return the name of the
    (non-existent) external data file the initializers point at.

    Every initializer keeps its name/dims/dtype; the payload of tensors of
    >= ~1 KiB (see EXTERNAL_SIZE_THRESHOLD) is saved to an external data file
    ``<final_path.name>.data`` inside ``work_dir`` (a fresh directory), which
    is then deleted, so only the graph and the small tensors are kept.
    ``Constant`` node attributes are left as they are.  NB: ``proto`` is
    modified in place (its initializers end up pointing at the data file).
    """
    import onnx

    work_dir.mkdir(parents=True)
    name = final_path.name
    data_name = f"{name}.data"
    cwd = os.getcwd()
    os.chdir(work_dir)  # onnx checks os.path.exists(location) relative to cwd
    try:
        onnx.save_model(
            proto,
            str(work_dir / name),
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location=data_name,
            size_threshold=EXTERNAL_SIZE_THRESHOLD,
        )
    finally:
        os.chdir(cwd)
    (work_dir / data_name).unlink(missing_ok=True)  # the weights are gone
    final_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(work_dir / name, final_path)
    return data_name


# --------------------------------------------------------------------------
# ONNX analysis (independent of torch; works on the stripped file)
# --------------------------------------------------------------------------


def _float_and_int_types():
    from onnx import TensorProto as T

    floats = {T.FLOAT, T.FLOAT16, T.DOUBLE, T.BFLOAT16}
    ints = {T.INT8, T.INT16, T.INT32, T.INT64, T.UINT8, T.UINT16, T.UINT32, T.UINT64}
    return floats, ints


def analyze_onnx(path: Path) -> dict:
    """Reference numbers computed from the (stripped) ONNX file.

    Only the graph structure and initializer metadata (dims, dtype) are used,
    so this works although the external data file no longer exists.
    """
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    graph = model.graph
    floats, ints = _float_and_int_types()

    # Torchvision classifiers have no control flow; make sure, since all
    # counts below are over the top-level graph only.
    subgraphs = sum(
        1
        for n in graph.node
        for a in n.attribute
        if a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)
    )

    # Who consumes each value: name -> {"OpType:input_index", ...}
    consumers: dict[str, set[str]] = defaultdict(set)
    for node in graph.node:
        for idx, inp in enumerate(node.input):
            if inp:
                consumers[inp].add(f"{node.op_type}:{idx}")
    for out in graph.output:
        consumers[out.name].add("<graph_output>")

    def consumer_key(value_name: str) -> str:
        # A tensor used in several different roles gets all of them, sorted
        # and joined with "|" (e.g. "Add:1|Mul:1").  Unused -> "<unused>".
        uses = consumers.get(value_name)
        return "|".join(sorted(uses)) if uses else "<unused>"

    float_elems = int_elems = other_elems = 0
    float_by_consumer: Counter = Counter()
    int_by_consumer: Counter = Counter()
    n_external = n_inline = 0
    seen = set()
    for init in graph.initializer:
        if init.name in seen:  # count each initializer once
            continue
        seen.add(init.name)
        elems = math.prod(init.dims)  # prod(()) == 1 for scalars
        if init.data_location == onnx.TensorProto.EXTERNAL:
            n_external += 1
        else:
            n_inline += 1
        if init.data_type in floats:
            float_elems += elems
            float_by_consumer[consumer_key(init.name)] += elems
        elif init.data_type in ints:
            int_elems += elems
            int_by_consumer[consumer_key(init.name)] += elems
        else:
            other_elems += elems

    # Constant nodes (the alternative way of storing constants): count the
    # nodes by consumer role of their output.
    const_by_consumer: Counter = Counter()
    for node in graph.node:
        if node.op_type == "Constant":
            const_by_consumer[consumer_key(node.output[0])] += 1

    opset = next(
        (o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None
    )
    return {
        "opset": opset,
        "ir_version": model.ir_version,
        "producer": f"{model.producer_name} {model.producer_version}".strip(),
        "node_count": len(graph.node),
        "subgraph_count": subgraphs,
        "onnx_op_counts": dict(sorted(Counter(n.op_type for n in graph.node).items())),
        "onnx_initializer_count": len(seen),
        "onnx_initializers_external": n_external,
        "onnx_initializers_inline": n_inline,
        "onnx_initializer_elements_float": float_elems,
        "onnx_initializer_elements_int": int_elems,
        "onnx_initializer_elements_other": other_elems,
        "onnx_float_initializer_elements_by_consumer": dict(sorted(float_by_consumer.items())),
        "onnx_int_initializer_elements_by_consumer": dict(sorted(int_by_consumer.items())),
        "onnx_constant_nodes_by_consumer": dict(sorted(const_by_consumer.items())),
        "graph_inputs": [_value_info_summary(v) for v in graph.input],
        "graph_outputs": [_value_info_summary(v) for v in graph.output],
    }


def _value_info_summary(v) -> dict:
    """name + shape ("batch" for symbolic dims) of a graph input/output."""
    dims = []
    for d in v.type.tensor_type.shape.dim:
        dims.append(d.dim_param if d.HasField("dim_param") else d.dim_value)
    return {"name": v.name, "shape": dims}


# --------------------------------------------------------------------------
# Worker: one model, in its own process
# --------------------------------------------------------------------------


def export_one(name: str, out_dir: Path, keep_full: Path | None, threads: int) -> dict:
    import onnx
    import torch
    import torchvision

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    result: dict = {"name": name, "file": f"{name}.onnx"}

    # 1. published metadata (weights enum only, nothing downloaded)
    result.update(published_metadata(name))
    s = result.pop("resolution")
    result["input_shape"] = [1, 3, s, s]

    # 2. random-weight model
    t0 = time.time()
    kwargs = build_kwargs(name, s)
    result["build_kwargs"] = {k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()}
    model = torchvision.models.get_model(name, weights=None, **kwargs).eval()
    break_value_ties(model)
    result.update(count_torch_tensors(model))
    log(f"{name}: built in {time.time() - t0:.1f}s, {result['torch_params']:,} params, input {result['input_shape']}")

    with tempfile.TemporaryDirectory(prefix=f"nncost_{name}_") as tmp:
        tmp = Path(tmp)
        full_path = tmp / "full" / f"{name}.onnx"
        full_path.parent.mkdir()

        # 3. export.  Models > 2 GiB are written by the exporter with their
        #    weights as external files next to full_path; that is why each
        #    model gets a directory of its own.
        t0 = time.time()
        x = torch.randn(1, 3, s, s)
        # NB: no torch.no_grad() here.  With grad disabled nn.MultiheadAttention
        # (vit_*) takes its "fast path" (aten::_native_multi_head_attention),
        # which the TorchScript exporter cannot convert; users normally export
        # with grad enabled, as does torchvision's FLOP counter.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # legacy-exporter deprecation, tracer warnings
            torch.onnx.export(
                model,
                (x,),
                str(full_path),
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_axes={INPUT_NAME: {0: BATCH_DIM}, OUTPUT_NAME: {0: BATCH_DIM}},
                opset_version=OPSET,
                do_constant_folding=True,
                dynamo=False,
            )
        result["exporter"] = EXPORTER
        result["export_seconds"] = round(time.time() - t0, 1)
        full_bytes = sum(p.stat().st_size for p in full_path.parent.iterdir())
        log(f"{name}: exported in {result['export_seconds']}s ({full_bytes / 2**20:.1f} MiB with weights)")
        del model, x

        # Validate the complete model (path form copes with > 2 GiB models).
        onnx.checker.check_model(str(full_path))
        if keep_full is not None:
            keep_full.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(full_path, keep_full)
            log(f"{name}: kept full export at {keep_full}")

        # 4. strip: move payloads >= threshold to an external file, then
        #    copy only the .onnx into the fixture directory (the data file
        #    stays in the temporary directory and is deleted with it).
        t0 = time.time()
        proto = onnx.load(str(full_path))  # loads external data if any
        final_path = out_dir / f"{name}.onnx"
        data_name = strip_weights(proto, final_path, tmp / "stripped")
        del proto
        log(f"{name}: stripped in {time.time() - t0:.1f}s -> {final_path} ({final_path.stat().st_size / 1024:.0f} KiB)")

    # 5. reference numbers from the stripped file
    result["onnx_file_bytes"] = final_path.stat().st_size
    result["onnx_external_data_location"] = data_name
    result.update(analyze_onnx(final_path))
    return result


def worker_main(args) -> int:
    result_path = Path(args.result_json)
    try:
        result = export_one(
            args.worker,
            Path(args.out_dir),
            Path(args.keep_full) if args.keep_full else None,
            args.threads,
        )
        code = 0
    except Exception as exc:  # record the reason; the parent continues
        traceback.print_exc()
        result = {"name": args.worker, "error": f"{type(exc).__name__}: {exc}"[:2000]}
        code = 1
    result_path.write_text(json.dumps(result, indent=1))
    return code


# --------------------------------------------------------------------------
# Parent: loop over models, one subprocess each, and write reference.json
# --------------------------------------------------------------------------


def write_reference(path: Path, entries: dict[str, dict]) -> None:
    ordered = [entries[k] for k in sorted(entries)]
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(ordered, indent=1) + "\n")
    tmp.replace(path)


def parent_main(args) -> int:
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ref_path = out_dir / "reference.json"
    all_models = list_classification_models()
    models = args.models.split(",") if args.models else all_models
    unknown = sorted(set(models) - set(all_models))
    if unknown:
        log(f"unknown model names: {unknown}")
        return 2

    # Start from the existing reference so that partial runs merge into it.
    entries: dict[str, dict] = {}
    if ref_path.exists():
        entries = {e["name"]: e for e in json.loads(ref_path.read_text())}

    import torch
    import torchvision
    import onnx

    log(f"torch {torch.__version__}, torchvision {torchvision.__version__}, onnx {onnx.__version__}")
    log(f"{len(models)} models -> {out_dir}")

    failures = []
    t_all = time.time()
    for i, name in enumerate(models, 1):
        old = entries.get(name)
        if args.resume and old and "error" not in old and (out_dir / f"{name}.onnx").exists():
            log(f"[{i}/{len(models)}] {name}: already done, skipping")
            continue
        log(f"[{i}/{len(models)}] {name}: start")
        t0 = time.time()
        with tempfile.TemporaryDirectory(prefix="nncost_result_") as rdir:
            result_json = Path(rdir) / "result.json"
            cmd = [
                sys.executable, str(Path(__file__).resolve()),
                "--worker", name,
                "--result-json", str(result_json),
                "--out-dir", str(out_dir),
                "--threads", str(args.threads),
            ]
            if name == "resnet50" and args.bench_dir:
                cmd += ["--keep-full", str(Path(args.bench_dir) / "resnet50_full.onnx")]
            try:
                proc = subprocess.run(cmd, timeout=WORKER_TIMEOUT)
                rc = proc.returncode
            except subprocess.TimeoutExpired:
                rc = "timeout"
            if result_json.exists():
                result = json.loads(result_json.read_text())
            else:  # killed (e.g. out of memory) before it could report
                result = {"name": name, "error": f"worker died without a result (exit status {rc}; "
                                                 "negative = killed by signal, -9 usually means out of memory)"}
        if "error" in result:
            failures.append((name, result["error"]))
            stale = out_dir / f"{name}.onnx"
            if stale.exists():
                stale.unlink()
            log(f"[{i}/{len(models)}] {name}: FAILED after {time.time() - t0:.1f}s: {result['error']}")
        else:
            log(f"[{i}/{len(models)}] {name}: ok in {time.time() - t0:.1f}s")
        entries[name] = result
        write_reference(ref_path, entries)  # incremental, so progress survives

        if name == "resnet18" and "error" not in result and args.examples_dir:
            ex = Path(args.examples_dir)
            ex.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(out_dir / "resnet18.onnx", ex / "resnet18.onnx")
            log(f"copied stripped resnet18 to {ex / 'resnet18.onnx'}")

    log(f"done: {len(models)} models in {(time.time() - t_all) / 60:.1f} min, {len(failures)} failed")
    for name, err in failures:
        log(f"  FAILED {name}: {err}")
    return 1 if failures else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", help="comma-separated subset (default: all classification models)")
    ap.add_argument("--resume", action="store_true", help="skip models already in reference.json")
    ap.add_argument("--out-dir", default=str(DEFAULT_OUT_DIR))
    ap.add_argument("--examples-dir", default=str(DEFAULT_EXAMPLES_DIR),
                    help="where the stripped resnet18.onnx is copied ('' to skip)")
    ap.add_argument("--bench-dir", default=str(DEFAULT_BENCH_DIR),
                    help="where the full resnet50 export (with weights) is kept ('' to skip)")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads per worker")
    # internal: run a single model in this process
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--result-json", help=argparse.SUPPRESS)
    ap.add_argument("--keep-full", help=argparse.SUPPRESS)
    args = ap.parse_args()
    return worker_main(args) if args.worker else parent_main(args)


if __name__ == "__main__":
    sys.exit(main())
