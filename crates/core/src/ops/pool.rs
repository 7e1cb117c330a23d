//! Pooling: MaxPool, AveragePool, LpPool (sliding windows), their global
//! forms, MaxRoiPool, RoiAlign and MaxUnpool.
//!
//! Window geometry (kernel, strides, pads, `auto_pad`, dilations,
//! `ceil_mode`) comes from [`Window`]. The cost of a windowed pool counts
//! the full kernel, `k = ∏kernel_shape` taps, for every output, including
//! windows that overlap the padding (`count_include_pad` changes the
//! divisor, not the number of operations).

use super::window::{kernel_shape, Window};
use super::{product, NodeCtx, OpDef, OpError, Role, RuleResult};
use crate::graph::DType;
use crate::poly::Poly;
use crate::shape::{Dim, Shape};

pub const OPS: &[OpDef] = &[
    OpDef {
        op_type: "MaxPool",
        domain: "",
        rule: max_pool,
        roles: &[Role::Data],
        cost_doc: "FLOPs = (k − 1) comparisons per output, k = ∏kernel_shape; MACs 0",
    },
    OpDef {
        op_type: "AveragePool",
        domain: "",
        rule: average_pool,
        roles: &[Role::Data],
        cost_doc: "FLOPs = k per output (k − 1 additions + 1 division), k = ∏kernel_shape",
    },
    OpDef {
        op_type: "LpPool",
        domain: "",
        rule: lp_pool,
        roles: &[Role::Data],
        cost_doc: "FLOPs = 2k per output (k powers, k − 1 additions, 1 root), k = ∏kernel_shape",
    },
    OpDef {
        op_type: "GlobalAveragePool",
        domain: "",
        rule: global_average_pool,
        roles: &[Role::Data],
        cost_doc: "FLOPs = N·C·n (n − 1 additions + 1 division), n = ∏spatial",
    },
    OpDef {
        op_type: "GlobalMaxPool",
        domain: "",
        rule: global_max_pool,
        roles: &[Role::Data],
        cost_doc: "FLOPs = N·C·(n − 1) comparisons, n = ∏spatial",
    },
    OpDef {
        op_type: "GlobalLpPool",
        domain: "",
        rule: global_lp_pool,
        roles: &[Role::Data],
        cost_doc: "FLOPs = N·C·2n (n powers, n − 1 additions, 1 root), n = ∏spatial",
    },
    OpDef {
        op_type: "MaxRoiPool",
        domain: "",
        rule: max_roi_pool,
        roles: &[Role::Data, Role::Config],
        cost_doc: "output [num_rois, C, ph, pw]; comparisons depend on the ROI boxes (run-time values): not counted",
    },
    OpDef {
        op_type: "RoiAlign",
        domain: "",
        rule: roi_align,
        roles: &[Role::Data, Role::Config, Role::Config],
        cost_doc: "output [num_rois, C, oh, ow]; per output s² bilinear samples of 9 FLOPs, + s² (avg) or s² − 1 (max); s = sampling_ratio (0: adaptive, not counted)",
    },
    OpDef {
        op_type: "MaxUnpool",
        domain: "",
        rule: max_unpool,
        roles: &[Role::Data, Role::Data, Role::Config],
        cost_doc: "0 FLOPs (a scatter); output (in − 1)·stride + k − pads, or the output_shape input",
    },
];

/// Rejects an attribute that the node's opset does not define yet, when it
/// is set to something other than its later default (a harmless
/// `ceil_mode = 0` is accepted).
fn require_opset(ctx: &NodeCtx, attr: &str, since: i64, default: i64) -> RuleResult {
    let set = match ctx.attr_ints(attr) {
        Ok(Some(v)) => v.iter().any(|&x| x != default),
        Ok(None) => false,
        Err(_) => ctx.attr_int(attr, default)? != default,
    };
    if set && ctx.opset < since {
        return Err(OpError::Invalid(format!(
            "attribute '{attr}' of {} needs opset {since} or later (model uses opset {})",
            ctx.node.op_type, ctx.opset
        )));
    }
    Ok(())
}

/// A windowed pool's output, as set on output 0.
struct Pooled {
    /// Number of output elements, `N·C·∏out`.
    outputs: Poly,
    /// Kernel taps per output, `∏kernel_shape`.
    taps: Poly,
    shape: Shape,
}

/// Shared shape rule of MaxPool, AveragePool and LpPool: sets output 0 and
/// returns the output count and taps per window. `dilations_since` and
/// `ceil_since` are the opsets that introduced those attributes.
fn windowed(ctx: &mut NodeCtx, dilations_since: i64, ceil_since: i64) -> Result<Pooled, OpError> {
    let x = ctx.shape(0)?;
    if x.len() < 3 {
        return Err(OpError::Invalid(format!(
            "input has rank {}, pooling needs [N, C, spatial...] (rank ≥ 3)",
            x.len()
        )));
    }
    require_opset(ctx, "dilations", dilations_since, 1)?;
    require_opset(ctx, "ceil_mode", ceil_since, 0)?;
    let kernel = kernel_shape(ctx, None)?;
    if kernel.len() != x.len() - 2 {
        return Err(OpError::Invalid(format!(
            "kernel_shape has {} axes, input has {} spatial axes",
            kernel.len(),
            x.len() - 2
        )));
    }
    let window = Window::from_attrs(ctx, kernel)?;
    let mut out: Shape = x[..2].to_vec();
    for (i, d) in x[2..].iter().enumerate() {
        out.push(window.output_dim(i, d)?);
    }
    ctx.set_output(0, ctx.dtype(0), out.clone());
    let taps = product(
        &window
            .kernel
            .iter()
            .map(|&k| Poly::from(k))
            .collect::<Vec<_>>(),
    )?;
    let outputs = known_count(ctx, x, &out)?;
    Ok(Pooled {
        outputs,
        taps,
        shape: out,
    })
}

/// `∏out` when every output dim is known. An unknown output dim is either an
/// unknown input dim, or a symbolic size whose ⌊⌋/⌈⌉ is not a polynomial.
fn known_count(ctx: &NodeCtx, input: &[Dim], out: &[Dim]) -> Result<Poly, OpError> {
    if input.iter().any(|d| !d.is_known()) {
        return Err(ctx.unknown_input(0));
    }
    if let Some(i) = out.iter().position(|d| !d.is_known()) {
        return Err(OpError::DataDependent(format!(
            "output size on axis {i} is not a polynomial in the input's symbols \
             (floor/ceil of a symbolic size); bind the symbols to count this node"
        )));
    }
    let polys: Vec<&Poly> = out.iter().filter_map(Dim::poly).collect();
    Ok(product(polys)?)
}

/// MaxPool: `k − 1` comparisons per output (the maximum of `k` taps).
/// Dilations and `ceil_mode` exist from opset 10; `storage_order` (0 or 1)
/// only changes the index values of the optional second output `Indices`
/// (int64, same shape as `Y`).
fn max_pool(ctx: &mut NodeCtx) -> RuleResult {
    let storage_order = ctx.attr_int("storage_order", 0)?;
    if storage_order != 0 && storage_order != 1 {
        return Err(OpError::Invalid(format!(
            "storage_order must be 0 or 1, got {storage_order}"
        )));
    }
    let p = windowed(ctx, 10, 10)?;
    if ctx.num_outputs() > 1 {
        ctx.set_output(1, Some(DType::I64), p.shape.clone());
    }
    let per = p.taps.checked_sub(&Poly::constant(1))?;
    ctx.add_flops(&p.outputs.checked_mul(&per)?)
}

/// AveragePool: `k` FLOPs per output: `k − 1` additions and one division,
/// whether or not padded taps count in the divisor (`count_include_pad`).
/// Dilations exist from opset 19, `ceil_mode` from opset 10.
fn average_pool(ctx: &mut NodeCtx) -> RuleResult {
    let include_pad = ctx.attr_int("count_include_pad", 0)?;
    if include_pad != 0 && include_pad != 1 {
        return Err(OpError::Invalid(format!(
            "count_include_pad must be 0 or 1, got {include_pad}"
        )));
    }
    let p = windowed(ctx, 19, 10)?;
    ctx.add_flops(&p.outputs.checked_mul(&p.taps)?)
}

/// LpPool: `(Σ|x|^p)^(1/p)` over `k` taps: `k` powers, `k − 1` additions and
/// one root, `2k` FLOPs per output, whatever `p` is. Dilations and
/// `ceil_mode` exist from opset 18.
fn lp_pool(ctx: &mut NodeCtx) -> RuleResult {
    check_p(ctx)?;
    let p = windowed(ctx, 18, 18)?;
    ctx.add_flops(&p.outputs.checked_mul(&p.taps.checked_scale(2)?)?)
}

/// `p` is a float attribute in opset 1 and an integer from opset 2; either
/// way it must be positive.
fn check_p(ctx: &NodeCtx) -> RuleResult {
    let p = ctx.attr_float("p", 2.0)?;
    if !(p.is_finite() && p > 0.0) {
        return Err(OpError::Invalid(format!(
            "attribute 'p' must be positive, got {p}"
        )));
    }
    Ok(())
}

/// Global pools: `[N, C, spatial...] → [N, C, 1, ...]`; returns `N·C` and
/// `n = ∏spatial`.
fn global(ctx: &mut NodeCtx) -> Result<(Poly, Poly), OpError> {
    let x = ctx.shape(0)?;
    if x.len() < 2 {
        return Err(OpError::Invalid(format!(
            "input has rank {}, a global pool needs [N, C, ...]",
            x.len()
        )));
    }
    let mut out: Shape = x[..2].to_vec();
    out.resize(x.len(), Dim::int(1));
    ctx.set_output(0, ctx.dtype(0), out);
    let dims = ctx.known_shape(0)?;
    let planes = product(&dims[..2])?;
    let n = product(&dims[2..])?;
    Ok((planes, n))
}

/// GlobalAveragePool: per (N, C) plane of `n` elements, `n − 1` additions
/// and one division: `n` FLOPs.
fn global_average_pool(ctx: &mut NodeCtx) -> RuleResult {
    let (planes, n) = global(ctx)?;
    ctx.add_flops(&planes.checked_mul(&n)?)
}

/// GlobalMaxPool: `n − 1` comparisons per (N, C) plane.
fn global_max_pool(ctx: &mut NodeCtx) -> RuleResult {
    let (planes, n) = global(ctx)?;
    ctx.add_flops(&planes.checked_mul(&n.checked_sub(&Poly::constant(1))?)?)
}

/// GlobalLpPool: `n` powers, `n − 1` additions and one root per (N, C)
/// plane: `2n` FLOPs.
fn global_lp_pool(ctx: &mut NodeCtx) -> RuleResult {
    check_p(ctx)?;
    let (planes, n) = global(ctx)?;
    ctx.add_flops(&planes.checked_mul(&n.checked_scale(2)?)?)
}

/// MaxRoiPool: `X [N, C, H, W]`, `rois [num_rois, 5]` → `[num_rois, C, ph,
/// pw]` with `pooled_shape = [ph, pw]`. Each output bin is the maximum over
/// the part of its ROI it covers, whose size depends on the ROI coordinates
/// (run-time values): the shape is inferred, the cost is reported as data
/// dependent rather than guessed.
fn max_roi_pool(ctx: &mut NodeCtx) -> RuleResult {
    let x = ctx.shape(0)?;
    let rois = ctx.shape(1)?;
    if x.len() != 4 {
        return Err(OpError::Invalid(format!(
            "MaxRoiPool input must be [N, C, H, W], got rank {}",
            x.len()
        )));
    }
    if rois.len() != 2 || rois[1].as_i64().is_some_and(|d| d != 5) {
        return Err(OpError::Invalid(
            "MaxRoiPool rois must be [num_rois, 5] (batch index, x1, y1, x2, y2)".into(),
        ));
    }
    let pooled = match ctx.attr_ints("pooled_shape")? {
        Some(p) if p.len() == 2 && p.iter().all(|&v| v > 0) => p,
        Some(p) => {
            return Err(OpError::Invalid(format!(
                "attribute 'pooled_shape' must be two positive integers, got {p:?}"
            )))
        }
        None => {
            return Err(OpError::Invalid(
                "attribute 'pooled_shape' is required".into(),
            ))
        }
    };
    let scale = ctx.attr_float("spatial_scale", 1.0)?;
    if !(scale.is_finite() && scale > 0.0) {
        return Err(OpError::Invalid(format!(
            "attribute 'spatial_scale' must be positive, got {scale}"
        )));
    }
    let out = vec![
        rois[0].clone(),
        x[1].clone(),
        Dim::int(pooled[0]),
        Dim::int(pooled[1]),
    ];
    ctx.set_output(0, ctx.dtype(0), out);
    Err(OpError::DataDependent(
        "MaxRoiPool compares the elements inside each ROI bin, whose size depends on the \
         ROI coordinates (run-time values); shape inferred, cost not counted"
            .into(),
    ))
}

/// RoiAlign: `X [N, C, H, W]`, `rois [num_rois, 4]`, `batch_indices
/// [num_rois]` → `[num_rois, C, output_height, output_width]`. Each output
/// averages (or takes the max of) `s × s` bilinear samples, `s` =
/// `sampling_ratio`: `9·s²` for the samples (as Resize's bilinear), then
/// `s²` (`s² − 1` additions, a division) or `s² − 1` comparisons. The sample
/// positions and weights are shared by the channels and not counted. With
/// `sampling_ratio = 0` the grid adapts to each box's size (run-time
/// values): the shape is inferred, the cost is not counted.
fn roi_align(ctx: &mut NodeCtx) -> RuleResult {
    let x = ctx.shape(0)?;
    let rois = ctx.shape(1)?;
    if x.len() != 4 {
        return Err(OpError::Invalid(format!(
            "RoiAlign input must be [N, C, H, W], got rank {}",
            x.len()
        )));
    }
    if rois.len() != 2 || rois[1].as_i64().is_some_and(|d| d != 4) {
        return Err(OpError::Invalid(
            "RoiAlign rois must be [num_rois, 4] (x1, y1, x2, y2)".into(),
        ));
    }
    let oh = ctx.attr_int("output_height", 1)?;
    let ow = ctx.attr_int("output_width", 1)?;
    if oh < 1 || ow < 1 {
        return Err(OpError::Invalid(format!(
            "output_height {oh} and output_width {ow} must be positive"
        )));
    }
    let out = vec![rois[0].clone(), x[1].clone(), Dim::int(oh), Dim::int(ow)];
    let outputs = crate::shape::numel(&out)?;
    ctx.set_output(0, ctx.dtype(0), out);
    let s = ctx.attr_int("sampling_ratio", 0)?;
    if s <= 0 {
        return Err(OpError::DataDependent(
            "RoiAlign with sampling_ratio 0 samples each bin on a grid sized by its ROI \
             (run-time values); shape inferred, cost not counted"
                .into(),
        ));
    }
    let s2 = i128::from(s) * i128::from(s);
    let per = 9 * s2
        + if ctx.attr_str("mode")?.unwrap_or("avg") == "max" {
            s2 - 1
        } else {
            s2
        };
    let outputs = outputs.ok_or(OpError::UnknownInput {
        index: 1,
        name: "rois".into(),
    })?;
    ctx.add_flops(&outputs.checked_scale(per)?)
}

/// MaxUnpool: scatters `X` into a zero tensor; data movement, 0 FLOPs.
/// Output spatial size `(in − 1)·stride + k − pad_begin − pad_end`, unless
/// the optional `output_shape` input gives the whole shape. If that input's
/// value is not known, the output rank is kept with unknown dims and the
/// node is reported as data dependent (its cost would be 0 anyway).
fn max_unpool(ctx: &mut NodeCtx) -> RuleResult {
    let x = ctx.shape(0)?;
    if x.len() < 3 {
        return Err(OpError::Invalid(format!(
            "input has rank {}, MaxUnpool needs [N, C, spatial...] (rank ≥ 3)",
            x.len()
        )));
    }
    let kernel = kernel_shape(ctx, None)?;
    if kernel.len() != x.len() - 2 {
        return Err(OpError::Invalid(format!(
            "kernel_shape has {} axes, input has {} spatial axes",
            kernel.len(),
            x.len() - 2
        )));
    }
    let w = Window::from_attrs(ctx, kernel)?;
    let n = w.kernel.len();
    let out: Shape = if ctx.has_input(2) {
        match ctx.value(2).and_then(|v| v.as_ints()) {
            Some(dims) if dims.len() == x.len() => {
                if dims.iter().any(|d| d.as_i64().is_some_and(|v| v < 0)) {
                    return Err(OpError::Invalid(
                        "output_shape has a negative dimension".into(),
                    ));
                }
                dims.to_vec()
            }
            Some(dims) => {
                return Err(OpError::Invalid(format!(
                    "output_shape has {} entries for an input of rank {}",
                    dims.len(),
                    x.len()
                )))
            }
            None => {
                ctx.set_output(0, ctx.dtype(0), vec![Dim::Unknown; x.len()]);
                return Err(OpError::DataDependent(
                    "MaxUnpool output_shape is computed at run time, so the output size is unknown"
                        .into(),
                ));
            }
        }
    } else {
        let mut out: Shape = x[..2].to_vec();
        for (i, d) in x[2..].iter().enumerate() {
            let tail = w.kernel[i] as i128 - w.pads[i] as i128 - w.pads[i + n] as i128;
            let dim = match d.poly() {
                None => Dim::Unknown,
                Some(p) => {
                    let v = p
                        .checked_sub(&Poly::constant(1))?
                        .checked_scale(w.strides[i] as i128)?
                        .checked_add(&Poly::constant(tail))?;
                    if v.as_constant().is_some_and(|c| c < 0) {
                        return Err(OpError::Invalid(format!(
                            "MaxUnpool output size on spatial axis {i} would be negative ({v})"
                        )));
                    }
                    Dim::Known(v)
                }
            };
            out.push(dim);
        }
        out
    };
    ctx.set_output(0, ctx.dtype(0), out);
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::graph::DType;
    use crate::ops::testing::status_incomplete as incomplete;
    use crate::ops::testing::NodeTest;
    use crate::report::NodeStatus;

    /// ResNet's max pool: 1x64x112x112, k 3, s 2, pad 1:
    /// ⌊(112 + 2 − 3)/2⌋ + 1 = 56. FLOPs = 64·56·56·(9 − 1) = 1,605,632.
    #[test]
    fn resnet_max_pool() {
        let r = NodeTest::new("MaxPool")
            .input(&[1, 64, 112, 112])
            .ints_attr("kernel_shape", &[3, 3])
            .ints_attr("strides", &[2, 2])
            .ints_attr("pads", &[1, 1, 1, 1])
            .run();
        assert_eq!(r.shape(0), "1x64x56x56");
        assert_eq!(r.flops(), 1_605_632);
        assert_eq!(r.macs(), 0);
        assert_eq!(r.params(), 0);
    }

    /// 1x1x5x5, k 2, s 2: floor ⌊3/2⌋ + 1 = 2; ceil ⌈3/2⌉ + 1 = 3 (the last
    /// window starts at 4 < 5, inside the input, so it stays).
    /// FLOPs (k = 2·2 = 4 taps, 3 comparisons each): floor 4·3 = 12;
    /// ceil 9·3 = 27.
    #[test]
    fn ceil_mode_adds_a_window() {
        let base = || {
            NodeTest::new("MaxPool")
                .input(&[1, 1, 5, 5])
                .ints_attr("kernel_shape", &[2, 2])
                .ints_attr("strides", &[2, 2])
        };
        let floor = base().run();
        assert_eq!(floor.shape(0), "1x1x2x2");
        assert_eq!(floor.flops(), 12);
        let ceil = base().int("ceil_mode", 1).run();
        assert_eq!(ceil.shape(0), "1x1x3x3");
        assert_eq!(ceil.flops(), 27);
    }

    /// PyTorch's rule: in 6, k 3, s 2, pad 1, ceil: ⌈(6 + 2 − 3)/2⌉ + 1 = 4;
    /// the last window starts at (4 − 1)·2 = 6 < 6 + 1 (inside the input
    /// after the left pad), so it stays: 4.
    /// In 5, k 2, s 2, pad 1, ceil: ⌈(5 + 2 − 2)/2⌉ + 1 = 4, but the last
    /// window starts at (4 − 1)·2 = 6 ≥ 5 + 1, entirely in the right
    /// padding: dropped → 3 (torch.nn.functional.max_pool1d agrees).
    /// AveragePool FLOPs: 3 outputs · 2 taps = 6.
    #[test]
    fn ceil_mode_drops_window_in_right_padding() {
        let keep = NodeTest::new("MaxPool")
            .input(&[1, 1, 6])
            .ints_attr("kernel_shape", &[3])
            .ints_attr("strides", &[2])
            .ints_attr("pads", &[1, 1])
            .int("ceil_mode", 1)
            .run();
        assert_eq!(keep.shape(0), "1x1x4");
        assert_eq!(keep.flops(), 4 * 2);
        let drop = NodeTest::new("AveragePool")
            .input(&[1, 1, 5])
            .ints_attr("kernel_shape", &[2])
            .ints_attr("strides", &[2])
            .ints_attr("pads", &[1, 1])
            .int("ceil_mode", 1)
            .run();
        assert_eq!(drop.shape(0), "1x1x3");
        assert_eq!(drop.flops(), 6);
    }

    /// MaxPool with Indices: second output int64, same shape.
    /// 2x3x8x8, k 2, s 2 → 2x3x4x4; FLOPs = 96·3 = 288.
    #[test]
    fn max_pool_indices_output() {
        let r = NodeTest::new("MaxPool")
            .input(&[2, 3, 8, 8])
            .ints_attr("kernel_shape", &[2, 2])
            .ints_attr("strides", &[2, 2])
            .int("storage_order", 1)
            .run_outputs(2);
        assert_eq!(r.shape(0), "2x3x4x4");
        assert_eq!(r.shape(1), "2x3x4x4");
        assert_eq!(r.node().outputs[1].dtype, Some(DType::I64));
        assert_eq!(r.node().outputs[0].dtype, Some(DType::F32));
        assert_eq!(r.flops(), 288);
    }

    /// Dilated MaxPool (opset 10+): in 10, k 3, dilation 2 → extent 5,
    /// out ⌊(10 − 5)/1⌋ + 1 = 6 per axis. FLOPs = 36·(9 − 1) = 288.
    /// At opset 8 the attribute does not exist: Incomplete.
    #[test]
    fn dilated_max_pool_and_opset_gate() {
        let base = || {
            NodeTest::new("MaxPool")
                .input(&[1, 1, 10, 10])
                .ints_attr("kernel_shape", &[3, 3])
                .ints_attr("dilations", &[2, 2])
        };
        let r = base().opset(12).run();
        assert_eq!(r.shape(0), "1x1x6x6");
        assert_eq!(r.flops(), 288);
        let old = base().opset(8).run();
        assert!(incomplete(old.status(), "dilations"));
    }

    /// SAME_UPPER: out = ⌈in/stride⌉ = ⌈15/2⌉ = 8; AveragePool k 3×3:
    /// FLOPs = 4·8·8·9 = 2304. VALID: ⌊(15 − 3)/2⌋ + 1 = 7.
    #[test]
    fn same_and_valid_padding() {
        let same = NodeTest::new("AveragePool")
            .input(&[1, 4, 15, 15])
            .ints_attr("kernel_shape", &[3, 3])
            .ints_attr("strides", &[2, 2])
            .string("auto_pad", "SAME_UPPER")
            .run();
        assert_eq!(same.shape(0), "1x4x8x8");
        assert_eq!(same.flops(), 2304);
        let valid = NodeTest::new("AveragePool")
            .input(&[1, 4, 15, 15])
            .ints_attr("kernel_shape", &[3, 3])
            .ints_attr("strides", &[2, 2])
            .string("auto_pad", "VALID")
            .run();
        assert_eq!(valid.shape(0), "1x4x7x7");
        assert_eq!(valid.flops(), 4 * 49 * 9);
    }

    /// AveragePool count_include_pad does not change the count:
    /// 1x2x4x4, k 3, pad 1 → 4×4; FLOPs = 2·16·9 = 288 either way.
    /// Dilations on AveragePool need opset 19.
    #[test]
    fn average_pool_include_pad_and_dilation_gate() {
        for include in [0, 1] {
            let r = NodeTest::new("AveragePool")
                .input(&[1, 2, 4, 4])
                .ints_attr("kernel_shape", &[3, 3])
                .ints_attr("pads", &[1, 1, 1, 1])
                .int("count_include_pad", include)
                .run();
            assert_eq!(r.shape(0), "1x2x4x4");
            assert_eq!(r.flops(), 288);
        }
        let dil = || {
            NodeTest::new("AveragePool")
                .input(&[1, 1, 7, 7])
                .ints_attr("kernel_shape", &[2, 2])
                .ints_attr("dilations", &[3, 3])
        };
        // extent 4: ⌊(7 − 4)/1⌋ + 1 = 4; FLOPs = 16·4 = 64.
        let r = dil().opset(19).run();
        assert_eq!(r.shape(0), "1x1x4x4");
        assert_eq!(r.flops(), 64);
        assert!(incomplete(dil().opset(17).run().status(), "opset 19"));
    }

    /// LpPool p 2, 1x3x6x6, k 2, s 2 → 3×3; FLOPs = 3·9·2·4 = 216.
    /// ceil_mode on LpPool needs opset 18.
    #[test]
    fn lp_pool() {
        let r = NodeTest::new("LpPool")
            .input(&[1, 3, 6, 6])
            .ints_attr("kernel_shape", &[2, 2])
            .ints_attr("strides", &[2, 2])
            .int("p", 2)
            .run();
        assert_eq!(r.shape(0), "1x3x3x3");
        assert_eq!(r.flops(), 216);
        let gated = NodeTest::new("LpPool")
            .opset(11)
            .input(&[1, 3, 5, 5])
            .ints_attr("kernel_shape", &[2, 2])
            .ints_attr("strides", &[2, 2])
            .int("ceil_mode", 1)
            .run();
        assert!(incomplete(gated.status(), "ceil_mode"));
        // Opset 18: ceil ⌈3/2⌉ + 1 = 3 → FLOPs 3·9·8 = 216.
        let ok = NodeTest::new("LpPool")
            .opset(18)
            .input(&[1, 3, 5, 5])
            .ints_attr("kernel_shape", &[2, 2])
            .ints_attr("strides", &[2, 2])
            .int("ceil_mode", 1)
            .run();
        assert_eq!(ok.shape(0), "1x3x3x3");
        assert_eq!(ok.flops(), 216);
        let bad_p = NodeTest::new("LpPool")
            .input(&[1, 3, 6, 6])
            .ints_attr("kernel_shape", &[2, 2])
            .int("p", 0)
            .run();
        assert!(incomplete(bad_p.status(), "'p'"));
    }

    /// ResNet head: GlobalAveragePool 1x512x7x7 → 1x512x1x1;
    /// FLOPs = 512·49 = 25,088 (48 additions + 1 division per channel).
    /// GlobalMaxPool: 512·48 = 24,576. GlobalLpPool: 512·98 = 50,176.
    #[test]
    fn global_pools() {
        let gap = NodeTest::new("GlobalAveragePool")
            .input(&[1, 512, 7, 7])
            .run();
        assert_eq!(gap.shape(0), "1x512x1x1");
        assert_eq!(gap.flops(), 25_088);
        let gmp = NodeTest::new("GlobalMaxPool").input(&[1, 512, 7, 7]).run();
        assert_eq!(gmp.shape(0), "1x512x1x1");
        assert_eq!(gmp.flops(), 24_576);
        let glp = NodeTest::new("GlobalLpPool").input(&[1, 512, 7, 7]).run();
        assert_eq!(glp.flops(), 50_176);
        assert_eq!(glp.macs(), 0);
    }

    /// Symbolic: GlobalMaxPool over [batch, 8, seq] → [batch, 8, 1];
    /// FLOPs = 8·batch·(seq − 1) = 8·batch·seq − 8·batch.
    /// MaxPool over [batch, 3, 32, 32], k 2 s 2: 3·16·16·3·batch = 2304·batch.
    #[test]
    fn symbolic_dims() {
        let r = NodeTest::new("GlobalMaxPool")
            .input_sym(&["batch", "8", "seq"])
            .run();
        assert_eq!(r.shape(0), "batchx8x1");
        assert_eq!(r.flops_expr(), "8*batch*seq - 8*batch");
        let m = NodeTest::new("MaxPool")
            .input_sym(&["batch", "3", "32", "32"])
            .ints_attr("kernel_shape", &[2, 2])
            .ints_attr("strides", &[2, 2])
            .run();
        assert_eq!(m.shape(0), "batchx3x16x16");
        assert_eq!(m.flops_expr(), "2304*batch");
    }

    /// Symbolic spatial size: stride 1 keeps polynomials: in H, k 3, pad 1
    /// → H; FLOPs = 4·H·W·8. With stride 2, ⌊(H − 1)/2⌋ + 1 = ⌈H/2⌉, and
    /// FLOPs = 4·8·⌈H/2⌉·⌈W/2⌉. Ceil mode with stride 1: ⌈(H + 2 − 3)/1⌉ +
    /// 1 = H, no window dropped. Ceil mode, k 3, s 2, no padding
    /// (GoogLeNet's pools): min(⌈(H − 3)/2⌉ + 1, ⌈H/2⌉) = ⌊H/2⌋ for every H
    /// (H = 7: 3 windows; H = 8: 4, as PyTorch's formula gives).
    #[test]
    fn symbolic_spatial() {
        let r = NodeTest::new("MaxPool")
            .input_sym(&["1", "4", "H", "W"])
            .ints_attr("kernel_shape", &[3, 3])
            .ints_attr("pads", &[1, 1, 1, 1])
            .int("ceil_mode", 1)
            .run();
        assert_eq!(r.shape(0), "1x4xHxW");
        assert_eq!(r.flops_expr(), "32*H*W");
        let s2 = NodeTest::new("MaxPool")
            .input_sym(&["1", "4", "H", "W"])
            .ints_attr("kernel_shape", &[3, 3])
            .ints_attr("strides", &[2, 2])
            .ints_attr("pads", &[1, 1, 1, 1])
            .run();
        assert_eq!(s2.shape(0), "1x4xceil(H/2)xceil(W/2)");
        assert_eq!(s2.flops_expr(), "32*ceil(H/2)*ceil(W/2)");
        let ceil = NodeTest::new("MaxPool")
            .input_sym(&["1", "4", "H", "W"])
            .ints_attr("kernel_shape", &[3, 3])
            .ints_attr("strides", &[2, 2])
            .int("ceil_mode", 1)
            .run();
        assert_eq!(ceil.shape(0), "1x4xfloor(H/2)xfloor(W/2)");
        for h in [7, 8] {
            let concrete = NodeTest::new("MaxPool")
                .input(&[1, 4, h, h])
                .ints_attr("kernel_shape", &[3, 3])
                .ints_attr("strides", &[2, 2])
                .int("ceil_mode", 1)
                .run();
            assert_eq!(concrete.shape(0), format!("1x4x{0}x{0}", h / 2));
        }
    }

    /// 3-D max pool: 1x2x4x4x4, k 2×2×2, s 2 → 2×2×2; FLOPs = 2·8·7 = 112.
    #[test]
    fn max_pool_3d() {
        let r = NodeTest::new("MaxPool")
            .input(&[1, 2, 4, 4, 4])
            .ints_attr("kernel_shape", &[2, 2, 2])
            .ints_attr("strides", &[2, 2, 2])
            .run();
        assert_eq!(r.shape(0), "1x2x2x2x2");
        assert_eq!(r.flops(), 112);
    }

    #[test]
    fn invalid_attributes_are_incomplete() {
        let no_kernel = NodeTest::new("MaxPool").input(&[1, 1, 4, 4]).run();
        assert!(incomplete(no_kernel.status(), "kernel_shape"));
        let wrong_len = NodeTest::new("AveragePool")
            .input(&[1, 1, 4, 4])
            .ints_attr("kernel_shape", &[2])
            .run();
        assert!(incomplete(wrong_len.status(), "spatial axes"));
        let zero_stride = NodeTest::new("MaxPool")
            .input(&[1, 1, 4, 4])
            .ints_attr("kernel_shape", &[2, 2])
            .ints_attr("strides", &[0, 1])
            .run();
        assert!(incomplete(zero_stride.status(), "positive"));
        let too_big = NodeTest::new("MaxPool")
            .input(&[1, 1, 2, 2])
            .ints_attr("kernel_shape", &[5, 5])
            .run();
        assert!(incomplete(too_big.status(), "does not fit"));
        let valid_too_big = NodeTest::new("MaxPool")
            .input(&[1, 1, 2, 2])
            .ints_attr("kernel_shape", &[5, 5])
            .string("auto_pad", "VALID")
            .run();
        assert!(incomplete(valid_too_big.status(), "does not fit"));
        let rank2 = NodeTest::new("MaxPool")
            .input(&[4, 4])
            .ints_attr("kernel_shape", &[2, 2])
            .run();
        assert!(incomplete(rank2.status(), "rank"));
        let order = NodeTest::new("MaxPool")
            .input(&[1, 1, 4, 4])
            .ints_attr("kernel_shape", &[2, 2])
            .int("storage_order", 3)
            .run();
        assert!(incomplete(order.status(), "storage_order"));
        let unknown = NodeTest::new("GlobalAveragePool").input_unknown().run();
        assert!(incomplete(unknown.status(), "unknown"));
        let bad_pad = NodeTest::new("AveragePool")
            .input(&[1, 1, 4, 4])
            .ints_attr("kernel_shape", &[2, 2])
            .string("auto_pad", "SAME")
            .run();
        assert!(incomplete(bad_pad.status(), "auto_pad"));
    }

    /// Extreme attribute values are reported, not overflowed.
    #[test]
    fn huge_attributes_do_not_panic() {
        let big = NodeTest::new("MaxPool")
            .input(&[1, 1, 4, 4])
            .ints_attr("kernel_shape", &[i64::MAX, 2])
            .ints_attr("dilations", &[i64::MAX, 1])
            .run();
        assert!(incomplete(big.status(), "does not fit"));
        let ceil = NodeTest::new("MaxPool")
            .input(&[1, 1, 4, 4])
            .ints_attr("kernel_shape", &[2, 2])
            .ints_attr("strides", &[i64::MAX, i64::MAX])
            .ints_attr("pads", &[i64::MAX, 0, 0, i64::MAX])
            .int("ceil_mode", 1)
            .run();
        assert!(matches!(
            ceil.status(),
            NodeStatus::Counted | NodeStatus::Incomplete { .. }
        ));
        let unpool = NodeTest::new("MaxUnpool")
            .input(&[1, 1, 2, 2])
            .input_dims(crate::shape::shape_of(&[1, 1, 2, 2]), DType::I64)
            .ints_attr("kernel_shape", &[2, 2])
            .ints_attr("pads", &[i64::MAX, i64::MAX, i64::MAX, i64::MAX])
            .run();
        assert!(incomplete(unpool.status(), "negative"));
    }

    /// MaxRoiPool: X 1x256x50x50, rois 300x5, pooled 7×7 → 300x256x7x7; the
    /// comparisons depend on the boxes: shape inferred, node Incomplete.
    #[test]
    fn roi_align() {
        // 3 ROIs of a 1x4x10x10 map, 2x2 bins, sampling 2: 48 outputs ·
        // (9·4 + 4) = 1920.
        let r = NodeTest::new("RoiAlign")
            .opset(16)
            .input(&[1, 4, 10, 10])
            .input(&[3, 4])
            .input(&[3])
            .int("output_height", 2)
            .int("output_width", 2)
            .int("sampling_ratio", 2)
            .run();
        assert_eq!(r.shape(0), "3x4x2x2");
        assert_eq!(r.flops(), 1920);
    }

    #[test]
    fn max_roi_pool_shape_and_data_dependence() {
        let r = NodeTest::new("MaxRoiPool")
            .input(&[1, 256, 50, 50])
            .input(&[300, 5])
            .ints_attr("pooled_shape", &[7, 7])
            .float("spatial_scale", 0.0625)
            .run();
        assert_eq!(r.shape(0), "300x256x7x7");
        assert!(incomplete(r.status(), "ROI"));
        let bad = NodeTest::new("MaxRoiPool")
            .input(&[1, 256, 50, 50])
            .input(&[300, 5])
            .ints_attr("pooled_shape", &[7])
            .run();
        assert!(incomplete(bad.status(), "pooled_shape"));
        let bad_rois = NodeTest::new("MaxRoiPool")
            .input(&[1, 256, 50, 50])
            .input(&[300, 4])
            .ints_attr("pooled_shape", &[7, 7])
            .run();
        assert!(incomplete(bad_rois.status(), "rois"));
    }

    /// MaxUnpool: 1x1x2x2, k 2, s 2 → (2 − 1)·2 + 2 = 4; 0 FLOPs.
    /// With pads 1+1: (3 − 1)·2 + 2 − 2 = 4 from 3. With output_shape
    /// [1, 1, 5, 5] given: 1x1x5x5. Symbolic: (H − 1)·2 + 2 = 2·H.
    #[test]
    fn max_unpool() {
        let r = NodeTest::new("MaxUnpool")
            .input(&[1, 1, 2, 2])
            .input_dims(crate::shape::shape_of(&[1, 1, 2, 2]), DType::I64)
            .ints_attr("kernel_shape", &[2, 2])
            .ints_attr("strides", &[2, 2])
            .run();
        assert_eq!(r.shape(0), "1x1x4x4");
        assert_eq!(r.flops(), 0);
        let padded = NodeTest::new("MaxUnpool")
            .input(&[1, 1, 3, 3])
            .input_dims(crate::shape::shape_of(&[1, 1, 3, 3]), DType::I64)
            .ints_attr("kernel_shape", &[2, 2])
            .ints_attr("strides", &[2, 2])
            .ints_attr("pads", &[1, 1, 1, 1])
            .run();
        assert_eq!(padded.shape(0), "1x1x4x4");
        let explicit = NodeTest::new("MaxUnpool")
            .input(&[1, 1, 2, 2])
            .input_dims(crate::shape::shape_of(&[1, 1, 2, 2]), DType::I64)
            .ints(&[1, 1, 5, 5])
            .ints_attr("kernel_shape", &[2, 2])
            .ints_attr("strides", &[2, 2])
            .run();
        assert_eq!(explicit.shape(0), "1x1x5x5");
        assert_eq!(explicit.flops(), 0);
        assert_eq!(explicit.params(), 0);
        let sym = NodeTest::new("MaxUnpool")
            .input_sym(&["batch", "8", "H", "W"])
            .input_unknown()
            .ints_attr("kernel_shape", &[2, 2])
            .ints_attr("strides", &[2, 2])
            .run();
        assert_eq!(sym.shape(0), "batchx8x2*Hx2*W");
        assert_eq!(sym.flops(), 0);
        let runtime = NodeTest::new("MaxUnpool")
            .input(&[1, 1, 2, 2])
            .input_dims(crate::shape::shape_of(&[1, 1, 2, 2]), DType::I64)
            .input_unknown()
            .ints_attr("kernel_shape", &[2, 2])
            .run();
        assert_eq!(runtime.shape(0), "?x?x?x?");
        assert!(incomplete(runtime.status(), "run time"));
        let bad = NodeTest::new("MaxUnpool")
            .input(&[1, 1, 2, 2])
            .input_dims(crate::shape::shape_of(&[1, 1, 2, 2]), DType::I64)
            .ints(&[1, 5, 5])
            .ints_attr("kernel_shape", &[2, 2])
            .run();
        assert!(incomplete(bad.status(), "output_shape"));
    }
}
