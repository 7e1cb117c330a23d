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

Sequence and optional values. An expected output that is a sequence (a
Python list of arrays) is written `{"name", "sequence": [shape, ...],
"dtype"}` (the element dtype); an optional output is written `{"name",
"optional": true|false, ...}` with, when it holds a value, that value's
fields (`shape` or `sequence`, and `dtype`). For the graph INPUTS of
sequence or optional type, the `__values` variant (written in addition to
the rule above for small tensor inputs) produces each such input in the
graph from the case's input data, by nodes placed first whose output keeps
the input's name: a sequence is `SequenceConstruct` of initializers holding
its arrays (an empty one `SequenceEmpty` of the element dtype); an optional
is `Optional` of an initializer (or of such a sequence), or an `Optional`
with a `type` attribute when empty. The original, with those inputs as
graph inputs of unknown length, is written too. The shapes of sequence and
optional graph outputs are stripped as well (their element types remain).

onnx's verdict on a sequence output: onnx's type system has no sequence
length, so onnx passes a sequence output when the shape of its inferred
element type equals the dims all expected elements share (`None` where they
differ; unknown rank when their ranks differ; anything for an empty
sequence). An optional output passes when onnx infers an optional type
whose element passes as above (onnx's types cannot say whether an optional
holds a value). nncost is held to more (tests/conformance.rs): the length of
a sequence and every element's shape, and an optional's presence.

Cases whose model fails `onnx.checker.check_model`, cases with map-typed
inputs or outputs, and cases whose expected outputs are not arrays,
sequences or optionals of them are listed in OUT_DIR/skipped.json with the
reason.
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
        strip_type(out.type)
    return m


def strip_type(tp):
    """Removes the shapes from a type, also inside sequence and optional
    types (their element types remain)."""
    kind = tp.WhichOneof("value")
    if kind == "tensor_type":
        tp.tensor_type.ClearField("shape")
    elif kind == "sequence_type":
        strip_type(tp.sequence_type.elem_type)
    elif kind == "optional_type":
        strip_type(tp.optional_type.elem_type)


def type_kind(tp):
    """'tensor', 'sequence', 'optional', or another kind's name."""
    kind = tp.WhichOneof("value")
    return {"tensor_type": "tensor", "sequence_type": "sequence", "optional_type": "optional"}.get(kind, kind)


def elem_dtype(tp):
    """The tensor element type inside a (sequence or optional) type, or None."""
    kind = tp.WhichOneof("value")
    if kind == "tensor_type":
        return tp.tensor_type.elem_type
    if kind == "sequence_type":
        return elem_dtype(tp.sequence_type.elem_type)
    if kind == "optional_type":
        return elem_dtype(tp.optional_type.elem_type)
    return None


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
        if o is None:
            return "fail", f"{exp['name']}: no type"
        why = type_verdict(o.type, exp)
        if why:
            return "fail", f"{exp['name']}: {why}"
    return "pass", ""


def common_dims(shapes):
    """The dims all shapes share (None where they differ); "any" for no
    shapes; None (unknown rank) when their ranks differ."""
    if not shapes:
        return "any"
    if len({len(s) for s in shapes}) != 1:
        return None
    return [d if all(s[i] == d for s in shapes) else None for i, d in enumerate(shapes[0])]


def tensor_dims(tp):
    """The dims of a tensor type (None for unknown ones), None for an
    unknown rank, or the string "not a tensor"."""
    if not is_tensor_type(tp):
        return "not a tensor"
    tt = tp.tensor_type
    if not tt.HasField("shape"):
        return None
    return [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]


def type_verdict(tp, exp):
    """Why onnx's inferred type `tp` does not match the expected output
    `exp`, or "" when it does (see the module doc for sequences and
    optionals)."""
    if "optional" in exp:
        if type_kind(tp) != "optional":
            return f"inferred {type_kind(tp)}, expected an optional"
        if not exp["optional"]:
            return ""
        held = {k: v for k, v in exp.items() if k != "optional"}
        return type_verdict(tp.optional_type.elem_type, held)
    if "sequence" in exp:
        if type_kind(tp) != "sequence":
            return f"inferred {type_kind(tp)}, expected a sequence"
        want = common_dims(exp["sequence"])
        if want == "any":
            return ""
        got = tensor_dims(tp.sequence_type.elem_type)
        if got != want:
            return f"elements: got {got}, expected {want}"
        return ""
    got = tensor_dims(tp)
    if got is None:
        return "unknown rank"
    if got != exp["shape"]:
        return f"got {got}, expected {exp['shape']}"
    return ""


def array_shape(a):
    """Shape and dtype name of an expected array (numpy, or a TensorProto for
    the types numpy lacks), or None for anything else."""
    if isinstance(a, (np.ndarray, np.generic)):
        return [int(x) for x in np.shape(a)], str(a.dtype)
    if isinstance(a, TensorProto):
        return [int(x) for x in a.dims], dtype_name(a.data_type)
    return None


def expected_fields(tp, value):
    """The expected fields of an output of type `tp` holding `value` (see the
    module doc), without the name; None when the value is not an array, a
    sequence or an optional of them."""
    kind = type_kind(tp)
    if kind == "tensor":
        s = array_shape(value)
        return None if s is None else {"shape": s[0], "dtype": s[1]}
    if kind == "sequence":
        if not isinstance(value, list):
            return None
        shapes = [array_shape(a) for a in value]
        if any(s is None for s in shapes):
            return None
        if shapes:
            dtype = shapes[0][1]
        else:
            dtype = str(np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem_dtype(tp))))
        return {"sequence": [s[0] for s in shapes], "dtype": dtype}
    if kind == "optional":
        if value is None:
            return {"optional": False}
        held = expected_fields(tp.optional_type.elem_type, value)
        return None if held is None else {"optional": True, **held}
    return None


def initializer(name, tp, arr):
    """An initializer `name` holding `arr` as the tensor type `tp` says."""
    arr = np.asarray(arr)
    et = tp.tensor_type.elem_type if is_tensor_type(tp) else 0
    if et:
        arr = arr.astype(onnx.helper.tensor_dtype_to_np_dtype(et))
    return numpy_helper.from_array(arr, name)


def produce(name, tp, value, nodes, inits):
    """Appends the nodes (and initializers) that produce the sequence or
    optional `value` of type `tp` as the value `name`."""
    kind = type_kind(tp)
    if kind == "tensor":
        inits.append(initializer(name, tp, value))
    elif kind == "sequence":
        et = tp.sequence_type.elem_type
        if not value:
            nodes.append(
                onnx.helper.make_node("SequenceEmpty", [], [name], name=f"{name}__empty", dtype=elem_dtype(tp))
            )
            return
        parts = []
        for i, arr in enumerate(value):
            parts.append(f"{name}__{i}")
            inits.append(initializer(parts[-1], et, arr))
        nodes.append(onnx.helper.make_node("SequenceConstruct", parts, [name], name=f"{name}__construct"))
    elif kind == "optional":
        et = tp.optional_type.elem_type
        if value is None:
            nodes.append(onnx.helper.make_node("Optional", [], [name], name=f"{name}__optional", type=et))
            return
        held = f"{name}__held"
        produce(held, et, value, nodes, inits)
        nodes.append(onnx.helper.make_node("Optional", [held], [name], name=f"{name}__optional"))
    else:
        raise ValueError(f"{name}: cannot produce a {kind} value")


def with_values(model, inputs):
    """The variant with small non-data inputs as initializers and sequence
    and optional inputs produced in the graph, or None."""
    chosen = {}
    made = {}
    for vi, arr in zip(model.graph.input, inputs):
        if type_kind(vi.type) in ("sequence", "optional"):
            made[vi.name] = (vi.type, arr)
            continue
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
    if not chosen and not made:
        return None
    m = onnx.ModelProto()
    m.CopyFrom(model)
    keep = [vi for vi in m.graph.input if vi.name not in chosen and vi.name not in made]
    for vi in model.graph.input:
        if vi.name in chosen:
            elem = vi.type.tensor_type.elem_type
            arr = np.asarray(chosen[vi.name]).astype(onnx.helper.tensor_dtype_to_np_dtype(elem))
            m.graph.initializer.append(numpy_helper.from_array(arr, vi.name))
    nodes, inits = [], []
    for vi in model.graph.input:
        if vi.name in made:
            produce(vi.name, *made[vi.name], nodes, inits)
    m.graph.initializer.extend(inits)
    # The producing nodes come first: the graph stays topologically sorted.
    rest = list(m.graph.node)
    del m.graph.node[:]
    m.graph.node.extend(nodes + rest)
    if m.ir_version >= 4 or made:
        # Before IR 4 an initializer must also be listed as a graph input
        # (the variants of sequence inputs are all IR >= 6).
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
        other = [
            v.name
            for v in list(g.input) + list(g.output)
            if type_kind(v.type) not in ("tensor", "sequence", "optional")
        ]
        if other:
            skipped.append({"name": tc.name, "reason": f"map- or opaque-typed values: {', '.join(other)}"})
            continue
        inputs, outputs = tc.data_sets[0]
        fields = [expected_fields(o.type, a) for o, a in zip(g.output, outputs)]
        if len(outputs) != len(g.output) or any(f is None for f in fields):
            skipped.append(
                {"name": tc.name, "reason": "expected outputs are not all arrays, sequences or optionals of them"}
            )
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
        expected = [{"name": o.name, **f} for o, f in zip(g.output, fields)]
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
