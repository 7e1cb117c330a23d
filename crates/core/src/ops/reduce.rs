//! Reductions: `ReduceSum`, `ReduceMean`, `ReduceMax`, `ReduceMin`,
//! `ReduceProd`, `ReduceL1`, `ReduceL2`, `ReduceLogSum`, `ReduceLogSumExp`,
//! `ReduceSumSquare`, and `ArgMax`/`ArgMin`.
//!
//! Cost: with n the number of elements reduced into one output, each output
//! costs `a·n + b` FLOPs for a per-operator `(a, b)` (e.g. ReduceSum n − 1
//! adds); total = outputs × (a·n + b). n may be symbolic (`seq`); the
//! polynomial then assumes n ≥ 1. An empty reduction (n = 0) costs 0.
//!
//! Axes: the `axes` attribute before opset 13 (ReduceSum) or 18 (the
//! others); from then an optional input 1 with `noop_with_empty_axes`.
//! Absent or empty axes reduce every axis, unless `noop_with_empty_axes`
//! is set: then no axis is reduced and each output "reduces" its single
//! element (n = 1: ReduceSumSquare still squares, ReduceL2 squares and takes
//! the root, as the ONNX reference does).

use super::{product, NodeCtx, OpDef, OpError, Role, RuleResult};
use crate::graph::DType;
use crate::poly::Poly;
use crate::shape::{self, Dim, Shape};
use crate::value::{round_to_dtype, ConstValue};

/// A reduction costing `$a·n + $b` FLOPs per output.
macro_rules! reduce_op {
    ($op:literal, $a:literal, $b:literal, $doc:literal) => {
        OpDef {
            op_type: $op,
            domain: "",
            rule: reduce::<$a, { $b }>,
            roles: AXES_ROLES,
            cost_doc: $doc,
        }
    };
}

/// The axes input is configuration.
const AXES_ROLES: &[Role] = &[Role::Data, Role::Config];

pub const OPS: &[OpDef] = &[
    reduce_op!(
        "ReduceSum",
        1,
        -1,
        "FLOPs = outputs·(n − 1): n − 1 adds per output of n reduced elements"
    ),
    reduce_op!(
        "ReduceMean",
        1,
        0,
        "FLOPs = outputs·n: n − 1 adds and 1 divide per output"
    ),
    reduce_op!(
        "ReduceMax",
        1,
        -1,
        "FLOPs = outputs·(n − 1): n − 1 comparisons per output"
    ),
    reduce_op!(
        "ReduceMin",
        1,
        -1,
        "FLOPs = outputs·(n − 1): n − 1 comparisons per output"
    ),
    reduce_op!(
        "ReduceProd",
        1,
        -1,
        "FLOPs = outputs·(n − 1): n − 1 multiplies per output"
    ),
    reduce_op!(
        "ReduceL1",
        2,
        -1,
        "FLOPs = outputs·(2n − 1): n abs, n − 1 adds per output"
    ),
    reduce_op!(
        "ReduceL2",
        2,
        0,
        "FLOPs = outputs·2n: n squares, n − 1 adds, 1 sqrt per output"
    ),
    reduce_op!(
        "ReduceSumSquare",
        2,
        -1,
        "FLOPs = outputs·(2n − 1): n squares, n − 1 adds per output"
    ),
    reduce_op!(
        "ReduceLogSum",
        1,
        0,
        "FLOPs = outputs·n: n − 1 adds, 1 log per output"
    ),
    reduce_op!(
        "ReduceLogSumExp",
        2,
        0,
        "FLOPs = outputs·2n: n exps, n − 1 adds, 1 log per output"
    ),
    OpDef {
        op_type: "ArgMax",
        domain: "",
        rule: arg_reduce,
        roles: &[],
        cost_doc: "FLOPs = outputs·(n − 1): n − 1 comparisons along the axis; output int64",
    },
    OpDef {
        op_type: "ArgMin",
        domain: "",
        rule: arg_reduce,
        roles: &[],
        cost_doc: "FLOPs = outputs·(n − 1): n − 1 comparisons along the axis; output int64",
    },
];

/// `groups · (a·n + b)`, checked: the cost of `groups` independent
/// reductions (or normalisations) of `n` elements each. A group known to be
/// empty (n = 0) costs nothing, so `n − 1` never goes negative.
pub(super) fn group_cost(groups: &Poly, n: &Poly, a: i128, b: i128) -> Result<Poly, OpError> {
    if n.as_constant() == Some(0) {
        return Ok(Poly::ZERO);
    }
    let per = n.checked_scale(a)?.checked_add(&Poly::constant(b))?;
    Ok(groups.checked_mul(&per)?)
}

/// Which axes a Reduce* node reduces; `None` when they are computed at run
/// time (the output's rank is still set when it can be).
fn reduced_axes(ctx: &mut NodeCtx, rank: usize, keepdims: bool) -> Result<Vec<bool>, OpError> {
    let from_input = if ctx.node.op_type == "ReduceSum" {
        ctx.opset >= 13
    } else {
        ctx.opset >= 18
    };
    let axes: Vec<i64> = if !from_input {
        ctx.attr_ints("axes")?
            .map(<[i64]>::to_vec)
            .unwrap_or_default()
    } else if !ctx.has_input(1) {
        Vec::new()
    } else if let Some(v) = ctx.ints_value(1) {
        v
    } else if ctx.numel(1).ok().and_then(|n| n.as_constant()) == Some(0) {
        Vec::new()
    } else {
        // Unknown axes: the rank is known with keepdims, or from the number
        // of axes without.
        let count = ctx
            .numel(1)
            .ok()
            .and_then(|n| n.as_i64())
            .and_then(|k| usize::try_from(k).ok());
        let out_rank = if keepdims {
            Some(rank)
        } else {
            count.and_then(|k| rank.checked_sub(k))
        };
        if let Some(r) = out_rank {
            ctx.set_output(0, ctx.dtype(0), vec![Dim::Unknown; r]);
        }
        return Err(OpError::DataDependent(
            "axes (input 1) are computed at run time".into(),
        ));
    };
    let noop = from_input && ctx.attr_int("noop_with_empty_axes", 0)? != 0;
    if axes.is_empty() {
        return Ok(vec![!noop; rank]);
    }
    axes_mask(&axes, rank)
}

/// Which of `rank` axes the (possibly negative) `axes` name; an axis out of
/// range or named twice is an error.
pub(super) fn axes_mask(axes: &[i64], rank: usize) -> Result<Vec<bool>, OpError> {
    let mut reduced = vec![false; rank];
    for &a in axes {
        let i = shape::normalize_axis(a, rank)
            .ok_or_else(|| OpError::Invalid(format!("axis {a} is out of range for rank {rank}")))?;
        if std::mem::replace(&mut reduced[i], true) {
            return Err(OpError::Invalid(format!("axis {a} is given twice")));
        }
    }
    Ok(reduced)
}

/// Reduce*: output keeps (as 1) or drops the reduced axes; `A·n + B` FLOPs
/// per output, n = product of the reduced dims (see [`OPS`]).
fn reduce<const A: i128, const B: i128>(ctx: &mut NodeCtx) -> RuleResult {
    let x = ctx.shape(0)?.to_vec();
    let keepdims = ctx.attr_int("keepdims", 1)? != 0;
    let reduced = reduced_axes(ctx, x.len(), keepdims)?;
    let out = reduce_shape(&x, &reduced, keepdims);
    ctx.set_output(0, ctx.dtype(0), out);
    if let Some(v) = reduced_value(ctx, &reduced) {
        ctx.set_output_value(0, v);
    }
    let dims = ctx.known_shape(0)?;
    let (n, outputs) = split_product(&dims, &reduced)?;
    let flops = group_cost(&outputs, &n, A, B)?;
    ctx.add_flops(&flops)
}

/// `ArgMax`/`ArgMin`: `axis` (default 0), `keepdims` (default 1),
/// `select_last_index` (opset 12, no effect on cost); int64 output.
/// n − 1 comparisons per output, n = dim[axis].
fn arg_reduce(ctx: &mut NodeCtx) -> RuleResult {
    let x = ctx.shape(0)?.to_vec();
    let axis = ctx.attr_int("axis", 0)?;
    let keepdims = ctx.attr_int("keepdims", 1)? != 0;
    ctx.attr_int("select_last_index", 0)?;
    let a = shape::normalize_axis(axis, x.len()).ok_or_else(|| {
        OpError::Invalid(format!("axis {axis} is out of range for rank {}", x.len()))
    })?;
    let reduced: Vec<bool> = (0..x.len()).map(|i| i == a).collect();
    ctx.set_output(0, Some(DType::I64), reduce_shape(&x, &reduced, keepdims));
    let dims = ctx.known_shape(0)?;
    let (n, outputs) = split_product(&dims, &reduced)?;
    let flops = group_cost(&outputs, &n, 1, -1)?;
    ctx.add_flops(&flops)
}

/// The reduction's elements when the input's are known and its shape
/// concrete (a shape computation such as `ReduceMin` of an image size):
/// ReduceMin, ReduceMax, ReduceSum, ReduceProd on integers (symbolic ones
/// too: min/max become expressions) and floats (rounded to the dtype),
/// ReduceMean on floats. Others give no value.
fn reduced_value(ctx: &NodeCtx, reduced: &[bool]) -> Option<ConstValue> {
    let v = ctx.value(0)?;
    let dims: Vec<usize> = ctx
        .shape(0)
        .ok()?
        .iter()
        .map(|d| d.as_i64().and_then(|x| usize::try_from(x).ok()))
        .collect::<Option<_>>()?;
    let total = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d))?;
    if total != v.len() || total == 0 {
        return None;
    }
    // For each input element, the index of the output it reduces into.
    let out_dims: Vec<usize> = dims
        .iter()
        .zip(reduced)
        .map(|(&d, &r)| if r { 1 } else { d })
        .collect();
    let outputs: usize = out_dims.iter().product();
    let target = |mut flat: usize| {
        let (mut idx, mut stride) = (0, 1);
        for a in (0..dims.len()).rev() {
            let i = flat % dims[a];
            flat /= dims[a];
            if !reduced[a] {
                idx += i * stride;
            }
            stride *= out_dims[a];
        }
        idx
    };
    let op = ctx.node.op_type.as_str();
    match v {
        ConstValue::Ints(e) => {
            let mut acc: Vec<Option<Dim>> = vec![None; outputs];
            for (k, x) in e.iter().enumerate() {
                let slot = &mut acc[target(k)];
                *slot = Some(match slot.take() {
                    None => x.clone(),
                    Some(a) => match op {
                        "ReduceMin" => a.min(x).ok()?,
                        "ReduceMax" => a.max(x).ok()?,
                        "ReduceSum" => a.add(x).ok()?,
                        "ReduceProd" => a.mul(x).ok()?,
                        _ => return None,
                    },
                });
            }
            if !matches!(op, "ReduceMin" | "ReduceMax" | "ReduceSum" | "ReduceProd") {
                return None;
            }
            Some(ConstValue::Ints(acc.into_iter().collect::<Option<_>>()?))
        }
        ConstValue::Floats(e) => {
            let dtype = ctx.dtype(0).filter(|d| d.is_float())?;
            let mut acc: Vec<Option<f64>> = vec![None; outputs];
            for (k, &x) in e.iter().enumerate() {
                let slot = &mut acc[target(k)];
                // Accumulated in the dtype, rounded at each step as a
                // runtime's float32 loop is.
                *slot = Some(match (*slot, op) {
                    (None, _) => x,
                    (Some(a), "ReduceMin") => a.min(x),
                    (Some(a), "ReduceMax") => a.max(x),
                    (Some(a), "ReduceSum" | "ReduceMean") => round_to_dtype(a + x, dtype)?,
                    (Some(a), "ReduceProd") => round_to_dtype(a * x, dtype)?,
                    _ => return None,
                });
            }
            let n = (total / outputs) as f64;
            let vals = acc
                .into_iter()
                .map(|a| {
                    let a = a?;
                    round_to_dtype(if op == "ReduceMean" { a / n } else { a }, dtype)
                })
                .collect::<Option<Vec<_>>>()?;
            ConstValue::floats(vals)
        }
    }
}

pub(super) fn reduce_shape(x: &[Dim], reduced: &[bool], keepdims: bool) -> Shape {
    x.iter()
        .zip(reduced)
        .filter_map(|(d, &r)| match (r, keepdims) {
            (false, _) => Some(d.clone()),
            (true, true) => Some(Dim::int(1)),
            (true, false) => None,
        })
        .collect()
}

/// (product of the reduced dims, product of the others).
pub(super) fn split_product(dims: &[Poly], reduced: &[bool]) -> Result<(Poly, Poly), OpError> {
    let pick = |want: bool| {
        product(
            dims.iter()
                .zip(reduced)
                .filter(|(_, &r)| r == want)
                .map(|(d, _)| d),
        )
    };
    Ok((pick(true)?, pick(false)?))
}

#[cfg(test)]
mod tests {
    use crate::graph::DType;
    use crate::ops::testing::incomplete;
    use crate::ops::testing::NodeTest;
    use crate::report::NodeStatus;

    /// Every reduction of 2x3x4 over axis 1 (n = 3) into 2x1x4 (8 outputs):
    /// FLOPs = 8·(a·3 + b).
    #[test]
    fn per_output_counts() {
        let table: &[(&str, i128)] = &[
            ("ReduceSum", 2),       // n − 1
            ("ReduceMean", 3),      // n
            ("ReduceMax", 2),       // n − 1
            ("ReduceMin", 2),       // n − 1
            ("ReduceProd", 2),      // n − 1
            ("ReduceL1", 5),        // 2n − 1
            ("ReduceL2", 6),        // 2n
            ("ReduceSumSquare", 5), // 2n − 1
            ("ReduceLogSum", 3),    // n
            ("ReduceLogSumExp", 6), // 2n
        ];
        for &(op, per) in table {
            let r = NodeTest::new(op)
                .opset(11)
                .input(&[2, 3, 4])
                .ints_attr("axes", &[1])
                .run();
            assert_eq!(r.shape(0), "2x1x4", "{op}");
            assert_eq!(r.flops(), 8 * per, "{op}");
            assert_eq!(r.macs(), 0, "{op}");
        }
    }

    /// ReduceMean over the last axis of BERT's [batch, seq, 768] with the
    /// axes input (opset 18): n = 768 → 768 FLOPs per output,
    /// 768·batch·seq in all; keepdims=0 drops the axis.
    #[test]
    fn axes_input_and_symbolic_batch() {
        let r = NodeTest::new("ReduceMean")
            .opset(18)
            .input_sym(&["batch", "seq", "768"])
            .ints(&[-1])
            .run();
        assert_eq!(r.shape(0), "batchxseqx1");
        assert_eq!(r.flops_expr(), "768*batch*seq");
        assert_eq!(r.params(), 0);
        let d = NodeTest::new("ReduceSum")
            .opset(13)
            .input_sym(&["batch", "seq", "768"])
            .ints(&[1])
            .int("keepdims", 0)
            .run();
        // n = seq: seq − 1 adds per output, 768·batch outputs.
        assert_eq!(d.shape(0), "batchx768");
        assert_eq!(d.flops_expr(), "768*batch*seq - 768*batch");
    }

    /// Opset variants: ReduceSum's axes became an input at 13, the others'
    /// at 18. ReduceMax at opset 13 still reads the attribute.
    #[test]
    fn axes_source_by_opset() {
        let attr = NodeTest::new("ReduceMax")
            .opset(13)
            .input(&[4, 5])
            .ints_attr("axes", &[0])
            .run();
        assert_eq!(attr.shape(0), "1x5");
        assert_eq!(attr.flops(), 5 * 3);
        // ReduceSum at 11 reads the attribute: reduce axis 1 of 4x5 → 4·4 adds.
        let sum11 = NodeTest::new("ReduceSum")
            .opset(11)
            .input(&[4, 5])
            .ints_attr("axes", &[1])
            .run();
        assert_eq!(sum11.shape(0), "4x1");
        assert_eq!(sum11.flops(), 16);
        // ReduceSum at 13 ignores the (stale) attribute: no axes input → all.
        let sum13 = NodeTest::new("ReduceSum")
            .opset(13)
            .input(&[4, 5])
            .ints_attr("axes", &[1])
            .run();
        assert_eq!(sum13.shape(0), "1x1");
        assert_eq!(sum13.flops(), 19);
    }

    /// No axes: reduce all (2x3x4 → 1x1x1, 23 adds; without keepdims a
    /// scalar). With noop_with_empty_axes: identity shape, n = 1 per output:
    /// ReduceSum 0, ReduceSumSquare 24 squares, ReduceL2 48.
    #[test]
    fn empty_axes() {
        let all = NodeTest::new("ReduceSum").opset(13).input(&[2, 3, 4]).run();
        assert_eq!(all.shape(0), "1x1x1");
        assert_eq!(all.flops(), 23);
        let scalar = NodeTest::new("ReduceProd")
            .opset(11)
            .input(&[2, 3, 4])
            .int("keepdims", 0)
            .run();
        assert_eq!(scalar.shape(0), "scalar");
        assert_eq!(scalar.flops(), 23);
        let noop = NodeTest::new("ReduceSum")
            .opset(13)
            .input(&[2, 3, 4])
            .int("noop_with_empty_axes", 1)
            .run();
        assert_eq!(noop.shape(0), "2x3x4");
        assert_eq!(noop.flops(), 0);
        let sq = NodeTest::new("ReduceSumSquare")
            .opset(18)
            .input(&[2, 3, 4])
            .ints(&[])
            .int("noop_with_empty_axes", 1)
            .run();
        assert_eq!(sq.shape(0), "2x3x4");
        assert_eq!(sq.flops(), 24);
        let l2 = NodeTest::new("ReduceL2")
            .opset(18)
            .input(&[2, 3, 4])
            .int("noop_with_empty_axes", 1)
            .run();
        assert_eq!(l2.flops(), 48);
        // Before 13/18 the attribute does not exist: reduce all.
        let old = NodeTest::new("ReduceL2")
            .opset(13)
            .input(&[2, 3, 4])
            .int("noop_with_empty_axes", 1)
            .run();
        assert_eq!(old.shape(0), "1x1x1");
        assert_eq!(old.flops(), 48);
    }

    /// Reducing an empty axis costs nothing (no negative n − 1).
    #[test]
    fn empty_reduction_costs_nothing() {
        let r = NodeTest::new("ReduceMax")
            .opset(11)
            .input(&[3, 0])
            .ints_attr("axes", &[1])
            .run();
        assert_eq!(r.shape(0), "3x1");
        assert_eq!(r.flops(), 0);
    }

    /// ArgMax of 1x1000 logits over axis 1: 999 comparisons, int64 1x1;
    /// ArgMin over axis 0 of [batch, 10] keepdims=0: (batch − 1)·10.
    #[test]
    fn argmax_argmin() {
        let r = NodeTest::new("ArgMax")
            .input(&[1, 1000])
            .int("axis", 1)
            .int("select_last_index", 1)
            .run();
        assert_eq!(r.shape(0), "1x1");
        assert_eq!(r.flops(), 999);
        assert_eq!(r.node().outputs[0].dtype, Some(DType::I64));
        let m = NodeTest::new("ArgMin")
            .input_sym(&["batch", "10"])
            .int("keepdims", 0)
            .run();
        assert_eq!(m.shape(0), "10");
        assert_eq!(m.flops_expr(), "10*batch - 10");
    }

    #[test]
    fn errors() {
        let out_of_range = NodeTest::new("ReduceSum")
            .opset(11)
            .input(&[2, 3])
            .ints_attr("axes", &[2])
            .run();
        assert!(incomplete(&out_of_range, "out of range"));
        let dup = NodeTest::new("ReduceMean")
            .opset(11)
            .input(&[2, 3])
            .ints_attr("axes", &[1, -1])
            .run();
        assert!(incomplete(&dup, "twice"));
        let arg = NodeTest::new("ArgMax").input(&[2, 3]).int("axis", -3).run();
        assert!(incomplete(&arg, "out of range"));
        let bad_attr = NodeTest::new("ReduceMean")
            .opset(11)
            .input(&[2, 3])
            .int("axes", 1)
            .run();
        assert!(incomplete(&bad_attr, "axes"));
        let unknown = NodeTest::new("ReduceSum").opset(11).input_unknown().run();
        assert!(incomplete(&unknown, "in0"));
        // Axes computed at run time: keepdims keeps the rank.
        let dynamic = NodeTest::new("ReduceSum")
            .opset(13)
            .input(&[2, 3])
            .input(&[1])
            .run();
        assert!(
            matches!(dynamic.status(), NodeStatus::Incomplete { reason: m, .. } if m.contains("run time"))
        );
        assert_eq!(dynamic.shape(0), "?x?");
        let dropped = NodeTest::new("ReduceSum")
            .opset(13)
            .input(&[2, 3, 4])
            .input(&[2])
            .int("keepdims", 0)
            .run();
        assert_eq!(dropped.shape(0), "?");
    }
}
