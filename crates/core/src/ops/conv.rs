//! Convolution and transposed convolution (1-D, 2-D, 3-D; groups,
//! dilations, pads, `auto_pad`), and DeformConv: Conv plus the bilinear
//! sampling of every tap at its learned offset, and CausalConvWithState: a
//! depthwise causal 1-D convolution carrying its last `k − 1` inputs.

use super::window::{kernel_shape, AutoPad, Window};
use super::{product, NodeCtx, OpDef, OpError, Role, RuleResult};
use crate::poly::Poly;
use crate::shape::{Dim, Shape};

const WEIGHTS: &[Role] = &[Role::Data, Role::Weight, Role::Weight];

pub const OPS: &[OpDef] = &[
    OpDef {
        op_type: "Conv",
        domain: "",
        rule: conv,
        roles: WEIGHTS,
        cost_doc: "MACs = N·C_out·∏out·(C_in/g)·∏k; FLOPs = 2·MACs with bias, 2·MACs − N·C_out·∏out without",
    },
    OpDef {
        op_type: "ConvTranspose",
        domain: "",
        rule: conv_transpose,
        roles: WEIGHTS,
        cost_doc: "MACs = N·C_in·∏in·(C_out/g)·∏k (on the input grid); FLOPs = 2·MACs, + N·C_out·∏out with bias",
    },
    OpDef {
        op_type: "CausalConvWithState",
        domain: "",
        rule: causal_conv_with_state,
        roles: &[Role::Data, Role::Weight, Role::Weight, Role::Data],
        cost_doc: "depthwise: MACs = B·C·L·k; FLOPs = 2·MACs with bias, 2·MACs − B·C·L without; + 6 per output with activation silu/swish",
    },
    OpDef {
        op_type: "DeformConv",
        domain: "",
        rule: deform_conv,
        roles: &[Role::Data, Role::Weight, Role::Data, Role::Weight, Role::Data],
        cost_doc: "Conv's MACs and FLOPs (bias at input 3), + N·C_in·∏k·∏out sampled taps × (9 bilinear, + 1 with a mask)",
    },
];

/// CausalConvWithState (opset 27): input `[B, C, L]`, weight `[C, 1, k]`,
/// bias `[C]`, past_state `[B, C, k − 1]` → output `[B, C, L]`,
/// present_state `[B, C, k − 1]`. Each output is a `k`-tap dot product of
/// its channel (depthwise): Conv's count with `C_in/g = 1`; the fused
/// SiLU/Swish activation costs Swish's 6 per output.
fn causal_conv_with_state(ctx: &mut NodeCtx) -> RuleResult {
    let x = ctx.shape(0)?.to_vec();
    let w = ctx.shape(1)?.to_vec();
    if x.len() != 3 || w.len() != 3 {
        return Err(OpError::Invalid(format!(
            "CausalConvWithState needs input [B, C, L] and weight [C, 1, k], got ranks {} and {}",
            x.len(),
            w.len()
        )));
    }
    let k = w[2].clone();
    let state_len = k.sub(&Dim::int(1))?;
    ctx.set_output(0, ctx.dtype(0), x.clone());
    if ctx.num_outputs() > 1 {
        ctx.set_output(1, ctx.dtype(0), vec![x[0].clone(), x[1].clone(), state_len]);
    }
    let outputs = known_product(ctx, &x)?;
    let k = known_product(ctx, &w[2..])?;
    let macs = outputs.checked_mul(&k)?;
    ctx.add_macs(&macs)?;
    let mut flops = macs.checked_scale(2)?;
    if !ctx.has_input(2) {
        flops = flops.checked_sub(&outputs)?;
    }
    match ctx.attr_str("activation")?.unwrap_or("none") {
        "none" => {}
        "silu" | "swish" => flops = flops.checked_add(&outputs.checked_scale(6)?)?,
        other => {
            return Err(OpError::Invalid(format!(
                "activation '{other}' is not none, silu or swish"
            )))
        }
    }
    ctx.add_flops(&flops)
}

/// DeformConv (opset 19): X, W, offset, B, mask. The output and the
/// products are Conv's; in addition every tap of every input channel at
/// every output position is sampled bilinearly at its offset position, 9
/// FLOPs as in Resize, and multiplied by the mask when one is given.
fn deform_conv(ctx: &mut NodeCtx) -> RuleResult {
    let g = geometry(ctx)?;
    let (out_positions, taps) = g.count_products(ctx, ctx.has_input(3))?;
    let per_sample = if ctx.has_input(4) { 10 } else { 9 };
    let samples = product([&g.batch, &g.in_channels, &taps, &out_positions])?;
    ctx.add_flops(&samples.checked_scale(per_sample)?)
}

/// Input and weight geometry common to both convolutions.
struct ConvGeometry {
    batch: Poly,
    in_channels: Poly,
    spatial_in: Vec<Dim>,
    /// Weight dims 0 and 1 (`[C_out, C_in/g]` for Conv, `[C_in, C_out/g]`
    /// for ConvTranspose).
    w0: Poly,
    w1: Poly,
    group: i64,
    window: Window,
    has_bias: bool,
}

fn geometry(ctx: &NodeCtx) -> Result<ConvGeometry, OpError> {
    let x = ctx.shape(0)?;
    let w = ctx.known_shape(1)?;
    if x.len() < 3 || w.len() != x.len() {
        return Err(OpError::Invalid(format!(
            "input rank {} and weight rank {} do not form a convolution",
            x.len(),
            w.len()
        )));
    }
    let known = |d: &Dim| ctx.known_dim(0, d);
    let group = ctx.attr_int("group", 1)?;
    if group < 1 {
        return Err(OpError::Invalid(format!(
            "group must be positive, got {group}"
        )));
    }
    let kernel = kernel_shape(ctx, Some(1))?;
    if kernel.len() != x.len() - 2 {
        return Err(OpError::Invalid(format!(
            "kernel_shape has {} axes, input has {} spatial axes",
            kernel.len(),
            x.len() - 2
        )));
    }
    Ok(ConvGeometry {
        batch: known(&x[0])?,
        in_channels: known(&x[1])?,
        spatial_in: x[2..].to_vec(),
        w0: w[0].clone(),
        w1: w[1].clone(),
        group,
        window: Window::from_attrs(ctx, kernel)?,
        has_bias: ctx.has_input(2),
    })
}

fn conv(ctx: &mut NodeCtx) -> RuleResult {
    ctx.products = Some((0, 1));
    let g = geometry(ctx)?;
    let channels_per_group = g.w1.clone();
    // C_in must equal g·(C_in/g); a mismatch means the weight does not fit.
    let expected = channels_per_group.checked_scale(g.group as i128)?;
    if g.in_channels.as_constant().is_some()
        && expected.as_constant().is_some()
        && expected != g.in_channels
    {
        return Err(OpError::Invalid(format!(
            "input has {} channels but weight expects {} (= {} per group × {} groups)",
            g.in_channels, expected, channels_per_group, g.group
        )));
    }
    g.count_products(ctx, g.has_bias).map(|_| ())
}

impl ConvGeometry {
    /// A forward convolution's output `[N, C_out, spatial_out…]` (`C_out`
    /// = weight dim 0), set as output 0, and its products: MACs =
    /// outputs·(C_in/g)·k; per output `k·C_in/g` multiplications, `k·C_in/g
    /// − 1` additions, +1 for a bias: 2·MACs with a bias, one less per
    /// output without. Returns the output positions and the taps `k`.
    fn count_products(&self, ctx: &mut NodeCtx, bias: bool) -> Result<(Poly, Poly), OpError> {
        let mut out: Shape = vec![Dim::Known(self.batch.clone()), Dim::Known(self.w0.clone())];
        for (i, d) in self.spatial_in.iter().enumerate() {
            out.push(self.window.output_dim(i, d)?);
        }
        ctx.set_output(0, ctx.dtype(0), out.clone());
        let out_positions = known_product(ctx, &out[2..])?;
        let kernel: Vec<Poly> = self.window.kernel.iter().map(|&k| Poly::from(k)).collect();
        let taps = product(&kernel)?;
        let outputs = product([&self.batch, &self.w0, &out_positions])?;
        let macs = outputs.checked_mul(&self.w1)?.checked_mul(&taps)?;
        ctx.add_macs(&macs)?;
        let flops = macs.checked_scale(2)?;
        ctx.add_flops(&if bias {
            flops
        } else {
            flops.checked_sub(&outputs)?
        })?;
        Ok((out_positions, taps))
    }
}

fn conv_transpose(ctx: &mut NodeCtx) -> RuleResult {
    ctx.products = Some((0, 1));
    let g = geometry(ctx)?;
    let w = &g.window;
    let out_channels = g.w1.checked_scale(g.group as i128)?;
    let n = g.spatial_in.len();
    let output_padding = ctx
        .attr_ints("output_padding")?
        .map(<[i64]>::to_vec)
        .unwrap_or(vec![0; n]);
    let output_shape = ctx.attr_ints("output_shape")?;
    if output_padding.len() != n {
        return Err(OpError::Invalid(
            "output_padding does not match the spatial rank".into(),
        ));
    }
    let mut out: Shape = vec![
        Dim::Known(g.batch.clone()),
        Dim::Known(out_channels.clone()),
    ];
    for (i, d) in g.spatial_in.iter().enumerate() {
        let dim = match output_shape {
            // An explicit output shape wins (its last n entries are spatial).
            Some(s) if s.len() >= n => Dim::int(s[s.len() - n + i]),
            _ => {
                let stride = w.strides[i] as i128;
                match (w.auto_pad, d.poly()) {
                    (_, None) => Dim::Unknown,
                    (AutoPad::SameUpper | AutoPad::SameLower, Some(p)) => {
                        Dim::Known(p.checked_scale(stride)?)
                    }
                    (_, Some(p)) => {
                        // stride·(in − 1) + output_padding + dilation·(k − 1) + 1 − pads
                        // In i128: attribute values come from the file and
                        // may be huge; i64 sums of them could overflow.
                        let pads = if w.auto_pad == AutoPad::Valid {
                            0
                        } else {
                            w.pads[i] as i128 + w.pads[i + n] as i128
                        };
                        let extent = w.dilations[i] as i128 * (w.kernel[i] as i128 - 1) + 1;
                        let tail = output_padding[i] as i128 + extent - pads;
                        let size = p
                            .checked_sub(&Poly::constant(1))?
                            .checked_scale(stride)?
                            .checked_add(&Poly::constant(tail))?;
                        if size.as_constant().is_some_and(|s| s < 0) {
                            return Err(OpError::Invalid(format!(
                                "output size {size} on spatial axis {i} is negative"
                            )));
                        }
                        Dim::Known(size)
                    }
                }
            }
        };
        out.push(dim);
    }
    ctx.set_output(0, ctx.dtype(0), out.clone());

    // Every input position is multiplied by every kernel tap of its group:
    // the work lives on the input grid, not the (larger) output grid.
    let in_positions = known_product(ctx, &g.spatial_in)?;
    let kernel: Vec<Poly> = w.kernel.iter().map(|&k| Poly::from(k)).collect();
    let macs = product([&g.batch, &g.in_channels, &in_positions, &g.w1])?
        .checked_mul(&product(&kernel)?)?;
    ctx.add_macs(&macs)?;
    let mut flops = macs.checked_scale(2)?;
    if g.has_bias {
        let outputs = product([&g.batch, &out_channels, &known_product(ctx, &out[2..])?])?;
        flops = flops.checked_add(&outputs)?;
    }
    ctx.add_flops(&flops)
}

/// Product of dims that must be known for the cost.
fn known_product(ctx: &NodeCtx, dims: &[Dim]) -> Result<Poly, OpError> {
    let polys: Option<Vec<&Poly>> = dims.iter().map(Dim::poly).collect();
    match polys {
        Some(p) => Ok(product(p)?),
        None => Err(ctx.unknown_input(0)),
    }
}

#[cfg(test)]
mod tests {
    use crate::ops::testing::NodeTest;

    /// DeformConv 1x2x4x4, W 3x2x3x3, no pads: output 1x3x2x2; MACs =
    /// 12·2·9 = 216; FLOPs = 2·216 − 12 (no bias) + 1·2·9·4 taps · 9 = 1068.
    #[test]
    fn causal_conv_with_state() {
        // 2x4x10 input, k = 3, with bias: MACs 80·3 = 240, FLOPs 480;
        // silu adds 6·80.
        let r = NodeTest::new("CausalConvWithState")
            .opset(27)
            .input(&[2, 4, 10])
            .weight(&[4, 1, 3])
            .weight(&[4])
            .string("activation", "silu")
            .run_outputs(2);
        assert_eq!(r.shape(0), "2x4x10");
        assert_eq!(r.shape(1), "2x4x2");
        assert_eq!(r.macs(), 240);
        assert_eq!(r.flops(), 480 + 480);
    }

    #[test]
    fn deform_conv() {
        let r = NodeTest::new("DeformConv")
            .opset(19)
            .input(&[1, 2, 4, 4])
            .weight(&[3, 2, 3, 3])
            .input(&[1, 18, 2, 2])
            .run();
        assert_eq!(r.shape(0), "1x3x2x2");
        assert_eq!(r.macs(), 216);
        assert_eq!(r.flops(), 1068);
    }

    /// ResNet's stem: 3→64, 7×7, stride 2, pad 3 on 224×224.
    /// Output ⌊(224 + 6 − 7)/2⌋ + 1 = 112.
    /// MACs = 112·112·64·3·7·7 = 118,013,952. No bias: FLOPs = 2·MACs − 112·112·64.
    #[test]
    fn resnet_stem() {
        let r = NodeTest::new("Conv")
            .input(&[1, 3, 224, 224])
            .weight(&[64, 3, 7, 7])
            .ints_attr("strides", &[2, 2])
            .ints_attr("pads", &[3, 3, 3, 3])
            .run();
        assert_eq!(r.shape(0), "1x64x112x112");
        assert_eq!(r.macs(), 118_013_952);
        assert_eq!(r.flops(), 2 * 118_013_952 - 112 * 112 * 64);
        assert_eq!(r.params(), 64 * 3 * 7 * 7);
    }

    /// The article's formula with bias: params (k·k·C_in + 1)·C_out and
    /// FLOPs [(k²C_in) + (k²C_in − 1) + 1]·H·W·C_out = 2·MACs.
    #[test]
    fn article_conv_with_bias() {
        let r = NodeTest::new("Conv")
            .input(&[1, 3, 224, 224])
            .weight(&[64, 3, 3, 3])
            .weight(&[64])
            .ints_attr("pads", &[1, 1, 1, 1])
            .run();
        assert_eq!(r.shape(0), "1x64x224x224");
        assert_eq!(r.params(), (3 * 3 * 3 + 1) * 64);
        assert_eq!(r.macs(), 3 * 3 * 3 * 224 * 224 * 64);
        assert_eq!(r.flops(), 2 * 3 * 3 * 3 * 224 * 224 * 64);
    }

    /// Depthwise 3×3 on 32 channels at 112×112, stride 1, pad 1:
    /// MACs = 112·112·32·1·9 = 3,612,672.
    #[test]
    fn depthwise_groups() {
        let r = NodeTest::new("Conv")
            .input(&[1, 32, 112, 112])
            .weight(&[32, 1, 3, 3])
            .int("group", 32)
            .ints_attr("pads", &[1, 1, 1, 1])
            .run();
        assert_eq!(r.shape(0), "1x32x112x112");
        assert_eq!(r.macs(), 3_612_672);
    }

    /// 1-D dilated conv: in 100, k 3, dilation 2 → extent 5, out 96.
    #[test]
    fn dilated_1d_and_same_padding() {
        let r = NodeTest::new("Conv")
            .input(&[2, 4, 100])
            .weight(&[8, 4, 3])
            .ints_attr("dilations", &[2])
            .run();
        assert_eq!(r.shape(0), "2x8x96");
        assert_eq!(r.macs(), 2 * 8 * 96 * 4 * 3);
        let same = NodeTest::new("Conv")
            .input(&[1, 4, 15, 15])
            .weight(&[8, 4, 3, 3])
            .ints_attr("strides", &[2, 2])
            .string("auto_pad", "SAME_UPPER")
            .run();
        assert_eq!(same.shape(0), "1x8x8x8");
    }

    /// 3-D conv: 1x2x8x8x8, 4 filters 3×3×3, no pad → 6×6×6.
    #[test]
    fn conv_3d() {
        let r = NodeTest::new("Conv")
            .input(&[1, 2, 8, 8, 8])
            .weight(&[4, 2, 3, 3, 3])
            .run();
        assert_eq!(r.shape(0), "1x4x6x6x6");
        assert_eq!(r.macs(), 4 * 216 * 2 * 27);
    }

    /// Symbolic batch stays symbolic: MACs = 118,013,952·batch.
    #[test]
    fn symbolic_batch() {
        let r = NodeTest::new("Conv")
            .input_sym(&["batch", "3", "224", "224"])
            .weight(&[64, 3, 7, 7])
            .ints_attr("strides", &[2, 2])
            .ints_attr("pads", &[3, 3, 3, 3])
            .run();
        assert_eq!(r.shape(0), "batchx64x112x112");
        assert_eq!(r.macs_expr(), "118013952*batch");
    }

    #[test]
    fn channel_mismatch_is_reported_not_counted() {
        let r = NodeTest::new("Conv")
            .input(&[1, 4, 8, 8])
            .weight(&[8, 3, 3, 3])
            .run();
        assert!(
            matches!(r.status(), crate::report::NodeStatus::Incomplete { reason: m, .. } if m.contains("channels"))
        );
    }

    /// ConvTranspose 2× upsampling: 1x64x28x28 → 32 channels, k 4, s 2,
    /// pad 1: out = 2·27 + 4 − 2 = 56. MACs on the input grid:
    /// 64·28·28·32·16 = 25,690,112 (the output grid would give 4× that).
    #[test]
    fn conv_transpose_counts_input_grid() {
        let r = NodeTest::new("ConvTranspose")
            .input(&[1, 64, 28, 28])
            .weight(&[64, 32, 4, 4])
            .weight(&[32])
            .ints_attr("strides", &[2, 2])
            .ints_attr("pads", &[1, 1, 1, 1])
            .run();
        assert_eq!(r.shape(0), "1x32x56x56");
        assert_eq!(r.macs(), 25_690_112);
        assert_eq!(r.flops(), 2 * 25_690_112 + 32 * 56 * 56);
        assert_eq!(r.params(), 64 * 32 * 16 + 32);
    }

    /// Grouped ConvTranspose with output_padding: C_out = 2·4 = 8;
    /// out = 2·(5 − 1) + 1 + 3 = 12.
    #[test]
    fn conv_transpose_groups_output_padding() {
        let r = NodeTest::new("ConvTranspose")
            .input(&[1, 4, 5, 5])
            .weight(&[4, 4, 3, 3])
            .int("group", 2)
            .ints_attr("strides", &[2, 2])
            .ints_attr("output_padding", &[1, 1])
            .run();
        assert_eq!(r.shape(0), "1x8x12x12");
        assert_eq!(r.macs(), 4 * 25 * 4 * 9);
    }
}
