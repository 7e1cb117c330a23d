#!/usr/bin/env python3
"""Record what the usual peer FLOP/MAC counters report for every torchvision
classification model.

Writes ``tests/fixtures/torchvision/convention_reference.json`` so nncost's
tests and docs can state, model by model, how its own figures relate to the
numbers people get from the other tools (each tool has its own convention:
MACs vs FLOPs, which ops are counted at all, how params are found).

Models and input shapes come from ``tests/fixtures/torchvision/reference.json``
(the same list, ``input_shape`` and ``build_kwargs`` that produced the ONNX
fixtures, e.g. inception_v3 at 299x299, efficientnet_b7 at 600x600, vit_h_14
at 518x518), so the figures line up with the fixtures.

For each model, in a separate worker process (so a crash or out-of-memory kill
only loses that model):

1. ``torch.manual_seed(0)``; ``torchvision.models.get_model(name,
   weights=None, **build_kwargs).eval()`` -- random init, NOTHING is
   downloaded; every count is data-independent;
2. input ``torch.zeros(input_shape)`` (batch 1);
3. record (all integers):

   * ``params``        -- sum of ``p.numel()`` over ``model.parameters()``;
   * ``buffers_bn``    -- elements of BatchNorm ``running_mean`` +
     ``running_var``;
   * ``fvcore`` / ``fvcore_by_operator`` / ``fvcore_unsupported_ops`` --
     ``fvcore.nn.FlopCountAnalysis(model, x)`` with warnings silenced:
     ``.total()``, ``.by_operator()``, ``.unsupported_ops()``;
   * ``thop_macs``, ``thop_params`` -- ``thop.profile(model, inputs=(x,),
     verbose=False)`` (thop returns floats; they are integral and stored as
     ints);
   * ``ptflops_macs``, ``ptflops_params`` -- ``ptflops.get_model_complexity_info(
     model, (3, H, W), as_strings=False, print_per_layer_stat=False,
     backend='pytorch')``; ``ptflops_aten_macs`` -- the same with
     ``backend='aten'``.  An ``input_constructor`` returning
     ``torch.zeros(1, 3, H, W)`` replaces ptflops' default uninitialised
     ``new_empty`` input (counts are identical; the run is deterministic);
   * ``torch_fwd`` / ``torch_fwd_by_operator`` --
     ``torch.utils.flop_counter.FlopCounterMode`` total of one forward pass
     under ``torch.no_grad()``;
   * ``torch_train`` -- FlopCounterMode total of a forward pass with grad
     enabled plus ``out.sum().backward()``; all parameters require grad, the
     input does not, the model stays in EVAL mode (BatchNorm uses running
     stats, dropout off).  ``torch_train_fwd`` is the forward part alone
     (this differs from ``torch_fwd`` where PyTorch picks a different kernel
     without autograd, e.g. the nn.MultiheadAttention fast path in ViTs).
     NB: torch 2.15's FlopCounterMode counts a grouped conv's weight gradient
     as if groups were 1 (``groups`` times too much), so ``torch_train`` is
     inflated for depthwise/grouped models -- a property of the tool, recorded
     as is;
   * ``torchvision_published_gmacs`` -- ``published_gmacs`` from
     reference.json (torchvision's docs call this column "GFLOPS"; it is
     GMACs of conv + linear (+ attention matmuls)).

   fvcore, thop and both ptflops backends each get their own fresh
   ``copy.deepcopy`` of the model (thop and ptflops attach buffers/hooks/
   attributes to modules); FlopCounterMode runs last on the original.  The
   peer tools are called exactly as a user would call them (no extra
   ``torch.no_grad()``): thop wraps its forward in no_grad itself, fvcore and
   ptflops run with grad enabled.

   A tool that raises (or, for ptflops, returns ``None``) gets ``null`` and an
   entry ``errors[tool] = "<ExceptionType>: <first line of message>"``; the
   run continues.

The JSON has ``versions``, ``note`` and ``models`` ({name: {...}}); keys are
sorted, indent 1, and no timings are stored, so a rerun with the same
versions gives a byte-identical file.

Requirements: torch, torchvision, fvcore, thop, ptflops (``pip install fvcore
thop ptflops``; ``ultralytics-thop`` also provides the ``thop`` module).

Run (from the repository root; the full run takes roughly half an hour on two
cores -- vit_h_14 and regnet_y_128gf dominate)::

    nice -n 10 /work/pyenv/bin/python scripts/make_convention_reference.py

Options:
  ``--only NAME`` (repeatable) -- run just these models and merge them into an
  existing output file (other models' entries are kept);
  ``--out PATH`` -- write elsewhere;
  ``--threads N`` -- torch intra-op threads per worker (default 2).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from importlib import metadata
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURE_DIR = REPO_ROOT / "tests" / "fixtures" / "torchvision"
REFERENCE = FIXTURE_DIR / "reference.json"
DEFAULT_OUT = FIXTURE_DIR / "convention_reference.json"

NOTE = (
    "Per-model figures from the common peer counters, for random-init torchvision "
    "classification models (weights=None, eval mode, batch-1 zero input of "
    "input_shape). params is the number of parameter elements; buffers_bn the "
    "BatchNorm running_mean+running_var elements (not counted in params). "
    "fvcore (FlopCountAnalysis.total) counts ONE per multiply-accumulate, i.e. it "
    "reports MACs although it calls them flops, and besides conv/linear/matmul/einsum "
    "it also counts batch_norm, layer_norm/group_norm, adaptive_avg_pool2d and "
    "upsample ops; element-wise ops, activations, softmax and (in the version used) "
    "scaled_dot_product_attention are unsupported and count zero "
    "(fvcore_unsupported_ops lists them). thop_macs and ptflops_macs are MACs "
    "collected by per-nn.Module hooks, each tool with its own rules (thop also "
    "charges e.g. BatchNorm, pooling and activations, and ignores functional calls "
    "and modules it has no rule for, which also makes thop_params undercount; "
    "ptflops' pytorch backend additionally patches some torch.nn.functional / "
    "tensor ops such as matmul and adds bias and norm/pool/activation costs). "
    "ptflops_aten_macs uses ptflops' aten backend, which counts MACs of aten "
    "mm/addmm/bmm/convolution only. torch_fwd is torch.utils.flop_counter."
    "FlopCounterMode's total for one no_grad forward: TWO flops per MAC, and only "
    "matmul-, convolution- and attention-kernel-like aten ops (no bias adds, norms, "
    "pooling or activations); torch_train adds the backward pass of out.sum() with "
    "every parameter requiring grad (model still in eval mode), and torch_train_fwd "
    "is its grad-enabled forward part, which can exceed torch_fwd where PyTorch "
    "uses a fused no-grad kernel (nn.MultiheadAttention's fast path in ViTs hides "
    "the attention matmuls from FlopCounterMode and from ptflops' aten backend). "
    "Caveat: in the torch version used, FlopCounterMode's convolution_backward "
    "formula ignores groups for the weight gradient (overcounting it by a factor of "
    "groups), so torch_train is strongly inflated for depthwise/grouped-conv models "
    "(MobileNets, EfficientNets, ConvNeXt, RegNets, ResNeXts, MaxViT, ...). "
    "The peer tools are invoked as a user would (only torch_fwd adds no_grad; thop "
    "uses no_grad itself). torchvision_published_gmacs is copied from "
    "torchvision's weights metadata (its docs label the column GFLOPS, but the "
    "value is GMACs of conv/linear/attention matmuls). A tool that failed on a "
    "model has null and an errors entry."
)

TOOLS = ("fvcore", "thop", "ptflops", "ptflops_aten", "torch_fwd", "torch_train")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def load_reference() -> list[dict]:
    with open(REFERENCE) as f:
        return json.load(f)


def first_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return f"{type(e).__name__}: {lines[0].strip() if lines else ''}".rstrip(": ").rstrip()


def as_int(v) -> int:
    """Counts come back as int, float or 0-d tensor; store exact integers."""
    if hasattr(v, "item"):
        v = v.item()
    iv = int(round(float(v))) if not isinstance(v, int) else v
    if not isinstance(v, int) and float(v) != iv:
        raise ValueError(f"non-integral count {v!r}")
    return iv


def versions() -> dict:
    import torch
    import torchvision

    def dist_version(*names: str) -> str | None:
        for n in names:
            try:
                return f"{n} {metadata.version(n)}" if n != names[0] else metadata.version(n)
            except metadata.PackageNotFoundError:
                continue
        return None

    return {
        "fvcore": dist_version("fvcore"),
        "ptflops": dist_version("ptflops"),
        "ptflops_backends": ["pytorch", "aten"],
        "python": platform.python_version(),
        "thop": dist_version("thop", "ultralytics-thop"),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
    }


# --------------------------------------------------------------------------
# Worker: one model, in its own process
# --------------------------------------------------------------------------


def measure(entry: dict, threads: int) -> dict:
    warnings.filterwarnings("ignore")
    import contextlib
    import copy
    import gc
    import io
    import logging

    import torch
    import torchvision
    from torch.utils.flop_counter import FlopCounterMode

    logging.disable(logging.WARNING)  # fvcore's jit-trace chatter
    torch.set_num_threads(threads)
    torch.manual_seed(0)

    name = entry["name"]
    shape = [int(s) for s in entry["input_shape"]]
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in entry["build_kwargs"].items()}
    model = torchvision.models.get_model(name, weights=None, **kwargs).eval()
    x = torch.zeros(shape)
    chw = tuple(shape[1:])

    rec: dict = {
        "input_shape": shape,
        "torchvision_published_gmacs": entry["published_gmacs"],
        "params": sum(p.numel() for p in model.parameters()),
        "buffers_bn": sum(
            m.running_mean.numel() + m.running_var.numel()
            for m in model.modules()
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.running_mean is not None
        ),
    }
    errors: dict = {}
    timings: dict = {}

    def run(tool: str, fn, keys: tuple[str, ...]) -> None:
        t0 = time.time()
        try:
            vals = fn()
        except Exception as e:  # noqa: BLE001 -- record and carry on
            errors[tool] = first_line(e)
            vals = {k: None for k in keys}
        rec.update(vals)
        gc.collect()
        timings[tool] = time.time() - t0

    # --- fvcore -------------------------------------------------------------
    def do_fvcore() -> dict:
        from fvcore.nn import FlopCountAnalysis

        m = copy.deepcopy(model)
        fca = FlopCountAnalysis(m, x).unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        out = {
            "fvcore": as_int(fca.total()),
            "fvcore_by_operator": {k: as_int(v) for k, v in sorted(fca.by_operator().items())},
            "fvcore_unsupported_ops": {k: int(v) for k, v in sorted(fca.unsupported_ops().items())},
        }
        return out

    run("fvcore", do_fvcore, ("fvcore", "fvcore_by_operator", "fvcore_unsupported_ops"))

    # --- thop ---------------------------------------------------------------
    def do_thop() -> dict:
        import thop

        m = copy.deepcopy(model)
        with contextlib.redirect_stdout(io.StringIO()):
            macs, params = thop.profile(m, inputs=(x,), verbose=False)
        return {"thop_macs": as_int(macs), "thop_params": as_int(params)}

    run("thop", do_thop, ("thop_macs", "thop_params"))

    # --- ptflops ------------------------------------------------------------
    def ptflops_call(backend: str):
        import ptflops

        m = copy.deepcopy(model)
        sink = io.StringIO()
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            macs, params = ptflops.get_model_complexity_info(
                m,
                chw,
                as_strings=False,
                print_per_layer_stat=False,
                backend=backend,
                input_constructor=lambda res: torch.zeros((1, *res)),
                ost=sink,
            )
        if macs is None:
            # ptflops catches the exception, prints it and returns (None, None)
            text = sink.getvalue().splitlines()
            msg = "returned None"
            for i, line in enumerate(text):
                if "following exception" in line and i + 1 < len(text):
                    msg = text[i + 1].strip()
                    if msg.startswith("<class '"):
                        cls, _, rest = msg[len("<class '"):].partition("'>:")
                        msg = f"{cls.rsplit('.', 1)[-1]}: {rest.strip()}"
                    break
            raise RuntimeError(msg)
        return macs, params

    def do_ptflops() -> dict:
        macs, params = ptflops_call("pytorch")
        return {"ptflops_macs": as_int(macs), "ptflops_params": as_int(params)}

    run("ptflops", do_ptflops, ("ptflops_macs", "ptflops_params"))

    def do_ptflops_aten() -> dict:
        macs, _ = ptflops_call("aten")
        return {"ptflops_aten_macs": as_int(macs)}

    run("ptflops_aten", do_ptflops_aten, ("ptflops_aten_macs",))

    # --- torch FlopCounterMode (on the original model, after the copies) ----
    def do_torch_fwd() -> dict:
        with torch.no_grad(), FlopCounterMode(display=False) as fc:
            model(x)
        by_op = fc.get_flop_counts().get("Global", {})
        return {
            "torch_fwd": as_int(fc.get_total_flops()),
            "torch_fwd_by_operator": {str(k): as_int(v) for k, v in sorted(by_op.items(), key=lambda kv: str(kv[0]))},
        }

    run("torch_fwd", do_torch_fwd, ("torch_fwd", "torch_fwd_by_operator"))

    def do_torch_train() -> dict:
        for p in model.parameters():
            p.requires_grad_(True)
            p.grad = None
        with torch.enable_grad():
            with FlopCounterMode(display=False) as fwd:
                out = model(x)
            with FlopCounterMode(display=False) as bwd:
                out.sum().backward()
        del out
        f, b = as_int(fwd.get_total_flops()), as_int(bwd.get_total_flops())
        for p in model.parameters():
            p.grad = None
        return {"torch_train": f + b, "torch_train_fwd": f}

    run("torch_train", do_torch_train, ("torch_train", "torch_train_fwd"))

    rec["errors"] = dict(sorted(errors.items()))
    rec["_timings"] = timings  # stripped by the parent; logged only
    return rec


def worker_main(name: str, result: Path, threads: int) -> None:
    entry = next(e for e in load_reference() if e["name"] == name)
    rec = measure(entry, threads)
    result.write_text(json.dumps(rec))


# --------------------------------------------------------------------------
# Parent
# --------------------------------------------------------------------------


def run_worker(entry: dict, threads: int) -> dict:
    name = entry["name"]
    with tempfile.TemporaryDirectory(prefix=f"nncost_conv_{name}_") as tmp:
        result = Path(tmp) / "result.json"
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--worker", name,
             "--result", str(result), "--threads", str(threads)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        if proc.returncode == 0 and result.exists():
            return json.loads(result.read_text())
        tail = (proc.stderr.strip().splitlines() or [""])[-1]
        msg = f"worker exited with code {proc.returncode}: {tail}".strip()
        log(f"  {name}: {msg}")
    return {
        "input_shape": entry["input_shape"],
        "torchvision_published_gmacs": entry["published_gmacs"],
        "errors": {"worker": msg},
    }


def write(out: Path, vers: dict, models: dict) -> None:
    doc = {"note": NOTE, "versions": vers, "models": models}
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", action="append", metavar="NAME", help="model to run (repeatable)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.worker:
        worker_main(args.worker, args.result, args.threads)
        return

    entries = load_reference()
    known = [e["name"] for e in entries]
    if args.only:
        unknown = sorted(set(args.only) - set(known))
        if unknown:
            sys.exit(f"not in {REFERENCE.name}: {', '.join(unknown)}")
        entries = [e for e in entries if e["name"] in set(args.only)]

    models: dict = {}
    if args.only and args.out.exists():
        models = json.loads(args.out.read_text()).get("models", {})

    vers = versions()
    log(f"versions: {vers}")
    t_all = time.time()
    for i, entry in enumerate(sorted(entries, key=lambda e: e["name"]), 1):
        name = entry["name"]
        t0 = time.time()
        rec = run_worker(entry, args.threads)
        timings = rec.pop("_timings", {})
        models[name] = rec
        write(args.out, vers, models)
        tim = " ".join(f"{k}={v:.1f}s" for k, v in timings.items())
        err = f" ERRORS {rec['errors']}" if rec.get("errors") else ""
        log(f"[{i}/{len(entries)}] {name} {time.time() - t0:.1f}s ({tim}){err}")
    log(f"done: {len(entries)} models in {time.time() - t_all:.1f}s -> {args.out}")


if __name__ == "__main__":
    main()
