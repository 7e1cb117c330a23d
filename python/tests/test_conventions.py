"""The presets against the tools themselves: on every torchvision
classification model (random weights), nncost's count by each preset is
within 0.5% of the figure the tool gave, recorded by
scripts/make_convention_reference.py in
tests/fixtures/torchvision/convention_reference.json."""

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")
pytest.importorskip("onnxscript")

import nncost  # noqa: E402
from nncost._torch import _export_dynamo, _strip  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "torchvision"
REFERENCE = json.loads((FIXTURES / "convention_reference.json").read_text())
MODELS = {m["name"]: m for m in json.loads((FIXTURES / "reference.json").read_text())}

# preset → the tool's figure in the reference. FlopCounterMode's is that of
# a forward pass with gradients enabled: under no_grad, PyTorch runs a
# vision transformer's attention as one fused kernel FlopCounterMode does
# not see (docs/conventions.md, "Presets").
FIGURES = {
    "torch": "torch_train_fwd",
    "fvcore": "fvcore",
    "thop": "thop_macs",
    "ptflops": "ptflops_macs",
}


def exported(name):
    spec = MODELS[name]
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None, **spec["build_kwargs"]).eval()
    x = torch.zeros(*spec["input_shape"])
    data = _strip(_export_dynamo(model, (x,), {}, None))
    del model
    return data


@pytest.mark.parametrize("name", sorted(REFERENCE["models"]))
def test_presets_agree_with_their_tools(name):
    ref = REFERENCE["models"][name]
    data = exported(name)
    report = nncost.analyze(data, name=name)
    # Exact but for Swin V2, whose float buffer relative_coords_table (450
    # elements a block) the graph reads like a weight: nothing in an ONNX
    # file tells a buffer from a parameter there.
    extra = 450 * {"swin_v2_t": 12, "swin_v2_s": 24, "swin_v2_b": 24}.get(name, 0)
    assert report.params == ref["params"] + extra
    off = {}
    for preset, key in FIGURES.items():
        want = ref.get(key)
        if want is None:
            continue
        got = nncost.analyze(data, convention=preset, name=name).convention_count
        off[preset] = (got - want) / want
    # torchvision's published figure, in its three decimals of GMACs.
    got = nncost.analyze(data, convention="torchvision", name=name).convention_count
    off["torchvision"] = (round(got / 1e9, 3) - ref["torchvision_published_gmacs"]) / ref["torchvision_published_gmacs"]
    # A training step as FlopCounterMode counts it.
    train = nncost.analyze(data, convention="torch", mode="train", name=name).convention_count
    off["torch train"] = (train - ref["torch_train"]) / ref["torch_train"]
    bad = {k: f"{v:+.3%}" for k, v in off.items() if abs(v) > 0.005}
    assert not bad, bad
