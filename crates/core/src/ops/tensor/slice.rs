//! Operators that cut and join along axes: Concat, Split, Slice, Pad,
//! CenterCropPad.
//! All cost 0 MACs and 0 FLOPs.

use super::{
    axis_attr, concrete_dims, data_dims, flat, int_list, known_ints, list_input, map_value,
    normalize_axes, numel_usize, output_len, strides, value_with_dims, IntList,
};
use crate::ops::Access;
use crate::ops::{NodeCtx, OpError, RuleResult};
use crate::poly::Poly;
use crate::shape::{normalize_axis, Dim, Shape};
use crate::value::ConstValue;

/// Concat along `axis` (required from opset 4; default 1 before): the
/// output dim on `axis` is the (possibly symbolic) sum of the inputs' dims,
/// the other dims must agree. Tracked elements are concatenated. 0 FLOPs.
pub(super) fn concat(ctx: &mut NodeCtx) -> RuleResult {
    let n = ctx.num_inputs();
    if n == 0 {
        return Err(OpError::Invalid("Concat needs at least one input".into()));
    }
    let first = ctx.shape(0)?;
    let r = first.len();
    let axis = match ctx.attr("axis") {
        None if ctx.opset < 4 => 1,
        None => return Err(OpError::Invalid("attribute 'axis' is required".into())),
        Some(_) => ctx.attr_int("axis", 0)?,
    };
    let axis = normalize_axis(axis, r).ok_or_else(|| {
        OpError::Invalid(format!(
            "attribute 'axis' = {axis} is out of range for rank {r}"
        ))
    })?;
    let mut out = first.to_vec();
    let mut dtype = ctx.dtype(0);
    for i in 1..n {
        let s = ctx.shape(i)?;
        if s.len() != r {
            return Err(OpError::Invalid(format!(
                "input {i} has rank {} but input 0 has rank {r}",
                s.len()
            )));
        }
        for (j, d) in s.iter().enumerate() {
            out[j] = if j == axis {
                out[j].add(d)?
            } else {
                merge_dim(&out[j], d, j)?
            };
        }
        dtype = dtype.or(ctx.dtype(i));
    }
    ctx.set_output(0, dtype, out);
    if let Some(v) = concat_values(ctx, axis) {
        ctx.set_output_value(0, v);
    }
    Ok(())
}

/// Two dims that must be equal: a conflict of concrete sizes is an error;
/// otherwise the more informative one is kept.
fn merge_dim(a: &Dim, b: &Dim, axis: usize) -> Result<Dim, OpError> {
    match (a.as_i64(), b.as_i64()) {
        (Some(x), Some(y)) if x != y => Err(OpError::Invalid(format!(
            "inputs disagree on axis {axis}: {x} and {y}"
        ))),
        (None, Some(_)) => Ok(b.clone()),
        _ if !a.is_known() => Ok(b.clone()),
        _ => Ok(a.clone()),
    }
}

/// The concatenated elements, if every input's elements are tracked.
fn concat_values(ctx: &NodeCtx, axis: usize) -> Option<ConstValue> {
    let total = output_len(ctx, 0)?;
    let out_dims = concrete_dims(ctx.output_shape(0)?)?;
    let outer = numel_usize(&out_dims[..axis])?;
    let inner = numel_usize(&out_dims[axis + 1..])?;
    let mut parts = Vec::with_capacity(ctx.num_inputs());
    for i in 0..ctx.num_inputs() {
        let (v, dims) = value_with_dims(ctx, i)?;
        parts.push((v, dims[axis].checked_mul(inner)?));
    }
    interleave_values(&parts, outer, total)
}

/// The row-major elements of tensors joined along an axis: for each of the
/// `outer` leading positions, each part in turn contributes its `chunk` of
/// consecutive elements. `None` if a part is too short, the parts mix
/// integer and float elements (inconsistent facts), or the result does not
/// have `total` elements.
pub(crate) fn interleave_values(
    parts: &[(&ConstValue, usize)],
    outer: usize,
    total: usize,
) -> Option<ConstValue> {
    let mut ints = Vec::new();
    let mut floats = Vec::new();
    for o in 0..outer {
        for &(v, chunk) in parts {
            let range = o.checked_mul(chunk)?..(o + 1).checked_mul(chunk)?;
            match v {
                ConstValue::Ints(e) => ints.extend_from_slice(e.get(range)?),
                ConstValue::Floats(e) => floats.extend_from_slice(e.get(range)?),
            }
        }
    }
    let v = match (ints.is_empty(), floats.is_empty()) {
        (_, true) => ConstValue::Ints(ints),
        (true, false) => ConstValue::Floats(floats),
        (false, false) => return None,
    };
    (v.len() == total).then_some(v)
}

/// Split along `axis` into the node's outputs: sizes from the `split`
/// attribute (before opset 13) or input 1 (from 13); without them, equal
/// parts (from opset 18 `num_outputs` may leave a smaller last part:
/// `⌈d/n⌉` each, the rest last). Tracked elements are split. 0 FLOPs.
pub(super) fn split(ctx: &mut NodeCtx) -> RuleResult {
    let s = ctx.shape(0)?;
    let dtype = ctx.dtype(0);
    let axis = axis_attr(ctx, 0, s.len())?;
    let n_out = ctx.num_outputs();
    let d = &s[axis];
    let sizes: Vec<Dim> = match int_list(ctx, "split", 1)? {
        IntList::Known(v) => {
            if v.len() != n_out {
                return Err(OpError::Invalid(format!(
                    "split has {} sizes for {n_out} outputs",
                    v.len()
                )));
            }
            if let Some(x) = v.iter().filter_map(Dim::as_i64).find(|&x| x < 0) {
                return Err(OpError::Invalid(format!("split size {x} is negative")));
            }
            if let (Some(sizes), Some(total)) = (known_ints(&v), d.as_i64()) {
                let sum: i128 = sizes.iter().map(|&x| x as i128).sum();
                if sum != total as i128 {
                    return Err(OpError::Invalid(format!(
                        "split sizes add up to {sum} but axis {axis} has {total}"
                    )));
                }
            }
            v
        }
        IntList::Unknown(_) => {
            for k in 0..n_out {
                ctx.set_output(k, dtype, with_unknown(s, axis));
            }
            return Err(OpError::DataDependent(
                "the split sizes of Split (input 1) are not known".into(),
            ));
        }
        IntList::Absent => equal_split(ctx, d, n_out)?,
    };
    let mut offset = Some(0usize);
    for (k, size) in sizes.iter().enumerate() {
        let mut o = s.to_vec();
        o[axis] = size.clone();
        ctx.set_output(k, dtype, o);
        if let (Some(off), Some((v, dims))) = (offset, value_with_dims(ctx, 0)) {
            let st = strides(&dims);
            map_value(ctx, k, v, |pos| {
                let mut p = pos.to_vec();
                p[axis] += off;
                Some(flat(&p, &st))
            });
        }
        offset = offset
            .zip(size.as_i64().and_then(|x| usize::try_from(x).ok()))
            .map(|(a, b)| a + b);
    }
    Ok(())
}

fn with_unknown(s: &[Dim], axis: usize) -> Shape {
    let mut o = s.to_vec();
    o[axis] = Dim::Unknown;
    o
}

/// Sizes of an equal split of `d` into the outputs.
fn equal_split(ctx: &NodeCtx, d: &Dim, n_out: usize) -> Result<Vec<Dim>, OpError> {
    let num = match ctx.attr("num_outputs") {
        Some(_) if ctx.opset >= 18 => {
            let k = ctx.attr_int("num_outputs", 0)?;
            if usize::try_from(k).ok() != Some(n_out) {
                return Err(OpError::Invalid(format!(
                    "attribute 'num_outputs' = {k} but the node has {n_out} outputs"
                )));
            }
            n_out
        }
        _ => n_out,
    };
    if num == 0 {
        return Err(OpError::Invalid("Split has no outputs".into()));
    }
    let n = num as i128;
    let Some(p) = d.poly() else {
        return Ok(vec![Dim::Unknown; num]);
    };
    let Some(total) = p.as_constant() else {
        return Ok(vec![p.div_exact(n).map_or(Dim::Unknown, Dim::Known); num]);
    };
    if total % n == 0 {
        return Ok(vec![Dim::Known(Poly::constant(total / n)); num]);
    }
    if ctx.opset >= 18 {
        let chunk = (total + n - 1) / n;
        let last = total - chunk * (n - 1);
        if last > 0 {
            let mut v = vec![Dim::Known(Poly::constant(chunk)); num];
            v[num - 1] = Dim::Known(Poly::constant(last));
            return Ok(v);
        }
    }
    Err(OpError::Invalid(format!(
        "axis of size {total} cannot be split into {num} parts"
    )))
}

/// A bound at or beyond this magnitude means "to the end" (exporters write
/// `INT_MAX` or `INT64_MAX`, and `INT64_MIN` for reversed slices).
const HUGE: i128 = i32::MAX as i128;

/// Slice (opset < 10: attributes `starts`, `ends`, `axes`; from 10: inputs
/// starts, ends, axes, steps). Per sliced axis of size `d`, ONNX clamping:
/// negative bounds count from the end, then `start` is clamped to `[0, d]`
/// and `end` to `[0, d]` (to `[0, d−1]` and `[−1, d−1]` for a negative
/// step), and the length is `max(⌈(end − start)/step⌉, 0)`. This is exact
/// when the dim and bounds are concrete. When a dim or bound is symbolic, a
/// bound of magnitude ≥ 2³¹−1 means "to the end" (so `[0:INT_MAX]` of `seq`
/// is `seq`) and other bounds are assumed to lie within the dim, as the
/// model intends (`[0:1]` of `seq` is `1`, `[1:]` is `seq − 1`); a result
/// that is not a polynomial (`⌈seq/2⌉`) is exact (`⌈seq/2⌉`). Tracked elements are
/// sliced. 0 FLOPs.
pub(super) fn slice(ctx: &mut NodeCtx) -> RuleResult {
    ctx.access = Access::Selects;
    let s = ctx.shape(0)?;
    let dtype = ctx.dtype(0);
    let r = s.len();
    let (starts, ends, axes, steps) = if ctx.attr("starts").is_some() || ctx.opset < 10 {
        let get = |name: &str| -> Result<IntList, OpError> {
            Ok(match ctx.attr_ints(name)? {
                Some(v) => IntList::Known(v.iter().map(|&x| Dim::int(x)).collect()),
                None => IntList::Absent,
            })
        };
        (get("starts")?, get("ends")?, get("axes")?, IntList::Absent)
    } else {
        (
            list_input(ctx, 1)?,
            list_input(ctx, 2)?,
            list_input(ctx, 3)?,
            list_input(ctx, 4)?,
        )
    };
    let (IntList::Known(starts), IntList::Known(ends)) = (&starts, &ends) else {
        if matches!(starts, IntList::Absent) || matches!(ends, IntList::Absent) {
            return Err(OpError::Invalid("Slice needs starts and ends".into()));
        }
        let len = match (&starts, &ends) {
            (IntList::Known(v), _) | (_, IntList::Known(v)) => Some(v.len()),
            (IntList::Unknown(a), IntList::Unknown(b)) => a.or(*b),
            _ => None,
        };
        return Err(slice_unknown(
            ctx,
            &axes,
            len,
            "the starts or ends of Slice are not known",
        ));
    };
    let k = starts.len();
    if ends.len() != k {
        return Err(OpError::Invalid(format!(
            "starts has {k} entries but ends has {}",
            ends.len()
        )));
    }
    let axes: Vec<usize> = match &axes {
        IntList::Absent => (0..k).collect(),
        IntList::Known(a) => match known_ints(a) {
            Some(a) if a.len() == k => normalize_axes(&a, r, "axis")?,
            Some(a) => {
                return Err(OpError::Invalid(format!(
                    "axes has {} entries but starts has {k}",
                    a.len()
                )))
            }
            None => {
                return Err(slice_unknown(
                    ctx,
                    &IntList::Unknown(None),
                    Some(k),
                    "the axes of Slice are not known",
                ))
            }
        },
        IntList::Unknown(_) => {
            return Err(slice_unknown(
                ctx,
                &IntList::Unknown(None),
                Some(k),
                "the axes of Slice (input 3) are not known",
            ))
        }
    };
    if axes.len() > r || axes.len() != k {
        return Err(OpError::Invalid(format!("{k} sliced axes for rank {r}")));
    }
    let steps: Vec<Option<i64>> = match &steps {
        IntList::Absent => vec![Some(1); k],
        IntList::Known(v) if v.len() == k => v.iter().map(Dim::as_i64).collect(),
        IntList::Known(v) => {
            return Err(OpError::Invalid(format!(
                "steps has {} entries but starts has {k}",
                v.len()
            )))
        }
        IntList::Unknown(_) => vec![None; k],
    };
    if steps.contains(&Some(0)) {
        return Err(OpError::Invalid("a Slice step is 0".into()));
    }
    let mut out = s.to_vec();
    // Per axis, the concrete (first index, step) when everything is concrete.
    let mut picks: Vec<Option<(i128, i128)>> = vec![Some((0, 1)); r];
    for (i, &a) in axes.iter().enumerate() {
        let (dim, start) = match steps[i] {
            Some(step) => {
                let data = [&s[a], &starts[i], &ends[i]]
                    .iter()
                    .any(|d| ctx.depends_on_data(d));
                if data {
                    (
                        clamped_length(&s[a], &starts[i], &ends[i], step as i128)?,
                        None,
                    )
                } else {
                    slice_axis(&s[a], &starts[i], &ends[i], step as i128)?
                }
            }
            None => (Dim::Unknown, None),
        };
        out[a] = dim;
        picks[a] = start.zip(steps[i].map(|x| x as i128));
    }
    ctx.set_output(0, dtype, out);
    if let (Some((v, dims)), Some(picks)) = (
        value_with_dims(ctx, 0),
        picks.into_iter().collect::<Option<Vec<_>>>(),
    ) {
        let st = strides(&dims);
        map_value(ctx, 0, v, |pos| {
            let mut f = 0usize;
            for ((&p, &(first, step)), &s) in pos.iter().zip(&picks).zip(&st) {
                let idx = usize::try_from(first + p as i128 * step).ok()?;
                f += idx * s;
            }
            Some(f)
        });
    }
    Ok(())
}

/// Sets Slice's output with unknown dims on the axes that may be sliced.
fn slice_unknown(ctx: &mut NodeCtx, axes: &IntList, len: Option<usize>, why: &str) -> OpError {
    let Ok(s) = ctx.shape(0) else {
        return OpError::DataDependent(why.into());
    };
    let r = s.len();
    let sliced: Option<Vec<usize>> = match axes {
        IntList::Absent => len.map(|k| (0..k.min(r)).collect()),
        IntList::Known(a) => known_ints(a).and_then(|a| normalize_axes(&a, r, "axis").ok()),
        IntList::Unknown(_) => None,
    };
    let out: Shape = match sliced {
        Some(sl) => s
            .iter()
            .enumerate()
            .map(|(i, d)| {
                if sl.contains(&i) {
                    Dim::Unknown
                } else {
                    d.clone()
                }
            })
            .collect(),
        None => vec![Dim::Unknown; r],
    };
    let dtype = ctx.dtype(0);
    ctx.set_output(0, dtype, out);
    OpError::DataDependent(why.into())
}

/// Length of one sliced axis, and the concrete first index if known.
fn slice_axis(d: &Dim, start: &Dim, end: &Dim, step: i128) -> Result<(Dim, Option<i128>), OpError> {
    if let (Some(d), Some(b), Some(e)) = (d.as_i64(), start.as_i64(), end.as_i64()) {
        let (first, len) = clamp_concrete(d as i128, b as i128, e as i128, step);
        return Ok((Dim::Known(Poly::constant(len)), Some(first)));
    }
    let (Some(b), Some(e)) = (resolve(start, d, step > 0)?, resolve(end, d, step > 0)?) else {
        return Ok((Dim::Unknown, None));
    };
    let diff = if step > 0 {
        e.checked_sub(&b)?
    } else {
        b.checked_sub(&e)?
    };
    let k = step.abs();
    let len = match diff.as_constant() {
        Some(c) => Poly::constant(ceil_div(c, k).max(0)),
        None => diff.ceil_div(k)?,
    };
    Ok((Dim::Known(len), None))
}

/// ONNX's clamping, exact on sizes that depend on data (a `keep[:k]` after
/// NonMaxSuppression keeps `min(k, n)` of `n` boxes): a negative bound
/// counts from the end, then `start` and `end` are clamped to `[0, d]`
/// (`[0, d − 1]` and `[−1, d − 1]` for a negative step), and the length is
/// `max(⌈(end − start)/step⌉, 0)`, as expressions in min and max.
fn clamped_length(d: &Dim, start: &Dim, end: &Dim, step: i128) -> Result<Dim, OpError> {
    let (Some(d), Some(b), Some(e)) = (d.poly(), start.poly(), end.poly()) else {
        return Ok(Dim::Unknown);
    };
    let forward = step > 0;
    let (lo, hi) = if forward {
        (Poly::ZERO, d.clone())
    } else {
        (Poly::constant(-1), d.checked_sub(&Poly::constant(1))?)
    };
    let clamp = |x: &Poly, low: &Poly| -> Result<Poly, OpError> {
        let x = match x.as_constant() {
            Some(c) if c >= HUGE => hi.clone(),
            Some(c) if c <= -HUGE => low.clone(),
            Some(c) if c < 0 => d.checked_add(&Poly::constant(c))?,
            _ => x.clone(),
        };
        Ok(x.maximum(low)?.minimum(&hi)?)
    };
    let first = clamp(b, &Poly::ZERO)?;
    let last = clamp(e, &lo)?;
    let span = if forward {
        last.checked_sub(&first)?
    } else {
        first.checked_sub(&last)?
    };
    Ok(Dim::Known(span.ceil_div(step.abs())?.maximum(&Poly::ZERO)?))
}

/// ONNX's clamping for a concrete dim and bounds: (first index, length).
fn clamp_concrete(d: i128, start: i128, end: i128, step: i128) -> (i128, i128) {
    let mut b = if start < 0 { start + d } else { start };
    let mut e = if end < 0 { end + d } else { end };
    let len = if step > 0 {
        b = b.max(0).min(d);
        e = e.max(0).min(d);
        ceil_div(e - b, step)
    } else {
        b = b.max(0).min(d - 1);
        e = e.max(-1).min(d - 1);
        ceil_div(b - e, -step)
    };
    (b, len.max(0))
}

/// Position of a bound against a dim that is not concrete (or a bound that
/// is not): see [`slice`] for the assumptions.
fn resolve(bound: &Dim, d: &Dim, forward: bool) -> Result<Option<Poly>, OpError> {
    let Some(c) = bound.as_i64().map(i128::from) else {
        return Ok(bound.poly().cloned());
    };
    let dim = |off: i128| -> Result<Option<Poly>, OpError> {
        match d.poly() {
            Some(p) => Ok(Some(p.checked_add(&Poly::constant(off))?)),
            None => Ok(None),
        }
    };
    Ok(match (c >= HUGE, c <= -HUGE, forward) {
        (true, _, true) => dim(0)?,
        (true, _, false) => dim(-1)?,
        (_, true, true) => Some(Poly::ZERO),
        (_, true, false) => Some(Poly::constant(-1)),
        _ if c < 0 => dim(c)?,
        _ => Some(Poly::constant(c)),
    })
}

fn ceil_div(a: i128, k: i128) -> i128 {
    let q = a.div_euclid(k);
    if a.rem_euclid(k) != 0 {
        q + 1
    } else {
        q
    }
}

/// Pad: `out[a] = d + pads[begin_a] + pads[end_a]` on the padded axes
/// (pads by attribute `paddings` in opset 1, `pads` in 2–10, input 1 from
/// 11; optional `axes` input 3 from 18; negative pads crop). The mode does
/// not change the shape. 0 FLOPs.
pub(super) fn pad(ctx: &mut NodeCtx) -> RuleResult {
    let s = ctx.shape(0)?;
    let dtype = ctx.dtype(0);
    let r = s.len();
    let pads = match ctx.attr_ints("paddings")? {
        Some(v) => IntList::Known(v.iter().map(|&x| Dim::int(x)).collect()),
        None => int_list(ctx, "pads", 1)?,
    };
    let axes: Option<Vec<usize>> = match list_input(ctx, 3)? {
        IntList::Absent => Some((0..r).collect()),
        IntList::Known(a) => match known_ints(&a) {
            Some(a) => Some(normalize_axes(&a, r, "axis")?),
            None => None,
        },
        IntList::Unknown(_) => None,
    };
    let pads = match pads {
        IntList::Known(p) => p,
        IntList::Absent => return Err(OpError::Invalid("Pad needs pads".into())),
        IntList::Unknown(_) => {
            let out: Shape = match &axes {
                Some(ax) => s
                    .iter()
                    .enumerate()
                    .map(|(i, d)| {
                        if ax.contains(&i) {
                            Dim::Unknown
                        } else {
                            d.clone()
                        }
                    })
                    .collect(),
                None => vec![Dim::Unknown; r],
            };
            ctx.set_output(0, dtype, out);
            return Err(OpError::DataDependent(
                "the pads of Pad (input 1) are not known".into(),
            ));
        }
    };
    let Some(axes) = axes else {
        return data_dims(
            ctx,
            0,
            dtype,
            Some(r),
            "the axes of Pad (input 3) are not known",
        );
    };
    let k = axes.len();
    if pads.len() != 2 * k {
        return Err(OpError::Invalid(format!(
            "pads has {} entries for {k} padded axes (expected {})",
            pads.len(),
            2 * k
        )));
    }
    let mut out = s.to_vec();
    for (i, &a) in axes.iter().enumerate() {
        let d = out[a].add(&pads[i])?.add(&pads[i + k])?;
        if let Some(v) = d.as_i64().filter(|&v| v < 0) {
            return Err(OpError::Invalid(format!(
                "padding axis {a} gives a negative size {v}"
            )));
        }
        out[a] = d;
    }
    ctx.set_output(0, dtype, out);
    Ok(())
}

/// CenterCropPad (opset 18): each axis in `axes` (default all) cropped or
/// padded, centred, to the size given by input 1; other axes unchanged.
/// Data movement: 0 FLOPs.
pub(super) fn center_crop_pad(ctx: &mut NodeCtx) -> RuleResult {
    let s = ctx.shape(0)?.to_vec();
    let rank = s.len();
    let axes: Vec<usize> = match ctx.attr_ints("axes")? {
        Some(a) => a
            .iter()
            .map(|&x| {
                crate::shape::normalize_axis(x, rank).ok_or_else(|| {
                    OpError::Invalid(format!("axis {x} is out of range for rank {rank}"))
                })
            })
            .collect::<Result<_, _>>()?,
        None => (0..rank).collect(),
    };
    ctx.input(1)?;
    let Some(sizes) = ctx.value(1).and_then(|v| v.as_ints()) else {
        let mut out = s.clone();
        for &a in &axes {
            out[a] = Dim::Unknown;
        }
        ctx.set_output(0, ctx.dtype(0), out);
        return Err(OpError::DataDependent(
            "the target shape of CenterCropPad (input 1) is not known".into(),
        ));
    };
    if sizes.len() != axes.len() {
        return Err(OpError::Invalid(format!(
            "shape (input 1) has {} values for {} axes",
            sizes.len(),
            axes.len()
        )));
    }
    let mut out = s;
    for (&a, d) in axes.iter().zip(sizes) {
        out[a] = d.clone();
    }
    ctx.set_output(0, ctx.dtype(0), out);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{act, ints, ints_nd, run_rule, unknown_ints};
    use crate::graph::AttrValue;
    use crate::ops::testing::NodeTest;
    use crate::ops::{lookup, Role};
    use crate::report::NodeStatus;

    const MAX: i64 = i64::MAX;
    const MIN: i64 = i64::MIN;

    fn incomplete(r: &crate::ops::testing::Outcome, needle: &str) -> bool {
        matches!(r.status(), NodeStatus::Incomplete { reason: m, .. } if m.contains(needle))
    }

    /// [2, 3] ++ [2, 5] on axis 1 → [2, 8]; on symbolic dims
    /// [batch, seq, 768] ++ [batch, 1, 768] on axis 1 → [batch, seq + 1, 768].
    /// CenterCropPad of 20x10x3 to [10, 12] on axes 0 and 1 → 10x12x3;
    /// with the shape unknown the cropped axes are unknown.
    #[test]
    fn center_crop_pad() {
        let r = NodeTest::new("CenterCropPad")
            .opset(18)
            .input(&[20, 10, 3])
            .ints(&[10, 12])
            .ints_attr("axes", &[0, 1])
            .run();
        assert_eq!(r.shape(0), "10x12x3");
        assert_eq!(r.flops(), 0);
        let u = NodeTest::new("CenterCropPad")
            .opset(18)
            .input(&[20, 10, 3])
            .input(&[3])
            .run();
        assert_eq!(u.shape(0), "?x?x?");
    }

    #[test]
    fn concat_sums_dims() {
        let r = NodeTest::new("Concat")
            .input(&[2, 3])
            .input(&[2, 5])
            .int("axis", 1)
            .run();
        assert_eq!(r.shape(0), "2x8");
        assert_eq!(r.flops(), 0);
        assert_eq!(r.macs(), 0);
        let r = NodeTest::new("Concat")
            .input_sym(&["batch", "seq", "768"])
            .input_sym(&["batch", "1", "768"])
            .int("axis", -2)
            .run();
        assert_eq!(r.shape(0), "batchx(seq + 1)x768");
    }

    /// A learned class token concatenated to the patches counts as
    /// parameters (Role::Data): 1·1·768 = 768.
    #[test]
    fn concat_float_initializer_is_a_parameter() {
        let r = NodeTest::new("Concat")
            .weight(&[1, 1, 768])
            .input(&[1, 196, 768])
            .int("axis", 1)
            .run();
        assert_eq!(r.shape(0), "1x197x768");
        assert_eq!(r.params(), 768);
    }

    #[test]
    fn concat_errors_and_opsets() {
        let r = NodeTest::new("Concat")
            .input(&[2, 3])
            .input(&[3, 3])
            .int("axis", 1)
            .run();
        assert!(incomplete(&r, "disagree on axis 0"));
        let r = NodeTest::new("Concat")
            .input(&[2, 3])
            .input(&[2])
            .int("axis", 0)
            .run();
        assert!(incomplete(&r, "rank"));
        let r = NodeTest::new("Concat").input(&[2, 3]).input(&[2, 3]).run();
        assert!(incomplete(&r, "'axis' is required"));
        // Opset 1: axis defaults to 1.
        let r = NodeTest::new("Concat")
            .opset(1)
            .input(&[2, 3])
            .input(&[2, 3])
            .run();
        assert_eq!(r.shape(0), "2x6");
    }

    /// [batch] ++ [-1] → value [batch, -1]; [[1], [2]] ++ [[3], [4]] on
    /// axis 1 → [[1, 3], [2, 4]].
    #[test]
    fn concat_values() {
        let axis0 = [("axis", AttrValue::Int(0))];
        let r = run_rule(
            "Concat",
            13,
            &[Some(ints(&["batch"])), Some(ints(&["-1"]))],
            &axis0,
            1,
        );
        assert_eq!(r.shape(0), "2");
        assert_eq!(r.value(0), "[batch, -1]");
        let r = run_rule(
            "Concat",
            13,
            &[
                Some(ints_nd(&[2, 1], &["1", "2"])),
                Some(ints_nd(&[2, 1], &["3", "4"])),
            ],
            &[("axis", AttrValue::Int(1))],
            1,
        );
        assert_eq!(r.value(0), "[1, 3, 2, 4]");
        // One unknown part: no value, shape still known.
        let r = run_rule(
            "Concat",
            13,
            &[Some(ints(&["batch"])), Some(unknown_ints(2))],
            &axis0,
            1,
        );
        assert_eq!(r.shape(0), "3");
        assert_eq!(r.value(0), "none");
    }

    /// [6, 4] split on axis 0 into [2, 4] (input, opset 13) → [2, 4], [4, 4];
    /// into [1, 3] on axis 1 (attribute, opset 11) → [6, 1], [6, 3].
    #[test]
    fn split_sizes() {
        let r = NodeTest::new("Split")
            .input(&[6, 4])
            .ints(&[2, 4])
            .run_outputs(2);
        assert_eq!((r.shape(0), r.shape(1)), ("2x4".into(), "4x4".into()));
        assert_eq!(r.flops(), 0);
        let r = NodeTest::new("Split")
            .opset(11)
            .input(&[6, 4])
            .int("axis", 1)
            .ints_attr("split", &[1, 3])
            .run_outputs(2);
        assert_eq!((r.shape(0), r.shape(1)), ("6x1".into(), "6x3".into()));
        let r = NodeTest::new("Split")
            .input(&[6, 4])
            .ints(&[2, 3])
            .run_outputs(2);
        assert!(incomplete(&r, "add up to 5"));
        let r = NodeTest::new("Split")
            .input(&[6, 4])
            .ints(&[6])
            .run_outputs(2);
        assert!(incomplete(&r, "1 sizes for 2 outputs"));
    }

    /// Equal split: [6, 4] in 3 → 2x4 each; [batch, 2304] in 3 on axis 1 →
    /// batch x 768 each; opset 18 num_outputs 3 on [7] → 3, 3, 1; before 18
    /// an uneven split is invalid.
    #[test]
    fn split_equal() {
        let r = NodeTest::new("Split").input(&[6, 4]).run_outputs(3);
        assert_eq!(r.shape(2), "2x4");
        let r = NodeTest::new("Split")
            .input_sym(&["batch", "2304"])
            .int("axis", -1)
            .run_outputs(3);
        assert_eq!(r.shape(1), "batchx768");
        let r = NodeTest::new("Split")
            .opset(18)
            .input(&[7])
            .int("num_outputs", 3)
            .run_outputs(3);
        assert_eq!([r.shape(0), r.shape(1), r.shape(2)], ["3", "3", "1"]);
        let r = NodeTest::new("Split").opset(13).input(&[7]).run_outputs(3);
        assert!(incomplete(&r, "cannot be split"));
        let r = NodeTest::new("Split")
            .opset(18)
            .input(&[7])
            .int("num_outputs", 2)
            .run_outputs(3);
        assert!(incomplete(&r, "num_outputs"));
        // A symbolic dim that does not divide stays unknown.
        let r = NodeTest::new("Split").input_sym(&["seq"]).run_outputs(2);
        assert_eq!(r.shape(0), "?");
    }

    /// [1, 2, 3, 4, 5] split into [2, 3] → [1, 2] and [3, 4, 5].
    #[test]
    fn split_values() {
        let r = run_rule(
            "Split",
            13,
            &[
                Some(ints(&["1", "2", "3", "batch", "5"])),
                Some(ints(&["2", "3"])),
            ],
            &[],
            2,
        );
        assert_eq!(r.value(0), "[1, 2]");
        assert_eq!(r.value(1), "[3, batch, 5]");
    }

    /// [20, 10, 5] with starts [0, 2], ends [3, -1], axes [0, 1]: axis 0
    /// takes 0..3 (3), axis 1 takes 2..9 (7) → [3, 7, 5].
    #[test]
    fn slice_basic() {
        let r = NodeTest::new("Slice")
            .input(&[20, 10, 5])
            .ints(&[0, 2])
            .ints(&[3, -1])
            .ints(&[0, 1])
            .run();
        assert_eq!(r.shape(0), "3x7x5");
        assert_eq!(r.flops(), 0);
        assert_eq!(r.macs(), 0);
        // Opset 9: attributes.
        let r = NodeTest::new("Slice")
            .opset(9)
            .input(&[20, 10, 5])
            .ints_attr("starts", &[0, 2])
            .ints_attr("ends", &[3, -1])
            .ints_attr("axes", &[0, 1])
            .run();
        assert_eq!(r.shape(0), "3x7x5");
        // Without axes: the first len(starts) axes.
        let r = NodeTest::new("Slice")
            .input(&[20, 10, 5])
            .ints(&[5])
            .ints(&[MAX])
            .run();
        assert_eq!(r.shape(0), "15x10x5");
    }

    /// On a concrete axis of 10: [1:8:3] → 1, 4, 7 (3); [-1:MIN:-1] → all 10
    /// reversed; [8:1:-2] → 8, 6, 4, 2 (4); [2:MAX] → 8; [-100:3] → 3;
    /// [12:20] → 0.
    #[test]
    fn slice_clamping_and_steps() {
        let len = |s: i64, e: i64, step: i64| {
            NodeTest::new("Slice")
                .input(&[10])
                .ints(&[s])
                .ints(&[e])
                .ints(&[0])
                .ints(&[step])
                .run()
                .shape(0)
        };
        assert_eq!(len(1, 8, 3), "3");
        assert_eq!(len(-1, MIN, -1), "10");
        assert_eq!(len(8, 1, -2), "4");
        assert_eq!(len(2, MAX, 1), "8");
        assert_eq!(len(-100, 3, 1), "3");
        assert_eq!(len(12, 20, 1), "0");
        assert_eq!(len(MAX, MIN, -3), "4"); // 9, 6, 3, 0
        let r = NodeTest::new("Slice")
            .input(&[10])
            .ints(&[0])
            .ints(&[5])
            .ints(&[0])
            .ints(&[0])
            .run();
        assert!(incomplete(&r, "step is 0"));
        let r = NodeTest::new("Slice")
            .input(&[10])
            .ints(&[0, 1])
            .ints(&[5])
            .run();
        assert!(incomplete(&r, "ends has 1"));
    }

    /// On [batch, seq, 768], axis 1: [0:MAX] → seq; [1:MAX] → seq − 1;
    /// [0:-1] → seq − 1; [0:1] → 1 (a bound is assumed within the dim);
    /// [-1:MIN:-1] → seq; [0:MAX:2] → ⌈seq/2⌉, not a polynomial: unknown.
    #[test]
    fn slice_symbolic_dims() {
        let x = act(&["batch", "seq", "768"]);
        let sl = |s: &str, e: &str, step: &str| {
            let r = run_rule(
                "Slice",
                13,
                &[
                    Some(x.clone()),
                    Some(ints(&[s])),
                    Some(ints(&[e])),
                    Some(ints(&["1"])),
                    Some(ints(&[step])),
                ],
                &[],
                1,
            );
            assert!(r.ok());
            r.shape(0)
        };
        let max = MAX.to_string();
        let min = MIN.to_string();
        assert_eq!(sl("0", &max, "1"), "batchxseqx768");
        assert_eq!(sl("0", "2147483647", "1"), "batchxseqx768");
        assert_eq!(sl("1", &max, "1"), "batchx(seq - 1)x768");
        assert_eq!(sl("0", "-1", "1"), "batchx(seq - 1)x768");
        assert_eq!(sl("0", "1", "1"), "batchx1x768");
        assert_eq!(sl("-1", &min, "-1"), "batchxseqx768");
        assert_eq!(sl("0", &max, "2"), "batchxceil(seq/2)x768");
        // A symbolic end on a concrete dim: a 1024x1024 mask cut to [0:seq].
        let r = run_rule(
            "Slice",
            13,
            &[
                Some(act(&["1024", "1024"])),
                Some(ints(&["0"])),
                Some(ints(&["seq"])),
            ],
            &[],
            1,
        );
        assert_eq!(r.shape(0), "seqx1024");
        // An unknown dim with a negative bound is really unknown.
        let r = run_rule(
            "Slice",
            13,
            &[Some(act(&["?"])), Some(ints(&["0"])), Some(ints(&["-1"]))],
            &[],
            1,
        );
        assert_eq!(r.shape(0), "?");
    }

    /// Unknown starts on a known axis: only that axis becomes unknown.
    #[test]
    fn slice_unknown_bounds() {
        let r = run_rule(
            "Slice",
            13,
            &[
                Some(act(&["4", "5", "6"])),
                Some(unknown_ints(1)),
                Some(ints(&["3"])),
                Some(ints(&["1"])),
            ],
            &[],
            1,
        );
        assert!(r.data_dependent());
        assert_eq!(r.shape(0), "4x?x6");
    }

    /// Slicing a shape value: [batch, 3, 224, 224][2:4] → [224, 224];
    /// [0:1] → [batch]; 2-D [[1, 2, 3], [4, 5, 6]][:, ::-1] → [3, 2, 1, 6, 5, 4].
    #[test]
    fn slice_values() {
        let shape = ints(&["batch", "3", "224", "224"]);
        let r = run_rule(
            "Slice",
            13,
            &[Some(shape.clone()), Some(ints(&["2"])), Some(ints(&["4"]))],
            &[],
            1,
        );
        assert_eq!(r.value(0), "[224, 224]");
        let r = run_rule(
            "Slice",
            13,
            &[Some(shape.clone()), Some(ints(&["0"])), Some(ints(&["1"]))],
            &[],
            1,
        );
        assert_eq!(r.value(0), "[batch]");
        let r = run_rule(
            "Slice",
            13,
            &[
                Some(shape),
                Some(ints(&["-2"])),
                Some(ints(&[&MAX.to_string()])),
            ],
            &[],
            1,
        );
        assert_eq!(r.value(0), "[224, 224]");
        let m = ints_nd(&[2, 3], &["1", "2", "3", "4", "5", "6"]);
        let r = run_rule(
            "Slice",
            13,
            &[
                Some(m),
                Some(ints(&["-1"])),
                Some(ints(&[&MIN.to_string()])),
                Some(ints(&["1"])),
                Some(ints(&["-1"])),
            ],
            &[],
            1,
        );
        assert_eq!(r.shape(0), "2x3");
        assert_eq!(r.value(0), "[3, 2, 1, 6, 5, 4]");
    }

    /// [1, 3, 32, 32] with pads [0, 0, 1, 1, 0, 0, 1, 1] (input, opset 11) →
    /// [1, 3, 34, 34]; opset 2 attribute; opset 1 'paddings'; negative pads
    /// crop; opset 18 axes [2, 3] with pads [1, 1, 2, 2] → 32 + 1 + 2 = 35.
    #[test]
    fn pad_variants() {
        let pads = [0, 0, 1, 1, 0, 0, 1, 1];
        let r = NodeTest::new("Pad")
            .opset(11)
            .input(&[1, 3, 32, 32])
            .ints(&pads)
            .run();
        assert_eq!(r.shape(0), "1x3x34x34");
        assert_eq!(r.flops(), 0);
        let r = NodeTest::new("Pad")
            .opset(2)
            .input(&[1, 3, 32, 32])
            .ints_attr("pads", &pads)
            .string("mode", "reflect")
            .run();
        assert_eq!(r.shape(0), "1x3x34x34");
        let r = NodeTest::new("Pad")
            .opset(1)
            .input(&[1, 3, 32, 32])
            .ints_attr("paddings", &pads)
            .run();
        assert_eq!(r.shape(0), "1x3x34x34");
        let r = NodeTest::new("Pad")
            .input(&[1, 3, 32, 32])
            .ints(&[0, 0, -1, -1, 0, 0, -1, -1])
            .run();
        assert_eq!(r.shape(0), "1x3x30x30");
        let r = NodeTest::new("Pad")
            .opset(18)
            .input(&[1, 3, 32, 32])
            .ints(&[1, 1, 2, 2])
            .none()
            .ints(&[2, -1])
            .run();
        assert_eq!(r.shape(0), "1x3x35x35");
        let r = NodeTest::new("Pad").input(&[1, 3]).ints(&[1, 1]).run();
        assert!(incomplete(&r, "pads has 2 entries for 2 padded axes"));
        let r = NodeTest::new("Pad").input(&[2]).ints(&[-2, -1]).run();
        assert!(incomplete(&r, "negative size"));
    }

    /// [batch, seq] with pads [0, 0, 0, 1] → [batch, seq + 1]; unknown pads
    /// leave the padded axes unknown; constant_value is configuration.
    #[test]
    fn pad_symbolic_and_unknown() {
        let r = run_rule(
            "Pad",
            13,
            &[
                Some(act(&["batch", "seq"])),
                Some(ints(&["0", "0", "0", "1"])),
            ],
            &[],
            1,
        );
        assert_eq!(r.shape(0), "batchx(seq + 1)");
        let r = run_rule(
            "Pad",
            13,
            &[Some(act(&["batch", "seq"])), Some(unknown_ints(4))],
            &[],
            1,
        );
        assert!(r.data_dependent());
        assert_eq!(r.shape(0), "?x?");
        let pad = lookup("", "Pad").unwrap();
        assert_eq!(pad.role(1), Role::Config);
        assert_eq!(pad.role(2), Role::Config);
        assert_eq!(pad.role(3), Role::Config);
    }
}
