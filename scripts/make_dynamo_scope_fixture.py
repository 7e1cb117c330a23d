"""Writes tests/fixtures/models/resnet18_dynamo_scopes.onnx: torchvision's
ResNet-18 (random weights, weights=None; nothing downloaded) exported with
PyTorch's dynamo exporter (`torch.onnx.export(dynamo=True)`) at 1x3x64x64,
keeping each node's module metadata (`pkg.torch.onnx.name_scopes` and
`pkg.torch.onnx.class_hierarchy`) and dropping the bulky rest (stack traces,
FX nodes), weights stripped as in make_torchvision_fixtures.py.

    /work/pyenv/bin/python scripts/make_dynamo_scope_fixture.py
"""

import sys
import tempfile
from pathlib import Path

import torch
import torchvision

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_torchvision_fixtures import strip_weights  # noqa: E402

KEEP = {"pkg.torch.onnx.name_scopes", "pkg.torch.onnx.class_hierarchy"}


def main() -> None:
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None).eval()
    x = torch.zeros(1, 3, 64, 64)
    program = torch.onnx.export(model, (x,), dynamo=True)
    proto = program.model_proto
    for node in proto.graph.node:
        kept = [p for p in node.metadata_props if p.key in KEEP]
        del node.metadata_props[:]
        node.metadata_props.extend(kept)
    out = Path(__file__).resolve().parent.parent / "tests/fixtures/models/resnet18_dynamo_scopes.onnx"
    with tempfile.TemporaryDirectory() as work:
        strip_weights(proto, out, Path(work) / "strip")
    print(out, out.stat().st_size, "bytes", torch.__version__)


if __name__ == "__main__":
    main()
