//! The example networks in `examples/*.nn` against published figures and
//! against the ONNX exports of the same architectures
//! (`tests/fixtures/torchvision/`), counted by the same engine; the
//! language models against transformers' parameter counts.
//!
//! The exports fold BatchNormalization into the convolutions, so their
//! parameters are fewer than PyTorch's count (which the descriptions, with
//! BatchNorm kept, reproduce) and their FLOPs differ; their MACs, which
//! only convolutions and linear layers have, must be equal node for node.

use std::path::PathBuf;

use nncost_core::report::NodeStatus;
use nncost_core::{analyze, AnalysisOptions, Report};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn batch_one() -> AnalysisOptions {
    AnalysisOptions {
        dims: vec![("batch".into(), 1)],
        ..AnalysisOptions::default()
    }
}

fn described(name: &str) -> Report {
    let path = root().join("examples").join(format!("{name}.nn"));
    let graph = nncost_netdesc::read_file(&path).unwrap_or_else(|e| panic!("{e}"));
    let report = analyze(&graph, &batch_one()).unwrap_or_else(|e| panic!("{name}: {e}"));
    for n in &report.nodes {
        assert_eq!(n.status, NodeStatus::Counted, "{name}: {}", n.name);
    }
    report
}

fn exported(name: &str) -> Report {
    let path = root()
        .join("tests/fixtures/torchvision")
        .join(format!("{name}.onnx"));
    let model = nncost_onnx::read_file(&path).unwrap_or_else(|e| panic!("{e}"));
    analyze(&model.graph, &batch_one()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn int(p: &nncost_core::Poly) -> i128 {
    p.as_constant().expect("a number once batch is bound")
}

/// MACs of the nodes that have any, in order.
fn macs_by_node(r: &Report) -> Vec<(String, i128)> {
    r.nodes
        .iter()
        .filter_map(|n| {
            let m = int(n.macs()?);
            (m > 0).then(|| (n.op_type.to_string(), m))
        })
        .collect()
}

/// Published parameters and MACs, and agreement with the ONNX export.
fn check(name: &str, onnx: &str, params: u64, macs: i128, same_flops: bool) {
    let d = described(name);
    assert_eq!(d.totals.params, params, "{name} params");
    assert_eq!(int(&d.totals.cost.macs), macs, "{name} MACs");
    let e = exported(onnx);
    assert_eq!(int(&e.totals.cost.macs), macs, "{onnx}.onnx MACs");
    // Node for node: the same convolutions and linear layers in the same order.
    let ours: Vec<i128> = macs_by_node(&d).into_iter().map(|(_, m)| m).collect();
    let theirs: Vec<i128> = macs_by_node(&e).into_iter().map(|(_, m)| m).collect();
    assert_eq!(ours, theirs, "{name}: MACs node by node");
    if same_flops {
        assert_eq!(
            int(&d.totals.cost.flops),
            int(&e.totals.cost.flops),
            "{name} FLOPs"
        );
        assert_eq!(
            d.totals.params, e.totals.params,
            "{name} params in the file"
        );
    }
}

/// VGG-16: torchvision's 138,357,544 parameters and 15.47 GMACs (exactly
/// 15,470,264,320). No BatchNorm: FLOPs equal the export's too.
#[test]
fn vgg16() {
    check("vgg16", "vgg16", 138_357_544, 15_470_264_320, true);
}

/// AlexNet (torchvision's variant): 61,100,840 parameters, 0.714 GMACs.
#[test]
fn alexnet() {
    check("alexnet", "alexnet", 61_100_840, 714_188_480, true);
}

/// ResNet-18 with BatchNorm as separate layers: PyTorch's 11,689,512
/// parameters (the folded export holds 11,684,712) and 1.814 GMACs.
#[test]
fn resnet18() {
    check("resnet18", "resnet18", 11_689_512, 1_814_073_344, false);
    let d = described("resnet18");
    assert_eq!(d.totals.buffers, 9_600, "running mean and variance");
    assert_eq!(exported("resnet18").totals.params, 11_684_712);
}

/// MobileNetV2: 3,504,872 parameters and 300,774,272 MACs.
#[test]
fn mobilenet_v2() {
    check(
        "mobilenet_v2",
        "mobilenet_v2",
        3_504_872,
        300_774_272,
        false,
    );
    assert_eq!(described("mobilenet_v2").totals.buffers, 34_112);
}

/// LeNet-5 by hand: C1 (25 + 1)·6, C3 (150 + 1)·16, C5 (400 + 1)·120, F6
/// (120 + 1)·84, output (84 + 1)·10 parameters; MACs 28²·6·25 + 10²·16·150
/// + 120·400 + 120·84 + 84·10.
#[test]
fn lenet5() {
    let d = described("lenet5");
    let params = 26 * 6 + 151 * 16 + 401 * 120 + 121 * 84 + 85 * 10;
    assert_eq!(params, 61_706);
    assert_eq!(d.totals.params, params);
    let macs = 28 * 28 * 6 * 25 + 10 * 10 * 16 * 150 + 120 * 400 + 120 * 84 + 84 * 10;
    assert_eq!(macs, 416_520);
    assert_eq!(int(&d.totals.cost.macs), macs);
    assert_eq!(
        nncost_core::shape::format_shape(d.outputs[0].shape.as_deref().unwrap()),
        "1x10"
    );
}

/// Llama 2 7B: transformers' LlamaForCausalLM with its configuration
/// (vocab 32000, width 4096, 32 layers of 32 heads, MLP 11008, untied
/// output) has 6,738,415,616 parameters (`sum(p.numel())`, torch 2.15,
/// transformers 5.24). MACs on 4,096 tokens by hand: per token and layer
/// the four projections 4·4096² and the MLP 3·4096·11008, the output layer
/// 4096·32000; per layer and head the causal scores 4096·4097/2, each a
/// Q·Kᵀ and a P·V product of 128.
#[test]
fn llama2_7b() {
    let d = described("llama2_7b");
    assert_eq!(d.totals.params, 6_738_415_616);
    let (l, w): (i128, i128) = (4096, 4096);
    let per_token = 32 * (4 * w * w + 3 * w * 11_008) + w * 32_000;
    let attention = 32 * 32 * (l * (l + 1) / 2) * (128 + 128);
    assert_eq!(int(&d.totals.cost.macs), l * per_token + attention);
    assert_eq!(int(&d.totals.cost.macs), 29_262_149_058_560);
}

/// Mistral 7B: transformers' MistralForCausalLM with its configuration (8
/// key/value heads, MLP 14336, sliding window 4096) has 7,241,732,096
/// parameters. On 8,192 tokens each query sees min(i, 4096) keys: per head
/// 4096·4097/2 + (8192 − 4096)·4096 scores.
#[test]
fn mistral_7b() {
    let d = described("mistral_7b");
    assert_eq!(d.totals.params, 7_241_732_096);
    let (l, w, kv): (i128, i128, i128) = (8192, 4096, 1024);
    let per_token = 32 * (w * (2 * w + 2 * kv) + 3 * w * 14_336) + w * 32_000;
    let scores = 4096 * 4097 / 2 + (l - 4096) * 4096;
    let attention = 32 * 32 * scores * (128 + 128);
    assert_eq!(int(&d.totals.cost.macs), l * per_token + attention);
}

/// Mixtral 8x7B: transformers' MixtralForCausalLM with its configuration (8
/// experts of 14336, top 2) has 46,702,792,704 parameters. MACs on 4,096
/// tokens by hand: per token and layer the four projections, the router
/// 4096·8 and 2 of the 8 experts, 3·4096·14336 each; the causal scores as
/// Llama's.
#[test]
fn mixtral_8x7b() {
    let d = described("mixtral_8x7b");
    assert_eq!(d.totals.params, 46_702_792_704);
    let (l, w, kv): (i128, i128, i128) = (4096, 4096, 1024);
    let per_token = 32 * (w * (2 * w + 2 * kv) + w * 8 + 2 * 3 * w * 14_336) + w * 32_000;
    let attention = 32 * 32 * (l * (l + 1) / 2) * (128 + 128);
    assert_eq!(int(&d.totals.cost.macs), l * per_token + attention);
}

/// Every example's first line is a comment saying what it is, and it is
/// counted without any node left out.
#[test]
fn every_example_is_documented_and_counts() {
    let dir = root().join("examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("nn") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# "), "{}", path.display());
        let name = path.file_stem().unwrap().to_str().unwrap();
        let r = described(name);
        assert!(r.unsupported.is_empty());
        seen += 1;
    }
    assert!(seen >= 8, "{seen} examples");
}
