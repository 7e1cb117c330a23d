//! `Softmax`, `LogSoftmax` and `Hardmax`.
//!
//! Rows: before opset 13 the input is coerced to 2-D at `axis` (default 1):
//! rows = product of the dims before `axis`, n = product of the dims from
//! `axis` on. From opset 13, `axis` (default −1) names the single axis of
//! length n; every other position is a row.
//!
//! Cost per row of n, numerically stable form:
//! - Softmax: max (n − 1 comparisons), n subtractions, n exps, n − 1 adds,
//!   n divisions = 5n − 2;
//! - LogSoftmax: max (n − 1), n subtractions, n exps, n − 1 adds, 1 log,
//!   n subtractions = 5n − 1;
//! - Hardmax: the argmax, n − 1 comparisons (writing the one-hot row is data
//!   movement).
//!
//! The losses, over `M` target positions (`N·d1·…·dk`, the labels' elements)
//! of `C` classes:
//! - NegativeLogLikelihoodLoss: picking `input[n, target, d…]` is a gather
//!   (free); per position 1 negation, and 1 multiplication by the class
//!   weight when a weight is given. `reduction = sum` adds `M − 1`;
//!   `mean` adds `M − 1` and divides once, by `M`, or with a weight by the sum
//!   of the picked weights (`M − 1` more additions). `none` keeps the `M`
//!   losses (the labels' shape); `sum` and `mean` give a scalar.
//! - SoftmaxCrossEntropyLoss: a LogSoftmax over the class axis (`M` rows of
//!   `C`: `M·(5C − 1)`), then the NegativeLogLikelihoodLoss above. Its second
//!   output, when asked for, is the log-probabilities (the scores' shape).

use super::reduce::group_cost;
use super::{product, NodeCtx, OpDef, OpError, Role, RuleResult};
use crate::poly::Poly;
use crate::shape;

pub const OPS: &[OpDef] = &[
    OpDef {
        op_type: "Softmax",
        domain: "",
        rule: softmax::<5, { -2 }>,
        roles: &[],
        cost_doc: "FLOPs = rows·(5n − 2): max n − 1, n subs, n exps, n − 1 adds, n divides per row of n",
    },
    OpDef {
        op_type: "LogSoftmax",
        domain: "",
        rule: softmax::<5, { -1 }>,
        roles: &[],
        cost_doc: "FLOPs = rows·(5n − 1): max n − 1, n subs, n exps, n − 1 adds, 1 log, n subs per row of n",
    },
    OpDef {
        op_type: "Hardmax",
        domain: "",
        rule: softmax::<1, { -1 }>,
        roles: &[],
        cost_doc: "FLOPs = rows·(n − 1): n − 1 comparisons per row of n",
    },
    OpDef {
        op_type: "NegativeLogLikelihoodLoss",
        domain: "",
        rule: nll_loss,
        roles: &[Role::Data, Role::Config, Role::Config],
        cost_doc: "M target positions: M negations (+ M weight products); sum + (M − 1), mean + (M − 1) + 1 (+ (M − 1) to sum the weights)",
    },
    OpDef {
        op_type: "SoftmaxCrossEntropyLoss",
        domain: "",
        rule: softmax_cross_entropy,
        roles: &[Role::Data, Role::Config, Role::Config],
        cost_doc: "LogSoftmax over C classes at M positions, M·(5C − 1), plus NegativeLogLikelihoodLoss's cost",
    },
];

/// Shape and cost of the loss part shared by the two losses: input 0 is
/// `[N, C, d1, …]`, input 1 the labels `[N, d1, …]`, optional input 2 the
/// per-class weights. Returns `M`, the number of label positions.
fn loss_common(ctx: &mut NodeCtx) -> Result<Poly, OpError> {
    let x = ctx.shape(0)?;
    let t = ctx.shape(1)?;
    if x.len() < 2 || t.len() + 1 != x.len() {
        return Err(OpError::Invalid(format!(
            "input of rank {} and target of rank {}: the target must have the input's rank − 1 (input [N, C, d…], target [N, d…])",
            x.len(),
            t.len()
        )));
    }
    let mut labels: shape::Shape = x[..1].to_vec();
    labels.extend_from_slice(&x[2..]);
    // The input's dims where the target's are unknown, and the reverse.
    let out: shape::Shape = labels
        .iter()
        .zip(t)
        .map(|(a, b)| if a.is_known() { a.clone() } else { b.clone() })
        .collect();
    let reduction = ctx.attr_str("reduction")?.unwrap_or("mean").to_string();
    let dtype = ctx.dtype(0);
    match reduction.as_str() {
        "none" => ctx.set_output(0, dtype, out.clone()),
        "sum" | "mean" => ctx.set_output(0, dtype, Vec::new()),
        other => {
            return Err(OpError::Invalid(format!(
                "reduction '{other}' is not none, sum or mean"
            )))
        }
    }
    let dims: Option<Vec<Poly>> = out.iter().map(|d| d.poly().cloned()).collect();
    let Some(dims) = dims else {
        return Err(OpError::UnknownInput {
            index: 1,
            name: "target".into(),
        });
    };
    let m = product(&dims)?;
    let weighted = ctx.has_input(2);
    let per = if weighted { 2 } else { 1 };
    let mut flops = m.checked_scale(per)?;
    let m1 = if m.is_zero() {
        Poly::ZERO
    } else {
        m.checked_sub(&Poly::constant(1))?
    };
    match reduction.as_str() {
        "sum" => flops = flops.checked_add(&m1)?,
        "mean" => {
            flops = flops.checked_add(&m1)?.checked_add(&Poly::constant(1))?;
            if weighted {
                flops = flops.checked_add(&m1)?;
            }
        }
        _ => {}
    }
    ctx.add_flops(&flops)?;
    Ok(m)
}

fn nll_loss(ctx: &mut NodeCtx) -> RuleResult {
    loss_common(ctx).map(|_| ())
}

fn softmax_cross_entropy(ctx: &mut NodeCtx) -> RuleResult {
    let x = ctx.shape(0)?.to_vec();
    if ctx.num_outputs() > 1 {
        ctx.set_output(1, ctx.dtype(0), x.clone());
    }
    let m = loss_common(ctx)?;
    let c = ctx.known_shape(0)?[1].clone();
    ctx.add_flops(&group_cost(&m, &c, 5, -1)?)
}

/// Output has the input's shape and dtype; `A·n + B` FLOPs per row (see the
/// module documentation for rows and n by opset).
fn softmax<const A: i128, const B: i128>(ctx: &mut NodeCtx) -> RuleResult {
    let x = ctx.shape(0)?.to_vec();
    ctx.set_output(0, ctx.dtype(0), x);
    let (rows, n) = softmax_rows(ctx, ctx.opset)?;
    let flops = group_cost(&rows, &n, A, B)?;
    ctx.add_flops(&flops)
}

/// The rows a softmax of input 0 normalises and their length `n`, by the
/// semantics of Softmax at `opset`: before 13 the input is coerced to 2-D
/// at `axis` (default 1), from 13 one axis (default −1) is normalised.
pub(super) fn softmax_rows(ctx: &NodeCtx, opset: i64) -> Result<(Poly, Poly), OpError> {
    let rank = ctx.shape(0)?.len();
    let legacy = opset < 13;
    let axis = ctx.attr_int("axis", if legacy { 1 } else { -1 })?;
    let a = shape::normalize_axis(axis, rank)
        .ok_or_else(|| OpError::Invalid(format!("axis {axis} is out of range for rank {rank}")))?;
    let dims = ctx.known_shape(0)?;
    let (rows, n) = if legacy {
        (product(&dims[..a])?, product(&dims[a..])?)
    } else {
        let others = dims
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != a)
            .map(|(_, d)| d);
        (product(others)?, product(&dims[a..=a])?)
    };
    Ok((rows, n))
}

#[cfg(test)]
mod tests {
    use crate::ops::testing::NodeTest;
    use crate::report::NodeStatus;

    /// Classifier head 1x1000: one row of 1000 → 5·1000 − 2 = 4998.
    #[test]
    fn softmax_classifier() {
        let r = NodeTest::new("Softmax").input(&[1, 1000]).run();
        assert_eq!(r.shape(0), "1x1000");
        assert_eq!(r.flops(), 4998);
        assert_eq!(r.macs(), 0);
        let l = NodeTest::new("LogSoftmax").input(&[1, 1000]).run();
        assert_eq!(l.flops(), 4999);
        let h = NodeTest::new("Hardmax").input(&[1, 1000]).run();
        assert_eq!(h.flops(), 999);
    }

    /// Attention scores [batch, 12, seq, seq], opset 13, axis −1: rows
    /// 12·batch·seq of n = seq → 12·batch·seq·(5·seq − 2).
    #[test]
    fn attention_symbolic() {
        let r = NodeTest::new("Softmax")
            .opset(13)
            .input_sym(&["batch", "12", "seq", "seq"])
            .run();
        assert_eq!(r.shape(0), "batchx12xseqxseq");
        assert_eq!(r.flops_expr(), "60*batch*seq^2 - 24*batch*seq");
    }

    /// Opset 11 on 2x3x4 with the default axis 1: coerced to 2x12, two rows
    /// of 12 → 2·(60 − 2) = 116. Opset 13 default axis −1: 6 rows of 4 →
    /// 6·18 = 108. Opset 13 axis 1: 8 rows of 3 → 8·13 = 104.
    #[test]
    fn opset_variants() {
        let old = NodeTest::new("Softmax").opset(11).input(&[2, 3, 4]).run();
        assert_eq!(old.flops(), 116);
        let new = NodeTest::new("Softmax").opset(13).input(&[2, 3, 4]).run();
        assert_eq!(new.flops(), 108);
        let mid = NodeTest::new("Softmax")
            .opset(13)
            .input(&[2, 3, 4])
            .int("axis", 1)
            .run();
        assert_eq!(mid.flops(), 104);
        // Opset 11 with axis −1: 6 rows of 4, like opset 13's default.
        let neg = NodeTest::new("LogSoftmax")
            .opset(11)
            .input(&[2, 3, 4])
            .int("axis", -1)
            .run();
        assert_eq!(neg.flops(), 6 * 19);
        // Opset 1 axis 0: a single row of 24 → 24 − 1 comparisons.
        let h = NodeTest::new("Hardmax")
            .opset(1)
            .input(&[2, 3, 4])
            .int("axis", 0)
            .run();
        assert_eq!(h.flops(), 23);
    }

    /// NLL over input 3x5 (N = 3, C = 5), target [3]: M = 3. Mean without
    /// weights: 3 negations + 2 adds + 1 divide = 6; with weights: 3 + 3 +
    /// 2 + 1 + 2 = 11; none keeps [3]: 3; sum 3 + 2 = 5.
    /// SoftmaxCrossEntropyLoss adds the LogSoftmax 3·(5·5 − 1) = 72.
    #[test]
    fn losses() {
        let r = NodeTest::new("NegativeLogLikelihoodLoss")
            .input(&[3, 5])
            .input(&[3])
            .run();
        assert_eq!(r.shape(0), "scalar");
        assert_eq!(r.flops(), 6);
        let w = NodeTest::new("NegativeLogLikelihoodLoss")
            .input(&[3, 5])
            .input(&[3])
            .input(&[5])
            .run();
        assert_eq!(w.flops(), 11);
        let n = NodeTest::new("NegativeLogLikelihoodLoss")
            .input(&[3, 5, 2])
            .input(&[3, 2])
            .string("reduction", "none")
            .run();
        assert_eq!(n.shape(0), "3x2");
        assert_eq!(n.flops(), 6);
        let s = NodeTest::new("NegativeLogLikelihoodLoss")
            .input(&[3, 5])
            .input(&[3])
            .string("reduction", "sum")
            .run();
        assert_eq!(s.flops(), 5);
        let ce = NodeTest::new("SoftmaxCrossEntropyLoss")
            .input(&[3, 5])
            .input(&[3])
            .run_outputs(2);
        assert_eq!(ce.shape(0), "scalar");
        assert_eq!(ce.shape(1), "3x5");
        assert_eq!(ce.flops(), 6 + 72);
        let bad = NodeTest::new("NegativeLogLikelihoodLoss")
            .input(&[3, 5])
            .input(&[3, 5])
            .run();
        assert!(
            matches!(bad.status(), NodeStatus::Incomplete { reason: m, .. } if m.contains("rank"))
        );
    }

    #[test]
    fn errors() {
        let r = NodeTest::new("Softmax")
            .opset(13)
            .input(&[2, 3])
            .int("axis", 2)
            .run();
        assert!(
            matches!(r.status(), NodeStatus::Incomplete { reason: m, .. } if m.contains("axis 2"))
        );
        let s = NodeTest::new("Softmax").opset(13).input(&[]).run();
        assert!(
            matches!(s.status(), NodeStatus::Incomplete { reason: m, .. } if m.contains("out of range"))
        );
        let u = NodeTest::new("Softmax").input_unknown().run();
        assert!(
            matches!(u.status(), NodeStatus::Incomplete { reason: m, .. } if m.contains("in0"))
        );
        // Empty rows cost nothing.
        let e = NodeTest::new("Softmax").opset(13).input(&[3, 0]).run();
        assert_eq!(e.flops(), 0);
    }
}
