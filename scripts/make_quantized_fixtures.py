#!/usr/bin/env python3
"""Generate the quantized ONNX fixtures of ``tests/quantized.rs``.

Two small float models are built here with ``onnx.helper`` and random
weights (nothing is downloaded), then put through onnxruntime's own
quantizers, the tools that make the quantized models users bring:

* ``cnn``: x [batch, 3, 32, 32] -> Conv 3->16 3x3 pad 1 -> Relu -> Conv 16->32
  3x3 stride 2 pad 1 -> Relu -> GlobalAveragePool -> Flatten -> Gemm 32->10.
* ``mlp``: x [batch, seq, 64] -> MatMul [64, 128] -> Add bias -> Relu ->
  MatMul [128, 64] -> Add bias.

Fixtures (``tests/fixtures/quantized/``):

* ``cnn_qoperator``: ``quantize_static(QuantFormat.QOperator)``: QLinearConv,
  QLinearGlobalAveragePool, QGemm and friends, uint8 activations, int8 weights.
* ``cnn_qdq``: ``quantize_static(QuantFormat.QDQ)``: float ops between
  QuantizeLinear / DequantizeLinear pairs.
* ``cnn_dynamic`` and ``mlp_dynamic``: ``quantize_dynamic``: ConvInteger,
  MatMulInteger (or the fused MatMulIntegerToFloat), DynamicQuantizeLinear.
* ``mlp_nbits``: ``MatMulNBitsQuantizer`` (4 bits, block 32): MatMulNBits.

Calibration uses random inputs with a fixed seed. Every file is
weight-stripped like the other fixtures (initializers of ~1 KiB or more keep
name, dims and dtype; the external data file is deleted).

Usage (from the repository root)::

    /work/pyenv/bin/python scripts/make_quantized_fixtures.py

Requirements: ``scripts/requirements-fixtures.txt`` (adds ``onnxruntime``).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SCRIPTS = Path(__file__).resolve().parent
REPO_ROOT = SCRIPTS.parent
OUT_DIR = REPO_ROOT / "tests" / "fixtures" / "quantized"
sys.path.insert(0, str(SCRIPTS))

from make_transformer_fixtures import strip_to  # noqa: E402

OPSET = 17
RNG = np.random.default_rng(20261128)


def weight(name: str, *dims: int) -> onnx.TensorProto:
    return numpy_helper.from_array(RNG.standard_normal(dims).astype(np.float32) * 0.1, name)


def cnn() -> onnx.ModelProto:
    nodes = [
        helper.make_node("Conv", ["x", "c1.w", "c1.b"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node(
            "Conv", ["r1", "c2.w", "c2.b"], ["c2"], name="conv2", pads=[1, 1, 1, 1], strides=[2, 2]
        ),
        helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
        helper.make_node("GlobalAveragePool", ["r2"], ["gap"], name="gap"),
        helper.make_node("Flatten", ["gap"], ["flat"], name="flatten"),
        helper.make_node("Gemm", ["flat", "fc.w", "fc.b"], ["y"], name="fc", transB=1),
    ]
    inits = [
        weight("c1.w", 16, 3, 3, 3),
        weight("c1.b", 16),
        weight("c2.w", 32, 16, 3, 3),
        weight("c2.b", 32),
        weight("fc.w", 10, 32),
        weight("fc.b", 10),
    ]
    graph = helper.make_graph(
        nodes,
        "cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 32, 32])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 10])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])


def mlp() -> onnx.ModelProto:
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["m1"], name="fc1"),
        helper.make_node("Add", ["m1", "b1"], ["a1"], name="fc1_bias"),
        helper.make_node("Relu", ["a1"], ["r1"], name="relu"),
        helper.make_node("MatMul", ["r1", "w2"], ["m2"], name="fc2"),
        helper.make_node("Add", ["m2", "b2"], ["y"], name="fc2_bias"),
    ]
    inits = [weight("w1", 64, 128), weight("b1", 128), weight("w2", 128, 64), weight("b2", 64)]
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq", 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "seq", 64])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])


class RandomReader:
    """Calibration data: a few random batches of the model's input."""

    def __init__(self, name: str, shape: tuple[int, ...], batches: int = 4):
        self.items = iter(
            [{name: RNG.standard_normal(shape).astype(np.float32)} for _ in range(batches)]
        )

    def get_next(self):
        return next(self.items, None)


def main() -> None:
    from onnxruntime.quantization import (
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="nncost_quant_") as tmp:
        tmp = Path(tmp)
        cnn_path, mlp_path = tmp / "cnn.onnx", tmp / "mlp.onnx"
        onnx.save(cnn(), cnn_path)
        onnx.save(mlp(), mlp_path)
        made = {}
        for fmt, name in [(QuantFormat.QOperator, "cnn_qoperator"), (QuantFormat.QDQ, "cnn_qdq")]:
            made[name] = tmp / f"{name}.onnx"
            quantize_static(
                str(cnn_path),
                str(made[name]),
                RandomReader("x", (1, 3, 32, 32)),
                quant_format=fmt,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
            )
        for src, name in [(cnn_path, "cnn_dynamic"), (mlp_path, "mlp_dynamic")]:
            made[name] = tmp / f"{name}.onnx"
            quantize_dynamic(str(src), str(made[name]), weight_type=QuantType.QInt8)
        quantizer = MatMulNBitsQuantizer(onnx.load(mlp_path), block_size=32, is_symmetric=True, bits=4)
        quantizer.process()
        made["mlp_nbits"] = tmp / "mlp_nbits.onnx"
        onnx.save(quantizer.model.model, made["mlp_nbits"])
        for name, path in sorted(made.items()):
            onnx.checker.check_model(str(path))
            final = OUT_DIR / f"{name}.onnx"
            strip_to(path, final)
            ops = sorted({f"{n.domain or 'ai.onnx'}::{n.op_type}" for n in onnx.load(final, load_external_data=False).graph.node})
            print(f"{name}: {final.stat().st_size} bytes; {', '.join(ops)}")


if __name__ == "__main__":
    main()
