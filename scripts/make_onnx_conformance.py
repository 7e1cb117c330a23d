#!/usr/bin/env python3
"""Writes ONNX's own node test cases as conformance cases for nncost.

Usage: make_onnx_conformance.py OUT_DIR

Needs only the `onnx` package (pinned in `.ci/run`: onnx==1.23.2) and numpy.
For every node test case of `onnx.backend.test.case.node.collect_testcases()`
it writes, under OUT_DIR/<case>/:

- `model.onnx`: the case's model with the graph OUTPUTS' shapes removed (only
  their names and element types remain) and all value_info removed, so nncost
  cannot read the answer from the file. Graph input shapes stay: they are the
  case's inputs.
- `case.json`: the op type, domain and opset; the expected output shapes and
  dtypes, taken from the case's expected output ARRAYS; and the verdict of
  `onnx.shape_inference.infer_shapes(model, data_prop=True)` on the same
  stripped model, by the same criterion the Rust test applies (every output's
  rank and every dim known and equal to the expected one).

Where the case has small non-data inputs (every int32/int64/bool input of at
most 64 elements, and float inputs named `scales`, `roi`, `depth`, `start`,
`limit` or `delta`, of at most 64 elements), it also writes
`<case>__values/`: the same model with those inputs turned into initializers
holding the case's input values, as a real exported model holds a Reshape
target or Resize scales. Output shapes that depend on input values (Reshape,
Expand, Tile, ConstantOfShape, Resize, reduction axes, Slice, Pad, TopK,
Range, OneHot, Split, Squeeze/Unsqueeze, ...) can only be inferred there.

Cases whose model fails `onnx.checker.check_model`, and cases with sequence,
optional or map inputs or outputs (not compared by the test), are listed in
OUT_DIR/skipped.json with the reason.
"""

import json
import os
import re
import shutil
import sys
import warnings

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper, shape_inference
from onnx.backend.test.case.node import collect_testcases

INT_TYPES = {TensorProto.INT64, TensorProto.INT32}
MAX_CONFIG_ELEMS = 64
# Float inputs that are settings, not data: Resize's scales and roi, OneHot's
# depth, Range's start/limit/delta.
FLOAT_CONFIG_NAMES = {"scales", "roi", "depth", "start", "limit", "delta"}


def dtype_name(elem_type):
    return TensorProto.DataType.Name(elem_type).lower()


def is_tensor_type(tp):
    return tp.WhichOneof("value") == "tensor_type"


def strip(model):
    """A copy with graph output shapes and value_info removed."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    del m.graph.value_info[:]
    for out in m.graph.output:
        if is_tensor_type(out.type):
            out.type.tensor_type.ClearField("shape")
    return m


def opset_of(model, domain):
    canon = "" if domain == "ai.onnx" else domain
    for imp in model.opset_import:
        d = "" if imp.domain == "ai.onnx" else imp.domain
        if d == canon:
            return imp.version
    return None


def onnx_verdict(model, expected):
    """Does onnx's own shape inference (with data propagation) get every
    output's shape exactly? Returns (verdict, detail)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            inferred = shape_inference.infer_shapes(model, data_prop=True)
    except Exception as e:  # noqa: BLE001 - any failure is a fail
        return "fail", f"error: {str(e).splitlines()[0][:200]}"
    by_name = {o.name: o for o in inferred.graph.output}
    for vi in list(inferred.graph.value_info):
        by_name.setdefault(vi.name, vi)
    for exp in expected:
        o = by_name.get(exp["name"])
        if o is None or not is_tensor_type(o.type):
            return "fail", f"{exp['name']}: no type"
        tt = o.type.tensor_type
        if not tt.HasField("shape"):
            return "fail", f"{exp['name']}: unknown rank"
        dims = []
        for d in tt.shape.dim:
            if d.HasField("dim_value"):
                dims.append(d.dim_value)
            else:
                dims.append(None)
        if dims != exp["shape"]:
            return "fail", f"{exp['name']}: got {dims}, expected {exp['shape']}"
    return "pass", ""


def array_shape(a):
    """Shape and dtype name of an expected array (numpy, or a TensorProto for
    the types numpy lacks), or None for anything else."""
    if isinstance(a, (np.ndarray, np.generic)):
        return [int(x) for x in np.shape(a)], str(a.dtype)
    if isinstance(a, TensorProto):
        return [int(x) for x in a.dims], dtype_name(a.data_type)
    return None


def with_values(model, inputs):
    """The variant with small non-data inputs as initializers, or None."""
    chosen = {}
    for vi, arr in zip(model.graph.input, inputs):
        if not is_tensor_type(vi.type) or not isinstance(arr, (np.ndarray, np.generic)):
            continue
        arr = np.asarray(arr)
        et = vi.type.tensor_type.elem_type
        small_int = et in INT_TYPES and arr.size <= MAX_CONFIG_ELEMS
        # A small boolean mask such as Compress's condition.
        small_int = small_int or (et == TensorProto.BOOL and arr.size <= MAX_CONFIG_ELEMS)
        float_cfg = vi.name in FLOAT_CONFIG_NAMES and arr.size <= MAX_CONFIG_ELEMS
        if small_int or float_cfg:
            chosen[vi.name] = arr
    if not chosen:
        return None
    m = onnx.ModelProto()
    m.CopyFrom(model)
    keep = [vi for vi in m.graph.input if vi.name not in chosen]
    for vi in model.graph.input:
        if vi.name in chosen:
            elem = vi.type.tensor_type.elem_type
            arr = np.asarray(chosen[vi.name]).astype(onnx.helper.tensor_dtype_to_np_dtype(elem))
            m.graph.initializer.append(numpy_helper.from_array(arr, vi.name))
    if m.ir_version >= 4:
        # Before IR 4 an initializer must also be listed as a graph input.
        del m.graph.input[:]
        m.graph.input.extend(keep)
    return m


def write_case(out_dir, name, model, meta, expected, variant_of=None):
    d = os.path.join(out_dir, name)
    os.makedirs(d, exist_ok=True)
    onnx.save(model, os.path.join(d, "model.onnx"))
    verdict, detail = onnx_verdict(model, expected)
    case = dict(meta)
    case["name"] = name
    case["variant_of"] = variant_of
    case["outputs"] = expected
    case["onnx"] = verdict
    case["onnx_detail"] = detail
    with open(os.path.join(d, "case.json"), "w") as f:
        json.dump(case, f, indent=1)
    return verdict


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_onnx_conformance.py OUT_DIR")
    out_dir = sys.argv[1]
    if os.path.isdir(out_dir):
        shutil.rmtree(out_dir)
    os.makedirs(out_dir)
    skipped = []
    written = 0
    onnx_pass = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = collect_testcases()
    # The op under test: the case's single node; for a function-expanded case
    # (`..._expanded`) the op of the case it expands; else the last node's.
    single = {
        tc.name: tc.model.graph.node[0]
        for tc in cases
        if tc.model is not None and len(tc.model.graph.node) == 1
    }
    for tc in sorted(cases, key=lambda c: c.name):
        if tc.kind != "node" or tc.model is None or not tc.data_sets:
            skipped.append({"name": tc.name, "reason": "no model or data"})
            continue
        model = tc.model
        try:
            onnx.checker.check_model(model)
        except Exception as e:  # noqa: BLE001
            skipped.append({"name": tc.name, "reason": f"onnx.checker: {str(e).splitlines()[0][:160]}"})
            continue
        g = model.graph
        if len(g.node) == 0:
            skipped.append({"name": tc.name, "reason": "empty graph"})
            continue
        non_tensor = [v.name for v in list(g.input) + list(g.output) if not is_tensor_type(v.type)]
        if non_tensor:
            skipped.append(
                {"name": tc.name, "reason": f"sequence/optional/map-typed values: {', '.join(non_tensor)}"}
            )
            continue
        inputs, outputs = tc.data_sets[0]
        shapes = [array_shape(a) for a in outputs]
        if len(outputs) != len(g.output) or any(s is None for s in shapes):
            skipped.append({"name": tc.name, "reason": "expected outputs are not all arrays"})
            continue
        base = re.sub(r"_expanded(_ver\d+)?$", "", tc.name)
        node = single.get(tc.name) or single.get(base) or g.node[-1]
        main_ops = sorted({(n.domain or "", n.op_type) for n in g.node})
        meta = {
            "op_type": node.op_type,
            "domain": node.domain or "",
            "opset": opset_of(model, node.domain or ""),
            "nodes": len(g.node),
            "ops": [{"domain": d, "op_type": t} for d, t in main_ops],
        }
        expected = [
            {"name": o.name, "shape": s[0], "dtype": s[1]} for o, s in zip(g.output, shapes)
        ]
        stripped = strip(model)
        onnx_pass += write_case(out_dir, tc.name, stripped, meta, expected) == "pass"
        written += 1
        variant = with_values(model, inputs)
        if variant is not None:
            try:
                onnx.checker.check_model(variant)
            except Exception as e:  # noqa: BLE001
                skipped.append({"name": tc.name + "__values", "reason": f"onnx.checker: {str(e)[:160]}"})
                continue
            variant = strip(variant)
            onnx_pass += (
                write_case(out_dir, tc.name + "__values", variant, meta, expected, variant_of=tc.name) == "pass"
            )
            written += 1
    with open(os.path.join(out_dir, "skipped.json"), "w") as f:
        json.dump(skipped, f, indent=1)
    print(
        f"wrote {written} cases to {out_dir} (onnx data_prop passes {onnx_pass}); "
        f"skipped {len(skipped)} (see skipped.json)"
    )


if __name__ == "__main__":
    main()
