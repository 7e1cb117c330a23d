//! Sliding-window geometry shared by convolution and pooling: kernel,
//! strides, dilations, pads, `auto_pad` and `ceil_mode`.
//!
//! Output size per spatial axis (ONNX and PyTorch):
//! `out = ⌊(in + pad_begin + pad_end − dilation·(k − 1) − 1) / stride⌋ + 1`,
//! with ⌈⌉ instead of ⌊⌋ under `ceil_mode`, where a last window that would
//! start in the right padding is dropped (PyTorch's rule, which ONNX follows).

use crate::ops::{NodeCtx, OpError};
use crate::poly::Poly;
use crate::shape::Dim;

/// Window attributes of one node, resolved for `n` spatial axes.
pub struct Window {
    pub kernel: Vec<i64>,
    pub strides: Vec<i64>,
    pub dilations: Vec<i64>,
    /// `[begin_0, .., begin_n-1, end_0, .., end_n-1]`, as in ONNX.
    pub pads: Vec<i64>,
    pub auto_pad: AutoPad,
    pub ceil_mode: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AutoPad {
    NotSet,
    SameUpper,
    SameLower,
    Valid,
}

impl Window {
    /// Reads `strides`, `dilations`, `pads`, `auto_pad` and `ceil_mode`
    /// for the given kernel.
    pub fn from_attrs(ctx: &NodeCtx, kernel: Vec<i64>) -> Result<Window, OpError> {
        let n = kernel.len();
        let list = |name: &str, default: i64| -> Result<Vec<i64>, OpError> {
            match ctx.attr_ints(name)? {
                Some(v) if v.len() == n => Ok(v.to_vec()),
                Some(v) => Err(OpError::Invalid(format!(
                    "attribute '{name}' has {} values for {n} spatial axes",
                    v.len()
                ))),
                None => Ok(vec![default; n]),
            }
        };
        let strides = list("strides", 1)?;
        let dilations = list("dilations", 1)?;
        let pads = match ctx.attr_ints("pads")? {
            Some(v) if v.len() == 2 * n => v.to_vec(),
            Some(v) => {
                return Err(OpError::Invalid(format!(
                    "attribute 'pads' has {} values for {n} spatial axes",
                    v.len()
                )))
            }
            None => vec![0; 2 * n],
        };
        let auto_pad = match ctx.attr_str("auto_pad")?.unwrap_or("NOTSET") {
            "NOTSET" | "" => AutoPad::NotSet,
            "SAME_UPPER" => AutoPad::SameUpper,
            "SAME_LOWER" => AutoPad::SameLower,
            "VALID" => AutoPad::Valid,
            other => return Err(OpError::Invalid(format!("unknown auto_pad '{other}'"))),
        };
        if kernel
            .iter()
            .chain(&strides)
            .chain(&dilations)
            .any(|&v| v < 1)
        {
            return Err(OpError::Invalid(
                "kernel, strides and dilations must be positive".into(),
            ));
        }
        if pads.iter().any(|&p| p < 0) {
            return Err(OpError::Invalid("pads must be non-negative".into()));
        }
        Ok(Window {
            kernel,
            strides,
            dilations,
            pads,
            auto_pad,
            ceil_mode: ctx.attr_int("ceil_mode", 0)? != 0,
        })
    }

    /// Effective extent of the dilated kernel on axis `i` (in `i128`: huge
    /// attribute values must not overflow).
    fn extent(&self, i: usize) -> i128 {
        self.dilations[i] as i128 * (self.kernel[i] as i128 - 1) + 1
    }

    /// Output size on spatial axis `i` for input size `input`.
    pub fn output_dim(&self, i: usize, input: &Dim) -> Result<Dim, OpError> {
        let Some(size) = input.poly() else {
            return Ok(Dim::Unknown);
        };
        let stride = self.strides[i] as i128;
        let extent = self.extent(i);
        match self.auto_pad {
            // SAME keeps ⌈in / stride⌉.
            AutoPad::SameUpper | AutoPad::SameLower => {
                let numer = size.checked_add(&Poly::constant(stride - 1))?;
                floor_div(&numer, stride)
            }
            AutoPad::Valid => {
                let numer = size.checked_sub(&Poly::constant(extent))?;
                if numer.as_constant().is_some_and(|c| c < 0) {
                    return Err(OpError::Invalid(format!(
                        "window of extent {extent} does not fit input size {size} (auto_pad VALID) on spatial axis {i}"
                    )));
                }
                plus_one(floor_div(&numer, stride)?)
            }
            AutoPad::NotSet => {
                let pad = self.pads[i] as i128 + self.pads[i + self.kernel.len()] as i128;
                let span = size.checked_add(&Poly::constant(pad - extent))?;
                if let Some(c) = span.as_constant() {
                    if c < 0 {
                        return Err(OpError::Invalid(format!(
                            "window of extent {extent} does not fit input size {} with padding {pad} on spatial axis {i}",
                            size
                        )));
                    }
                }
                if !self.ceil_mode {
                    return plus_one(floor_div(&span, stride)?);
                }
                let begin = self.pads[i] as i128;
                let Some(span) = span.as_constant() else {
                    // Symbolic: ⌈span / stride⌉ + 1 windows, less a last one
                    // that would start in the right padding. A window may
                    // start at (out − 1)·stride < in + begin, so the count is
                    // min(⌈span/stride⌉ + 1, ⌈(in + begin)/stride⌉): exact for
                    // every size (the clamp drops at most one window).
                    let windows = plus_one(Dim::Known(span.ceil_div(stride)?))?;
                    let starts = size.checked_add(&Poly::constant(begin))?.ceil_div(stride)?;
                    return Ok(windows.min(&Dim::Known(starts))?);
                };
                let mut out = span.div_euclid(stride) + 1 + i128::from(span % stride != 0);
                // Drop a last window that starts in the right padding.
                let input = size.as_constant().unwrap_or(i128::MAX);
                if (out - 1).saturating_mul(stride) >= input.saturating_add(begin) {
                    out -= 1;
                }
                Ok(Dim::Known(Poly::constant(out)))
            }
        }
    }

    /// Total padding on axis `i` that `auto_pad = SAME_*` implies, so that
    /// explanations can show it.
    pub fn same_padding(&self, i: usize, input: i64, output: i64) -> i64 {
        let total = (output as i128 - 1) * self.strides[i] as i128 + self.extent(i) - input as i128;
        total.clamp(0, i64::MAX as i128) as i64
    }
}

/// `⌊p / k⌋`, exact for symbolic sizes too.
fn floor_div(p: &Poly, k: i128) -> Result<Dim, OpError> {
    Ok(Dim::Known(p.floor_div(k)?))
}

fn plus_one(d: Dim) -> Result<Dim, OpError> {
    Ok(d.add(&Dim::int(1))?)
}

/// Spatial kernel from the `kernel_shape` attribute, or else from the
/// weight's dims after the first two.
pub fn kernel_shape(ctx: &NodeCtx, weight_input: Option<usize>) -> Result<Vec<i64>, OpError> {
    if let Some(k) = ctx.attr_ints("kernel_shape")? {
        return Ok(k.to_vec());
    }
    let Some(w) = weight_input else {
        return Err(OpError::Invalid(
            "attribute 'kernel_shape' is required".into(),
        ));
    };
    let shape = ctx.known_shape(w)?;
    shape
        .iter()
        .skip(2)
        .map(|d| {
            d.as_i64()
                .ok_or_else(|| OpError::Invalid("kernel size must be a known integer".into()))
        })
        .collect()
}
