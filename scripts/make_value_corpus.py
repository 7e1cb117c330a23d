#!/usr/bin/env python3
"""Generate the small-tensor value corpus ``tests/fixtures/values``.

nncost evaluates small, statically known tensors (shape computations and
the like) while it analyses a graph.  This script writes a corpus of random
test cases whose expected outputs come from ``onnx.reference.ReferenceEvaluator``
so that nncost's evaluator can be checked operator by operator.

Requirements::

    pip install onnx numpy            # tested with onnx 1.23.2, numpy 2.4

Usage (from the repository root)::

    python scripts/make_value_corpus.py                 # -> tests/fixtures/values
    python scripts/make_value_corpus.py --out /tmp/vals

Output (the directory is created; stale ``*.onnx`` files in it are removed):

* ``<case>.onnx`` -- one model per case: opset 18 (default domain only),
  IR version 8.  The graph has NO graph inputs: every value a node reads is
  an initializer (or the output of an earlier node), so all data is known
  statically.  1-3 nodes.  The graph outputs are the outputs of the last
  node, each declared with the elem_type and shape of the reference result.
  Case names are ``<op>_<n>`` (op type in lower case, e.g. ``reducemin_3``,
  ``greaterorequal_0``) or ``chain_<n>`` for multi-node graphs.
* ``expected.json`` -- ``{"<case>": {"outputs": {"<name>": {"dtype": ...,
  "shape": [...], "values": [...]}}}}``; dtype is one of int64, int32,
  float32, float16, bool; values are flat, row-major; bool as 0/1; floats
  are the exact value of the float32/float16 result written as a JSON
  number with full (shortest round-trip double) precision.
* ``README.md`` -- short description of the above.

Every model is checked with ``onnx.checker.check_model(full_check=True)``
and run with the reference evaluator; a case failing either, or whose result
holds NaN/inf, is dropped and reported on stderr (the count is printed at
the end).  The generator is deterministic (``numpy.random.default_rng``
with a fixed seed, fixed case order), so re-running it reproduces the
corpus byte for byte given the same onnx/numpy versions.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

SEED = 20240518
OPSET = 18
IR_VERSION = 8
MAX_ELEMS = 24

I64 = np.int64
F32 = np.float32

DTYPE_NAMES = {
    np.dtype(np.int64): "int64",
    np.dtype(np.int32): "int32",
    np.dtype(np.float32): "float32",
    np.dtype(np.float16): "float16",
    np.dtype(np.bool_): "bool",
}


# ---------------------------------------------------------------------------
# random data helpers
# ---------------------------------------------------------------------------


def rshape(rng, ranks=(0, 1, 2, 3), maxn=MAX_ELEMS, mindim=1, maxdim=5):
    """A random shape of one of ``ranks`` with at most ``maxn`` elements."""
    rank = int(rng.choice(ranks))
    while True:
        shape = tuple(int(rng.integers(mindim, maxdim + 1)) for _ in range(rank))
        if int(np.prod(shape, dtype=np.int64)) <= maxn:
            return shape


def bshape(rng, shape):
    """A shape that broadcasts against ``shape`` (drop leading dims, set 1s)."""
    shape = list(shape)
    drop = int(rng.integers(0, len(shape) + 1))
    out = shape[drop:]
    out = [1 if rng.random() < 0.4 else d for d in out]
    return tuple(out)


def bpair(rng, ranks=(0, 1, 2, 3)):
    """Two mutually broadcastable shapes (in random order)."""
    a = rshape(rng, ranks)
    b = bshape(rng, a)
    if rng.random() < 0.5:
        a, b = b, a
    return a, b


def ints(rng, shape, lo=-9, hi=9, nonzero=False):
    a = rng.integers(lo, hi + 1, size=shape).astype(I64)
    if nonzero:
        a = np.where(a == 0, np.int64(1) if hi > 0 else np.int64(-1), a).astype(I64)
    return np.asarray(a, dtype=I64)


def floats(rng, shape, lo=-5.0, hi=5.0, step=None, nonzero=False):
    """Random float32 values; rounded to 2 decimals or to multiples of ``step``."""
    x = rng.uniform(lo, hi, size=shape)
    if step is not None:
        x = np.round(x / step) * step
    else:
        x = np.round(x, 2)
    x = np.clip(x, lo, hi)
    if nonzero:
        x = np.where(np.abs(x) < 0.25, 0.5, x)
    return np.asarray(x, dtype=F32)


def bools(rng, shape):
    return np.asarray(rng.random(size=shape) < 0.5, dtype=np.bool_)


def data(rng, dtype, shape, **kw):
    if dtype is I64:
        return ints(rng, shape, **{k: v for k, v in kw.items() if k in ("lo", "hi", "nonzero")})
    return floats(rng, shape, **kw)


def i64(values):
    return np.asarray(values, dtype=I64)


def f32(values):
    return np.asarray(values, dtype=F32)


class Case:
    """Nodes plus initializers; outputs are the last node's outputs."""

    def __init__(self):
        self.nodes = []
        self.inits = []  # list of (name, array)
        self._n = 0

    def init(self, array, prefix="c"):
        name = f"{prefix}{len(self.inits)}"
        self.inits.append((name, np.asarray(array)))
        return name

    def node(self, op, inputs, n_out=1, **attrs):
        outs = [f"t{self._n}_{k}" for k in range(n_out)]
        self._n += 1
        self.nodes.append(helper.make_node(op, inputs, outs, **attrs))
        return outs[0] if n_out == 1 else outs

    def finish(self):
        """Rename the last node's outputs to y / y0, y1, ..."""
        last = self.nodes[-1]
        outs = list(last.output)
        new = ["y"] if len(outs) == 1 else [f"y{k}" for k in range(len(outs))]
        del last.output[:]
        last.output.extend(new)
        return new


# ---------------------------------------------------------------------------
# single-operator generators: gen(rng, i) -> Case
# ---------------------------------------------------------------------------


def dt_cycle(i, options=(I64, F32)):
    return options[i % len(options)]


def gen_binary(op, int_ok=True, float_ok=True, nonzero_b=False, lo=-9, hi=9):
    def gen(rng, i):
        opts = tuple(d for d, ok in ((I64, int_ok), (F32, float_ok)) if ok)
        dt = dt_cycle(i, opts)
        a_shape, b_shape = bpair(rng) if i % 3 != 0 else (rshape(rng),) * 2
        c = Case()
        if dt is I64:
            a = ints(rng, a_shape, lo, hi)
            b = ints(rng, b_shape, lo, hi, nonzero=nonzero_b)
        else:
            a = floats(rng, a_shape, lo, hi)
            b = floats(rng, b_shape, lo, hi, nonzero=nonzero_b)
        c.node(op, [c.init(a), c.init(b)])
        return c

    return gen


def gen_div(rng, i):
    dt = dt_cycle(i)
    a_shape, b_shape = bpair(rng) if i % 2 else (rshape(rng),) * 2
    c = Case()
    if dt is I64:
        a = ints(rng, a_shape, -20, 20)
        b = ints(rng, b_shape, -6, 6, nonzero=True)
    else:
        a = floats(rng, a_shape, -20, 20)
        b = floats(rng, b_shape, -6, 6, nonzero=True)
    if i == 0:  # explicit truncation toward zero for every sign combination
        a = i64([7, -7, 7, -7, -1, 1, 0, 9, -9, -6])
        b = i64([2, 2, -2, -2, 3, 3, -4, -4, 4, 3])
    c.node("Div", [c.init(a), c.init(b)])
    return c


def gen_mod(rng, i):
    # float Mod requires fmod=1 per the ONNX spec, so floats only use fmod=1.
    dt, fmod = [(I64, 0), (I64, 1), (F32, 1)][i % 3]
    a_shape, b_shape = bpair(rng) if i % 2 else (rshape(rng),) * 2
    c = Case()
    if dt is I64:
        a = ints(rng, a_shape, -20, 20)
        b = ints(rng, b_shape, -7, 7, nonzero=True)
    else:
        a = floats(rng, a_shape, -20, 20, step=0.25)
        b = floats(rng, b_shape, -6, 6, step=0.25, nonzero=True)
    c.node("Mod", [c.init(a), c.init(b)], fmod=fmod)
    return c


def gen_variadic(op, dtypes=(I64, F32)):
    def gen(rng, i):
        dt = dt_cycle(i, dtypes)
        n = 1 + i % 3
        base = rshape(rng)
        shapes = [base] + [bshape(rng, base) for _ in range(n - 1)]
        rng.shuffle(shapes)
        c = Case()
        ins = [c.init(data(rng, dt, s)) for s in shapes]
        c.node(op, ins)
        return c

    return gen


def gen_unary(op, dtypes=(I64, F32), **kw):
    def gen(rng, i):
        dt = dt_cycle(i, dtypes)
        c = Case()
        x = data(rng, dt, rshape(rng), **kw)
        c.node(op, [c.init(x)])
        return c

    return gen


def gen_round_like(op):
    def gen(rng, i):
        c = Case()
        shape = rshape(rng, ranks=(0, 1, 2, 3) if i else (1,))
        step = (0.5, 0.25, None)[i % 3]
        x = floats(rng, shape, -6, 6, step=step)
        if i == 0:
            x = f32([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, -0.0, 2.4999, -3.7])
        c.node(op, [c.init(x)])
        return c

    return gen


def gen_pow(rng, i):
    c = Case()
    kind = i % 4
    a_shape, b_shape = bpair(rng) if i % 2 else (rshape(rng),) * 2
    if kind == 0:  # float base > 0, float exponent
        a = floats(rng, a_shape, 0.1, 4.0)
        b = floats(rng, b_shape, -2.0, 3.0)
    elif kind == 1:  # negative float base with integral float exponent
        a = floats(rng, a_shape, -3.0, 3.0, nonzero=True)
        b = floats(rng, b_shape, -2.0, 3.0, step=1.0)
    elif kind == 2:  # int64 base, small non-negative int64 exponent
        a = ints(rng, a_shape, -5, 5)
        b = ints(rng, b_shape, 0, 3)
    else:  # float base, int64 exponent
        a = floats(rng, a_shape, -3.0, 3.0, nonzero=True)
        b = ints(rng, b_shape, 0, 3)
    c.node("Pow", [c.init(a), c.init(b)])
    return c


def gen_compare(op):
    def gen(rng, i):
        dt = dt_cycle(i)
        a_shape, b_shape = bpair(rng) if i % 3 else (rshape(rng),) * 2
        c = Case()
        if dt is I64:
            a, b = ints(rng, a_shape, -3, 3), ints(rng, b_shape, -3, 3)
        else:  # coarse grid so that ties occur
            a, b = floats(rng, a_shape, -2, 2, step=0.5), floats(rng, b_shape, -2, 2, step=0.5)
        c.node(op, [c.init(a), c.init(b)])
        return c

    return gen


def gen_logic(op):
    def gen(rng, i):
        a_shape, b_shape = bpair(rng) if i % 2 else (rshape(rng),) * 2
        c = Case()
        c.node(op, [c.init(bools(rng, a_shape)), c.init(bools(rng, b_shape))])
        return c

    return gen


def gen_not(rng, i):
    c = Case()
    c.node("Not", [c.init(bools(rng, rshape(rng)))])
    return c


def gen_where(rng, i):
    dt = dt_cycle(i)
    base = rshape(rng)
    shapes = [base, bshape(rng, base), bshape(rng, base)]
    rng.shuffle(shapes)
    c = Case()
    cond = c.init(bools(rng, shapes[0]))
    x = c.init(data(rng, dt, shapes[1]))
    y = c.init(data(rng, dt, shapes[2]))
    c.node("Where", [cond, x, y])
    return c


def gen_reduce(op, dtypes=(I64, F32)):
    def gen(rng, i):
        dt = dt_cycle(i, dtypes)
        keepdims = (i // 2) % 2
        mode = i % 3  # 0: no axes, 1: one axis, 2: two axes
        shape = rshape(rng, ranks=(1, 2, 3) if mode < 2 else (2, 3))
        if op == "ReduceProd":
            x = ints(rng, shape, -3, 3) if dt is I64 else floats(rng, shape, 0.5, 1.5)
        else:
            x = data(rng, dt, shape)
        c = Case()
        ins = [c.init(x)]
        rank = len(shape)
        if mode:
            axes = rng.choice(rank, size=mode, replace=False)
            axes = [int(a) - (rank if rng.random() < 0.4 else 0) for a in axes]
            ins.append(c.init(i64(axes)))
        c.node(op, ins, keepdims=keepdims)
        return c

    return gen


def gen_shape(rng, i):
    c = Case()
    shape = rshape(rng, ranks=(1, 2, 3) if i else (0,))
    dt = dt_cycle(i)
    attrs = {}
    r = len(shape)
    if r:
        # normalized start < end so the result is non-empty; written either way round
        start = int(rng.integers(0, r))
        end = int(rng.integers(start + 1, r + 1))
        if i % 3 == 1 or i % 4 == 1:
            attrs["start"] = start - r if rng.random() < 0.5 else start
        if i % 3 == 2 or i % 4 == 1:
            attrs["end"] = end - r if (end < r and rng.random() < 0.5) else (end if end < r or rng.random() < 0.5 else 99)
    c.node("Shape", [c.init(data(rng, dt, shape))], **attrs)
    return c


def gen_gather(rng, i):
    c = Case()
    idx_shape = [(), (3,), (2, 2)][i % 3]
    maxn = {(): 24, (3,): 16, (2, 2): 12}[idx_shape]  # keep the result <= ~24 elements
    shape = rshape(rng, ranks=(1, 2, 3) if i % 2 == 0 else (2, 3), mindim=2, maxn=maxn)
    axis = [0, 1, -1, 0, 1, -2][i % 6] if len(shape) > 1 else 0
    if axis == -2 and len(shape) < 2:
        axis = 0
    n = shape[axis]
    idx = rng.integers(-n, n, size=idx_shape).astype(I64)
    x = ints(rng, shape, -50, 50)
    c.node("Gather", [c.init(x), c.init(np.asarray(idx, dtype=I64))], axis=axis)
    return c


def gen_slice(rng, i):
    c = Case()
    shape = rshape(rng, ranks=(1, 2, 3), mindim=2, maxdim=6)
    x = np.arange(int(np.prod(shape)), dtype=I64).reshape(shape) - 5
    rank = len(shape)
    mode = i % 4  # 0: no axes/steps, 1: axes, 2: axes+steps 2, 3: axes+steps -1
    if mode == 0:
        naxes = rank
        axes = list(range(rank))
    else:
        naxes = int(rng.integers(1, rank + 1))
        axes = [int(a) for a in rng.choice(rank, size=naxes, replace=False)]
    starts, ends, steps = [], [], []
    for a in axes:
        d = shape[a]
        step = {0: 1, 1: 1, 2: 2, 3: -1}[mode]
        if mode == 2 and rng.random() < 0.3:
            step = -2
        # pick a non-empty normalized range, then spell it with negative or
        # out-of-range (clamped) values at random; slice_11 is left empty on purpose.
        if step > 0:
            s0 = int(rng.integers(0, d))
            e0 = int(rng.integers(s0 + 1, d + 1))
            s = s0 - d if rng.random() < 0.5 else s0
            if e0 == d:
                e = int(rng.choice([d, d + 3, 2**62]))
            else:
                e = e0 - d if rng.random() < 0.5 else e0
        else:
            s0 = int(rng.integers(0, d))
            e0 = int(rng.integers(-1, s0))
            if s0 == d - 1:
                s = int(rng.choice([d - 1, -1, d + 2]))
            else:
                s = s0 - d if rng.random() < 0.5 else s0
            if e0 == -1:
                e = int(rng.choice([-d - 1, -(2**62)]))
            else:
                e = e0 - d if rng.random() < 0.5 else e0
        if i == 11:
            s, e = (d - 1, 0) if step > 0 else (0, d - 1)
        starts.append(s)
        ends.append(e)
        steps.append(step)
    ins = [c.init(x), c.init(i64(starts)), c.init(i64(ends))]
    if mode:
        axes = [a - rank if rng.random() < 0.4 else a for a in axes]
        ins.append(c.init(i64(axes)))
        if mode >= 2 or rng.random() < 0.5:
            ins.append(c.init(i64(steps)))
    c.node("Slice", ins)
    return c


def gen_concat(rng, i):
    c = Case()
    dt = dt_cycle(i // 2)
    shape = list(rshape(rng, ranks=(1, 2, 3) if i % 2 == 0 else (2, 3), maxn=8, maxdim=3))
    axis = [0, 1, -1][i % 3] if len(shape) > 1 else [0, -1][i % 2]
    n = 2 + i % 2
    ins = []
    for _ in range(n):
        s = list(shape)
        s[axis] = int(rng.integers(1, 4))
        ins.append(c.init(data(rng, dt, tuple(s))))
    c.node("Concat", ins, axis=axis)
    return c


def gen_squeeze(rng, i):
    c = Case()
    shape = list(rshape(rng, ranks=(1, 2, 3), maxn=12))
    # insert some 1-dims
    for _ in range(1 + i % 2):
        shape.insert(int(rng.integers(0, len(shape) + 1)), 1)
    ones = [k for k, d in enumerate(shape) if d == 1]
    x = ints(rng, tuple(shape))
    ins = [c.init(x)]
    if i % 3:
        pick = [int(a) for a in rng.choice(ones, size=int(rng.integers(1, len(ones) + 1)), replace=False)]
        pick = [a - len(shape) if rng.random() < 0.4 else a for a in pick]
        ins.append(c.init(i64(pick)))
    c.node("Squeeze", ins)
    return c


def gen_unsqueeze(rng, i):
    c = Case()
    shape = rshape(rng, ranks=(0, 1, 2, 3))
    k = 1 + i % 2
    out_rank = len(shape) + k
    axes = [int(a) for a in rng.choice(out_rank, size=k, replace=False)]
    axes = [a - out_rank if rng.random() < 0.4 else a for a in axes]
    x = data(rng, dt_cycle(i // 2), shape)
    c.node("Unsqueeze", [c.init(x), c.init(i64(axes))])
    return c


def gen_reshape(rng, i):
    c = Case()
    shape = rshape(rng, ranks=(2, 3), mindim=2)
    x = ints(rng, shape)
    variant = i % 4
    if variant == 0:  # keep dim 0, infer rest
        target = [0, -1]
    elif variant == 1:  # -1 first, keep last via 0 if rank allows
        target = [-1, shape[-1]]
    elif variant == 2 and len(shape) == 3:
        target = [0, 0, -1]
    elif variant == 2:
        target = [0, -1, 1]
    else:
        # a divisor of n with a 0 copying dim 0
        target = [0, 1, -1]
    c.node("Reshape", [c.init(x), c.init(i64(target))])
    return c


CAST_KINDS = [
    (I64, TensorProto.FLOAT),
    (F32, TensorProto.INT64),
    (F32, TensorProto.FLOAT16),
    (F32, TensorProto.BOOL),
    (I64, TensorProto.INT32),
]


def gen_cast(rng, i):
    c = Case()
    src, to = CAST_KINDS[i % len(CAST_KINDS)]
    shape = rshape(rng)
    if src is I64:
        x = ints(rng, shape, -1000, 1000)
    elif to == TensorProto.BOOL:
        x = floats(rng, shape, -2, 2, step=0.5)  # plenty of zeros
    else:
        x = floats(rng, shape, -9, 9)
    c.node("Cast", [c.init(x)], to=to)
    return c


def gen_identity(rng, i):
    c = Case()
    c.node("Identity", [c.init(data(rng, dt_cycle(i), rshape(rng)))])
    return c


def gen_expand(rng, i):
    c = Case()
    out = rshape(rng, ranks=(1, 2, 3))
    src = bshape(rng, out)
    target = list(out)
    if i % 3 == 1:  # target with 1s where data has the real size
        target = [1 if (k >= len(out) - len(src) and src[k - (len(out) - len(src))] == d and rng.random() < 0.5) else d
                  for k, d in enumerate(out)]
    x = data(rng, dt_cycle(i), src)
    c.node("Expand", [c.init(x), c.init(i64(target))])
    return c


def gen_range(rng, i):
    c = Case()
    if i % 2 == 0:
        start = int(rng.integers(-6, 6))
        delta = int(rng.choice([1, 2, 3, -1, -2]))
        limit = start + delta * int(rng.integers(0, 9)) + (int(np.sign(delta)) if i % 4 == 2 else 0)
        vals = [i64(start), i64(limit), i64(delta)]
    else:
        start = float(rng.integers(-12, 12)) / 4
        delta = float(rng.choice([0.5, 0.25, 1.5, -0.5, -0.75]))
        limit = start + delta * float(rng.integers(1, 9)) + (delta / 2 if i % 4 == 3 else 0)
        vals = [f32(start), f32(limit), f32(delta)]
    c.node("Range", [c.init(v) for v in vals])
    return c


def gen_constant_of_shape(rng, i):
    c = Case()
    shape = rshape(rng, ranks=(0, 1, 2, 3) if i else (0,))
    if i % 2:
        value = numpy_helper.from_array(f32([float(rng.integers(-20, 20)) / 4]), "value")
    else:
        value = numpy_helper.from_array(i64([int(rng.integers(-9, 9))]), "value")
    c.node("ConstantOfShape", [c.init(i64(list(shape)))], value=value)
    return c


def gen_tile(rng, i):
    c = Case()
    shape = rshape(rng, ranks=(1, 2, 3), maxn=8)
    while True:
        reps = [int(rng.integers(1, 4)) for _ in shape]
        if np.prod(shape) * np.prod(reps) <= MAX_ELEMS:
            break
    c.node("Tile", [c.init(data(rng, dt_cycle(i), shape)), c.init(i64(reps))])
    return c


def gen_transpose(rng, i):
    c = Case()
    shape = rshape(rng, ranks=(2, 3), mindim=2, maxdim=4)
    attrs = {}
    if i % 4:
        attrs["perm"] = [int(p) for p in rng.permutation(len(shape))]
    c.node("Transpose", [c.init(data(rng, dt_cycle(i), shape))], **attrs)
    return c


def gen_nonzero(rng, i):
    c = Case()
    shape = rshape(rng, ranks=(1, 2, 3), maxn=12)
    kind = i % 3
    if kind == 0:
        x = ints(rng, shape, -1, 1)
    elif kind == 1:
        x = floats(rng, shape, -1, 1, step=0.5)
    else:
        x = bools(rng, shape)
    c.node("NonZero", [c.init(x)])
    return c


# op name -> (generator, number of cases)
SINGLE = [
    ("Add", gen_binary("Add"), 7),
    ("Sub", gen_binary("Sub"), 7),
    ("Mul", gen_binary("Mul"), 7),
    ("Div", gen_div, 8),
    ("Mod", gen_mod, 9),
    ("Max", gen_variadic("Max"), 7),
    ("Min", gen_variadic("Min"), 7),
    ("Sum", gen_variadic("Sum", dtypes=(F32,)), 6),
    ("Neg", gen_unary("Neg"), 5),
    ("Abs", gen_unary("Abs"), 5),
    ("Relu", gen_unary("Relu"), 5),
    ("Floor", gen_round_like("Floor"), 5),
    ("Ceil", gen_round_like("Ceil"), 5),
    ("Round", gen_round_like("Round"), 6),
    ("Sqrt", gen_unary("Sqrt", dtypes=(F32,), lo=0.0, hi=30.0), 5),
    ("Reciprocal", gen_unary("Reciprocal", dtypes=(F32,), lo=-8.0, hi=8.0, nonzero=True), 5),
    ("Exp", gen_unary("Exp", dtypes=(F32,), lo=-5.0, hi=5.0), 5),
    ("Log", gen_unary("Log", dtypes=(F32,), lo=0.01, hi=20.0), 5),
    ("Pow", gen_pow, 8),
    ("Sign", gen_unary("Sign", lo=-3, hi=3), 5),
    ("Sigmoid", gen_unary("Sigmoid", dtypes=(F32,), lo=-6.0, hi=6.0), 5),
    ("Tanh", gen_unary("Tanh", dtypes=(F32,), lo=-4.0, hi=4.0), 5),
    ("Equal", gen_compare("Equal"), 6),
    ("Less", gen_compare("Less"), 6),
    ("Greater", gen_compare("Greater"), 6),
    ("LessOrEqual", gen_compare("LessOrEqual"), 6),
    ("GreaterOrEqual", gen_compare("GreaterOrEqual"), 6),
    ("Not", gen_not, 4),
    ("And", gen_logic("And"), 5),
    ("Or", gen_logic("Or"), 5),
    ("Xor", gen_logic("Xor"), 5),
    ("Where", gen_where, 6),
    ("ReduceMin", gen_reduce("ReduceMin"), 8),
    ("ReduceMax", gen_reduce("ReduceMax"), 8),
    ("ReduceSum", gen_reduce("ReduceSum"), 8),
    ("ReduceProd", gen_reduce("ReduceProd"), 8),
    ("ReduceMean", gen_reduce("ReduceMean", dtypes=(F32,)), 8),
    ("Shape", gen_shape, 8),
    ("Gather", gen_gather, 9),
    ("Slice", gen_slice, 12),
    ("Concat", gen_concat, 7),
    ("Squeeze", gen_squeeze, 6),
    ("Unsqueeze", gen_unsqueeze, 6),
    ("Reshape", gen_reshape, 8),
    ("Cast", gen_cast, 15),
    ("Identity", gen_identity, 4),
    ("Expand", gen_expand, 7),
    ("Range", gen_range, 8),
    ("ConstantOfShape", gen_constant_of_shape, 6),
    ("Tile", gen_tile, 6),
    ("Transpose", gen_transpose, 6),
    ("NonZero", gen_nonzero, 6),
]


# ---------------------------------------------------------------------------
# chains of 2-3 nodes
# ---------------------------------------------------------------------------


def ch_shape_gather_unsqueeze(rng, i):
    c = Case()
    shape = rshape(rng, ranks=(2, 3))
    s = c.node("Shape", [c.init(data(rng, dt_cycle(i), shape))])
    g = c.node("Gather", [s, c.init(i64(int(rng.integers(-len(shape), len(shape)))))], axis=0)
    c.node("Unsqueeze", [g, c.init(i64([0]))])
    return c


def ch_shape_gather_concat(rng, i):
    c = Case()
    shape = rshape(rng, ranks=(2, 3))
    s = c.node("Shape", [c.init(ints(rng, shape))])
    g = c.node("Gather", [s, c.init(i64([int(rng.integers(-len(shape), len(shape))) for _ in range(2)]))])
    c.node("Concat", [c.init(i64([-1])), g, c.init(i64([int(rng.integers(1, 5))]))], axis=0)
    return c


def ch_shape_concat_reshape(rng, i):
    c = Case()
    shape = rshape(rng, ranks=(2, 3), mindim=2)
    x = c.init(ints(rng, shape))
    s = c.node("Shape", [x], end=1)
    t = c.node("Concat", [s, c.init(i64([-1]))], axis=0)
    c.node("Reshape", [x, t])
    return c


def ch_cast_mul_floor(rng, i):
    c = Case()
    x = ints(rng, rshape(rng), -20, 20)
    f = c.node("Cast", [c.init(x)], to=TensorProto.FLOAT)
    m = c.node("Mul", [f, c.init(f32(float(rng.choice([0.5, 0.25, 1.5, -0.75, 0.3]))))])
    c.node("Floor", [m])
    return c


def ch_mul_floor_cast(rng, i):
    c = Case()
    a_shape, b_shape = bpair(rng)
    m = c.node("Mul", [c.init(floats(rng, a_shape)), c.init(floats(rng, b_shape))])
    f = c.node("Floor", [m])
    c.node("Cast", [f], to=TensorProto.INT64)
    return c


def ch_cast_div_cast(rng, i):
    c = Case()
    x = ints(rng, rshape(rng), -30, 30)
    f = c.node("Cast", [c.init(x)], to=TensorProto.FLOAT)
    d = c.node("Div", [f, c.init(f32(float(rng.choice([2.0, 3.0, -4.0, 0.5]))))])
    c.node("Cast", [d], to=TensorProto.INT64)
    return c


def ch_reducemin_cast_reciprocal(rng, i):
    c = Case()
    shape = rshape(rng, ranks=(2, 3))
    x = ints(rng, shape, 1, 9)
    r = c.node("ReduceMin", [c.init(x), c.init(i64([-1]))], keepdims=i % 2)
    f = c.node("Cast", [r], to=TensorProto.FLOAT)
    c.node("Reciprocal", [f])
    return c


def ch_cast_reciprocal_mul(rng, i):
    c = Case()
    shape = rshape(rng)
    x = ints(rng, shape, -9, 9, nonzero=True)
    f = c.node("Cast", [c.init(x)], to=TensorProto.FLOAT)
    r = c.node("Reciprocal", [f])
    c.node("Mul", [r, c.init(floats(rng, bshape(rng, shape)))])
    return c


def ch_sub_abs_reducemax(rng, i):
    c = Case()
    dt = dt_cycle(i)
    a_shape, b_shape = bpair(rng, ranks=(1, 2, 3))
    s = c.node("Sub", [c.init(data(rng, dt, a_shape)), c.init(data(rng, dt, b_shape))])
    a = c.node("Abs", [s])
    c.node("ReduceMax", [a], keepdims=0)
    return c


def ch_less_where_reducesum(rng, i):
    c = Case()
    dt = dt_cycle(i)
    shape = rshape(rng, ranks=(1, 2, 3))
    x = c.init(data(rng, dt, shape))
    l = c.node("Less", [x, c.init(data(rng, dt, bshape(rng, shape)))])
    w = c.node("Where", [l, x, c.init(data(rng, dt, ()))])
    c.node("ReduceSum", [w, c.init(i64([0]))], keepdims=1)
    return c


def ch_equal_cast_reducesum(rng, i):
    c = Case()
    a_shape, b_shape = bpair(rng, ranks=(1, 2, 3))
    e = c.node("Equal", [c.init(ints(rng, a_shape, -2, 2)), c.init(ints(rng, b_shape, -2, 2))])
    f = c.node("Cast", [e], to=TensorProto.INT64)
    c.node("ReduceSum", [f], keepdims=0)
    return c


def ch_range_reshape_transpose(rng, i):
    c = Case()
    shape = rshape(rng, ranks=(2, 3), mindim=2, maxdim=4)
    n = int(np.prod(shape))
    if i % 2:
        r = c.node("Range", [c.init(f32(-1.5)), c.init(f32(-1.5 + 0.5 * n)), c.init(f32(0.5))])
    else:
        r = c.node("Range", [c.init(i64(n)), c.init(i64(0)), c.init(i64(-1))])
    rs = c.node("Reshape", [r, c.init(i64(list(shape)))])
    c.node("Transpose", [rs], perm=[int(p) for p in rng.permutation(len(shape))])
    return c


def ch_shape_constantofshape_reducesum(rng, i):
    c = Case()
    shape = rshape(rng, ranks=(1, 2, 3))
    s = c.node("Shape", [c.init(ints(rng, shape))])
    k = c.node("ConstantOfShape", [s], value=numpy_helper.from_array(f32([1.5]), "value"))
    c.node("ReduceSum", [k, c.init(i64([0]))], keepdims=0)
    return c


def ch_nonzero_transpose(rng, i):
    c = Case()
    x = ints(rng, rshape(rng, ranks=(1, 2, 3), maxn=12), -1, 1)
    nz = c.node("NonZero", [c.init(x)])
    c.node("Transpose", [nz], perm=[1, 0])
    return c


def ch_unsqueeze_expand_reducesum(rng, i):
    c = Case()
    n = int(rng.integers(1, 5))
    x = ints(rng, (n,))
    u = c.node("Unsqueeze", [c.init(x), c.init(i64([1]))])
    e = c.node("Expand", [u, c.init(i64([n, int(rng.integers(1, 5))]))])
    c.node("ReduceSum", [e, c.init(i64([1]))], keepdims=0)
    return c


def ch_slice_slice_concat(rng, i):
    c = Case()
    x = c.init(ints(rng, (int(rng.integers(4, 9)),)))
    a = c.node("Slice", [x, c.init(i64([1])), c.init(i64([3]))])
    b = c.node("Slice", [x, c.init(i64([-1])), c.init(i64([-(2**62)])), c.init(i64([0])), c.init(i64([-2]))])
    c.node("Concat", [a, b], axis=0)
    return c


def ch_add_relu_sqrt(rng, i):
    c = Case()
    a_shape, b_shape = bpair(rng)
    s = c.node("Add", [c.init(floats(rng, a_shape)), c.init(floats(rng, b_shape))])
    r = c.node("Relu", [s])
    c.node("Sqrt", [r])
    return c


def ch_div_mod_neg(rng, i):
    c = Case()
    shape = rshape(rng)
    d = c.node("Div", [c.init(ints(rng, shape, -40, 40)), c.init(ints(rng, bshape(rng, shape), -5, 5, nonzero=True))])
    m = c.node("Mod", [d, c.init(ints(rng, (), -4, 4, nonzero=True))], fmod=i % 2)
    c.node("Neg", [m])
    return c


def ch_shape_reduceprod_unsqueeze(rng, i):
    c = Case()
    shape = rshape(rng, ranks=(1, 2, 3))
    s = c.node("Shape", [c.init(floats(rng, shape))], start=int(i % 2))
    p = c.node("ReduceProd", [s], keepdims=0)
    c.node("Unsqueeze", [p, c.init(i64([0]))])
    return c


def ch_gather_cast_sigmoid(rng, i):
    c = Case()
    x = ints(rng, (int(rng.integers(3, 8)),), -5, 5)
    g = c.node("Gather", [c.init(x), c.init(i64([0, -1, 1]))], axis=0)
    f = c.node("Cast", [g], to=TensorProto.FLOAT)
    c.node("Sigmoid", [f])
    return c


def ch_greater_not_cast(rng, i):
    c = Case()
    dt = dt_cycle(i)
    a_shape, b_shape = bpair(rng)
    g = c.node("Greater", [c.init(data(rng, dt, a_shape)), c.init(data(rng, dt, b_shape))])
    n = c.node("Not", [g])
    c.node("Cast", [n], to=TensorProto.FLOAT)
    return c


def ch_greater_less_and(rng, i):
    c = Case()
    shape = rshape(rng, ranks=(1, 2, 3))
    x = c.init(ints(rng, shape, -5, 5))
    g = c.node("Greater", [x, c.init(i64(int(rng.integers(-4, 0))))])
    l = c.node("Less", [x, c.init(i64(int(rng.integers(0, 4))))])
    c.node(["And", "Or", "Xor"][i % 3], [g, l])
    return c


def ch_max_min_sum(rng, i):
    c = Case()
    shape = rshape(rng)
    mx = c.node("Max", [c.init(floats(rng, shape)), c.init(floats(rng, bshape(rng, shape)))])
    mn = c.node("Min", [mx, c.init(f32(1.0))])
    c.node("Sum", [mn, c.init(floats(rng, bshape(rng, shape))), c.init(f32(0.5))])
    return c


def ch_tile_reducemean(rng, i):
    c = Case()
    shape = rshape(rng, ranks=(1, 2), maxn=6)
    t = c.node("Tile", [c.init(floats(rng, shape)), c.init(i64([2] * len(shape)))])
    r = c.node("ReduceMean", [t, c.init(i64([0]))], keepdims=1)
    c.node("Squeeze", [r, c.init(i64([0]))])
    return c


def ch_exp_log_round(rng, i):
    c = Case()
    x = floats(rng, rshape(rng), -3, 3)
    e = c.node("Exp", [c.init(x)])
    l = c.node("Log", [e])
    c.node("Round", [l])
    return c


def ch_pow_ceil_cast(rng, i):
    c = Case()
    shape = rshape(rng)
    p = c.node("Pow", [c.init(floats(rng, shape, 0.5, 3.0)), c.init(f32(float(rng.choice([0.5, 2.0, 1.5]))))])
    ce = c.node("Ceil", [p])
    c.node("Cast", [ce], to=TensorProto.INT32)
    return c


def ch_sign_mul_tanh(rng, i):
    c = Case()
    x = floats(rng, rshape(rng), -3, 3)
    s = c.node("Sign", [c.init(x)])
    m = c.node("Mul", [s, c.init(x)])
    c.node("Tanh", [m])
    return c


CHAINS = [
    ch_shape_gather_unsqueeze,
    ch_shape_gather_concat,
    ch_shape_concat_reshape,
    ch_cast_mul_floor,
    ch_mul_floor_cast,
    ch_cast_div_cast,
    ch_reducemin_cast_reciprocal,
    ch_cast_reciprocal_mul,
    ch_sub_abs_reducemax,
    ch_less_where_reducesum,
    ch_equal_cast_reducesum,
    ch_range_reshape_transpose,
    ch_shape_constantofshape_reducesum,
    ch_nonzero_transpose,
    ch_unsqueeze_expand_reducesum,
    ch_slice_slice_concat,
    ch_add_relu_sqrt,
    ch_div_mod_neg,
    ch_shape_reduceprod_unsqueeze,
    ch_gather_cast_sigmoid,
    ch_greater_not_cast,
    ch_greater_less_and,
    ch_max_min_sum,
    ch_tile_reducemean,
    ch_exp_log_round,
    ch_pow_ceil_cast,
    ch_sign_mul_tanh,
]
CHAIN_REPEATS = 2


# ---------------------------------------------------------------------------
# building, checking, evaluating
# ---------------------------------------------------------------------------


def build_model(case: Case, name: str, outputs, results=None):
    if results is None:
        outs = [helper.make_empty_tensor_value_info(o) for o in outputs]
    else:
        outs = [
            helper.make_tensor_value_info(o, helper.np_dtype_to_tensor_dtype(r.dtype), list(r.shape))
            for o, r in zip(outputs, results)
        ]
    graph = helper.make_graph(
        case.nodes,
        name,
        inputs=[],
        outputs=outs,
        initializer=[numpy_helper.from_array(a, n) for n, a in case.inits],
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="nncost-make_value_corpus",
    )
    return model


def to_json_values(r: np.ndarray):
    flat = r.reshape(-1)
    if r.dtype == np.bool_:
        return [int(v) for v in flat]
    if r.dtype.kind in "iu":
        return [int(v) for v in flat]
    return [float(v) for v in flat]


def make_case(name, case: Case):
    """Returns (model, expected) or raises ValueError with the reason to drop."""
    outputs = case.finish()
    probe = build_model(case, name, outputs)
    try:
        results = ReferenceEvaluator(probe).run(None, {})
    except Exception as e:  # noqa: BLE001
        raise ValueError(f"reference evaluator: {type(e).__name__}: {e}") from None
    results = [np.asarray(r) for r in results]
    for r in results:
        if r.dtype not in DTYPE_NAMES:
            raise ValueError(f"unsupported result dtype {r.dtype}")
        if r.dtype.kind == "f" and not np.all(np.isfinite(r)):
            raise ValueError("result contains NaN or inf")
    model = build_model(case, name, outputs, results)
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as e:  # noqa: BLE001
        raise ValueError(f"checker: {type(e).__name__}: {str(e).splitlines()[0]}") from None
    expected = {
        "outputs": {
            o: {"dtype": DTYPE_NAMES[r.dtype], "shape": [int(d) for d in r.shape], "values": to_json_values(r)}
            for o, r in zip(outputs, results)
        }
    }
    return model, expected


README = """\
# Value corpus (`tests/fixtures/values`)

Small constant-folding test cases for nncost's evaluator of known tensors,
with expected results from `onnx.reference.ReferenceEvaluator`.

Generated by `scripts/make_value_corpus.py` (deterministic, fixed numpy
seed {seed}; onnx {onnx_version}, numpy {numpy_version}).  Regenerate from
the repository root with:

    python scripts/make_value_corpus.py --out tests/fixtures/values

## Files

* `<case>.onnx` -- one model per case ({n_cases} cases), opset 18 (default
  domain only), IR version 8.  The graph has **no graph inputs**: every
  value a node reads is an initializer or the output of an earlier node.
  1-3 nodes.  The graph outputs are the outputs of the last node, declared
  with the elem_type and shape of the reference result.  Names are
  `<op>_<n>` (op type in lower case, e.g. `reducemin_3`) for single-node
  cases and `chain_<n>` for 2-3 node graphs.
* `expected.json` -- one object keyed by case name:

      {{"<case>": {{"outputs": {{"<output name>": {{
          "dtype": "int64" | "int32" | "float32" | "float16" | "bool",
          "shape": [..],
          "values": [..]   // flat, row-major
      }}}}}}}}

  bool values are 0/1; float values are the exact float32/float16 result
  widened to double and written with full (round-trip) precision.  Integer
  and exactly representable results should match exactly; transcendental
  ops (Exp, Log, Sigmoid, Tanh, Pow, Sqrt, ReduceMean, ...) were computed by
  numpy in float32 and may differ from another implementation by an ulp or
  so -- compare those with a small relative tolerance.

Notes: Mod on floats is generated with `fmod=1` only (the ONNX spec
requires it).  A few results are deliberately empty (e.g. `Shape` of a
scalar, an empty `Slice`, an empty `Range`).  Cases whose result contained
NaN/inf, or that failed
`onnx.checker.check_model(full_check=True)` or the reference evaluator,
were dropped by the generator.
"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.join("tests", "fixtures", "values"), help="output directory")
    args = ap.parse_args(argv)

    rng = np.random.default_rng(SEED)
    os.makedirs(args.out, exist_ok=True)
    for f in os.listdir(args.out):
        if f.endswith(".onnx"):
            os.remove(os.path.join(args.out, f))

    planned = []
    for op, gen, n in SINGLE:
        for i in range(n):
            planned.append((f"{op.lower()}_{i}", gen, i))
    k = 0
    for rep in range(CHAIN_REPEATS):
        for gen in CHAINS:
            planned.append((f"chain_{k}", gen, rep))
            k += 1

    expected = {}
    dropped = []
    counts = collections.Counter()
    for name, gen, i in planned:
        case = gen(rng, i)
        try:
            model, exp = make_case(name, case)
        except ValueError as e:
            dropped.append((name, str(e)))
            print(f"dropped {name}: {e}", file=sys.stderr)
            continue
        onnx.save(model, os.path.join(args.out, f"{name}.onnx"))
        expected[name] = exp
        counts[name.rsplit("_", 1)[0]] += 1

    with open(os.path.join(args.out, "expected.json"), "w", encoding="utf-8") as f:
        # one case per line, so that a regeneration diffs readably
        f.write("{\n")
        items = list(expected.items())
        for k, (name, exp) in enumerate(items):
            line = json.dumps(name) + ":" + json.dumps(exp, separators=(",", ":"), allow_nan=False)
            f.write(line + ("," if k + 1 < len(items) else "") + "\n")
        f.write("}\n")
    with open(os.path.join(args.out, "README.md"), "w", encoding="utf-8") as f:
        f.write(
            README.format(
                seed=SEED,
                onnx_version=onnx.__version__,
                numpy_version=np.__version__,
                n_cases=len(expected),
            )
        )

    print(f"wrote {len(expected)} cases to {args.out} ({len(dropped)} dropped)")
    for op, n in sorted(counts.items()):
        print(f"  {op:16s} {n}")
    if dropped:
        print("dropped:")
        for name, why in dropped:
            print(f"  {name}: {why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
