//! Operators that choose, place or count elements by index or by value:
//! Gather, GatherElements, GatherND, ScatterND, ScatterElements, Scatter,
//! OneHot, Trilu, ReverseSequence, EyeLike, NonZero, Compress, Unique, TopK,
//! TensorScatter, NonMaxSuppression, TfIdfVectorizer, ArrayFeatureExtractor
//! (ai.onnx.ml),
//! CumSum, CumProd. All cost 0 MACs; FLOPs are 0 except the reductions of Scatter*
//! and the scans' additions (CumSum) or multiplications (CumProd).

use super::{
    axis_attr, concrete_dims, dim_product, flat, list_input, map_value, normalize_axes, strides,
    value_with_dims, with_dim, IntList,
};
use crate::graph::DType;
use crate::ops::Access;
use crate::ops::{product, NodeCtx, OpError, RuleResult};
use crate::poly::Poly;
use crate::shape::{normalize_axis, numel, Dim, Shape};
use crate::symbols::DataSize;
use crate::value::ConstValue;

/// Gather along `axis` (default 0): the output shape is
/// `data[..axis] + indices.shape + data[axis+1..]`. Concrete indices are
/// checked against a concrete axis; tracked elements are gathered (any
/// axis). 0 FLOPs.
pub(super) fn gather(ctx: &mut NodeCtx) -> RuleResult {
    ctx.access = Access::Selects;
    let data = ctx.shape(0)?;
    let idx = ctx.shape(1)?;
    let r = data.len();
    if r == 0 {
        return Err(OpError::Invalid("Gather's data must have rank ≥ 1".into()));
    }
    let axis = axis_attr(ctx, 0, r)?;
    let q = idx.len();
    let mut out: Shape = data[..axis].to_vec();
    out.extend_from_slice(idx);
    out.extend_from_slice(&data[axis + 1..]);
    ctx.set_output(0, ctx.dtype(0), out);

    let Some(indices) = ctx.value(1).and_then(ConstValue::to_i64s) else {
        return Ok(());
    };
    let Some(d) = data[axis].as_i64() else {
        return Ok(());
    };
    let mut norm = Vec::with_capacity(indices.len());
    for &i in &indices {
        let n = if i < 0 { i + d } else { i };
        if n < 0 || n >= d {
            return Err(OpError::Invalid(format!(
                "index {i} is out of range for axis {axis} of size {d}"
            )));
        }
        norm.push(n as usize);
    }
    let (Some((v, dims)), Some(idims)) = (value_with_dims(ctx, 0), concrete_dims(idx)) else {
        return Ok(());
    };
    let st = strides(&dims);
    let ist = strides(&idims);
    map_value(ctx, 0, v, |pos| {
        let outer = flat(&pos[..axis], &st[..axis]);
        let at = *norm.get(flat(&pos[axis..axis + q], &ist))?;
        let inner = flat(&pos[axis + q..], &st[axis + 1..]);
        Some(outer + at * st[axis] + inner)
    });
    Ok(())
}

/// GatherElements: the output has the indices' shape (same rank as the
/// data). 0 FLOPs.
pub(super) fn gather_elements(ctx: &mut NodeCtx) -> RuleResult {
    ctx.access = Access::Selects;
    let data = ctx.shape(0)?;
    let idx = ctx.shape(1)?;
    if data.len() != idx.len() {
        return Err(OpError::Invalid(format!(
            "data has rank {} but indices have rank {}",
            data.len(),
            idx.len()
        )));
    }
    axis_attr(ctx, 0, data.len())?;
    ctx.set_output(0, ctx.dtype(0), idx.to_vec());
    Ok(())
}

/// GatherND with `batch_dims` b: for indices of shape `[..., k]`, the output
/// is `indices.shape[..-1] + data.shape[b+k..]`. 0 FLOPs.
pub(super) fn gather_nd(ctx: &mut NodeCtx) -> RuleResult {
    ctx.access = Access::Selects;
    let data = ctx.shape(0)?;
    let idx = ctx.shape(1)?;
    let (r, q) = (data.len(), idx.len());
    let b = ctx.attr_int("batch_dims", 0)?;
    let b = usize::try_from(b)
        .ok()
        .filter(|&b| b < r.min(q))
        .ok_or_else(|| {
            OpError::Invalid(format!(
                "batch_dims = {b} must be below both ranks ({r}, {q})"
            ))
        })?;
    let Some(last) = idx.last() else {
        return Err(OpError::Invalid("indices must have rank ≥ 1".into()));
    };
    let Some(k) = last.as_i64() else {
        ctx.set_output_dtype(0, ctx.dtype(0));
        return Err(ctx.unknown_input(1));
    };
    let k = usize::try_from(k)
        .ok()
        .filter(|&k| k >= 1 && b + k <= r)
        .ok_or_else(|| {
            OpError::Invalid(format!(
                "indices' last dim {k} does not fit data of rank {r} with batch_dims {b}"
            ))
        })?;
    let mut out: Shape = idx[..q - 1].to_vec();
    out.extend_from_slice(&data[b + k..]);
    ctx.set_output(0, ctx.dtype(0), out);
    Ok(())
}

/// Shape and cost shared by the scatters: the output has the data's shape;
/// a `reduction` of add, mul, max or min costs one FLOP per update element.
fn scatter_common(ctx: &mut NodeCtx, reductions: bool) -> RuleResult {
    let s = ctx.shape(0)?.to_vec();
    ctx.set_output(0, ctx.dtype(0), s);
    let reduction = if reductions {
        ctx.attr_str("reduction")?.unwrap_or("none")
    } else {
        "none"
    };
    match reduction {
        "none" => Ok(()),
        "add" | "mul" | "max" | "min" => {
            let n = ctx.numel(2)?;
            ctx.add_flops(&n)
        }
        other => Err(OpError::Invalid(format!("unknown reduction '{other}'"))),
    }
}

/// ScatterND: output = data's shape. FLOPs: 0 with `reduction = none`;
/// with add/mul/max/min (opset 16/18), one per element of `updates`.
pub(super) fn scatter_nd(ctx: &mut NodeCtx) -> RuleResult {
    scatter_common(ctx, true)
}

/// ScatterElements: output = data's shape. FLOPs: 0 with
/// `reduction = none`; with add/mul/max/min, one per element of `updates`.
pub(super) fn scatter_elements(ctx: &mut NodeCtx) -> RuleResult {
    scatter_common(ctx, true)
}

/// Scatter (deprecated at opset 11): output = data's shape. 0 FLOPs.
pub(super) fn scatter(ctx: &mut NodeCtx) -> RuleResult {
    scatter_common(ctx, false)
}

/// OneHot: inserts an axis of size `depth` (input 1, a scalar) at `axis`
/// (default −1, counted on the output rank); dtype from `values` (input 2).
/// 0 FLOPs.
pub(super) fn one_hot(ctx: &mut NodeCtx) -> RuleResult {
    let s = ctx.shape(0)?;
    let r = s.len();
    let dtype = ctx.dtype(2);
    let axis = ctx.attr_int("axis", -1)?;
    let a = normalize_axis(axis, r + 1).ok_or_else(|| {
        OpError::Invalid(format!(
            "attribute 'axis' = {axis} is out of range for rank {}",
            r + 1
        ))
    })?;
    let depth = match ctx.value(1) {
        Some(ConstValue::Ints(v)) if v.len() == 1 => v[0].clone(),
        Some(ConstValue::Floats(v)) if v.len() == 1 && v[0].is_finite() && v[0].abs() < 9.0e18 => {
            Dim::int(v[0].trunc() as i64)
        }
        Some(_) => {
            return Err(OpError::Invalid(
                "depth (input 1) must be a single number".into(),
            ))
        }
        None => Dim::Unknown,
    };
    if let Some(d) = depth.as_i64().filter(|&d| d < 1) {
        return Err(OpError::Invalid(format!("depth {d} must be positive")));
    }
    let known = depth.is_known();
    let mut out = s.to_vec();
    out.insert(a, depth);
    ctx.set_output(0, dtype, out);
    if known {
        Ok(())
    } else {
        Err(OpError::DataDependent(
            "the depth of OneHot (input 1) is not known".into(),
        ))
    }
}

/// Checks rank ≥ 2 and passes the shape through.
fn same_shape_matrix(ctx: &mut NodeCtx, what: &str) -> RuleResult {
    let s = ctx.shape(0)?.to_vec();
    if s.len() < 2 {
        return Err(OpError::Invalid(format!(
            "{what} needs rank ≥ 2, got {}",
            s.len()
        )));
    }
    ctx.set_output(0, ctx.dtype(0), s);
    Ok(())
}

/// Trilu: same shape; elements above/below the k-th diagonal are zeroed
/// (selection, 0 FLOPs).
pub(super) fn trilu(ctx: &mut NodeCtx) -> RuleResult {
    same_shape_matrix(ctx, "Trilu")
}

/// ReverseSequence: same shape. 0 FLOPs.
pub(super) fn reverse_sequence(ctx: &mut NodeCtx) -> RuleResult {
    same_shape_matrix(ctx, "ReverseSequence")
}

/// EyeLike: a 2-D tensor of the input's shape, dtype from the `dtype`
/// attribute (an ONNX type code) or else the input's. 0 FLOPs.
pub(super) fn eye_like(ctx: &mut NodeCtx) -> RuleResult {
    let s = ctx.shape(0)?.to_vec();
    if s.len() != 2 {
        return Err(OpError::Invalid(format!(
            "EyeLike needs a 2-D input, got rank {}",
            s.len()
        )));
    }
    let dtype = match ctx.attr("dtype") {
        None => ctx.dtype(0),
        Some(_) => {
            let code = ctx.attr_int("dtype", 0)?;
            Some(super::dtype_from_onnx_code(code).ok_or_else(|| {
                OpError::Invalid(format!(
                    "attribute 'dtype' = {code} is not an ONNX data type"
                ))
            })?)
        }
    };
    ctx.set_output(0, dtype, s);
    Ok(())
}

/// NonMaxSuppression: boxes `[B, n, 4]`, scores `[B, C, n]` → selected
/// indices `[k, 3]` (int64), where `k`, the number of boxes kept, depends on
/// the scores and overlaps: the node's data symbol, at most
/// `B·C·min(max_output_boxes_per_class, n)` (`B·C·n` when input 2 is not
/// known; none when it is 0 or absent, its default). The IoU comparisons
/// stop early on the data as well: the cost is not counted.
pub(super) fn non_max_suppression(ctx: &mut NodeCtx) -> RuleResult {
    let b = ctx.shape(0)?;
    let sc = ctx.shape(1)?;
    if b.len() != 3 || sc.len() != 3 {
        return Err(OpError::Invalid(format!(
            "NonMaxSuppression needs boxes [B, n, 4] and scores [B, C, n], got ranks {} and {}",
            b.len(),
            sc.len()
        )));
    }
    let per_class = match ctx.value(2) {
        _ if !ctx.has_input(2) => Some(0),
        Some(ConstValue::Ints(v)) if v.len() == 1 => v[0].as_i64(),
        _ => None,
    };
    let classes = b[0].mul(&sc[1])?;
    let bound = match per_class {
        Some(m) if m <= 0 => Some(Dim::int(0)),
        Some(m) => Some(classes.mul(&Dim::int(m).min(&b[1])?)?),
        None => Some(classes.mul(&b[1])?),
    };
    let k = match bound {
        Some(Dim::Known(p)) if p.is_zero() => Dim::int(0),
        bound => ctx.data_dim(DataSize {
            key: "",
            output: 0,
            axis: 0,
            upper_bound: bound.and_then(|d| d.poly().cloned()),
            meaning: "the number of boxes kept",
        }),
    };
    ctx.set_output(0, Some(DType::I64), vec![k, Dim::int(3)]);
    Err(OpError::DataDependent(
        "the number of boxes NonMaxSuppression keeps depends on the scores and overlaps \
         (run-time values)"
            .into(),
    ))
}

/// TfIdfVectorizer: input `[C]` or `[N, C]` → `[max_output_dim]` or `[N,
/// max_output_dim]`, `max_output_dim = max(ngram_indexes) + 1`. Matching
/// n-grams is integer work (0 FLOPs); the `IDF` and `TFIDF` modes weight
/// every output once: 1 FLOP per output element.
pub(super) fn tfidf_vectorizer(ctx: &mut NodeCtx) -> RuleResult {
    let x = ctx.shape(0)?.to_vec();
    let Some(idx) = ctx.attr_ints("ngram_indexes")? else {
        return Err(OpError::Invalid(
            "attribute 'ngram_indexes' is required".into(),
        ));
    };
    let dim = Dim::int(idx.iter().copied().max().map_or(0, |m| m + 1));
    let out = match x.len() {
        1 => vec![dim],
        2 => vec![x[0].clone(), dim],
        r => {
            return Err(OpError::Invalid(format!(
                "TfIdfVectorizer input must be [C] or [N, C], got rank {r}"
            )))
        }
    };
    let n = crate::shape::numel(&out)?;
    ctx.set_output(0, Some(DType::F32), out);
    if ctx.attr_str("mode")?.unwrap_or("TF") != "TF" {
        let n = n.ok_or_else(|| ctx.unknown_input(0))?;
        ctx.add_flops(&n)?;
    }
    Ok(())
}

/// ArrayFeatureExtractor (ai.onnx.ml): selects the `k` entries `Y` of the
/// last axis of `X`: `[…, k]`, or `[1, k]` for a 1-D `X`. 0 FLOPs.
pub(super) fn array_feature_extractor(ctx: &mut NodeCtx) -> RuleResult {
    let x = ctx.shape(0)?.to_vec();
    let k = match crate::shape::numel(ctx.shape(1)?)? {
        Some(p) => Dim::Known(p),
        None => Dim::Unknown,
    };
    let out = match x.len() {
        0 => {
            return Err(OpError::Invalid(
                "ArrayFeatureExtractor needs an input of rank ≥ 1".into(),
            ))
        }
        1 => vec![Dim::int(1), k],
        r => {
            let mut o = x[..r - 1].to_vec();
            o.push(k);
            o
        }
    };
    ctx.set_output(0, ctx.dtype(0), out);
    Ok(())
}

/// TensorScatter (opset 24): writes `update` into `past_cache` at
/// `write_indices`; the output has the cache's shape. 0 FLOPs.
pub(super) fn tensor_scatter(ctx: &mut NodeCtx) -> RuleResult {
    let s = ctx.shape(0)?.to_vec();
    let u = ctx.shape(1)?;
    if u.len() != s.len() {
        return Err(OpError::Invalid(format!(
            "update of rank {} for a cache of rank {}",
            u.len(),
            s.len()
        )));
    }
    ctx.set_output(0, ctx.dtype(0), s);
    Ok(())
}

/// Whether each tracked element is non-zero, if all are concrete.
fn nonzero_flags(v: &ConstValue) -> Option<Vec<bool>> {
    match v {
        ConstValue::Ints(e) => e.iter().map(|d| d.as_i64().map(|x| x != 0)).collect(),
        ConstValue::Floats(e) => Some(e.iter().map(|&x| x != 0.0).collect()),
    }
}

/// NonZero: output `[rank, n]` of dtype int64, where `n`, the number of
/// non-zero elements, is counted when the input's elements are tracked and
/// is otherwise the node's data symbol, at most the input's element count.
/// 0 FLOPs.
pub(super) fn non_zero(ctx: &mut NodeCtx) -> RuleResult {
    let s = ctx.shape(0)?;
    let r = s.len();
    let known = value_with_dims(ctx, 0).and_then(|(v, dims)| Some((nonzero_flags(v)?, dims)));
    let Some((flags, dims)) = known else {
        let bound = numel(s)?;
        let n = ctx.data_dim(DataSize {
            key: "",
            output: 0,
            axis: 1,
            upper_bound: bound,
            meaning: "the number of non-zero elements",
        });
        ctx.set_output(0, Some(DType::I64), vec![Dim::int(r as i64), n]);
        return Ok(());
    };
    let hits: Vec<usize> = flags
        .iter()
        .enumerate()
        .filter(|(_, &f)| f)
        .map(|(i, _)| i)
        .collect();
    ctx.set_output(
        0,
        Some(DType::I64),
        vec![Dim::int(r as i64), Dim::int(hits.len() as i64)],
    );
    // Row a lists the a-th coordinate of every hit.
    let st = strides(&dims);
    let mut coords = Vec::with_capacity(r * hits.len());
    for a in 0..r {
        for &h in &hits {
            let c = if dims[a] == 0 {
                0
            } else {
                (h / st[a]) % dims[a]
            };
            coords.push(Dim::int(c as i64));
        }
    }
    super::set_value(ctx, 0, ConstValue::Ints(coords));
    Ok(())
}

/// Compress: keeps the slices along `axis` (or the elements of the
/// flattened input without `axis`) whose `condition` is true; the output
/// size is the number of true conditions, counted if the condition's
/// elements are tracked, else the node's data symbol (at most the
/// condition's length). 0 FLOPs.
pub(super) fn compress(ctx: &mut NodeCtx) -> RuleResult {
    let s = ctx.shape(0)?;
    let dtype = ctx.dtype(0);
    let axis = match ctx.attr("axis") {
        Some(_) => Some(axis_attr(ctx, 0, s.len())?),
        None => None,
    };
    let count = match ctx.value(1).and_then(nonzero_flags) {
        Some(f) => Dim::int(f.iter().filter(|&&x| x).count() as i64),
        None => {
            let bound = ctx.shape(1).ok().and_then(|c| c.first()?.poly().cloned());
            ctx.data_dim(DataSize {
                key: "",
                output: 0,
                axis: axis.unwrap_or(0),
                upper_bound: bound,
                meaning: "the number of true conditions",
            })
        }
    };
    let out = match axis {
        Some(a) => with_dim(s, a, count),
        None => vec![count],
    };
    ctx.set_output(0, dtype, out);
    Ok(())
}

/// Unique: the number of unique elements (or slices along `axis`) depends
/// on the data: outputs 0 (Y), 1 (indices) and 3 (counts) have the node's
/// data symbol as length (at most the element or slice count); output 2
/// (inverse indices) has one entry per input element (or slice). Sorting
/// comparisons are not counted: 0 FLOPs.
pub(super) fn unique(ctx: &mut NodeCtx) -> RuleResult {
    let s = ctx.shape(0)?;
    let dtype = ctx.dtype(0);
    let axis = match ctx.attr("axis") {
        Some(_) => Some(axis_attr(ctx, 0, s.len())?),
        None => None,
    };
    let inverse = match axis {
        Some(a) => s[a].clone(),
        None => dim_product(s)?,
    };
    let u = ctx.data_dim(DataSize {
        key: "",
        output: 0,
        axis: axis.unwrap_or(0),
        upper_bound: inverse.poly().cloned(),
        meaning: "the number of unique elements",
    });
    let y = match axis {
        Some(a) => with_dim(s, a, u.clone()),
        None => vec![u.clone()],
    };
    let i64 = Some(DType::I64);
    ctx.set_output(0, dtype, y);
    ctx.set_output(1, i64, vec![u.clone()]);
    ctx.set_output(2, i64, vec![inverse]);
    ctx.set_output(3, i64, vec![u]);
    Ok(())
}

/// TopK: the `axis` (default −1) dim becomes `k` (attribute before opset
/// 10, input 1 from 10; may be symbolic; when computed from data, the
/// node's data symbol, at most the axis length); outputs Values (input
/// dtype) and Indices (int64). Selection comparisons depend on the
/// algorithm and are not counted: 0 FLOPs.
pub(super) fn top_k(ctx: &mut NodeCtx) -> RuleResult {
    let s = ctx.shape(0)?;
    let dtype = ctx.dtype(0);
    let axis = axis_attr(ctx, -1, s.len())?;
    let k = match ctx.attr("k") {
        Some(_) => Dim::int(ctx.attr_int("k", 0)?),
        None if ctx.opset < 10 => return Err(OpError::Invalid("attribute 'k' is required".into())),
        None => match list_input(ctx, 1)? {
            IntList::Known(v) if v.len() == 1 => v[0].clone(),
            IntList::Known(_) => {
                return Err(OpError::Invalid("K (input 1) must have one element".into()))
            }
            IntList::Absent => return Err(OpError::MissingInput(1)),
            IntList::Unknown(_) => {
                let bound = s[axis].poly().cloned();
                ctx.data_dim(DataSize {
                    key: "",
                    output: 0,
                    axis,
                    upper_bound: bound,
                    meaning: "K, computed from data",
                })
            }
        },
    };
    if let Some(kv) = k.as_i64() {
        if kv < 0 || s[axis].as_i64().is_some_and(|d| kv > d) {
            return Err(OpError::Invalid(format!(
                "k = {kv} is out of range for axis {axis} of size {}",
                s[axis]
            )));
        }
    }
    let out = with_dim(s, axis, k);
    ctx.set_output(0, dtype, out.clone());
    ctx.set_output(1, Some(DType::I64), out);
    Ok(())
}

/// CumSum (CumProd) along `axis` (input 1): each scan row of length `L` costs `L − 1`
/// additions (multiplications; the first output is the first input), or `max(L − 2, 0)`
/// with `exclusive = 1` (the first output is 0, the second the first
/// input). FLOPs = rows·(L − 1), where rows = numel / L.
pub(super) fn cum_sum(ctx: &mut NodeCtx) -> RuleResult {
    let s = ctx.shape(0)?;
    let dtype = ctx.dtype(0);
    ctx.set_output(0, dtype, s.to_vec());
    let axis = match list_input(ctx, 1)? {
        IntList::Known(v) if v.len() == 1 => v[0].as_i64(),
        IntList::Known(_) => {
            return Err(OpError::Invalid("axis (input 1) must be a scalar".into()))
        }
        IntList::Absent => return Err(OpError::MissingInput(1)),
        IntList::Unknown(_) => None,
    };
    let Some(axis) = axis else {
        return Err(OpError::DataDependent(format!(
            "the axis of {} (input 1) is not known, so neither is the number of operations",
            ctx.node.op_type
        )));
    };
    let axis = normalize_axes(&[axis], s.len(), "axis")?[0];
    let dims = ctx.known_shape(0)?;
    let len = &dims[axis];
    let rows = product(
        dims.iter()
            .enumerate()
            .filter(|&(i, _)| i != axis)
            .map(|(_, d)| d),
    )?;
    let exclusive = ctx.attr_int("exclusive", 0)? != 0;
    let per_row = len.checked_sub(&Poly::constant(if exclusive { 2 } else { 1 }))?;
    let per_row = match per_row.as_constant() {
        Some(c) if c < 0 => Poly::ZERO,
        _ => per_row,
    };
    ctx.add_flops(&rows.checked_mul(&per_row)?)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{
        act, dims, floats_nd, ints, ints_nd, run_rule, scalar, unknown_ints,
    };
    use crate::graph::{AttrValue, DType};
    use crate::ops::testing::incomplete;
    use crate::ops::testing::NodeTest;
    use crate::ops::{lookup, Role};
    use crate::report::NodeStatus;

    /// An embedding lookup: table [30522, 768] gathered by ids
    /// [batch, seq] → [batch, seq, 768]; the table is 30522·768 =
    /// 23,440,896 parameters; 0 FLOPs.
    #[test]
    fn gather_embedding() {
        let r = NodeTest::new("Gather")
            .weight(&[30522, 768])
            .input_dims(dims(&["batch", "seq"]), DType::I64)
            .run();
        assert_eq!(r.shape(0), "batchxseqx768");
        assert_eq!(r.params(), 23_440_896);
        assert_eq!(r.flops(), 0);
        assert_eq!(r.macs(), 0);
        assert_eq!(lookup("", "Gather").unwrap().role(1), Role::Config);
    }

    /// data [2, 3, 4], indices [5] on axis 1 → [2, 5, 4]; a scalar index on
    /// axis 0 of [3, 4] → [4]; an index of 3 on an axis of 3 is invalid.
    #[test]
    fn gather_shapes() {
        let r = NodeTest::new("Gather")
            .input(&[2, 3, 4])
            .ints(&[0, 1, 2, 0, 1])
            .int("axis", 1)
            .run();
        assert_eq!(r.shape(0), "2x5x4");
        let r = run_rule(
            "Gather",
            13,
            &[Some(act(&["3", "4"])), Some(scalar("-1"))],
            &[],
            1,
        );
        assert_eq!(r.shape(0), "4");
        let r = NodeTest::new("Gather").input(&[3, 4]).ints(&[3]).run();
        assert!(incomplete(&r, "out of range"));
        let r = NodeTest::new("Gather")
            .input(&[3, 4])
            .ints(&[0])
            .int("axis", 2)
            .run();
        assert!(incomplete(&r, "axis"));
    }

    /// Shape value [batch, 3, 224, 224]: index 0 (scalar) → batch (a
    /// scalar); index [-1] → [224]; 2-D values [[1, 2, 3], [4, 5, 6]] with
    /// indices [2, 0] on axis 1 → [[3, 1], [6, 4]].
    #[test]
    fn gather_values() {
        let shape = ints(&["batch", "3", "224", "224"]);
        let r = run_rule(
            "Gather",
            13,
            &[Some(shape.clone()), Some(scalar("0"))],
            &[],
            1,
        );
        assert_eq!(r.shape(0), "scalar");
        assert_eq!(r.value(0), "[batch]");
        let r = run_rule("Gather", 13, &[Some(shape), Some(ints(&["-1"]))], &[], 1);
        assert_eq!(r.value(0), "[224]");
        let m = ints_nd(&[2, 3], &["1", "2", "3", "4", "5", "6"]);
        let r = run_rule(
            "Gather",
            13,
            &[Some(m), Some(ints(&["2", "0"]))],
            &[("axis", AttrValue::Int(1))],
            1,
        );
        assert_eq!(r.shape(0), "2x2");
        assert_eq!(r.value(0), "[3, 1, 6, 4]");
    }

    /// GatherElements: output = indices' shape, [3, 2].
    #[test]
    fn gather_elements() {
        let r = NodeTest::new("GatherElements")
            .input(&[3, 4])
            .input_dims(dims(&["3", "2"]), DType::I64)
            .int("axis", 1)
            .run();
        assert_eq!(r.shape(0), "3x2");
        assert_eq!(r.flops(), 0);
        let r = NodeTest::new("GatherElements")
            .input(&[3, 4])
            .ints(&[0])
            .run();
        assert!(incomplete(&r, "rank"));
    }

    /// GatherND: data [2, 3, 4], indices [5, 2] → [5] + data[2..] = [5, 4];
    /// batch_dims 1 with indices [2, 1] → [2] + data[2..] = [2, 4].
    #[test]
    fn gather_nd() {
        let idx = |d: &[&str]| dims(d);
        let r = NodeTest::new("GatherND")
            .input(&[2, 3, 4])
            .input_dims(idx(&["5", "2"]), DType::I64)
            .run();
        assert_eq!(r.shape(0), "5x4");
        assert_eq!(r.flops(), 0);
        let r = NodeTest::new("GatherND")
            .input(&[2, 3, 4])
            .input_dims(idx(&["2", "1"]), DType::I64)
            .int("batch_dims", 1)
            .run();
        assert_eq!(r.shape(0), "2x4");
        let r = NodeTest::new("GatherND")
            .input(&[2, 3])
            .input_dims(idx(&["5", "3"]), DType::I64)
            .run();
        assert!(incomplete(&r, "does not fit"));
        let r = NodeTest::new("GatherND")
            .input(&[2, 3])
            .input_dims(idx(&["5", "1"]), DType::I64)
            .int("batch_dims", 2)
            .run();
        assert!(incomplete(&r, "batch_dims"));
    }

    /// ScatterND on [4, 4] with updates [2, 4]: reduction none → 0 FLOPs;
    /// add → one per update element, 8.
    #[test]
    fn scatter_nd_reductions() {
        let base = || {
            NodeTest::new("ScatterND")
                .input(&[4, 4])
                .input_dims(dims(&["2", "1"]), DType::I64)
                .input(&[2, 4])
        };
        let r = base().run();
        assert_eq!(r.shape(0), "4x4");
        assert_eq!(r.flops(), 0);
        let r = base().opset(16).string("reduction", "add").run();
        assert_eq!(r.flops(), 8);
        let r = base().string("reduction", "xor").run();
        assert!(incomplete(&r, "reduction"));
    }

    /// ScatterElements [3, 3] with updates [2, 3] and reduction mul → 6
    /// FLOPs; old Scatter → 0.
    #[test]
    fn scatter_elements_and_scatter() {
        let r = NodeTest::new("ScatterElements")
            .opset(16)
            .input(&[3, 3])
            .input_dims(dims(&["2", "3"]), DType::I64)
            .input(&[2, 3])
            .string("reduction", "mul")
            .run();
        assert_eq!(r.shape(0), "3x3");
        assert_eq!(r.flops(), 6);
        let r = NodeTest::new("Scatter")
            .opset(9)
            .input(&[3, 3])
            .input_dims(dims(&["2", "3"]), DType::I64)
            .input(&[2, 3])
            .run();
        assert_eq!(r.shape(0), "3x3");
        assert_eq!(r.flops(), 0);
    }

    /// OneHot of ids [batch, seq] with depth 10: axis −1 → [batch, seq, 10];
    /// axis 0 → [10, batch, seq]; dtype from the values (float32). The
    /// [off, on] values are configuration, not parameters.
    #[test]
    fn one_hot() {
        let ids = act(&["batch", "seq"]);
        let values = floats_nd(&[2], &[0.0, 1.0]);
        let r = run_rule(
            "OneHot",
            11,
            &[Some(ids.clone()), Some(scalar("10")), Some(values.clone())],
            &[],
            1,
        );
        assert_eq!(r.shape(0), "batchxseqx10");
        assert_eq!(r.dtype(0), Some(DType::F32));
        let r = run_rule(
            "OneHot",
            11,
            &[Some(ids.clone()), Some(scalar("10")), Some(values.clone())],
            &[("axis", AttrValue::Int(0))],
            1,
        );
        assert_eq!(r.shape(0), "10xbatchxseq");
        let r = run_rule(
            "OneHot",
            11,
            &[
                Some(ids.clone()),
                Some(floats_nd(&[], &[4.0])),
                Some(values.clone()),
            ],
            &[],
            1,
        );
        assert_eq!(r.shape(0), "batchxseqx4");
        let r = run_rule(
            "OneHot",
            11,
            &[Some(ids.clone()), Some(unknown_ints(1)), Some(values)],
            &[],
            1,
        );
        assert!(r.data_dependent());
        assert_eq!(r.shape(0), "batchxseqx?");
        let r = NodeTest::new("OneHot")
            .input(&[3])
            .ints(&[5])
            .floats(&[2], &[0.0, 1.0])
            .run();
        assert_eq!(r.shape(0), "3x5");
        assert_eq!(r.params(), 0);
        assert_eq!(r.flops(), 0);
    }

    #[test]
    fn trilu_reverse_sequence_eye_like() {
        let r = NodeTest::new("Trilu")
            .input_sym(&["batch", "4", "4"])
            .ints(&[1])
            .run();
        assert_eq!(r.shape(0), "batchx4x4");
        assert_eq!(r.flops(), 0);
        let r = NodeTest::new("Trilu").input(&[4]).run();
        assert!(incomplete(&r, "rank ≥ 2"));
        let r = NodeTest::new("ReverseSequence")
            .input(&[5, 3, 2])
            .ints(&[5, 4, 3])
            .run();
        assert_eq!(r.shape(0), "5x3x2");
        assert_eq!(r.flops(), 0);
        // EyeLike: dtype 7 is int64.
        let r = NodeTest::new("EyeLike")
            .input(&[3, 4])
            .int("dtype", 7)
            .run();
        assert_eq!(r.shape(0), "3x4");
        assert_eq!(r.node().outputs[0].dtype, Some(DType::I64));
        assert_eq!(r.flops(), 0);
        let r = NodeTest::new("EyeLike").input(&[3, 4, 5]).run();
        assert!(incomplete(&r, "2-D"));
        let r = NodeTest::new("EyeLike")
            .input(&[3, 4])
            .int("dtype", 99)
            .run();
        assert!(incomplete(&r, "dtype"));
    }

    /// NonZero of unknown data: [rank, n] with n the node's data symbol,
    /// at most 12 (the element count), bound by name like any symbol; of
    /// the tracked [[1, 0], [0, 3]]: hits at (0, 0) and (1, 1) → [2, 2],
    /// value [[0, 1], [0, 1]].
    #[test]
    fn non_zero() {
        let r = NodeTest::new("NonZero").input(&[3, 4]).run();
        assert_eq!(r.flops(), 0);
        assert_eq!(r.shape(0), "2xn");
        let sym = &r.report.symbols[0];
        assert_eq!(sym.kind, crate::symbols::SymbolKind::Data);
        assert_eq!(sym.upper_bound, Some(crate::poly::Poly::constant(12)));
        let origin = sym.origin.as_ref().unwrap();
        assert_eq!((origin.node.as_str(), origin.axis), ("n", 1));
        assert_eq!(r.node().outputs[0].dtype, Some(DType::I64));
        let r = run_rule(
            "NonZero",
            13,
            &[Some(ints_nd(&[2, 2], &["1", "0", "0", "3"]))],
            &[],
            1,
        );
        assert!(r.ok());
        assert_eq!(r.shape(0), "2x2");
        assert_eq!(r.value(0), "[0, 1, 0, 1]");
    }

    /// Compress [3, 4] with condition [1, 0, 1]: axis 0 → [2, 4]; no axis →
    /// [2]; unknown condition → the node's data symbol, at most 3.
    #[test]
    fn compress() {
        let cond = ints(&["1", "0", "1"]);
        let r = run_rule(
            "Compress",
            13,
            &[Some(act(&["3", "4"])), Some(cond.clone())],
            &[("axis", AttrValue::Int(0))],
            1,
        );
        assert_eq!(r.shape(0), "2x4");
        let r = run_rule(
            "Compress",
            13,
            &[Some(act(&["3", "4"])), Some(cond)],
            &[],
            1,
        );
        assert_eq!(r.shape(0), "2");
        let r = NodeTest::new("Compress")
            .input(&[3, 4])
            .input_dims(dims(&["3"]), DType::Bool)
            .int("axis", 1)
            .run();
        assert_eq!(r.shape(0), "3xn");
        assert_eq!(
            r.report.symbols[0].upper_bound,
            Some(crate::poly::Poly::constant(3))
        );
    }

    /// Unique of [10]: Y [u], indices [u], inverse [10], counts [u], u the
    /// node's data symbol (at most 10); with axis 0 on [5, 3]: Y [u, 3],
    /// inverse [5].
    #[test]
    fn unique() {
        let r = NodeTest::new("Unique").input(&[10]).run_outputs(4);
        assert_eq!(r.flops(), 0);
        assert_eq!(
            [r.shape(0), r.shape(1), r.shape(2), r.shape(3)],
            ["n", "n", "10", "n"]
        );
        assert_eq!(
            r.report.symbols[0].upper_bound,
            Some(crate::poly::Poly::constant(10))
        );
        let r = NodeTest::new("Unique")
            .input(&[5, 3])
            .int("axis", 0)
            .run_outputs(4);
        assert_eq!(r.shape(0), "nx3");
        assert_eq!(r.shape(2), "5");
    }

    /// TopK of [batch, 1000] with K = 5 → values and indices [batch, 5];
    /// opset 1 attribute k; K = 2000 > 1000 is invalid; symbolic K.
    #[test]
    fn top_k() {
        let r = NodeTest::new("TopK")
            .input_sym(&["batch", "1000"])
            .ints(&[5])
            .run_outputs(2);
        assert_eq!(r.shape(0), "batchx5");
        assert_eq!(r.shape(1), "batchx5");
        assert_eq!(r.node().outputs[1].dtype, Some(DType::I64));
        assert_eq!(r.flops(), 0);
        let r = NodeTest::new("TopK")
            .opset(1)
            .input(&[4, 10])
            .int("k", 3)
            .int("axis", 0)
            .run_outputs(2);
        assert_eq!(r.shape(0), "3x10");
        let r = NodeTest::new("TopK")
            .input(&[4, 1000])
            .ints(&[2000])
            .run_outputs(2);
        assert!(incomplete(&r, "out of range"));
        let r = run_rule(
            "TopK",
            11,
            &[Some(act(&["batch", "seq"])), Some(ints(&["k"]))],
            &[],
            2,
        );
        assert_eq!(r.shape(0), "batchxk");
        let r = run_rule(
            "TopK",
            11,
            &[Some(act(&["4", "10"])), Some(unknown_ints(1))],
            &[],
            2,
        );
        assert!(r.ok());
        assert_eq!(r.shape(1), "4xn");
    }

    /// CumSum of [2, 3, 4] along axis 1: rows = 2·4 = 8, L = 3, FLOPs =
    /// 8·2 = 16; exclusive: 8·1 = 8; axis −1: rows 6, L 4 → 18;
    /// [batch, seq] along 1: batch·(seq − 1).
    #[test]
    fn tfidf_and_feature_extractor() {
        let r = NodeTest::new("TfIdfVectorizer")
            .opset(9)
            .input(&[2, 6])
            .ints_attr("ngram_indexes", &[0, 1, 2, 3, 4, 5, 6])
            .string("mode", "TFIDF")
            .run();
        assert_eq!(r.shape(0), "2x7");
        assert_eq!(r.flops(), 14);
        let a = NodeTest::new("ArrayFeatureExtractor")
            .domain("ai.onnx.ml")
            .input(&[3, 4])
            .input(&[2])
            .run();
        assert_eq!(a.shape(0), "3x2");
    }

    /// NonMaxSuppression of 6 boxes, 1 batch, 2 classes: without
    /// max_output_boxes_per_class (default 0) nothing is kept, [0, 3]; with
    /// 4 per class at most 1·2·min(4, 6) = 8 rows; its cost depends on the
    /// data.
    #[test]
    fn non_max_suppression() {
        let r = NodeTest::new("NonMaxSuppression")
            .input(&[1, 6, 4])
            .input(&[1, 2, 6])
            .run();
        assert_eq!(r.shape(0), "0x3");
        let r = NodeTest::new("NonMaxSuppression")
            .input(&[1, 6, 4])
            .input(&[1, 2, 6])
            .ints(&[4])
            .run();
        assert_eq!(r.shape(0), "nx3");
        assert_eq!(
            r.report.symbols[0].upper_bound,
            Some(crate::poly::Poly::constant(8))
        );
        assert!(
            matches!(r.status(), NodeStatus::Incomplete { reason: m, .. } if m.contains("keeps"))
        );
    }

    #[test]
    fn tensor_scatter() {
        let r = NodeTest::new("TensorScatter")
            .opset(24)
            .input(&[2, 3, 8, 4])
            .input(&[2, 3, 1, 4])
            .run();
        assert_eq!(r.shape(0), "2x3x8x4");
    }

    #[test]
    fn cum_sum() {
        // CumProd: the same scan with multiplications, 8 rows of 3 → 16.
        let p = NodeTest::new("CumProd").input(&[2, 3, 4]).ints(&[1]).run();
        assert_eq!(p.shape(0), "2x3x4");
        assert_eq!(p.flops(), 16);
        let r = NodeTest::new("CumSum").input(&[2, 3, 4]).ints(&[1]).run();
        assert_eq!(r.shape(0), "2x3x4");
        assert_eq!(r.flops(), 16);
        assert_eq!(r.macs(), 0);
        let r = NodeTest::new("CumSum")
            .input(&[2, 3, 4])
            .ints(&[1])
            .int("exclusive", 1)
            .run();
        assert_eq!(r.flops(), 8);
        let r = NodeTest::new("CumSum")
            .input(&[2, 3, 4])
            .ints(&[-1])
            .int("reverse", 1)
            .run();
        assert_eq!(r.flops(), 18);
        let r = NodeTest::new("CumSum")
            .input(&[5, 1])
            .ints(&[1])
            .int("exclusive", 1)
            .run();
        assert_eq!(r.flops(), 0);
        let r = NodeTest::new("CumSum")
            .input_sym(&["batch", "seq"])
            .ints(&[1])
            .run();
        assert_eq!(r.flops_expr(), "batch*seq - batch");
        let r = run_rule(
            "CumSum",
            14,
            &[Some(act(&["2", "3"])), Some(unknown_ints(1))],
            &[],
            1,
        );
        assert!(r.data_dependent());
        assert_eq!(r.shape(0), "2x3");
        let r = NodeTest::new("CumSum").input(&[2, 3]).ints(&[2]).run();
        assert!(incomplete(&r, "out of range"));
    }
}
