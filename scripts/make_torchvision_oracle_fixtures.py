#!/usr/bin/env python3
"""Generate the onnxruntime-oracle torchvision fixtures used by nncost's Rust tests.

Writes ``tests/fixtures/torchvision_oracle/``: stripped ONNX exports of
torchvision detection / segmentation / classification models, each with an
``<stem>.oracle.json`` holding the shape of every value onnxruntime computed
for one deterministic input, plus PyTorch's own FLOP and parameter counts.

Files (one "job" each):

* ``<model>.onnx`` -- every torchvision detection model, exported at a FIXED
  input ``images`` of shape [3, 480, 640] (one image; torchvision detection
  models take a list of 3-D images and resize them internally, so e.g.
  ssd300/ssdlite320 resize it to 300x300 / 320x320 and the R-CNNs to
  800x1066).
* ``<model>_dyn.onnx`` -- dynamic exports: classification and segmentation
  models with input ``input`` [batch, 3, height, width]; detection models with
  input ``images`` [3, height, width].  Traced at 1x3x224x224 (classification,
  segmentation) or 3x480x640 (detection); the oracle runs them at
  1x3x481x353 / 3x481x353, i.e. at a size different from the traced one.
* ``<model>_481x353.onnx`` -- the classification / segmentation models of the
  dynamic set once more, at the fixed input 1x3x481x353 (odd on purpose).

For each job, in a subprocess of its own (``--worker STEM``):

1. build the model with random weights (``weights=None``,
   ``weights_backbone=None``; nothing is downloaded), ``torch.manual_seed(0)``,
   eval mode, then add tiny noise to every parameter / BN statistic (same as
   ``make_torchvision_fixtures.break_value_ties``; it keeps the exporter from
   merging bit-identical fresh tensors behind ``Identity`` nodes).  Detection
   models get their score thresholds lowered to 0.0 so that random weights
   still give non-empty detections; every kwarg is recorded in the oracle;
2. export with the classic TorchScript exporter
   (``torch.onnx.export(..., dynamo=False, do_constant_folding=True)``,
   opset 17);
3. with the full weights still in the file, run it in onnxruntime (CPU,
   ``ORT_DISABLE_ALL`` graph optimizations) with every node output of the
   top-level graph added as a graph output, and record every tensor's shape;
4. run the PyTorch model on the same input under
   ``torch.utils.flop_counter.FlopCounterMode`` (FLOPs = 2 * MACs for the ops
   it knows: conv, mm/addmm/bmm, attention, ...);
5. strip the weights exactly as ``make_torchvision_fixtures.py`` does
   (``strip_weights``: initializers keep name/dims/dtype, payloads of >= ~1 KiB
   become ``data_location=EXTERNAL`` in a deleted ``<file>.data``), check that
   the stripped file has the same nodes and initializer dims, and write
   ``<stem>.onnx`` + ``<stem>.oracle.json``.

The parent writes ``index.json`` (one summary entry per job, including
failures) after every job.  Field meanings: see the README.md next to the
fixtures.

Usage (from the repository root)::

    /work/pyenv/bin/python scripts/make_torchvision_oracle_fixtures.py                 # everything
    /work/pyenv/bin/python scripts/make_torchvision_oracle_fixtures.py --models resnet18,ssd300_vgg16
    /work/pyenv/bin/python scripts/make_torchvision_oracle_fixtures.py --variants dyn    # only *_dyn files
    /work/pyenv/bin/python scripts/make_torchvision_oracle_fixtures.py --list             # show the jobs

Requirements: see ``scripts/requirements-fixtures.txt`` (torch, torchvision,
onnx, onnxruntime).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_torchvision_fixtures as tvf  # noqa: E402  (shared helpers)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT_DIR = REPO_ROOT / "tests" / "fixtures" / "torchvision_oracle"

OPSET = tvf.OPSET  # 17
EXPORTER = f"torch.onnx.export classic, opset {OPSET}"
EXPORTER_DETAIL = "torch.onnx.export(dynamo=False, do_constant_folding=True) [TorchScript exporter]"
WORKER_TIMEOUT = 40 * 60  # seconds per job

# Seeds: model construction, value-tie noise, trace input, oracle input.
MODEL_SEED = 0
NOISE_SEED = 0
TRACE_INPUT_SEED = 1
ORACLE_INPUT_SEED = 1234
INPUT_GENERATOR = "torch.rand(shape, generator=torch.Generator().manual_seed({seed}))"

# Fixed detection size and the odd oracle size.
DET_FIXED_HW = (480, 640)
DET_TRACE_HW = (480, 640)  # trace size of the detection *_dyn exports
CLS_TRACE_HW = (224, 224)  # trace size of the classification/segmentation *_dyn exports
ODD_HW = (481, 353)

# Detection models and the kwargs that lower their score thresholds.
_RCNN = {"box_score_thresh": 0.0}
_ONE_STAGE = {"score_thresh": 0.0}
DETECTION_MODELS = {
    "fasterrcnn_resnet50_fpn": _RCNN,
    "fasterrcnn_resnet50_fpn_v2": _RCNN,
    "fasterrcnn_mobilenet_v3_large_fpn": _RCNN,
    "fasterrcnn_mobilenet_v3_large_320_fpn": _RCNN,
    "maskrcnn_resnet50_fpn": _RCNN,
    "maskrcnn_resnet50_fpn_v2": _RCNN,
    "keypointrcnn_resnet50_fpn": _RCNN,
    "retinanet_resnet50_fpn": _ONE_STAGE,
    "retinanet_resnet50_fpn_v2": _ONE_STAGE,
    "fcos_resnet50_fpn": _ONE_STAGE,
    "ssd300_vgg16": _ONE_STAGE,
    "ssdlite320_mobilenet_v3_large": _ONE_STAGE,
}
DYN_CLASSIFICATION = ["resnet18", "mobilenet_v3_small", "efficientnet_b0"]
DYN_SEGMENTATION = ["lraspp_mobilenet_v3_large", "deeplabv3_mobilenet_v3_large", "fcn_resnet50"]
DYN_DETECTION = [
    "fasterrcnn_mobilenet_v3_large_320_fpn",
    "retinanet_resnet50_fpn",
    "ssdlite320_mobilenet_v3_large",
    "maskrcnn_resnet50_fpn",
]
VARIANTS = ("fixed", "dyn", "481x353")


@dataclass(frozen=True)
class Job:
    stem: str  # file name without .onnx
    model: str  # torchvision builder name
    kind: str  # classification | segmentation | detection
    variant: str  # fixed (detection 3x480x640) | dyn | 481x353


def all_jobs() -> list[Job]:
    jobs = []
    for m in DYN_CLASSIFICATION:
        jobs += [Job(f"{m}_dyn", m, "classification", "dyn"), Job(f"{m}_481x353", m, "classification", "481x353")]
    for m in DYN_SEGMENTATION:
        jobs += [Job(f"{m}_dyn", m, "segmentation", "dyn"), Job(f"{m}_481x353", m, "segmentation", "481x353")]
    for m in DETECTION_MODELS:
        jobs.append(Job(m, m, "detection", "fixed"))
    for m in DYN_DETECTION:
        jobs.append(Job(f"{m}_dyn", m, "detection", "dyn"))
    return jobs


log = tvf.log


# --------------------------------------------------------------------------
# Model construction and export (worker side)
# --------------------------------------------------------------------------


def builder_of(job: Job):
    """(callable, dotted name) of the torchvision builder."""
    import torchvision

    module = {
        "classification": torchvision.models,
        "segmentation": torchvision.models.segmentation,
        "detection": torchvision.models.detection,
    }[job.kind]
    return getattr(module, job.model), f"{module.__name__}.{job.model}"


def build_kwargs(job: Job) -> dict:
    """Every kwarg passed to the builder (all recorded in the oracle)."""
    if job.kind == "classification":
        return {"weights": None}
    if job.kind == "segmentation":
        kw = {"weights": None, "weights_backbone": None}
        if job.model != "lraspp_mobilenet_v3_large":  # lraspp has no aux head / kwarg
            kw["aux_loss"] = False
        return kw
    return {"weights": None, "weights_backbone": None, **DETECTION_MODELS[job.model]}


def perturb(model) -> None:
    """``break_value_ties`` plus the weight/bias buffers of FrozenBatchNorm2d
    (only used by the detection builders when backbone weights are given, so
    normally a no-op here)."""
    import torch
    from torchvision.ops.misc import FrozenBatchNorm2d

    tvf.break_value_ties(model, seed=NOISE_SEED)
    gen = torch.Generator().manual_seed(NOISE_SEED + 1)
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, FrozenBatchNorm2d):
                mod.weight.add_(torch.empty_like(mod.weight).normal_(0.0, 1e-3, generator=gen))
                mod.bias.add_(torch.empty_like(mod.bias).normal_(0.0, 1e-3, generator=gen))


def input_shapes(job: Job) -> tuple[list[int], list[int]]:
    """(trace input shape, oracle input shape)."""
    if job.kind == "detection":
        if job.variant == "fixed":
            s = [3, *DET_FIXED_HW]
            return s, s
        return [3, *DET_TRACE_HW], [3, *ODD_HW]
    if job.variant == "dyn":
        return [1, 3, *CLS_TRACE_HW], [1, 3, *ODD_HW]
    s = [1, 3, *ODD_HW]
    return s, s


def make_input(shape: list[int], seed: int):
    import torch

    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


def model_args(job: Job, x):
    """Positional args of model(...) / the export: detection takes a list of images."""
    return ([x],) if job.kind == "detection" else (x,)


def io_names(job: Job, torch_out) -> tuple[str, list[str], dict]:
    """input name, output names, dynamic_axes for the export."""
    if job.kind == "detection":
        outs = list(torch_out[0].keys())  # boxes, labels, scores [, masks | keypoints, keypoints_scores]
        axes = {o: {0: "detections"} for o in outs}
        if job.variant == "dyn":
            axes["images"] = {1: "height", 2: "width"}
            if "masks" in axes:  # masks are pasted back at the input image size
                axes["masks"] = {0: "detections", 2: "height", 3: "width"}
        return "images", outs, axes
    out = "logits" if job.kind == "classification" else "out"
    axes = {}
    if job.variant == "dyn":
        axes["input"] = {0: "batch", 2: "height", 3: "width"}
        axes[out] = {0: "batch"} if job.kind == "classification" else {0: "batch", 2: "height", 3: "width"}
    return "input", [out], axes


def torch_output_shapes(job: Job, out, names: list[str]) -> dict:
    if job.kind == "detection":
        return {k: list(out[0][k].shape) for k in names}
    if job.kind == "segmentation":
        return {"out": list(out["out"].shape)}
    return {names[0]: list(out.shape)}


# --------------------------------------------------------------------------
# ONNX analysis (onnx package only)
# --------------------------------------------------------------------------


def _dtype_name(data_type: int) -> str:
    import onnx

    return onnx.TensorProto.DataType.Name(data_type)


def _constant_payload(node) -> tuple[str, int]:
    """(dtype name, elements) of a Constant node's value attribute."""
    for a in node.attribute:
        if a.name in ("value", "sparse_value"):
            t = a.t if a.name == "value" else a.sparse_value.values
            dims = a.t.dims if a.name == "value" else a.sparse_value.dims
            return _dtype_name(t.data_type), math.prod(dims)
        if a.name == "value_float":
            return "FLOAT", 1
        if a.name == "value_floats":
            return "FLOAT", len(a.floats)
        if a.name == "value_int":
            return "INT64", 1
        if a.name == "value_ints":
            return "INT64", len(a.ints)
        if a.name == "value_string":
            return "STRING", 1
        if a.name == "value_strings":
            return "STRING", len(a.strings)
    return "UNKNOWN", 0


def _subgraphs(graph):
    import onnx

    for n in graph.node:
        for a in n.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                yield n, a.g
            elif a.type == onnx.AttributeProto.GRAPHS:
                for g in a.graphs:
                    yield n, g


def analyze(model) -> dict:
    """Structure numbers of a ModelProto (weights loaded or not)."""
    import onnx

    g = model.graph
    init_elems: Counter = Counter()
    for init in g.initializer:
        init_elems[_dtype_name(init.data_type)] += math.prod(init.dims)
    const_elems: Counter = Counter()
    const_count = 0
    const_max = 0
    for n in g.node:
        if n.op_type == "Constant" and n.domain in ("", "ai.onnx"):
            dt, e = _constant_payload(n)
            const_elems[dt] += e
            const_count += 1
            const_max = max(const_max, e)
    # Subgraph bodies (If/Loop), recursively: only summarised.
    sub_nodes = 0
    sub_const: Counter = Counter()
    sub_ops: Counter = Counter()
    owners: Counter = Counter()
    stack = [(n, sg) for n, sg in _subgraphs(g)]
    for n, _ in stack:
        owners[n.op_type] += 1
    while stack:
        _, sg = stack.pop()
        sub_nodes += len(sg.node)
        sub_ops.update(n.op_type for n in sg.node)
        for n in sg.node:
            if n.op_type == "Constant":
                dt, e = _constant_payload(n)
                sub_const[dt] += e
        stack.extend(_subgraphs(sg))
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    return {
        "opset": opset,
        "ir_version": model.ir_version,
        "node_count": len(g.node),
        "op_counts": dict(sorted(Counter(n.op_type for n in g.node).items())),
        "initializer_count": len(g.initializer),
        "initializer_elements": dict(sorted(init_elems.items())),
        "constant_node_count": const_count,
        "constant_node_elements": dict(sorted(const_elems.items())),
        "constant_node_max_elements": const_max,
        "subgraph_attributes_by_op": dict(sorted(owners.items())),
        "subgraph_node_count": sub_nodes,
        "subgraph_op_counts": dict(sorted(sub_ops.items())),
        "subgraph_constant_node_elements": dict(sorted(sub_const.items())),
        "declared_inputs": {v.name: tvf._value_info_summary(v)["shape"] for v in g.input},
        "declared_outputs": {v.name: tvf._value_info_summary(v)["shape"] for v in g.output},
    }


def initializer_signature(model) -> list:
    return [(i.name, list(i.dims), i.data_type) for i in model.graph.initializer]


# --------------------------------------------------------------------------
# onnxruntime oracle
# --------------------------------------------------------------------------


def ort_shapes(model, feeds: dict, threads: int) -> tuple[dict, list[str], dict]:
    """Run ``model`` (a ModelProto with its weights) with every top-level node
    output exposed; return ({value: shape} in node order, [non-tensor values],
    {graph output: shape})."""
    import numpy as np
    import onnx
    import onnxruntime as ort

    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    declared_outputs = [o.name for o in g.output]
    exposed = set(declared_outputs)
    order, seen = [], set()
    for n in g.node:
        for o in n.output:
            if not o or o in seen:
                continue
            order.append(o)
            seen.add(o)
            if o not in exposed:
                # Untyped: onnxruntime fills in the type itself.
                g.output.append(onnx.ValueInfoProto(name=o))
                exposed.add(o)
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3  # no warnings about declared-vs-actual output shapes
    sess = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    values = dict(zip(names, sess.run(names, feeds)))
    shapes, non_tensor = {}, []
    for o in order:
        v = values.get(o)
        if isinstance(v, np.ndarray):
            shapes[o] = [int(d) for d in v.shape]
        else:
            non_tensor.append(o)
    outs = {o: shapes.get(o) for o in declared_outputs}
    return shapes, non_tensor, outs


def flop_count(model, args) -> tuple[int, dict, object]:
    """FlopCounterMode total FLOPs, per-op FLOPs, and the model's output."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad():
        fc = FlopCounterMode(display=False)
        with fc:
            out = model(*args)
    total = int(fc.get_total_flops())
    by_op = {str(k): int(v) for k, v in fc.get_flop_counts().get("Global", {}).items()}
    return total, dict(sorted(by_op.items())), out


# --------------------------------------------------------------------------
# Worker: one job in its own process
# --------------------------------------------------------------------------


def run_job(job: Job, out_dir: Path, threads: int) -> dict:
    import numpy as np
    import onnx
    import onnxruntime as ort
    import torch
    import torchvision

    torch.set_num_threads(threads)
    fn, builder = builder_of(job)
    kwargs = build_kwargs(job)
    torch.manual_seed(MODEL_SEED)
    t0 = time.time()
    model = fn(**kwargs).eval()
    perturb(model)
    counts = tvf.count_torch_tensors(model)
    log(f"{job.stem}: built {builder} in {time.time() - t0:.1f}s, {counts['torch_params']:,} params")

    trace_shape, oracle_shape = input_shapes(job)
    x_oracle = make_input(oracle_shape, ORACLE_INPUT_SEED)
    x_trace = x_oracle if trace_shape == oracle_shape else make_input(trace_shape, TRACE_INPUT_SEED)

    # PyTorch: FLOP counter on the oracle input (also gives output names/shapes).
    t0 = time.time()
    flops, flops_by_op, torch_out = flop_count(model, model_args(job, x_oracle))
    if flops % 2:
        raise RuntimeError(f"odd FLOP total {flops}")
    log(f"{job.stem}: FlopCounterMode {flops / 2e9:.3f} GMACs in {time.time() - t0:.1f}s")
    in_name, out_names, dyn_axes = io_names(job, torch_out)
    t_shapes = torch_output_shapes(job, torch_out, out_names)
    del torch_out

    result: dict = {
        "file": f"{job.stem}.onnx",
        "builder": builder,
        "build_kwargs": kwargs,
        "exporter": EXPORTER,
        "exporter_detail": EXPORTER_DETAIL,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": ort.__version__,
        "kind": job.kind,
        "variant": job.variant,
        "seeds": {"model": MODEL_SEED, "noise": NOISE_SEED, "trace_input": TRACE_INPUT_SEED,
                  "oracle_input": ORACLE_INPUT_SEED},
        "trace_input_shape": trace_shape,
        "input_generator": INPUT_GENERATOR.format(seed=ORACLE_INPUT_SEED),
        "inputs": {in_name: {"shape": oracle_shape, "dtype": "float32"}},
        "dynamic_axes": {k: {str(a): n for a, n in v.items()} for k, v in dyn_axes.items()},
    }

    with tempfile.TemporaryDirectory(prefix=f"nncost_oracle_{job.stem}_") as tmp:
        tmp = Path(tmp)
        full_path = tmp / "full" / f"{job.stem}.onnx"
        full_path.parent.mkdir()
        t0 = time.time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model,
                model_args(job, x_trace),
                str(full_path),
                input_names=[in_name],
                output_names=out_names,
                dynamic_axes=dyn_axes or None,
                opset_version=OPSET,
                do_constant_folding=True,
                dynamo=False,
            )
        export_seconds = time.time() - t0  # logged only: the oracle stays reproducible byte for byte
        onnx.checker.check_model(str(full_path))
        full = onnx.load(str(full_path))
        info = analyze(full)
        log(f"{job.stem}: exported in {export_seconds:.1f}s, {info['node_count']} nodes, "
            f"{full_path.stat().st_size / 2**20:.1f} MiB with weights")

        # Symbolic input dims -> the values the oracle input gives them.
        dims: dict[str, int] = {}
        for d, v in zip(info["declared_inputs"][in_name], oracle_shape):
            if isinstance(d, str) and d:
                dims[d] = v
        result["dims"] = dims

        # onnxruntime oracle, weights still present.
        t0 = time.time()
        shapes, non_tensor, ort_outs = ort_shapes(full, {in_name: x_oracle.numpy()}, threads)
        log(f"{job.stem}: onnxruntime ran in {time.time() - t0:.1f}s, {len(shapes)} tensor values")
        out_dims: dict[str, int] = {}
        for o, decl in info["declared_outputs"].items():
            for d, v in zip(decl, ort_outs.get(o) or []):
                if isinstance(d, str) and d:
                    if out_dims.setdefault(d, v) != v:
                        out_dims[d + "?"] = v  # inconsistent: keep both
        result["output_dims"] = out_dims
        result["ort_output_shapes"] = ort_outs
        result["torch_output_shapes"] = t_shapes
        result["ort_outputs_match_torch"] = all(ort_outs.get(k) == v for k, v in t_shapes.items())

        result["torch_flop_counter_macs"] = flops // 2
        result["torch_flop_counter_flops"] = flops
        result["torch_flop_counter_flops_by_op"] = flops_by_op
        result.update(counts)  # torch_params, torch_buffers, ...

        # Strip the weights (same as make_torchvision_fixtures.py) and check.
        final_path = out_dir / f"{job.stem}.onnx"
        sig_full = initializer_signature(full)
        data_name = tvf.strip_weights(full, final_path, tmp / "stripped")
        del full
        stripped = onnx.load(str(final_path), load_external_data=False)
        info_s = analyze(stripped)
        for key in ("node_count", "op_counts", "initializer_elements", "constant_node_elements",
                    "subgraph_node_count", "declared_inputs", "declared_outputs"):
            if info_s[key] != info[key]:
                raise RuntimeError(f"stripped file differs in {key}: {info_s[key]} != {info[key]}")
        if initializer_signature(stripped) != sig_full:
            raise RuntimeError("stripped file has different initializer names/dims/dtypes")
        missing = [o for o in shapes if o not in {x for n in stripped.graph.node for x in n.output}]
        if missing:
            raise RuntimeError(f"values not produced by the stripped graph: {missing[:5]}")
        n_ext = sum(1 for i in stripped.graph.initializer if i.data_location == onnx.TensorProto.EXTERNAL)
        result.update(info)
        result["initializers_external"] = n_ext
        result["initializers_inline"] = len(stripped.graph.initializer) - n_ext
        result["external_data_location"] = data_name
        result["file_bytes"] = final_path.stat().st_size
        result["non_tensor_values"] = non_tensor
        result["shapes"] = shapes  # last: it is long
    log(f"{job.stem}: wrote {final_path} ({result['file_bytes'] / 1024:.0f} KiB)")
    return result


def dump_oracle(result: dict) -> str:
    """JSON with one line per dict entry (shapes stay readable and small)."""
    lines = ["{"]
    items = list(result.items())
    for i, (k, v) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        if isinstance(v, dict) and v:
            lines.append(f" {json.dumps(k)}: {{")
            sub = list(v.items())
            for j, (sk, sv) in enumerate(sub):
                lines.append(f"  {json.dumps(sk)}: {json.dumps(sv)}" + ("," if j < len(sub) - 1 else ""))
            lines.append(" }" + comma)
        else:
            lines.append(f" {json.dumps(k)}: {json.dumps(v)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def worker_main(args) -> int:
    job = {j.stem: j for j in all_jobs()}[args.worker]
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        result = run_job(job, out_dir, args.threads)
        (out_dir / f"{job.stem}.oracle.json").write_text(dump_oracle(result))
        summary = {
            "file": result["file"], "oracle": f"{job.stem}.oracle.json", "model": job.model,
            "kind": job.kind, "variant": job.variant, "node_count": result["node_count"],
            "shapes": len(result["shapes"]), "torch_flop_counter_macs": result["torch_flop_counter_macs"],
            "torch_params": result["torch_params"], "file_bytes": result["file_bytes"],
            "ort_outputs_match_torch": result["ort_outputs_match_torch"],
        }
        code = 0
    except Exception as exc:  # record the reason; the parent continues
        traceback.print_exc()
        summary = {"file": f"{job.stem}.onnx", "model": job.model, "kind": job.kind, "variant": job.variant,
                   "error": f"{type(exc).__name__}: {exc}"[:2000]}
        code = 1
    Path(args.result_json).write_text(json.dumps(summary))
    return code


# --------------------------------------------------------------------------
# Parent
# --------------------------------------------------------------------------


def parent_main(args) -> int:
    jobs = all_jobs()
    if args.models:
        wanted = args.models.split(",")
        unknown = sorted(set(wanted) - {j.model for j in jobs})
        if unknown:
            log(f"unknown model names: {unknown}")
            return 2
        jobs = [j for j in jobs if j.model in wanted]
    if args.variants:
        wanted_v = args.variants.split(",")
        if set(wanted_v) - set(VARIANTS):
            log(f"unknown variants {wanted_v}; choose from {VARIANTS}")
            return 2
        jobs = [j for j in jobs if j.variant in wanted_v]
    if args.list:
        for j in jobs:
            print(f"{j.stem}.onnx\t{j.kind}\t{j.variant}")
        return 0

    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    index_path = out_dir / "index.json"
    entries = {}
    if index_path.exists():  # partial runs merge into the index
        entries = {e["file"]: e for e in json.loads(index_path.read_text())}

    failures = []
    t_all = time.time()
    for i, job in enumerate(jobs, 1):
        log(f"[{i}/{len(jobs)}] {job.stem}: start")
        t0 = time.time()
        with tempfile.TemporaryDirectory(prefix="nncost_oracle_result_") as rdir:
            result_json = Path(rdir) / "result.json"
            cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", job.stem,
                   "--result-json", str(result_json), "--out-dir", str(out_dir), "--threads", str(args.threads)]
            try:
                rc = subprocess.run(cmd, timeout=WORKER_TIMEOUT).returncode
            except subprocess.TimeoutExpired:
                rc = f"timeout after {WORKER_TIMEOUT}s"
            if result_json.exists():
                summary = json.loads(result_json.read_text())
            else:
                summary = {"file": f"{job.stem}.onnx", "model": job.model, "kind": job.kind,
                           "variant": job.variant, "error": f"worker died without a result ({rc})"}
        if "error" in summary:
            failures.append((job.stem, summary["error"]))
            for stale in (out_dir / f"{job.stem}.onnx", out_dir / f"{job.stem}.oracle.json"):
                stale.unlink(missing_ok=True)
            log(f"[{i}/{len(jobs)}] {job.stem}: FAILED after {time.time() - t0:.1f}s: {summary['error']}")
        else:
            log(f"[{i}/{len(jobs)}] {job.stem}: ok in {time.time() - t0:.1f}s")
        entries[summary["file"]] = summary
        tmp = index_path.with_suffix(".json.tmp")
        tmp.write_text("[\n" + ",\n".join(json.dumps(entries[k]) for k in sorted(entries)) + "\n]\n")
        tmp.replace(index_path)

    total = sum(p.stat().st_size for p in out_dir.iterdir() if p.is_file())
    log(f"done: {len(jobs)} jobs in {(time.time() - t_all) / 60:.1f} min, {len(failures)} failed; "
        f"{out_dir} holds {total / 2**20:.2f} MiB")
    for stem, err in failures:
        log(f"  FAILED {stem}: {err}")
    return 1 if failures else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", help="comma-separated model names (default: all); every variant of each")
    ap.add_argument("--variants", help=f"comma-separated subset of {','.join(VARIANTS)}")
    ap.add_argument("--list", action="store_true", help="print the selected jobs and exit")
    ap.add_argument("--out-dir", default=str(DEFAULT_OUT_DIR))
    ap.add_argument("--threads", type=int, default=2, help="torch / onnxruntime intra-op threads per worker")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--result-json", help=argparse.SUPPRESS)
    args = ap.parse_args()
    return worker_main(args) if args.worker else parent_main(args)


if __name__ == "__main__":
    sys.exit(main())
