//! Normalisations: `BatchNormalization`, `LayerNormalization`,
//! `InstanceNormalization`, `GroupNormalization`, `LpNormalization`,
//! `MeanVarianceNormalization` and `LRN`.
//!
//! The statistics of one group of n elements, shared by the formulas below:
//! mean n (n − 1 adds, 1 divide), centring n subtractions, variance 2n
//! (n squares, n − 1 adds, 1 divide), inverse standard deviation 3 (add ε,
//! sqrt, reciprocal), normalising n multiplies: 5n + 3. A group known to be
//! empty costs nothing.

use super::reduce::group_cost;
use super::{product, NodeCtx, OpDef, OpError, Role, RuleResult};
use crate::graph::DType;
use crate::poly::Poly;
use crate::shape::{self, Dim};

/// Input, learned scale and bias.
const AFFINE: &[Role] = &[Role::Data, Role::Weight, Role::Weight];
/// Input, scale, bias, and the running statistics (state, not parameters).
const BATCH_NORM: &[Role] = &[
    Role::Data,
    Role::Weight,
    Role::Weight,
    Role::Buffer,
    Role::Buffer,
];

pub const OPS: &[OpDef] = &[
    OpDef {
        op_type: "BatchNormalization",
        domain: "",
        rule: batch_norm,
        roles: BATCH_NORM,
        cost_doc: "FLOPs = 2·numel(X) + 5·C: y = a·x + b per element, a = γ/√(σ²+ε) and b = β − μ·a per channel",
    },
    OpDef {
        op_type: "LayerNormalization",
        domain: "",
        rule: layer_norm,
        roles: AFFINE,
        cost_doc: "FLOPs = rows·(7n + 3) with bias, rows·(6n + 3) without; n = product of dims from axis",
    },
    OpDef {
        op_type: "RMSNormalization",
        domain: "",
        rule: rms_norm,
        roles: AFFINE,
        cost_doc: "FLOPs = rows·(4n + 3): n squares, n − 1 adds, divide, add ε, sqrt, reciprocal, n normalise, n scale",
    },
    OpDef {
        op_type: "InstanceNormalization",
        domain: "",
        rule: instance_norm,
        roles: AFFINE,
        cost_doc: "FLOPs = N·C·(7n + 3), n = spatial elements: statistics and normalisation 5n + 3, scale and bias 2n",
    },
    OpDef {
        op_type: "GroupNormalization",
        domain: "",
        rule: group_norm,
        roles: AFFINE,
        cost_doc: "FLOPs = N·G·(5n + 3) + 2·numel(X), n = elements per group (= 7·numel(X) + 3·N·G)",
    },
    OpDef {
        op_type: "LpNormalization",
        domain: "",
        rule: lp_norm,
        roles: &[],
        cost_doc: "FLOPs = vectors·3n for p = 2 (n squares, n − 1 adds, sqrt, n divides); vectors·(3n − 1) for p = 1",
    },
    OpDef {
        op_type: "MeanVarianceNormalization",
        domain: "",
        rule: mean_variance_norm,
        roles: &[],
        cost_doc: "FLOPs = groups·(5n + 3), n = product of the dims over `axes` (default [0, 2, 3])",
    },
    OpDef {
        op_type: "LRN",
        domain: "",
        rule: lrn,
        roles: &[],
        cost_doc: "FLOPs = (2·size + 3)·numel(X): size squares, size − 1 adds, ·α/size, + bias, ^β, divide",
    },
];

/// The channel count: dim 1, or 1 for a rank-1 input (N only).
fn channels(x: &[Dim]) -> Result<Dim, OpError> {
    match x.len() {
        0 => Err(OpError::Invalid(
            "input must have rank ≥ 1 (N, C, ...)".into(),
        )),
        1 => Ok(Dim::int(1)),
        _ => Ok(x[1].clone()),
    }
}

/// Checks that input `i`, if given and of known 1-D shape, has `expected`
/// elements (when both are known integers).
fn check_len(ctx: &NodeCtx, i: usize, what: &str, expected: &Dim, of: &str) -> RuleResult {
    if !ctx.has_input(i) {
        return Ok(());
    }
    let Ok(s) = ctx.shape(i) else { return Ok(()) };
    if let ([d], Some(e)) = (s, expected.as_i64()) {
        if let Some(got) = d.as_i64() {
            if got != e {
                return Err(OpError::Invalid(format!(
                    "{what} (input {i}) has {got} elements but the input has {e} {of}"
                )));
            }
        }
    }
    Ok(())
}

fn known(ctx: &NodeCtx, d: &Dim) -> Result<Poly, OpError> {
    match d.poly() {
        Some(p) => Ok(p.clone()),
        None => {
            ctx.numel(0)?;
            Err(OpError::Invalid("input shape is unknown".into()))
        }
    }
}

/// `BatchNormalization`, inference form: y = a·x + b with a = γ/√(σ² + ε)
/// (add, sqrt, divide) and b = β − μ·a (multiply, subtract) per channel:
/// FLOPs = 2·numel(X) + 5·C. `training_mode` (opset 14) is counted the same
/// (the batch statistics are not counted); opset < 7 `spatial` is ignored.
/// Optional outputs (running or saved mean and variance) have shape [C].
fn batch_norm(ctx: &mut NodeCtx) -> RuleResult {
    let x = ctx.shape(0)?.to_vec();
    let c = channels(&x)?;
    for (i, what) in [(1, "scale"), (2, "B"), (3, "mean"), (4, "var")] {
        check_len(ctx, i, what, &c, "channels")?;
    }
    ctx.set_output(0, ctx.dtype(0), x);
    let stats_dtype = ctx.dtype(3).or(ctx.dtype(0));
    for o in 1..ctx.num_outputs() {
        ctx.set_output(o, stats_dtype, vec![c.clone()]);
    }
    let n = ctx.numel(0)?;
    let c = known(ctx, &c)?;
    let flops = n.checked_scale(2)?.checked_add(&c.checked_scale(5)?)?;
    ctx.add_flops(&flops)
}

/// `LayerNormalization` (opset 17): normalises over the dims from `axis`
/// (default −1). Per row of n: statistics and normalisation 5n + 3, scale n
/// multiplies, bias n adds (if B is given) → 7n + 3, or 6n + 3 without B.
/// Outputs Mean and InvStdDev have X's dims before `axis` and 1s after, in
/// the `stash_type` dtype (default float32).
fn layer_norm(ctx: &mut NodeCtx) -> RuleResult {
    let x = ctx.shape(0)?.to_vec();
    let rank = x.len();
    let axis = ctx.attr_int("axis", -1)?;
    let a = shape::normalize_axis(axis, rank)
        .ok_or_else(|| OpError::Invalid(format!("axis {axis} is out of range for rank {rank}")))?;
    let stash = match ctx.attr_int("stash_type", 1)? {
        1 => DType::F32,
        10 => DType::F16,
        11 => DType::F64,
        16 => DType::BF16,
        other => {
            return Err(OpError::Invalid(format!(
                "attribute 'stash_type' = {other} is not a float type"
            )))
        }
    };
    let stats: Vec<Dim> = x
        .iter()
        .enumerate()
        .map(|(i, d)| if i < a { d.clone() } else { Dim::int(1) })
        .collect();
    ctx.set_output(0, ctx.dtype(0), x);
    for o in 1..ctx.num_outputs().min(3) {
        ctx.set_output(o, Some(stash), stats.clone());
    }
    let dims = ctx.known_shape(0)?;
    let rows = product(&dims[..a])?;
    let n = product(&dims[a..])?;
    let per = if ctx.has_input(2) { 7 } else { 6 };
    let flops = group_cost(&rows, &n, per, 3)?;
    ctx.add_flops(&flops)
}

/// `RMSNormalization` (opset 23), y = x / √(mean(x²) + ε) · scale over the
/// dims from `axis`: per row of n, n squares, n − 1 additions and a
/// division for the mean, ε added, a square root and a reciprocal (2n + 3),
/// then n multiplies to normalise and n by the scale: 4n + 3.
fn rms_norm(ctx: &mut NodeCtx) -> RuleResult {
    let x = ctx.shape(0)?.to_vec();
    let rank = x.len();
    let axis = ctx.attr_int("axis", -1)?;
    let a = shape::normalize_axis(axis, rank)
        .ok_or_else(|| OpError::Invalid(format!("axis {axis} is out of range for rank {rank}")))?;
    ctx.set_output(0, ctx.dtype(0), x);
    let dims = ctx.known_shape(0)?;
    let rows = product(&dims[..a])?;
    let n = product(&dims[a..])?;
    let flops = group_cost(&rows, &n, 4, 3)?;
    ctx.add_flops(&flops)
}

/// `InstanceNormalization`: per (N, C) instance of n spatial elements,
/// statistics and normalisation 5n + 3, scale and bias 2n → 7n + 3.
fn instance_norm(ctx: &mut NodeCtx) -> RuleResult {
    let x = ctx.shape(0)?.to_vec();
    if x.len() < 2 {
        return Err(OpError::Invalid(format!(
            "input must have rank ≥ 2 (N, C, ...), got rank {}",
            x.len()
        )));
    }
    let c = x[1].clone();
    check_len(ctx, 1, "scale", &c, "channels")?;
    check_len(ctx, 2, "B", &c, "channels")?;
    ctx.set_output(0, ctx.dtype(0), x);
    let dims = ctx.known_shape(0)?;
    let instances = product(&dims[..2])?;
    let n = product(&dims[2..])?;
    let flops = group_cost(&instances, &n, 7, 3)?;
    ctx.add_flops(&flops)
}

/// `GroupNormalization` (opset 18, 21): C channels in `num_groups` groups;
/// per group of n = (C/G)·spatial elements 5n + 3, then scale and bias
/// 2 per element: N·G·(5n + 3) + 2·numel = 7·numel + 3·N·G. Scale and bias
/// have shape [C] from opset 21, [num_groups] in opset 18.
fn group_norm(ctx: &mut NodeCtx) -> RuleResult {
    let x = ctx.shape(0)?.to_vec();
    let groups = match ctx.attr("num_groups") {
        None => {
            return Err(OpError::Invalid(
                "attribute 'num_groups' is required".into(),
            ))
        }
        Some(_) => ctx.attr_int("num_groups", 0)?,
    };
    if groups < 1 {
        return Err(OpError::Invalid(format!(
            "attribute 'num_groups' must be positive, got {groups}"
        )));
    }
    if x.len() < 2 {
        return Err(OpError::Invalid(format!(
            "input must have rank ≥ 2 (N, C, ...), got rank {}",
            x.len()
        )));
    }
    let c = x[1].clone();
    if let Some(cv) = c.as_i64() {
        if cv % groups != 0 {
            return Err(OpError::Invalid(format!(
                "{cv} channels do not divide into {groups} groups"
            )));
        }
    }
    let (expected, of) = if ctx.opset >= 21 {
        (c.clone(), "channels")
    } else {
        (Dim::int(groups), "groups")
    };
    check_len(ctx, 1, "scale", &expected, of)?;
    check_len(ctx, 2, "bias", &expected, of)?;
    ctx.set_output(0, ctx.dtype(0), x.clone());
    let numel = ctx.numel(0)?;
    if numel.as_constant() == Some(0) {
        return Ok(());
    }
    let n_g = known(ctx, &x[0])?.checked_scale(groups as i128)?;
    let flops = numel
        .checked_scale(7)?
        .checked_add(&n_g.checked_scale(3)?)?;
    ctx.add_flops(&flops)
}

/// `LpNormalization`: each vector of n along `axis` (default −1) divided by
/// its p-norm. p = 2: n squares, n − 1 adds, 1 sqrt, n divides = 3n;
/// p = 1: n abs, n − 1 adds, n divides = 3n − 1.
fn lp_norm(ctx: &mut NodeCtx) -> RuleResult {
    let x = ctx.shape(0)?.to_vec();
    let rank = x.len();
    let axis = ctx.attr_int("axis", -1)?;
    let a = shape::normalize_axis(axis, rank)
        .ok_or_else(|| OpError::Invalid(format!("axis {axis} is out of range for rank {rank}")))?;
    let (per, offset) = match ctx.attr_int("p", 2)? {
        2 => (3, 0),
        1 => (3, -1),
        p => {
            return Err(OpError::Invalid(format!(
                "attribute 'p' must be 1 or 2, got {p}"
            )))
        }
    };
    ctx.set_output(0, ctx.dtype(0), x);
    let dims = ctx.known_shape(0)?;
    let vectors = product(
        dims.iter()
            .enumerate()
            .filter(|&(i, _)| i != a)
            .map(|(_, d)| d),
    )?;
    let n = product(&dims[a..=a])?;
    let flops = group_cost(&vectors, &n, per, offset)?;
    ctx.add_flops(&flops)
}

/// `MeanVarianceNormalization`: (X − mean)/√(var + ε) over `axes` (default
/// [0, 2, 3]); per group of n = product of those dims: mean n, centring n,
/// variance 2n, inverse std 3, normalise n = 5n + 3.
fn mean_variance_norm(ctx: &mut NodeCtx) -> RuleResult {
    let x = ctx.shape(0)?.to_vec();
    let rank = x.len();
    let axes = ctx
        .attr_ints("axes")?
        .map_or(vec![0, 2, 3], <[i64]>::to_vec);
    let mut reduced = vec![false; rank];
    for &a in &axes {
        let i = shape::normalize_axis(a, rank).ok_or_else(|| {
            OpError::Invalid(format!(
                "axis {a} in 'axes' is out of range for rank {rank}"
            ))
        })?;
        if std::mem::replace(&mut reduced[i], true) {
            return Err(OpError::Invalid(format!(
                "axis {a} is given twice in 'axes'"
            )));
        }
    }
    ctx.set_output(0, ctx.dtype(0), x);
    let dims = ctx.known_shape(0)?;
    let pick = |want: bool| {
        product(
            dims.iter()
                .zip(&reduced)
                .filter(|(_, &r)| r == want)
                .map(|(d, _)| d),
        )
    };
    let (n, groups) = (pick(true)?, pick(false)?);
    let flops = group_cost(&groups, &n, 5, 3)?;
    ctx.add_flops(&flops)
}

/// `LRN`: x / (bias + α/size · Σ x²)^β over `size` neighbouring channels.
/// Per element: size squares, size − 1 adds, multiply by α/size, add bias,
/// power β, divide = 2·size + 3. Convention: the full window is counted at
/// the channel borders too (as if zero-padded).
fn lrn(ctx: &mut NodeCtx) -> RuleResult {
    let size = match ctx.attr("size") {
        None => return Err(OpError::Invalid("attribute 'size' is required".into())),
        Some(_) => ctx.attr_int("size", 0)?,
    };
    if size < 1 {
        return Err(OpError::Invalid(format!(
            "attribute 'size' must be positive, got {size}"
        )));
    }
    let x = ctx.shape(0)?.to_vec();
    ctx.set_output(0, ctx.dtype(0), x);
    let n = ctx.numel(0)?;
    ctx.add_flops_per(&n, 2 * size as i128 + 3)
}

#[cfg(test)]
mod tests {
    use crate::graph::DType;
    use crate::ops::testing::NodeTest;
    use crate::report::NodeStatus;

    fn incomplete(r: &crate::ops::testing::Outcome, needle: &str) -> bool {
        matches!(r.status(), NodeStatus::Incomplete { reason: m, .. } if m.contains(needle))
    }

    /// ResNet's first BN on 1x64x112x112: 2·802,816 + 5·64 = 1,605,952.
    /// Params 128 (γ, β), buffers 128 (running mean, var) — the article's
    /// "2n parameters for n channels".
    #[test]
    fn batch_norm_resnet() {
        let r = NodeTest::new("BatchNormalization")
            .input(&[1, 64, 112, 112])
            .weight(&[64])
            .weight(&[64])
            .weight(&[64])
            .weight(&[64])
            .run();
        assert_eq!(r.shape(0), "1x64x112x112");
        assert_eq!(r.flops(), 1_605_952);
        assert_eq!(r.params(), 128);
        assert_eq!(r.buffers(), 128);
        assert_eq!(r.macs(), 0);
    }

    /// Symbolic batch: [batch, 32, 10] → 2·320·batch + 160 = 640·batch + 160.
    /// Training mode (opset 15): outputs 1, 2 have shape [32].
    #[test]
    fn batch_norm_symbolic_and_training_outputs() {
        let r = NodeTest::new("BatchNormalization")
            .opset(15)
            .input_sym(&["batch", "32", "10"])
            .weight(&[32])
            .weight(&[32])
            .weight(&[32])
            .weight(&[32])
            .int("training_mode", 1)
            .run_outputs(3);
        assert_eq!(r.shape(0), "batchx32x10");
        assert_eq!(r.shape(1), "32");
        assert_eq!(r.shape(2), "32");
        assert_eq!(r.flops_expr(), "640*batch + 160");
        // Opset 6 with the legacy 'spatial' attribute: same count.
        let old = NodeTest::new("BatchNormalization")
            .opset(6)
            .input(&[2, 3])
            .weight(&[3])
            .weight(&[3])
            .weight(&[3])
            .weight(&[3])
            .int("spatial", 1)
            .run();
        assert_eq!(old.flops(), 2 * 6 + 5 * 3);
        // Rank 1: C = 1, 2·5 + 5.
        let r1 = NodeTest::new("BatchNormalization")
            .input(&[5])
            .weight(&[1])
            .weight(&[1])
            .weight(&[1])
            .weight(&[1])
            .run();
        assert_eq!(r1.flops(), 15);
    }

    #[test]
    fn batch_norm_errors() {
        let r = NodeTest::new("BatchNormalization")
            .input(&[1, 64, 8, 8])
            .weight(&[32])
            .weight(&[64])
            .weight(&[64])
            .weight(&[64])
            .run();
        assert!(incomplete(&r, "scale"));
        let s = NodeTest::new("BatchNormalization").input(&[]).run();
        assert!(incomplete(&s, "rank"));
    }

    /// BERT-base LayerNorm over [batch, seq, 768], axis −1 with bias:
    /// (7·768 + 3)·batch·seq = 5379·batch·seq; 1536 params.
    #[test]
    fn layer_norm_bert() {
        let r = NodeTest::new("LayerNormalization")
            .input_sym(&["batch", "seq", "768"])
            .weight(&[768])
            .weight(&[768])
            .run_outputs(3);
        assert_eq!(r.shape(0), "batchxseqx768");
        assert_eq!(r.flops_expr(), "5379*batch*seq");
        assert_eq!(r.params(), 1536);
        assert_eq!(r.shape(1), "batchxseqx1");
        assert_eq!(r.shape(2), "batchxseqx1");
        assert_eq!(r.node().outputs[1].dtype, Some(DType::F32));
    }

    /// Llama's RMSNorm over [batch, seq, 64]: 4·64 + 3 = 259 per row.
    #[test]
    fn rms_norm_llama() {
        let r = NodeTest::new("RMSNormalization")
            .opset(23)
            .input_sym(&["batch", "seq", "64"])
            .weight(&[64])
            .run();
        assert_eq!(r.shape(0), "batchxseqx64");
        assert_eq!(r.flops_expr(), "259*batch*seq");
        assert_eq!(r.params(), 64);
        // axis 1 of [2, 3, 4]: rows 2, n = 12 → 2·(48 + 3) = 102.
        let r = NodeTest::new("RMSNormalization")
            .opset(23)
            .input(&[2, 3, 4])
            .weight(&[3, 4])
            .int("axis", 1)
            .run();
        assert_eq!(r.flops(), 102);
    }

    /// No bias: 6n + 3. [2, 4, 8] with axis 1: rows 2, n = 32 →
    /// 2·(6·32 + 3) = 390. Mean shape 2x1x1.
    #[test]
    fn layer_norm_axis_and_no_bias() {
        let r = NodeTest::new("LayerNormalization")
            .input(&[2, 4, 8])
            .weight(&[4, 8])
            .int("axis", 1)
            .run_outputs(2);
        assert_eq!(r.flops(), 390);
        assert_eq!(r.shape(1), "2x1x1");
        let bad = NodeTest::new("LayerNormalization")
            .input(&[2, 4])
            .weight(&[4])
            .int("axis", 2)
            .run();
        assert!(incomplete(&bad, "axis 2"));
        let stash = NodeTest::new("LayerNormalization")
            .input(&[2, 4])
            .weight(&[4])
            .int("stash_type", 7)
            .run();
        assert!(incomplete(&stash, "stash_type"));
    }

    /// InstanceNorm on 2x3x4x4: 6 instances of n = 16 → 6·(7·16 + 3) = 690.
    #[test]
    fn instance_norm() {
        let r = NodeTest::new("InstanceNormalization")
            .input(&[2, 3, 4, 4])
            .weight(&[3])
            .weight(&[3])
            .run();
        assert_eq!(r.shape(0), "2x3x4x4");
        assert_eq!(r.flops(), 690);
        assert_eq!(r.params(), 6);
        let sym = NodeTest::new("InstanceNormalization")
            .input_sym(&["batch", "3", "h", "w"])
            .weight(&[3])
            .weight(&[3])
            .run();
        assert_eq!(sym.flops_expr(), "21*batch*h*w + 9*batch");
        let bad = NodeTest::new("InstanceNormalization")
            .input(&[2, 3, 4, 4])
            .weight(&[4])
            .weight(&[3])
            .run();
        assert!(incomplete(&bad, "scale"));
    }

    /// GroupNorm, 32 groups on 1x64x8x8 (4096 elements): per group n = 128,
    /// 32·(5·128 + 3) + 2·4096 = 20,576 + 8,192 = 28,768. Opset 21: scale
    /// and bias [64] (128 params); opset 18: [32].
    #[test]
    fn group_norm_opsets() {
        let r = NodeTest::new("GroupNormalization")
            .opset(21)
            .input(&[1, 64, 8, 8])
            .weight(&[64])
            .weight(&[64])
            .int("num_groups", 32)
            .run();
        assert_eq!(r.shape(0), "1x64x8x8");
        assert_eq!(r.flops(), 28_768);
        assert_eq!(r.params(), 128);
        let old = NodeTest::new("GroupNormalization")
            .opset(18)
            .input(&[1, 64, 8, 8])
            .weight(&[32])
            .weight(&[32])
            .int("num_groups", 32)
            .run();
        assert_eq!(old.flops(), 28_768);
        let wrong = NodeTest::new("GroupNormalization")
            .opset(21)
            .input(&[1, 64, 8, 8])
            .weight(&[32])
            .weight(&[32])
            .int("num_groups", 32)
            .run();
        assert!(incomplete(&wrong, "channels"));
        let sym = NodeTest::new("GroupNormalization")
            .opset(21)
            .input_sym(&["batch", "64", "8", "8"])
            .weight(&[64])
            .weight(&[64])
            .int("num_groups", 32)
            .run();
        assert_eq!(sym.flops_expr(), "28768*batch");
        let indivisible = NodeTest::new("GroupNormalization")
            .input(&[1, 6, 2])
            .weight(&[4])
            .weight(&[4])
            .int("num_groups", 4)
            .run();
        assert!(incomplete(&indivisible, "divide"));
        let missing = NodeTest::new("GroupNormalization")
            .input(&[1, 6, 2])
            .weight(&[6])
            .weight(&[6])
            .run();
        assert!(incomplete(&missing, "num_groups"));
    }

    /// LpNormalization p = 2 over the last axis of 4x10: 4 vectors of 10 →
    /// 4·30 = 120; p = 1: 4·29 = 116; axis 0: 10 vectors of 4, p = 2 → 120.
    #[test]
    fn lp_norm() {
        assert_eq!(
            NodeTest::new("LpNormalization")
                .input(&[4, 10])
                .run()
                .flops(),
            120
        );
        assert_eq!(
            NodeTest::new("LpNormalization")
                .input(&[4, 10])
                .int("p", 1)
                .run()
                .flops(),
            116
        );
        assert_eq!(
            NodeTest::new("LpNormalization")
                .input(&[4, 10])
                .int("axis", 0)
                .int("p", 1)
                .run()
                .flops(),
            10 * 11
        );
        let bad = NodeTest::new("LpNormalization")
            .input(&[4, 10])
            .int("p", 3)
            .run();
        assert!(incomplete(&bad, "'p'"));
    }

    /// MVN default axes [0, 2, 3] on 2x3x4x5: 3 groups of n = 40 →
    /// 3·(5·40 + 3) = 609. axes [2, 3]: 6 groups of 20 → 6·103 = 618.
    #[test]
    fn mean_variance_norm() {
        let r = NodeTest::new("MeanVarianceNormalization")
            .input(&[2, 3, 4, 5])
            .run();
        assert_eq!(r.shape(0), "2x3x4x5");
        assert_eq!(r.flops(), 609);
        let hw = NodeTest::new("MeanVarianceNormalization")
            .input(&[2, 3, 4, 5])
            .ints_attr("axes", &[2, -1])
            .run();
        assert_eq!(hw.flops(), 618);
        let bad = NodeTest::new("MeanVarianceNormalization")
            .input(&[2, 3])
            .run();
        assert!(incomplete(&bad, "out of range"));
        let dup = NodeTest::new("MeanVarianceNormalization")
            .input(&[2, 3])
            .ints_attr("axes", &[1, 1])
            .run();
        assert!(incomplete(&dup, "twice"));
    }

    /// AlexNet's LRN, size 5, on 1x96x55x55 (290,400 elements):
    /// (2·5 + 3)·290,400 = 3,775,200.
    #[test]
    fn lrn_alexnet() {
        let r = NodeTest::new("LRN")
            .input(&[1, 96, 55, 55])
            .int("size", 5)
            .float("alpha", 1e-4)
            .float("beta", 0.75)
            .run();
        assert_eq!(r.shape(0), "1x96x55x55");
        assert_eq!(r.flops(), 3_775_200);
        let missing = NodeTest::new("LRN").input(&[1, 4, 2, 2]).run();
        assert!(incomplete(&missing, "size"));
        let zero = NodeTest::new("LRN")
            .input(&[1, 4, 2, 2])
            .int("size", 0)
            .run();
        assert!(incomplete(&zero, "positive"));
    }
}
