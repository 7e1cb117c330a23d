//! Operators that make values rather than move them: Shape, Size, Constant,
//! ConstantOfShape, Range, Cast, CastLike. All cost 0 MACs and 0 FLOPs.
//! The random generators are here too (`Bernoulli` and `Multinomial`
//! compare draws: see their rules).
//! These are where shape computations start, so they track their elements.

use super::{data_dims, list_input, output_len, set_value, trackable, IntList};
use crate::graph::{AttrValue, DType};
use crate::ops::Access;
use crate::ops::{NodeCtx, OpError, RuleResult};
use crate::poly::Poly;
use crate::shape::{self, Dim};
use crate::value::{round_to_dtype, ConstValue, ValueFacts};

/// Maps an ONNX `TensorProto.DataType` code onto [`DType`]; `None` for
/// UNDEFINED (0) and codes nncost does not know.
pub fn dtype_from_onnx_code(code: i64) -> Option<DType> {
    use DType::*;
    Some(match code {
        1 => F32,
        2 => U8,
        3 => I8,
        4 => U16,
        5 => I16,
        6 => I32,
        7 => I64,
        8 => String,
        9 => Bool,
        10 => F16,
        11 => F64,
        12 => U32,
        13 => U64,
        14 => Complex64,
        15 => Complex128,
        16 => BF16,
        17 => F8E4M3FN,
        18 => F8E4M3FNUZ,
        19 => F8E5M2,
        20 => F8E5M2FNUZ,
        21 => U4,
        22 => I4,
        23 => F4E2M1,
        24 => F8E8M0,
        25 => U2,
        26 => I2,
        _ => return None,
    })
}

/// Shape: a 1-D int64 tensor whose *value* is the input's dims (symbolic
/// ones included), from `start` to `end` (attributes from opset 15,
/// negative counted from the end, clamped to the rank). This value is what
/// lets exported models' shape computations resolve. 0 FLOPs.
pub(super) fn shape(ctx: &mut NodeCtx) -> RuleResult {
    ctx.access = Access::Metadata;
    ctx.input(0)?;
    let Ok(s) = ctx.shape(0) else {
        ctx.set_output(0, Some(DType::I64), vec![Dim::Unknown]);
        return Err(ctx.unknown_input(0));
    };
    let r = s.len() as i64;
    let clamp = |x: i64| (if x < 0 { x + r } else { x }).clamp(0, r) as usize;
    let b = clamp(ctx.attr_int("start", 0)?);
    let e = clamp(ctx.attr_int("end", r)?);
    let dims = if e > b { s[b..e].to_vec() } else { Vec::new() };
    ctx.set_output(0, Some(DType::I64), vec![Dim::int(dims.len() as i64)]);
    set_value(ctx, 0, ConstValue::Ints(dims));
    Ok(())
}

/// Size: an int64 scalar whose value is the input's element count
/// (symbolic if the dims are; unknown if one is). 0 FLOPs.
pub(super) fn size(ctx: &mut NodeCtx) -> RuleResult {
    ctx.access = Access::Metadata;
    ctx.input(0)?;
    ctx.set_output(0, Some(DType::I64), Vec::new());
    let Ok(s) = ctx.shape(0) else {
        return Err(ctx.unknown_input(0));
    };
    let n = shape::numel(s)?.map_or(Dim::Unknown, Dim::Known);
    ctx.set_output_value(0, ConstValue::Ints(vec![n]));
    Ok(())
}

/// Constant, from whichever attribute is given: `value` (a tensor, whose
/// small inline elements are tracked), `value_float(s)`, `value_int(s)`,
/// `value_string(s)`. `sparse_value` is not supported. 0 FLOPs.
pub(super) fn constant(ctx: &mut NodeCtx) -> RuleResult {
    let f32s = |v: &[f32]| ConstValue::floats(v.iter().map(|&x| f64::from(x)).collect());
    let ints = |v: &[i64]| ConstValue::Ints(v.iter().map(|&x| Dim::int(x)).collect());
    let len = |n: usize| vec![Dim::int(n as i64)];
    let (dtype, shape, value) = if let Some(a) = ctx.attr("value") {
        let AttrValue::Tensor(t) = a else {
            return Err(OpError::Invalid(
                "attribute 'value' should be a tensor".into(),
            ));
        };
        let f = ValueFacts::of_tensor(t);
        (
            t.dtype,
            f.shape.map(|s| s.to_vec()).unwrap_or_default(),
            f.value,
        )
    } else if ctx.attr("value_float").is_some() {
        let x = ctx.attr_float("value_float", 0.0)?;
        (DType::F32, Vec::new(), f32s(&[x]))
    } else if let Some(v) = ctx.attr_floats("value_floats")? {
        (DType::F32, len(v.len()), f32s(v))
    } else if ctx.attr("value_int").is_some() {
        let x = ctx.attr_int("value_int", 0)?;
        (DType::I64, Vec::new(), Some(ints(&[x])))
    } else if let Some(v) = ctx.attr_ints("value_ints")? {
        (DType::I64, len(v.len()), Some(ints(v)))
    } else if ctx.attr("value_string").is_some() {
        (DType::String, Vec::new(), None)
    } else if let Some(a) = ctx.attr("value_strings") {
        let AttrValue::Strings(v) = a else {
            return Err(OpError::Invalid(
                "attribute 'value_strings' should be a list of strings".into(),
            ));
        };
        (DType::String, len(v.len()), None)
    } else if ctx.attr("sparse_value").is_some() {
        return Err(OpError::Invalid(
            "sparse constants (attribute 'sparse_value') are not supported".into(),
        ));
    } else {
        return Err(OpError::Invalid("Constant has no value attribute".into()));
    };
    ctx.set_output(0, Some(dtype), shape);
    if let Some(v) = value {
        set_value(ctx, 0, v);
    }
    Ok(())
}

/// ConstantOfShape: the shape is input 0's value (symbolic entries
/// allowed); dtype and fill from the one-element `value` tensor attribute
/// (default float32 zero). Small outputs' elements are tracked. 0 FLOPs.
pub(super) fn constant_of_shape(ctx: &mut NodeCtx) -> RuleResult {
    let (dtype, fill) = match ctx.attr("value") {
        None => (DType::F32, Some(ConstValue::Floats(vec![0.0]))),
        Some(AttrValue::Tensor(t)) => {
            if t.numel() != Some(1) {
                return Err(OpError::Invalid(
                    "attribute 'value' must have exactly one element".into(),
                ));
            }
            (t.dtype, ValueFacts::of_tensor(t).value)
        }
        Some(_) => {
            return Err(OpError::Invalid(
                "attribute 'value' should be a tensor".into(),
            ))
        }
    };
    let dims = match list_input(ctx, 0)? {
        IntList::Known(d) => d,
        IntList::Absent => return Err(OpError::MissingInput(0)),
        IntList::Unknown(len) => return data_dims(
            ctx,
            0,
            Some(dtype),
            len,
            "the shape of ConstantOfShape (input 0) is computed from values nncost does not know",
        ),
    };
    if let Some(v) = dims.iter().filter_map(Dim::as_i64).find(|&v| v < 0) {
        return Err(OpError::Invalid(format!("shape entry {v} is negative")));
    }
    ctx.set_output(0, Some(dtype), dims);
    if let (Some(n), Some(fill)) = (output_len(ctx, 0), fill) {
        let v = match fill {
            ConstValue::Ints(e) if e.len() == 1 => ConstValue::Ints(vec![e[0].clone(); n]),
            ConstValue::Floats(e) if e.len() == 1 => ConstValue::Floats(vec![e[0]; n]),
            _ => return Ok(()),
        };
        set_value(ctx, 0, v);
    }
    Ok(())
}

/// Range: a 1-D tensor of `max(⌈(limit − start)/delta⌉, 0)` elements.
/// Exact for concrete scalars; with symbolic integer scalars the length is
/// `(limit − start)/delta` when that divides exactly as a polynomial
/// (`Range(0, seq, 1)` has `seq` elements), else unknown. Small outputs'
/// elements are tracked (symbolic ones too). 0 FLOPs.
pub(super) fn range(ctx: &mut NodeCtx) -> RuleResult {
    let dtype = ctx.dtype(0).or(ctx.dtype(1)).or(ctx.dtype(2));
    for i in 0..3 {
        ctx.input(i)?;
        let Ok(s) = ctx.shape(i) else { continue };
        if shape::numel(s)?
            .and_then(|n| n.as_constant())
            .is_some_and(|n| n != 1)
        {
            return Err(OpError::Invalid(format!(
                "input {i} of Range must be a scalar"
            )));
        }
    }
    let get = |i: usize| ctx.value(i).filter(|v| v.len() == 1);
    let (Some(start), Some(limit), Some(delta)) = (get(0), get(1), get(2)) else {
        return data_dims(
            ctx,
            0,
            dtype,
            Some(1),
            "the start, limit or delta of Range is not known",
        );
    };
    let floats = [start, limit, delta]
        .iter()
        .any(|v| matches!(v, ConstValue::Floats(_)));
    if floats {
        let (Some(s), Some(l), Some(d)) = (first_f64(start), first_f64(limit), first_f64(delta))
        else {
            ctx.set_output(0, dtype, vec![Dim::Unknown]);
            return Ok(());
        };
        if d == 0.0 {
            return Err(OpError::Invalid("delta of Range is 0".into()));
        }
        let n = ((l - s) / d).ceil().max(0.0);
        if !n.is_finite() || n > 9.0e18 {
            return Err(OpError::Invalid(format!(
                "Range({s}, {l}, {d}) has no finite length"
            )));
        }
        let n = n as i64;
        ctx.set_output(0, dtype, vec![Dim::int(n)]);
        if usize::try_from(n).is_ok_and(trackable) {
            let v = (0..n).map(|i| s + i as f64 * d).collect();
            set_value(ctx, 0, ConstValue::Floats(v));
        }
        return Ok(());
    }
    let (Some(s), Some(l), Some(d)) = (first_dim(start), first_dim(limit), first_dim(delta)) else {
        ctx.set_output(0, dtype, vec![Dim::Unknown]);
        return Ok(());
    };
    let Some(k) = d.as_i64().map(i128::from) else {
        ctx.set_output(0, dtype, vec![Dim::Unknown]);
        return Ok(());
    };
    if k == 0 {
        return Err(OpError::Invalid("delta of Range is 0".into()));
    }
    let diff = if k > 0 { l.sub(&s)? } else { s.sub(&l)? };
    let len = match diff.poly() {
        None => Dim::Unknown,
        Some(p) => match p.as_constant() {
            Some(c) => {
                let m = k.abs();
                Dim::Known(Poly::constant(
                    (c.div_euclid(m) + i128::from(c.rem_euclid(m) != 0)).max(0),
                ))
            }
            None => Dim::Known(p.ceil_div(k.abs())?),
        },
    };
    ctx.set_output(0, dtype, vec![len]);
    if let Some(n) = output_len(ctx, 0) {
        let mut v = Vec::with_capacity(n);
        let mut x = s;
        for _ in 0..n {
            let next = x.add(&d)?;
            v.push(x);
            x = next;
        }
        set_value(ctx, 0, ConstValue::Ints(v));
    }
    Ok(())
}

fn first_f64(v: &ConstValue) -> Option<f64> {
    v.to_f64s()?.first().copied()
}

fn first_dim(v: &ConstValue) -> Option<Dim> {
    v.as_ints()?.first().cloned()
}

/// Cast to the dtype given by `to` (an ONNX type code). Tracked elements
/// are converted: integer → integer keeps symbolic dims, float → integer
/// truncates toward zero, integer → float converts concrete values, → bool
/// tests for non-zero. 0 FLOPs.
pub(super) fn cast(ctx: &mut NodeCtx) -> RuleResult {
    let code = match ctx.attr("to") {
        Some(_) => ctx.attr_int("to", 0)?,
        None => return Err(OpError::Invalid("attribute 'to' is required".into())),
    };
    let to = dtype_from_onnx_code(code).ok_or_else(|| {
        OpError::Invalid(format!(
            "attribute 'to' = {code} is not a known ONNX data type"
        ))
    })?;
    cast_to(ctx, to)
}

/// BitCast (opset 26): the input's bits reinterpreted as `to`, which must
/// have the same bit width; the shape is the input's. 0 FLOPs. The elements
/// are not tracked (their meaning changes).
pub(super) fn bit_cast(ctx: &mut NodeCtx) -> RuleResult {
    let code = match ctx.attr("to") {
        Some(_) => ctx.attr_int("to", 0)?,
        None => return Err(OpError::Invalid("attribute 'to' is required".into())),
    };
    let to = dtype_from_onnx_code(code).ok_or_else(|| {
        OpError::Invalid(format!(
            "attribute 'to' = {code} is not a known ONNX data type"
        ))
    })?;
    let s = ctx.shape(0)?.to_vec();
    if let Some(from) = ctx.dtype(0) {
        if from.bits() != to.bits() || to.bits() == 0 {
            return Err(OpError::Invalid(format!(
                "BitCast from {} to {}: the bit widths differ",
                from.name(),
                to.name()
            )));
        }
    }
    ctx.set_output(0, Some(to), s);
    Ok(())
}

/// HannWindow, HammingWindow, BlackmanWindow (opset 17): a 1-D window of
/// `size` (input 0, a scalar) elements of `output_datatype` (default
/// float); `F` FLOPs per element (see the table).
pub(super) fn window<const F: i128>(ctx: &mut NodeCtx) -> RuleResult {
    let code = ctx.attr_int("output_datatype", 1)?;
    let dtype = dtype_from_onnx_code(code).ok_or_else(|| {
        OpError::Invalid(format!(
            "attribute 'output_datatype' = {code} is not a known ONNX data type"
        ))
    })?;
    ctx.input(0)?;
    let size = match ctx.value(0) {
        Some(ConstValue::Ints(v)) if v.len() == 1 => v[0].clone(),
        Some(ConstValue::Floats(v)) if v.len() == 1 && v[0].is_finite() && v[0].abs() < 9.0e18 => {
            Dim::int(v[0] as i64)
        }
        Some(_) => return Err(OpError::Invalid("size (input 0) must be a scalar".into())),
        None => {
            ctx.set_output(0, Some(dtype), vec![Dim::Unknown]);
            return Err(OpError::DataDependent(format!(
                "the size of {} (input 0) is not known",
                ctx.node.op_type
            )));
        }
    };
    if size.as_i64().is_some_and(|n| n < 0) {
        return Err(OpError::Invalid("the window size is negative".into()));
    }
    ctx.set_output(0, Some(dtype), vec![size.clone()]);
    match size.poly() {
        Some(n) => ctx.add_flops(&n.checked_scale(F)?),
        None => Err(OpError::DataDependent(
            "the window size is not known".into(),
        )),
    }
}

/// The `dtype` attribute as a dtype, or `default` when absent.
fn dtype_attr(ctx: &NodeCtx, default: Option<DType>) -> Result<Option<DType>, OpError> {
    match ctx.attr("dtype") {
        None => Ok(default),
        Some(_) => {
            let code = ctx.attr_int("dtype", 0)?;
            dtype_from_onnx_code(code).map(Some).ok_or_else(|| {
                OpError::Invalid(format!(
                    "attribute 'dtype' = {code} is not an ONNX data type"
                ))
            })
        }
    }
}

/// RandomUniformLike, RandomNormalLike, Bernoulli: the input's shape, in
/// `dtype` (default the input's); `F` FLOPs per element.
pub(super) fn random_like<const F: i128>(ctx: &mut NodeCtx) -> RuleResult {
    let s = ctx.shape(0)?.to_vec();
    let dtype = dtype_attr(ctx, ctx.dtype(0))?;
    ctx.set_output(0, dtype, s);
    if F != 0 {
        let n = ctx.numel(0)?;
        ctx.add_flops(&n.checked_scale(F)?)?;
    }
    Ok(())
}

/// RandomUniform, RandomNormal: the `shape` attribute, in `dtype` (default
/// float).
pub(super) fn random<const F: i128>(ctx: &mut NodeCtx) -> RuleResult {
    let dtype = dtype_attr(ctx, Some(DType::F32))?;
    let Some(s) = ctx.attr_ints("shape")? else {
        return Err(OpError::Invalid("attribute 'shape' is required".into()));
    };
    let shape: Vec<Dim> = s.iter().map(|&d| Dim::int(d)).collect();
    ctx.set_output(0, dtype, shape);
    Ok(())
}

/// Multinomial(input `[batch_size, class_size]` of unnormalized
/// log-probabilities): `sample_size` (default 1) class indices per row,
/// `[batch_size, sample_size]` in `dtype` (6 = int32, the default, or
/// 7 = int64).
///
/// Cost, per row of `n` classes sampled `s` times, by inverse-CDF
/// sampling: the probabilities' cumulative sum, `exp` of each
/// log-probability (`n`) and a running sum (`n − 1`), then per sample one
/// uniform draw scaled by the total (1) and a linear scan of the
/// cumulative sums comparing it with each (`n`, the worst case: the scan
/// stops at the drawn class, which depends on the data):
/// **FLOPs = batch · (2n − 1 + s · (n + 1))**. Drawing the random number
/// itself costs 0, as for `RandomUniform`.
pub(super) fn multinomial(ctx: &mut NodeCtx) -> RuleResult {
    let s = ctx.known_shape(0)?;
    if s.len() != 2 {
        return Err(OpError::Invalid(format!(
            "input 0 should be [batch_size, class_size], not of rank {}",
            s.len()
        )));
    }
    if let Some(t) = ctx.dtype(0).filter(|t| !t.is_float()) {
        return Err(OpError::Invalid(format!(
            "input 0 should hold floating-point log-probabilities, not {}",
            t.name()
        )));
    }
    let samples = ctx.attr_int("sample_size", 1)?;
    if samples < 1 {
        return Err(OpError::Invalid(format!(
            "attribute 'sample_size' = {samples} should be at least 1"
        )));
    }
    let dtype = match ctx.attr_int("dtype", 6)? {
        6 => DType::I32,
        7 => DType::I64,
        code => {
            return Err(OpError::Invalid(format!(
                "attribute 'dtype' = {code} should be 6 (int32) or 7 (int64)"
            )))
        }
    };
    let (batch, n) = (&s[0], &s[1]);
    let samples = Poly::constant(i128::from(samples));
    ctx.set_output(
        0,
        Some(dtype),
        vec![Dim::Known(batch.clone()), Dim::Known(samples.clone())],
    );
    // 2n − 1 per row, n + 1 per sample.
    let per_row = n.checked_scale(2)?.checked_sub(&Poly::constant(1))?;
    let per_sample = n.checked_add(&Poly::constant(1))?;
    let per_row = per_row.checked_add(&samples.checked_mul(&per_sample)?)?;
    ctx.add_flops(&batch.checked_mul(&per_row)?)
}

/// CastLike: Cast to the dtype of input 1. 0 FLOPs.
pub(super) fn cast_like(ctx: &mut NodeCtx) -> RuleResult {
    ctx.input(1)?;
    match ctx.dtype(1) {
        Some(to) => cast_to(ctx, to),
        None => {
            if let Ok(s) = ctx.shape(0) {
                ctx.set_output(0, None, s.to_vec());
            }
            Err(ctx.unknown_input(1))
        }
    }
}

fn cast_to(ctx: &mut NodeCtx, to: DType) -> RuleResult {
    ctx.input(0)?;
    let Ok(s) = ctx.shape(0) else {
        ctx.set_output_dtype(0, Some(to));
        return Err(ctx.unknown_input(0));
    };
    ctx.set_output(0, Some(to), s.to_vec());
    if let Some(v) = ctx.value(0).and_then(|v| cast_value(v, to)) {
        set_value(ctx, 0, v);
    }
    Ok(())
}

/// Range of an integer dtype, for values that are exactly representable.
fn int_range(t: DType) -> Option<(i128, i128)> {
    use DType::*;
    Some(match t {
        I4 => (-8, 7),
        U4 => (0, 15),
        I2 => (-2, 1),
        U2 => (0, 3),
        I8 => (-128, 127),
        U8 => (0, 255),
        I16 => (-32768, 32767),
        U16 => (0, 65535),
        I32 => (i32::MIN as i128, i32::MAX as i128),
        U32 => (0, u32::MAX as i128),
        I64 => (i64::MIN as i128, i64::MAX as i128),
        U64 => (0, u64::MAX as i128),
        _ => return None,
    })
}

/// Converts tracked elements to `to`; `None` when the result is not
/// exactly known (a symbolic dim cast to float, an out-of-range value).
fn cast_value(v: &ConstValue, to: DType) -> Option<ConstValue> {
    if to == DType::Bool {
        return Some(ConstValue::Ints(match v {
            ConstValue::Ints(e) => e
                .iter()
                .map(|d| d.as_i64().map(|x| Dim::int(i64::from(x != 0))))
                .collect::<Option<_>>()?,
            ConstValue::Floats(e) => e.iter().map(|&x| Dim::int(i64::from(x != 0.0))).collect(),
        }));
    }
    if let Some((lo, hi)) = int_range(to) {
        let fits = |c: i128| (lo..=hi).contains(&c);
        return Some(ConstValue::Ints(match v {
            // Symbolic dims are sizes: they fit any integer type.
            ConstValue::Ints(e) => e
                .iter()
                .map(|d| match d.poly().and_then(Poly::as_constant) {
                    Some(c) if !fits(c) => None,
                    _ => Some(d.clone()),
                })
                .collect::<Option<_>>()?,
            ConstValue::Floats(e) => e
                .iter()
                .map(|&x| {
                    let t = x.trunc();
                    (t.is_finite() && t.abs() < 9.0e18 && fits(t as i128))
                        .then(|| Dim::int(t as i64))
                })
                .collect::<Option<_>>()?,
        }));
    }
    // To a float type: rounded to its precision; an overflow (to ∞), a
    // symbolic dim or an 8-bit float type gives no value.
    let floats = v
        .to_f64s()?
        .into_iter()
        .map(|x| round_to_dtype(x, to))
        .collect::<Option<Vec<_>>>()?;
    ConstValue::floats(floats)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{
        act, dims, floats_nd, ints, run_rule, scalar, tensor_attr, unknown_ints,
    };
    use super::*;
    use crate::graph::TensorData;
    use crate::ops::testing::NodeTest;
    use crate::report::NodeStatus;
    use bytes::Bytes;

    fn incomplete(r: &crate::ops::testing::Outcome, needle: &str) -> bool {
        matches!(r.status(), NodeStatus::Incomplete { reason: m, .. } if m.contains(needle))
    }

    #[test]
    fn onnx_dtype_codes() {
        let all: Vec<DType> = (1..=26).filter_map(dtype_from_onnx_code).collect();
        assert_eq!(all.len(), 26);
        for (i, a) in all.iter().enumerate() {
            assert!(!all[i + 1..].contains(a), "{a:?} twice");
        }
        assert_eq!(dtype_from_onnx_code(1), Some(DType::F32));
        assert_eq!(dtype_from_onnx_code(7), Some(DType::I64));
        assert_eq!(dtype_from_onnx_code(9), Some(DType::Bool));
        assert_eq!(dtype_from_onnx_code(16), Some(DType::BF16));
        assert_eq!(dtype_from_onnx_code(24), Some(DType::F8E8M0));
        assert_eq!(dtype_from_onnx_code(0), None);
        assert_eq!(dtype_from_onnx_code(25), Some(DType::U2));
        assert_eq!(dtype_from_onnx_code(26), Some(DType::I2));
        assert_eq!(dtype_from_onnx_code(27), None);
        assert_eq!(dtype_from_onnx_code(-1), None);
    }

    /// Shape of [batch, 3, 224, 224]: a [4] int64 tensor whose value is the
    /// dims; opset 15 start 1, end −1 → [3, 224]; start −10 clamps to 0.
    #[test]
    fn shape_value() {
        let x = act(&["batch", "3", "224", "224"]);
        let r = run_rule("Shape", 13, &[Some(x.clone())], &[], 1);
        assert_eq!(r.shape(0), "4");
        assert_eq!(r.dtype(0), Some(DType::I64));
        assert_eq!(r.value(0), "[batch, 3, 224, 224]");
        let r = run_rule(
            "Shape",
            15,
            &[Some(x.clone())],
            &[("start", AttrValue::Int(1)), ("end", AttrValue::Int(-1))],
            1,
        );
        assert_eq!(r.shape(0), "2");
        assert_eq!(r.value(0), "[3, 224]");
        let r = run_rule(
            "Shape",
            15,
            &[Some(x.clone())],
            &[("start", AttrValue::Int(-10))],
            1,
        );
        assert_eq!(r.value(0), "[batch, 3, 224, 224]");
        let r = run_rule(
            "Shape",
            15,
            &[Some(x)],
            &[("start", AttrValue::Int(3)), ("end", AttrValue::Int(1))],
            1,
        );
        assert_eq!(r.shape(0), "0");
        let r = NodeTest::new("Shape").input_sym(&["batch", "3"]).run();
        assert_eq!(r.shape(0), "2");
        assert_eq!(r.flops(), 0);
        // Unknown rank: the output is still 1-D.
        let r = NodeTest::new("Shape").input_unknown().run();
        assert!(incomplete(&r, "unknown"));
        assert_eq!(r.shape(0), "?");
    }

    /// Size of [batch, 3, 224, 224] = 150528·batch, a scalar.
    #[test]
    fn size_value() {
        let r = run_rule(
            "Size",
            13,
            &[Some(act(&["batch", "3", "224", "224"]))],
            &[],
            1,
        );
        assert_eq!(r.shape(0), "scalar");
        assert_eq!(r.value(0), "[150528*batch]");
        let r = NodeTest::new("Size").input(&[2, 3]).run();
        assert_eq!(r.shape(0), "scalar");
        assert_eq!(r.flops(), 0);
    }

    #[test]
    fn constant_forms() {
        let raw: Vec<u8> = [2i64, -1].iter().flat_map(|v| v.to_le_bytes()).collect();
        let t = tensor_attr(DType::I64, &[2], TensorData::Raw(Bytes::from(raw)));
        let r = run_rule("Constant", 13, &[], &[("value", t)], 1);
        assert_eq!(r.shape(0), "2");
        assert_eq!(r.value(0), "[2, -1]");
        let t = tensor_attr(DType::F32, &[64, 3, 7, 7], TensorData::Absent);
        let r = run_rule("Constant", 13, &[], &[("value", t)], 1);
        assert_eq!(r.shape(0), "64x3x7x7");
        assert_eq!(r.value(0), "none");
        let r = run_rule(
            "Constant",
            13,
            &[],
            &[("value_float", AttrValue::Float(0.5))],
            1,
        );
        assert_eq!((r.shape(0), r.value(0)), ("scalar".into(), "[0.5]".into()));
        assert_eq!(r.dtype(0), Some(DType::F32));
        let r = run_rule(
            "Constant",
            13,
            &[],
            &[("value_floats", AttrValue::Floats(vec![1.0, 2.0]))],
            1,
        );
        assert_eq!((r.shape(0), r.value(0)), ("2".into(), "[1, 2]".into()));
        let r = run_rule("Constant", 13, &[], &[("value_int", AttrValue::Int(7))], 1);
        assert_eq!((r.shape(0), r.value(0)), ("scalar".into(), "[7]".into()));
        assert_eq!(r.dtype(0), Some(DType::I64));
        let r = run_rule(
            "Constant",
            13,
            &[],
            &[("value_ints", AttrValue::Ints(vec![1, 2, 3]))],
            1,
        );
        assert_eq!((r.shape(0), r.value(0)), ("3".into(), "[1, 2, 3]".into()));
        let r = run_rule(
            "Constant",
            13,
            &[],
            &[("value_string", AttrValue::String(Bytes::from_static(b"a")))],
            1,
        );
        assert_eq!(
            (r.shape(0), r.dtype(0)),
            ("scalar".into(), Some(DType::String))
        );
        let strs = AttrValue::Strings(vec![Bytes::from_static(b"a"), Bytes::from_static(b"b")]);
        let r = run_rule("Constant", 13, &[], &[("value_strings", strs)], 1);
        assert_eq!(r.shape(0), "2");
        let r = run_rule(
            "Constant",
            13,
            &[],
            &[("sparse_value", AttrValue::Other)],
            1,
        );
        assert!(r.invalid());
        let r = NodeTest::new("Constant").run();
        assert!(incomplete(&r, "no value"));
        let r = NodeTest::new("Constant").int("value", 3).run();
        assert!(incomplete(&r, "should be a tensor"));
    }

    /// ConstantOfShape [batch, 3] → float32 [batch, 3]; with an int64 fill
    /// of 1 and shape [2, 3] → six 1s, tracked.
    #[test]
    fn constant_of_shape() {
        let r = run_rule(
            "ConstantOfShape",
            13,
            &[Some(ints(&["batch", "3"]))],
            &[],
            1,
        );
        assert_eq!(r.shape(0), "batchx3");
        assert_eq!(r.dtype(0), Some(DType::F32));
        assert_eq!(r.value(0), "none");
        let one = tensor_attr(DType::I64, &[1], TensorData::Ints(vec![1]));
        let r = run_rule(
            "ConstantOfShape",
            13,
            &[Some(ints(&["2", "3"]))],
            &[("value", one)],
            1,
        );
        assert_eq!(r.shape(0), "2x3");
        assert_eq!(r.dtype(0), Some(DType::I64));
        assert_eq!(r.value(0), "[1, 1, 1, 1, 1, 1]");
        let r = run_rule("ConstantOfShape", 13, &[Some(ints(&["3"]))], &[], 1);
        assert_eq!(r.value(0), "[0, 0, 0]");
        let r = run_rule("ConstantOfShape", 13, &[Some(unknown_ints(2))], &[], 1);
        assert!(r.data_dependent());
        assert_eq!(r.shape(0), "n_ax0xn_ax1");
        let r = NodeTest::new("ConstantOfShape").ints(&[2, -3]).run();
        assert!(incomplete(&r, "negative"));
        let r = NodeTest::new("ConstantOfShape").ints(&[2, 3]).run();
        assert_eq!(r.shape(0), "2x3");
        assert_eq!(r.flops(), 0);
    }

    /// Range(0, 10, 3) → 0, 3, 6, 9 (⌈10/3⌉ = 4); Range(10, 0, −3) → 10, 7,
    /// 4, 1; Range(5, 0, 1) → empty; Range(0.0, 1.0, 0.25) → 4 floats.
    #[test]
    fn random() {
        use crate::ops::testing::NodeTest;
        let r = NodeTest::new("RandomUniformLike").input(&[2, 3]).run();
        assert_eq!(r.shape(0), "2x3");
        assert_eq!(r.flops(), 0);
        let b = NodeTest::new("Bernoulli").input(&[2, 3]).run();
        assert_eq!(b.flops(), 6);
        let u = NodeTest::new("RandomNormal")
            .ints_attr("shape", &[4, 5])
            .run();
        assert_eq!(u.shape(0), "4x5");
    }

    /// Multinomial over 5 classes, 3 samples, batch 2: per row
    /// 2·5 − 1 = 9 (exp, running sum) + 3 · (5 + 1) = 18 (scale, scan),
    /// 27; two rows, 54 FLOPs. Symbolic batch, 10 classes, 1 sample:
    /// 19 + 11 = 30 per row.
    #[test]
    fn multinomial() {
        use crate::ops::testing::NodeTest;
        let r = NodeTest::new("Multinomial")
            .input(&[2, 5])
            .int("sample_size", 3)
            .run();
        assert_eq!(r.shape(0), "2x3");
        assert_eq!((r.macs(), r.flops()), (0, 54));
        assert_eq!(r.node().outputs[0].dtype, Some(DType::I32));
        let r = NodeTest::new("Multinomial")
            .opset(22)
            .input_sym(&["batch", "10"])
            .int("dtype", 7)
            .run();
        assert_eq!(r.shape(0), "batchx1");
        assert_eq!(r.flops_expr(), "30*batch");
        assert_eq!(r.node().outputs[0].dtype, Some(DType::I64));
        let bad = |t: NodeTest, needle: &str| {
            let r = t.run();
            assert!(
                matches!(r.status(), NodeStatus::Incomplete { reason: m, .. } if m.contains(needle)),
                "{needle}: {:?}",
                r.status()
            );
        };
        let m = || NodeTest::new("Multinomial");
        bad(m().input(&[2, 5]).int("dtype", 1), "'dtype' = 1");
        bad(m().input(&[2, 5, 4]), "rank 3");
        bad(m().input(&[5]), "rank 1");
        bad(m().input(&[2, 5]).int("sample_size", 0), "'sample_size'");
        bad(
            m().input_dims(vec![Dim::int(2), Dim::int(5)], DType::I64),
            "floating-point",
        );
        bad(m().input_unknown(), "unknown");
    }

    #[test]
    fn bit_cast_and_windows() {
        use crate::ops::testing::NodeTest;
        let b = NodeTest::new("BitCast").input(&[2, 3]).int("to", 6).run();
        assert_eq!(b.shape(0), "2x3");
        assert_eq!(b.flops(), 0);
        let bad = NodeTest::new("BitCast").input(&[2, 3]).int("to", 7).run();
        assert!(
            matches!(bad.status(), crate::report::NodeStatus::Incomplete { reason: m, .. } if m.contains("bit widths"))
        );
        // Hann of 10: 4·10 = 40; Blackman 8·10 = 80.
        let h = NodeTest::new("HannWindow").opset(17).ints(&[10]).run();
        assert_eq!(h.shape(0), "10");
        assert_eq!(h.flops(), 40);
        let k = NodeTest::new("BlackmanWindow").opset(17).ints(&[10]).run();
        assert_eq!(k.flops(), 80);
    }

    #[test]
    fn range_concrete() {
        let r = run_rule(
            "Range",
            11,
            &[Some(scalar("0")), Some(scalar("10")), Some(scalar("3"))],
            &[],
            1,
        );
        assert_eq!(r.shape(0), "4");
        assert_eq!(r.value(0), "[0, 3, 6, 9]");
        let r = run_rule(
            "Range",
            11,
            &[Some(scalar("10")), Some(scalar("0")), Some(scalar("-3"))],
            &[],
            1,
        );
        assert_eq!(r.value(0), "[10, 7, 4, 1]");
        let r = run_rule(
            "Range",
            11,
            &[Some(scalar("5")), Some(scalar("0")), Some(scalar("1"))],
            &[],
            1,
        );
        assert_eq!(r.shape(0), "0");
        let f = |x: f64| floats_nd(&[], &[x]);
        let r = run_rule(
            "Range",
            11,
            &[Some(f(0.0)), Some(f(1.0)), Some(f(0.25))],
            &[],
            1,
        );
        assert_eq!(r.shape(0), "4");
        assert_eq!(r.value(0), "[0, 0.25, 0.5, 0.75]");
        let r = run_rule(
            "Range",
            11,
            &[Some(scalar("0")), Some(scalar("10")), Some(scalar("0"))],
            &[],
            1,
        );
        assert!(r.invalid());
        let r = run_rule(
            "Range",
            11,
            &[
                Some(ints(&["0", "1"])),
                Some(scalar("10")),
                Some(scalar("1")),
            ],
            &[],
            1,
        );
        assert!(r.invalid());
    }

    /// Range(0, seq, 1) has exactly seq elements; Range(0, seq, 2) has
    /// ⌈seq/2⌉, not a polynomial: unknown, no error; an untracked limit is
    /// data dependent. Range(p, p + 3, 1) has 3 elements p, p+1, p+2.
    #[test]
    fn range_symbolic() {
        let r = run_rule(
            "Range",
            11,
            &[Some(scalar("0")), Some(scalar("seq")), Some(scalar("1"))],
            &[],
            1,
        );
        assert!(r.ok());
        assert_eq!(r.shape(0), "seq");
        let r = run_rule(
            "Range",
            11,
            &[Some(scalar("0")), Some(scalar("seq")), Some(scalar("2"))],
            &[],
            1,
        );
        assert!(r.ok());
        assert_eq!(r.shape(0), "ceil(seq/2)");
        let r = run_rule(
            "Range",
            11,
            &[Some(scalar("0")), Some(unknown_ints(1)), Some(scalar("1"))],
            &[],
            1,
        );
        assert!(r.data_dependent());
        assert_eq!(r.shape(0), "n_ax0");
        let p3 = crate::value::ValueFacts {
            dtype: Some(DType::I64),
            shape: Some(Vec::new().into()),
            value: Some(ConstValue::Ints(vec![Dim::sym("p")
                .add(&Dim::int(3))
                .unwrap()])),
            sequence: None,
            pattern: None,
        };
        let r = run_rule(
            "Range",
            11,
            &[Some(scalar("p")), Some(p3), Some(scalar("1"))],
            &[],
            1,
        );
        assert_eq!(r.shape(0), "3");
        assert_eq!(r.value(0), "[p, (p + 1), (p + 2)]");
    }

    /// Cast float32 → int64 (to = 7): values truncate toward zero, 1.7 → 1,
    /// −2.5 → −2; int64 → int32 keeps symbolic dims; int → float converts
    /// concrete values only; → bool tests for non-zero.
    #[test]
    fn cast_values() {
        let to = |c: i64| [("to", AttrValue::Int(c))];
        let r = run_rule(
            "Cast",
            13,
            &[Some(floats_nd(&[2], &[1.7, -2.5]))],
            &to(7),
            1,
        );
        assert_eq!(r.dtype(0), Some(DType::I64));
        assert_eq!(r.shape(0), "2");
        assert_eq!(r.value(0), "[1, -2]");
        let r = run_rule("Cast", 13, &[Some(ints(&["batch", "3"]))], &to(6), 1);
        assert_eq!(r.dtype(0), Some(DType::I32));
        assert_eq!(r.value(0), "[batch, 3]");
        let r = run_rule("Cast", 13, &[Some(ints(&["2", "3"]))], &to(1), 1);
        assert_eq!(r.value(0), "[2, 3]");
        assert!(matches!(r.outputs[0].value, Some(ConstValue::Floats(_))));
        let r = run_rule("Cast", 13, &[Some(ints(&["batch", "3"]))], &to(1), 1);
        assert_eq!(r.value(0), "none");
        let r = run_rule("Cast", 13, &[Some(ints(&["0", "5"]))], &to(9), 1);
        assert_eq!(r.value(0), "[0, 1]");
        // 300 does not fit uint8: not tracked.
        let r = run_rule("Cast", 13, &[Some(ints(&["300"]))], &to(2), 1);
        assert_eq!(r.value(0), "none");
        let r = run_rule("Cast", 13, &[Some(act(&["batch", "3"]))], &to(10), 1);
        assert_eq!(r.dtype(0), Some(DType::F16));
        assert_eq!(r.shape(0), "batchx3");
    }

    /// Float casts worked by hand: −2.7 → int64 (to = 7) is −2 and 2.99 → 2
    /// (truncation, as ONNX); 1/3 → float16 (to = 10) is 1365/4096 =
    /// 0.333251953125 (10 significand bits); → bfloat16 (to = 16) 171/512 =
    /// 0.333984375; 70000 overflows float16 (max 65504): no value; int64 7
    /// → double (to = 11) is 7.0.
    #[test]
    fn cast_float_values() {
        let to = |c: i64| [("to", AttrValue::Int(c))];
        let r = run_rule(
            "Cast",
            13,
            &[Some(floats_nd(&[2], &[-2.7, 2.99]))],
            &to(7),
            1,
        );
        assert_eq!(r.value(0), "[-2, 2]");
        let third = 1.0 / 3.0;
        let r = run_rule("Cast", 13, &[Some(floats_nd(&[], &[third]))], &to(10), 1);
        assert_eq!(r.value(0), "[0.333251953125]");
        let r = run_rule("Cast", 13, &[Some(floats_nd(&[], &[third]))], &to(16), 1);
        assert_eq!(r.value(0), "[0.333984375]");
        let r = run_rule("Cast", 13, &[Some(floats_nd(&[], &[70000.0]))], &to(10), 1);
        assert_eq!(r.value(0), "none");
        assert_eq!(r.shape(0), "scalar");
        let r = run_rule("Cast", 13, &[Some(ints(&["7"]))], &to(11), 1);
        assert_eq!(r.value(0), "[7]");
        assert!(matches!(r.outputs[0].value, Some(ConstValue::Floats(_))));
        // 8-bit floats are not tracked.
        let r = run_rule("Cast", 19, &[Some(floats_nd(&[], &[1.0]))], &to(17), 1);
        assert_eq!(r.value(0), "none");
    }

    #[test]
    fn cast_errors_and_cost() {
        let r = NodeTest::new("Cast")
            .input_sym(&["batch", "3"])
            .int("to", 7)
            .run();
        assert_eq!(r.shape(0), "batchx3");
        assert_eq!(r.node().outputs[0].dtype, Some(DType::I64));
        assert_eq!(r.flops(), 0);
        let r = NodeTest::new("Cast").input(&[2]).int("to", 99).run();
        assert!(incomplete(&r, "99"));
        let r = NodeTest::new("Cast").input(&[2]).run();
        assert!(incomplete(&r, "'to' is required"));
    }

    /// CastLike takes the dtype of input 1.
    #[test]
    fn cast_like() {
        let r = NodeTest::new("CastLike")
            .input(&[2, 3])
            .input_dims(dims(&["1"]), DType::F16)
            .run();
        assert_eq!(r.shape(0), "2x3");
        assert_eq!(r.node().outputs[0].dtype, Some(DType::F16));
        assert_eq!(r.flops(), 0);
        let r = run_rule(
            "CastLike",
            15,
            &[Some(floats_nd(&[1], &[3.9])), Some(scalar("0"))],
            &[],
            1,
        );
        assert_eq!(r.value(0), "[3]");
    }
}
