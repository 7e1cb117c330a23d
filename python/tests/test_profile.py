"""nncost.profile on PyTorch modules (random weights): the counts of the
exported graph against PyTorch's own, and the module hierarchy."""

import pytest

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")
pytest.importorskip("onnxscript")

import nncost  # noqa: E402


def flop_counter_macs(module, args):
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(*args)
    return counter.get_total_flops() // 2


@pytest.fixture(scope="module")
def resnet18():
    torch.manual_seed(0)
    return torchvision.models.resnet18(weights=None).eval()


def test_resnet18_matches_pytorch(resnet18):
    x = torch.randn(2, 3, 224, 224)
    r = nncost.profile(resnet18, (x,))
    assert r.params == sum(p.numel() for p in resnet18.parameters()) == 11_689_512
    # BatchNorm's running statistics are buffers.
    assert r.buffers == 2 * 4_800
    assert r.macs == flop_counter_macs(resnet18, (x,)) == 2 * 1_814_073_344
    assert r.export_seconds > 0 and r.analysis_seconds > 0
    assert r.to_dict()["model"]["source"] == "<ResNet>"
    stem = next(n for n in r.nodes if n.op_type == "Conv")
    assert (stem.module, stem.module_class) == ("conv1", "Conv2d")
    blocks = {g["module"]: g["class"] for g in r.by_module(2)}
    assert blocks["layer1.0"] == "BasicBlock" and blocks["layer4.1"] == "BasicBlock"
    assert "layer1.0 (BasicBlock)" in r.table(depth=2)


def test_dynamic_batch_stays_symbolic(resnet18):
    x = torch.randn(2, 3, 224, 224)
    batch = torch.export.Dim("batch", min=1, max=1024)
    r = nncost.profile(resnet18, (x,), dynamic_shapes=({0: batch},))
    assert str(r.macs) == "1814073344*batch"
    assert r.macs.evaluate(batch=3) == 3 * 1_814_073_344


def test_module_with_keyword_arguments():
    class Scale(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = torch.nn.Linear(16, 8)

        def forward(self, x, *, scale):
            return self.proj(x) * scale

    r = nncost.profile(Scale(), (torch.randn(4, 16),), {"scale": torch.tensor(2.0)})
    assert r.params == 16 * 8 + 8
    assert r.macs == 4 * 16 * 8
    assert any(n.module == "proj" and n.module_class == "Linear" for n in r.nodes)


def test_torchscript_exporter():
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU())
    r = nncost.profile(model, torch.randn(1, 3, 16, 16), exporter="torchscript")
    assert r.params == 3 * 8 * 9 + 8
    assert r.macs == 8 * 14 * 14 * 27


def test_timm_model():
    timm = pytest.importorskip("timm")
    model = timm.create_model("resnet10t", pretrained=False, num_classes=10).eval()
    x = torch.randn(2, 3, 64, 64)
    r = nncost.profile(model, (x,))
    assert r.complete
    assert r.params == sum(p.numel() for p in model.parameters())
    assert r.macs == flop_counter_macs(model, (x,))


def test_transformers_bert(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    transformers = pytest.importorskip("transformers")
    config = transformers.BertConfig(
        vocab_size=1000,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=256,
        max_position_embeddings=128,
    )
    torch.manual_seed(0)
    model = transformers.BertModel(config).eval()
    ids = torch.randint(0, 1000, (2, 16))
    r = nncost.profile(model, (ids,))
    assert r.complete
    assert r.params == sum(p.numel() for p in model.parameters())
    # Every matrix product counted, the attention's two included: PyTorch's
    # counter agrees exactly.
    assert r.macs == flop_counter_macs(model, (ids,))
    # A ModuleList is never called, so it is no level of its own:
    # encoder.layer.0 is the encoder's child.
    layers = {g["module"]: g["class"] for g in r.by_module(2)}
    assert layers["encoder.layer.0"] == "BertLayer"
    assert layers["pooler.dense"] == "Linear"


def flop_counter_train(module, args):
    """FlopCounterMode's FLOPs of a forward and backward pass (eval mode:
    BatchNorm on running statistics, no dropout)."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        module(*args).sum().backward()
    module.zero_grad(set_to_none=True)
    return counter.get_total_flops()


def test_training_matches_pytorch_forward_and_backward(resnet18):
    x = torch.randn(2, 3, 224, 224)
    r = nncost.profile(resnet18, (x,), mode="train")
    t = r.training
    # Every conv and linear again for the weight gradient, and for the
    # input gradient except the stem's (the image needs none).
    assert t["total"]["macs"] == 3 * r.macs - 2 * 118_013_952
    assert 2 * t["total"]["macs"] == flop_counter_train(resnet18, (x,))
    # Frozen parameters need no weight gradient, and nothing before the
    # first trainable one needs an input gradient.
    for name, p in resnet18.named_parameters():
        p.requires_grad = not name.startswith(("conv1.", "bn1.", "layer1."))
    try:
        frozen = nncost.profile(resnet18, (x,), mode="train")
        assert 2 * frozen.training["total"]["macs"] == flop_counter_train(resnet18, (x,))
        assert "conv1.weight" in frozen.training["frozen"]
    finally:
        for p in resnet18.parameters():
            p.requires_grad = True
