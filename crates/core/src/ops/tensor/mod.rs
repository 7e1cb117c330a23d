//! Data movement of the default ONNX domain: reshaping, slicing, gathering,
//! concatenating, padding, casting, and the operators that make constants
//! and shapes.
//!
//! None of them computes anything: they cost 0 MACs and 0 FLOPs, except
//! `CumSum` (its additions) and `ScatterND`/`ScatterElements` with a
//! `reduction` (one add, multiply, max or min per update). Selection and
//! sorting (`TopK`, `Unique`) depend on the algorithm and are not counted.
//!
//! The heart of this family is *value propagation*. PyTorch exporters
//! compute shapes at run time: `Shape → Gather/Slice → Unsqueeze → Concat →
//! Reshape/Expand/ConstantOfShape/Range`. For small integer tensors (at most
//! [`MAX_TRACKED_ELEMENTS`] elements) the rules here track the elements, in
//! row-major order, as [`ConstValue::Ints`] whose elements may be symbolic
//! dims (`Shape` of a `[batch, 3, 224, 224]` input is the value
//! `[batch, 3, 224, 224]`), so that a `Reshape` at the end of such a chain
//! resolves to `[batch, 512]` instead of unknown.
//!
//! When a rule cannot know an output dim because a configuring value (a
//! target shape, axes, pads, a count) is not known, it still sets what it
//! knows (dtype, rank) and reports [`OpError::DataDependent`], so the node
//! that loses the information is the one flagged.

use super::{NodeCtx, OpDef, OpError, Role};
use crate::graph::DType;
use crate::poly::Poly;
use crate::shape::{normalize_axis, Dim, Shape};
use crate::symbols::DataSize;
use crate::value::{ConstValue, MAX_TRACKED_ELEMENTS};

mod index;
mod layout;
pub(crate) mod slice;
mod values;

#[cfg(test)]
mod chain_tests;
#[cfg(test)]
mod testutil;

pub use values::dtype_from_onnx_code;

const DATA: &[Role] = &[Role::Data];
const DATA_CONFIG: &[Role] = &[Role::Data, Role::Config];
const DATA_CONFIG2: &[Role] = &[Role::Data, Role::Config, Role::Config];
const DATA_CONFIG3: &[Role] = &[Role::Data, Role::Config, Role::Config, Role::Config];
const DATA_CONFIG4: &[Role] = &[
    Role::Data,
    Role::Config,
    Role::Config,
    Role::Config,
    Role::Config,
];
const CONFIG: &[Role] = &[Role::Config];
const CONFIG3: &[Role] = &[Role::Config, Role::Config, Role::Config];
const SCATTER: &[Role] = &[Role::Data, Role::Config, Role::Data];

const MOVE: &str = "0 (data movement)";

pub const OPS: &[OpDef] = &[
    op!("Reshape", layout::reshape, DATA_CONFIG, MOVE),
    op!("Flatten", layout::flatten, DATA, MOVE),
    op!("Squeeze", layout::squeeze, DATA_CONFIG, MOVE),
    op!("Unsqueeze", layout::unsqueeze, DATA_CONFIG, MOVE),
    op!("Transpose", layout::transpose, DATA, MOVE),
    op!("Expand", layout::expand, DATA_CONFIG, MOVE),
    op!("Tile", layout::tile, DATA_CONFIG2, MOVE),
    op!("Identity", layout::identity, DATA, MOVE),
    op!(
        "Dropout",
        layout::dropout,
        DATA_CONFIG2,
        "0 (inference: identity; the mask output is all true)"
    ),
    op!("DepthToSpace", layout::depth_to_space, DATA, MOVE),
    op!("SpaceToDepth", layout::space_to_depth, DATA, MOVE),
    op!("Concat", slice::concat, DATA, MOVE),
    op!("Split", slice::split, DATA_CONFIG, MOVE),
    op!("Slice", slice::slice, DATA_CONFIG4, MOVE),
    op!(
        "Pad",
        slice::pad,
        DATA_CONFIG3,
        "0 (data movement; padding values are written, not computed)"
    ),
    op!("Gather", index::gather, DATA_CONFIG, MOVE),
    op!("GatherElements", index::gather_elements, DATA_CONFIG, MOVE),
    op!("GatherND", index::gather_nd, DATA_CONFIG, MOVE),
    op!(
        "ScatterND",
        index::scatter_nd,
        SCATTER,
        "0 with reduction none; numel(updates) with add/mul/max/min"
    ),
    op!(
        "ScatterElements",
        index::scatter_elements,
        SCATTER,
        "0 with reduction none; numel(updates) with add/mul/max/min"
    ),
    op!("Scatter", index::scatter, SCATTER, MOVE),
    op!("OneHot", index::one_hot, DATA_CONFIG2, MOVE),
    op!(
        "Trilu",
        index::trilu,
        DATA_CONFIG,
        "0 (selection of elements)"
    ),
    op!(
        "ReverseSequence",
        index::reverse_sequence,
        DATA_CONFIG,
        MOVE
    ),
    op!("EyeLike", index::eye_like, DATA, MOVE),
    op!(
        "RandomUniformLike",
        values::random_like::<0>,
        DATA,
        "0 (random generation)"
    ),
    op!(
        "RandomNormalLike",
        values::random_like::<0>,
        DATA,
        "0 (random generation)"
    ),
    op!(
        "Bernoulli",
        values::random_like::<1>,
        DATA,
        "1 per element (a draw compared with the probability)"
    ),
    op!(
        "Multinomial",
        values::multinomial,
        DATA,
        "batch · (2n − 1 + s · (n + 1)) for n classes and s samples: exp and running sum per row; \
         per sample a draw scaled by the sum and a linear scan of n comparisons (worst case)"
    ),
    op!(
        "RandomUniform",
        values::random::<0>,
        &[],
        "0 (random generation)"
    ),
    op!(
        "RandomNormal",
        values::random::<0>,
        &[],
        "0 (random generation)"
    ),
    op!(
        "NonMaxSuppression",
        index::non_max_suppression,
        &[
            Role::Data,
            Role::Data,
            Role::Config,
            Role::Config,
            Role::Config
        ],
        "not counted (the IoU comparisons depend on the boxes and scores)"
    ),
    op!(
        "TfIdfVectorizer",
        index::tfidf_vectorizer,
        DATA,
        "0 (n-gram matching); IDF and TFIDF modes 1 per output element"
    ),
    OpDef {
        op_type: "ArrayFeatureExtractor",
        domain: "ai.onnx.ml",
        rule: index::array_feature_extractor,
        roles: DATA_CONFIG,
        cost_doc: MOVE,
    },
    op!(
        "TensorScatter",
        index::tensor_scatter,
        SCATTER,
        "0 (the update is written into the cache)"
    ),
    op!(
        "Col2Im",
        layout::col2im,
        DATA_CONFIG2,
        "N·C·∏block·L additions (every column element accumulated into the image)"
    ),
    op!(
        "NonZero",
        index::non_zero,
        DATA,
        "0 (output length is data dependent)"
    ),
    op!("Compress", index::compress, DATA_CONFIG, MOVE),
    op!(
        "Unique",
        index::unique,
        DATA,
        "0 (sorting/deduplication comparisons depend on the algorithm and are not counted)"
    ),
    op!(
        "TopK",
        index::top_k,
        DATA_CONFIG,
        "0 (selection comparisons depend on the algorithm and are not counted)"
    ),
    op!(
        "CumSum",
        index::cum_sum,
        DATA_CONFIG,
        "rows·(L − 1) additions for scan length L (rows·max(L − 2, 0) if exclusive)"
    ),
    op!(
        "CumProd",
        index::cum_sum,
        DATA_CONFIG,
        "rows·(L − 1) multiplications for scan length L (rows·max(L − 2, 0) if exclusive)"
    ),
    op!("Shape", values::shape, DATA, MOVE),
    op!("Size", values::size, DATA, MOVE),
    op!("Constant", values::constant, &[], MOVE),
    op!("ConstantOfShape", values::constant_of_shape, CONFIG, MOVE),
    op!("Range", values::range, CONFIG3, "0 (element generation)"),
    op!("Cast", values::cast, DATA, "0 (type conversion)"),
    op!("CastLike", values::cast_like, DATA, "0 (type conversion)"),
    op!(
        "BitCast",
        values::bit_cast,
        DATA,
        "0 (the bits are reinterpreted)"
    ),
    op!(
        "HannWindow",
        values::window::<4>,
        CONFIG,
        "4 per element: the angle, a cosine, a scale, a subtraction"
    ),
    op!(
        "HammingWindow",
        values::window::<4>,
        CONFIG,
        "4 per element: the angle, a cosine, a scale, a subtraction"
    ),
    op!(
        "BlackmanWindow",
        values::window::<8>,
        CONFIG,
        "8 per element: two angles, two cosines, two scales, a subtraction and an addition"
    ),
    op!("CenterCropPad", slice::center_crop_pad, DATA_CONFIG, MOVE),
];

// ----- value tracking ------------------------------------------------------

/// Whether a tensor of `n` elements is small enough to track.
fn trackable(n: usize) -> bool {
    u64::try_from(n).is_ok_and(|n| n <= MAX_TRACKED_ELEMENTS)
}

/// All dims as concrete sizes, if they are.
fn concrete_dims(shape: &[Dim]) -> Option<Vec<usize>> {
    shape
        .iter()
        .map(|d| d.as_i64().and_then(|v| usize::try_from(v).ok()))
        .collect()
}

fn numel_usize(dims: &[usize]) -> Option<usize> {
    dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
}

/// Row-major strides of concrete dims.
fn strides(dims: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; dims.len()];
    for i in (0..dims.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1].saturating_mul(dims[i + 1]);
    }
    s
}

/// Flat row-major index of a multi-index.
fn flat(pos: &[usize], strides: &[usize]) -> usize {
    pos.iter().zip(strides).map(|(p, s)| p * s).sum()
}

/// The concrete, trackable element count of output `i`'s shape.
fn output_len(ctx: &NodeCtx, i: usize) -> Option<usize> {
    let dims = concrete_dims(ctx.output_shape(i)?)?;
    numel_usize(&dims).filter(|&n| trackable(n))
}

/// Records `v` as output `i`'s value if it agrees with the output's shape
/// (concrete, with as many elements as `v`, and small enough).
fn set_value(ctx: &mut NodeCtx, i: usize, v: ConstValue) {
    if output_len(ctx, i) == Some(v.len()) {
        ctx.set_output_value(i, v);
    }
}

/// Elements of `v` at the given flat indices; `None` if one is out of range.
fn pick(v: &ConstValue, idx: &[usize]) -> Option<ConstValue> {
    Some(match v {
        ConstValue::Ints(e) => ConstValue::Ints(
            idx.iter()
                .map(|&i| e.get(i).cloned())
                .collect::<Option<_>>()?,
        ),
        ConstValue::Floats(e) => ConstValue::Floats(
            idx.iter()
                .map(|&i| e.get(i).copied())
                .collect::<Option<_>>()?,
        ),
    })
}

/// Sets output `i`'s value by mapping every output position (a row-major
/// multi-index over the output's concrete shape) to a flat index of `src`.
/// Does nothing if the output is not concrete and small, or `f` fails.
fn map_value(ctx: &mut NodeCtx, i: usize, src: &ConstValue, f: impl Fn(&[usize]) -> Option<usize>) {
    let Some(dims) = ctx.output_shape(i).and_then(concrete_dims) else {
        return;
    };
    let Some(n) = numel_usize(&dims).filter(|&n| trackable(n)) else {
        return;
    };
    let mut idx = Vec::with_capacity(n);
    let mut pos = vec![0usize; dims.len()];
    for _ in 0..n {
        let Some(s) = f(&pos) else { return };
        idx.push(s);
        for a in (0..dims.len()).rev() {
            pos[a] += 1;
            if pos[a] < dims[a] {
                break;
            }
            pos[a] = 0;
        }
    }
    if let Some(v) = pick(src, &idx) {
        ctx.set_output_value(i, v);
    }
}

/// Input `i`'s value together with its concrete dims, if both are known and
/// consistent.
fn value_with_dims<'a>(ctx: &NodeCtx<'a>, i: usize) -> Option<(&'a ConstValue, Vec<usize>)> {
    let v = ctx.value(i)?;
    let dims = concrete_dims(ctx.shape(i).ok()?)?;
    (numel_usize(&dims)? == v.len()).then_some((v, dims))
}

// ----- configuration inputs ---------------------------------------------------

/// An integer list that configures an operator (axes, pads, a target
/// shape), given by attribute in older opsets and by input in newer ones.
#[derive(Debug, Clone, PartialEq)]
enum IntList {
    /// Neither attribute nor input is given.
    Absent,
    /// Known elements; each may be symbolic or unknown.
    Known(Vec<Dim>),
    /// Given by an input whose elements are not known; the length if the
    /// input's shape says it.
    Unknown(Option<usize>),
}

/// Reads an integer list from attribute `attr` if present, otherwise from
/// input `input` (accepting either form in any opset, as the two never
/// coexist in valid models).
fn int_list(ctx: &NodeCtx, attr: &str, input: usize) -> Result<IntList, OpError> {
    if let Some(v) = ctx.attr_ints(attr)? {
        return Ok(IntList::Known(v.iter().map(|&x| Dim::int(x)).collect()));
    }
    list_input(ctx, input)
}

/// Reads an integer list from input `i` (a 1-D tensor, or a scalar).
fn list_input(ctx: &NodeCtx, i: usize) -> Result<IntList, OpError> {
    if !ctx.has_input(i) {
        return Ok(IntList::Absent);
    }
    match ctx.value(i) {
        Some(ConstValue::Ints(v)) => Ok(IntList::Known(v.clone())),
        Some(ConstValue::Floats(_)) => Err(OpError::Invalid(format!(
            "input {i} ('{}') should hold integers, not floats",
            input_name(ctx, i)
        ))),
        None => {
            // The length is a declared dim, not data: beyond what a real
            // list of axes, pads or dims could hold it is unknown, so that
            // no allocation follows a size the file merely claims.
            let len = ctx.shape(i).ok().and_then(|s| match s {
                [] => Some(1),
                [d] => d.as_i64().and_then(|v| usize::try_from(v).ok()),
                _ => None,
            });
            let len = len.filter(|&n| n as u64 <= MAX_TRACKED_ELEMENTS);
            Ok(IntList::Unknown(len))
        }
    }
}

/// All elements as concrete integers, if they are.
fn known_ints(v: &[Dim]) -> Option<Vec<i64>> {
    v.iter().map(Dim::as_i64).collect()
}

fn input_name(ctx: &NodeCtx, i: usize) -> String {
    ctx.input_names.get(i).copied().unwrap_or("").to_string()
}

/// Normalises a list of axes against `rank`, rejecting out-of-range and
/// repeated axes.
fn normalize_axes(axes: &[i64], rank: usize, what: &str) -> Result<Vec<usize>, OpError> {
    let mut out = Vec::with_capacity(axes.len());
    // One flag per axis: linear in the rank, however many axes are listed.
    let mut seen = vec![false; rank];
    for &a in axes {
        let n = normalize_axis(a, rank).ok_or_else(|| {
            OpError::Invalid(format!("{what} {a} is out of range for rank {rank}"))
        })?;
        if std::mem::replace(&mut seen[n], true) {
            return Err(OpError::Invalid(format!("{what} {a} is repeated")));
        }
        out.push(n);
    }
    Ok(out)
}

/// Reads the `axis` attribute and normalises it against `rank`.
fn axis_attr(ctx: &NodeCtx, default: i64, rank: usize) -> Result<usize, OpError> {
    let axis = ctx.attr_int("axis", default)?;
    normalize_axis(axis, rank).ok_or_else(|| {
        OpError::Invalid(format!(
            "attribute 'axis' = {axis} is out of range for rank {rank}"
        ))
    })
}

/// Product of dims: unknown if any is.
fn dim_product(dims: &[Dim]) -> Result<Dim, OpError> {
    let mut acc = Poly::constant(1);
    for d in dims {
        match d.poly() {
            Some(p) => acc = acc.checked_mul(p)?,
            None => return Ok(Dim::Unknown),
        }
    }
    Ok(Dim::Known(acc))
}

/// Exact quotient of a dim by a positive integer: an error if a concrete
/// dim does not divide, unknown if a symbolic one does not divide exactly.
fn dim_div(d: &Dim, k: i64, what: &str) -> Result<Dim, OpError> {
    let Some(p) = d.poly() else {
        return Ok(Dim::Unknown);
    };
    if let Some(c) = p.as_constant() {
        if k == 0 || c % k as i128 != 0 {
            return Err(OpError::Invalid(format!(
                "{what}: {c} is not divisible by {k}"
            )));
        }
        return Ok(Dim::Known(Poly::constant(c / k as i128)));
    }
    Ok(p.div_exact(k as i128).map_or(Dim::Unknown, Dim::Known))
}

/// Output `i` when its sizes come from values nncost does not know (a
/// Reshape target, Expand shape, Tile repeats, Range bounds computed from
/// data, or from a value it could not follow): at a known rank every dim
/// is a data symbol of the node (key `ax<axis>`; see [`crate::symbols`]),
/// so what follows stays an expression in it; the node itself is reported
/// data dependent either way, so that a gap in what nncost evaluates is
/// never silent.
fn data_dims(
    ctx: &mut NodeCtx,
    i: usize,
    dtype: Option<DType>,
    rank: Option<usize>,
    why: &str,
) -> super::RuleResult {
    let Some(r) = rank else {
        ctx.set_output_dtype(i, dtype);
        return Err(OpError::DataDependent(why.to_string()));
    };
    let dims = (0..r)
        .map(|axis| {
            ctx.data_dim(DataSize {
                key: &format!("ax{axis}"),
                output: i,
                axis,
                upper_bound: None,
                meaning: why,
            })
        })
        .collect();
    ctx.set_output(i, dtype, dims);
    Err(OpError::DataDependent(why.to_string()))
}

/// A shape with the dim at `axis` replaced.
fn with_dim(shape: &[Dim], axis: usize, d: Dim) -> Shape {
    let mut s = shape.to_vec();
    if let Some(slot) = s.get_mut(axis) {
        *slot = d;
    }
    s
}
