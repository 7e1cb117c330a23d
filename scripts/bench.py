#!/usr/bin/env python3
"""Speed and memory benchmark of the ``nncost`` binary against ``onnx`` (and ``tract``).

Requirements:
    pip install onnx numpy          # the Python side and the synthetic graph
    pip install torch torchvision   # only to generate ResNet-50 if it is absent
    cargo build --release           # the binary, target/release/nncost

Usage (from the repository root)::

    python scripts/bench.py                      # table
    python scripts/bench.py --json               # machine-readable results
    python scripts/bench.py --model resnet50.onnx --nncost /path/to/nncost
    python scripts/bench.py --workdir /tmp/nncost-bench   # keep/reuse generated files
    python scripts/bench.py --nncost-arg=--hardware --nncost-arg=h100   # with memory and the roofline

Inputs:

* a full ResNet-50 with its weights embedded in the file (~100 MB):
  ``--model PATH``, default ``/work/bench/resnet50_full.onnx``.  If that
  default is absent the script builds ``torchvision.models.resnet50(
  weights=None)`` (random weights, nothing downloaded) and exports it with
  ``torch.onnx.export(dynamo=False)``, opset 17, dynamic batch, into the
  work directory;
* four real exports kept in the repository, weights stripped (``--skip-real``
  leaves them out): BERT-base (TorchScript exporter, opset 14, 1,231
  nodes), a LLaMA-style 1B decoder (dynamo exporter, 1,207 nodes), Swin-T
  (6,194 nodes) and Faster R-CNN ResNet-50 FPN (1,928 nodes, data-dependent
  sizes); ``batch`` is bound only where the model declares it;
* a synthetic graph of ``--nodes`` (default 100,000) nodes made with
  ``onnx.helper``: a repeated residual block Conv3x3(+bias) /
  BatchNormalization / Relu / Conv1x1 / Add(residual) / MatMul / Add(bias) /
  Transpose / Sigmoid / Mul(SiLU) on an 8x8x8 feature map with small
  initializers of its own (~3 KB per 10 nodes), checked with
  ``onnx.checker``;
* with ``--chain`` sizes, issue 16's own graph: a chain of Relu / Sigmoid /
  Tanh / Neg nodes on a ``[batch, 64]`` float tensor, shapes declared on the
  graph input and output only, no initializers (its targets: 10^5 nodes
  < 100 ms and < 40 MB, 10^6 nodes < 1 s and < 300 MB).

Method, per file:

* ``nncost FILE --format json --dim batch=1 -o OUT`` (OUT is a temporary
  file: ``-o`` writes atomically, i.e. creates a file beside its target and
  renames it, which must not be pointed at ``/dev/null``) is run
  ``--warmup`` times (default 2) unmeasured, then ``--runs`` times (default
  21) as a direct child (``subprocess.Popen`` + ``os.wait4``), wall time
  from ``time.perf_counter`` around spawn-to-reap; median and min. OUT is
  deleted before each measured run, outside the timing, so that no run
  pays for freeing the previous run's file.
* The page cache is NOT dropped (that needs root and disturbs everything
  else on the machine); instead both tools get the same warm-up runs, so
  the file is in the page cache for both alike.  The numbers are warm-cache
  numbers.
* onnx: a child ``python -c`` that imports onnx, then times
  ``m = onnx.load(path); onnx.shape_inference.infer_shapes(m)`` with
  ``perf_counter`` (the "load+infer" time), ``--onnx-runs`` times (default
  5) after the same warm-up; the wall time of the whole child (interpreter
  start-up and ``import onnx`` included) is reported as well.
* tract, with ``--tract PATH`` (``cargo install tract-cli``): ``tract FILE
  --set batch=1 dump --cost`` (load, typing, the symbolic batch set, every
  node's cost printed), ``--tract-runs`` times (default 3) after the same
  warm-up, every run through the probe; reported with its time and memory
  ratios to nncost.
* Peak RSS is the child's ``ru_maxrss`` (KiB on Linux) from ``wait4``.  It
  is NOT taken from a direct child of this script: at ``execve`` Linux
  charges the new program with the high-water RSS of the address space it
  replaces (``setmax_mm_hiwater_rss`` in fs/exec.c), which for a child of
  Python (fork or vfork) is the Python parent's own RSS -- ``/bin/true``
  spawned from a 300 MB Python process reports 318 MB.  So peak RSS comes
  from runs through a tiny C "probe" (compiled here with ``cc``) that forks,
  execs the tool, and reports ``wait4``'s ``ru_maxrss`` of its child; its
  floor (the probe's own ~1 MB) is measured with ``/bin/true`` and
  reported.  nncost gets ``--rss-runs`` (default 5) extra runs through the
  probe; every onnx run goes through the probe (its start-up cost is
  negligible beside a run of onnx).  If ``cc`` is missing, RSS falls back
  to direct ``wait4`` and is flagged as inflated.
* ``ru_maxrss`` counts the model file's page-cache pages that nncost's
  ``mmap`` maps, not only its heap.  A fault maps a whole page-cache folio
  (or a 64 KB fault-around window), and folio sizes depend on how the file
  entered the page cache (kernel >= 6.x, ext4 large folios): the same
  ResNet-50 measured 7.5 MB on one copy and 56 MB on another, with ~1 MB
  anonymous memory both times.  Those pages are shared, clean and not read
  by nncost, but they are what ``ru_maxrss`` reports.
* Start-up: ``/bin/true``, ``nncost --version`` and (with ``--tract``)
  ``tract --version`` are timed as nncost is (direct child, spawn to reap,
  median of ``--runs`` after the warm-up). No run of any tool can take
  less than ``/bin/true``; the tract rows say what 50x tract would ask of
  nncost beside it.
* Ratios are onnx / nncost: time = onnx load+infer median (interpreter
  start-up and import excluded, i.e. conservative) over nncost's whole
  process median; memory = peak RSS medians.

Targets (the project's, on a 2-core machine): ResNet-50 with embedded
weights < 10 ms and < 20 MB peak RSS; 100,000-node graph < 1 s.
MB here means 10^6 bytes.  Exit status is 0 even when a target is missed,
unless ``--strict``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_RESNET50 = Path("/work/bench/resnet50_full.onnx")
MB = 1e6

# Targets: (median wall ms, median peak RSS MB or None).
TARGET_RESNET50 = (10.0, 20.0)
TARGET_SYNTHETIC = (1000.0, None)
# Issue 16's chain, by size.
TARGET_CHAIN = {100_000: (100.0, 40.0), 1_000_000: (1000.0, 300.0)}
# Real exports kept in the repository (weights stripped: initializers keep
# their dims, not their bytes; nncost reads no weight either way, and onnx
# loads them faster without): a transformer encoder, a 1B decoder, a vision
# transformer with windows and a two-stage detector with data-dependent
# sizes. Same targets as ResNet-50.
REAL_MODELS = [
    ("bert_base", "tests/fixtures/models/bert_base_classic_op14.onnx"),
    ("llama_1b", "tests/fixtures/models/llama_1b_dynamo.onnx"),
    ("swin_t", "tests/fixtures/torchvision/swin_t.onnx"),
    ("fasterrcnn_r50", "tests/fixtures/torchvision_oracle/fasterrcnn_resnet50_fpn.onnx"),
]

PROBE_C = r"""
#define _GNU_SOURCE
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>

/* probe RESULT CMD [ARGS...]: fork, exec CMD, wait4; write
   "ru_maxrss_kib wall_ns wait_status" to RESULT; exit like CMD. */
int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: probe RESULT CMD [ARGS...]\n"); return 127; }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 127; }
    if (pid == 0) { execvp(argv[2], argv + 2); perror("execvp"); _exit(127); }
    int status; struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) { perror("wait4"); return 127; }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    FILE *f = fopen(argv[1], "w");
    if (!f) { perror(argv[1]); return 127; }
    long long ns = (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
    fprintf(f, "%ld %lld %d\n", ru.ru_maxrss, ns, status);
    fclose(f);
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}
"""

ONNX_CHILD = r"""
import json, sys, time

def hwm_kib():
    # VmHWM of this process's own address space (unaffected by the parent).
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None

import onnx
import_hwm = hwm_kib()
path = sys.argv[1]
t0 = time.perf_counter()
# Shape inference reads no weight: external data (absent in the stripped
# exports) is left where it is, as nncost leaves it.
m = onnx.load(path, load_external_data=False)
t1 = time.perf_counter()
inferred = onnx.shape_inference.infer_shapes(m)
t2 = time.perf_counter()
print(json.dumps({
    "load_s": t1 - t0, "infer_s": t2 - t1, "load_infer_s": t2 - t0,
    "nodes": len(m.graph.node), "import_hwm_kib": import_hwm, "hwm_kib": hwm_kib(),
    "onnx_version": onnx.__version__,
}))
"""


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Input generation (run in child processes so that this process stays small)
# ---------------------------------------------------------------------------


def gen_resnet50(out: Path) -> None:
    import torch
    import torchvision

    model = torchvision.models.resnet50(weights=None).eval()
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        torch.onnx.export(
            model,
            (x,),
            str(out),
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )


def gen_chain(out: Path, n_nodes: int) -> None:
    """Issue 16's graph: unary nodes in a chain, shapes declared on the graph
    input and output only."""
    from onnx import TensorProto, helper

    ops = ["Relu", "Sigmoid", "Tanh", "Neg"]
    nodes = []
    prev = "x"
    for i in range(n_nodes):
        y = f"v{i}" if i < n_nodes - 1 else "y"
        nodes.append(helper.make_node(ops[i % len(ops)], [prev], [y], name=f"n{i}"))
        prev = y
    graph = helper.make_graph(
        nodes,
        f"chain_{n_nodes}",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 64])],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="nncost-bench", ir_version=8
    )
    import onnx

    onnx.save(model, str(out))


def gen_synthetic(out: Path, n_nodes: int, c: int = 8, hw: int = 8, seed: int = 0) -> None:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    nodes: list = []
    inits: list = []
    counter = [0]

    def fresh(prefix: str) -> str:
        counter[0] += 1
        return f"{prefix}{counter[0]}"

    def weight(shape, positive: bool = False) -> str:
        a = rng.standard_normal(shape).astype(np.float32) * 0.1
        if positive:
            a = np.abs(a) + 0.5
        name = fresh("w")
        inits.append(numpy_helper.from_array(a, name))
        return name

    def node(op: str, inputs: list[str], **attrs) -> str:
        y = fresh("v")
        nodes.append(helper.make_node(op, inputs, [y], name=fresh("n"), **attrs))
        return y

    x = "input"
    skip = x
    pre_sigmoid = x
    pattern = ["conv3", "bn", "relu", "conv1", "add_skip", "matmul", "add_bias", "transpose", "sigmoid", "mul"]
    for i in range(n_nodes):
        op = pattern[i % len(pattern)]
        if op == "conv3":
            x = node("Conv", [x, weight((c, c, 3, 3)), weight((c,))], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
        elif op == "bn":
            x = node(
                "BatchNormalization",
                [x, weight((c,)), weight((c,)), weight((c,)), weight((c,), positive=True)],
                epsilon=1e-5,
            )
        elif op == "relu":
            x = node("Relu", [x])
        elif op == "conv1":
            x = node("Conv", [x, weight((c, c, 1, 1))], kernel_shape=[1, 1])
        elif op == "add_skip":
            x = node("Add", [x, skip])
            skip = x
        elif op == "matmul":
            x = node("MatMul", [x, weight((hw, hw))])
        elif op == "add_bias":
            x = node("Add", [x, weight((hw,))])
        elif op == "transpose":
            x = node("Transpose", [x], perm=[0, 1, 3, 2])
        elif op == "sigmoid":
            pre_sigmoid = x
            x = node("Sigmoid", [x])
        elif op == "mul":
            x = node("Mul", [pre_sigmoid, x])
    shape = ["batch", c, hw, hw]
    graph = helper.make_graph(
        nodes,
        f"synthetic_{n_nodes}",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, shape)],
        initializer=inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="nncost-bench", ir_version=8
    )
    onnx.checker.check_model(model)
    onnx.save(model, str(out))


# ---------------------------------------------------------------------------
# Measurement
# ---------------------------------------------------------------------------


class Probe:
    """Runs commands through the C probe (accurate peak RSS), or directly."""

    def __init__(self, workdir: Path) -> None:
        self.path: Path | None = None
        self.result = workdir / "probe.out"
        cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
        if cc is None:
            log("WARNING: no C compiler: peak RSS from direct wait4, inflated by this process's RSS")
            return
        src = workdir / "probe.c"
        src.write_text(PROBE_C)
        exe = workdir / "probe"
        r = subprocess.run([cc, "-O2", "-o", str(exe), str(src)], capture_output=True, text=True)
        if r.returncode != 0:
            log(f"WARNING: probe did not compile ({r.stderr.strip()}); peak RSS will be inflated")
            return
        self.path = exe

    @property
    def accurate(self) -> bool:
        return self.path is not None

    def run(self, cmd: list[str], stdout, stderr) -> dict:
        """One run. Returns wall_s (spawn to reap, seen from here), rss_kib,
        probe_wall_s (fork to reap, seen from the probe; None if direct) and
        exit code."""
        full = [str(self.path), str(self.result)] + cmd if self.path else cmd
        t0 = time.perf_counter()
        p = subprocess.Popen(full, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr)
        _, status, ru = os.wait4(p.pid, 0)
        t1 = time.perf_counter()
        p.returncode = os.waitstatus_to_exitcode(status)
        out = {"wall_s": t1 - t0, "rss_kib": ru.ru_maxrss, "probe_wall_s": None, "exit": p.returncode}
        if self.path:
            fields = self.result.read_text().split()
            out["rss_kib"] = int(fields[0])
            out["probe_wall_s"] = int(fields[1]) / 1e9
        return out


def run_direct(cmd: list[str], stdout, stderr) -> dict:
    """One run as a direct child: wall time from perf_counter, spawn to reap."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr)
    _, status, _ru = os.wait4(p.pid, 0)
    t1 = time.perf_counter()
    p.returncode = os.waitstatus_to_exitcode(status)
    return {"wall_s": t1 - t0, "exit": p.returncode}


def startup_ms(cmd: list[str], runs: int, warmup: int) -> float | None:
    """Median wall ms of a command that does next to nothing, timed as
    nncost is (a direct child, spawn to reap): what starting a process
    costs here, below which no tool's run can go."""
    for _ in range(warmup):
        if run_direct(cmd, subprocess.DEVNULL, subprocess.DEVNULL)["exit"] != 0:
            return None
    return statistics.median(
        run_direct(cmd, subprocess.DEVNULL, subprocess.DEVNULL)["wall_s"] for _ in range(runs)
    ) * 1e3


def summary_ms(values_s: list[float]) -> dict:
    v = sorted(values_s)
    return {
        "median": statistics.median(v) * 1e3,
        "min": v[0] * 1e3,
        "max": v[-1] * 1e3,
        "p90": v[min(len(v) - 1, max(0, int(round(0.9 * len(v))) - 1))] * 1e3,
    }


def declares_batch(args, path: Path, work: Path) -> bool:
    """Whether the model has a symbol ``batch`` to bind (a detector taking
    one image does not, and ``--dim`` refuses a name the model lacks)."""
    out_json = work / "nncost-symbols.json"
    r = subprocess.run([str(args.nncost), str(path), "--format", "json", "-o", str(out_json)], capture_output=True)
    if r.returncode != 0:
        return True  # the measured run reports the error
    return any(s.get("name") == "batch" for s in json.loads(out_json.read_text()).get("symbols", []))


def bench_nncost(args, probe: Probe, path: Path, work: Path) -> dict:
    out_json = work / "nncost-out.json"
    err_path = work / "nncost-err.txt"
    cmd = [str(args.nncost), str(path), "--format", "json", "-o", str(out_json)]
    if declares_batch(args, path, work):
        cmd[2:2] = ["--dim", "batch=1"]
    cmd += args.nncost_arg
    with open(err_path, "w") as err:
        for _ in range(args.warmup):
            r = run_direct(cmd, subprocess.DEVNULL, err)
            if r["exit"] != 0:
                break
        if r["exit"] != 0:
            return {"error": f"exit {r['exit']}: {err_path.read_text().strip()[-2000:]}"}
        doc = json.loads(out_json.read_text())

        # The previous run's output is removed first, untimed: renaming onto
        # it would free its pages inside the measured run (a fifth of the
        # 10^5-node chain's JSON run), which is not nncost's work.
        def fresh(run):
            out_json.unlink(missing_ok=True)
            return run(cmd, subprocess.DEVNULL, err)

        walls = [fresh(run_direct)["wall_s"] for _ in range(args.runs)]
        rss_runs = [fresh(probe.run) for _ in range(args.rss_runs)]
    nodes = doc.get("nodes", [])
    unsupported = sum(1 for n in nodes if n.get("status") == "unsupported")
    incomplete = sum(1 for n in nodes if n.get("status") == "incomplete")
    rss_mb = [r["rss_kib"] * 1024 / MB for r in rss_runs]
    res = {
        "command": cmd,
        "runs": len(walls),
        "wall_ms": summary_ms(walls),
        "rss_runs": len(rss_runs),
        "peak_rss_mb": {"median": statistics.median(rss_mb), "max": max(rss_mb)},
        "nodes": len(nodes),
        "unsupported_nodes": unsupported,
        "incomplete_nodes": incomplete,
    }
    if probe.accurate:
        res["probe_wall_ms"] = summary_ms([r["probe_wall_s"] for r in rss_runs])
    return res


def bench_onnx(args, probe: Probe, path: Path, work: Path) -> dict:
    out_path = work / "onnx-out.json"
    err_path = work / "onnx-err.txt"
    cmd = [args.python, "-c", ONNX_CHILD, str(path)]
    runs = []
    with open(err_path, "w") as err:
        for i in range(args.warmup + args.onnx_runs):
            with open(out_path, "w") as out:
                r = probe.run(cmd, out, err)
            if r["exit"] != 0:
                return {"error": f"exit {r['exit']}: {err_path.read_text().strip()[-2000:]}"}
            if i >= args.warmup:
                r["inner"] = json.loads(out_path.read_text().strip().splitlines()[-1])
                runs.append(r)
    inner = [r["inner"] for r in runs]
    rss_mb = [r["rss_kib"] * 1024 / MB for r in runs]
    return {
        "runs": len(runs),
        "onnx_version": inner[0]["onnx_version"],
        "nodes": inner[0]["nodes"],
        "load_infer_ms": summary_ms([x["load_infer_s"] for x in inner]),
        "load_ms": summary_ms([x["load_s"] for x in inner]),
        "infer_ms": summary_ms([x["infer_s"] for x in inner]),
        "child_wall_ms": summary_ms([r["wall_s"] for r in runs]),
        "peak_rss_mb": {"median": statistics.median(rss_mb), "max": max(rss_mb)},
        "after_import_rss_mb": statistics.median(x["import_hwm_kib"] * 1024 / MB for x in inner),
        "vmhwm_mb": statistics.median(x["hwm_kib"] * 1024 / MB for x in inner),
    }


def bench_tract(args, probe: Probe, path: Path, work: Path) -> dict:
    """tract's own cost analysis: ``tract FILE --set batch=1 dump --cost``
    (the model loaded, typed, its symbolic batch set and every node's cost
    printed), through the probe for peak RSS."""
    err_path = work / "tract-err.txt"
    cmd = [str(args.tract), str(path), "--set", "batch=1", "dump", "--cost"]
    if not declares_batch(args, path, work):
        del cmd[2:4]
    runs = []
    with open(err_path, "w") as err:
        for i in range(args.warmup + args.tract_runs):
            r = probe.run(cmd, subprocess.DEVNULL, err)
            if r["exit"] != 0:
                return {"error": f"exit {r['exit']}: {err_path.read_text().strip()[-500:]}"}
            if i >= args.warmup:
                runs.append(r)
    rss_mb = [r["rss_kib"] * 1024 / MB for r in runs]
    return {
        "command": cmd,
        "runs": len(runs),
        "wall_ms": summary_ms([r["probe_wall_s"] if probe.accurate else r["wall_s"] for r in runs]),
        "peak_rss_mb": {"median": statistics.median(rss_mb), "max": max(rss_mb)},
    }


def verdict(entry: dict) -> None:
    max_ms, max_mb = entry["target"]["max_ms"], entry["target"]["max_rss_mb"]
    n = entry["nncost"]
    if "error" in n:
        entry["verdict"] = "ERROR"
        return
    ok = n["wall_ms"]["median"] < max_ms
    if max_mb is not None:
        ok = ok and n["peak_rss_mb"]["median"] < max_mb
    entry["verdict"] = "PASS" if ok else "FAIL"


def ratios(entry: dict) -> None:
    n, o, t = entry["nncost"], entry.get("onnx"), entry.get("tract")
    if t is not None and "error" not in n and "error" not in t:
        entry["tract_ratio"] = {
            "time": t["wall_ms"]["median"] / n["wall_ms"]["median"],
            "memory": t["peak_rss_mb"]["median"] / n["peak_rss_mb"]["median"],
        }
    if o is None or "error" in n or "error" in o:
        return
    entry["ratio"] = {
        "time": o["load_infer_ms"]["median"] / n["wall_ms"]["median"],
        "time_whole_process": o["child_wall_ms"]["median"] / n["wall_ms"]["median"],
        "memory": o["peak_rss_mb"]["median"] / n["peak_rss_mb"]["median"],
    }


def scaling_lines(results: dict, family: str) -> list:
    """Per-node cost of one family of generated graphs and the log-log slope
    between consecutive sizes (1.0 is linear), for nncost and for onnx."""
    rows = [
        e for e in results["files"]
        if e["name"].startswith(family + "_") and "error" not in e["nncost"]
    ]
    if len(rows) < 2:
        return []
    rows.sort(key=lambda e: e["nncost"]["nodes"])
    out = ["", f"scaling ({family} graphs): nodes, nncost ms, us/node, RSS MB, bytes/node, slope of time and memory"]
    prev = None
    for e in rows:
        n = e["nncost"]
        nodes, ms, mb = n["nodes"], n["wall_ms"]["median"], n["peak_rss_mb"]["median"]
        slope = ""
        if prev:
            import math
            k = math.log(nodes / prev[0])
            slope = f"  slope time {math.log(ms / prev[1]) / k:.2f}, memory {math.log(mb / prev[2]) / k:.2f}"
            o = e.get("onnx") or {}
            if "load_infer_ms" in o and prev[3]:
                slope += f"; onnx time {math.log(o['load_infer_ms']['median'] / prev[3]) / k:.2f}"
        out.append(
            f"  {nodes:>9} {ms:>10.1f} {1000 * ms / nodes:>8.2f} {mb:>9.1f} {mb * 1e6 / nodes:>9.0f}{slope}"
        )
        o = e.get("onnx") or {}
        prev = (nodes, ms, mb, o.get("load_infer_ms", {}).get("median"))
    return out


def fmt_table(results: dict) -> str:
    hdr = (
        f"{'file':<22} {'MB':>7} {'nodes':>7} | {'nncost ms':>9} {'(min)':>8} {'RSS MB':>7} | "
        f"{'onnx ms':>9} {'(min)':>9} {'child ms':>9} {'RSS MB':>7} | {'time x':>7} {'whole x':>7} {'mem x':>6} | target"
    )
    lines = [hdr, "-" * len(hdr)]
    for e in results["files"]:
        n, o = e["nncost"], e.get("onnx") or {}
        if "error" in n:
            lines.append(f"{e['name']:<22} {e['size_mb']:>7.1f}  nncost ERROR: {n['error'][:200]}")
            continue
        row = (
            f"{e['name']:<22} {e['size_mb']:>7.1f} {n['nodes']:>7} | "
            f"{n['wall_ms']['median']:>9.2f} {n['wall_ms']['min']:>8.2f} {n['peak_rss_mb']['median']:>7.1f} | "
        )
        if "error" in o:
            row += f"{'onnx ERROR':>38} | {'':>7} {'':>7} {'':>6} | "
        elif o:
            row += (
                f"{o['load_infer_ms']['median']:>9.1f} {o['load_infer_ms']['min']:>9.1f} "
                f"{o['child_wall_ms']['median']:>9.1f} {o['peak_rss_mb']['median']:>7.1f} | "
                f"{e['ratio']['time']:>7.1f} {e['ratio']['time_whole_process']:>7.1f} {e['ratio']['memory']:>6.1f} | "
            )
        else:
            row += f"{'(skipped)':>38} | {'':>7} {'':>7} {'':>6} | "
        t = e["target"]
        cond = f"< {t['max_ms']:g} ms" + (f", < {t['max_rss_mb']:g} MB" if t["max_rss_mb"] is not None else "")
        row += f"{e['verdict']} ({cond})"
        lines.append(row)
    env = results["env"]
    lines += [
        "",
        f"nncost: {env['nncost_runs']} runs after {env['warmup']} warm-up, median/min wall ms "
        f"(whole process, spawn to reap); RSS: median of {env['rss_runs']} runs.",
    ]
    if env["onnx_runs"]:
        lines += [
            f"onnx: onnx.load + infer_shapes timed inside the child, median/min of {env['onnx_runs']} runs "
            f"after {env['warmup']} warm-up; 'child ms' = whole child incl. interpreter start-up and import.",
            "time x = onnx load+infer / nncost wall; whole x = onnx's whole child (interpreter start-up and",
            "import included) / nncost wall, both whole processes as issue 16 states its targets;",
            "mem x = peak RSS ratio. Warm page cache for both.",
        ]
    lines += [
        f"peak RSS via {'wait4 in a C probe' if env['rss_accurate'] else 'direct wait4 (INFLATED)'}; "
        f"floor (/bin/true through it): {env['rss_floor_mb']:.1f} MB. MB = 10^6 bytes. "
        f"nproc={env['nproc']}, load avg at start {env['loadavg_start']}.",
        "start-up (median wall ms of a command doing next to nothing, timed as nncost is): "
        + ", ".join(f"{cmd} {ms:.2f}" for cmd, ms in env["startup_ms"].items() if ms is not None)
        + ".",
    ]
    tract_rows = [e for e in results["files"] if e.get("tract")]
    if tract_rows:
        lines += ["", "tract (`tract FILE --set batch=1 dump --cost`, whole process through the probe):"]
        for e in tract_rows:
            t = e["tract"]
            if "error" in t:
                lines.append(f"  {e['name']:<22} tract ERROR: {t['error'][:200]}")
                continue
            r = e.get("tract_ratio", {})
            lines.append(
                f"  {e['name']:<22} {t['wall_ms']['median']:>10.1f} ms {t['peak_rss_mb']['median']:>8.1f} MB"
                f"   time x {r.get('time', float('nan')):.1f}, mem x {r.get('memory', float('nan')):.1f}"
                f"   (50x: nncost under {t['wall_ms']['median'] / 50:.2f} ms)"
            )
    lines += scaling_lines(results, "synthetic")
    lines += scaling_lines(results, "chain")
    for e in results["files"]:
        n = e["nncost"]
        if "error" not in n and (n["unsupported_nodes"] or n["incomplete_nodes"]):
            lines.append(
                f"note: {e['name']}: nncost reported {n['unsupported_nodes']} unsupported and "
                f"{n['incomplete_nodes']} incomplete nodes (timing is still of the full run)"
            )
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, help=f"ResNet-50 with embedded weights (default {DEFAULT_RESNET50}, generated if absent)")
    ap.add_argument("--nncost", type=Path, default=Path("target/release/nncost"), help="nncost binary (default target/release/nncost, relative to the repository root)")
    ap.add_argument("--python", default=sys.executable, help="interpreter with onnx for the onnx runs (default: this one)")
    ap.add_argument(
        "--nodes",
        default="100000",
        help="nodes of the synthetic graph, or several sizes joined by commas for a scaling table "
        "(e.g. 1000,10000,100000,1000000; default 100000; 0 skips it)",
    )
    ap.add_argument(
        "--chain",
        default="",
        help="sizes of issue 16's chain graph to measure as well, joined by commas (e.g. 100000,1000000; default none)",
    )
    ap.add_argument("--runs", type=int, default=21, help="measured nncost runs per file (default 21)")
    ap.add_argument("--rss-runs", type=int, default=5, help="extra nncost runs through the RSS probe (default 5)")
    ap.add_argument("--onnx-runs", type=int, default=5, help="measured onnx runs per file (default 5)")
    ap.add_argument("--warmup", type=int, default=2, help="unmeasured warm-up runs per tool and file (default 2)")
    ap.add_argument("--workdir", type=Path, help="keep generated models here and reuse them (default: a temporary directory)")
    ap.add_argument("--skip-onnx", action="store_true", help="measure nncost only")
    ap.add_argument(
        "--skip-real",
        action="store_true",
        help="leave out the real exports kept in the repository (BERT-base, LLaMA-1B, Swin-T, Faster R-CNN)",
    )
    ap.add_argument("--tract", type=Path, help="a tract binary (`cargo install tract-cli`) to measure beside onnx")
    ap.add_argument("--tract-runs", type=int, default=3, help="measured tract runs per file (default 3)")
    ap.add_argument(
        "--tract-max-nodes",
        type=int,
        default=10000,
        help="largest synthetic graph given to tract (default 10000: tract 0.23 took 184 s on 10,000 nodes)",
    )
    ap.add_argument("--nncost-arg", action="append", default=[], help="an extra nncost argument (repeatable), e.g. --nncost-arg=--memory")
    ap.add_argument("--json", action="store_true", help="print machine-readable results instead of the table")
    ap.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    ap.add_argument("--_gen", choices=["resnet50", "synthetic", "chain"], help=argparse.SUPPRESS)
    ap.add_argument("--_out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args._gen == "resnet50":
        gen_resnet50(args._out)
        return 0
    sizes = [int(n) for n in str(args.nodes).split(",") if n.strip()]
    if args._gen == "synthetic":
        gen_synthetic(args._out, sizes[0])
        return 0
    if args._gen == "chain":
        gen_chain(args._out, sizes[0])
        return 0
    chain_sizes = [int(n) for n in str(args.chain).split(",") if n.strip()]
    if args.runs < 1 or args.onnx_runs < 1 or args.rss_runs < 1 or args.warmup < 1:
        ap.error("--runs, --rss-runs, --onnx-runs and --warmup must be >= 1")

    if not args.nncost.is_absolute():
        args.nncost = args.nncost if args.nncost.exists() else REPO / args.nncost
    if not args.nncost.exists():
        ap.error(f"{args.nncost} not found: run `cargo build --release` (or pass --nncost PATH)")

    tmp = tempfile.TemporaryDirectory(prefix="nncost-bench-")
    scratch = Path(tmp.name)
    gen_dir = args.workdir or scratch
    gen_dir.mkdir(parents=True, exist_ok=True)
    loadavg_start = os.getloadavg()

    # Inputs.
    resnet = args.model
    if resnet is None:
        resnet = DEFAULT_RESNET50
        if not resnet.exists():
            resnet = gen_dir / "resnet50_full.onnx"
            if not resnet.exists():
                log(f"{DEFAULT_RESNET50} absent: exporting torchvision resnet50(weights=None) to {resnet}")
                subprocess.run([sys.executable, __file__, "--_gen", "resnet50", "--_out", str(resnet)], check=True)
    if not resnet.exists():
        ap.error(f"{resnet} not found")
    def generated(family: str, what: str, counts: list) -> list:
        """(nodes, path) of each graph of `family`, made in a child process if absent."""
        out = []
        for n in (n for n in counts if n > 0):
            path = gen_dir / f"{family}_{n}.onnx"
            if not path.exists():
                log(f"generating a {n}-node {what} in {path}")
                subprocess.run(
                    [sys.executable, __file__, "--_gen", family, "--_out", str(path), "--nodes", str(n)],
                    check=True,
                )
            out.append((n, path))
        return out

    synths = generated("synthetic", "synthetic graph (with onnx.checker)", sizes)
    chains = generated("chain", "chain", chain_sizes)

    probe = Probe(scratch)
    floor = probe.run(["/bin/true"], subprocess.DEVNULL, subprocess.DEVNULL)["rss_kib"] * 1024 / MB

    startup = {"/bin/true": startup_ms(["/bin/true"], args.runs, args.warmup)}
    startup["nncost --version"] = startup_ms([str(args.nncost), "--version"], args.runs, args.warmup)
    if args.tract:
        startup["tract --version"] = startup_ms([str(args.tract), "--version"], args.runs, args.warmup)

    files = [(resnet.stem, resnet, TARGET_RESNET50)]
    if not args.skip_real:
        files += [(name, REPO / rel, TARGET_RESNET50) for name, rel in REAL_MODELS]
    files += [(synth.stem, synth, TARGET_SYNTHETIC) for _, synth in synths]
    files += [(chain.stem, chain, TARGET_CHAIN.get(n, TARGET_SYNTHETIC)) for n, chain in chains]
    results = {
        "env": {
            "nncost": str(args.nncost),
            "python": args.python,
            "nproc": os.cpu_count(),
            "loadavg_start": [round(x, 2) for x in loadavg_start],
            "warmup": args.warmup,
            "nncost_runs": args.runs,
            "rss_runs": args.rss_runs,
            "onnx_runs": 0 if args.skip_onnx else args.onnx_runs,
            "rss_accurate": probe.accurate,
            "rss_floor_mb": floor,
            "startup_ms": startup,
            "page_cache": "not dropped; warm-up runs put the file in the page cache for both tools",
        },
        "files": [],
    }
    for name, path, (max_ms, max_mb) in files:
        entry = {
            "name": name,
            "path": str(path),
            "size_mb": path.stat().st_size / MB,
            "target": {"max_ms": max_ms, "max_rss_mb": max_mb},
        }
        log(f"{name}: nncost x{args.warmup}+{args.runs}+{args.rss_runs}")
        entry["nncost"] = bench_nncost(args, probe, path, scratch)
        if not args.skip_onnx:
            log(f"{name}: onnx x{args.warmup}+{args.onnx_runs}")
            entry["onnx"] = bench_onnx(args, probe, path, scratch)
        if args.tract and name in dict(REAL_MODELS):
            entry["tract"] = {"error": "not run: the weights are stripped, and tract reads them"}
        elif args.tract and (
            name.startswith(("synthetic_", "chain_")) and int(name.split("_")[1]) > args.tract_max_nodes
        ):
            entry["tract"] = {"error": f"skipped: more than --tract-max-nodes {args.tract_max_nodes}"}
        elif args.tract:
            log(f"{name}: tract x{args.warmup}+{args.tract_runs}")
            entry["tract"] = bench_tract(args, probe, path, scratch)
        entry["nodes"] = entry["nncost"].get("nodes") or (entry.get("onnx") or {}).get("nodes")
        verdict(entry)
        ratios(entry)
        results["files"].append(entry)
    results["env"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]

    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(fmt_table(results))
    tmp.cleanup()
    if args.strict and any(e["verdict"] != "PASS" for e in results["files"]):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
