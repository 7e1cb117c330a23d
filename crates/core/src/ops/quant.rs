//! Quantized and integer operators: `QuantizeLinear`, `DequantizeLinear`,
//! `DynamicQuantizeLinear`, `MatMulInteger`, `ConvInteger`,
//! `QLinearMatMul`, `QLinearConv`, and the onnxruntime `QLinear*`
//! operators (domain `com.microsoft`) that quantizing exporters emit.
//!
//! The multiply–accumulates of the integer products are MACs like any
//! other; their integer additions and multiplications are integer
//! operations ([`NodeCtx::add_int_ops`]), counted like FLOPs (`2·MACs −
//! outputs`, `+ outputs` for an integer bias) but never added to FLOPs.
//! FLOPs are the float work around them: dequantizing `(x − zp)·scale` = 2
//! per element (1 without a zero point), quantizing `saturate(round(x /
//! scale) + zp)` = 5 per element (divide, round, add, 2 comparisons; 4
//! without a zero point), and requantizing an integer accumulator = 5 per
//! output (multiply by the combined scale, round, add, 2 comparisons).
//! Zero-point corrections inside integer products are folded into the
//! kernels (row and column sums) and not counted.

use super::contrib::{dot_flops, matmul_geometry};
use super::tensor::dtype_from_onnx_code;
use super::window::{kernel_shape, Window};
use super::{product, NodeCtx, OpDef, OpError, Role, RuleResult};
use crate::graph::DType;
use crate::poly::Poly;
use crate::shape::{self, format_shape, Dim, Shape};

const D: Role = Role::Data;
const W: Role = Role::Weight;
const C: Role = Role::Config;
const MS: &str = "com.microsoft";

/// onnxruntime's DynamicQuantizeLSTM: an LSTM whose W `[D, I, 4H]` and R
/// `[D, H, 4H]` are int8 (stored transposed against LSTM's), X and H
/// quantized at each step. Shapes as LSTM (`hidden_size` is required: R's
/// last dim is 4H here). Each step's two products are integer: MACs
/// `4H·(I + H)` and `4H·(2(I + H) − 2)` integer ops; in floats, each of the
/// two `4H` results is dequantized (`2·4H`), they are summed (`4H`), the
/// bias added (`4H`) and the gates applied (`18H`, `24H` with peepholes).
/// Finding each step's quantization scale of X and H is not counted.
fn dynamic_quantize_lstm(ctx: &mut NodeCtx) -> RuleResult {
    if ctx.attr("hidden_size").is_none() {
        return Err(OpError::Invalid(
            "DynamicQuantizeLSTM needs the 'hidden_size' attribute".into(),
        ));
    }
    let r = super::matmul::recurrent_shapes(ctx, 4)?;
    let macs = r.macs()?;
    let int_ops = macs
        .checked_scale(2)?
        .checked_sub(&r.steps.checked_mul(&r.gh.checked_scale(2)?)?)?;
    let bias = if ctx.has_input(3) {
        r.gh.clone()
    } else {
        Poly::ZERO
    };
    let per_step =
        r.gh.checked_scale(3)?
            .checked_add(&bias)?
            .checked_add(&r.gate_flops(ctx)?)?;
    ctx.add_macs(&macs)?;
    ctx.add_int_ops(&int_ops)?;
    ctx.add_flops(&r.steps.checked_mul(&per_step)?)
}

/// Requantizing one output: multiply, round, add zero point, 2 clamps.
const REQUANT: i128 = 5;
/// Dequantizing one element with a zero point: subtract, multiply.
const DEQUANT: i128 = 2;

pub const OPS: &[OpDef] = &[
    OpDef {
        op_type: "DynamicQuantizeLSTM",
        domain: MS,
        rule: dynamic_quantize_lstm,
        // X, W, R, B, sequence_lens, initial_h, initial_c, P, then the
        // scales and zero points of W and R.
        roles: &[D, W, W, W, C, D, D, W, C, C, C, C],
        cost_doc: "LSTM with int8 W [D, I, 4H] and R [D, H, 4H]: MACs = T·D·B·4H·(I + H) (integer); \
                   int ops = T·D·B·4H·(2(I + H) − 2); FLOPs = T·D·B·(8H dequantize + 4H sum + 4H bias + 18H gates, 24H with peepholes); \
                   the per-step dynamic quantization of X and H is not counted",
    },
    OpDef {
        op_type: "QuantizeLinear",
        domain: "",
        rule: quantize_linear,
        roles: &[D, C, C],
        cost_doc: "FLOPs = 5 per element with a zero point (divide, round, add, 2 clamps), 4 without",
    },
    OpDef {
        op_type: "DequantizeLinear",
        domain: "",
        rule: dequantize_linear,
        roles: &[W, C, C],
        cost_doc: "FLOPs = 2 per element with a zero point ((x − zp)·scale), 1 without; an initializer input is a weight",
    },
    OpDef {
        op_type: "DynamicQuantizeLinear",
        domain: "",
        rule: dynamic_quantize_linear,
        roles: &[],
        cost_doc: "FLOPs = 7n + 7: min and max 2(n − 1), scale and zero point 9, quantize 5n",
    },
    OpDef {
        op_type: "MatMulInteger",
        domain: "",
        rule: matmul_integer,
        roles: &[D, W, C, C],
        cost_doc: "MACs = ∏batch·M·N·K (integer); int ops = ∏batch·M·N·(2K − 1); FLOPs 0",
    },
    OpDef {
        op_type: "ConvInteger",
        domain: "",
        rule: conv_integer,
        roles: &[D, W, C, C],
        cost_doc: "MACs as Conv (integer); int ops = 2·MACs − outputs; FLOPs 0",
    },
    OpDef {
        op_type: "QLinearMatMul",
        domain: "",
        rule: qlinear_matmul,
        roles: &[D, C, C, W, C, C, C, C],
        cost_doc: "MACs = ∏batch·M·N·K (integer); int ops = ∏batch·M·N·(2K − 1); FLOPs = 5 per output (requantize)",
    },
    OpDef {
        op_type: "QLinearConv",
        domain: "",
        rule: qlinear_conv,
        roles: &[D, C, C, W, C, C, C, C, W],
        cost_doc: "MACs as Conv (integer); int ops = 2·MACs − outputs (+ outputs with bias); FLOPs = 5 per output (requantize)",
    },
    OpDef {
        op_type: "QuantizeLinear",
        domain: MS,
        rule: quantize_linear,
        roles: &[D, C, C],
        cost_doc: "as ai.onnx QuantizeLinear: 5 FLOPs per element with a zero point, 4 without",
    },
    OpDef {
        op_type: "DequantizeLinear",
        domain: MS,
        rule: dequantize_linear,
        roles: &[W, C, C],
        cost_doc: "as ai.onnx DequantizeLinear: 2 FLOPs per element with a zero point, 1 without",
    },
    OpDef {
        op_type: "MatMulIntegerToFloat",
        domain: MS,
        rule: matmul_integer_to_float,
        roles: &[D, W, C, C, C, C, W],
        cost_doc: "MACs = ∏batch·M·N·K (integer); int ops = ∏batch·M·N·(2K − 1); FLOPs = 1 per output (scale), + 1 with bias",
    },
    OpDef {
        op_type: "DynamicQuantizeMatMul",
        domain: MS,
        rule: dynamic_quantize_matmul,
        roles: &[D, W, C, C, W],
        cost_doc: "DynamicQuantizeLinear of A (7·numel(A) + 7), then as MatMulIntegerToFloat",
    },
    OpDef {
        op_type: "QGemm",
        domain: MS,
        rule: qgemm,
        roles: &[D, C, C, W, C, C, W, C, C],
        cost_doc: "MACs = M·N·K (integer); int ops = M·N·(2K − 1) (+ M·N int32 bias); \
                   FLOPs = 5 per output when requantized (y_scale), else 1 (scale to float)",
    },
    OpDef {
        op_type: "QLinearConv",
        domain: MS,
        rule: qlinear_conv,
        roles: &[D, C, C, W, C, C, C, C, W],
        cost_doc: "as ai.onnx QLinearConv; channels_last = 1 reads and writes [N, spatial…, C]",
    },
    OpDef {
        op_type: "QLinearSoftmax",
        domain: MS,
        rule: qlinear_softmax,
        roles: &[D, C, C, C, C],
        cost_doc: "FLOPs = rows·(12n − 2): dequantize 2n (n without x_zero_point), Softmax 5n − 2, requantize 5n",
    },
    OpDef {
        op_type: "QLinearReduceMean",
        domain: MS,
        rule: qlinear_reduce_mean,
        roles: &[D, C, C, C, C],
        cost_doc: "FLOPs = 2 per input element (dequantize; 1 without zero point) + n per output (n − 1 adds, 1 divide) + 5 per output (requantize)",
    },
    OpDef {
        op_type: "QLinearWhere",
        domain: MS,
        rule: qlinear_where,
        roles: &[D, D, C, C, D, C, C, C, C],
        cost_doc: "FLOPs = 7 per output element: the chosen operand dequantized (2) and requantized (5)",
    },
    OpDef {
        op_type: "GatherBlockQuantized",
        domain: MS,
        rule: gather_block_quantized,
        roles: &[Role::Packed, D, C, C],
        cost_doc: "FLOPs = 2 per output element ((q − zp)·scale; 1 for FP8/FP4 and int4 without zero points); \
                   params: the table's logical elements (bits-packed uint8 unpacked), bytes as stored",
    },
    OpDef {
        op_type: "QLinearAdd",
        domain: MS,
        rule: qlinear_add,
        roles: &[D, C, C, D, C, C, C, C],
        cost_doc: "FLOPs = 10 per output element (dequantize 2 + 2, add, requantize 5)",
    },
    OpDef {
        op_type: "QLinearMul",
        domain: MS,
        rule: qlinear_mul,
        roles: &[D, C, C, D, C, C, C, C],
        cost_doc: "FLOPs = 10 per output element (dequantize 2 + 2, multiply, requantize 5)",
    },
    OpDef {
        op_type: "QLinearSigmoid",
        domain: MS,
        rule: qlinear_sigmoid,
        roles: &[D, C, C, C, C],
        cost_doc: "FLOPs = 11 per element (dequantize 2, sigmoid 4, requantize 5)",
    },
    OpDef {
        op_type: "QLinearLeakyRelu",
        domain: MS,
        rule: qlinear_leaky_relu,
        roles: &[D, C, C, C, C],
        cost_doc: "FLOPs = 9 per element (dequantize 2, compare and multiply 2, requantize 5)",
    },
    OpDef {
        op_type: "QLinearConcat",
        domain: MS,
        rule: qlinear_concat,
        roles: &[C, C],
        cost_doc: "FLOPs = 7 per output element (dequantize 2, requantize 5 to the output scale)",
    },
    OpDef {
        op_type: "QLinearGlobalAveragePool",
        domain: MS,
        rule: qlinear_global_average_pool,
        roles: &[D, C, C, C, C],
        cost_doc: "FLOPs = 3·numel(X) + 5·N·C: dequantize 2 per element, n − 1 adds + 1 divide per plane, requantize 5",
    },
    OpDef {
        op_type: "QLinearAveragePool",
        domain: MS,
        rule: qlinear_average_pool,
        roles: &[D, C, C, C, C],
        cost_doc: "FLOPs = 2·numel(X) + (k + 5) per output, k = ∏kernel_shape (dequantize, average, requantize)",
    },
];

/// Checks a quantization scale's shape against the input: per tensor
/// (scalar or one element), per axis (1-D of the axis' size), or blocked
/// (opset 21: same rank, ⌈dim / block_size⌉ on the axis). Checked only
/// where dims are known integers.
fn check_scale(ctx: &NodeCtx, x: &[Dim], scale_input: usize) -> RuleResult {
    let Ok(scale) = ctx.shape(scale_input) else {
        return Ok(());
    };
    let block = ctx.attr_int("block_size", 0)?;
    if block != 0 && ctx.opset < 21 {
        return Err(OpError::Invalid(format!(
            "attribute 'block_size' needs opset 21, the model uses {}",
            ctx.opset
        )));
    }
    let numel_one = scale.iter().all(|d| d.as_i64() == Some(1));
    if scale.is_empty() || (scale.len() == 1 && numel_one) {
        return Ok(());
    }
    if ctx.opset < 13 {
        return Err(OpError::Invalid(format!(
            "scale shape {} is not per-tensor; per-axis scales need opset 13",
            format_shape(scale)
        )));
    }
    let axis = ctx.attr_int("axis", 1)?;
    let rank = x.len();
    let a = shape::normalize_axis(axis, rank)
        .ok_or_else(|| OpError::Invalid(format!("axis {axis} is out of range for rank {rank}")))?;
    if block < 0 {
        return Err(OpError::Invalid(format!(
            "attribute 'block_size' = {block} must not be negative"
        )));
    }
    let mismatch = || {
        OpError::Invalid(format!(
            "scale shape {} does not fit input {} (axis {axis}, block_size {block})",
            format_shape(scale),
            format_shape(x)
        ))
    };
    if block == 0 {
        if scale.len() != 1 {
            return Err(mismatch());
        }
        if let (Some(s), Some(c)) = (scale[0].as_i64(), x[a].as_i64()) {
            if s != c {
                return Err(mismatch());
            }
        }
        return Ok(());
    }
    if scale.len() != rank {
        return Err(mismatch());
    }
    for (i, (s, d)) in scale.iter().zip(x).enumerate() {
        if let (Some(s), Some(d)) = (s.as_i64(), d.as_i64()) {
            let want = if i == a {
                (i128::from(d) + i128::from(block) - 1) / i128::from(block)
            } else {
                i128::from(d)
            };
            if i128::from(s) != want {
                return Err(mismatch());
            }
        }
    }
    Ok(())
}

/// The `output_dtype` attribute (opset 21+), if set.
fn output_dtype_attr(ctx: &NodeCtx) -> Result<Option<DType>, OpError> {
    match ctx.attr_int("output_dtype", 0)? {
        0 => Ok(None),
        code => dtype_from_onnx_code(code).map(Some).ok_or_else(|| {
            OpError::Invalid(format!("attribute 'output_dtype' = {code} is not a type"))
        }),
    }
}

/// `QuantizeLinear`: y = saturate(round(x / scale) + zero_point), per
/// tensor, per axis (opset 13) or per block (opset 21). Output type: the
/// zero point's, else `output_dtype`, else uint8. 5 FLOPs per element
/// (divide, round, add, 2 comparisons), 4 without a zero point.
fn quantize_linear(ctx: &mut NodeCtx) -> RuleResult {
    let x = ctx.shape(0)?.to_vec();
    check_scale(ctx, &x, 1)?;
    let attr = output_dtype_attr(ctx)?;
    let dtype = if ctx.has_input(2) {
        ctx.dtype(2)
    } else {
        Some(attr.unwrap_or(DType::U8))
    };
    ctx.set_output(0, dtype, x);
    let per = if ctx.has_input(2) { 5 } else { 4 };
    let n = ctx.numel(0)?;
    ctx.add_flops_per(&n, per)
}

/// `DequantizeLinear`: y = (x − zero_point)·scale: 2 FLOPs per element, 1
/// without a zero point. Output type: `output_dtype` (opset 23), else the
/// scale's (float16/bfloat16 from opset 19), else float32. A quantized
/// initializer read here is a weight: it counts as parameters, stored at
/// its own (integer) width.
fn dequantize_linear(ctx: &mut NodeCtx) -> RuleResult {
    let x = ctx.shape(0)?.to_vec();
    check_scale(ctx, &x, 1)?;
    let dtype = match output_dtype_attr(ctx)? {
        Some(t) => t,
        None => ctx.dtype(1).unwrap_or(DType::F32),
    };
    ctx.set_output(0, Some(dtype), x);
    let per = if ctx.has_input(2) { DEQUANT } else { 1 };
    let n = ctx.numel(0)?;
    ctx.add_flops_per(&n, per)
}

/// `DynamicQuantizeLinear`: uint8 quantization with the range of x.
/// `min` and `max` over n elements: 2(n − 1) comparisons; including 0 in
/// the range 2; scale = (max − min)/255 2; zero point saturate(round(−min
/// / scale)) 5; then 5 per element: 7n + 7. Outputs y (uint8, x's shape),
/// y_scale (float scalar), y_zero_point (uint8 scalar).
fn dynamic_quantize_linear(ctx: &mut NodeCtx) -> RuleResult {
    let x = ctx.shape(0)?.to_vec();
    ctx.set_output(0, Some(DType::U8), x);
    ctx.set_output(1, Some(DType::F32), vec![]);
    ctx.set_output(2, Some(DType::U8), vec![]);
    let n = ctx.numel(0)?;
    if n.as_constant() == Some(0) {
        return Ok(());
    }
    ctx.add_flops(&n.checked_scale(7)?.checked_add(&Poly::constant(7))?)
}

/// Integer matrix product of inputs `a` and `b`: sets output 0 with
/// `dtype`, adds MACs and integer operations; returns the output count.
fn integer_matmul(
    ctx: &mut NodeCtx,
    a: usize,
    b: usize,
    dtype: Option<DType>,
) -> Result<Poly, OpError> {
    let (out, outputs, k) = matmul_geometry(ctx, a, b, false, false)?;
    ctx.set_output(0, dtype, out);
    ctx.add_macs(&outputs.checked_mul(&k)?)?;
    ctx.add_int_ops(&dot_flops(&outputs, &k)?)?;
    Ok(outputs)
}

/// `MatMulInteger`: int8/uint8 operands, int32 output with MatMul's
/// shape. MACs = ∏batch·M·N·K; integer ops ∏batch·M·N·(2K − 1); no FLOPs.
fn matmul_integer(ctx: &mut NodeCtx) -> RuleResult {
    integer_matmul(ctx, 0, 1, Some(DType::I32)).map(|_| ())
}

/// `QLinearMatMul`: integer product of a (input 0) and b (input 3) as
/// `MatMulInteger`, then requantized to y_scale / y_zero_point: 5 FLOPs
/// per output. Output type: y_zero_point's, else a's.
fn qlinear_matmul(ctx: &mut NodeCtx) -> RuleResult {
    let dtype = ctx.dtype(7).or(ctx.dtype(0));
    let outputs = integer_matmul(ctx, 0, 3, dtype)?;
    ctx.add_flops_per(&outputs, REQUANT)
}

/// `QGemm` (com.microsoft), what onnxruntime's static quantizer makes of a
/// `Gemm`: A (input 0) and B (input 3) quantized, with `transA`/`transB`,
/// an optional int32 bias C (input 6), and an output requantized to
/// y_scale/y_zero_point (inputs 7, 8) or, without y_scale, float. MACs =
/// M·N·K; integer ops M·N·(2K − 1), + M·N for C (added to the int32
/// accumulator). FLOPs: requantizing 5 per output, or scaling to float 1
/// per output (`alpha` is folded into the combined scale).
fn qgemm(ctx: &mut NodeCtx) -> RuleResult {
    let (m, n, k) = super::matmul::gemm_dims(ctx, 0, 3, "QGemm")?;
    let requantized = ctx.has_input(7);
    let dtype = if requantized {
        ctx.dtype(8).or(ctx.dtype(0))
    } else {
        Some(DType::F32)
    };
    let out = vec![m, n];
    let outputs = shape::numel(&out)?.ok_or_else(|| ctx.unknown_input(0))?;
    let k = k.poly().cloned().ok_or_else(|| ctx.unknown_input(0))?;
    ctx.set_output(0, dtype, out);
    ctx.add_macs(&outputs.checked_mul(&k)?)?;
    let mut int_ops = dot_flops(&outputs, &k)?;
    if ctx.has_input(6) {
        int_ops = int_ops.checked_add(&outputs)?;
    }
    ctx.add_int_ops(&int_ops)?;
    ctx.add_flops_per(&outputs, if requantized { REQUANT } else { 1 })
}

/// `MatMulIntegerToFloat` (com.microsoft): integer product as
/// `MatMulInteger`, then scaled to float by a_scale·b_scale (1 FLOP per
/// output; the per-column product of the scales is formed once) and the
/// optional bias (input 6) added (1 per output). Output: a_scale's type.
fn matmul_integer_to_float(ctx: &mut NodeCtx) -> RuleResult {
    let dtype = ctx.dtype(2).or(Some(DType::F32));
    let outputs = integer_matmul(ctx, 0, 1, dtype)?;
    let per = if ctx.has_input(6) { 2 } else { 1 };
    ctx.add_flops_per(&outputs, per)
}

/// `DynamicQuantizeMatMul` (com.microsoft): float A is quantized to uint8
/// on the fly (as `DynamicQuantizeLinear`: 7·numel(A) + 7 FLOPs), multiplied
/// by the int8 B as integers, and scaled back (1 per output, + 1 for the
/// bias, input 4). Output: A's type.
fn dynamic_quantize_matmul(ctx: &mut NodeCtx) -> RuleResult {
    let outputs = integer_matmul(ctx, 0, 1, ctx.dtype(0))?;
    let n = ctx.numel(0)?;
    let quantize = n.checked_scale(7)?.checked_add(&Poly::constant(7))?;
    let per = if ctx.has_input(4) { 2 } else { 1 };
    ctx.add_flops(&quantize)?;
    ctx.add_flops_per(&outputs, per)
}

/// Whether the node's `channels_last` attribute (onnxruntime's NHWC
/// kernels) says its activations are `[N, spatial…, C]`.
fn channels_last(ctx: &NodeCtx) -> Result<bool, OpError> {
    ctx.attr_flag("channels_last", false)
}

/// An activation shape as `[N, C, spatial…]`, from `[N, spatial…, C]` when
/// `last` is set.
fn channels_first(shape: &[Dim], last: bool) -> Shape {
    let mut s = shape.to_vec();
    if last && s.len() >= 3 {
        let c = s.remove(s.len() - 1);
        s.insert(1, c);
    }
    s
}

/// The inverse of [`channels_first`]: `[N, C, spatial…]` back to
/// `[N, spatial…, C]` when `last` is set.
fn restore_layout(mut shape: Shape, last: bool) -> Shape {
    if last && shape.len() >= 3 {
        let c = shape.remove(1);
        shape.push(c);
    }
    shape
}

/// Convolution geometry of input `x` and weight `w`: output shape, output
/// count and MACs (as `Conv`: N·C_out·∏out·(C_in/g)·∏k). With
/// `channels_last` (the com.microsoft `QLinearConv`) `x` and the output are
/// `[N, spatial…, C]`; the weight stays `[M, C/g, k…]`.
fn conv_geometry(ctx: &NodeCtx, xi: usize, wi: usize) -> Result<(Shape, Poly, Poly), OpError> {
    let last = channels_last(ctx)?;
    let x = channels_first(ctx.shape(xi)?, last);
    let w = ctx.known_shape(wi)?;
    if x.len() < 3 || w.len() != x.len() {
        return Err(OpError::Invalid(format!(
            "input rank {} and weight rank {} do not form a convolution",
            x.len(),
            w.len()
        )));
    }
    let group = ctx.attr_int("group", 1)?;
    if group < 1 {
        return Err(OpError::Invalid(format!(
            "group must be positive, got {group}"
        )));
    }
    let kernel = kernel_shape(ctx, Some(wi))?;
    if kernel.len() != x.len() - 2 {
        return Err(OpError::Invalid(format!(
            "kernel_shape has {} axes, input has {} spatial axes",
            kernel.len(),
            x.len() - 2
        )));
    }
    if let (Some(c), Some(per)) = (x[1].as_i64(), w[1].as_i64()) {
        if per.checked_mul(group) != Some(c) {
            return Err(OpError::Invalid(format!(
                "input has {c} channels but weight expects {per} per group × {group} groups"
            )));
        }
    }
    let window = Window::from_attrs(ctx, kernel)?;
    let mut out: Shape = vec![x[0].clone(), Dim::Known(w[0].clone())];
    for (i, d) in x[2..].iter().enumerate() {
        out.push(window.output_dim(i, d)?);
    }
    let outputs = shape::numel(&out)?.ok_or_else(|| ctx.unknown_input(xi))?;
    let k: Vec<Poly> = window.kernel.iter().map(|&v| Poly::from(v)).collect();
    let macs = outputs.checked_mul(&w[1])?.checked_mul(&product(&k)?)?;
    Ok((restore_layout(out, last), outputs, macs))
}

/// `ConvInteger`: integer convolution with int32 output, `Conv`'s shape.
/// MACs as Conv; integer ops 2·MACs − outputs; no FLOPs.
fn conv_integer(ctx: &mut NodeCtx) -> RuleResult {
    let (out, outputs, macs) = conv_geometry(ctx, 0, 1)?;
    ctx.set_output(0, Some(DType::I32), out);
    ctx.add_macs(&macs)?;
    ctx.add_int_ops(&macs.checked_scale(2)?.checked_sub(&outputs)?)
}

/// `QLinearConv`: x (input 0), w (input 3), optional int32 bias (input 8).
/// MACs as Conv; integer ops 2·MACs − outputs, + outputs for the bias;
/// requantizing: 5 FLOPs per output. Output type: y_zero_point's, else x's.
fn qlinear_conv(ctx: &mut NodeCtx) -> RuleResult {
    let (out, outputs, macs) = conv_geometry(ctx, 0, 3)?;
    ctx.set_output(0, ctx.dtype(7).or(ctx.dtype(0)), out);
    ctx.add_macs(&macs)?;
    let mut int_ops = macs.checked_scale(2)?;
    if !ctx.has_input(8) {
        int_ops = int_ops.checked_sub(&outputs)?;
    }
    ctx.add_int_ops(&int_ops)?;
    ctx.add_flops_per(&outputs, REQUANT)
}

/// `QLinearSoftmax` (com.microsoft): X (input 0) with x_scale, optional
/// x_zero_point, y_scale, y_zero_point (input 4, the output's type). The
/// `opset` attribute picks Softmax's semantics (before 13: 2-D coercion at
/// `axis`; from 13: one axis). Per row of n: dequantize 2n (n without
/// x_zero_point), Softmax 5n − 2, requantize 5n. onnxruntime evaluates the
/// exponentials from a 256-entry table; this counts the operation defined,
/// as for the other QLinear operators.
fn qlinear_softmax(ctx: &mut NodeCtx) -> RuleResult {
    let opset = ctx.attr_int("opset", -1).and_then(|v| match v {
        v if v >= 1 => Ok(v),
        _ => Err(OpError::Invalid(
            "QLinearSoftmax needs its 'opset' attribute (the Softmax semantics)".into(),
        )),
    })?;
    let x = ctx.shape(0)?.to_vec();
    ctx.set_output(0, ctx.dtype(4).or(ctx.dtype(0)), x);
    let (rows, n) = super::softmax::softmax_rows(ctx, opset)?;
    let dequant = if ctx.has_input(2) { DEQUANT } else { 1 };
    let per = dequant + 5 + REQUANT;
    ctx.add_flops(&super::reduce::group_cost(&rows, &n, per, -2)?)
}

/// `QLinearReduceMean` (com.microsoft): `axes` and `keepdims` attributes
/// (both required); data (input 0) with optional zero point (input 2), the
/// output's zero point (input 4) gives its type. Dequantize every input
/// element (2, or 1 without zero point); each output averages n elements
/// (n − 1 adds, 1 divide) and is requantized (5).
fn qlinear_reduce_mean(ctx: &mut NodeCtx) -> RuleResult {
    let x = ctx.shape(0)?.to_vec();
    let rank = x.len();
    let keepdims = match ctx.attr_int("keepdims", -1)? {
        0 => false,
        1 => true,
        v => {
            return Err(OpError::Invalid(format!(
                "attribute 'keepdims' must be 0 or 1 (it is required), got {v}"
            )))
        }
    };
    let axes = ctx
        .attr_ints("axes")?
        .ok_or_else(|| OpError::Invalid("QLinearReduceMean needs its 'axes' attribute".into()))?
        .to_vec();
    let reduced = super::reduce::axes_mask(&axes, rank)?;
    let out = super::reduce::reduce_shape(&x, &reduced, keepdims);
    ctx.set_output(0, ctx.dtype(4).or(ctx.dtype(0)), out);
    let dims = ctx.known_shape(0)?;
    let (n, outputs) = super::reduce::split_product(&dims, &reduced)?;
    let elements = n.checked_mul(&outputs)?;
    let dequant = if ctx.has_input(2) { DEQUANT } else { 1 };
    let mean = super::reduce::group_cost(&outputs, &n, 1, 0)?;
    let flops = elements
        .checked_scale(dequant)?
        .checked_add(&mean)?
        .checked_add(&outputs.checked_scale(REQUANT)?)?;
    ctx.add_flops(&flops)
}

/// `QLinearWhere` (com.microsoft): condition (input 0), X (1) and Y (4)
/// broadcast together; Z takes z_zero_point's type (input 8). Per output
/// the chosen operand is dequantized (2) and requantized to Z's scale (5).
fn qlinear_where(ctx: &mut NodeCtx) -> RuleResult {
    let shapes = [ctx.shape(0)?, ctx.shape(1)?, ctx.shape(4)?];
    let mut out: Shape = shapes[0].to_vec();
    for s in &shapes[1..] {
        out = shape::broadcast(&out, s).map_err(|e| OpError::Invalid(e.to_string()))?;
    }
    ctx.set_output(0, ctx.dtype(8).or(ctx.dtype(1)), out.clone());
    let n = shape::numel(&out)?.ok_or_else(|| ctx.unknown_input(0))?;
    ctx.add_flops_per(&n, DEQUANT + REQUANT)
}

/// `GatherBlockQuantized` (com.microsoft), the 4-bit embedding table of
/// onnxruntime-genai's LLMs: `Gather` of a block-quantized `data` (input 0)
/// by `indices` (input 1) along `gather_axis`, dequantized with `scales`
/// (input 2, the output's type) and optional `zero_points`. Packed uint8
/// data holds `8 / bits` values per byte along its last axis, so the table
/// has `last·8/bits` columns. The table is a [`Role::Packed`] weight: its
/// logical elements are parameters, its bytes those stored. FLOPs: each
/// output element is dequantized, `(q − zp)·scale` = 2 (uint8 always has a
/// zero point, 2^(bits − 1) by default), or 1 for FP8/FP4 data and for
/// int4/uint4 without `zero_points`.
fn gather_block_quantized(ctx: &mut NodeCtx) -> RuleResult {
    let data = ctx.shape(0)?.to_vec();
    let indices = ctx.shape(1)?.to_vec();
    let dtype = ctx.dtype(0);
    let bits = ctx.attr_int("bits", 4)?;
    let per_byte = match (dtype, bits) {
        (Some(DType::U8), 2 | 4 | 8) => 8 / bits,
        (Some(DType::U8), _) => {
            return Err(OpError::Invalid(format!(
                "attribute 'bits' = {bits}: uint8 data holds 2, 4 or 8 bits"
            )))
        }
        _ => 1,
    };
    let rank = data.len();
    let gather_axis = ctx.attr_int("gather_axis", 0)?;
    let axis = shape::normalize_axis(gather_axis, rank).ok_or_else(|| {
        OpError::Invalid(format!(
            "gather_axis {gather_axis} is out of range for data of rank {rank}"
        ))
    })?;
    let mut table = data;
    if per_byte > 1 {
        if axis + 1 == rank {
            return Err(OpError::Invalid(
                "packed uint8 data cannot be gathered along its last (packed) axis".into(),
            ));
        }
        if let Some(last) = table.last_mut() {
            if let Some(p) = last.poly() {
                *last = Dim::Known(p.checked_scale(i128::from(per_byte))?);
            }
        }
    }
    if let Ok(n) = shape::numel(&table) {
        if let Some(n) = n
            .and_then(|n| n.as_i64())
            .and_then(|n| u64::try_from(n).ok())
        {
            ctx.set_logical_elements(0, n);
        }
    }
    let mut out: Shape = table[..axis].to_vec();
    out.extend(indices);
    out.extend(table[axis + 1..].iter().cloned());
    let out_type = ctx.dtype(2).or(Some(DType::F32));
    ctx.set_output(0, out_type, out.clone());
    let zero_point = ctx.has_input(3) || dtype == Some(DType::U8);
    let per = if zero_point { DEQUANT } else { 1 };
    let n = shape::numel(&out)?.ok_or_else(|| ctx.unknown_input(1))?;
    ctx.add_flops_per(&n, per)
}

/// Quantized binary op on inputs 0 and 3 (broadcast): `op` FLOPs for the
/// float operation, 2 + 2 to dequantize, 5 to requantize per output.
fn qlinear_binary(ctx: &mut NodeCtx, op: i128) -> RuleResult {
    let out = shape::broadcast(ctx.shape(0)?, ctx.shape(3)?)?;
    let n = shape::numel(&out)?.ok_or_else(|| ctx.unknown_input(0))?;
    ctx.set_output(0, ctx.dtype(7).or(ctx.dtype(0)), out);
    ctx.add_flops_per(&n, 2 * DEQUANT + op + REQUANT)
}

/// `QLinearAdd`: 10 FLOPs per output element.
fn qlinear_add(ctx: &mut NodeCtx) -> RuleResult {
    qlinear_binary(ctx, 1)
}

/// `QLinearMul`: 10 FLOPs per output element.
fn qlinear_mul(ctx: &mut NodeCtx) -> RuleResult {
    qlinear_binary(ctx, 1)
}

/// Quantized unary op: dequantize 2, `op`, requantize 5 per element.
fn qlinear_unary(ctx: &mut NodeCtx, op: i128) -> RuleResult {
    let x = ctx.shape(0)?.to_vec();
    ctx.set_output(0, ctx.dtype(4).or(ctx.dtype(0)), x);
    let n = ctx.numel(0)?;
    ctx.add_flops_per(&n, DEQUANT + op + REQUANT)
}

/// `QLinearSigmoid`: sigmoid's 4 → 11 FLOPs per element.
fn qlinear_sigmoid(ctx: &mut NodeCtx) -> RuleResult {
    qlinear_unary(ctx, 4)
}

/// `QLinearLeakyRelu`: compare and multiply by alpha (2) → 9 per element.
fn qlinear_leaky_relu(ctx: &mut NodeCtx) -> RuleResult {
    qlinear_unary(ctx, 2)
}

/// `QLinearConcat`: inputs Y_scale, Y_zero_point, then (X, X_scale,
/// X_zero_point) triples, concatenated on `axis`. Each element is
/// requantized to the output's scale: 7 FLOPs per output element.
fn qlinear_concat(ctx: &mut NodeCtx) -> RuleResult {
    let n_in = ctx.num_inputs();
    if n_in < 5 || !(n_in - 2).is_multiple_of(3) {
        return Err(OpError::Invalid(format!(
            "QLinearConcat takes Y_scale, Y_zero_point and (X, scale, zero point) triples; got {n_in} inputs"
        )));
    }
    let first = ctx.shape(2)?.to_vec();
    let rank = first.len();
    let axis = ctx.attr_int("axis", 0)?;
    let a = shape::normalize_axis(axis, rank)
        .ok_or_else(|| OpError::Invalid(format!("axis {axis} is out of range for rank {rank}")))?;
    let mut out = first.clone();
    for i in (5..n_in).step_by(3) {
        let s = ctx.shape(i)?;
        if s.len() != rank {
            return Err(OpError::Invalid(format!(
                "input {i} has rank {}, the first has rank {rank}",
                s.len()
            )));
        }
        for (j, (o, d)) in out.iter_mut().zip(s).enumerate() {
            if j == a {
                *o = o.add(d)?;
            } else if let (Some(x), Some(y)) = (o.as_i64(), d.as_i64()) {
                if x != y {
                    return Err(OpError::Invalid(format!(
                        "input {i} differs on axis {j} ({y} vs {x})"
                    )));
                }
            }
        }
    }
    let n = shape::numel(&out)?.ok_or_else(|| ctx.unknown_input(2))?;
    ctx.set_output(0, ctx.dtype(1).or(ctx.dtype(2)), out);
    ctx.add_flops_per(&n, DEQUANT + REQUANT)
}

/// `QLinearGlobalAveragePool`: per (N, C) plane of n elements, dequantize
/// 2n, average n (n − 1 adds, 1 divide), requantize 5: 3·numel(X) +
/// 5·N·C. `channels_last = 1` reads X as `[N, ..., C]`.
fn qlinear_global_average_pool(ctx: &mut NodeCtx) -> RuleResult {
    let x = ctx.shape(0)?.to_vec();
    if x.len() < 3 {
        return Err(OpError::Invalid(format!(
            "input has rank {}, a global pool needs [N, C, spatial...]",
            x.len()
        )));
    }
    let channels_last = channels_last(ctx)?;
    let out: Shape = x
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let keep = i == 0
                || if channels_last {
                    i == x.len() - 1
                } else {
                    i == 1
                };
            if keep {
                d.clone()
            } else {
                Dim::int(1)
            }
        })
        .collect();
    let planes = shape::numel(&out)?.ok_or_else(|| ctx.unknown_input(0))?;
    ctx.set_output(0, ctx.dtype(4).or(ctx.dtype(0)), out);
    let n = ctx.numel(0)?;
    ctx.add_flops(
        &n.checked_scale(3)?
            .checked_add(&planes.checked_scale(REQUANT)?)?,
    )
}

/// `QLinearAveragePool`: window geometry as `AveragePool`, on `[N, C,
/// spatial…]` or, with `channels_last`, `[N, spatial…, C]`. Dequantize 2
/// per input element, average k per output (k − 1 adds, 1 divide, k =
/// ∏kernel_shape), requantize 5 per output.
fn qlinear_average_pool(ctx: &mut NodeCtx) -> RuleResult {
    let last = channels_last(ctx)?;
    let x = channels_first(ctx.shape(0)?, last);
    let kernel = kernel_shape(ctx, None)?;
    if x.len() != kernel.len() + 2 {
        return Err(OpError::Invalid(format!(
            "kernel_shape has {} axes, input has rank {}",
            kernel.len(),
            x.len()
        )));
    }
    let k = kernel
        .iter()
        .try_fold(Poly::constant(1), |acc, &v| acc.checked_mul(&Poly::from(v)))?;
    let window = Window::from_attrs(ctx, kernel)?;
    let mut out: Shape = x[..2].to_vec();
    for (i, d) in x[2..].iter().enumerate() {
        out.push(window.output_dim(i, d)?);
    }
    let outputs = shape::numel(&out)?.ok_or_else(|| {
        OpError::DataDependent(
            "output size is not a polynomial in the input's symbols; bind the symbols to count this node"
                .into(),
        )
    })?;
    ctx.set_output(0, ctx.dtype(4).or(ctx.dtype(0)), restore_layout(out, last));
    let n = ctx.numel(0)?;
    let flops = n
        .checked_scale(DEQUANT)?
        .checked_add(&outputs.checked_mul(&k.checked_add(&Poly::constant(REQUANT))?)?)?;
    ctx.add_flops(&flops)
}

#[cfg(test)]
mod tests {
    use crate::graph::{DType, Node};
    use crate::ops::testing::NodeTest;
    use crate::ops::testing::{incomplete, ms};
    use crate::report::NodeStatus;
    use crate::shape::Dim;

    /// QuantizeLinear [batch, 64] with a uint8 zero point: 5·64 = 320 per
    /// batch, output uint8; per-axis scale [64] on axis 1. Without zero
    /// point and output_dtype int8 (opset 21): 4 per element.
    #[test]
    fn quantize_linear_per_axis_and_types() {
        let r = NodeTest::new("QuantizeLinear")
            .opset(13)
            .input_sym(&["batch", "64"])
            .weight(&[64])
            .input_dims(vec![Dim::int(64)], DType::U8)
            .run();
        assert_eq!(r.shape(0), "batchx64");
        assert_eq!(r.node().outputs[0].dtype, Some(DType::U8));
        assert_eq!(r.flops_expr(), "320*batch");
        assert_eq!(r.params(), 0);
        let i8 = NodeTest::new("QuantizeLinear")
            .opset(21)
            .input(&[2, 8])
            .weight(&[1])
            .int("output_dtype", 3)
            .run();
        assert_eq!(i8.node().outputs[0].dtype, Some(DType::I8));
        assert_eq!(i8.flops(), 64);
        let bad = NodeTest::new("QuantizeLinear")
            .opset(13)
            .input(&[2, 8])
            .weight(&[7])
            .run();
        assert!(incomplete(&bad, "does not fit"));
        // Opset 10 has no axis: a per-channel scale is an error there.
        let old = NodeTest::new("QuantizeLinear")
            .opset(10)
            .input(&[2, 8])
            .weight(&[8])
            .int("axis", 1)
            .run();
        assert!(incomplete(&old, "opset 13"));
        let blocked_early = NodeTest::new("QuantizeLinear")
            .opset(19)
            .input(&[2, 8])
            .weight(&[2, 1])
            .int("block_size", 8)
            .run();
        assert!(incomplete(&blocked_early, "opset 21"));
    }

    /// Blocked DequantizeLinear (opset 21): int8 weight initializer [64, 32],
    /// block 16 on axis 1 → scale [64, 2]; with zero point 2·2048 = 4096
    /// FLOPs; the weight counts as 2048 parameters (int8: 2048 bytes).
    /// Output float16 from the scale's type.
    #[test]
    fn dequantize_linear_blocked_weight() {
        let r = NodeTest::new("DequantizeLinear")
            .opset(21)
            .input_dims(vec![Dim::int(64), Dim::int(32)], DType::I8)
            .input_dims(vec![Dim::int(64), Dim::int(2)], DType::F16)
            .input_dims(vec![Dim::int(64), Dim::int(2)], DType::I8)
            .int("axis", 1)
            .int("block_size", 16)
            .run();
        assert_eq!(r.shape(0), "64x32");
        assert_eq!(r.node().outputs[0].dtype, Some(DType::F16));
        assert_eq!(r.flops(), 4096);
        let no_zp = NodeTest::new("DequantizeLinear")
            .input_sym(&["batch", "10"])
            .weight(&[1])
            .run();
        assert_eq!(no_zp.flops_expr(), "10*batch");
        let bad = NodeTest::new("DequantizeLinear")
            .opset(21)
            .input(&[64, 32])
            .input(&[64, 3])
            .int("axis", 1)
            .int("block_size", 16)
            .run();
        assert!(incomplete(&bad, "does not fit"));
    }

    /// The quantized weight is a parameter at its real width: int8 [16, 8]
    /// initializer → 128 params, 128 bytes.
    #[test]
    fn dequantize_weight_bytes_follow_dtype() {
        use crate::graph::{Graph, OpsetImports, Tensor, TensorData, Value};
        let mut g = Graph::default();
        let w = g.add_value(Value {
            name: "w".into(),
            declared: None,
            initializer: Some(Box::new(Tensor {
                dtype: DType::I8,
                dims: vec![16, 8],
                data: TensorData::Absent,
            })),
        });
        let s = g.add_value(Value {
            name: "s".into(),
            declared: None,
            initializer: Some(Box::new(Tensor {
                dtype: DType::F32,
                dims: vec![],
                data: TensorData::Absent,
            })),
        });
        let y = g.add_value(Value {
            name: "y".into(),
            ..Value::default()
        });
        g.nodes.push(Node {
            name: "dq".into(),
            op_type: "DequantizeLinear".into(),
            inputs: vec![Some(w), Some(s)].into(),
            outputs: vec![Some(y)].into(),
            ..Node::default()
        });
        g.outputs.push(y);
        g.opsets = OpsetImports(vec![(String::new(), 21)]);
        let r = crate::analysis::analyze(&g, &crate::analysis::AnalysisOptions::default())
            .expect("analysis runs");
        assert_eq!(r.totals.params, 128);
        assert_eq!(r.totals.param_bytes, 128);
        assert_eq!(r.totals.cost.flops.as_constant(), Some(128));
    }

    /// DynamicQuantizeLinear [4, 25]: n = 100 → 7·100 + 7 = 707 FLOPs;
    /// outputs uint8 [4, 25], float scalar, uint8 scalar.
    #[test]
    fn dynamic_quantize_linear() {
        let r = NodeTest::new("DynamicQuantizeLinear")
            .opset(11)
            .input(&[4, 25])
            .run_outputs(3);
        assert_eq!(r.shape(0), "4x25");
        assert_eq!(r.shape(1), "scalar");
        assert_eq!(r.node().outputs[2].dtype, Some(DType::U8));
        assert_eq!(r.flops(), 707);
    }

    /// DynamicQuantizeLSTM, X [5, 1, 8], H 4, forward, with bias: 5 steps
    /// of 16 gate pre-activations from 8 + 4 features. MACs = 5·16·12 =
    /// 960; int ops = 2·960 − 5·2·16 = 1,760; FLOPs = 5·(3·16 + 16 + 18·4)
    /// = 680. Y [5, 1, 1, 4], Y_h and Y_c [1, 1, 4]. W and R are weights:
    /// 128 + 64 int8 elements, and the bias 32.
    #[test]
    fn dynamic_quantize_lstm() {
        let r = NodeTest::new("DynamicQuantizeLSTM")
            .domain(super::MS)
            .input(&[5, 1, 8])
            .input_dims(vec![Dim::int(1), Dim::int(8), Dim::int(16)], DType::I8)
            .input_dims(vec![Dim::int(1), Dim::int(4), Dim::int(16)], DType::I8)
            .input(&[1, 32])
            .int("hidden_size", 4)
            .run_outputs(3);
        assert_eq!(
            [r.shape(0), r.shape(1), r.shape(2)],
            ["5x1x1x4", "1x1x4", "1x1x4"]
        );
        assert_eq!(r.macs(), 960);
        assert_eq!(r.int_ops(), 1760);
        assert_eq!(r.flops(), 680);
        let no_size = NodeTest::new("DynamicQuantizeLSTM")
            .domain(super::MS)
            .input(&[5, 1, 8])
            .input_dims(vec![Dim::int(1), Dim::int(8), Dim::int(16)], DType::I8)
            .input_dims(vec![Dim::int(1), Dim::int(4), Dim::int(16)], DType::I8)
            .run_outputs(3);
        assert!(incomplete(&no_size, "hidden_size"));
    }

    /// MatMulInteger A [batch, 8, 16] uint8 × B [16, 4] int8: outputs
    /// 32·batch, MACs 512·batch, int ops 32·31 = 992·batch, FLOPs 0; int32.
    #[test]
    fn matmul_integer() {
        let r = NodeTest::new("MatMulInteger")
            .opset(10)
            .input_dims(
                vec![Dim::sym("batch"), Dim::int(8), Dim::int(16)],
                DType::U8,
            )
            .input_dims(vec![Dim::int(16), Dim::int(4)], DType::I8)
            .run();
        assert_eq!(r.shape(0), "batchx8x4");
        assert_eq!(r.node().outputs[0].dtype, Some(DType::I32));
        assert_eq!(r.macs_expr(), "512*batch");
        assert_eq!(r.flops_expr(), "0");
        assert_eq!(r.int_ops_expr(), "992*batch");
        let bad = NodeTest::new("MatMulInteger")
            .opset(10)
            .input(&[8, 16])
            .input(&[15, 4])
            .run();
        assert!(incomplete(&bad, "inner"));
    }

    /// QLinearMatMul a [2, 3] · b [3, 5]: 10 outputs, MACs 30, int ops
    /// 10·5 = 50, FLOPs 5·10 = 50 (requantize); output int8 from y_zp.
    #[test]
    fn qlinear_matmul() {
        let r = NodeTest::new("QLinearMatMul")
            .opset(10)
            .input_dims(vec![Dim::int(2), Dim::int(3)], DType::I8)
            .weight(&[])
            .input_dims(vec![], DType::I8)
            .input_dims(vec![Dim::int(3), Dim::int(5)], DType::I8)
            .weight(&[])
            .input_dims(vec![], DType::I8)
            .weight(&[])
            .input_dims(vec![], DType::I8)
            .run();
        assert_eq!(r.shape(0), "2x5");
        assert_eq!(r.node().outputs[0].dtype, Some(DType::I8));
        assert_eq!((r.macs(), r.int_ops(), r.flops()), (30, 50, 50));
    }

    /// QGemm as onnxruntime writes a classifier head: A [batch, 32] uint8,
    /// B [10, 32] int8 with transB, int32 bias [10], float output (no
    /// y_scale): 10 outputs per sample, MACs 320, int ops 10·63 + 10 = 640,
    /// FLOPs 10 (scale to float). Requantized (y_scale, y_zp uint8): FLOPs
    /// 5·10 = 50, output uint8. A K mismatch is reported.
    #[test]
    fn qgemm() {
        let head = |requantize: bool| {
            let mut t = ms("QGemm")
                .input_dims(vec![Dim::sym("batch"), Dim::int(32)], DType::U8)
                .weight(&[])
                .input_dims(vec![], DType::U8)
                .weight_typed(&[10, 32], DType::I8)
                .weight(&[])
                .input_dims(vec![], DType::I8)
                .weight_typed(&[10], DType::I32)
                .int("transB", 1);
            if requantize {
                t = t.weight(&[]).input_dims(vec![], DType::U8);
            }
            t.run()
        };
        let float_out = head(false);
        assert_eq!(float_out.shape(0), "batchx10");
        assert_eq!(float_out.node().outputs[0].dtype, Some(DType::F32));
        assert_eq!(float_out.macs_expr(), "320*batch");
        assert_eq!(float_out.int_ops_expr(), "640*batch");
        assert_eq!(float_out.flops_expr(), "10*batch");
        // int8 weight 320 bytes + int32 bias 40 bytes.
        assert_eq!((float_out.params(), float_out.param_bytes()), (330, 360));
        let requantized = head(true);
        assert_eq!(requantized.node().outputs[0].dtype, Some(DType::U8));
        assert_eq!(requantized.flops_expr(), "50*batch");
        let bad = ms("QGemm")
            .input(&[4, 32])
            .weight(&[])
            .weight(&[])
            .input(&[10, 31])
            .int("transB", 1)
            .run();
        assert!(incomplete(&bad, "QGemm"));
    }

    /// QLinearConv x [1, 8, 10, 10] uint8, w [16, 8, 3, 3] int8, pads 1,
    /// bias int32 [16]: output [1, 16, 10, 10] = 1600 outputs; MACs
    /// 1600·72 = 115,200; int ops 2·MACs = 230,400 (bias included);
    /// FLOPs 5·1600 = 8000. Params: w 1152 + bias 16.
    #[test]
    fn qlinear_conv() {
        let r = NodeTest::new("QLinearConv")
            .opset(10)
            .input_dims(
                vec![Dim::int(1), Dim::int(8), Dim::int(10), Dim::int(10)],
                DType::U8,
            )
            .weight(&[])
            .input_dims(vec![], DType::U8)
            .weight(&[16, 8, 3, 3])
            .weight(&[16])
            .input_dims(vec![Dim::int(16)], DType::I8)
            .weight(&[])
            .input_dims(vec![], DType::U8)
            .weight(&[16])
            .ints_attr("pads", &[1, 1, 1, 1])
            .run();
        assert_eq!(r.shape(0), "1x16x10x10");
        assert_eq!(r.node().outputs[0].dtype, Some(DType::U8));
        assert_eq!(r.macs(), 115_200);
        // With the bias the accumulator starts at it: 2·MACs.
        assert_eq!(r.int_ops(), 230_400);
        assert_eq!(r.flops(), 8000);
        assert_eq!(r.params(), 1152 + 16);
        assert_eq!(r.report.totals.cost.int_ops.as_constant(), Some(230_400));
    }

    /// ConvInteger x [batch, 4, 6, 6], w [8, 2, 3, 3], group 2, stride 1, no
    /// pads → [batch, 8, 4, 4]: 128 outputs per batch, MACs 128·18 = 2304;
    /// int ops 2·2304 − 128 = 4480 (batch 1). Bad group → Incomplete.
    #[test]
    fn conv_integer_grouped() {
        let r = NodeTest::new("ConvInteger")
            .opset(10)
            .input_dims(
                vec![Dim::sym("batch"), Dim::int(4), Dim::int(6), Dim::int(6)],
                DType::U8,
            )
            .input_dims(
                vec![Dim::int(8), Dim::int(2), Dim::int(3), Dim::int(3)],
                DType::U8,
            )
            .int("group", 2)
            .run();
        assert_eq!(r.shape(0), "batchx8x4x4");
        assert_eq!(r.node().outputs[0].dtype, Some(DType::I32));
        assert_eq!(r.macs_expr(), "2304*batch");
        assert_eq!(r.flops_expr(), "0");
        assert_eq!(r.int_ops_expr(), "4480*batch");
        let bad = NodeTest::new("ConvInteger")
            .opset(10)
            .input(&[1, 4, 6, 6])
            .input(&[8, 2, 3, 3])
            .int("group", 3)
            .run();
        assert!(incomplete(&bad, "channels"));
    }

    /// Dynamic-quantized BERT: MatMulIntegerToFloat A [batch, 4, 8] uint8 ·
    /// B [8, 6] int8 with bias [6]: 24·batch outputs, MACs 192·batch,
    /// FLOPs 2·24 = 48·batch, output float. DynamicQuantizeMatMul with a
    /// float A [2, 8] · B [8, 6], no bias: quantize A 7·16 + 7 = 119, MACs
    /// 96, FLOPs 119 + 12 = 131. The com.microsoft QuantizeLinear and
    /// DequantizeLinear count as the standard ones.
    #[test]
    fn ms_dynamic_quantized_matmuls() {
        let r = ms("MatMulIntegerToFloat")
            .input_dims(vec![Dim::sym("batch"), Dim::int(4), Dim::int(8)], DType::U8)
            .input_dims(vec![Dim::int(8), Dim::int(6)], DType::I8)
            .weight(&[])
            .weight(&[6])
            .input_dims(vec![], DType::U8)
            .none()
            .weight(&[6])
            .run();
        assert_eq!(r.shape(0), "batchx4x6");
        assert_eq!(r.node().outputs[0].dtype, Some(DType::F32));
        assert_eq!(r.macs_expr(), "192*batch");
        assert_eq!(r.flops_expr(), "48*batch");
        assert_eq!(r.params(), 6);
        let d = ms("DynamicQuantizeMatMul")
            .input(&[2, 8])
            .input_dims(vec![Dim::int(8), Dim::int(6)], DType::I8)
            .weight(&[6])
            .run();
        assert_eq!(d.shape(0), "2x6");
        assert_eq!(d.macs(), 96);
        assert_eq!(d.flops(), 131);
        let q = ms("QuantizeLinear")
            .input(&[2, 8])
            .weight(&[])
            .input_dims(vec![], DType::U16)
            .run();
        assert_eq!(q.node().outputs[0].dtype, Some(DType::U16));
        assert_eq!(q.flops(), 80);
        let dq = ms("DequantizeLinear")
            .input_dims(vec![Dim::int(4), Dim::int(4)], DType::I4)
            .weight(&[])
            .run();
        assert_eq!(dq.flops(), 16);
    }

    /// QLinearAdd [batch, 8] + [8]: 10 per output → 80·batch. QLinearMul
    /// the same. QLinearSigmoid [2, 5]: 11·10 = 110; QLinearLeakyRelu 90.
    #[test]
    fn qlinear_elementwise() {
        let add = |op: &str| {
            ms(op)
                .input_dims(vec![Dim::sym("batch"), Dim::int(8)], DType::U8)
                .weight(&[])
                .input_dims(vec![], DType::U8)
                .input_dims(vec![Dim::int(8)], DType::U8)
                .weight(&[])
                .input_dims(vec![], DType::U8)
                .weight(&[])
                .input_dims(vec![], DType::U8)
                .run()
        };
        let a = add("QLinearAdd");
        assert_eq!(a.shape(0), "batchx8");
        assert_eq!(a.node().outputs[0].dtype, Some(DType::U8));
        assert_eq!(a.flops_expr(), "80*batch");
        assert_eq!(add("QLinearMul").flops_expr(), "80*batch");
        let unary = |op: &str| {
            ms(op)
                .input_dims(vec![Dim::int(2), Dim::int(5)], DType::I8)
                .weight(&[])
                .input_dims(vec![], DType::I8)
                .weight(&[])
                .input_dims(vec![], DType::I8)
                .run()
        };
        assert_eq!(unary("QLinearSigmoid").flops(), 110);
        assert_eq!(unary("QLinearLeakyRelu").flops(), 90);
        let bad = ms("QLinearAdd")
            .input(&[2, 8])
            .weight(&[])
            .weight(&[])
            .input(&[3])
            .run();
        assert!(matches!(bad.status(), NodeStatus::Incomplete { .. }));
    }

    /// QLinearConcat of [1, 2, 4] and [1, 3, 4] on axis 1 → [1, 5, 4]: 20
    /// elements · 7 = 140. A wrong input count is Incomplete.
    #[test]
    fn qlinear_concat() {
        let r = ms("QLinearConcat")
            .weight(&[])
            .input_dims(vec![], DType::U8)
            .input_dims(vec![Dim::int(1), Dim::int(2), Dim::int(4)], DType::U8)
            .weight(&[])
            .input_dims(vec![], DType::U8)
            .input_dims(vec![Dim::int(1), Dim::int(3), Dim::int(4)], DType::U8)
            .weight(&[])
            .input_dims(vec![], DType::U8)
            .int("axis", 1)
            .run();
        assert_eq!(r.shape(0), "1x5x4");
        assert_eq!(r.node().outputs[0].dtype, Some(DType::U8));
        assert_eq!(r.flops(), 140);
        let bad = ms("QLinearConcat")
            .weight(&[])
            .input_dims(vec![], DType::U8)
            .input(&[1, 2, 4])
            .weight(&[])
            .run();
        assert!(incomplete(&bad, "triples"));
    }

    /// QLinearGlobalAveragePool [batch, 16, 7, 7]: 3·784 + 5·16 = 2432 per
    /// batch; output [batch, 16, 1, 1]. channels_last [1, 7, 7, 16] →
    /// [1, 1, 1, 16], same count.
    #[test]
    fn qlinear_global_average_pool() {
        let r = ms("QLinearGlobalAveragePool")
            .input_sym(&["batch", "16", "7", "7"])
            .run();
        assert_eq!(r.shape(0), "batchx16x1x1");
        assert_eq!(r.flops_expr(), "2432*batch");
        let nhwc = ms("QLinearGlobalAveragePool")
            .input(&[1, 7, 7, 16])
            .int("channels_last", 1)
            .run();
        assert_eq!(nhwc.shape(0), "1x1x1x16");
        assert_eq!(nhwc.flops(), 2432);
        let bad = ms("QLinearGlobalAveragePool").input(&[1, 16]).run();
        assert!(incomplete(&bad, "rank 2"));
    }

    /// onnxruntime's NHWC QLinearConv: the qlinear_conv case above with x
    /// [1, 10, 10, 8] and channels_last: output [1, 10, 10, 16], the same
    /// MACs 115,200, int ops 230,400, FLOPs 8000.
    #[test]
    fn qlinear_conv_channels_last() {
        let r = ms("QLinearConv")
            .input_dims(
                vec![Dim::int(1), Dim::int(10), Dim::int(10), Dim::int(8)],
                DType::U8,
            )
            .weight(&[])
            .input_dims(vec![], DType::U8)
            .weight_typed(&[16, 8, 3, 3], DType::I8)
            .weight(&[16])
            .input_dims(vec![Dim::int(16)], DType::I8)
            .weight(&[])
            .input_dims(vec![], DType::U8)
            .weight_typed(&[16], DType::I32)
            .ints_attr("pads", &[1, 1, 1, 1])
            .int("channels_last", 1)
            .run();
        assert_eq!(r.shape(0), "1x10x10x16");
        assert_eq!((r.macs(), r.int_ops(), r.flops()), (115_200, 230_400, 8000));
        let bad = ms("QLinearConv")
            .input(&[1, 10, 10, 8])
            .weight(&[])
            .weight(&[])
            .weight(&[16, 8, 3, 3])
            .int("channels_last", 2)
            .run();
        assert!(incomplete(&bad, "channels_last"));
    }

    /// QLinearSoftmax X [2, 3, 10], opset 13, axis −1: 6 rows of 10, with
    /// x_zero_point 12·10 − 2 = 118 per row → 708; without it 11·10 − 2 =
    /// 108 → 648. Opset 11 semantics, axis 1: 2 rows of 30 → 2·358 = 716.
    #[test]
    fn qlinear_softmax() {
        let run = |opset: i64, axis: i64, zero_point: bool| {
            let mut t = ms("QLinearSoftmax")
                .input_dims(vec![Dim::int(2), Dim::int(3), Dim::int(10)], DType::U8)
                .weight(&[]);
            t = if zero_point {
                t.input_dims(vec![], DType::U8)
            } else {
                t.none()
            };
            t.weight(&[])
                .input_dims(vec![], DType::I8)
                .int("opset", opset)
                .int("axis", axis)
                .run()
        };
        let r = run(13, -1, true);
        assert_eq!(r.shape(0), "2x3x10");
        assert_eq!(r.node().outputs[0].dtype, Some(DType::I8));
        assert_eq!(r.flops(), 708);
        assert_eq!(run(13, -1, false).flops(), 648);
        assert_eq!(run(11, 1, true).flops(), 716);
        let no_opset = ms("QLinearSoftmax").input(&[2, 3]).run();
        assert!(incomplete(&no_opset, "'opset'"));
    }

    /// QLinearReduceMean data [2, 4, 6], axes [2], keepdims 0, with zero
    /// point: output [2, 4]; dequantize 2·48 = 96, mean 8·6 = 48,
    /// requantize 5·8 = 40: 184. keepdims 1 keeps [2, 4, 1].
    #[test]
    fn qlinear_reduce_mean() {
        let run = |keepdims: i64| {
            ms("QLinearReduceMean")
                .input_dims(vec![Dim::int(2), Dim::int(4), Dim::int(6)], DType::U8)
                .weight(&[])
                .input_dims(vec![], DType::U8)
                .weight(&[])
                .input_dims(vec![], DType::U8)
                .ints_attr("axes", &[2])
                .int("keepdims", keepdims)
                .run()
        };
        let r = run(0);
        assert_eq!((r.shape(0), r.flops()), ("2x4".into(), 184));
        assert_eq!(run(1).shape(0), "2x4x1");
        let no_axes = ms("QLinearReduceMean")
            .input(&[2, 4])
            .int("keepdims", 1)
            .run();
        assert!(incomplete(&no_axes, "'axes'"));
    }

    /// QLinearWhere: condition [4, 1], X [1, 5], Y [4, 5] → Z [4, 5], 20
    /// outputs · 7 = 140 FLOPs, Z typed by z_zero_point (int8).
    #[test]
    fn qlinear_where() {
        let r = ms("QLinearWhere")
            .input_dims(vec![Dim::int(4), Dim::int(1)], DType::Bool)
            .input_dims(vec![Dim::int(1), Dim::int(5)], DType::U8)
            .weight(&[])
            .input_dims(vec![], DType::U8)
            .input_dims(vec![Dim::int(4), Dim::int(5)], DType::U8)
            .weight(&[])
            .input_dims(vec![], DType::U8)
            .weight(&[])
            .input_dims(vec![], DType::I8)
            .run();
        assert_eq!(r.shape(0), "4x5");
        assert_eq!(r.node().outputs[0].dtype, Some(DType::I8));
        assert_eq!(r.flops(), 140);
    }

    /// onnxruntime-genai's 4-bit embedding table: data uint8 [32000, 1536]
    /// (two 4-bit values per byte: 3072 columns), indices [batch, seq],
    /// float16 scales [32000, 24] (blocks of 128), no zero points (uint8's
    /// default 8 applies): output [batch, seq, 3072] float16, 2·3072 = 6144
    /// FLOPs per token. Parameters 32000·3072 = 98,304,000 in 49,152,000
    /// bytes. int4 data [10, 64] without zero points: [3, 64], 1 FLOP per
    /// element = 192, 640 parameters in 320 bytes.
    #[test]
    fn gather_block_quantized() {
        let r = ms("GatherBlockQuantized")
            .weight_typed(&[32000, 1536], DType::U8)
            .input_dims(vec![Dim::sym("batch"), Dim::sym("seq")], DType::I64)
            .weight_typed(&[32000, 24], DType::F16)
            .int("bits", 4)
            .int("block_size", 128)
            .run();
        assert_eq!(r.shape(0), "batchxseqx3072");
        assert_eq!(r.node().outputs[0].dtype, Some(DType::F16));
        assert_eq!(r.flops_expr(), "6144*batch*seq");
        assert_eq!((r.params(), r.param_bytes()), (98_304_000, 49_152_000));
        let int4 = ms("GatherBlockQuantized")
            .weight_typed(&[10, 64], DType::I4)
            .input_dims(vec![Dim::int(3)], DType::I64)
            .weight(&[10, 2])
            .int("block_size", 32)
            .run();
        assert_eq!((int4.shape(0), int4.flops()), ("3x64".into(), 192));
        assert_eq!((int4.params(), int4.param_bytes()), (640, 320));
        let packed_axis = ms("GatherBlockQuantized")
            .weight_typed(&[16, 8], DType::U8)
            .input(&[2])
            .int("gather_axis", 1)
            .run();
        assert!(incomplete(&packed_axis, "packed"));
    }

    /// QLinearAveragePool [1, 4, 8, 8], kernel 2x2 stride 2 → [1, 4, 4, 4]
    /// = 64 outputs: 2·256 + 64·(4 + 5) = 512 + 576 = 1088.
    #[test]
    fn qlinear_average_pool() {
        let r = ms("QLinearAveragePool")
            .input(&[1, 4, 8, 8])
            .ints_attr("kernel_shape", &[2, 2])
            .ints_attr("strides", &[2, 2])
            .run();
        assert_eq!(r.shape(0), "1x4x4x4");
        assert_eq!(r.flops(), 1088);
        let bad = ms("QLinearAveragePool").input(&[1, 4, 8, 8]).run();
        assert!(incomplete(&bad, "kernel_shape"));
        // The same pool on NHWC [1, 8, 8, 4] gives [1, 4, 4, 4] in NHWC:
        // the same 1088 FLOPs.
        let nhwc = ms("QLinearAveragePool")
            .input(&[1, 8, 8, 4])
            .ints_attr("kernel_shape", &[2, 2])
            .ints_attr("strides", &[2, 2])
            .int("channels_last", 1)
            .run();
        assert_eq!((nhwc.shape(0), nhwc.flops()), ("1x4x4x4".into(), 1088));
        let nhwc_3x3 = ms("QLinearAveragePool")
            .input(&[1, 9, 6, 4])
            .ints_attr("kernel_shape", &[3, 3])
            .ints_attr("strides", &[3, 3])
            .int("channels_last", 1)
            .run();
        // [1, 3, 2, 4]: 24 outputs; 2·216 + 24·(9 + 5) = 768.
        assert_eq!(
            (nhwc_3x3.shape(0), nhwc_3x3.flops()),
            ("1x3x2x4".into(), 768)
        );
    }
}
