//! Recognising causal attention masks without their values.
//!
//! Exporters build the mask of a decoder's attention in the graph: PyTorch's
//! dynamo exporter compares position indices (`arange(kv)[None, :] <=
//! arange(q)[:, None]`, then `And` with the padding mask), older code fills a
//! matrix with a very negative number and keeps its upper triangle (`Trilu`).
//! The mask is a `seq × seq` tensor, far too large for its values to be
//! tracked, but its *structure* follows from a few operators. This module
//! derives that structure, a [`Pattern`], for a node's output from its
//! inputs' patterns; an attention operator given a mask whose pattern is
//! causal counts only the scores a causal kernel computes, as it does for
//! the `is_causal` flag (see `ops/attention.rs`, `ops/contrib.rs`).
//!
//! Every rule here only claims a pattern it can prove from the operator's
//! definition; anything else (a `Reshape`, an `Or`, a mask read from a
//! graph input) has no pattern, and the attention is counted in full.

use crate::graph::{AttrValue, DType, Node, Tensor};
use crate::poly::Poly;
use crate::shape::Dim;
use crate::value::{ConstValue, Numbers, Pattern, ValueFacts};

/// Scores below this (an additive mask's fill: `-inf`, or the dtype's
/// minimum as transformers uses) vanish in a softmax.
const MASKED: f64 = -1.0e4;

/// The pattern of output 0 of `node`, from its inputs' facts and its
/// outputs' inferred facts.
pub(crate) fn derive(
    node: &Node,
    opset: i64,
    inputs: &[Option<&ValueFacts>],
    outputs: &[ValueFacts],
) -> Option<Pattern> {
    if !matches!(node.domain.as_str(), "" | "ai.onnx") {
        return None;
    }
    let pattern = |i: usize| inputs.get(i).copied().flatten()?.pattern.as_deref();
    let value = |i: usize| inputs.get(i).copied().flatten()?.value.as_ref();
    let rank = |facts: Option<&ValueFacts>| facts?.shape.as_ref().map(|s| s.len());
    let out_rank = rank(outputs.first());
    match node.op_type.as_str() {
        // arange(start, limit, 1): position indices.
        "Range" => {
            let start = single_int(value(0)?)?;
            (single_int(value(2)?)? == Poly::constant(1))
                .then_some(Pattern::Index { from_end: 0, start })
        }
        "ConstantOfShape" => match node.attr("value") {
            None => Some(Pattern::Fill(0.0)),
            Some(AttrValue::Tensor(t)) => scalar_float(t).map(Pattern::Fill),
            Some(_) => None,
        },
        "Unsqueeze" => {
            let axes = match node.attr("axes") {
                Some(AttrValue::Ints(a)) if opset < 13 => a.clone(),
                _ => ints(value(1)?)?,
            };
            unsqueezed(pattern(0)?, rank(inputs[0])?, out_rank?, &axes)
        }
        // Broadcasting keeps positions counted from the end.
        "Expand" | "Identity" => pattern(0).cloned(),
        "Cast" => match pattern(0)? {
            Pattern::Fill(v) => Some(Pattern::Fill(*v)),
            p @ (Pattern::Index { .. } | Pattern::Causal { .. }) => Some(p.clone()),
            Pattern::AdditiveCausal { .. } => None,
        },
        "Add" | "Sub" => {
            let sub = node.op_type == "Sub";
            match (pattern(0), pattern(1)) {
                (Some(Pattern::Index { from_end, start }), _) => {
                    let c = single_int(value(1)?)?;
                    let start = if sub {
                        start.checked_sub(&c)
                    } else {
                        start.checked_add(&c)
                    };
                    Some(Pattern::Index {
                        from_end: *from_end,
                        start: start.ok()?,
                    })
                }
                (_, Some(Pattern::Index { from_end, start })) if !sub => Some(Pattern::Index {
                    from_end: *from_end,
                    start: start.checked_add(&single_int(value(0)?)?).ok()?,
                }),
                // Adding anything to a causal additive mask only masks more.
                (Some(p @ Pattern::AdditiveCausal { .. }), _) => Some(p.clone()),
                (_, Some(p @ Pattern::AdditiveCausal { .. })) if !sub => Some(p.clone()),
                _ => None,
            }
        }
        "LessOrEqual" | "Less" | "GreaterOrEqual" | "Greater" => {
            comparison(&node.op_type, pattern(0)?, pattern(1)?)
        }
        // A position the causal mask drops stays dropped.
        "And" => match (pattern(0), pattern(1)) {
            (Some(Pattern::Causal { offset: a }), Some(Pattern::Causal { offset: b })) => {
                Some(Pattern::Causal {
                    offset: smaller(a, b).clone(),
                })
            }
            (Some(p @ Pattern::Causal { .. }), _) | (_, Some(p @ Pattern::Causal { .. })) => {
                Some(p.clone())
            }
            _ => None,
        },
        // where(causal, 0, −inf): the additive form of the same mask.
        "Where" => match pattern(0)? {
            Pattern::Causal { offset }
                if is_fill(inputs[1], |v| v == 0.0) && is_fill(inputs[2], |v| v <= MASKED) =>
            {
                Some(Pattern::AdditiveCausal {
                    offset: offset.clone(),
                })
            }
            _ => None,
        },
        "Trilu" => {
            let k = match inputs.get(1).copied().flatten() {
                Some(f) => single_int(f.value.as_ref()?)?,
                None => Poly::ZERO,
            };
            let upper = matches!(node.attr("upper"), Some(AttrValue::Int(u)) if *u != 0);
            if !upper {
                // Everything above the k-th diagonal is zeroed: key j is
                // kept only for j ≤ i + k. A boolean (or 0/1) mask.
                let boolean = outputs.first()?.dtype == Some(DType::Bool);
                return boolean.then_some(Pattern::Causal { offset: k });
            }
            // Only the part from the k-th diagonal up is kept (the rest
            // zeroed): a fill of −inf becomes an additive mask that drops
            // j ≥ i + k, that is keeps j ≤ i + k − 1.
            match pattern(0)? {
                Pattern::Fill(v) if *v <= MASKED => Some(Pattern::AdditiveCausal {
                    offset: k.checked_sub(&Poly::constant(1)).ok()?,
                }),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The pattern of a one-element float tensor, infinite values included
/// (which value tracking leaves out).
pub(crate) fn of_tensor(t: &Tensor) -> Option<Pattern> {
    scalar_float(t).map(Pattern::Fill)
}

/// `a` and `b`'s smaller offset when they compare for every value of the
/// symbols, else `a`.
fn smaller<'p>(a: &'p Poly, b: &'p Poly) -> &'p Poly {
    if a.dominates(b) {
        b
    } else {
        a
    }
}

/// `key ≤ query + offset` from a comparison of two position indices: keys
/// run along the last axis, queries along the one before.
fn comparison(op: &str, a: &Pattern, b: &Pattern) -> Option<Pattern> {
    let (
        Pattern::Index {
            from_end: fa,
            start: sa,
        },
        Pattern::Index {
            from_end: fb,
            start: sb,
        },
    ) = (a, b)
    else {
        return None;
    };
    // (key start, query start, strict): key + sk ≤ query + sq (− 1 if strict).
    let (sk, sq, strict) = match (op, *fa, *fb) {
        ("LessOrEqual", 0, 1) => (sa, sb, false),
        ("Less", 0, 1) => (sa, sb, true),
        ("GreaterOrEqual", 1, 0) => (sb, sa, false),
        ("Greater", 1, 0) => (sb, sa, true),
        _ => return None,
    };
    let mut offset = sq.checked_sub(sk).ok()?;
    if strict {
        offset = offset.checked_sub(&Poly::constant(1)).ok()?;
    }
    Some(Pattern::Causal { offset })
}

/// An unsqueezed pattern: a position index keeps its axis, now counted from
/// the end of the larger rank; a mask keeps its pattern when its last two
/// axes stay last.
fn unsqueezed(p: &Pattern, in_rank: usize, out_rank: usize, axes: &[i64]) -> Option<Pattern> {
    let mut inserted = vec![false; out_rank];
    for &a in axes {
        let a = if a < 0 { a + out_rank as i64 } else { a };
        *inserted.get_mut(usize::try_from(a).ok()?)? = true;
    }
    if inserted.iter().filter(|&&x| x).count() + in_rank != out_rank {
        return None;
    }
    match p {
        Pattern::Index { from_end, start } => {
            let axis = in_rank.checked_sub(1 + from_end)?;
            let position = (0..out_rank).filter(|&i| !inserted[i]).nth(axis)?;
            Some(Pattern::Index {
                from_end: out_rank - 1 - position,
                start: start.clone(),
            })
        }
        Pattern::Fill(v) => Some(Pattern::Fill(*v)),
        Pattern::Causal { .. } | Pattern::AdditiveCausal { .. } => {
            (!inserted[out_rank.checked_sub(2)?..].iter().any(|&x| x)).then(|| p.clone())
        }
    }
}

fn is_fill(facts: Option<&ValueFacts>, keep: impl Fn(f64) -> bool) -> bool {
    let Some(f) = facts else { return false };
    if let Some(Pattern::Fill(v)) = f.pattern.as_deref() {
        return keep(*v);
    }
    match &f.value {
        Some(ConstValue::Floats(v)) => !v.is_empty() && v.iter().all(|&x| keep(x)),
        Some(ConstValue::Ints(v)) => {
            !v.is_empty() && v.iter().all(|d| d.as_i64().is_some_and(|x| keep(x as f64)))
        }
        None => false,
    }
}

fn single_int(v: &ConstValue) -> Option<Poly> {
    match v.as_ints()? {
        [Dim::Known(p)] => Some(p.clone()),
        _ => None,
    }
}

fn ints(v: &ConstValue) -> Option<Vec<i64>> {
    v.as_ints()?.iter().map(Dim::as_i64).collect()
}

/// The one element of a float tensor stored inline, as f64.
fn scalar_float(t: &Tensor) -> Option<f64> {
    if !t.dtype.is_float() || t.numel() != Some(1) {
        return None;
    }
    match crate::value::numbers(t, 1)? {
        Numbers::Floats(v) => v.first().copied(),
        Numbers::Ints(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::tests::{int_attr, G};
    use crate::graph::{AttrValue, Attribute, DType, Tensor, TensorData};
    use crate::report::Report;
    use crate::shape::shape_of;

    /// Positions 0..n as the dynamo exporter builds them: `Range(0, n, 1)`.
    fn positions(g: G, name: &str, start: i64, n: i64) -> G {
        let (s, l, d) = (
            format!("{name}_start"),
            format!("{name}_limit"),
            format!("{name}_delta"),
        );
        g.ints(&s, DType::I64, &[], &[start])
            .ints(&l, DType::I64, &[], &[n])
            .ints(&d, DType::I64, &[], &[1])
            .node("Range", name, &[&s, &l, &d], &[name])
    }

    /// `keys[None, :]` (positions along the last axis) and `queries[:,
    /// None]` (along the one before), compared by `op`.
    fn compared(op: &str, keys: (i64, i64), queries: (i64, i64), keys_first: bool) -> G {
        let g = positions(G::new(), "k", keys.0, keys.1);
        let g = positions(g, "q", queries.0, queries.1)
            .ints("ax0", DType::I64, &[1], &[0])
            .ints("ax1", DType::I64, &[1], &[1])
            .node("Unsqueeze", "kr", &["k", "ax0"], &["k_row"])
            .node("Unsqueeze", "qc", &["q", "ax1"], &["q_col"]);
        let (a, b) = if keys_first {
            ("k_row", "q_col")
        } else {
            ("q_col", "k_row")
        };
        g.node(op, "cmp", &[a, b], &["mask"])
    }

    /// An opset-23 Attention of 2 heads of 4 over 6 queries and `kv` keys,
    /// given `mask`.
    fn attention(g: G, kv: i64, mask: &str) -> Report {
        let mut g = g
            .input("Q", shape_of(&[1, 2, 6, 4]))
            .input("K", shape_of(&[1, 2, kv, 4]))
            .input("V", shape_of(&[1, 2, kv, 4]))
            .node("Attention", "att", &["Q", "K", "V", mask], &["Y"])
            .output("Y");
        g.0.opsets.0[0].1 = 23;
        g.run().expect("analysis runs")
    }

    fn macs(r: &Report) -> i128 {
        r.totals.cost.macs.as_constant().expect("constant MACs")
    }

    fn attention_flops(r: &Report) -> i128 {
        let node = r
            .nodes
            .iter()
            .find(|n| n.name == "att")
            .expect("the Attention");
        node.flops().and_then(|p| p.as_constant()).expect("counted")
    }

    /// `arange(6)[None, :] <= arange(6)[:, None]`, and'ed with a padding
    /// mask: causal. 2 heads · 21 scores (1 + … + 6) · 8 MACs = 336, against
    /// 2 · 36 · 8 = 576 for the full matrix; the Attention's FLOPs 42 · 21 −
    /// 12 · 6 = 810.
    #[test]
    fn dynamo_comparison_mask_is_causal() {
        let g = compared("LessOrEqual", (0, 6), (0, 6), true)
            .typed_input("pad", DType::Bool, Some(shape_of(&[1, 1, 1, 6])))
            .node("And", "and", &["mask", "pad"], &["both"]);
        let r = attention(g, 6, "both");
        assert_eq!(macs(&r), 336);
        assert_eq!(attention_flops(&r), 810);
        // The same comparison written the other way round.
        let ge = compared("GreaterOrEqual", (0, 6), (0, 6), false);
        assert_eq!(macs(&attention(ge, 6, "mask")), 336);
    }

    /// Queries at positions 2..8 of 8 keys (a KV cache of 2): row i sees
    /// i + 3 keys, 3 + 4 + … + 8 = 33 per head: 2 · 33 · 8 = 528 MACs.
    /// `Less` shifts by one: i + 2 keys, 27 per head: 432.
    #[test]
    fn position_offsets_carry_through() {
        let le = compared("LessOrEqual", (0, 8), (2, 8), true);
        assert_eq!(macs(&attention(le, 8, "mask")), 528);
        let lt = compared("Less", (0, 8), (2, 8), true);
        assert_eq!(macs(&attention(lt, 8, "mask")), 432);
    }

    /// Masks that are not causal count every score (576): the reversed
    /// comparison (keys at or after the query), `Or` with another mask, a
    /// mask that is a graph input.
    #[test]
    fn other_masks_count_every_score() {
        let reversed = compared("GreaterOrEqual", (0, 6), (0, 6), true);
        assert_eq!(macs(&attention(reversed, 6, "mask")), 576);
        let or = compared("LessOrEqual", (0, 6), (0, 6), true)
            .typed_input("pad", DType::Bool, Some(shape_of(&[1, 1, 1, 6])))
            .node("Or", "or", &["mask", "pad"], &["either"]);
        assert_eq!(macs(&attention(or, 6, "either")), 576);
        let given = G::new().typed_input("m", DType::Bool, Some(shape_of(&[6, 6])));
        assert_eq!(macs(&attention(given, 6, "m")), 576);
    }

    fn fill(name: &str, v: f32) -> Attribute {
        Attribute {
            name: name.into(),
            value: AttrValue::Tensor(Box::new(Tensor {
                dtype: DType::F32,
                dims: vec![1],
                data: TensorData::Floats(vec![f64::from(v)]),
            })),
        }
    }

    /// The additive form: `triu(full(−inf), 1)` and `where(causal, 0,
    /// −1e9)`: causal, 336 MACs; a float mask adds 1 FLOP per score: 42 ·
    /// 22 − 72 = 852. `triu(full(−inf), 2)` keeps one key more per row (up
    /// to 6): 2 + 3 + 4 + 5 + 6 + 6 = 26 per head, 2 · 26 · 8 = 416 MACs. A
    /// fill of 0 is no mask.
    #[test]
    fn additive_masks() {
        let triu = |k: i64, v: f32| {
            let g = G::new()
                .ints("shape", DType::I64, &[2], &[6, 6])
                .ints("k", DType::I64, &[], &[k])
                .with_attrs(
                    "ConstantOfShape",
                    "full",
                    &["shape"],
                    &["f"],
                    vec![fill("value", v)],
                )
                .with_attrs(
                    "Trilu",
                    "triu",
                    &["f", "k"],
                    &["add_mask"],
                    vec![int_attr("upper", 1)],
                );
            attention(g, 6, "add_mask")
        };
        let r = triu(1, f32::NEG_INFINITY);
        assert_eq!((macs(&r), attention_flops(&r)), (336, 852));
        assert_eq!(macs(&triu(2, f32::NEG_INFINITY)), 416);
        assert_eq!(macs(&triu(1, 0.0)), 576);
        let g = compared("LessOrEqual", (0, 6), (0, 6), true)
            .with_attrs("Constant", "zero", &[], &["z"], vec![fill("value", 0.0)])
            .with_attrs("Constant", "neg", &[], &["n"], vec![fill("value", -1e9)])
            .node("Where", "w", &["mask", "z", "n"], &["bias"]);
        assert_eq!(macs(&attention(g, 6, "bias")), 336);
    }
}
