//! Elementwise operators: unary math and activations, binary arithmetic,
//! comparisons and logic with multidirectional (numpy) broadcasting, the
//! variadic `Sum`/`Max`/`Min`/`Mean`, `Where`, `Clip` and `PRelu`.
//!
//! Cost: a fixed number of FLOPs per OUTPUT element, written next to each
//! operator in [`OPS`] with what it counts. Integer bit operations and
//! boolean logic are not floating-point work and cost 0. Broadcasting costs
//! nothing by itself: an operand read many times is still one operation per
//! output element.
//!
//! Values: for the small tensors exporters use to compute shapes at run time
//! (`Shape` → `Add`/`Mul`/`Div`/`Equal`/`Where` → `Reshape`, or Resize's
//! `Cast(Shape) · scales → Floor → Cast`, or the float trip count
//! `Cast(Relu(Ceil((limit − start)/delta)))` of an expanded `Range`), the
//! output's elements are computed
//! from the inputs' when those are known, symbolically where possible
//! (`[batch, 3] + [0, 1] = [batch, 4]`). An element that cannot be decided
//! is `Dim::Unknown`; a tensor with no representable result has no value.

use super::{NodeCtx, OpDef, OpError, Role, RuleResult};
use crate::graph::{AttrValue, DType};
use crate::poly::Poly;
use crate::shape::{self, Dim, Shape};
use crate::value::{round_to_dtype, ConstValue, MAX_TRACKED_ELEMENTS};

/// A unary operator costing `$flops` FLOPs per element; `$why` itemises them.
macro_rules! unary_op {
    ($op:literal, $flops:literal, $why:literal) => {
        OpDef {
            op_type: $op,
            domain: "",
            rule: unary::<$flops>,
            roles: &[],
            cost_doc: concat!("FLOPs = ", $flops, " per element (", $why, ")"),
        }
    };
}

/// A unary operator with a boolean output.
macro_rules! predicate_op {
    ($op:literal, $flops:literal, $why:literal) => {
        OpDef {
            op_type: $op,
            domain: "",
            rule: predicate::<$flops>,
            roles: &[],
            cost_doc: concat!("FLOPs = ", $flops, " per element (", $why, ")"),
        }
    };
}

/// A broadcasting binary operator whose output has the operands' dtype.
macro_rules! binary_op {
    ($op:literal, $flops:literal, $why:literal) => {
        OpDef {
            op_type: $op,
            domain: "",
            rule: binary::<$flops>,
            roles: OPERANDS,
            cost_doc: concat!("FLOPs = ", $flops, " per output element (", $why, ")"),
        }
    };
}

/// A broadcasting binary operator with a boolean output.
macro_rules! compare_op {
    ($op:literal, $flops:literal, $why:literal) => {
        OpDef {
            op_type: $op,
            domain: "",
            rule: compare::<$flops>,
            roles: OPERANDS,
            cost_doc: concat!("FLOPs = ", $flops, " per output element (", $why, ")"),
        }
    };
}

/// A broadcasting operator over k inputs costing `k + $offset` per output
/// element.
macro_rules! variadic_op {
    ($op:literal, $offset:literal, $doc:literal) => {
        OpDef {
            op_type: $op,
            domain: "",
            rule: variadic::<{ $offset }>,
            roles: &[],
            cost_doc: $doc,
        }
    };
}

/// Clip's bounds are configuration, never parameters.
const CLIP_ROLES: &[Role] = &[Role::Data, Role::Config, Role::Config];
/// Both inputs of a binary operator: `binary` and `compare` compute an
/// output's elements only from both operands' (`compute_value`), and
/// `mask::derive` reads an operand's elements only beside the other's
/// pattern.
const OPERANDS: &[Role] = &[Role::Operand, Role::Operand];
/// PRelu's slope is learned.
const PRELU_ROLES: &[Role] = &[Role::Data, Role::Weight];

pub const OPS: &[OpDef] = &[
    // ----- binary arithmetic (output dtype = operands') -----------------
    binary_op!("Add", 1, "one add"),
    binary_op!("Sub", 1, "one subtract"),
    binary_op!("Mul", 1, "one multiply"),
    binary_op!("Div", 1, "one divide"),
    binary_op!("Pow", 1, "one power"),
    binary_op!("Mod", 1, "one remainder"),
    binary_op!("BitShift", 0, "integer shift: not floating point"),
    binary_op!("BitwiseAnd", 0, "integer bit operation: not floating point"),
    binary_op!("BitwiseOr", 0, "integer bit operation: not floating point"),
    binary_op!("BitwiseXor", 0, "integer bit operation: not floating point"),
    // ----- comparisons and logic (output bool) ---------------------------
    compare_op!("Equal", 1, "one comparison"),
    compare_op!("Less", 1, "one comparison"),
    compare_op!("Greater", 1, "one comparison"),
    compare_op!("LessOrEqual", 1, "one comparison"),
    compare_op!("GreaterOrEqual", 1, "one comparison"),
    compare_op!("And", 0, "boolean logic: not floating point"),
    compare_op!("Or", 0, "boolean logic: not floating point"),
    compare_op!("Xor", 0, "boolean logic: not floating point"),
    // ----- variadic -------------------------------------------------------
    variadic_op!("Sum", -1, "FLOPs = (k − 1) per output element for k inputs (k − 1 adds)"),
    variadic_op!("Max", -1, "FLOPs = (k − 1) per output element for k inputs (k − 1 comparisons)"),
    variadic_op!("Min", -1, "FLOPs = (k − 1) per output element for k inputs (k − 1 comparisons)"),
    variadic_op!("Mean", 0, "FLOPs = k per output element for k inputs (k − 1 adds, 1 divide)"),
    // ----- unary math -----------------------------------------------------
    unary_op!("Neg", 1, "one negation"),
    unary_op!("Abs", 1, "one absolute value"),
    unary_op!("Reciprocal", 1, "one divide"),
    unary_op!("Sqrt", 1, "one square root"),
    unary_op!("Exp", 1, "one exp"),
    unary_op!("Log", 1, "one log"),
    unary_op!("Ceil", 1, "one rounding"),
    unary_op!("Floor", 1, "one rounding"),
    unary_op!("Round", 1, "one rounding"),
    unary_op!("Sign", 1, "one comparison"),
    unary_op!("Sin", 1, "one transcendental function"),
    unary_op!("Cos", 1, "one transcendental function"),
    unary_op!("Tan", 1, "one transcendental function"),
    unary_op!("Asin", 1, "one transcendental function"),
    unary_op!("Acos", 1, "one transcendental function"),
    unary_op!("Atan", 1, "one transcendental function"),
    unary_op!("Sinh", 1, "one transcendental function"),
    unary_op!("Cosh", 1, "one transcendental function"),
    unary_op!("Asinh", 1, "one transcendental function"),
    unary_op!("Acosh", 1, "one transcendental function"),
    unary_op!("Atanh", 1, "one transcendental function"),
    unary_op!("Erf", 1, "one transcendental function"),
    unary_op!("Tanh", 1, "one transcendental function"),
    predicate_op!("IsNaN", 1, "one comparison"),
    predicate_op!("IsInf", 1, "one comparison"),
    unary_op!("Not", 0, "boolean logic: not floating point"),
    unary_op!("BitwiseNot", 0, "integer bit operation: not floating point"),
    // ----- activations ----------------------------------------------------
    unary_op!("Relu", 1, "max(x, 0): one comparison"),
    unary_op!("LeakyRelu", 2, "compare, multiply by alpha"),
    unary_op!("ThresholdedRelu", 1, "compare with alpha"),
    unary_op!("Elu", 4, "compare, exp, subtract 1, multiply by alpha"),
    unary_op!("Celu", 5, "compare, divide by alpha, exp, subtract 1, multiply by alpha"),
    unary_op!("Selu", 5, "Elu's 4, then multiply by gamma"),
    unary_op!("Sigmoid", 4, "1/(1 + exp(−x)): negate, exp, add 1, divide"),
    unary_op!("HardSigmoid", 4, "max(0, min(1, alpha·x + beta)): multiply, add, 2 comparisons"),
    unary_op!("HardSwish", 5, "HardSigmoid's 4, then multiply by x"),
    unary_op!("Swish", 6, "x·sigmoid(alpha·x): multiply by alpha, Sigmoid's 4, multiply by x"),
    OpDef {
        op_type: "StringConcat",
        domain: "",
        rule: binary::<0>,
        roles: &[],
        cost_doc: "0 (strings joined, no arithmetic)",
    },
    OpDef {
        op_type: "RegexFullMatch",
        domain: "",
        rule: predicate::<0>,
        roles: &[],
        cost_doc: "0 (string matching, no arithmetic)",
    },
    OpDef {
        op_type: "Binarizer",
        domain: "ai.onnx.ml",
        rule: unary::<1>,
        roles: &[],
        cost_doc: "FLOPs = 1 per element (a comparison with the threshold)",
    },
    OpDef {
        op_type: "LabelEncoder",
        domain: "ai.onnx.ml",
        rule: label_encoder,
        roles: &[],
        cost_doc: "0 (a table lookup per element)",
    },
    OpDef {
        op_type: "Adagrad",
        domain: TRAINING,
        rule: optimizer::<3, 9>,
        roles: &[Role::Config, Role::Config],
        cost_doc: "9 per tensor element: norm·X + G 2, H + G² 2, X − r·G/(√H + ε) 5",
    },
    OpDef {
        op_type: "Momentum",
        domain: TRAINING,
        rule: optimizer::<3, 7>,
        roles: &[Role::Config, Role::Config],
        cost_doc: "7 per tensor element: norm·X + G 2, α·V + β·G 3, X − R·V 2",
    },
    OpDef {
        op_type: "Gradient",
        domain: TRAINING,
        rule: gradient,
        roles: &[],
        cost_doc: "not counted: the backward pass of the graph between xs and y (shapes: each gradient has its x's shape)",
    },
    OpDef {
        op_type: "Adam",
        domain: TRAINING,
        rule: optimizer::<4, 14>,
        roles: &[Role::Config, Role::Config],
        cost_doc: "14 per tensor element: norm·X + G 2, α·V + (1 − α)·G 3, β·H + (1 − β)·G² 4, X − R·V/(√H + ε) 5",
    },
    OpDef {
        op_type: "SwiGLU",
        domain: "",
        rule: swiglu,
        roles: &[],
        cost_doc: "FLOPs = 7 per element (Swish's 6 on the gate A, multiply by B)",
    },
    unary_op!("Softplus", 3, "log(exp(x) + 1): exp, add, log"),
    unary_op!("Softsign", 3, "x/(1 + |x|): abs, add, divide"),
    unary_op!("Mish", 5, "x·tanh(softplus(x)): exp, add, log, tanh, multiply"),
    unary_op!("Shrink", 3, "two comparisons with ±lambd, one add/subtract of bias"),
    OpDef {
        op_type: "Gelu",
        domain: "",
        rule: gelu,
        roles: &[],
        cost_doc: "FLOPs = 5 per element (approximate=none: divide, erf, add, 2 multiplies); 9 with approximate=tanh",
    },
    OpDef {
        op_type: "PRelu",
        domain: "",
        rule: prelu,
        roles: PRELU_ROLES,
        cost_doc: "FLOPs = 2 per element (compare, multiply by the broadcast slope)",
    },
    OpDef {
        op_type: "Clip",
        domain: "",
        rule: clip,
        roles: CLIP_ROLES,
        cost_doc: "FLOPs = 1 per element per bound given (min, max: a comparison each)",
    },
    OpDef {
        op_type: "Where",
        domain: "",
        rule: where_op,
        roles: &[],
        cost_doc: "FLOPs = 0 (selection is data movement)",
    },
];

// ----- rules ---------------------------------------------------------------

/// Unary: `Y` has `X`'s shape and dtype; `F` FLOPs per element (see [`OPS`]).
fn unary<const F: i128>(ctx: &mut NodeCtx) -> RuleResult {
    let x = ctx.shape(0)?.to_vec();
    let dtype = ctx.dtype(0);
    finish(ctx, std::slice::from_ref(&x), &x, dtype, F)
}

/// LabelEncoder (ai.onnx.ml): the input's shape; the dtype is that of the
/// `values_*` attribute given. 0 FLOPs (a lookup).
fn label_encoder(ctx: &mut NodeCtx) -> RuleResult {
    let x = ctx.shape(0)?.to_vec();
    let dtype = if ctx.attr("values_strings").is_some() {
        Some(DType::String)
    } else if ctx.attr("values_int64s").is_some() {
        Some(DType::I64)
    } else if ctx.attr("values_floats").is_some() {
        Some(DType::F32)
    } else {
        match ctx.attr("values_tensor") {
            Some(crate::graph::AttrValue::Tensor(t)) => Some(t.dtype),
            _ => None,
        }
    };
    ctx.set_output(0, dtype, x);
    Ok(())
}

/// The preview training operators' domain.
const TRAINING: &str = "ai.onnx.preview.training";

/// Adagrad, Momentum, Adam (`ai.onnx.preview.training`): inputs R, T, then
/// `B` blocks of `n` tensors (X…, G…, then the state: H… for Adagrad, V…
/// for Momentum, V… and H… for Adam); outputs the new X… and the new
/// state, each of its input's shape. `F` FLOPs per element of the X
/// tensors (the scalar learning-rate decay, once per node, is not
/// counted).
fn optimizer<const B: usize, const F: i128>(ctx: &mut NodeCtx) -> RuleResult {
    let k = ctx.num_inputs();
    if k < 2 + B || !(k - 2).is_multiple_of(B) {
        return Err(OpError::Invalid(format!(
            "{} takes R, T and {B} blocks of equally many tensors, got {k} inputs",
            ctx.node.op_type
        )));
    }
    let n = (k - 2) / B;
    let mut flops = Poly::ZERO;
    for j in 0..ctx.num_outputs() {
        let (block, i) = (j / n, j % n);
        // Output blocks: X, then the state blocks (input blocks 2, 3).
        let in_block = if block == 0 { 0 } else { block + 1 };
        let src = 2 + in_block * n + i;
        let s = ctx.shape(src)?.to_vec();
        ctx.set_output(j, ctx.dtype(src), s);
    }
    for i in 0..n {
        flops = flops.checked_add(&ctx.numel(2 + i)?)?;
    }
    ctx.add_flops(&flops.checked_scale(F)?)
}

/// `Gradient` (`ai.onnx.preview.training`): the derivatives of `y` with
/// respect to the tensors named in `xs`, which are its first `len(xs)`
/// inputs (then those of `zs`); output `i` has input `i`'s shape and type.
/// Its cost is the backward pass through the part of the graph between
/// them, which the node does not hold: nncost infers the outputs and
/// reports the node as not counted, never as zero.
fn gradient(ctx: &mut NodeCtx) -> RuleResult {
    let xs = match ctx.attr("xs") {
        Some(AttrValue::Strings(v)) if !v.is_empty() => v.len(),
        _ => {
            return Err(OpError::Invalid(
                "Gradient needs its 'xs' attribute (the tensors to differentiate by)".into(),
            ))
        }
    };
    if ctx.num_outputs() > xs || ctx.num_inputs() < xs {
        return Err(OpError::Invalid(format!(
            "Gradient with {xs} names in 'xs' has {} inputs and {} outputs",
            ctx.num_inputs(),
            ctx.num_outputs()
        )));
    }
    for i in 0..ctx.num_outputs() {
        if let Ok(s) = ctx.shape(i) {
            let s = s.to_vec();
            ctx.set_output(i, ctx.dtype(i), s);
        }
    }
    Err(OpError::DataDependent(
        "the cost of Gradient is the backward pass of the graph between its xs and y, \
         which nncost does not derive"
            .into(),
    ))
}

/// SwiGLU (opset 28): `Swish(A)·B` for `A`, `B` of the same shape (no
/// broadcasting); 7 FLOPs per element.
fn swiglu(ctx: &mut NodeCtx) -> RuleResult {
    let a = ctx.shape(0)?.to_vec();
    let b = ctx.shape(1)?.to_vec();
    let differ = a.len() != b.len()
        || a.iter()
            .zip(&b)
            .any(|(x, y)| matches!((x.as_i64(), y.as_i64()), (Some(p), Some(q)) if p != q));
    let out = shape::broadcast(&a, &b)?;
    if differ {
        return Err(OpError::Invalid(format!(
            "SwiGLU needs A and B of the same shape, got {} and {}",
            shape::format_shape(&a),
            shape::format_shape(&b)
        )));
    }
    let dtype = ctx.dtype(0);
    finish(ctx, &[a, b], &out, dtype, 7)
}

/// Unary with a boolean output (`IsNaN`, `IsInf`): `F` FLOPs per element.
fn predicate<const F: i128>(ctx: &mut NodeCtx) -> RuleResult {
    let x = ctx.shape(0)?.to_vec();
    finish(ctx, std::slice::from_ref(&x), &x, Some(DType::Bool), F)
}

/// Binary arithmetic: `Y` = broadcast(A, B) with A's dtype; `F` FLOPs per
/// output element.
fn binary<const F: i128>(ctx: &mut NodeCtx) -> RuleResult {
    if ctx.node.op_type == "BitShift" {
        match ctx.attr_str("direction")? {
            Some("LEFT" | "RIGHT") => {}
            Some(other) => {
                return Err(OpError::Invalid(format!(
                    "attribute 'direction' must be LEFT or RIGHT, got '{other}'"
                )))
            }
            None => return Err(OpError::Invalid("attribute 'direction' is required".into())),
        }
    }
    let shapes = binary_shapes(ctx)?;
    let out = broadcast(&shapes)?;
    let dtype = ctx.dtype(0).or(ctx.dtype(1));
    finish(ctx, &shapes, &out, dtype, F)
}

/// Comparison or logic: `Y` = broadcast(A, B), dtype bool; `F` FLOPs per
/// output element.
fn compare<const F: i128>(ctx: &mut NodeCtx) -> RuleResult {
    let shapes = binary_shapes(ctx)?;
    let out = broadcast(&shapes)?;
    finish(ctx, &shapes, &out, Some(DType::Bool), F)
}

/// `Sum`/`Max`/`Min`/`Mean` of k inputs: `Y` = broadcast of all; `k + OFFSET`
/// FLOPs per output element (k − 1 adds or comparisons; Mean adds one divide).
fn variadic<const OFFSET: i128>(ctx: &mut NodeCtx) -> RuleResult {
    let k = ctx.num_inputs();
    if k == 0 {
        return Err(OpError::Invalid(format!(
            "{} needs at least one input",
            ctx.node.op_type
        )));
    }
    let shapes = (0..k)
        .map(|i| ctx.shape(i).map(<[Dim]>::to_vec))
        .collect::<Result<Vec<_>, _>>()?;
    let out = broadcast(&shapes)?;
    let dtype = (0..k).find_map(|i| ctx.dtype(i));
    finish(ctx, &shapes, &out, dtype, k as i128 + OFFSET)
}

/// `Where(cond, X, Y)`: three-way broadcast, X's dtype, 0 FLOPs (selection).
fn where_op(ctx: &mut NodeCtx) -> RuleResult {
    let shapes = (0..3)
        .map(|i| ctx.shape(i).map(<[Dim]>::to_vec))
        .collect::<Result<Vec<_>, _>>()?;
    let out = broadcast(&shapes)?;
    let dtype = ctx.dtype(1).or(ctx.dtype(2));
    finish(ctx, &shapes, &out, dtype, 0)
}

/// `Gelu` (opset 20). `approximate="none"`: 0.5·x·(1 + erf(x/√2)) = 5 FLOPs
/// per element (divide, erf, add, 2 multiplies). `approximate="tanh"`:
/// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) = 9: x³ (2 multiplies),
/// ·0.044715 (1), + x (1), ·√(2/π) (1), tanh (1), + 1 (1), 0.5·x (1), and
/// the final product (1).
fn gelu(ctx: &mut NodeCtx) -> RuleResult {
    let per = match ctx.attr_str("approximate")?.unwrap_or("none") {
        "none" => 5,
        "tanh" => 9,
        other => {
            return Err(OpError::Invalid(format!(
                "attribute 'approximate' must be 'none' or 'tanh', got '{other}'"
            )))
        }
    };
    let x = ctx.shape(0)?.to_vec();
    let dtype = ctx.dtype(0);
    finish(ctx, std::slice::from_ref(&x), &x, dtype, per)
}

/// `PRelu`: y = x < 0 ? slope·x : x — a comparison and a multiply (2 FLOPs)
/// per element. From opset 7 the slope broadcasts unidirectionally to X;
/// before, it is per channel or shared and is not checked. `Y` has X's shape.
fn prelu(ctx: &mut NodeCtx) -> RuleResult {
    let x = ctx.shape(0)?.to_vec();
    let slope = ctx.shape(1)?;
    if ctx.opset >= 7 {
        let b = shape::broadcast(&x, slope)?;
        let widened = b.len() != x.len()
            || b.iter()
                .zip(&x)
                .any(|(o, i)| o.as_i64().is_some() && i.as_i64().is_some() && o != i);
        if widened {
            return Err(OpError::Invalid(format!(
                "slope of shape {} does not broadcast to input shape {}",
                shape::format_shape(slope),
                shape::format_shape(&x)
            )));
        }
    }
    let dtype = ctx.dtype(0);
    finish(ctx, std::slice::from_ref(&x), &x, dtype, 2)
}

/// `Clip`: one comparison per element for each bound given. Before opset 11
/// the bounds are the `min`/`max` attributes (an absent one defaults to ∓∞
/// and clips nothing, so costs nothing); from 11 they are optional scalar
/// inputs 1 and 2.
fn clip(ctx: &mut NodeCtx) -> RuleResult {
    let bounds = if ctx.opset < 11 {
        ["min", "max"]
            .iter()
            .filter(|a| ctx.attr(a).is_some())
            .count()
    } else {
        let mut n = 0;
        for i in 1..=2 {
            if !ctx.has_input(i) {
                continue;
            }
            n += 1;
            if let Ok(s) = ctx.shape(i) {
                if let Some(k) = shape::numel(s)?.and_then(|p| p.as_constant()) {
                    if k != 1 {
                        let name = if i == 1 { "min" } else { "max" };
                        return Err(OpError::Invalid(format!(
                            "Clip bound '{name}' (input {i}) must be a scalar, has {k} elements"
                        )));
                    }
                }
            }
        }
        n
    };
    let x = ctx.shape(0)?.to_vec();
    let dtype = ctx.dtype(0);
    finish(ctx, std::slice::from_ref(&x), &x, dtype, bounds as i128)
}

// ----- shared steps ----------------------------------------------------------

/// The two operands' shapes as broadcasting sees them. Before opset 7,
/// `broadcast=1` lets B broadcast to A, aligned at `axis` when given (else
/// at the trailing axes): B is padded with 1s to A's rank accordingly.
fn binary_shapes(ctx: &NodeCtx) -> Result<Vec<Shape>, OpError> {
    let a = ctx.shape(0)?.to_vec();
    let mut b = ctx.shape(1)?.to_vec();
    if ctx.opset < 7 && ctx.attr_int("broadcast", 0)? != 0 {
        if b.len() > a.len() {
            return Err(OpError::Invalid(format!(
                "with broadcast=1, B (rank {}) cannot have a higher rank than A (rank {})",
                b.len(),
                a.len()
            )));
        }
        if ctx.attr("axis").is_some() {
            let axis = ctx.attr_int("axis", 0)?;
            let start = shape::normalize_axis(axis, a.len())
                .filter(|s| s + b.len() <= a.len())
                .ok_or_else(|| {
                    OpError::Invalid(format!(
                        "attribute 'axis' = {axis} does not place B (rank {}) inside A (rank {})",
                        b.len(),
                        a.len()
                    ))
                })?;
            let mut padded = vec![Dim::int(1); start];
            padded.append(&mut b);
            padded.resize(a.len(), Dim::int(1));
            b = padded;
        }
    }
    Ok(vec![a, b])
}

fn broadcast(shapes: &[Shape]) -> Result<Shape, OpError> {
    Ok(shape::broadcast_all(shapes.iter().map(Vec::as_slice))?)
}

/// Sets output 0, propagates known values, and adds `per_element` FLOPs per
/// output element. `shapes[i]` is input i's shape as broadcasting sees it.
fn finish(
    ctx: &mut NodeCtx,
    shapes: &[Shape],
    out: &Shape,
    dtype: Option<DType>,
    per_element: i128,
) -> RuleResult {
    let value = compute_value(ctx, shapes, out);
    ctx.set_output(0, dtype, out.clone());
    if let Some(v) = value {
        ctx.set_output_value(0, v);
    }
    if per_element == 0 {
        return Ok(());
    }
    let Some(n) = shape::numel(out)? else {
        // Name the input whose unknown dimension left the output unknown.
        for i in 0..shapes.len() {
            ctx.numel(i)?;
        }
        return Err(OpError::Invalid("output shape is unknown".into()));
    };
    ctx.add_flops_per(&n, per_element)
}

// ----- value propagation ---------------------------------------------------

/// Operators whose output elements are computed from known inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum VOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Sum,
    Max,
    Min,
    Neg,
    Abs,
    Relu,
    Floor,
    Ceil,
    Round,
    Sqrt,
    Equal,
    Less,
    Greater,
    LessOrEqual,
    GreaterOrEqual,
    Not,
    And,
    Or,
    Xor,
    Where,
    Reciprocal,
    Exp,
    Log,
    Pow,
    Sign,
    Sigmoid,
    Tanh,
}

impl VOp {
    fn parse(op: &str) -> Option<VOp> {
        use VOp::*;
        Some(match op {
            "Add" => Add,
            "Sub" => Sub,
            "Mul" => Mul,
            "Div" => Div,
            "Mod" => Mod,
            "Sum" => Sum,
            "Max" => Max,
            "Min" => Min,
            "Neg" => Neg,
            "Abs" => Abs,
            "Relu" => Relu,
            "Floor" => Floor,
            "Ceil" => Ceil,
            "Round" => Round,
            "Sqrt" => Sqrt,
            "Equal" => Equal,
            "Less" => Less,
            "Greater" => Greater,
            "LessOrEqual" => LessOrEqual,
            "GreaterOrEqual" => GreaterOrEqual,
            "Not" => Not,
            "And" => And,
            "Or" => Or,
            "Xor" => Xor,
            "Where" => Where,
            "Reciprocal" => Reciprocal,
            "Exp" => Exp,
            "Log" => Log,
            "Pow" => Pow,
            "Sign" => Sign,
            "Sigmoid" => Sigmoid,
            "Tanh" => Tanh,
            _ => return None,
        })
    }

    /// Output is boolean (stored as 0/1 integers).
    fn is_boolean(self) -> bool {
        use VOp::*;
        matches!(
            self,
            Equal | Less | Greater | LessOrEqual | GreaterOrEqual | Not | And | Or | Xor
        )
    }
}

/// Output 0's elements, if every input's are known, all shapes are concrete
/// and the output has at most [`MAX_TRACKED_ELEMENTS`] elements.
///
/// Integer tensors compute in integers (symbolic where possible; `Div`
/// truncates toward zero). Float tensors compute in f64, each result
/// rounded to the tensor's dtype (float32, float16, bfloat16) as the runtime
/// would (see [`ConstValue::Floats`]); a NaN or infinite result (a division
/// by zero, an overflow) or an 8-bit float dtype gives no value. A float
/// tensor with a symbolic element computes in exact integer arithmetic
/// only (an integer-valued float tensor such as `Cast(Shape)` times an
/// integral scale keeps its symbols), and anything inexact gives up.
fn compute_value(ctx: &NodeCtx, shapes: &[Shape], out: &Shape) -> Option<ConstValue> {
    let op = VOp::parse(&ctx.node.op_type)?;
    let out_dims = concrete(out)?;
    let total = out_dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d))?;
    if total as u64 > MAX_TRACKED_ELEMENTS {
        return None;
    }
    let args = shapes
        .iter()
        .enumerate()
        .map(|(i, s)| broadcast_value(ctx.value(i)?, &concrete(s)?, &out_dims))
        .collect::<Option<Vec<_>>>()?;
    let operand = if op == VOp::Where { 1 } else { 0 };
    let dtype = ctx.dtype(operand);
    let fmod = ctx.attr_int("fmod", 0).ok()? != 0;
    let float = dtype.is_some_and(DType::is_float)
        || args.iter().any(|a| matches!(a, ConstValue::Floats(_)));
    if !float {
        let ints = args
            .iter()
            .map(|a| a.as_ints())
            .collect::<Option<Vec<_>>>()?;
        return Some(ConstValue::Ints(
            (0..total)
                .map(|j| int_op(op, &column(&ints, j)?, false, fmod))
                .collect::<Option<_>>()?,
        ));
    }
    if let Some(floats) = args
        .iter()
        .map(ConstValue::to_f64s)
        .collect::<Option<Vec<_>>>()
    {
        let floats: Vec<&[f64]> = floats.iter().map(Vec::as_slice).collect();
        // A variadic Sum rounds each partial sum to the dtype, as a runtime
        // adding in that dtype does.
        let step_precision = dtype.filter(|d| d.is_float()).unwrap_or(DType::F64);
        let mut vals = Vec::with_capacity(total);
        for j in 0..total {
            vals.push(float_op(op, &column(&floats, j)?, fmod, step_precision)?);
        }
        if op.is_boolean() {
            return Some(ConstValue::Ints(
                vals.iter()
                    .map(|&v| Dim::int(i64::from(v != 0.0)))
                    .collect(),
            ));
        }
        // An integer dtype with float elements cannot happen in a valid
        // model; f64 is then the honest precision.
        let precision = dtype.filter(|d| d.is_float()).unwrap_or(DType::F64);
        let vals = vals
            .into_iter()
            .map(|v| round_to_dtype(v, precision))
            .collect::<Option<Vec<_>>>()?;
        return ConstValue::floats(vals);
    }
    // Symbolic integers in a float tensor: exact integer arithmetic only.
    let ints = args.iter().map(integral).collect::<Option<Vec<_>>>()?;
    let refs: Vec<&[Dim]> = ints.iter().map(Vec::as_slice).collect();
    Some(ConstValue::Ints(
        (0..total)
            .map(|j| int_op(op, &column(&refs, j)?, true, fmod))
            .collect::<Option<_>>()?,
    ))
}

/// The j-th element of every argument.
fn column<'a, T>(args: &[&'a [T]], j: usize) -> Option<Vec<&'a T>>
where
    T: 'a,
{
    args.iter().map(|a| a.get(j)).collect()
}

/// A shape with every dimension a known non-negative integer.
fn concrete(shape: &[Dim]) -> Option<Vec<usize>> {
    shape
        .iter()
        .map(|d| d.as_i64().and_then(|v| usize::try_from(v).ok()))
        .collect()
}

/// A value's elements broadcast to `out`.
fn broadcast_value(v: &ConstValue, shape: &[usize], out: &[usize]) -> Option<ConstValue> {
    Some(match v {
        ConstValue::Ints(x) => ConstValue::Ints(broadcast_elements(x, shape, out)?),
        ConstValue::Floats(x) => ConstValue::Floats(broadcast_elements(x, shape, out)?),
    })
}

/// Broadcasts the row-major elements `v` of a tensor of shape `shape` to the
/// shape `out` (numpy rules: aligned at the trailing axes, size-1 axes
/// repeat). `None` if the element count does not match or the shapes do not
/// broadcast.
fn broadcast_elements<T: Clone>(v: &[T], shape: &[usize], out: &[usize]) -> Option<Vec<T>> {
    let count = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))?;
    if v.len() != count || shape.len() > out.len() {
        return None;
    }
    let offset = out.len() - shape.len();
    // Source stride of each output axis; 0 where the source repeats.
    let mut strides = vec![0usize; out.len()];
    let mut acc = 1usize;
    for (k, &d) in shape.iter().enumerate().rev() {
        let o = *out.get(offset + k)?;
        if d == o && d != 1 {
            strides[offset + k] = acc;
        } else if d != 1 {
            return None;
        }
        acc = acc.checked_mul(d)?;
    }
    let total = out.iter().try_fold(1usize, |a, &d| a.checked_mul(d))?;
    let mut res = Vec::with_capacity(total);
    for flat in 0..total {
        let (mut rem, mut src) = (flat, 0usize);
        for (k, &d) in out.iter().enumerate().rev() {
            src += (rem % d) * strides[k];
            rem /= d;
        }
        res.push(v.get(src)?.clone());
    }
    Some(res)
}

/// A float tensor's elements as exact integers, if they all are.
fn integral(v: &ConstValue) -> Option<Vec<Dim>> {
    match v {
        ConstValue::Ints(x) => Some(x.clone()),
        ConstValue::Floats(x) => x
            .iter()
            .map(|&f| (f.fract() == 0.0 && f.abs() < 9.0e15).then(|| Dim::int(f as i64)))
            .collect(),
    }
}

/// What is known of how two integer elements compare, assuming every symbol
/// is a dimension (≥ 0): `Le`/`Ge` when only the non-strict order is known
/// (e.g. `2*batch ≥ batch`, equal when batch = 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rel {
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
}

fn relation(a: &Dim, b: &Dim) -> Option<Rel> {
    let d = a.poly()?.checked_sub(b.poly()?).ok()?;
    if d.is_zero() {
        return Some(Rel::Eq);
    }
    // Value with every symbol at 0: the constant term.
    let c0 = d.substitute(&|_| Some(0)).ok()?.as_constant()?;
    if d.terms().all(|(_, c)| c >= 0) {
        Some(if c0 > 0 { Rel::Gt } else { Rel::Ge })
    } else if d.terms().all(|(_, c)| c <= 0) {
        Some(if c0 < 0 { Rel::Lt } else { Rel::Le })
    } else {
        None
    }
}

fn boolean(b: Option<bool>) -> Dim {
    b.map_or(Dim::Unknown, |b| Dim::int(i64::from(b)))
}

fn constant(d: &Dim) -> Option<i128> {
    d.poly().and_then(Poly::as_constant)
}

/// One integer element of the output. `exact`: the tensor is a float tensor
/// holding integers, so only results that are exact integers are kept.
/// `None` only when the arity is wrong; undecidable elements are
/// `Dim::Unknown`.
fn int_op(op: VOp, xs: &[&Dim], exact: bool, fmod: bool) -> Option<Dim> {
    use VOp::*;
    let ok = |r: Result<Dim, crate::poly::Overflow>| r.unwrap_or(Dim::Unknown);
    let cmp = |a: &Dim, b: &Dim, f: fn(Rel) -> Option<bool>| boolean(relation(a, b).and_then(f));
    Some(match (op, xs) {
        (Add | Sum, [first, rest @ ..]) => {
            rest.iter().fold((*first).clone(), |acc, x| ok(acc.add(x)))
        }
        (Mul, [a, b]) => ok(a.mul(b)),
        (Sub, [a, b]) => ok(a.sub(b)),
        (Div, [a, b]) => match (constant(a), constant(b)) {
            (Some(_), Some(0)) => Dim::Unknown,
            (Some(x), Some(y)) if exact && x % y != 0 => Dim::Unknown,
            (Some(x), Some(y)) => x
                .checked_div(y)
                .map_or(Dim::Unknown, |q| Dim::Known(Poly::constant(q))),
            // An integer size over a positive constant: truncation is the
            // floor (sizes are ≥ 0), exact as ⌊a/y⌋.
            (_, Some(y)) if y > 0 && !exact && a.div_exact(b) == Dim::Unknown => ok(a.floor_div(y)),
            _ => a.div_exact(b),
        },
        (Mod, [a, b]) => match (constant(a), constant(b)) {
            (Some(x), Some(y)) => match x.checked_rem(y) {
                Some(r) if !fmod && r != 0 && (r < 0) != (y < 0) => {
                    Dim::Known(Poly::constant(r + y))
                }
                Some(r) => Dim::Known(Poly::constant(r)),
                None => Dim::Unknown,
            },
            // (2*seq) mod 2 = 0: every coefficient divisible.
            (_, Some(y)) if a.poly().and_then(|p| p.div_exact(y)).is_some() => Dim::int(0),
            // A size mod a positive constant: a − y·⌊a/y⌋ (fmod agrees for a ≥ 0).
            (_, Some(y)) if y > 0 && !exact => match a.poly().map(|p| p.rem_floor(y)) {
                Some(Ok(r)) => Dim::Known(r),
                _ => Dim::Unknown,
            },
            _ => Dim::Unknown,
        },
        (Max | Min, [first, rest @ ..]) => rest.iter().fold((*first).clone(), |acc, x| {
            let keep_acc = match relation(&acc, x) {
                Some(Rel::Gt | Rel::Ge | Rel::Eq) => Some(op == Max),
                Some(Rel::Lt | Rel::Le) => Some(op == Min),
                None => None,
            };
            match keep_acc {
                Some(true) => acc,
                Some(false) => (*x).clone(),
                // Unordered sizes: min(a, b) or max(a, b) as an expression.
                None if !exact && op == Min => ok(acc.min(x)),
                None if !exact => ok(acc.max(x)),
                None => Dim::Unknown,
            }
        }),
        (Neg, [a]) => ok(Dim::int(0).sub(a)),
        (Abs, [a]) => match relation(a, &Dim::int(0)) {
            Some(Rel::Gt | Rel::Ge | Rel::Eq) => (*a).clone(),
            Some(Rel::Lt | Rel::Le) => ok(Dim::int(0).sub(a)),
            None => Dim::Unknown,
        },
        (Relu, [a]) => int_op(Max, &[a, &Dim::int(0)], exact, fmod)?,
        (Floor | Ceil | Round, [a]) => (*a).clone(),
        (Sqrt, [_]) => Dim::Unknown,
        (Equal, [a, b]) => cmp(a, b, |r| match r {
            Rel::Eq => Some(true),
            Rel::Lt | Rel::Gt => Some(false),
            Rel::Le | Rel::Ge => None,
        }),
        (Less, [a, b]) => cmp(a, b, |r| match r {
            Rel::Lt => Some(true),
            Rel::Eq | Rel::Ge | Rel::Gt => Some(false),
            Rel::Le => None,
        }),
        (Greater, [a, b]) => cmp(a, b, |r| match r {
            Rel::Gt => Some(true),
            Rel::Eq | Rel::Le | Rel::Lt => Some(false),
            Rel::Ge => None,
        }),
        (LessOrEqual, [a, b]) => cmp(a, b, |r| match r {
            Rel::Lt | Rel::Le | Rel::Eq => Some(true),
            Rel::Gt => Some(false),
            Rel::Ge => None,
        }),
        (GreaterOrEqual, [a, b]) => cmp(a, b, |r| match r {
            Rel::Gt | Rel::Ge | Rel::Eq => Some(true),
            Rel::Lt => Some(false),
            Rel::Le => None,
        }),
        (Not, [a]) => boolean(constant(a).map(|v| v == 0)),
        (And, [a, b]) => match (constant(a), constant(b)) {
            (Some(0), _) | (_, Some(0)) => Dim::int(0),
            (Some(_), Some(_)) => Dim::int(1),
            _ => Dim::Unknown,
        },
        (Or, [a, b]) => match (constant(a), constant(b)) {
            (Some(x), _) | (_, Some(x)) if x != 0 => Dim::int(1),
            (Some(_), Some(_)) => Dim::int(0),
            _ => Dim::Unknown,
        },
        (Xor, [a, b]) => boolean(
            constant(a)
                .zip(constant(b))
                .map(|(x, y)| (x != 0) != (y != 0)),
        ),
        (Where, [c, x, y]) => match constant(c) {
            Some(v) => (if v != 0 { *x } else { *y }).clone(),
            None if x == y => (*x).clone(),
            None => Dim::Unknown,
        },
        (Pow, [a, e]) => match (a.poly(), constant(e)) {
            (Some(p), Some(k)) if (0..=i128::from(crate::poly::MAX_DEGREE)).contains(&k) => {
                p.checked_pow(k as u32).map_or(Dim::Unknown, Dim::Known)
            }
            _ => Dim::Unknown,
        },
        (Sign, [a]) => match relation(a, &Dim::int(0)) {
            Some(Rel::Gt) => Dim::int(1),
            Some(Rel::Eq) => Dim::int(0),
            Some(Rel::Lt) => Dim::int(-1),
            _ => Dim::Unknown,
        },
        _ => return None,
    })
}

/// One float element of the output (booleans as 1.0/0.0). `None` gives up
/// the whole value (an operation with no float meaning, or wrong arity).
fn float_op(op: VOp, xs: &[&f64], fmod: bool, precision: DType) -> Option<f64> {
    use VOp::*;
    let b = |v: bool| if v { 1.0 } else { 0.0 };
    Some(match (op, xs) {
        (Add | Sum, [first, rest @ ..]) => rest
            .iter()
            .try_fold(**first, |acc, x| round_to_dtype(acc + **x, precision))?,
        (Sub, [a, b]) => *a - *b,
        (Mul, [a, b]) => *a * *b,
        (Div, [a, b]) => *a / *b,
        (Mod, [a, b]) => {
            let r = *a % *b;
            if !fmod && r != 0.0 && (r < 0.0) != (**b < 0.0) {
                r + *b
            } else {
                r
            }
        }
        (Max, [first, rest @ ..]) => rest.iter().fold(**first, |acc, x| acc.max(**x)),
        (Min, [first, rest @ ..]) => rest.iter().fold(**first, |acc, x| acc.min(**x)),
        (Neg, [a]) => -*a,
        (Abs, [a]) => a.abs(),
        (Relu, [a]) => a.max(0.0),
        (Floor, [a]) => a.floor(),
        (Ceil, [a]) => a.ceil(),
        (Round, [a]) => a.round_ties_even(),
        (Sqrt, [a]) => a.sqrt(),
        (Reciprocal, [a]) => 1.0 / *a,
        (Exp, [a]) => a.exp(),
        (Log, [a]) => a.ln(),
        (Pow, [a, e]) => a.powf(**e),
        (Sign, [a]) => {
            if **a == 0.0 {
                0.0
            } else {
                a.signum()
            }
        }
        (Sigmoid, [a]) => 1.0 / (1.0 + (-*a).exp()),
        (Tanh, [a]) => a.tanh(),
        (Equal, [x, y]) => b(x == y),
        (Less, [x, y]) => b(x < y),
        (Greater, [x, y]) => b(x > y),
        (LessOrEqual, [x, y]) => b(x <= y),
        (GreaterOrEqual, [x, y]) => b(x >= y),
        (Where, [c, x, y]) => {
            if **c != 0.0 {
                **x
            } else {
                **y
            }
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{AttrValue, Attribute, Node};
    use crate::ops::testing::incomplete;
    use crate::ops::testing::NodeTest;
    use crate::report::NodeStatus;
    use crate::value::ValueFacts;

    fn dtype(r: &crate::ops::testing::Outcome) -> Option<DType> {
        r.node().outputs[0].dtype
    }

    /// numpy's example: [8,1,6,1] + [7,1,5] → 8x7x6x5 = 1680 elements,
    /// one add each.
    #[test]
    fn add_broadcasts_multidirectionally() {
        let r = NodeTest::new("Add")
            .input(&[8, 1, 6, 1])
            .input(&[7, 1, 5])
            .run();
        assert_eq!(r.shape(0), "8x7x6x5");
        assert_eq!(r.flops(), 1680);
        assert_eq!(r.macs(), 0);
        assert_eq!(dtype(&r), Some(DType::F32));
    }

    /// A bias added by Add is a parameter (768 elements); a scalar is a
    /// constant of the formula. FLOPs 2·128·768 = 196,608 either way.
    #[test]
    fn add_bias_is_params_scalar_is_not() {
        let r = NodeTest::new("Add")
            .input(&[2, 128, 768])
            .weight(&[768])
            .run();
        assert_eq!(r.params(), 768);
        assert_eq!(r.flops(), 196_608);
        let s = NodeTest::new("Mul")
            .input(&[2, 128, 768])
            .weight(&[1])
            .run();
        assert_eq!(s.params(), 0);
        assert_eq!(s.flops(), 196_608);
    }

    /// Symbolic batch: [batch, 128, 768] + [768] → 98,304·batch adds.
    #[test]
    fn symbolic_batch_is_kept() {
        let r = NodeTest::new("Div")
            .input_sym(&["batch", "128", "768"])
            .input(&[768])
            .run();
        assert_eq!(r.shape(0), "batchx128x768");
        assert_eq!(r.flops_expr(), "98304*batch");
        // batch against a concrete 4: the known side wins.
        let b = NodeTest::new("Sub")
            .input_sym(&["batch", "3"])
            .input(&[4, 1])
            .run();
        assert_eq!(b.shape(0), "4x3");
        assert_eq!(b.flops(), 12);
    }

    /// Each binary arithmetic op: 1 FLOP per output element of 2x3x4 = 24;
    /// bit operations 0.
    #[test]
    fn binary_table() {
        for (op, per) in [
            ("Add", 1),
            ("Sub", 1),
            ("Mul", 1),
            ("Div", 1),
            ("Pow", 1),
            ("Mod", 1),
        ] {
            let r = NodeTest::new(op).input(&[2, 3, 4]).input(&[3, 1]).run();
            assert_eq!(r.shape(0), "2x3x4", "{op}");
            assert_eq!(r.flops(), per * 24, "{op}");
        }
        for op in ["BitwiseAnd", "BitwiseOr", "BitwiseXor"] {
            let r = NodeTest::new(op)
                .input_dims(crate::shape::shape_of(&[2, 3]), DType::I32)
                .input_dims(crate::shape::shape_of(&[3]), DType::I32)
                .run();
            assert_eq!(r.shape(0), "2x3", "{op}");
            assert_eq!(r.flops(), 0, "{op}");
            assert_eq!(dtype(&r), Some(DType::I32), "{op}");
        }
        let shift = NodeTest::new("BitShift")
            .input_dims(crate::shape::shape_of(&[5]), DType::U8)
            .input_dims(crate::shape::shape_of(&[1]), DType::U8)
            .string("direction", "LEFT")
            .run();
        assert_eq!(shift.flops(), 0);
        assert_eq!(dtype(&shift), Some(DType::U8));
    }

    /// Comparisons: 1 per output element, bool output. [2,3] vs [3] → 6.
    /// Logic: 0 FLOPs, bool.
    #[test]
    fn comparisons_and_logic() {
        for op in ["Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"] {
            let r = NodeTest::new(op).input(&[2, 3]).input(&[3]).run();
            assert_eq!(r.shape(0), "2x3", "{op}");
            assert_eq!(r.flops(), 6, "{op}");
            assert_eq!(dtype(&r), Some(DType::Bool), "{op}");
        }
        for op in ["And", "Or", "Xor"] {
            let b = |t: NodeTest, d: &[i64]| t.input_dims(crate::shape::shape_of(d), DType::Bool);
            let r = b(b(NodeTest::new(op), &[4, 1]), &[5]).run();
            assert_eq!(r.shape(0), "4x5", "{op}");
            assert_eq!(r.flops(), 0, "{op}");
            assert_eq!(dtype(&r), Some(DType::Bool), "{op}");
        }
    }

    /// Sum of 3 inputs broadcasting to 4x5 (20 elements): 2 adds each = 40.
    /// Mean: 2 adds + 1 divide = 60. Max of 2: 1 comparison = 20. A single
    /// input: Sum 0, Mean 20 (the divide by 1).
    #[test]
    fn variadic_counts_k_minus_one() {
        let r = NodeTest::new("Sum")
            .input(&[4, 5])
            .input(&[5])
            .input(&[1])
            .run();
        assert_eq!(r.shape(0), "4x5");
        assert_eq!(r.flops(), 40);
        let m = NodeTest::new("Mean")
            .input(&[4, 5])
            .input(&[5])
            .input(&[1])
            .run();
        assert_eq!(m.flops(), 60);
        let x = NodeTest::new("Max").input(&[4, 1]).input(&[1, 5]).run();
        assert_eq!(x.shape(0), "4x5");
        assert_eq!(x.flops(), 20);
        let n = NodeTest::new("Min")
            .input(&[4, 5])
            .input(&[4, 5])
            .input(&[4, 5])
            .input(&[4, 5])
            .run();
        assert_eq!(n.flops(), 60);
        assert_eq!(NodeTest::new("Sum").input(&[4, 5]).run().flops(), 0);
        assert_eq!(NodeTest::new("Mean").input(&[4, 5]).run().flops(), 20);
    }

    /// Every unary op on 2x3x4 (24 elements): FLOPs = per-element count · 24.
    #[test]
    fn unary_table() {
        let table: &[(&str, i128)] = &[
            ("Neg", 1),
            ("Abs", 1),
            ("Reciprocal", 1),
            ("Sqrt", 1),
            ("Exp", 1),
            ("Log", 1),
            ("Ceil", 1),
            ("Floor", 1),
            ("Round", 1),
            ("Sign", 1),
            ("Sin", 1),
            ("Cos", 1),
            ("Tan", 1),
            ("Asin", 1),
            ("Acos", 1),
            ("Atan", 1),
            ("Sinh", 1),
            ("Cosh", 1),
            ("Asinh", 1),
            ("Acosh", 1),
            ("Atanh", 1),
            ("Erf", 1),
            ("Tanh", 1),
            ("Relu", 1),
            ("LeakyRelu", 2),
            ("ThresholdedRelu", 1),
            ("Elu", 4),
            ("Celu", 5),
            ("Selu", 5),
            ("Sigmoid", 4),
            ("HardSigmoid", 4),
            ("HardSwish", 5),
            ("Swish", 6),
            ("Softplus", 3),
            ("Softsign", 3),
            ("Mish", 5),
            ("Shrink", 3),
            ("Gelu", 5),
        ];
        for &(op, per) in table {
            let r = NodeTest::new(op).input(&[2, 3, 4]).run();
            assert_eq!(r.shape(0), "2x3x4", "{op}");
            assert_eq!(r.flops(), per * 24, "{op}");
            assert_eq!(dtype(&r), Some(DType::F32), "{op}");
        }
        for op in ["IsNaN", "IsInf"] {
            let r = NodeTest::new(op).input(&[2, 3, 4]).run();
            assert_eq!(r.flops(), 24, "{op}");
            assert_eq!(dtype(&r), Some(DType::Bool), "{op}");
        }
        let not = NodeTest::new("Not")
            .input_dims(crate::shape::shape_of(&[7]), DType::Bool)
            .run();
        assert_eq!(not.flops(), 0);
        assert_eq!(dtype(&not), Some(DType::Bool));
        let bnot = NodeTest::new("BitwiseNot")
            .input_dims(crate::shape::shape_of(&[7]), DType::I8)
            .run();
        assert_eq!(bnot.flops(), 0);
    }

    /// GPT-2's MLP activation on [batch, seq, 3072]: tanh form = 9 per
    /// element → 27,648·batch·seq; exact form 5 → 15,360·batch·seq.
    /// Adam on one 2x3 tensor: outputs X, V, H of 2x3, 14·6 = 84 FLOPs.
    /// Gradient(xs = [W, Z], zs = [X]) with W [4, 3], Z [3], X [2, 4]: the
    /// outputs dY/dW [4, 3] and dY/dZ [3]; the node is reported as not
    /// counted (the backward pass is not in the node), never as 0 FLOPs.
    #[test]
    fn gradient_shapes_without_a_cost() {
        let names = |v: &[&str]| {
            AttrValue::Strings(
                v.iter()
                    .map(|s| bytes::Bytes::from(s.to_string()))
                    .collect(),
            )
        };
        let r = NodeTest::new("Gradient")
            .domain("ai.onnx.preview.training")
            .input(&[4, 3])
            .input(&[3])
            .input(&[2, 4])
            .attr("xs", names(&["W", "Z"]))
            .attr("zs", names(&["X"]))
            .string("y", "Y")
            .run_outputs(2);
        assert_eq!((r.shape(0), r.shape(1)), ("4x3".into(), "3".into()));
        assert!(
            matches!(r.status(), NodeStatus::Incomplete { reason: m, .. } if m.contains("backward pass"))
        );
        assert_eq!(r.node().flops().cloned(), None);
        let no_xs = NodeTest::new("Gradient")
            .domain("ai.onnx.preview.training")
            .input(&[4, 3])
            .run();
        assert!(
            matches!(no_xs.status(), NodeStatus::Incomplete { reason: m, .. } if m.contains("'xs'"))
        );
    }

    #[test]
    fn optimizers() {
        let r = NodeTest::new("Adam")
            .domain("ai.onnx.preview.training")
            .opset(1)
            .input(&[])
            .input(&[])
            .input(&[2, 3])
            .input(&[2, 3])
            .input(&[2, 3])
            .input(&[2, 3])
            .run_outputs(3);
        assert_eq!(r.shape(0), "2x3");
        assert_eq!(r.shape(2), "2x3");
        assert_eq!(r.flops(), 84);
        let s = NodeTest::new("StringConcat")
            .input(&[2, 3])
            .input(&[3])
            .run();
        assert_eq!(s.shape(0), "2x3");
    }

    /// SwiGLU of two 2x3x4 tensors: 7·24 = 168; different shapes are invalid.
    #[test]
    fn swiglu() {
        let r = NodeTest::new("SwiGLU")
            .input(&[2, 3, 4])
            .input(&[2, 3, 4])
            .run();
        assert_eq!(r.shape(0), "2x3x4");
        assert_eq!(r.flops(), 168);
        let bad = NodeTest::new("SwiGLU")
            .input(&[2, 3, 4])
            .input(&[1, 3, 4])
            .run();
        assert!(
            matches!(bad.status(), NodeStatus::Incomplete { reason: m, .. } if m.contains("same shape"))
        );
    }

    #[test]
    fn gelu_variants() {
        let t = NodeTest::new("Gelu")
            .opset(20)
            .input_sym(&["batch", "seq", "3072"])
            .string("approximate", "tanh")
            .run();
        assert_eq!(t.flops_expr(), "27648*batch*seq");
        let n = NodeTest::new("Gelu")
            .opset(20)
            .input_sym(&["batch", "seq", "3072"])
            .string("approximate", "none")
            .run();
        assert_eq!(n.flops_expr(), "15360*batch*seq");
        let bad = NodeTest::new("Gelu")
            .opset(20)
            .input(&[4])
            .string("approximate", "erf")
            .run();
        assert!(incomplete(&bad, "approximate"));
    }

    /// Clip on 1x16 (16 elements). Opset 6: bounds are attributes; one
    /// comparison per bound present. Opset 13: bounds are optional inputs
    /// (Config: never parameters).
    #[test]
    fn clip_counts_bounds_present() {
        let both = NodeTest::new("Clip")
            .opset(6)
            .input(&[1, 16])
            .float("min", 0.0)
            .float("max", 6.0)
            .run();
        assert_eq!(both.flops(), 32);
        let min_only = NodeTest::new("Clip")
            .opset(6)
            .input(&[1, 16])
            .float("min", 0.0)
            .run();
        assert_eq!(min_only.flops(), 16);
        let none = NodeTest::new("Clip").opset(6).input(&[1, 16]).run();
        assert_eq!(none.flops(), 0);
        let relu6 = NodeTest::new("Clip")
            .opset(13)
            .input(&[1, 16])
            .floats(&[], &[0.0])
            .floats(&[], &[6.0])
            .run();
        assert_eq!(relu6.shape(0), "1x16");
        assert_eq!(relu6.flops(), 32);
        assert_eq!(relu6.params(), 0);
        let max_only = NodeTest::new("Clip")
            .opset(13)
            .input(&[1, 16])
            .none()
            .floats(&[], &[6.0])
            .run();
        assert_eq!(max_only.flops(), 16);
        let bad = NodeTest::new("Clip")
            .opset(13)
            .input(&[1, 16])
            .floats(&[2], &[0.0, 1.0])
            .run();
        assert!(incomplete(&bad, "scalar"));
    }

    /// PRelu on 1x64x56x56 with a per-channel slope [64,1,1]: 64 params,
    /// 2 FLOPs per element · 200,704 = 401,408.
    #[test]
    fn prelu_slope_is_weight() {
        let r = NodeTest::new("PRelu")
            .input(&[1, 64, 56, 56])
            .weight(&[64, 1, 1])
            .run();
        assert_eq!(r.shape(0), "1x64x56x56");
        assert_eq!(r.params(), 64);
        assert_eq!(r.flops(), 401_408);
        // Even a single shared slope is learned: a Weight, 1 param.
        let shared = NodeTest::new("PRelu")
            .input(&[1, 64, 56, 56])
            .weight(&[1])
            .run();
        assert_eq!(shared.params(), 1);
        // Opset 6: a [64] slope is per channel (legacy), not numpy-aligned.
        let legacy = NodeTest::new("PRelu")
            .opset(6)
            .input(&[1, 64, 56, 56])
            .weight(&[64])
            .run();
        assert_eq!(legacy.flops(), 401_408);
        let bad = NodeTest::new("PRelu")
            .input(&[1, 64, 56, 56])
            .weight(&[64])
            .run();
        assert!(incomplete(&bad, "broadcast"));
        let widen = NodeTest::new("PRelu")
            .input(&[1, 64, 1, 1])
            .weight(&[64, 2, 1])
            .run();
        assert!(incomplete(&widen, "does not broadcast"));
    }

    /// Where: cond [2,1], X [1,3], Y [3] → 2x3, 0 FLOPs, X's dtype.
    #[test]
    fn where_broadcasts_three_ways() {
        let r = NodeTest::new("Where")
            .input_dims(crate::shape::shape_of(&[2, 1]), DType::Bool)
            .input_dims(crate::shape::shape_of(&[1, 3]), DType::I64)
            .input_dims(crate::shape::shape_of(&[3]), DType::I64)
            .run();
        assert_eq!(r.shape(0), "2x3");
        assert_eq!(r.flops(), 0);
        assert_eq!(dtype(&r), Some(DType::I64));
    }

    /// Opset 6 legacy broadcasting: B [3,4] at axis 1 of A [2,3,4,5] →
    /// 2x3x4x5 = 120 adds (numpy alignment would fail: 4 vs 5). Without
    /// `axis`, B [5] aligns at the end.
    #[test]
    fn legacy_broadcast_with_axis() {
        let r = NodeTest::new("Add")
            .opset(6)
            .input(&[2, 3, 4, 5])
            .input(&[3, 4])
            .int("broadcast", 1)
            .int("axis", 1)
            .run();
        assert_eq!(r.shape(0), "2x3x4x5");
        assert_eq!(r.flops(), 120);
        let tail = NodeTest::new("Mul")
            .opset(6)
            .input(&[2, 3, 4, 5])
            .input(&[5])
            .int("broadcast", 1)
            .run();
        assert_eq!(tail.flops(), 120);
        let bad_axis = NodeTest::new("Add")
            .opset(6)
            .input(&[2, 3])
            .input(&[3])
            .int("broadcast", 1)
            .int("axis", 2)
            .run();
        assert!(incomplete(&bad_axis, "axis"));
        let numpy = NodeTest::new("Add")
            .opset(7)
            .input(&[2, 3, 4, 5])
            .input(&[3, 4])
            .int("axis", 1)
            .run();
        assert!(incomplete(&numpy, "broadcast"));
    }

    /// Input roles: a binary operator's are Operands (counted as Data, the
    /// engine's >1-element float rule), Where's Data, Clip's bounds Config,
    /// PRelu's slope Weight. `ai.onnx` is the default domain.
    #[test]
    fn roles_and_domain() {
        let role = |op: &str, i: usize| crate::ops::lookup("", op).map(|d| d.role(i));
        assert_eq!(role("Add", 1), Some(Role::Operand));
        assert_eq!(role("Less", 0), Some(Role::Operand));
        assert_eq!(role("Where", 2), Some(Role::Data));
        assert_eq!(role("Clip", 1), Some(Role::Config));
        assert_eq!(role("Clip", 2), Some(Role::Config));
        assert_eq!(role("PRelu", 1), Some(Role::Weight));
        let r = NodeTest::new("Relu").domain("ai.onnx").input(&[3, 4]).run();
        assert_eq!(r.flops(), 12);
    }

    #[test]
    fn errors_are_reported_not_panics() {
        let r = NodeTest::new("Add").input(&[3]).input(&[4]).run();
        assert!(incomplete(&r, "do not broadcast"));
        let unknown = NodeTest::new("Mul").input_unknown().input(&[4]).run();
        assert!(incomplete(&unknown, "in0"));
        // An unknown dimension: shape inferred as far as possible, cost
        // incomplete naming the input.
        let dim = NodeTest::new("Add")
            .input_dims(vec![Dim::Unknown, Dim::int(3)], DType::F32)
            .input(&[3])
            .run();
        assert!(incomplete(&dim, "in0"));
        assert_eq!(dim.shape(0), "?x3");
        // ... but a 0-FLOP op is still fully counted.
        let and = NodeTest::new("And")
            .input_dims(vec![Dim::Unknown], DType::Bool)
            .input_dims(vec![Dim::int(1)], DType::Bool)
            .run();
        assert_eq!(and.flops(), 0);
        let shift = NodeTest::new("BitShift").input(&[2]).input(&[2]).run();
        assert!(incomplete(&shift, "direction"));
        let shift = NodeTest::new("BitShift")
            .input(&[2])
            .input(&[2])
            .string("direction", "UP")
            .run();
        assert!(incomplete(&shift, "direction"));
        let missing = NodeTest::new("Add").input(&[2]).run();
        assert!(matches!(missing.status(), NodeStatus::Incomplete { .. }));
        let mean = NodeTest::new("Mean").run();
        assert!(incomplete(&mean, "at least one input"));
    }

    // ----- value propagation ------------------------------------------

    fn sym_ints(elems: Vec<Dim>, dtype: DType) -> ValueFacts {
        ValueFacts {
            dtype: Some(dtype),
            shape: Some(vec![Dim::int(elems.len() as i64)].into()),
            value: Some(ConstValue::Ints(elems)),
            sequence: None,
            pattern: None,
        }
    }

    fn ints(v: &[i64]) -> ValueFacts {
        sym_ints(v.iter().map(|&x| Dim::int(x)).collect(), DType::I64)
    }

    fn floats(v: &[f64]) -> ValueFacts {
        ValueFacts {
            dtype: Some(DType::F32),
            shape: Some(vec![Dim::int(v.len() as i64)].into()),
            value: Some(ConstValue::Floats(v.to_vec())),
            sequence: None,
            pattern: None,
        }
    }

    fn scalar(v: i64) -> ValueFacts {
        ValueFacts {
            dtype: Some(DType::I64),
            shape: Some(Vec::new().into()),
            value: Some(ConstValue::Ints(vec![Dim::int(v)])),
            sequence: None,
            pattern: None,
        }
    }

    fn batch() -> Dim {
        Dim::sym("batch")
    }

    /// Runs one rule directly on given facts; returns output 0's facts.
    fn eval(op: &str, inputs: &[ValueFacts], attrs: &[(&str, AttrValue)]) -> ValueFacts {
        let node = Node {
            op_type: op.into(),
            inputs: vec![Some(0); inputs.len()].into(),
            outputs: vec![Some(0)].into(),
            attributes: attrs
                .iter()
                .map(|(n, v)| Attribute {
                    name: (*n).into(),
                    value: v.clone(),
                })
                .collect(),
            ..Node::default()
        };
        let mut ctx = NodeCtx::new(
            &node,
            17,
            inputs.iter().map(Some).collect(),
            vec!["x"; inputs.len()],
        );
        let def = crate::ops::lookup("", op).expect("registered");
        (def.rule)(&mut ctx).expect("rule succeeds");
        ctx.outputs[0].clone()
    }

    fn value(op: &str, inputs: &[ValueFacts]) -> Option<ConstValue> {
        eval(op, inputs, &[]).value
    }

    fn dims(v: Option<ConstValue>) -> Vec<String> {
        match v {
            Some(ConstValue::Ints(d)) => d.iter().map(|d| d.to_string()).collect(),
            other => panic!("expected integer value, got {other:?}"),
        }
    }

    /// Shape → arithmetic: [batch, 3] + [0, 1] = [batch, 4];
    /// [batch, 3]·2 = [2*batch, 6]; [2*batch, 6] / 2 = [batch, 3];
    /// [batch, 3] − [1, 3] = [batch − 1, 0].
    #[test]
    fn symbolic_shape_arithmetic() {
        let shape = sym_ints(vec![batch(), Dim::int(3)], DType::I64);
        assert_eq!(
            dims(value("Add", &[shape.clone(), ints(&[0, 1])])),
            ["batch", "4"]
        );
        let doubled = value("Mul", &[shape.clone(), scalar(2)]);
        assert_eq!(dims(doubled.clone()), ["2*batch", "6"]);
        let doubled = sym_ints(
            doubled
                .and_then(|v| v.as_ints().map(<[Dim]>::to_vec))
                .unwrap_or_default(),
            DType::I64,
        );
        assert_eq!(dims(value("Div", &[doubled, scalar(2)])), ["batch", "3"]);
        assert_eq!(
            dims(value("Sub", &[shape.clone(), ints(&[1, 3])])),
            ["(batch - 1)", "0"]
        );
        assert_eq!(
            dims(value("Neg", std::slice::from_ref(&shape))),
            ["-batch", "-3"]
        );
        assert_eq!(
            dims(value("Abs", std::slice::from_ref(&shape))),
            ["batch", "3"]
        );
        // Integer division of a size: ⌊batch/2⌋, exact for every batch.
        assert_eq!(
            dims(value("Div", &[shape.clone(), scalar(2)])),
            ["floor(batch/2)", "1"]
        );
        assert_eq!(
            dims(value("Mod", &[shape.clone(), scalar(2)])),
            ["(batch - 2*floor(batch/2))", "1"]
        );
        // Sum of three [batch,3] + [batch,3] + [0,1] = [2*batch, 7].
        assert_eq!(
            dims(value("Sum", &[shape.clone(), shape, ints(&[0, 1])])),
            ["2*batch", "7"]
        );
    }

    /// Integer Div truncates toward zero; Mod follows the divisor's sign
    /// unless fmod=1; division by zero gives up that element.
    #[test]
    fn integer_division_and_mod() {
        assert_eq!(
            dims(value("Div", &[ints(&[7, -7, 6, 5]), ints(&[2, 2, -4, 0])])),
            ["3", "-3", "-1", "?"]
        );
        assert_eq!(
            dims(value("Mod", &[ints(&[-7, 7, 6]), ints(&[2, -2, 3])])),
            ["1", "-1", "0"]
        );
        let f = eval(
            "Mod",
            &[ints(&[-7, 7]), ints(&[2, -2])],
            &[("fmod", AttrValue::Int(1))],
        );
        assert_eq!(dims(f.value), ["-1", "1"]);
        let seq2 = sym_ints(vec![Dim::sym("seq").mul(&Dim::int(2)).unwrap()], DType::I64);
        assert_eq!(dims(value("Mod", &[seq2, scalar(2)])), ["0"]);
    }

    /// Comparisons of symbols decide only what holds for every dim ≥ 0:
    /// batch = −1 is false (batch + 1 > 0), batch = batch is true,
    /// batch < seq is undecidable.
    #[test]
    fn symbolic_comparisons() {
        let shape = sym_ints(vec![batch(), Dim::int(3)], DType::I64);
        let eq = eval("Equal", &[shape.clone(), ints(&[-1, -1])], &[]);
        assert_eq!(eq.dtype, Some(DType::Bool));
        assert_eq!(dims(eq.value), ["0", "0"]);
        assert_eq!(
            dims(value(
                "Equal",
                &[
                    shape.clone(),
                    sym_ints(vec![batch(), Dim::int(4)], DType::I64)
                ]
            )),
            ["1", "0"]
        );
        let seq = sym_ints(vec![Dim::sym("seq"), Dim::int(3)], DType::I64);
        assert_eq!(
            dims(value("Less", &[shape.clone(), seq.clone()])),
            ["?", "0"]
        );
        assert_eq!(
            dims(value("Greater", &[shape.clone(), ints(&[-1, 2])])),
            ["1", "1"]
        );
        // batch ≥ 0 is known, batch > 0 is not (batch may be 0).
        assert_eq!(
            dims(value("GreaterOrEqual", &[shape.clone(), ints(&[0, 0])])),
            ["1", "1"]
        );
        assert_eq!(
            dims(value("Greater", &[shape.clone(), ints(&[0, 0])])),
            ["?", "1"]
        );
        assert_eq!(
            dims(value("LessOrEqual", &[shape.clone(), ints(&[0, 3])])),
            ["?", "1"]
        );
        // Max(batch, 1) stays an expression; Max(batch + 1, 1) = batch + 1.
        assert_eq!(
            dims(value("Max", &[shape.clone(), ints(&[1, 1])])),
            ["max(batch, 1)", "3"]
        );
        let b1 = sym_ints(vec![batch().add(&Dim::int(1)).unwrap()], DType::I64);
        assert_eq!(
            dims(value("Max", &[b1.clone(), ints(&[1])])),
            ["(batch + 1)"]
        );
        assert_eq!(dims(value("Min", &[b1, ints(&[1])])), ["1"]);
    }

    /// The exporters' `Reshape(x, Where(Equal(s, 0), Shape(x), s))` idiom:
    /// Where(cond=[1, 0], [batch, 3], [7, 8]) = [batch, 8].
    #[test]
    fn where_and_logic_values() {
        let cond = sym_ints(vec![Dim::int(1), Dim::int(0)], DType::Bool);
        let shape = sym_ints(vec![batch(), Dim::int(3)], DType::I64);
        let w = eval("Where", &[cond, shape, ints(&[7, 8])], &[]);
        assert_eq!(w.dtype, Some(DType::I64));
        assert_eq!(dims(w.value), ["batch", "8"]);
        let t = sym_ints(vec![Dim::int(1), Dim::int(0), Dim::Unknown], DType::Bool);
        let f = sym_ints(vec![Dim::int(0), Dim::int(0), Dim::int(0)], DType::Bool);
        assert_eq!(
            dims(value("Not", std::slice::from_ref(&t))),
            ["0", "1", "?"]
        );
        assert_eq!(dims(value("And", &[t.clone(), f.clone()])), ["0", "0", "0"]);
        assert_eq!(dims(value("Or", &[t.clone(), f.clone()])), ["1", "0", "?"]);
        assert_eq!(dims(value("Xor", &[t, f])), ["1", "0", "?"]);
    }

    /// Resize's size computation: Cast(Shape)=[1, 3, 224, 224] as floats
    /// times scales [1, 1, 1.5, 0.5] = [1, 3, 336, 112], Floor keeps them;
    /// Floor([2.5, −2.5]) = [2, −3]. Float32 rounding as the runtime:
    /// 0.1f32·3 is 0.3000000119…, not 0.30000000447….
    #[test]
    fn float_values() {
        let size = floats(&[1.0, 3.0, 224.0, 224.0]);
        let scales = floats(&[1.0, 1.0, 1.5, 0.5]);
        let v = value("Mul", &[size, scales]);
        assert_eq!(v, Some(ConstValue::Floats(vec![1.0, 3.0, 336.0, 112.0])));
        assert_eq!(
            value("Floor", &[floats(&[2.5, -2.5])]),
            Some(ConstValue::Floats(vec![2.0, -3.0]))
        );
        assert_eq!(
            value("Ceil", &[floats(&[2.5, -2.5])]),
            Some(ConstValue::Floats(vec![3.0, -2.0]))
        );
        assert_eq!(
            value("Sqrt", &[floats(&[16.0])]),
            Some(ConstValue::Floats(vec![4.0]))
        );
        let tenth = f64::from(0.1f32);
        let p = value("Mul", &[floats(&[tenth]), floats(&[3.0])]);
        assert_eq!(
            p,
            Some(ConstValue::Floats(vec![f64::from(0.1f32 * 3.0f32)]))
        );
        assert_ne!(f64::from(0.1f32 * 3.0f32), tenth * 3.0);
        // Float comparisons give booleans.
        let lt = eval("Less", &[floats(&[1.0, 2.0]), floats(&[1.5, 1.5])], &[]);
        assert_eq!(lt.dtype, Some(DType::Bool));
        assert_eq!(dims(lt.value), ["1", "0"]);
        // Float Div does not truncate.
        assert_eq!(
            value("Div", &[floats(&[7.0]), floats(&[2.0])]),
            Some(ConstValue::Floats(vec![3.5]))
        );
    }

    /// A trip count worked by hand: (5.0 − 1.0)/1.5 = 2.666…, Ceil 3, Relu
    /// 3; Relu(−2) = 0; Max/Min of floats. In float16 the quotient 4/1.5 is
    /// rounded to 10 significand bits: 1.0101010101₂·2¹ = 2.666015625; the
    /// float16 sum 2048 + 1 ties to even, 2048. Relu of integers, symbolic
    /// too: Relu(batch) = batch, Relu(−3) = 0.
    #[test]
    fn float_trip_count_values() {
        let d = value("Sub", &[floats(&[5.0]), floats(&[1.0])]);
        assert_eq!(d, Some(ConstValue::Floats(vec![4.0])));
        let q = value("Div", &[floats(&[4.0]), floats(&[1.5])]);
        assert_eq!(q, Some(ConstValue::Floats(vec![f64::from(4.0f32 / 1.5)])));
        let c = value("Ceil", &[floats(&[f64::from(4.0f32 / 1.5)])]);
        assert_eq!(c, Some(ConstValue::Floats(vec![3.0])));
        assert_eq!(
            value("Relu", &[floats(&[3.0, -2.0, 0.5])]),
            Some(ConstValue::Floats(vec![3.0, 0.0, 0.5]))
        );
        assert_eq!(
            value("Max", &[floats(&[-1.5, 2.0]), floats(&[0.0, 0.0])]),
            Some(ConstValue::Floats(vec![0.0, 2.0]))
        );
        assert_eq!(
            value("Min", &[floats(&[-1.5, 2.0]), floats(&[0.0, 0.0])]),
            Some(ConstValue::Floats(vec![-1.5, 0.0]))
        );
        let half = |v: &[f64]| ValueFacts {
            dtype: Some(DType::F16),
            ..floats(v)
        };
        assert_eq!(
            value("Div", &[half(&[4.0]), half(&[1.5])]),
            Some(ConstValue::Floats(vec![2.666015625]))
        );
        assert_eq!(
            value("Add", &[half(&[2048.0]), half(&[1.0])]),
            Some(ConstValue::Floats(vec![2048.0]))
        );
        let r = value("Relu", &[sym_ints(vec![batch(), Dim::int(-3)], DType::I64)]);
        assert_eq!(dims(r), ["batch", "0"]);
    }

    /// NaN and ±∞ results are not tracked: 1/0, 0/0, √−1, and a float16
    /// overflow (300·300 = 90000 > 65504). Comparisons still give booleans.
    #[test]
    fn non_finite_results_are_unknown() {
        assert_eq!(value("Div", &[floats(&[1.0]), floats(&[0.0])]), None);
        assert_eq!(value("Div", &[floats(&[0.0]), floats(&[0.0])]), None);
        assert_eq!(value("Sqrt", &[floats(&[-1.0])]), None);
        let half = ValueFacts {
            dtype: Some(DType::F16),
            ..floats(&[300.0])
        };
        assert_eq!(value("Mul", &[half.clone(), half]), None);
        let eq = value("Equal", &[floats(&[1.0]), floats(&[1.0])]);
        assert_eq!(dims(eq), ["1"]);
    }

    /// An integer-valued float tensor with symbols (Cast of [batch, 224]):
    /// times an integral scale 2.0 stays exact → [2*batch, 448]; Floor of
    /// that is itself; times 1.5 is not an integer → no value.
    #[test]
    fn symbolic_floats_stay_exact() {
        let size = sym_ints(vec![batch(), Dim::int(224)], DType::F32);
        let up = value("Mul", &[size.clone(), floats(&[2.0, 2.0])]);
        assert_eq!(dims(up.clone()), ["2*batch", "448"]);
        let up = sym_ints(
            up.and_then(|v| v.as_ints().map(<[Dim]>::to_vec))
                .unwrap_or_default(),
            DType::F32,
        );
        assert_eq!(dims(value("Floor", &[up])), ["2*batch", "448"]);
        assert_eq!(value("Mul", &[size.clone(), floats(&[1.5, 1.5])]), None);
        // Exact division only: 224 / 3 is not an integer.
        assert_eq!(
            dims(value("Div", &[size, floats(&[1.0, 3.0])])),
            ["batch", "?"]
        );
    }

    /// Values broadcast by shape: [[1],[2]] (2x1) + [10, 20, 30] → 2x3.
    #[test]
    fn values_broadcast_by_shape() {
        let col = ValueFacts {
            dtype: Some(DType::I64),
            shape: Some(crate::shape::shape_of(&[2, 1]).into()),
            value: Some(ConstValue::Ints(vec![Dim::int(1), Dim::int(2)])),
            sequence: None,
            pattern: None,
        };
        let out = eval("Add", &[col, ints(&[10, 20, 30])], &[]);
        assert_eq!(
            crate::shape::format_shape(out.shape.as_deref().unwrap_or(&[])),
            "2x3"
        );
        assert_eq!(dims(out.value), ["11", "21", "31", "12", "22", "32"]);
        assert_eq!(
            broadcast_elements(&[1, 2, 3], &[3], &[2, 0, 3]),
            Some(vec![])
        );
        assert_eq!(broadcast_elements(&[1, 2], &[3], &[3]), None);
        assert_eq!(broadcast_elements(&[1, 2, 3], &[3], &[4]), None);
    }

    /// No value when an input's is unknown or the output is too large.
    #[test]
    fn values_only_when_small_and_known() {
        let unknown = ValueFacts::new(Some(DType::I64), Some(crate::shape::shape_of(&[2])));
        assert_eq!(value("Add", &[unknown, ints(&[1, 2])]), None);
        let big = ValueFacts {
            dtype: Some(DType::I64),
            shape: Some(crate::shape::shape_of(&[5000]).into()),
            value: None,
            sequence: None,
            pattern: None,
        };
        assert_eq!(value("Add", &[big, scalar(1)]), None);
        // Not a value-propagating op.
        assert_eq!(value("Erf", &[floats(&[0.0])]), None);
    }
}
