//! ONNX sequence operators: `SplitToSequence`, `SequenceAt`,
//! `SequenceConstruct`, `SequenceEmpty`, `SequenceInsert`, `SequenceErase`,
//! `SequenceLength` and `ConcatFromSequence`, and the optional operators
//! `Optional`, `OptionalHasElement` and `OptionalGetElement` (an optional
//! value has the facts of the element it holds). PyTorch's dynamo exporter
//! writes `torch.split` as `SplitToSequence` + `SequenceAt` when
//! onnxscript's optimizer does not run.
//!
//! All of them move data: 0 MACs and 0 FLOPs.
//!
//! A sequence value's facts ([`ValueFacts::sequence`]) list the facts of
//! each element when the sequence's length and elements are known. Its own
//! `dtype` and `shape` describe its elements as ONNX's `seq(tensor(...))`
//! type does: the element type, and the dims every element shares
//! (unknown where elements differ). So even a sequence of unknown length
//! (the chunks of a symbolic axis) still says what its elements look like,
//! and a `SequenceAt` on it knows its output shape when every element has
//! the same one.
//!
//! When a rule cannot know its output because the sequence, a position or
//! the split sizes are not known, it sets what it knows and reports
//! [`OpError::DataDependent`] (or [`OpError::UnknownInput`] when even the
//! elements' rank is unknown).
//!
//! `SequenceMap` (a body run on each element) is control flow: the engine
//! runs it ([`crate::control`]), reading the element facts kept here.

use super::tensor::dtype_from_onnx_code;
use super::tensor::slice::interleave_values;
use super::{NodeCtx, OpDef, OpError, Role, RuleResult};
use crate::graph::DType;
use crate::shape::{normalize_axis, Dim, Shape, SharedShape};
use crate::value::{ConstValue, ValueFacts, MAX_TRACKED_ELEMENTS};

const DATA: &[Role] = &[Role::Data];
const DATA_CONFIG: &[Role] = &[Role::Data, Role::Config];
const INSERT: &[Role] = &[Role::Data, Role::Data, Role::Config];

const MOVE: &str = "0 (data movement)";

/// Longest sequence whose elements are tracked; longer ones (a split into
/// chunks of 1 along a huge axis) keep only their element type.
const MAX_TRACKED_LEN: usize = MAX_TRACKED_ELEMENTS as usize;

pub const OPS: &[OpDef] = &[
    op!("Optional", optional, DATA, MOVE),
    op!("OptionalHasElement", optional_has_element, DATA, MOVE),
    op!("OptionalGetElement", optional_get_element, DATA, MOVE),
    op!("SplitToSequence", split_to_sequence, DATA_CONFIG, MOVE),
    op!("SequenceAt", sequence_at, DATA_CONFIG, MOVE),
    op!("SequenceConstruct", sequence_construct, DATA, MOVE),
    op!(
        "SequenceEmpty",
        sequence_empty,
        &[],
        "0 (creates an empty sequence)"
    ),
    op!("SequenceInsert", sequence_insert, INSERT, MOVE),
    op!("SequenceErase", sequence_erase, DATA_CONFIG, MOVE),
    op!(
        "SequenceLength",
        sequence_length,
        DATA,
        "0 (the length is known from the sequence)"
    ),
    op!("ConcatFromSequence", concat_from_sequence, DATA, MOVE),
];

// ----- rules ------------------------------------------------------------------

/// Optional: holds input 0 when given (its facts), else is empty (no
/// facts: its type comes from the `type` attribute).
fn optional(ctx: &mut NodeCtx) -> RuleResult {
    if ctx.has_input(0) {
        ctx.pass_through(0, 0)?;
    }
    Ok(())
}

/// OptionalHasElement: a bool scalar; known false when no input is given,
/// known true when the input's elements or a sequence's elements are
/// known (an empty optional, `Optional` without input, never has them:
/// only a value that exists does).
fn optional_has_element(ctx: &mut NodeCtx) -> RuleResult {
    ctx.set_output(0, Some(DType::Bool), Vec::new());
    let has = if !ctx.has_input(0) {
        Some(false)
    } else {
        let f = ctx.input(0)?;
        (f.value.is_some() || f.sequence.is_some()).then_some(true)
    };
    if let Some(has) = has {
        ctx.set_output_value(0, ConstValue::Ints(vec![Dim::int(i64::from(has))]));
    }
    Ok(())
}

/// OptionalGetElement: the element held (or, from opset 18, the tensor
/// or sequence given): input 0's facts.
fn optional_get_element(ctx: &mut NodeCtx) -> RuleResult {
    ctx.input(0)?;
    ctx.pass_through(0, 0)
}

/// SplitToSequence(input, split?) along `axis` (default 0):
/// - `split` a scalar `k`: chunks of `k`, the last one smaller if `k` does
///   not divide the axis (`⌈d/k⌉` chunks);
/// - `split` 1-D: one chunk per length (they must add up to the axis);
/// - no `split`: chunks of 1, with the axis removed when `keepdims = 0`.
///
/// Symbolic dims work: `[batch, seq, 192]` split by `[64, 64, 64]` (or by
/// the scalar 64) along axis 2 is three `[batch, seq, 64]` elements. Along
/// a symbolic axis the number of chunks is not known; the elements' shape
/// still is when every chunk has the same size (no `split`, or a `k` that
/// divides the symbolic size). Tracked elements are split. 0 FLOPs.
fn split_to_sequence(ctx: &mut NodeCtx) -> RuleResult {
    let s = ctx.shape(0)?;
    let dtype = ctx.dtype(0);
    let r = s.len();
    let axis = ctx.attr_int("axis", 0)?;
    let axis = normalize_axis(axis, r).ok_or_else(|| {
        OpError::Invalid(format!(
            "attribute 'axis' = {axis} is out of range for rank {r}"
        ))
    })?;
    let d = &s[axis];
    let with_axis = |size: Dim| -> Shape {
        let mut o = s.to_vec();
        o[axis] = size;
        o
    };
    let source = tracked_value(ctx, 0);
    let chunk = |size: &Dim, start: Option<usize>| -> ValueFacts {
        let shape = with_axis(size.clone());
        let value = match (&source, start, size.as_i64()) {
            (Some((v, dims)), Some(start), Some(len)) => usize::try_from(len)
                .ok()
                .and_then(|len| slab(v, dims, axis, start, len)),
            _ => None,
        };
        tensor_facts(dtype, Some(shape.into()), value)
    };

    if !ctx.has_input(1) {
        let keepdims = ctx.attr_int("keepdims", 1)?;
        if keepdims != 0 && keepdims != 1 {
            return Err(OpError::Invalid(format!(
                "attribute 'keepdims' must be 0 or 1, got {keepdims}"
            )));
        }
        let count = match d.as_i64() {
            Some(n) if n < 0 => {
                return Err(OpError::Invalid(format!("axis {axis} has size {n}")));
            }
            Some(n) => usize::try_from(n).ok().filter(|&n| n <= MAX_TRACKED_LEN),
            None => None,
        };
        let squeeze = |f: ValueFacts| -> ValueFacts {
            if keepdims == 1 {
                return f;
            }
            // Removing a size-1 axis keeps the row-major order of elements.
            let shape = f.shape.map(|sh| {
                let mut sh = sh.to_vec();
                sh.remove(axis);
                SharedShape::from(sh)
            });
            tensor_facts(f.dtype, shape, f.value)
        };
        match count {
            Some(n) => {
                let elements = (0..n).map(|k| squeeze(chunk(&Dim::int(1), Some(k))));
                set_sequence(ctx, 0, dtype, elements.collect());
            }
            // The number of chunks is not known (or too many to track), but
            // every chunk has size 1 on the axis.
            None => {
                let f = squeeze(tensor_facts(
                    dtype,
                    Some(with_axis(Dim::int(1)).into()),
                    None,
                ));
                set_element_type(ctx, 0, dtype, f.shape.map(|s| s.to_vec()));
            }
        }
        return Ok(());
    }

    let split_shape = ctx.shape(1)?;
    if let Some(t) = ctx
        .dtype(1)
        .filter(|t| !matches!(t, DType::I32 | DType::I64))
    {
        return Err(OpError::Invalid(format!(
            "input 1 ('split') should be int32 or int64, not {}",
            t.name()
        )));
    }
    let sizes = match ctx.value(1) {
        Some(ConstValue::Ints(v)) => Some(v),
        Some(ConstValue::Floats(_)) => {
            return Err(OpError::Invalid(
                "input 1 ('split') should hold integers, not floats".into(),
            ))
        }
        None => None,
    };
    match split_shape {
        // A scalar: chunks of k, the last one possibly smaller.
        [] => {
            let k = match sizes.map(Vec::as_slice) {
                Some([k]) => k.as_i64(),
                Some(v) => {
                    return Err(OpError::Invalid(format!(
                        "scalar input 1 ('split') holds {} elements",
                        v.len()
                    )))
                }
                None => None,
            };
            let Some(k) = k else {
                set_element_type(ctx, 0, dtype, Some(with_axis(Dim::Unknown)));
                return Err(OpError::DataDependent(
                    "the chunk size of SplitToSequence (input 1) is not known".into(),
                ));
            };
            if k <= 0 {
                return Err(OpError::Invalid(format!(
                    "the chunk size (input 1) must be positive, got {k}"
                )));
            }
            let Some(p) = d.poly() else {
                set_element_type(ctx, 0, dtype, Some(with_axis(Dim::Unknown)));
                return Err(ctx.unknown_input(0));
            };
            match p.as_constant() {
                Some(total) if total < 0 => {
                    Err(OpError::Invalid(format!("axis {axis} has size {total}")))
                }
                Some(total) => {
                    let k = k as i128;
                    // ⌈total/k⌉ chunks: k each, the rest last.
                    let n = (total + k - 1) / k;
                    match usize::try_from(n).ok().filter(|&n| n <= MAX_TRACKED_LEN) {
                        Some(n) => {
                            let elements = (0..n)
                                .map(|c| {
                                    let start = c as i128 * k;
                                    let size = Dim::Known(crate::poly::Poly::constant(
                                        k.min(total - start),
                                    ));
                                    chunk(&size, usize::try_from(start).ok())
                                })
                                .collect();
                            set_sequence(ctx, 0, dtype, elements);
                        }
                        None => {
                            let size = if total % k == 0 {
                                Dim::Known(crate::poly::Poly::constant(k))
                            } else {
                                Dim::Unknown
                            };
                            set_element_type(ctx, 0, dtype, Some(with_axis(size)));
                        }
                    }
                    Ok(())
                }
                // A symbolic size: if k divides it (every coefficient is a
                // multiple of k) all chunks have size k; their number is
                // not known either way.
                None if p.div_exact(k as i128).is_some() => {
                    set_element_type(ctx, 0, dtype, Some(with_axis(Dim::int(k))));
                    Ok(())
                }
                None => {
                    set_element_type(ctx, 0, dtype, Some(with_axis(Dim::Unknown)));
                    Err(OpError::DataDependent(format!(
                        "the chunks of {k} along axis {axis} of size {p}: their sizes \
                         depend on the value of {p}"
                    )))
                }
            }
        }
        [len] => {
            let Some(v) = sizes else {
                // Known count, unknown lengths.
                match len
                    .as_i64()
                    .and_then(|n| usize::try_from(n).ok())
                    .filter(|&n| n <= MAX_TRACKED_LEN)
                {
                    Some(n) => {
                        let elements = vec![chunk(&Dim::Unknown, None); n];
                        set_sequence(ctx, 0, dtype, elements);
                    }
                    None => set_element_type(ctx, 0, dtype, Some(with_axis(Dim::Unknown))),
                }
                return Err(OpError::DataDependent(
                    "the split lengths of SplitToSequence (input 1) are not known".into(),
                ));
            };
            if let Some(x) = v.iter().filter_map(Dim::as_i64).find(|&x| x < 0) {
                return Err(OpError::Invalid(format!("split length {x} is negative")));
            }
            let mut sum = Dim::int(0);
            for size in v {
                sum = sum.add(size)?;
            }
            if let Some(diff) = d.sub(&sum)?.poly().and_then(|p| p.as_constant()) {
                if diff != 0 {
                    return Err(OpError::Invalid(format!(
                        "split lengths add up to {sum} but axis {axis} has size {d}"
                    )));
                }
            }
            let mut start = Some(0usize);
            let mut elements = Vec::with_capacity(v.len());
            for size in v {
                elements.push(chunk(size, start));
                start = start
                    .zip(size.as_i64().and_then(|x| usize::try_from(x).ok()))
                    .and_then(|(a, b)| a.checked_add(b));
            }
            set_sequence(ctx, 0, dtype, elements);
            Ok(())
        }
        _ => Err(OpError::Invalid(format!(
            "input 1 ('split') must be a scalar or 1-D, got rank {}",
            split_shape.len()
        ))),
    }
}

/// SequenceAt(sequence, position): the element at `position` (negative
/// counts from the end; out of range is an error), with its facts and
/// tracked elements. Without a known position, or a known sequence, the
/// output is the elements' common type: exact when they all share one
/// shape, otherwise a data-dependent error. 0 FLOPs.
fn sequence_at(ctx: &mut NodeCtx) -> RuleResult {
    ctx.input(0)?;
    if !ctx.has_input(1) {
        return Err(OpError::MissingInput(1));
    }
    let Some(elements) = ctx.input_sequence(0) else {
        return element_type_of_input(ctx, "the elements of the sequence (input 0) are not known");
    };
    match position(ctx, 1, elements.len(), false)? {
        Some(p) => {
            let e = elements
                .get(p)
                .ok_or_else(|| OpError::Invalid(format!("position {p} is out of range")))?;
            set_tensor(ctx, 0, e);
            if e.shape.is_none() {
                return Err(OpError::DataDependent(format!(
                    "the shape of element {p} of the sequence (input 0) is not known"
                )));
            }
            Ok(())
        }
        None => element_type_of_input(ctx, "the position (input 1) is not known"),
    }
}

/// SequenceConstruct(inputs...): a sequence of its inputs, which must share
/// a dtype. 0 FLOPs.
fn sequence_construct(ctx: &mut NodeCtx) -> RuleResult {
    let n = ctx.num_inputs();
    if n == 0 {
        return Err(OpError::Invalid(
            "SequenceConstruct needs at least one input".into(),
        ));
    }
    let mut dtype = None;
    let mut elements = Vec::with_capacity(n);
    for i in 0..n {
        let f = ctx.input(i)?;
        check_dtype(dtype, f.dtype, i)?;
        dtype = dtype.or(f.dtype);
        elements.push(tensor_facts(f.dtype, f.shape.clone(), f.value.clone()));
    }
    set_sequence(ctx, 0, dtype, elements);
    // Flag an element whose rank is unknown.
    for i in 0..n {
        ctx.shape(i)?;
    }
    Ok(())
}

/// SequenceEmpty: an empty sequence of `dtype` (default float32). 0 FLOPs.
fn sequence_empty(ctx: &mut NodeCtx) -> RuleResult {
    let code = ctx.attr_int("dtype", 1)?;
    let dtype = dtype_from_onnx_code(code)
        .ok_or_else(|| OpError::Invalid(format!("attribute 'dtype' = {code} is not a dtype")))?;
    ctx.set_output_dtype(0, Some(dtype));
    ctx.set_output_sequence(0, Vec::new());
    Ok(())
}

/// SequenceInsert(sequence, tensor, position?): the sequence with `tensor`
/// inserted before `position` (default: appended; negative counts from the
/// end; `position` = length appends). The tensor's dtype must be the
/// sequence's. 0 FLOPs.
fn sequence_insert(ctx: &mut NodeCtx) -> RuleResult {
    let seq = ctx.input(0)?;
    let t = ctx.input(1)?;
    check_dtype(seq.dtype, t.dtype, 1)?;
    let dtype = seq.dtype.or(t.dtype);
    let tensor = tensor_facts(t.dtype, t.shape.clone(), t.value.clone());
    let Some(elements) = ctx.input_sequence(0) else {
        // The elements are not known: the type is that of the old elements
        // and the new one together.
        let shape = match (&seq.shape, &t.shape) {
            (Some(a), Some(b)) => common_shape(a, b),
            _ => None,
        };
        let known = shape.as_deref().is_some_and(all_known);
        set_element_type(ctx, 0, dtype, shape);
        ctx.shape(0)?;
        ctx.shape(1)?;
        return if known {
            Ok(())
        } else {
            Err(OpError::DataDependent(
                "the elements of the sequence (input 0) are not known".into(),
            ))
        };
    };
    let n = elements.len();
    let pos = if ctx.has_input(2) {
        position(ctx, 2, n, true)?
    } else {
        Some(n)
    };
    let mut all = elements.to_vec();
    match pos.filter(|_| n < MAX_TRACKED_LEN) {
        Some(p) => {
            all.insert(p, tensor);
            set_sequence(ctx, 0, dtype, all);
            ctx.shape(1)?;
            Ok(())
        }
        None => {
            all.push(tensor);
            let (_, shape) = common_type(&all);
            let known = shape.as_deref().is_some_and(all_known);
            set_element_type(ctx, 0, dtype, shape);
            ctx.shape(1)?;
            if known || pos.is_some() {
                Ok(())
            } else {
                Err(OpError::DataDependent(
                    "the position (input 2) is not known".into(),
                ))
            }
        }
    }
}

/// SequenceErase(sequence, position?): the sequence without the element at
/// `position` (default: the last; negative counts from the end). 0 FLOPs.
fn sequence_erase(ctx: &mut NodeCtx) -> RuleResult {
    let seq = ctx.input(0)?;
    let dtype = seq.dtype;
    let Some(elements) = ctx.input_sequence(0) else {
        // Erasing keeps the element type.
        let shape = ctx.shape(0)?.to_vec();
        let known = all_known(&shape);
        set_element_type(ctx, 0, dtype, Some(shape));
        return if known {
            Ok(())
        } else {
            Err(OpError::DataDependent(
                "the elements of the sequence (input 0) are not known".into(),
            ))
        };
    };
    let n = elements.len();
    if n == 0 {
        return Err(OpError::Invalid(
            "SequenceErase on an empty sequence".into(),
        ));
    }
    let pos = if ctx.has_input(1) {
        position(ctx, 1, n, false)?
    } else {
        Some(n - 1)
    };
    match pos {
        Some(p) => {
            let mut rest = elements.to_vec();
            rest.remove(p);
            set_sequence(ctx, 0, dtype, rest);
            Ok(())
        }
        None => {
            let (_, shape) = common_type(elements);
            let known = shape.as_deref().is_some_and(all_known);
            set_element_type(ctx, 0, dtype, shape);
            if known {
                Ok(())
            } else {
                Err(OpError::DataDependent(
                    "the position (input 1) is not known".into(),
                ))
            }
        }
    }
}

/// SequenceLength(sequence): an int64 scalar, whose value is tracked when
/// the sequence is known. 0 FLOPs.
fn sequence_length(ctx: &mut NodeCtx) -> RuleResult {
    ctx.input(0)?;
    ctx.set_output(0, Some(DType::I64), Vec::new());
    if let Some(elements) = ctx.input_sequence(0) {
        let n = i64::try_from(elements.len())
            .map_err(|_| OpError::Invalid("sequence too long".into()))?;
        ctx.set_output_value(0, ConstValue::Ints(vec![Dim::int(n)]));
    }
    Ok(())
}

/// ConcatFromSequence(sequence) along `axis` (required): with
/// `new_axis = 0` like Concat (the dims on `axis` add up, the others must
/// agree); with `new_axis = 1` like a stack (all shapes agree; a new axis
/// of the sequence's length is inserted at `axis`, which may then be the
/// rank). Tracked elements are concatenated. 0 FLOPs.
fn concat_from_sequence(ctx: &mut NodeCtx) -> RuleResult {
    let axis = match ctx.attr("axis") {
        None => return Err(OpError::Invalid("attribute 'axis' is required".into())),
        Some(_) => ctx.attr_int("axis", 0)?,
    };
    let new_axis = ctx.attr_int("new_axis", 0)?;
    if new_axis != 0 && new_axis != 1 {
        return Err(OpError::Invalid(format!(
            "attribute 'new_axis' must be 0 or 1, got {new_axis}"
        )));
    }
    let stack = new_axis == 1;
    let dtype = ctx.input(0)?.dtype;
    let out_axis = |r: usize| {
        let out_rank = if stack { r + 1 } else { r };
        normalize_axis(axis, out_rank).ok_or_else(|| {
            OpError::Invalid(format!(
                "attribute 'axis' = {axis} is out of range for {} rank {r}",
                if stack {
                    "stacking elements of"
                } else {
                    "elements of"
                }
            ))
        })
    };
    let Some(elements) = ctx.input_sequence(0) else {
        // The sequence's length is not known: the concatenated axis is not.
        let s = ctx.shape(0)?;
        let a = out_axis(s.len())?;
        let mut out = s.to_vec();
        if stack {
            out.insert(a, Dim::Unknown);
        } else {
            out[a] = Dim::Unknown;
        }
        ctx.set_output(0, dtype, out);
        return Err(OpError::DataDependent(
            "the length of the sequence (input 0) is not known".into(),
        ));
    };
    let Some(first) = elements.first() else {
        return Err(OpError::Invalid(
            "ConcatFromSequence of an empty sequence".into(),
        ));
    };
    let shapes: Vec<&[Dim]> = elements
        .iter()
        .map(|e| e.shape.as_deref().ok_or_else(|| ctx.unknown_input(0)))
        .collect::<Result<_, _>>()?;
    let r = shapes[0].len();
    let a = out_axis(r)?;
    let mut out = shapes[0].to_vec();
    for (k, s) in shapes.iter().enumerate().skip(1) {
        if s.len() != r {
            return Err(OpError::Invalid(format!(
                "element {k} of the sequence has rank {} but element 0 has rank {r}",
                s.len()
            )));
        }
        for (j, d) in s.iter().enumerate() {
            out[j] = if j == a && !stack {
                out[j].add(d)?
            } else {
                same_dim(&out[j], d, j)?
            };
        }
    }
    if stack {
        let n = i64::try_from(elements.len())
            .map_err(|_| OpError::Invalid("sequence too long".into()))?;
        out.insert(a, Dim::int(n));
    }
    ctx.set_output(0, dtype.or(first.dtype), out);
    if let Some(v) = concat_values(elements, a, stack) {
        ctx.set_output_value(0, v);
    }
    Ok(())
}

// ----- helpers ------------------------------------------------------------------

/// Facts of a tensor (never a sequence).
fn tensor_facts(
    dtype: Option<DType>,
    shape: Option<SharedShape>,
    value: Option<ConstValue>,
) -> ValueFacts {
    ValueFacts {
        dtype,
        shape,
        value,
        sequence: None,
        pattern: None,
    }
}

/// Output `i` is a tensor with facts `f`.
fn set_tensor(ctx: &mut NodeCtx, i: usize, f: &ValueFacts) {
    match &f.shape {
        Some(s) => ctx.set_output_shared(i, f.dtype, s.clone()),
        None => ctx.set_output_dtype(i, f.dtype),
    }
    if let Some(v) = &f.value {
        ctx.set_output_value(i, v.clone());
    }
}

/// Output `i` is the known sequence `elements`; its dtype and shape are the
/// elements' common type (`dtype` when no element says).
fn set_sequence(ctx: &mut NodeCtx, i: usize, dtype: Option<DType>, elements: Vec<ValueFacts>) {
    let (common, shape) = common_type(&elements);
    set_element_type(ctx, i, common.or(dtype), shape);
    ctx.set_output_sequence(i, elements);
}

/// Output `i` is a sequence whose elements are not known, only their type.
fn set_element_type(ctx: &mut NodeCtx, i: usize, dtype: Option<DType>, shape: Option<Shape>) {
    match shape {
        Some(s) => ctx.set_output(i, dtype, s),
        None => ctx.set_output_dtype(i, dtype),
    }
}

/// The element type of input sequence 0 as output 0 (a tensor): exact when
/// every element shares a fully known shape, otherwise `why`.
fn element_type_of_input(ctx: &mut NodeCtx, why: &str) -> RuleResult {
    let dtype = ctx.dtype(0);
    let shape = match ctx.input_sequence(0) {
        Some(elements) => common_type(elements).1,
        None => Some(ctx.shape(0)?.to_vec()),
    };
    let known = shape.as_deref().is_some_and(all_known);
    set_element_type(ctx, 0, dtype, shape);
    if known {
        Ok(())
    } else {
        Err(OpError::DataDependent(why.into()))
    }
}

/// The dtype all elements share (the first known one) and the dims they
/// share: unknown where they differ, `None` if their ranks differ, one is
/// unknown, or there are no elements.
fn common_type(elements: &[ValueFacts]) -> (Option<DType>, Option<Shape>) {
    let dtype = elements.iter().find_map(|e| e.dtype);
    let mut shapes = elements.iter().map(|e| e.shape.as_deref());
    let Some(Some(first)) = shapes.next() else {
        return (dtype, None);
    };
    let mut acc = first.to_vec();
    for s in shapes {
        match s {
            Some(s) => match common_shape(&acc, s) {
                Some(c) => acc = c,
                None => return (dtype, None),
            },
            None => return (dtype, None),
        }
    }
    (dtype, Some(acc))
}

/// Dims two shapes share; unknown where they differ; `None` if their ranks
/// differ.
fn common_shape(a: &[Dim], b: &[Dim]) -> Option<Shape> {
    (a.len() == b.len()).then(|| {
        a.iter()
            .zip(b)
            .map(|(x, y)| if x == y { x.clone() } else { Dim::Unknown })
            .collect()
    })
}

fn all_known(s: &[Dim]) -> bool {
    s.iter().all(Dim::is_known)
}

/// Two dims that must be equal: a conflict of concrete sizes is an error;
/// otherwise the more informative one is kept.
fn same_dim(a: &Dim, b: &Dim, axis: usize) -> Result<Dim, OpError> {
    match (a.as_i64(), b.as_i64()) {
        (Some(x), Some(y)) if x != y => Err(OpError::Invalid(format!(
            "elements of the sequence disagree on axis {axis}: {x} and {y}"
        ))),
        (None, Some(_)) => Ok(b.clone()),
        _ if !a.is_known() => Ok(b.clone()),
        _ => Ok(a.clone()),
    }
}

/// A dtype that must agree with what came before.
fn check_dtype(before: Option<DType>, this: Option<DType>, i: usize) -> RuleResult {
    match (before, this) {
        (Some(a), Some(b)) if a != b => Err(OpError::Invalid(format!(
            "input {i} has dtype {} but the sequence holds {}",
            b.name(),
            a.name()
        ))),
        _ => Ok(()),
    }
}

/// The position in input `i` (an int32/int64 scalar) normalised against a
/// sequence of `len` elements: valid in `[-len, len - 1]`, or up to `len`
/// when `end_ok` (insertion). `None` if its value is not known.
fn position(ctx: &NodeCtx, i: usize, len: usize, end_ok: bool) -> Result<Option<usize>, OpError> {
    let f = ctx.input(i)?;
    if let Some(t) = f.dtype.filter(|t| !matches!(t, DType::I32 | DType::I64)) {
        return Err(OpError::Invalid(format!(
            "position (input {i}) should be int32 or int64, not {}",
            t.name()
        )));
    }
    let p = match &f.value {
        None => return Ok(None),
        Some(ConstValue::Floats(_)) => {
            return Err(OpError::Invalid(format!(
                "position (input {i}) should hold an integer, not a float"
            )))
        }
        Some(ConstValue::Ints(v)) => match v.as_slice() {
            [p] => p.as_i64(),
            _ => {
                return Err(OpError::Invalid(format!(
                    "position (input {i}) should be one integer, got {} elements",
                    v.len()
                )))
            }
        },
    };
    let Some(p) = p else { return Ok(None) };
    let n = len as i128;
    let p = p as i128;
    let hi = if end_ok { n } else { n - 1 };
    if p < -n || p > hi {
        return Err(OpError::Invalid(format!(
            "position {p} is out of range for a sequence of {len} elements"
        )));
    }
    let p = if p < 0 { p + n } else { p };
    Ok(usize::try_from(p).ok())
}

// ----- tracked elements ---------------------------------------------------------

/// All dims as concrete sizes, if they are.
fn concrete_dims(shape: &[Dim]) -> Option<Vec<usize>> {
    shape
        .iter()
        .map(|d| d.as_i64().and_then(|v| usize::try_from(v).ok()))
        .collect()
}

fn numel(dims: &[usize]) -> Option<usize> {
    dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
}

/// Input `i`'s tracked elements with its concrete dims, if consistent.
fn tracked_value(ctx: &NodeCtx, i: usize) -> Option<(ConstValue, Vec<usize>)> {
    let v = ctx.value(i)?;
    let dims = concrete_dims(ctx.shape(i).ok()?)?;
    (numel(&dims)? == v.len()).then(|| (v.clone(), dims))
}

/// Elements `start..start + len` along `axis` of a row-major tensor.
fn slab(
    v: &ConstValue,
    dims: &[usize],
    axis: usize,
    start: usize,
    len: usize,
) -> Option<ConstValue> {
    let d = *dims.get(axis)?;
    if start.checked_add(len)? > d {
        return None;
    }
    let outer = numel(&dims[..axis])?;
    let inner = numel(&dims[axis + 1..])?;
    let range = |o: usize| {
        let base = (o * d + start) * inner;
        base..base + len * inner
    };
    Some(match v {
        ConstValue::Ints(e) => {
            let mut out = Vec::with_capacity(outer * len * inner);
            for o in 0..outer {
                out.extend_from_slice(e.get(range(o))?);
            }
            ConstValue::Ints(out)
        }
        ConstValue::Floats(e) => {
            let mut out = Vec::with_capacity(outer * len * inner);
            for o in 0..outer {
                out.extend_from_slice(e.get(range(o))?);
            }
            ConstValue::Floats(out)
        }
    })
}

/// The elements of a concatenation (or a stack, where each element gets a
/// size-1 axis at `axis` first), if every element's are tracked.
fn concat_values(elements: &[ValueFacts], axis: usize, stack: bool) -> Option<ConstValue> {
    let mut parts = Vec::with_capacity(elements.len());
    for e in elements {
        let v = e.value.as_ref()?;
        let mut dims = concrete_dims(e.shape.as_deref()?)?;
        if numel(&dims)? != v.len() {
            return None;
        }
        if stack {
            dims.insert(axis, 1);
        }
        parts.push((v, dims));
    }
    let total = parts
        .iter()
        .try_fold(0usize, |a, (v, _)| a.checked_add(v.len()))?;
    if total > MAX_TRACKED_LEN {
        return None;
    }
    let outer = numel(&parts.first()?.1[..axis])?;
    let chunks = parts
        .iter()
        .map(|(v, dims)| Some((*v, numel(&dims[axis..])?)))
        .collect::<Option<Vec<_>>>()?;
    interleave_values(&chunks, outer, total)
}

#[cfg(test)]
mod optional_tests {
    use crate::ops::testing::NodeTest;

    #[test]
    fn optional() {
        let g = NodeTest::new("OptionalGetElement")
            .opset(18)
            .input(&[2, 3])
            .run();
        assert_eq!(g.shape(0), "2x3");
        let h = NodeTest::new("OptionalHasElement")
            .opset(18)
            .input(&[2, 3])
            .run();
        assert_eq!(h.shape(0), "scalar");
        let o = NodeTest::new("Optional").opset(15).input(&[4]).run();
        assert_eq!(o.shape(0), "4");
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::analysis::{analyze, AnalysisOptions};
    use crate::graph::{
        AttrValue, Attribute, DeclaredType, Graph, Node, OpsetImports, Tensor, TensorData, Value,
        ValueId,
    };
    use crate::ops::lookup;
    use crate::poly::Poly;
    use crate::report::{NodeStatus, Report};
    use crate::shape::format_shape;

    // ----- one rule on hand-made facts ------------------------------------------

    #[test]
    fn optional_has_element_is_known_when_the_value_is() {
        // A known sequence (Optional(SequenceConstruct(c))) or a known
        // tensor exists: true; a tensor of known shape only may be an
        // empty optional's declared type: unknown; no input: false.
        let known = run(
            "OptionalHasElement",
            vec![Some(seq(vec![act(&["5"])]))],
            &[],
        );
        assert_eq!(ints_value(&known.outputs[0]), "[1]");
        let value = run("OptionalHasElement", vec![Some(ints(&["3"]))], &[]);
        assert_eq!(ints_value(&value.outputs[0]), "[1]");
        let shape_only = run("OptionalHasElement", vec![Some(act(&["4"]))], &[]);
        assert_eq!(ints_value(&shape_only.outputs[0]), "none");
        assert_eq!(shape_only.shape(0), "scalar");
        let empty = run("OptionalHasElement", vec![None], &[]);
        assert_eq!(ints_value(&empty.outputs[0]), "[0]");
    }

    fn dim(s: &str) -> Dim {
        match s {
            "?" => Dim::Unknown,
            _ => s
                .parse::<i64>()
                .map(Dim::int)
                .unwrap_or_else(|_| Dim::sym(s)),
        }
    }

    fn dims(s: &[&str]) -> Shape {
        s.iter().map(|d| dim(d)).collect()
    }

    /// A float32 tensor of the given shape.
    fn act(shape: &[&str]) -> ValueFacts {
        tensor_facts(Some(DType::F32), Some(dims(shape).into()), None)
    }

    /// An int64 tensor with known elements.
    fn ints_nd(shape: &[i64], elems: &[&str]) -> ValueFacts {
        tensor_facts(
            Some(DType::I64),
            Some(shape.iter().map(|&d| Dim::int(d)).collect()),
            Some(ConstValue::Ints(dims(elems))),
        )
    }

    fn ints(elems: &[&str]) -> ValueFacts {
        ints_nd(&[elems.len() as i64], elems)
    }

    fn scalar(v: &str) -> ValueFacts {
        ints_nd(&[], &[v])
    }

    /// An int64 scalar whose value is not known.
    fn unknown_scalar() -> ValueFacts {
        tensor_facts(Some(DType::I64), Some(Vec::new().into()), None)
    }

    /// A known sequence, typed as the rules type it.
    fn seq(elements: Vec<ValueFacts>) -> ValueFacts {
        let (dtype, shape) = common_type(&elements);
        ValueFacts {
            dtype,
            shape: shape.map(Into::into),
            value: None,
            sequence: Some(elements.into()),
            pattern: None,
        }
    }

    /// A sequence whose elements are not known, only their type.
    fn seq_of_type(shape: &[&str]) -> ValueFacts {
        act(shape)
    }

    struct Run {
        result: RuleResult,
        outputs: Vec<ValueFacts>,
    }

    impl Run {
        fn shape(&self, i: usize) -> String {
            self.outputs[i]
                .shape
                .as_deref()
                .map_or("?".into(), format_shape)
        }

        /// Shapes of the elements of sequence output `i`, or `unknown`.
        fn elements(&self, i: usize) -> String {
            match &self.outputs[i].sequence {
                None => "unknown".into(),
                Some(e) => format!(
                    "[{}]",
                    e.iter()
                        .map(|f| f.shape.as_deref().map_or("?".into(), format_shape))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        }

        fn element(&self, i: usize, k: usize) -> &ValueFacts {
            &self.outputs[i].sequence.as_ref().expect("a known sequence")[k]
        }

        fn ok(&self) -> bool {
            self.result.is_ok()
        }

        fn invalid(&self) -> bool {
            matches!(self.result, Err(OpError::Invalid(_)))
        }

        fn data_dependent(&self) -> bool {
            matches!(self.result, Err(OpError::DataDependent(_)))
        }

        fn unknown_input(&self) -> bool {
            matches!(self.result, Err(OpError::UnknownInput { .. }))
        }
    }

    fn ints_value(f: &ValueFacts) -> String {
        match &f.value {
            Some(ConstValue::Ints(v)) => format!(
                "[{}]",
                v.iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Some(ConstValue::Floats(v)) => format!("{v:?}"),
            None => "none".into(),
        }
    }

    /// Runs the rule of `op` on the given input facts (`None` for an omitted
    /// input) with one output; checks it costs nothing.
    fn run(op: &str, inputs: Vec<Option<ValueFacts>>, attrs: &[(&str, AttrValue)]) -> Run {
        let node = Node {
            name: "n".into(),
            op_type: op.into(),
            domain: Default::default(),
            inputs: (0..inputs.len())
                .map(|i| inputs[i].as_ref().map(|_| i))
                .collect(),
            outputs: vec![Some(100)].into(),
            attributes: attrs
                .iter()
                .map(|(n, v)| Attribute {
                    name: n.to_string().into(),
                    value: v.clone(),
                })
                .collect(),
            origin: None,
        };
        let def = lookup("", op).expect("op is registered");
        let names: Vec<String> = (0..inputs.len()).map(|i| format!("in{i}")).collect();
        let mut ctx = NodeCtx::new(
            &node,
            18,
            inputs.iter().map(|f| f.as_ref()).collect(),
            names.iter().map(String::as_str).collect(),
        );
        let result = (def.rule)(&mut ctx);
        assert!(
            ctx.cost.macs.is_zero() && ctx.cost.flops.is_zero(),
            "{op} costs 0"
        );
        Run {
            result,
            outputs: ctx.outputs.clone(),
        }
    }

    fn int(v: i64) -> AttrValue {
        AttrValue::Int(v)
    }

    // ----- whole graphs -------------------------------------------------------

    /// A graph built by value names.
    #[derive(Default)]
    struct G {
        graph: Graph,
    }

    impl G {
        fn id(&mut self, name: &str) -> ValueId {
            match self.graph.values.iter().position(|v| v.name == name) {
                Some(i) => i,
                None => self.graph.add_value(Value {
                    name: name.into(),
                    ..Value::default()
                }),
            }
        }

        /// A float32 graph input with dims like `["batch", "seq", "192"]`.
        fn input(mut self, name: &str, shape: &[&str]) -> Self {
            let id = self.id(name);
            self.graph.values[id].declared = Some(Box::new(DeclaredType {
                dtype: Some(DType::F32),
                shape: Some(dims(shape)),
            }));
            self.graph.inputs.push(id);
            self
        }

        /// An int64 scalar graph input (its value is not known).
        fn int_scalar_input(mut self, name: &str) -> Self {
            let id = self.id(name);
            self.graph.values[id].declared = Some(Box::new(DeclaredType {
                dtype: Some(DType::I64),
                shape: Some(Vec::new()),
            }));
            self.graph.inputs.push(id);
            self
        }

        /// An int64 initializer of the given dims and elements.
        fn ints(mut self, name: &str, shape: &[i64], values: &[i64]) -> Self {
            let id = self.id(name);
            let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            self.graph.values[id].initializer = Some(Box::new(Tensor {
                dtype: DType::I64,
                dims: shape.to_vec(),
                data: TensorData::Raw(Bytes::from(raw)),
            }));
            self
        }

        fn node(
            mut self,
            op: &str,
            inputs: &[&str],
            output: &str,
            attrs: &[(&str, AttrValue)],
        ) -> Self {
            let inputs = inputs
                .iter()
                .map(|i| (!i.is_empty()).then(|| self.id(i)))
                .collect();
            let outputs = vec![Some(self.id(output))];
            self.graph.nodes.push(Node {
                name: output.into(),
                op_type: op.into(),
                inputs,
                outputs: outputs.into(),
                attributes: attrs
                    .iter()
                    .map(|(n, v)| Attribute {
                        name: n.to_string().into(),
                        value: v.clone(),
                    })
                    .collect(),
                ..Node::default()
            });
            self
        }

        fn run(mut self) -> Report {
            self.graph.opsets = OpsetImports(vec![(String::new(), 18)]);
            analyze(&self.graph, &AnalysisOptions::default()).expect("analysis runs")
        }
    }

    fn shape_of_value(r: &Report, name: &str) -> String {
        r.nodes
            .iter()
            .flat_map(|n| &n.outputs)
            .find(|o| o.name == name)
            .map(|o| o.shape.as_deref().map_or("?".into(), format_shape))
            .expect("a produced value")
    }

    fn status(r: &Report, node: &str) -> NodeStatus {
        r.nodes
            .iter()
            .find(|n| n.name == node)
            .map(|n| n.status.clone())
            .expect("a node")
    }

    fn all_counted(r: &Report) -> bool {
        r.nodes.iter().all(|n| n.status == NodeStatus::Counted)
    }

    // ----- SplitToSequence ------------------------------------------------------

    /// GPT-2's `q, k, v = c_attn(x).split(64, dim=2)` as the unoptimised
    /// dynamo export writes it: [batch, seq, 192] split along axis 2 by the
    /// scalar 64 → ⌈192/64⌉ = 3 chunks of [batch, seq, 64]; SequenceAt 0, 1
    /// and 2 (here -1) each give [batch, seq, 64]. 0 FLOPs.
    #[test]
    fn gpt2_split_then_sequence_at() {
        let r = G::default()
            .input("x", &["batch", "seq", "192"])
            .ints("k", &[], &[64])
            .ints("p0", &[], &[0])
            .ints("p1", &[], &[1])
            .ints("plast", &[], &[-1])
            .node("SplitToSequence", &["x", "k"], "split", &[("axis", int(2))])
            .node("SequenceAt", &["split", "p0"], "q", &[])
            .node("SequenceAt", &["split", "p1"], "kk", &[])
            .node("SequenceAt", &["split", "plast"], "v", &[])
            .run();
        assert!(all_counted(&r), "{:?}", r.nodes);
        // The sequence's own type is its elements' (ONNX's seq(tensor)).
        assert_eq!(shape_of_value(&r, "split"), "batchxseqx64");
        for v in ["q", "kk", "v"] {
            assert_eq!(shape_of_value(&r, v), "batchxseqx64");
        }
        assert!(r.totals.cost.flops.is_zero() && r.totals.cost.macs.is_zero());
    }

    /// The same split by the 1-D lengths [64, 64, 64]: three [batch, seq, 64];
    /// SequenceAt(…, 1) → [batch, seq, 64].
    #[test]
    fn split_by_lengths_symbolic() {
        let s = run(
            "SplitToSequence",
            vec![
                Some(act(&["batch", "seq", "192"])),
                Some(ints(&["64", "64", "64"])),
            ],
            &[("axis", int(2))],
        );
        assert!(s.ok());
        assert_eq!(s.elements(0), "[batchxseqx64, batchxseqx64, batchxseqx64]");
        assert_eq!(s.shape(0), "batchxseqx64");
        let at = run(
            "SequenceAt",
            vec![Some(s.outputs[0].clone()), Some(scalar("1"))],
            &[],
        );
        assert!(at.ok());
        assert_eq!(at.shape(0), "batchxseqx64");
        assert_eq!(at.outputs[0].dtype, Some(DType::F32));
        assert!(at.outputs[0].sequence.is_none());
    }

    /// Unequal lengths [64, 128] of 192: elements [b, 64] and [b, 128]; the
    /// sequence's common type is [b, ?]. Default axis 0 with lengths
    /// [1, batch]: [1, 8] and [batch, 8] from [batch + 1, 8].
    #[test]
    fn split_unequal_and_symbolic_lengths() {
        let s = run(
            "SplitToSequence",
            vec![Some(act(&["b", "192"])), Some(ints(&["64", "128"]))],
            &[("axis", int(-1))],
        );
        assert!(s.ok());
        assert_eq!(s.elements(0), "[bx64, bx128]");
        assert_eq!(s.shape(0), "bx?");
        let rows = Dim::sym("batch").add(&Dim::int(1)).unwrap();
        let x = tensor_facts(Some(DType::F32), Some(vec![rows, Dim::int(8)].into()), None);
        let s = run(
            "SplitToSequence",
            vec![Some(x), Some(ints(&["1", "batch"]))],
            &[],
        );
        assert!(s.ok());
        assert_eq!(s.elements(0), "[1x8, batchx8]");
    }

    /// A scalar chunk size that does not divide the axis: 10 by 4 → chunks
    /// 4, 4, 2 (⌈10/4⌉ = 3); common type 2x?.
    #[test]
    fn split_scalar_uneven() {
        let s = run(
            "SplitToSequence",
            vec![Some(act(&["2", "10"])), Some(scalar("4"))],
            &[("axis", int(1))],
        );
        assert!(s.ok());
        assert_eq!(s.elements(0), "[2x4, 2x4, 2x2]");
        assert_eq!(s.shape(0), "2x?");
        // 8 by 4 → 2 chunks; 0 by 4 → none.
        let s = run(
            "SplitToSequence",
            vec![Some(act(&["8"])), Some(scalar("4"))],
            &[],
        );
        assert_eq!(s.elements(0), "[4, 4]");
        let s = run(
            "SplitToSequence",
            vec![Some(act(&["0", "3"])), Some(scalar("4"))],
            &[],
        );
        assert!(s.ok());
        assert_eq!(s.elements(0), "[]");
    }

    /// Without `split`: chunks of 1; [3, 5] along 0 → three [1, 5], or with
    /// keepdims = 0 three [5].
    #[test]
    fn split_without_lengths_keepdims() {
        let s = run("SplitToSequence", vec![Some(act(&["3", "5"]))], &[]);
        assert!(s.ok());
        assert_eq!(s.elements(0), "[1x5, 1x5, 1x5]");
        let s = run(
            "SplitToSequence",
            vec![Some(act(&["3", "5"]))],
            &[("keepdims", int(0))],
        );
        assert!(s.ok());
        assert_eq!(s.elements(0), "[5, 5, 5]");
        assert_eq!(s.shape(0), "5");
        // keepdims is ignored when split is given: [3, 5] by [1, 2] along 0.
        let s = run(
            "SplitToSequence",
            vec![Some(act(&["3", "5"])), Some(ints(&["1", "2"]))],
            &[("keepdims", int(0))],
        );
        assert_eq!(s.elements(0), "[1x5, 2x5]");
    }

    /// Along a symbolic axis the number of chunks is not known, but their
    /// shape is when all have the same size: [batch, 5] without split →
    /// elements [1, 5] (keepdims) or [5]; [2n, 3] by 2 → [2, 3]; by 3 the
    /// last chunk's size depends on n.
    #[test]
    fn split_along_symbolic_axis() {
        let s = run("SplitToSequence", vec![Some(act(&["batch", "5"]))], &[]);
        assert!(s.ok());
        assert_eq!(s.elements(0), "unknown");
        assert_eq!(s.shape(0), "1x5");
        let s = run(
            "SplitToSequence",
            vec![Some(act(&["batch", "5"]))],
            &[("keepdims", int(0))],
        );
        assert_eq!(s.shape(0), "5");
        let two_n = Dim::Known(Poly::symbol("n").checked_scale(2).unwrap());
        let x = tensor_facts(
            Some(DType::F32),
            Some(vec![two_n, Dim::int(3)].into()),
            None,
        );
        let s = run(
            "SplitToSequence",
            vec![Some(x.clone()), Some(scalar("2"))],
            &[],
        );
        assert!(s.ok());
        assert_eq!(
            (s.elements(0).as_str(), s.shape(0).as_str()),
            ("unknown", "2x3")
        );
        let s = run("SplitToSequence", vec![Some(x), Some(scalar("3"))], &[]);
        assert!(s.data_dependent());
        assert_eq!(s.shape(0), "?x3");
    }

    /// Split lengths not known: with a known count (a [3] input) the
    /// sequence has 3 elements of unknown size on the axis; a scalar of
    /// unknown value leaves even the count unknown.
    #[test]
    fn split_lengths_unknown() {
        let lengths = tensor_facts(Some(DType::I64), Some(vec![Dim::int(3)].into()), None);
        let s = run(
            "SplitToSequence",
            vec![Some(act(&["4", "12"])), Some(lengths)],
            &[("axis", int(1))],
        );
        assert!(s.data_dependent());
        assert_eq!(s.elements(0), "[4x?, 4x?, 4x?]");
        let s = run(
            "SplitToSequence",
            vec![Some(act(&["4", "12"])), Some(unknown_scalar())],
            &[("axis", int(1))],
        );
        assert!(s.data_dependent());
        assert_eq!(
            (s.elements(0).as_str(), s.shape(0).as_str()),
            ("unknown", "4x?")
        );
    }

    /// Tracked elements are split: [[1, 2, 3], [4, 5, 6]] along axis 1 by
    /// [1, 2] → [[1], [4]] and [[2, 3], [5, 6]]; without split along axis 0
    /// and keepdims = 0 → [1, 2, 3] and [4, 5, 6].
    #[test]
    fn split_tracks_values() {
        let x = ints_nd(&[2, 3], &["1", "2", "3", "4", "5", "6"]);
        let s = run(
            "SplitToSequence",
            vec![Some(x.clone()), Some(ints(&["1", "2"]))],
            &[("axis", int(1))],
        );
        assert_eq!(ints_value(s.element(0, 0)), "[1, 4]");
        assert_eq!(ints_value(s.element(0, 1)), "[2, 3, 5, 6]");
        let s = run("SplitToSequence", vec![Some(x)], &[("keepdims", int(0))]);
        assert_eq!(s.elements(0), "[3, 3]");
        assert_eq!(ints_value(s.element(0, 1)), "[4, 5, 6]");
        // SequenceAt hands the element's value on.
        let at = run(
            "SequenceAt",
            vec![Some(s.outputs[0].clone()), Some(scalar("-2"))],
            &[],
        );
        assert_eq!(ints_value(&at.outputs[0]), "[1, 2, 3]");
    }

    #[test]
    fn split_errors() {
        let x = || Some(act(&["4", "6"]));
        let axis = run("SplitToSequence", vec![x()], &[("axis", int(2))]);
        assert!(axis.invalid());
        let sum = run("SplitToSequence", vec![x(), Some(ints(&["2", "3"]))], &[]);
        assert!(sum.invalid(), "2 + 3 ≠ 4");
        let negative = run("SplitToSequence", vec![x(), Some(ints(&["6", "-2"]))], &[]);
        assert!(negative.invalid());
        let zero = run("SplitToSequence", vec![x(), Some(scalar("0"))], &[]);
        assert!(zero.invalid());
        let rank2 = run(
            "SplitToSequence",
            vec![x(), Some(ints_nd(&[1, 2], &["2", "2"]))],
            &[],
        );
        assert!(rank2.invalid());
        let keepdims = run("SplitToSequence", vec![x()], &[("keepdims", int(2))]);
        assert!(keepdims.invalid());
        let floats = tensor_facts(
            Some(DType::F32),
            Some(vec![Dim::int(2)].into()),
            Some(ConstValue::Floats(vec![2.0, 2.0])),
        );
        assert!(run("SplitToSequence", vec![x(), Some(floats)], &[]).invalid());
        let unknown = run("SplitToSequence", vec![Some(ValueFacts::default())], &[]);
        assert!(unknown.unknown_input());
        // A symbolic axis by lengths cannot be checked, and is accepted.
        let s = run(
            "SplitToSequence",
            vec![Some(act(&["n"])), Some(ints(&["2", "3"]))],
            &[],
        );
        assert!(s.ok());
        assert_eq!(s.elements(0), "[2, 3]");
    }

    // ----- SequenceAt ----------------------------------------------------------

    fn three() -> ValueFacts {
        seq(vec![act(&["b", "1"]), act(&["b", "2"]), act(&["b", "3"])])
    }

    /// Positions count from 0, negative from the end: of [b,1], [b,2],
    /// [b,3], -1 is [b,3], -3 is [b,1]; 3 and -4 are out of range.
    #[test]
    fn sequence_at_positions() {
        let at = |p: &str| run("SequenceAt", vec![Some(three()), Some(scalar(p))], &[]);
        assert_eq!(at("0").shape(0), "bx1");
        assert_eq!(at("-1").shape(0), "bx3");
        assert_eq!(at("-3").shape(0), "bx1");
        assert!(at("3").invalid());
        assert!(at("-4").invalid());
        let empty = run(
            "SequenceAt",
            vec![Some(seq(Vec::new())), Some(scalar("0"))],
            &[],
        );
        assert!(empty.invalid());
        let two = run(
            "SequenceAt",
            vec![Some(three()), Some(ints(&["0", "1"]))],
            &[],
        );
        assert!(two.invalid());
        let missing = run("SequenceAt", vec![Some(three())], &[]);
        assert_eq!(missing.result, Err(OpError::MissingInput(1)));
    }

    /// Unknown position: exact when every element has the same shape, a
    /// data-dependent b x ? otherwise. Unknown sequence: its element type.
    #[test]
    fn sequence_at_unknown_position_or_sequence() {
        let same = seq(vec![act(&["b", "4"]), act(&["b", "4"])]);
        let r = run("SequenceAt", vec![Some(same), Some(unknown_scalar())], &[]);
        assert!(r.ok());
        assert_eq!(r.shape(0), "bx4");
        let r = run(
            "SequenceAt",
            vec![Some(three()), Some(unknown_scalar())],
            &[],
        );
        assert!(r.data_dependent());
        assert_eq!(r.shape(0), "bx?");
        let r = run(
            "SequenceAt",
            vec![Some(seq_of_type(&["b", "4"])), Some(scalar("5"))],
            &[],
        );
        assert!(r.ok());
        assert_eq!(r.shape(0), "bx4");
        let r = run(
            "SequenceAt",
            vec![Some(seq_of_type(&["b", "?"])), Some(scalar("0"))],
            &[],
        );
        assert!(r.data_dependent());
        assert_eq!(r.shape(0), "bx?");
        let r = run(
            "SequenceAt",
            vec![Some(ValueFacts::default()), Some(scalar("0"))],
            &[],
        );
        assert!(r.unknown_input());
        assert_eq!(r.shape(0), "?");
    }

    // ----- SequenceConstruct, SequenceEmpty ------------------------------------

    /// SequenceConstruct([batch, 4], [batch, 6]) → 2 elements, type batch x ?.
    #[test]
    fn sequence_construct() {
        let r = run(
            "SequenceConstruct",
            vec![Some(act(&["batch", "4"])), Some(act(&["batch", "6"]))],
            &[],
        );
        assert!(r.ok());
        assert_eq!(r.elements(0), "[batchx4, batchx6]");
        assert_eq!(r.shape(0), "batchx?");
        assert_eq!(r.outputs[0].dtype, Some(DType::F32));
        let mixed = run(
            "SequenceConstruct",
            vec![Some(act(&["4"])), Some(ints(&["1"]))],
            &[],
        );
        assert!(mixed.invalid());
        assert!(run("SequenceConstruct", vec![], &[]).invalid());
        let unknown = run(
            "SequenceConstruct",
            vec![Some(act(&["4"])), Some(ValueFacts::default())],
            &[],
        );
        assert!(unknown.unknown_input());
        assert_eq!(unknown.elements(0), "[4, ?]");
    }

    #[test]
    fn sequence_empty() {
        let r = run("SequenceEmpty", vec![], &[]);
        assert!(r.ok());
        assert_eq!(r.outputs[0].dtype, Some(DType::F32));
        assert_eq!(r.elements(0), "[]");
        let r = run("SequenceEmpty", vec![], &[("dtype", int(7))]);
        assert_eq!(r.outputs[0].dtype, Some(DType::I64));
        assert!(run("SequenceEmpty", vec![], &[("dtype", int(999))]).invalid());
    }

    // ----- SequenceInsert, SequenceErase, SequenceLength --------------------------

    /// Into [b,1], [b,2], [b,3]: appended by default, before position 0,
    /// at 3 (= appended), at -1 (before the last); 4 is out of range.
    #[test]
    fn sequence_insert() {
        let t = || Some(act(&["b", "9"]));
        let ins = |p: Option<ValueFacts>| {
            let mut inputs = vec![Some(three()), t()];
            if p.is_some() {
                inputs.push(p);
            }
            run("SequenceInsert", inputs, &[])
        };
        assert_eq!(ins(None).elements(0), "[bx1, bx2, bx3, bx9]");
        assert_eq!(ins(Some(scalar("0"))).elements(0), "[bx9, bx1, bx2, bx3]");
        assert_eq!(ins(Some(scalar("3"))).elements(0), "[bx1, bx2, bx3, bx9]");
        assert_eq!(ins(Some(scalar("-1"))).elements(0), "[bx1, bx2, bx9, bx3]");
        assert!(ins(Some(scalar("4"))).invalid());
        assert!(ins(Some(scalar("-4"))).invalid());
        let unknown = ins(Some(unknown_scalar()));
        assert!(unknown.data_dependent());
        assert_eq!(
            (unknown.elements(0).as_str(), unknown.shape(0).as_str()),
            ("unknown", "bx?")
        );
        let empty = run(
            "SequenceInsert",
            vec![Some(seq(Vec::new())), Some(act(&["2", "2"]))],
            &[],
        );
        assert!(empty.ok());
        assert_eq!(
            (empty.elements(0).as_str(), empty.shape(0).as_str()),
            ("[2x2]", "2x2")
        );
        let mixed = run(
            "SequenceInsert",
            vec![Some(three()), Some(ints(&["1"]))],
            &[],
        );
        assert!(mixed.invalid());
    }

    /// Into a sequence of unknown elements of type [2, 3]: a [2, 3] tensor
    /// keeps the type exact; a [2, 4] one makes it 2 x ?.
    #[test]
    fn sequence_insert_into_unknown() {
        let r = run(
            "SequenceInsert",
            vec![Some(seq_of_type(&["2", "3"])), Some(act(&["2", "3"]))],
            &[],
        );
        assert!(r.ok());
        assert_eq!(
            (r.elements(0).as_str(), r.shape(0).as_str()),
            ("unknown", "2x3")
        );
        let r = run(
            "SequenceInsert",
            vec![Some(seq_of_type(&["2", "3"])), Some(act(&["2", "4"]))],
            &[],
        );
        assert!(r.data_dependent());
        assert_eq!(r.shape(0), "2x?");
        let r = run(
            "SequenceInsert",
            vec![Some(ValueFacts::default()), Some(act(&["2", "4"]))],
            &[],
        );
        assert!(r.unknown_input());
    }

    /// From [b,1], [b,2], [b,3]: the last by default, position 0, -2.
    #[test]
    fn sequence_erase() {
        let erase = |p: Option<ValueFacts>| {
            let mut inputs = vec![Some(three())];
            if p.is_some() {
                inputs.push(p);
            }
            run("SequenceErase", inputs, &[])
        };
        assert_eq!(erase(None).elements(0), "[bx1, bx2]");
        assert_eq!(erase(Some(scalar("0"))).elements(0), "[bx2, bx3]");
        assert_eq!(erase(Some(scalar("-2"))).elements(0), "[bx1, bx3]");
        assert!(erase(Some(scalar("3"))).invalid());
        let unknown = erase(Some(unknown_scalar()));
        assert!(unknown.data_dependent());
        assert_eq!(unknown.shape(0), "bx?");
        let empty = run("SequenceErase", vec![Some(seq(Vec::new()))], &[]);
        assert!(empty.invalid());
        let r = run("SequenceErase", vec![Some(seq_of_type(&["b", "4"]))], &[]);
        assert!(r.ok());
        assert_eq!(
            (r.elements(0).as_str(), r.shape(0).as_str()),
            ("unknown", "bx4")
        );
    }

    /// SequenceLength of 3 elements: the int64 scalar 3. Of an unknown
    /// sequence: an int64 scalar of unknown value.
    #[test]
    fn sequence_length() {
        let r = run("SequenceLength", vec![Some(three())], &[]);
        assert!(r.ok());
        assert_eq!(r.shape(0), "scalar");
        assert_eq!(r.outputs[0].dtype, Some(DType::I64));
        assert_eq!(ints_value(&r.outputs[0]), "[3]");
        let r = run("SequenceLength", vec![Some(seq_of_type(&["4"]))], &[]);
        assert!(r.ok());
        assert_eq!(
            (r.shape(0).as_str(), ints_value(&r.outputs[0]).as_str()),
            ("scalar", "none")
        );
    }

    // ----- ConcatFromSequence ---------------------------------------------------

    /// [2, 3] and [2, 5] along axis 1 → [2, 8]; [b, 3] and [b, 5] along -1 →
    /// [b, 8].
    #[test]
    fn concat_from_sequence() {
        let s = seq(vec![act(&["2", "3"]), act(&["2", "5"])]);
        let r = run("ConcatFromSequence", vec![Some(s)], &[("axis", int(1))]);
        assert!(r.ok());
        assert_eq!(r.shape(0), "2x8");
        assert!(r.outputs[0].sequence.is_none());
        let s = seq(vec![act(&["b", "3"]), act(&["b", "5"])]);
        let r = run("ConcatFromSequence", vec![Some(s)], &[("axis", int(-1))]);
        assert_eq!(r.shape(0), "bx8");
    }

    /// new_axis = 1 stacks: three [batch, 4] at axis 0 → [3, batch, 4]; at
    /// axis -1 (= 2 for the output's rank 3) → [batch, 4, 3]; at 2 too.
    #[test]
    fn concat_from_sequence_new_axis() {
        let s = || seq(vec![act(&["batch", "4"]); 3]);
        let stack = |axis: i64| {
            run(
                "ConcatFromSequence",
                vec![Some(s())],
                &[("axis", int(axis)), ("new_axis", int(1))],
            )
        };
        assert_eq!(stack(0).shape(0), "3xbatchx4");
        assert_eq!(stack(-1).shape(0), "batchx4x3");
        assert_eq!(stack(2).shape(0), "batchx4x3");
        assert!(stack(3).invalid());
        assert!(stack(-4).invalid());
    }

    /// Tracked elements: [[1, 2], [3, 4]] and [[5], [6]] along axis 1 →
    /// [1, 2, 5, 3, 4, 6]; the scalars batch and seq stacked → [batch, seq].
    #[test]
    fn concat_from_sequence_values() {
        let s = seq(vec![
            ints_nd(&[2, 2], &["1", "2", "3", "4"]),
            ints_nd(&[2, 1], &["5", "6"]),
        ]);
        let r = run("ConcatFromSequence", vec![Some(s)], &[("axis", int(1))]);
        assert_eq!(r.shape(0), "2x3");
        assert_eq!(ints_value(&r.outputs[0]), "[1, 2, 5, 3, 4, 6]");
        let s = seq(vec![scalar("batch"), scalar("seq")]);
        let r = run(
            "ConcatFromSequence",
            vec![Some(s)],
            &[("axis", int(0)), ("new_axis", int(1))],
        );
        assert_eq!(r.shape(0), "2");
        assert_eq!(ints_value(&r.outputs[0]), "[batch, seq]");
    }

    #[test]
    fn concat_from_sequence_errors() {
        let s = || Some(seq(vec![act(&["2", "3"]), act(&["4", "5"])]));
        // Axis 1: dims 0 differ (2 vs 4).
        assert!(run("ConcatFromSequence", vec![s()], &[("axis", int(1))]).invalid());
        assert!(
            run("ConcatFromSequence", vec![s()], &[]).invalid(),
            "axis is required"
        );
        assert!(run("ConcatFromSequence", vec![s()], &[("axis", int(2))]).invalid());
        let new_axis = run(
            "ConcatFromSequence",
            vec![s()],
            &[("axis", int(0)), ("new_axis", int(2))],
        );
        assert!(new_axis.invalid());
        let empty = run(
            "ConcatFromSequence",
            vec![Some(seq(Vec::new()))],
            &[("axis", int(0))],
        );
        assert!(empty.invalid());
        let ranks = seq(vec![act(&["2", "3"]), act(&["2"])]);
        assert!(run("ConcatFromSequence", vec![Some(ranks)], &[("axis", int(0))]).invalid());
        let unknown_elem = seq(vec![act(&["2", "3"]), ValueFacts::default()]);
        let r = run(
            "ConcatFromSequence",
            vec![Some(unknown_elem)],
            &[("axis", int(0))],
        );
        assert!(r.unknown_input());
    }

    /// A sequence of unknown length with elements [b, 4]: the concatenated
    /// axis is unknown (b x ? along 1; ? x b x 4 stacked at 0).
    #[test]
    fn concat_from_unknown_sequence() {
        let r = run(
            "ConcatFromSequence",
            vec![Some(seq_of_type(&["b", "4"]))],
            &[("axis", int(1))],
        );
        assert!(r.data_dependent());
        assert_eq!(r.shape(0), "bx?");
        let r = run(
            "ConcatFromSequence",
            vec![Some(seq_of_type(&["b", "4"]))],
            &[("axis", int(0)), ("new_axis", int(1))],
        );
        assert!(r.data_dependent());
        assert_eq!(r.shape(0), "?xbx4");
        let r = run(
            "ConcatFromSequence",
            vec![Some(ValueFacts::default())],
            &[("axis", int(0))],
        );
        assert!(r.unknown_input());
    }

    // ----- end to end ---------------------------------------------------------------

    /// Split [batch, seq, 192] into 3 along axis 2 and concatenate back:
    /// [batch, seq, 192]. Build a sequence from nothing: SequenceEmpty,
    /// insert [batch, 8] twice, erase the first, length 1; stack → [1,
    /// batch, 8]. Every node counted, 0 FLOPs.
    #[test]
    fn chains_through_the_analysis() {
        let r = G::default()
            .input("x", &["batch", "seq", "192"])
            .input("y", &["batch", "8"])
            .ints("k", &[], &[64])
            .ints("zero", &[], &[0])
            .node("SplitToSequence", &["x", "k"], "parts", &[("axis", int(2))])
            .node(
                "ConcatFromSequence",
                &["parts"],
                "joined",
                &[("axis", int(2))],
            )
            .node("SequenceEmpty", &[], "e", &[])
            .node("SequenceInsert", &["e", "y"], "s1", &[])
            .node("SequenceInsert", &["s1", "y", "zero"], "s2", &[])
            .node("SequenceErase", &["s2", "zero"], "s3", &[])
            .node("SequenceLength", &["s3"], "len", &[])
            .node(
                "ConcatFromSequence",
                &["s3"],
                "stacked",
                &[("axis", int(0)), ("new_axis", int(1))],
            )
            .node("SequenceConstruct", &["y", "y"], "pair", &[])
            .run();
        assert!(all_counted(&r), "{:?}", r.nodes);
        assert_eq!(shape_of_value(&r, "joined"), "batchxseqx192");
        assert_eq!(shape_of_value(&r, "s2"), "batchx8");
        assert_eq!(shape_of_value(&r, "len"), "scalar");
        assert_eq!(shape_of_value(&r, "stacked"), "1xbatchx8");
        assert_eq!(shape_of_value(&r, "pair"), "batchx8");
        assert!(r.totals.cost.flops.is_zero() && r.totals.cost.macs.is_zero());
    }

    /// An unknown split size makes the split node, and the nodes that needed
    /// its elements, incomplete; nothing panics.
    #[test]
    fn unknown_split_is_flagged_not_fatal() {
        let r = G::default()
            .input("x", &["batch", "12"])
            .int_scalar_input("k")
            .ints("zero", &[], &[0])
            .node("SplitToSequence", &["x", "k"], "parts", &[("axis", int(1))])
            .node("SequenceAt", &["parts", "zero"], "first", &[])
            .node(
                "ConcatFromSequence",
                &["parts"],
                "joined",
                &[("axis", int(1))],
            )
            .run();
        assert!(matches!(status(&r, "parts"), NodeStatus::Incomplete { .. }));
        assert!(matches!(status(&r, "first"), NodeStatus::Incomplete { .. }));
        assert!(matches!(
            status(&r, "joined"),
            NodeStatus::Incomplete { .. }
        ));
        assert_eq!(shape_of_value(&r, "first"), "batchx?");
        assert_eq!(shape_of_value(&r, "joined"), "batchx?");
    }
}
