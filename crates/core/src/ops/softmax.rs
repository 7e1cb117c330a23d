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

use super::reduce::group_cost;
use super::{product, NodeCtx, OpDef, OpError, RuleResult};
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
];

/// Output has the input's shape and dtype; `A·n + B` FLOPs per row (see the
/// module documentation for rows and n by opset).
fn softmax<const A: i128, const B: i128>(ctx: &mut NodeCtx) -> RuleResult {
    let x = ctx.shape(0)?.to_vec();
    let rank = x.len();
    let legacy = ctx.opset < 13;
    let axis = ctx.attr_int("axis", if legacy { 1 } else { -1 })?;
    let a = shape::normalize_axis(axis, rank)
        .ok_or_else(|| OpError::Invalid(format!("axis {axis} is out of range for rank {rank}")))?;
    ctx.set_output(0, ctx.dtype(0), x);
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
    let flops = group_cost(&rows, &n, A, B)?;
    ctx.add_flops(&flops)
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

    #[test]
    fn errors() {
        let r = NodeTest::new("Softmax")
            .opset(13)
            .input(&[2, 3])
            .int("axis", 2)
            .run();
        assert!(matches!(r.status(), NodeStatus::Incomplete(m) if m.contains("axis 2")));
        let s = NodeTest::new("Softmax").opset(13).input(&[]).run();
        assert!(matches!(s.status(), NodeStatus::Incomplete(m) if m.contains("out of range")));
        let u = NodeTest::new("Softmax").input_unknown().run();
        assert!(matches!(u.status(), NodeStatus::Incomplete(m) if m.contains("in0")));
        // Empty rows cost nothing.
        let e = NodeTest::new("Softmax").opset(13).input(&[3, 0]).run();
        assert_eq!(e.flops(), 0);
    }
}
