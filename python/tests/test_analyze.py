"""nncost.analyze from Python: the same numbers as the command line, in
Python's types, from a path, bytes or an onnx.ModelProto."""

import json
import time

import pytest

import nncost

# ResNet-18 (examples/resnet18.onnx, BatchNorm folded by the exporter):
# torchvision publishes 1.81 GFLOPS (its MACs) and 11.69 M params; the
# exact counts, checked in tests/torchvision.rs.
PARAMS = 11_684_712
MACS = 1_814_073_344
FLOPS = 3_632_838_144


def test_totals_are_integers_once_bound(resnet18):
    r = nncost.analyze(resnet18, dims={"batch": 1})
    assert (r.params, r.macs, r.flops, r.int_ops) == (PARAMS, MACS, FLOPS, 0)
    assert r.complete
    assert isinstance(r.macs, int)


def test_symbolic_counts_are_expressions(resnet18):
    r = nncost.analyze(resnet18)
    assert isinstance(r.flops, nncost.Expr)
    assert str(r.flops) == f"{FLOPS}*batch"
    assert r.flops.symbols == ["batch"]
    assert r.flops.evaluate(batch=8) == 8 * FLOPS
    assert r.params == PARAMS
    assert [s["name"] for s in r.symbols] == ["batch"]


def test_bytes_and_model_proto_give_the_same_report(resnet18):
    onnx = pytest.importorskip("onnx")
    by_path = nncost.analyze(resnet18, dims={"batch": 2})
    by_bytes = nncost.analyze(resnet18.read_bytes(), dims={"batch": 2})
    proto = onnx.load(str(resnet18), load_external_data=False)
    by_proto = nncost.analyze(proto, dims={"batch": 2})
    for r in (by_bytes, by_proto):
        assert (r.params, r.macs, r.flops) == (by_path.params, by_path.macs, by_path.flops)
    assert by_bytes.to_dict()["model"]["source"] == "<bytes>"


def test_nodes_groups_and_dict(resnet18):
    r = nncost.analyze(resnet18, dims={"batch": 1})
    assert len(r.nodes) == 49
    stem = r.nodes[0]
    assert (stem.name, stem.op_type, stem.module) == ("/conv1/Conv", "Conv", "conv1")
    assert (stem.params, stem.macs) == (9472, 118_013_952)
    assert stem.outputs[0]["shape"] == [1, 64, 112, 112]
    # Groups add up to the totals.
    assert sum(g["macs"] for g in r.by_op()) == MACS
    layers = r.by_module(1)
    assert sum(g["flops"] for g in layers) == FLOPS
    assert [g["module"] for g in layers][:4] == ["conv1", "relu", "maxpool", "layer1"]
    tree = r.module_tree(2)
    assert tree[3]["module"] == "layer1" and tree[4]["module"] == "layer1.0"
    d = r.to_dict()
    assert d["schema"] == "nncost.report" and d["totals"]["macs"] == MACS
    assert json.loads(r.to_json(by_op=True))["by_op"][0]["op_type"] == "Conv"


def test_module_classes_from_a_dynamo_export(fixtures):
    r = nncost.analyze(fixtures / "models" / "resnet18_dynamo_scopes.onnx")
    classes = {g["module"]: g["class"] for g in r.by_module(2)}
    assert classes["layer1.0"] == "BasicBlock"
    assert classes["bn1"] == "BatchNorm2d"
    assert "layer1.0 (BasicBlock)" in r.table(depth=2)


def test_text_formats(resnet18):
    r = nncost.analyze(resnet18, dims={"batch": 1})
    table = str(r)
    assert "params   11.68 M (11,684,712)" in table
    assert "MACs     1.81 G (1,814,073,344)" in table
    narrow = r.table(width=80)
    assert max(len(line) for line in narrow.splitlines()) <= 80
    assert "| /conv1/Conv |" in r.markdown()
    assert r.csv().splitlines()[1].startswith("1,/conv1/Conv,Conv,")
    page = r.html()
    assert page.startswith("<!DOCTYPE html>") and 'id="total-macs"' in page
    frame = r._repr_html_()
    assert frame.startswith("<iframe srcdoc=") and "&lt;!DOCTYPE html&gt;" in frame
    assert repr(r).startswith("<nncost.Report ")


def test_pandas(resnet18):
    pytest.importorskip("pandas")
    df = nncost.analyze(resnet18, dims={"batch": 1}, memory=True).to_pandas()
    assert len(df) == 49
    assert int(df["macs"].sum()) == MACS
    assert int(df.loc[0, "output_bytes"]) == 64 * 112 * 112 * 4


def test_memory_and_roofline(resnet18):
    r = nncost.analyze(resnet18, dims={"batch": 1}, hardware="h100", dtype="bf16")
    m = r.memory
    assert m["file_order"]["peak_bytes"] == 2 * 64 * 112 * 112 * 2
    assert r.roofline["hardware"]["id"] == "h100-sxm"
    assert r.roofline["seconds"] == pytest.approx(sum(n.time["seconds"] for n in r.nodes))


def test_inputs_and_network_descriptions(fixtures, tmp_path):
    net = tmp_path / "lenet.nn"
    net.write_text("input 1x32x32\nconv 6 k=5; tanh\navgpool 2\nflatten\nlinear 10\n")
    r = nncost.analyze(net, dims={"batch": 1})
    # conv: 6·(25 + 1) = 156 params; linear: 6·14·14·10 + 10 = 11,770.
    assert r.params == 156 + 11_770
    r = nncost.analyze(net, inputs={"input": "4x1x32x32"})
    assert r.nodes[0].outputs[0]["shape"] == [4, 6, 28, 28]


def test_errors_are_one_line_exceptions(resnet18, tmp_path):
    with pytest.raises(nncost.NncostError) as e:
        nncost.analyze(resnet18, dims={"bogus": 1})
    assert str(e.value) == (
        f"{resnet18}: --dim names 'bogus', but the model's symbols are: batch"
    )
    missing = tmp_path / "missing.onnx"
    with pytest.raises(nncost.NncostError, match="missing.onnx"):
        nncost.analyze(missing)
    with pytest.raises(nncost.NncostError, match="not an ONNX model"):
        nncost.analyze(b"\x00\x01garbage")
    with pytest.raises(nncost.NncostError, match="the time needs numbers"):
        nncost.analyze(resnet18, hardware="h100")
    with pytest.raises(nncost.NncostError, match="not a built-in profile"):
        nncost.analyze(resnet18, dims={"batch": 1}, hardware="tpu9")
    with pytest.raises(TypeError):
        nncost.analyze(42)
    assert issubclass(nncost.NncostError, ValueError)


def test_resnet50_in_process_is_fast(fixtures):
    """The figure the issue asks for is measured by scripts/bench_python.py;
    here only that a call is not slow by orders of magnitude."""
    path = fixtures / "torchvision" / "resnet50.onnx"
    nncost.analyze(path, dims={"batch": 1}).params
    start = time.perf_counter()
    for _ in range(10):
        assert nncost.analyze(path, dims={"batch": 1}).macs == 4_089_184_256
    assert (time.perf_counter() - start) / 10 < 0.05
