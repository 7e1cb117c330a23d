//! End-to-end shape computations as PyTorch exporters write them:
//! `Shape → Gather → Unsqueeze → Concat → Reshape/Expand/Range`, run through
//! the whole analysis on hand-built multi-node graphs.

use super::testutil::{ints_attr, tensor_attr, GraphBuilder};
use crate::graph::{AttrValue, DType, TensorData};

/// `y.view(x.size(0), -1)`: x [batch, 3, 224, 224], y [batch, 512, 1, 1].
/// Shape(x) = [batch, 3, 224, 224]; Gather 0 → batch; Unsqueeze → [batch];
/// Concat with [-1] → [batch, -1]; Reshape(y) → [batch, 512·batch/batch]
/// = [batch, 512].
#[test]
fn view_batch_minus_one() {
    for opset in [11, 13] {
        let mut g = GraphBuilder::new();
        g.input("x", &["batch", "3", "224", "224"])
            .input("y", &["batch", "512", "1", "1"])
            .ints("zero", &[], &[0])
            .ints("minus_one", &[1], &[-1])
            .ints("axes0", &[1], &[0])
            .node("Shape", &["x"], &["s"], &[])
            .node(
                "Gather",
                &["s", "zero"],
                &["b"],
                &[("axis", AttrValue::Int(0))],
            );
        if opset < 13 {
            g.node("Unsqueeze", &["b"], &["b1"], &[("axes", ints_attr(&[0]))]);
        } else {
            g.node("Unsqueeze", &["b", "axes0"], &["b1"], &[]);
        }
        g.node(
            "Concat",
            &["b1", "minus_one"],
            &["t"],
            &[("axis", AttrValue::Int(0))],
        )
        .node("Reshape", &["y", "t"], &["out"], &[]);
        let r = g.run(opset);
        assert_eq!(r.shape("s"), "4");
        assert_eq!(r.shape("b"), "scalar");
        assert_eq!(r.shape("t"), "2");
        assert_eq!(r.shape("out"), "batchx512", "opset {opset}");
        assert!(r.all_counted(), "{:?}", r.statuses());
        assert!(r.report.totals.cost.flops.is_zero());
    }
}

/// A Flatten-free ResNet head as old exporters wrote it, with Constant
/// nodes: pooled [batch, 512, 1, 1] → Reshape(pooled, Concat(Unsqueeze(
/// Gather(Shape(pooled), 0)), [-1])) → [batch, 512]; the shape passes
/// through a Cast to int64 on the way.
#[test]
fn resnet_head_without_flatten() {
    let idx = tensor_attr(DType::I64, &[], TensorData::Ints(vec![0]));
    let r = GraphBuilder::new()
        .input("pooled", &["batch", "512", "1", "1"])
        .node("Constant", &[], &["i0"], &[("value", idx)])
        .node(
            "Constant",
            &[],
            &["m1"],
            &[("value_ints", ints_attr(&[-1]))],
        )
        .node("Shape", &["pooled"], &["s"], &[])
        .node("Gather", &["s", "i0"], &["b"], &[])
        .node("Unsqueeze", &["b"], &["b1"], &[("axes", ints_attr(&[0]))])
        .node(
            "Concat",
            &["b1", "m1"],
            &["t"],
            &[("axis", AttrValue::Int(0))],
        )
        .node("Cast", &["t"], &["t64"], &[("to", AttrValue::Int(7))])
        .node("Reshape", &["pooled", "t64"], &["flat"], &[])
        .run(9);
    assert_eq!(r.shape("flat"), "batchx512");
    assert!(r.all_counted(), "{:?}", r.statuses());
}

/// Attention head split: x [batch, seq, 768]; Shape → Gather 0 and 1 →
/// Unsqueeze → Concat with [12, 64] → Reshape → [batch, seq, 12, 64];
/// Transpose [0, 2, 1, 3] → [batch, 12, seq, 64]. Then merged back with
/// Shape → Slice [0:2] → Concat [-1] → Reshape → [batch, seq, 768].
#[test]
fn attention_heads_reshape() {
    let r = GraphBuilder::new()
        .input("x", &["batch", "seq", "768"])
        .ints("zero", &[], &[0])
        .ints("one", &[], &[1])
        .ints("axes0", &[1], &[0])
        .ints("heads", &[2], &[12, 64])
        .ints("s0", &[1], &[0])
        .ints("s2", &[1], &[2])
        .ints("m1", &[1], &[-1])
        .node("Shape", &["x"], &["s"], &[])
        .node("Gather", &["s", "zero"], &["b"], &[])
        .node("Gather", &["s", "one"], &["q"], &[])
        .node("Unsqueeze", &["b", "axes0"], &["b1"], &[])
        .node("Unsqueeze", &["q", "axes0"], &["q1"], &[])
        .node(
            "Concat",
            &["b1", "q1", "heads"],
            &["t"],
            &[("axis", AttrValue::Int(0))],
        )
        .node("Reshape", &["x", "t"], &["h"], &[])
        .node(
            "Transpose",
            &["h"],
            &["ht"],
            &[("perm", ints_attr(&[0, 2, 1, 3]))],
        )
        .node("Shape", &["h"], &["hs"], &[])
        .node("Slice", &["hs", "s0", "s2"], &["bs"], &[])
        .node(
            "Concat",
            &["bs", "m1"],
            &["t2"],
            &[("axis", AttrValue::Int(0))],
        )
        .node("Reshape", &["h", "t2"], &["merged"], &[])
        .run(13);
    assert_eq!(r.shape("t"), "4");
    assert_eq!(r.shape("h"), "batchxseqx12x64");
    assert_eq!(r.shape("ht"), "batchx12xseqx64");
    assert_eq!(r.shape("bs"), "2");
    assert_eq!(r.shape("merged"), "batchxseqx768");
    assert!(r.all_counted(), "{:?}", r.statuses());
}

/// A ViT class token: cls [1, 1, 768] expanded to [batch, 1, 768] by a
/// symbolic shape built from x [batch, 196, 768], then concatenated with x
/// → [batch, 197, 768]. The token counts 768 parameters.
#[test]
fn expand_with_symbolic_shape() {
    let r = GraphBuilder::new()
        .input("x", &["batch", "196", "768"])
        .weight("cls", &[1, 1, 768])
        .ints("zero", &[1], &[0])
        .ints("rest", &[2], &[1, 768])
        .node("Shape", &["x"], &["s"], &[])
        .node("Gather", &["s", "zero"], &["b1"], &[])
        .node(
            "Concat",
            &["b1", "rest"],
            &["t"],
            &[("axis", AttrValue::Int(0))],
        )
        .node("Expand", &["cls", "t"], &["tok"], &[])
        .node(
            "Concat",
            &["tok", "x"],
            &["seq"],
            &[("axis", AttrValue::Int(1))],
        )
        .run(13);
    assert_eq!(r.shape("b1"), "1");
    assert_eq!(r.shape("tok"), "batchx1x768");
    assert_eq!(r.shape("seq"), "batchx197x768");
    assert_eq!(r.report.totals.params, 768);
    assert!(r.all_counted(), "{:?}", r.statuses());
}

/// Position ids: Range(0, seq, 1) with seq from Shape(ids) → [seq];
/// Unsqueeze → [1, seq]; Expand to Shape(ids) → [batch, seq]. With delta 2
/// the length ⌈seq/2⌉ is not a polynomial: unknown, no crash.
/// ConstantOfShape(Shape(ids)) → [batch, seq].
#[test]
fn range_and_constant_of_shape() {
    let r = GraphBuilder::new()
        .input("ids", &["batch", "seq"])
        .ints("zero", &[], &[0])
        .ints("one", &[], &[1])
        .ints("two", &[], &[2])
        .ints("axes0", &[1], &[0])
        .node("Shape", &["ids"], &["s"], &[])
        .node("Gather", &["s", "one"], &["len"], &[])
        .node("Range", &["zero", "len", "one"], &["pos"], &[])
        .node("Unsqueeze", &["pos", "axes0"], &["pos1"], &[])
        .node("Expand", &["pos1", "s"], &["pos_ids"], &[])
        .node("Range", &["zero", "len", "two"], &["half"], &[])
        .node("ConstantOfShape", &["s"], &["mask"], &[])
        .run(13);
    assert_eq!(r.shape("pos"), "seq");
    assert_eq!(r.shape("pos1"), "1xseq");
    assert_eq!(r.shape("pos_ids"), "batchxseq");
    assert_eq!(r.shape("half"), "ceil(seq/2)");
    assert_eq!(r.shape("mask"), "batchxseq");
    assert!(r.all_counted(), "{:?}", r.statuses());
}

/// When a shape value is lost (here: the target comes from a graph input
/// whose elements cannot be known), the Reshape that needs it is flagged
/// as data dependent and keeps the rank.
#[test]
fn lost_shape_value_is_flagged_at_its_consumer() {
    let mut g = GraphBuilder::new();
    g.input("x", &["2", "3", "4"])
        .node("Reshape", &["x", "target"], &["y"], &[]);
    // 'target' is an int64 graph input of shape [2].
    g.input("target", &["2"]);
    let r = g.run(13);
    assert_eq!(r.shape("y"), "Reshape_y_ax0xReshape_y_ax1");
    let (_, status) = &r.statuses()[0];
    assert!(
        matches!(status, crate::report::NodeStatus::Incomplete { reason: m, .. } if m.contains("target shape"))
    );
}

/// Range expanded as ONNX's function body writes it: the trip count
/// `Cast(Relu(Ceil(Cast(limit − start) / Cast(delta))), to = int64)` from
/// scalar initializers of dtype `dtype` (given as raw little-endian bytes),
/// then `Range(0, n, 1)` so that the count shows as a length.
fn float_trip_count(dtype: DType, start: &[u8], limit: &[u8], delta: &[u8]) -> String {
    let raw = |b: &[u8]| TensorData::Raw(bytes::Bytes::copy_from_slice(b));
    let mut g = GraphBuilder::new();
    g.init("start", dtype, &[], raw(start))
        .init("limit", dtype, &[], raw(limit))
        .init("delta", dtype, &[], raw(delta))
        .ints("zero", &[], &[0])
        .ints("one", &[], &[1])
        .node("Sub", &["limit", "start"], &["diff"], &[])
        .node("Cast", &["diff"], &["diff_f"], &[("to", AttrValue::Int(1))])
        .node(
            "Cast",
            &["delta"],
            &["delta_f"],
            &[("to", AttrValue::Int(1))],
        )
        .node("Div", &["diff_f", "delta_f"], &["q"], &[])
        .node("Ceil", &["q"], &["c"], &[])
        .node("Relu", &["c"], &["r"], &[])
        .node("Cast", &["r"], &["n"], &[("to", AttrValue::Int(7))])
        .node("Range", &["zero", "n", "one"], &["seq"], &[]);
    let r = g.run(13);
    assert!(r.all_counted(), "{:?}", r.statuses());
    r.shape("seq")
}

/// Worked by hand: ⌈(5.0 − 1.0)/1.5⌉ = ⌈2.67⌉ = 3 in float32, float16
/// (1.0 = 0x3C00, 1.5 = 0x3E00, 5.0 = 0x4500), bfloat16 (0x3F80, 0x3FC0,
/// 0x40A0) and float64; int32 with a negative delta: ⌈(4 − 10)/−3⌉ = 2;
/// an empty range: ⌈(1.0 − 5.0)/1.5⌉ = −2, Relu → 0.
#[test]
fn float_trip_count_resolves() {
    let f32b = |x: f32| x.to_le_bytes().to_vec();
    let f64b = |x: f64| x.to_le_bytes().to_vec();
    let h = |x: u16| x.to_le_bytes().to_vec();
    let i32b = |x: i32| x.to_le_bytes().to_vec();
    assert_eq!(
        float_trip_count(DType::F32, &f32b(1.0), &f32b(5.0), &f32b(1.5)),
        "3"
    );
    assert_eq!(
        float_trip_count(DType::F64, &f64b(1.0), &f64b(5.0), &f64b(1.5)),
        "3"
    );
    assert_eq!(
        float_trip_count(DType::F16, &h(0x3C00), &h(0x4500), &h(0x3E00)),
        "3"
    );
    assert_eq!(
        float_trip_count(DType::BF16, &h(0x3F80), &h(0x40A0), &h(0x3FC0)),
        "3"
    );
    assert_eq!(
        float_trip_count(DType::I32, &i32b(10), &i32b(4), &i32b(-3)),
        "2"
    );
    assert_eq!(
        float_trip_count(DType::F32, &f32b(5.0), &f32b(1.0), &f32b(1.5)),
        "0"
    );
}

/// A zero delta divides by zero: the quotient is ±∞, which is not
/// tracked, so the count stays unknown (and nothing panics).
#[test]
fn float_division_by_zero_is_unknown() {
    let f32b = |x: f32| x.to_le_bytes().to_vec();
    let mut g = GraphBuilder::new();
    g.init(
        "a",
        DType::F32,
        &[],
        TensorData::Raw(bytes::Bytes::from(f32b(4.0))),
    )
    .init(
        "z",
        DType::F32,
        &[],
        TensorData::Raw(bytes::Bytes::from(f32b(0.0))),
    )
    .ints("zero", &[], &[0])
    .ints("one", &[], &[1])
    .node("Div", &["a", "z"], &["q"], &[])
    .node("Cast", &["q"], &["n"], &[("to", AttrValue::Int(7))])
    .node("Range", &["zero", "n", "one"], &["seq"], &[]);
    let r = g.run(13);
    assert_eq!(r.shape("seq"), "Range_seq_ax0");
}

/// Every operator of this family is registered once, by this family only.
#[test]
fn ops_are_registered_once() {
    for def in super::OPS {
        let n = crate::ops::all_ops()
            .filter(|d| d.op_type == def.op_type && d.domain == def.domain)
            .count();
        assert_eq!(n, 1, "{} is registered {n} times", def.op_type);
        assert!(crate::ops::lookup(def.domain, def.op_type).is_some());
    }
}

/// torchvision's `keep[:k]` after NonMaxSuppression: a Slice to 1000 of an
/// axis whose length n depends on data keeps min(n, 1000), never 1000
/// (onnxruntime: 424 of 424 proposals). Reversed, `[::-1]` of it keeps all
/// n; `[2:]` keeps n − min(n, 2). Bound, each is a number.
#[test]
fn slices_of_data_dependent_axes_clamp_exactly() {
    let mut g = GraphBuilder::new();
    g.input("scores", &["5000"])
        .ints("zero", &[1], &[0])
        .ints("two", &[1], &[2])
        .ints("k", &[1], &[1000])
        .ints("one", &[1], &[1])
        .ints("big", &[1], &[i64::MAX])
        .ints("minus_one", &[1], &[-1])
        .ints("min", &[1], &[i64::MIN])
        .node("NonZero", &["scores"], &["idx"], &[])
        .node("Slice", &["idx", "zero", "k", "one"], &["keep"], &[])
        .node(
            "Slice",
            &["idx", "minus_one", "min", "one", "minus_one"],
            &["rev"],
            &[],
        )
        .node("Slice", &["idx", "two", "big", "one"], &["tail"], &[]);
    let r = g.run(13);
    assert_eq!(r.shape("idx"), "1xNonZero_idx");
    assert_eq!(r.shape("keep"), "1xmin(NonZero_idx, 1000)");
    assert_eq!(r.shape("rev"), "1xNonZero_idx");
    assert_eq!(r.shape("tail"), "1x(NonZero_idx - min(NonZero_idx, 2))");
    let r = g.run_bound(13, &[("NonZero_idx", 424)]);
    assert_eq!(
        (r.shape("keep"), r.shape("tail")),
        ("1x424".into(), "1x422".into())
    );
    let r = g.run_bound(13, &[("NonZero_idx", 4242)]);
    assert_eq!(r.shape("keep"), "1x1000");
}
