"""The report as Python objects, over the native analysis."""

from __future__ import annotations

import html
import json
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from . import _nncost

Count = Union[int, "Expr"]


class Expr:
    """A count that still depends on symbols, such as ``3.63 G × batch``.

    ``str(e)`` is the exact expression (``3632838144*batch``),
    ``e.symbols`` the names it depends on, and ``e.evaluate(batch=8)`` the
    count with those bound: an ``int`` once no symbol is left, else another
    ``Expr``.
    """

    __slots__ = ("expression", "symbols")

    def __init__(self, expression: str, symbols: Optional[Sequence[str]] = None):
        self.expression = expression
        self.symbols = list(symbols) if symbols is not None else _nncost.symbols(expression)

    def evaluate(self, **dims: int) -> Count:
        text = _nncost.evaluate(self.expression, [(k, int(v)) for k, v in dims.items()])
        return _count_from_text(text)

    def __str__(self) -> str:
        return self.expression

    def __repr__(self) -> str:
        return f"Expr({self.expression!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Expr):
            return self.expression == other.expression
        if isinstance(other, str):
            return self.expression == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.expression)


def _count_from_text(text: str) -> Count:
    try:
        return int(text)
    except ValueError:
        return Expr(text)


def _count(value: Any) -> Optional[Count]:
    """A count of the JSON report: an integer, a decimal string past 64
    bits, or ``{"expression", "symbols"}``."""
    if value is None:
        return None
    if isinstance(value, dict):
        return Expr(value["expression"], value.get("symbols"))
    if isinstance(value, str):
        return int(value)
    return value


@dataclass
class Node:
    """One node of the graph, as the report counts it."""

    name: str
    op_type: str
    domain: str
    module: str
    """The module holding the node (its dotted path, ``layer1.0.conv1``;
    ``""`` for none)."""
    module_class: Optional[str]
    """That module's class (``Conv2d``) when known."""
    params: int
    buffers: int
    macs: Optional[Count]
    flops: Optional[Count]
    int_ops: Optional[Count]
    status: str
    reason: Optional[str]
    outputs: List[Dict[str, Any]] = field(default_factory=list)
    memory: Optional[Dict[str, Any]] = None
    time: Optional[Dict[str, Any]] = None

    @classmethod
    def _from_json(cls, n: Dict[str, Any]) -> "Node":
        return cls(
            name=n["name"],
            op_type=n["op_type"],
            domain=n["domain"],
            module=n.get("module", ""),
            module_class=n.get("module_class"),
            params=n["params"],
            buffers=n["buffers"],
            macs=_count(n["macs"]),
            flops=_count(n["flops"]),
            int_ops=_count(n["int_ops"]),
            status=n["status"],
            reason=n.get("reason"),
            outputs=n["outputs"],
            memory=n.get("memory"),
            time=n.get("time"),
        )


def _groups(entries: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    out = []
    for e in entries:
        e = dict(e)
        for key in ("macs", "flops", "int_ops"):
            e[key] = _count(e[key])
        out.append(e)
    return out


class Report:
    """What a model costs: totals, nodes, groupings, and every format of
    the command-line tool (``print(report)`` is its table)."""

    def __init__(self, native: Any):
        self._native = native
        self._dict: Optional[Dict[str, Any]] = None
        self._nodes: Optional[List[Node]] = None
        # Set by nncost.profile: how long the export and the analysis took,
        # and the class of each module of the profiled module.
        self.export_seconds: Optional[float] = None
        self.analysis_seconds: Optional[float] = None
        self._classes: Dict[str, str] = {}

    def _set_module_classes(self, classes: Dict[str, str]) -> None:
        self._classes = classes
        self._nodes = None

    def _with_class(self, groups: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        for g in groups:
            if g.get("class") is None and g.get("module"):
                g["class"] = self._classes.get(g["module"])
        return groups

    # ----- data ---------------------------------------------------------

    def to_dict(self) -> Dict[str, Any]:
        """The JSON report (schema ``nncost.report``, docs/json-schema.md)
        as Python objects."""
        if self._dict is None:
            self._dict = json.loads(self._native.json())
        return self._dict

    def to_json(self, *, by_op: bool = False, depth: Optional[int] = None, tree: bool = False) -> str:
        """The JSON report as text, with the groupings asked for."""
        return self._native.json(by_op, depth, tree)

    @property
    def totals(self) -> Dict[str, Any]:
        return self.to_dict()["totals"]

    @property
    def params(self) -> int:
        return self.totals["params"]

    @property
    def buffers(self) -> int:
        return self.totals["buffers"]

    @property
    def macs(self) -> Count:
        return _count(self.totals["macs"])

    @property
    def flops(self) -> Count:
        return _count(self.totals["flops"])

    @property
    def int_ops(self) -> Count:
        return _count(self.totals["int_ops"])

    @property
    def complete(self) -> bool:
        """Whether every node was counted."""
        return self.totals["complete"]

    @property
    def symbols(self) -> List[Dict[str, Any]]:
        return self.to_dict()["symbols"]

    @property
    def facts(self) -> Dict[str, Any]:
        """What the model's format states beside the counts: for a Hugging
        Face config, safetensors or GGUF file, the embedding and active
        parameters, the KV cache and the checkpoint's bytes by dtype
        (``params_embedding``, ``params_active``, ``kv_cache_elements``, …;
        docs/llm.md). Counts are ints, or :class:`Expr` while symbolic."""
        return {
            k: (_count(v) if isinstance(v, (int, dict)) else v)
            for k, v in self.to_dict()["model"]["facts"].items()
        }

    @property
    def memory(self) -> Optional[Dict[str, Any]]:
        """Memory, when asked for (``memory=True``, ``dtype=`` or
        ``hardware=``)."""
        return self.to_dict().get("memory")

    @property
    def convention_count(self) -> Optional[Count]:
        """With ``convention=``: the total as that tool counts it."""
        c = self.to_dict().get("convention_count")
        return None if c is None else _count(c["total"])

    @property
    def training(self) -> Optional[Dict[str, Any]]:
        """With ``mode="train"``: ``total`` (forward plus backward ``macs``,
        ``flops``, ``int_ops``), ``backward`` and ``frozen``."""
        t = self.to_dict().get("training")
        if t is None:
            return None
        t = json.loads(json.dumps(t))
        for part in ("total", "backward"):
            for key in ("macs", "flops", "int_ops", "other_flops"):
                if key in t[part]:
                    t[part][key] = _count(t[part][key])
        return t

    @property
    def roofline(self) -> Optional[Dict[str, Any]]:
        """The least times on a device, when ``hardware=`` was given."""
        return self.to_dict().get("roofline")

    @property
    def nodes(self) -> List[Node]:
        if self._nodes is None:
            self._nodes = [Node._from_json(n) for n in self.to_dict()["nodes"]]
            for n in self._nodes:
                if n.module_class is None and n.module:
                    n.module_class = self._classes.get(n.module)
        return self._nodes

    def by_op(self) -> List[Dict[str, Any]]:
        """The nodes grouped by operator type, most frequent first."""
        return _groups(json.loads(self._native.json(True, None, False))["by_op"])

    def by_module(self, depth: int = 1) -> List[Dict[str, Any]]:
        """The nodes grouped by module at ``depth`` (1: ``layer1``, 2:
        ``layer1.0``), with each module's class when known."""
        return self._with_class(_groups(json.loads(self._native.json(False, depth, False))["by_module"]))

    def module_tree(self, depth: Optional[int] = None) -> List[Dict[str, Any]]:
        """Every module (down to ``depth``) with its subtotal, in tree order."""
        return self._with_class(_groups(json.loads(self._native.json(False, depth, True))["module_tree"]))

    def to_pandas(self):
        """The nodes as a ``pandas.DataFrame`` (pandas must be installed):
        one row per node, counts as integers or expression strings."""
        try:
            import pandas as pd
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError("Report.to_pandas() needs pandas: pip install pandas") from e
        rows = []
        for n in self.nodes:
            row = {
                "name": n.name,
                "op_type": n.op_type,
                "module": n.module,
                "module_class": n.module_class,
                "params": n.params,
                "macs": _plain(n.macs),
                "flops": _plain(n.flops),
                "int_ops": _plain(n.int_ops),
                "status": n.status,
            }
            if n.memory is not None:
                row["output_bytes"] = _plain(_count(n.memory["output_bytes"]))
                for key in ("activations_read", "weights_read", "written"):
                    row[key] = _plain(_count(n.memory[key]))
            if n.time is not None:
                row["seconds"] = n.time["seconds"]
                row["bound"] = n.time["bound"]
            rows.append(row)
        return pd.DataFrame(rows)

    # ----- text ---------------------------------------------------------

    def table(
        self,
        *,
        width: Optional[int] = None,
        exact: bool = False,
        by_op: bool = False,
        depth: Optional[int] = None,
        tree: bool = False,
        top: Optional[int] = None,
        sort: Optional[str] = None,
        summary: bool = False,
    ) -> str:
        """The table, with the command line's options."""
        return self._native.text(width, exact, by_op, depth, tree, top, sort, summary, "table")

    def markdown(self, *, by_op: bool = False, depth: Optional[int] = None, exact: bool = False) -> str:
        return self._native.text(None, exact, by_op, depth, False, None, None, False, "markdown")

    def csv(self, *, by_op: bool = False, depth: Optional[int] = None) -> str:
        return self._native.text(None, False, by_op, depth, False, None, None, False, "csv")

    def html(self) -> str:
        """The self-contained HTML page."""
        return self._native.html()

    def _repr_html_(self) -> str:
        # The page in a frame of its own, so that its style and script stay
        # out of the notebook's.
        page = html.escape(self._native.html(), quote=True)
        return (
            f'<iframe srcdoc="{page}" style="width:100%;height:600px;border:1px solid #ddd" '
            'sandbox="allow-scripts"></iframe>'
        )

    def __str__(self) -> str:
        return self._native.text(None, False, False, None, False, None, None, False, "table")

    def __repr__(self) -> str:
        source = self.to_dict()["model"]["source"]
        return (
            f"<nncost.Report {source}: params {self.params}, "
            f"MACs {self.macs}, FLOPs {self.flops}>"
        )


def _plain(c: Optional[Count]) -> Any:
    return str(c) if isinstance(c, Expr) else c


def _options(
    dims: Optional[Mapping[str, int]],
    inputs: Optional[Mapping[str, Any]],
    bound: Optional[str],
    memory: bool,
    dtype: Optional[str],
    hardware: Optional[str],
    mode: str = "eval",
    frozen: Sequence[str] = (),
    convention: Optional[str] = None,
) -> Any:
    if bound not in (None, "max"):
        raise _nncost.NncostError(f"bound={bound!r}: the only bound is 'max'")
    if mode not in ("eval", "train"):
        raise _nncost.NncostError(f"mode={mode!r}: expected 'eval' or 'train'")
    shapes = []
    for name, shape in (inputs or {}).items():
        if isinstance(shape, str):
            try:
                shape = [int(d) for d in shape.replace(",", "x").lower().split("x")]
            except ValueError:
                raise _nncost.NncostError(
                    f"inputs: {name}={shape!r}: expected integers joined by 'x', e.g. 1x3x224x224"
                ) from None
        shapes.append((str(name), [int(d) for d in shape]))
    return (
        [(str(k), int(v)) for k, v in (dims or {}).items()],
        shapes,
        bound == "max",
        bool(memory),
        dtype,
        None if hardware is None else os.fspath(hardware),
        mode == "train",
        [str(f) for f in frozen],
        convention,
    )


def analyze(
    model: Any,
    dims: Optional[Mapping[str, int]] = None,
    inputs: Optional[Mapping[str, Any]] = None,
    *,
    bound: Optional[str] = None,
    memory: bool = False,
    dtype: Optional[str] = None,
    hardware: Optional[Union[str, "os.PathLike[str]"]] = None,
    mode: str = "eval",
    frozen: Sequence[str] = (),
    convention: Optional[str] = None,
    name: Optional[str] = None,
    phase: str = "prefill",
) -> Report:
    """Analyses a model: a path (ONNX, a network description, a Hugging
    Face config.json or model folder, a safetensors or GGUF file), the bytes
    of an ONNX file, or an ``onnx.ModelProto``.

    ``dims`` binds symbols (``{"batch": 1}``), ``inputs`` sets graph
    inputs' whole shapes (``{"input": (1, 3, 224, 224)}``), ``bound="max"``
    takes every data-dependent size at its upper bound. ``memory=True``
    adds memory, ``dtype="bf16"`` re-stores the float tensors, and
    ``hardware="h100"`` (or a profile file) adds the roofline's least times.
    ``convention="fvcore"`` (or ``torch``, ``torchvision``, ``thop``,
    ``ptflops``) also counts as that tool does (``report.convention_count``).
    ``mode="train"`` adds the backward pass (``report.training``), with
    the parameters named in ``frozen`` needing no gradient. ``name`` is what
    the report and its messages call a model given as bytes. For a
    language model read from its config or checkpoint, ``phase="decode"``
    counts one new token after ``ctx`` cached ones instead of a prompt of
    ``seq`` tokens. Raises :class:`NncostError` with the command line's
    one-line message.
    """
    if phase not in ("prefill", "decode"):
        raise _nncost.NncostError(f"phase={phase!r}: expected 'prefill' or 'decode'")
    options = _options(dims, inputs, bound, memory, dtype, hardware, mode, frozen, convention)
    if isinstance(model, (str, os.PathLike)):
        native = _nncost.analyze_path(os.fspath(model), options, phase)
    elif isinstance(model, (bytes, bytearray, memoryview)):
        native = _nncost.analyze_bytes(bytes(model), name or "<bytes>", options, phase)
    elif hasattr(model, "SerializeToString"):
        graph = getattr(getattr(model, "graph", None), "name", "") or "model"
        native = _nncost.analyze_bytes(
            model.SerializeToString(), name or f"<ModelProto {graph}>", options, "prefill"
        )
    else:
        raise TypeError(
            f"nncost.analyze: expected a path, bytes or an onnx.ModelProto, got {type(model).__name__}"
        )
    return Report(native)
