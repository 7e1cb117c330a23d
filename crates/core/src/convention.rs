//! Other tools' ways of counting, so that a paper's number can be checked
//! against the tool that produced it (`--convention`, docs/conventions.md
//! "Presets").
//!
//! Each preset gives one number per node in its tool's unit, from the
//! node's operator, shapes and MACs, and, for exports that record them
//! (PyTorch's dynamo exporter), the class of the innermost module the node
//! came from and the PyTorch operation it was exported from: the tools
//! themselves decide by those (fvcore by operation, thop and ptflops by
//! module class, ptflops also by some functions it intercepts).

use crate::poly::{Overflow, Poly};
use crate::report::{NodeReport, Report};
use crate::shape::numel;

/// A way of counting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Convention {
    /// nncost's own FLOPs: every scalar operation (a MAC is 2).
    Nncost,
    /// PyTorch's `FlopCounterMode`: 2 per MAC of convolutions, matrix
    /// products and attention; nothing else.
    Torch,
    /// torchvision's published "GFLOPS": the MACs of convolutions and
    /// matrix products.
    Torchvision,
    /// fvcore's `FlopCountAnalysis`: one per MAC, plus 2 per element of an
    /// inference BatchNorm, 5 per element of a layer, group or instance
    /// norm, 1 per input element of an adaptive average pooling and 1 per
    /// output element of an upsampling; attention's products not counted.
    Fvcore,
    /// thop's `profile`: one per MAC of `nn.Conv*d` and `nn.Linear`, 4 per
    /// element of an affine `nn.BatchNorm*d`, `nn.LayerNorm` or
    /// `nn.InstanceNorm*d`, per output element of an average pooling,
    /// `(kernel + 1)` per output element of an adaptive one; nothing for
    /// activations or functional calls.
    Thop,
    /// ptflops' PyTorch backend: one per MAC of `nn.Conv*d` and `nn.Linear`
    /// plus their bias, 2 per element of an affine norm module, 1 per
    /// element of an activation or pooling module and again of the
    /// functions it intercepts (`F.relu`, `F.max_pool2d`, `F.softmax`,
    /// `torch.matmul`, …), which those modules call.
    Ptflops,
}

impl Convention {
    pub const ALL: [Convention; 6] = [
        Convention::Nncost,
        Convention::Torch,
        Convention::Torchvision,
        Convention::Fvcore,
        Convention::Thop,
        Convention::Ptflops,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Convention::Nncost => "nncost",
            Convention::Torch => "torch",
            Convention::Torchvision => "torchvision",
            Convention::Fvcore => "fvcore",
            Convention::Thop => "thop",
            Convention::Ptflops => "ptflops",
        }
    }

    pub fn parse(text: &str) -> Option<Convention> {
        Convention::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(text.trim()))
    }

    /// What the tool calls its number.
    pub fn unit(self) -> &'static str {
        match self {
            Convention::Nncost | Convention::Torch => "FLOPs",
            Convention::Torchvision => "GFLOPS (MACs)",
            Convention::Fvcore => "flops (MACs and more)",
            Convention::Thop => "MACs",
            Convention::Ptflops => "MACs",
        }
    }
}

/// A report counted by a preset.
#[derive(Clone, Debug, PartialEq)]
pub struct ConventionReport {
    pub convention: Convention,
    /// Per top-level node, parallel to `Report::nodes`; `None` for a node
    /// not counted.
    pub nodes: Vec<Option<Poly>>,
    pub total: Poly,
}

/// Counts `report` by `convention`: its forward pass, and with the
/// report's training (`--training`), for `torch`, the backward pass too as
/// `FlopCounterMode` counts it. The other tools count inference only.
pub fn apply(report: &Report, convention: Convention) -> Result<ConventionReport, Overflow> {
    let mut total = Poly::ZERO;
    let mut nodes = Vec::with_capacity(report.nodes.len());
    for (i, n) in report.nodes.iter().enumerate() {
        let backward = report
            .training
            .as_ref()
            .and_then(|t| t.nodes[i].as_ref())
            .filter(|_| convention == Convention::Torch);
        let c = match &n.cost {
            None => None,
            Some(_) => {
                let forward = count(n, convention)?;
                match backward {
                    Some(b) => Some(forward.checked_add(&torch_backward(n, b)?)?),
                    None => Some(forward),
                }
            }
        };
        if let Some(c) = &c {
            total = total.checked_add(c)?;
        }
        nodes.push(c);
    }
    Ok(ConventionReport {
        convention,
        nodes,
        total,
    })
}

/// What a node tells a preset.
struct Facts<'n> {
    n: &'n NodeReport,
    /// The innermost module's class (`""` when not recorded).
    class: &'n str,
    macs: Poly,
}

impl Facts<'_> {
    fn op(&self) -> &str {
        &self.n.op_type
    }

    fn in_shape(&self) -> Option<&[crate::shape::Dim]> {
        self.n.inputs.first().and_then(|i| i.shape.as_deref())
    }

    fn numel_in(&self) -> Result<Poly, Overflow> {
        elements(self.in_shape())
    }

    fn numel_out(&self) -> Result<Poly, Overflow> {
        elements(self.n.outputs.first().and_then(|o| o.shape.as_deref()))
    }

    /// A learned bias: a bias input that is a parameter (the dynamo
    /// exporter gives a convolution without one a computed zero bias).
    fn has_bias(&self) -> bool {
        self.n.inputs.get(2).is_some_and(|i| i.param)
    }

    /// A node made by a call of `module` (by class name; any when the file
    /// records no classes).
    fn in_module(&self, classes: &[&str]) -> bool {
        self.class.is_empty() || classes.contains(&self.class)
    }

    fn from(&self, op: &str) -> bool {
        self.n.origin().source_op.contains(op)
    }

    fn is_norm(&self) -> bool {
        matches!(
            self.op(),
            "BatchNormalization"
                | "LayerNormalization"
                | "InstanceNormalization"
                | "GroupNormalization"
        )
    }

    /// An adaptive average pooling: a global one, or a mean or pooling an
    /// `AdaptiveAvgPool*d` module made.
    fn is_adaptive_avg_pool(&self) -> bool {
        self.op() == "GlobalAveragePool"
            || (matches!(self.op(), "ReduceMean" | "AveragePool")
                && (self.class.starts_with("AdaptiveAvgPool") || self.from("adaptive_avg_pool")))
    }

    /// Input elements per output element of a pooling.
    fn window(&self) -> Result<Poly, Overflow> {
        let (i, o) = (self.numel_in()?, self.numel_out()?);
        Ok(o.as_constant()
            .filter(|&o| o > 0)
            .and_then(|o| i.as_constant().map(|i| Poly::constant(i / o)))
            .unwrap_or(Poly::ZERO))
    }
}

/// The elements of a shape; none when it is unknown (a preset then counts
/// nothing for it).
fn elements(shape: Option<&[crate::shape::Dim]>) -> Result<Poly, Overflow> {
    Ok(shape
        .map(numel)
        .transpose()?
        .flatten()
        .unwrap_or(Poly::ZERO))
}

fn count(n: &NodeReport, convention: Convention) -> Result<Poly, Overflow> {
    let cost = n.cost.as_ref().expect("a counted node");
    let f = Facts {
        n,
        class: n.origin().module_classes.last().map_or("", |c| &**c),
        macs: cost.macs.clone(),
    };
    match convention {
        Convention::Nncost => Ok(cost.flops.clone()),
        Convention::Torch => f.macs.checked_scale(2),
        Convention::Torchvision => Ok(f.macs),
        Convention::Fvcore => fvcore(&f),
        Convention::Thop => thop(&f),
        Convention::Ptflops => ptflops(&f),
    }
}

/// `FlopCounterMode`'s backward of a product: 2 FLOPs per MAC for each
/// operand gradient, except that it counts a grouped convolution's filter
/// gradient as if the convolution were not grouped (`groups` times the
/// real count: PyTorch's `conv_backward_flop` transposes the shapes without
/// the groups), which the preset repeats so as to give its number.
fn torch_backward(n: &NodeReport, b: &crate::training::Backward) -> Result<Poly, Overflow> {
    let macs = n.macs().cloned().unwrap_or(Poly::ZERO);
    let first = b.gradients - u8::from(b.second_operand);
    let mut flops = macs.checked_scale(2 * i128::from(first))?;
    if b.second_operand {
        let groups = if n.op_type == "Conv" {
            conv_groups(n)
        } else {
            1
        };
        flops = flops.checked_add(&macs.checked_scale(groups.checked_mul(2).ok_or(Overflow)?)?)?;
    }
    // Its attention backward also recomputes the scores `Q·Kᵀ`: one more
    // product, counted here half on each of the attention's two products
    // (equal when queries and values have the same width, as always in
    // torchvision).
    if n.origin()
        .source_op
        .contains("scaled_dot_product_attention")
        && b.gradients > 0
    {
        flops = flops.checked_add(&macs)?;
    }
    Ok(flops)
}

/// For a product of a scaled-dot-product attention, the batch, heads,
/// query length, key length and head width when it is the scores' product
/// `Q·Kᵀ` (`[B, H, L, d] × [B, H, d, S]`), and `None` for the other
/// (`A·V`, `[B, H, L, S] × [B, H, S, d]`). Told apart by the output's last
/// axis: the keys' count for the scores, which is the queries' count in
/// self-attention, against a head's width.
fn attention_scores(n: &NodeReport) -> Option<[i128; 5]> {
    let dims = |shape: Option<&[crate::shape::Dim]>| -> Option<Vec<i128>> {
        shape?
            .iter()
            .map(|d| d.poly().and_then(Poly::as_constant))
            .collect()
    };
    let q = dims(n.inputs.first()?.shape.as_deref())?;
    let out = dims(n.outputs.first()?.shape.as_deref())?;
    let [.., l, d] = q.as_slice() else {
        return None;
    };
    let s = *out.last()?;
    let batch_heads = q[..q.len() - 2]
        .iter()
        .try_fold(1i128, |acc, &x| acc.checked_mul(x))?;
    let heads = if q.len() >= 4 { q[q.len() - 3] } else { 1 };
    (s == *l && s != *d).then_some([batch_heads / heads.max(1), heads, *l, s, *d])
}

/// A convolution's groups: its input channels over its filter's.
fn conv_groups(n: &NodeReport) -> i128 {
    let channels = |i: usize| {
        n.inputs
            .get(i)
            .and_then(|x| x.shape.as_ref())
            .and_then(|s| s.get(1))
            .and_then(|d| d.poly())
            .and_then(Poly::as_constant)
    };
    match (channels(0), channels(1)) {
        (Some(c), Some(per_group)) if per_group > 0 && c % per_group == 0 => c / per_group,
        _ => 1,
    }
}

/// ptflops' count for one `nn.MultiheadAttention` call on `b` sequences
/// of `l` queries and `s` keys, `h` heads of width `d` (model width `h·d`),
/// with biases: `l·D` (scaling), the three projections `(l + 2s)·D²` and
/// their biases `(l + 2s)·D`, per head `l·s·d` scores, `l·s` softmax and
/// `l·s·d` weighted sum, and the output projection `l·D·(D + 1)`.
/// `None` past 128 bits.
fn multihead_attention(b: i128, h: i128, l: i128, s: i128, d: i128) -> Option<i128> {
    let mul = |terms: &[i128]| terms.iter().try_fold(1i128, |acc, &x| acc.checked_mul(x));
    let width = mul(&[h, d])?;
    let rows = l.checked_add(s.checked_mul(2)?)?;
    let scores = mul(&[l, s])?;
    let per_head = mul(&[scores, d])?.checked_mul(2)?.checked_add(scores)?;
    let per_sequence = [
        mul(&[l, width])?,
        mul(&[rows, width, width])?,
        mul(&[rows, width])?,
        mul(&[h, per_head])?,
        mul(&[l, width, width.checked_add(1)?])?,
    ]
    .iter()
    .try_fold(0i128, |acc, &x| acc.checked_add(x))?;
    b.checked_mul(per_sequence)
}

fn fvcore(f: &Facts) -> Result<Poly, Overflow> {
    if f.n.products.is_some() {
        // Traced as one `aten::scaled_dot_product_attention`, which fvcore
        // has no handle for.
        return Ok(if f.from("scaled_dot_product_attention") {
            Poly::ZERO
        } else {
            f.macs.clone()
        });
    }
    match f.op() {
        "BatchNormalization" => f.numel_in()?.checked_scale(2),
        "LayerNormalization" | "InstanceNormalization" | "GroupNormalization" => {
            f.numel_in()?.checked_scale(5)
        }
        _ if f.is_adaptive_avg_pool() => f.numel_in(),
        "Resize" | "Upsample" => f.numel_out(),
        _ => Ok(Poly::ZERO),
    }
}

/// The convolution modules both module-based tools hook.
const CONV: &[&str] = &[
    "Conv1d",
    "Conv2d",
    "Conv3d",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "ConvTranspose3d",
];

fn thop(f: &Facts) -> Result<Poly, Overflow> {
    const NORM: &[&str] = &[
        "BatchNorm1d",
        "BatchNorm2d",
        "BatchNorm3d",
        "SyncBatchNorm",
        "LayerNorm",
        "InstanceNorm1d",
        "InstanceNorm2d",
        "InstanceNorm3d",
    ];
    match f.op() {
        "Conv" | "ConvTranspose" if f.in_module(CONV) => Ok(f.macs.clone()),
        "Gemm" | "MatMul" if f.in_module(&["Linear"]) => Ok(f.macs.clone()),
        _ if f.is_norm() && f.in_module(NORM) => f.numel_in()?.checked_scale(4),
        "PRelu" if f.in_module(&["PReLU"]) => f.numel_in(),
        // `nn.Softmax`: n exps, n − 1 adds and n divides per row of n
        // (rows along the last axis, as the module is almost always used).
        "Softmax" if f.class == "Softmax" => {
            let rows = elements(
                f.in_shape()
                    .and_then(|s| s.split_last())
                    .map(|(_, rest)| rest),
            )?;
            f.numel_in()?.checked_scale(3)?.checked_sub(&rows)
        }
        _ if f.is_adaptive_avg_pool()
            && f.in_module(&[
                "AdaptiveAvgPool1d",
                "AdaptiveAvgPool2d",
                "AdaptiveAvgPool3d",
            ]) =>
        {
            f.window()?
                .checked_add(&Poly::constant(1))?
                .checked_mul(&f.numel_out()?)
        }
        "AveragePool" if f.in_module(&["AvgPool1d", "AvgPool2d", "AvgPool3d"]) => f.numel_out(),
        _ => Ok(Poly::ZERO),
    }
}

fn ptflops(f: &Facts) -> Result<Poly, Overflow> {
    const NORM: &[&str] = &[
        "BatchNorm1d",
        "BatchNorm2d",
        "BatchNorm3d",
        "InstanceNorm1d",
        "InstanceNorm2d",
        "InstanceNorm3d",
        "GroupNorm",
        "LayerNorm",
    ];
    const POOL: &[&str] = &[
        "MaxPool1d",
        "MaxPool2d",
        "MaxPool3d",
        "AvgPool1d",
        "AvgPool2d",
        "AvgPool3d",
        "AdaptiveMaxPool1d",
        "AdaptiveMaxPool2d",
        "AdaptiveMaxPool3d",
        "AdaptiveAvgPool1d",
        "AdaptiveAvgPool2d",
        "AdaptiveAvgPool3d",
    ];
    let bias = |f: &Facts| -> Result<Poly, Overflow> {
        if f.has_bias() {
            f.numel_out()
        } else {
            Ok(Poly::ZERO)
        }
    };
    // A module the backend hooks counts by its rule; the functions it
    // intercepts count again when such a module calls them.
    let module = f.class;
    Ok(match f.op() {
        "Conv" | "ConvTranspose" if f.in_module(CONV) => f.macs.checked_add(&bias(f)?)?,
        "Gemm" | "MatMul" if f.in_module(&["Linear"]) => f.macs.checked_add(&bias(f)?)?,
        // A Linear on more than two axes is exported as MatMul, then the
        // bias added apart: its hook counts that addition too.
        "Add"
            if module == "Linear"
                && f.from("aten.linear")
                && f.n.inputs.iter().any(|i| i.param) =>
        {
            f.numel_out()?
        }
        // nn.MultiheadAttention's hook: its own formula for the whole
        // module (projections, scores, softmax, weighted sum, output
        // projection), put on the scores' product; the rest of the module
        // counts nothing more (F.linear and the fused attention are not
        // intercepted).
        "MatMul" if module == "MultiheadAttention" && f.from("scaled_dot_product_attention") => {
            match attention_scores(f.n) {
                Some([b, h, l, s, d]) => {
                    Poly::constant(multihead_attention(b, h, l, s, d).ok_or(Overflow)?)
                }
                None => Poly::ZERO,
            }
        }
        // Swin V2 computes its scores with `@`, which ptflops does not
        // intercept (it does `torch.matmul` and `Tensor.matmul`).
        "MatMul" if module == "ShiftedWindowAttentionV2" && attention_scores(f.n).is_some() => {
            Poly::ZERO
        }
        // torch.matmul, Tensor.matmul, mm, bmm: MACs; addmm: with bias.
        "MatMul" if f.from("aten.matmul") || f.from("aten.bmm") || f.from("aten.mm") => {
            f.macs.clone()
        }
        // `affine` doubles it; LayerNorm has `elementwise_affine` instead,
        // which ptflops does not read.
        _ if f.is_norm() && f.in_module(NORM) => {
            let twice = f.class != "LayerNorm" && !f.class.starts_with("InstanceNorm");
            f.numel_in()?.checked_scale(if twice { 2 } else { 1 })?
        }
        "Relu" => match module {
            // The module's hook, and F.relu it calls (a file that records
            // no modules: taken as an nn.ReLU, the common case).
            "ReLU" | "" => f.numel_out()?.checked_scale(2)?,
            _ if f.from("aten.relu") => f.numel_in()?,
            _ => Poly::ZERO,
        },
        "Clip" if module == "ReLU6" => f.numel_out()?,
        "LeakyRelu" if module == "LeakyReLU" => f.numel_out()?,
        "Elu" if module == "ELU" => f.numel_out()?.checked_scale(2)?,
        "PRelu" if module == "PReLU" => f.numel_out()?.checked_scale(2)?,
        "Gelu" | "Erf" if module == "GELU" && f.op() == "Gelu" => {
            f.numel_out()?.checked_scale(2)?
        }
        "Gelu" if f.from("aten.gelu") => f.numel_in()?,
        // SiLU is no hooked module, but F.silu is intercepted (it is
        // exported as Sigmoid then Mul: counted once, on the Mul).
        "Mul" if module == "SiLU" || f.from("aten.silu") => f.numel_in()?,
        "Softmax" if f.from("aten.softmax") || f.from("aten._softmax") => f.numel_in()?,
        "MaxPool" | "AveragePool" | "GlobalAveragePool" | "GlobalMaxPool" | "ReduceMean"
        | "ReduceMax"
            if f.in_module(POOL) =>
        {
            f.numel_in()?.checked_scale(2)?
        }
        "MaxPool" | "AveragePool" if f.from("pool") => f.numel_in()?,
        "Resize" | "Upsample" if module == "Upsample" => f.numel_out()?.checked_scale(2)?,
        "Resize" | "Upsample" if f.from("upsample") || f.from("interpolate") => f.numel_out()?,
        _ => Poly::ZERO,
    })
}
