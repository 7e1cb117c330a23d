//! nncost on models made by onnxruntime's own quantizers.
//!
//! `scripts/make_quantized_fixtures.py` builds two small float models with
//! random weights (a CNN and an MLP, described there), quantizes them with
//! `quantize_static` (QOperator and QDQ formats), `quantize_dynamic` and the
//! 4-bit `MatMulNBitsQuantizer`, and strips the weight bytes. Each test checks
//! one file against figures derived by hand in its comment: every node
//! counted; integer multiply–accumulates reported as MACs and integer
//! operations, never as FLOPs; parameters in elements with bytes by the
//! stored dtype.
//!
//! The float CNN, per sample: conv1 3→16, 3×3, pad 1 on 32×32: 16,384
//! outputs × 27 = 442,368 MACs; conv2 16→32, 3×3, stride 2: 8,192 outputs ×
//! 144 = 1,179,648; the head 32→10: 320. MACs 1,622,336. Parameters 432 +
//! 16 + 4,608 + 32 + 320 + 10 = 5,418.
//!
//! The float MLP, per token: 64→128→64, MACs 8,192 + 8,192 = 16,384;
//! parameters 8,192 + 128 + 8,192 + 64 = 16,576 (66,304 bytes in float32).

use std::path::Path;

use nncost_core::report::NodeStatus;
use nncost_core::{analyze, AnalysisOptions, Report};

fn analyse(name: &str) -> Report {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/quantized")
        .join(format!("{name}.onnx"));
    let model = nncost_onnx::read_file(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    let report = analyze(&model.graph, &AnalysisOptions::default()).expect("analysis runs");
    assert!(
        report.unsupported.is_empty(),
        "{name}: {:?}",
        report.unsupported
    );
    for n in &report.nodes {
        assert_eq!(n.status, NodeStatus::Counted, "{name}: node {}", n.name);
    }
    report
}

/// The totals as strings: (MACs, FLOPs, integer ops), `batch` (and `seq`)
/// left free.
fn costs(r: &Report) -> (String, String, String) {
    let t = &r.totals;
    (
        t.cost.macs.to_string(),
        t.cost.flops.to_string(),
        t.cost.int_ops.to_string(),
    )
}

fn op_int_ops(r: &Report, op: &str) -> Vec<String> {
    r.nodes
        .iter()
        .filter(|n| n.op_type == op)
        .map(|n| n.int_ops().expect("counted").to_string())
        .collect()
}

/// QOperator: QLinearConv ×2, QLinearGlobalAveragePool, QGemm. Integer ops:
/// conv1 2·442,368 = 884,736 and conv2 2·1,179,648 = 2,359,296 (each with
/// its int32 bias: 2·MACs), the head 10·63 + 10 = 640: 3,244,672 per sample.
/// FLOPs: quantize x 5·3,072 = 15,360; requantize conv1 5·16,384 = 81,920,
/// conv2 5·8,192 = 40,960; the pool dequantizes 2·8,192, averages 256 per
/// output ·32 and requantizes 5·32: 24,736; QGemm requantizes 5·10 = 50;
/// dequantizing y 2·10 = 20. Total 163,046 per sample. Weights int8 (432 +
/// 4,608 + 320 = 5,360 bytes), biases int32 (58 · 4 = 232 bytes).
#[test]
fn static_qoperator() {
    let r = analyse("cnn_qoperator");
    assert_eq!(
        costs(&r),
        (
            "1622336*batch".into(),
            "163046*batch".into(),
            "3244672*batch".into()
        )
    );
    assert_eq!(
        op_int_ops(&r, "QLinearConv"),
        ["884736*batch", "2359296*batch"]
    );
    assert_eq!(op_int_ops(&r, "QGemm"), ["640*batch"]);
    assert_eq!((r.totals.params, r.totals.param_bytes), (5418, 5592));
}

/// QDQ: the float Conv/Gemm between QuantizeLinear/DequantizeLinear pairs
/// (the quantizer fused each Relu into the quantization that follows).
/// Counted as written: float MACs, no integer ops. FLOPs per sample: Q/DQ of
/// x 5·3,072 + 2·3,072; conv1 with bias 2·442,368; Q/DQ 7·16,384; conv2
/// 2·1,179,648; Q/DQ 7·8,192; the pool 8,192; Q/DQ 7·32 twice; the head
/// 2·320; Q/DQ 7·10: 3,446,918. Dequantizing the weights once, 2 per
/// element: 2·(432 + 16 + 4,608 + 32 + 320 + 10) = 10,836, not per sample.
#[test]
fn static_qdq() {
    let r = analyse("cnn_qdq");
    assert_eq!(
        costs(&r),
        (
            "1622336*batch".into(),
            "3446918*batch + 10836".into(),
            "0".into()
        )
    );
    // The int8 weights and int32 biases read by DequantizeLinear.
    assert_eq!((r.totals.params, r.totals.param_bytes), (5418, 5592));
}

/// Dynamic: DynamicQuantizeLinear, then ConvInteger / MatMulInteger without
/// bias (the bias is a float Add): integer ops 2·MACs − outputs: conv1
/// 884,736 − 16,384 = 868,352; conv2 2,359,296 − 8,192 = 2,351,104; the
/// head 10·63 = 630: 3,220,086 per sample.
#[test]
fn dynamic_cnn() {
    let r = analyse("cnn_dynamic");
    assert_eq!(r.totals.cost.macs.to_string(), "1622336*batch");
    assert_eq!(r.totals.cost.int_ops.to_string(), "3220086*batch");
    assert_eq!(
        op_int_ops(&r, "ConvInteger"),
        ["868352*batch", "2351104*batch"]
    );
    assert_eq!(op_int_ops(&r, "MatMulInteger"), ["630*batch"]);
    assert_eq!(r.totals.params, 5418);
}

/// Dynamic MLP, per token (n = batch·seq): integer ops 128·127 = 16,256 and
/// 64·255 = 16,320. FLOPs: DynamicQuantizeLinear 7·64 + 7 and 7·128 + 7;
/// the scale products 1 + 1; rescaling, bias and Relu 128·3 and 64·2:
/// 1,856·n + 16. Weights int8 (16,384 bytes), biases float (192 · 4).
#[test]
fn dynamic_mlp() {
    let r = analyse("mlp_dynamic");
    assert_eq!(
        costs(&r),
        (
            "16384*batch*seq".into(),
            "1856*batch*seq + 16".into(),
            "32576*batch*seq".into()
        )
    );
    assert_eq!((r.totals.params, r.totals.param_bytes), (16_576, 17_152));
}

/// 4-bit MatMulNBits (block 32): the parameters are the float model's,
/// 16,576, and the bytes 128·2·16 + 64·4·16 = 8,192 for the packed weights
/// plus 768 for the float biases: 8,960, against 66,304 in float32. The
/// products are float (on dequantized weights): FLOPs per token 128·127 +
/// 128 (bias) + 128 (Relu) + 64·255 + 64 = 32,896, and dequantizing each
/// weight once per call 2·8,192 · 2 = 32,768.
#[test]
fn four_bit_weights() {
    let r = analyse("mlp_nbits");
    assert_eq!(
        costs(&r),
        (
            "16384*batch*seq".into(),
            "32896*batch*seq + 32768".into(),
            "0".into()
        )
    );
    assert_eq!((r.totals.params, r.totals.param_bytes), (16_576, 8_960));
}

/// The table shows an integer-operations column and total line for a
/// quantized model, and neither for a float one.
#[test]
fn table_shows_integer_ops_only_when_present() {
    let render = |name: &str| {
        let r = analyse(name);
        let info = nncost_render::ModelInfo {
            source: name.to_string(),
            ..Default::default()
        };
        let exact = nncost_render::TableOptions {
            exact: true,
            ..Default::default()
        };
        nncost_render::render_table(&r, &info, exact)
    };
    let quantized = render("cnn_qoperator");
    assert!(quantized.contains("int ops  3,244,672 × batch  (integer arithmetic"));
    assert!(quantized
        .lines()
        .any(|l| l.contains("FLOPs") && l.contains("int ops")));
    let float = render("mlp_nbits");
    assert!(!float.contains("int ops"), "{float}");
}
