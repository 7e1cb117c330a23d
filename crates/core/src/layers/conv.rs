//! Convolution and transposed convolution, 1-, 2- and 3-D (by the input's
//! rank), with groups (depthwise when `groups = C_in`), dilation, stride and
//! padding, including `same`.

use super::builder::{int, ints, string};
use super::explain::{
    ceil, decimal, floor, group, minus, num, over, plus, sum, times, Explanation, Expr, Section,
    Step,
};
use super::{
    axis_names, dims_text, per_axis, sample_dims, GraphBuilder, Layer, LayerCost, LayerError,
};
use crate::graph::ValueId;
use crate::ops::window::{AutoPad, Window};
use crate::shape::Dim;

/// Padding of a convolution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Padding {
    /// The same padding at both ends of each axis: one value for all axes,
    /// or one per axis (PyTorch's `padding=1` or `padding=(1, 2)`).
    Explicit(Vec<i64>),
    /// Output size `⌈in / stride⌉`, padding split with the odd one at the
    /// end (ONNX `SAME_UPPER`; PyTorch's `padding="same"` at stride 1).
    Same,
}

impl From<i64> for Padding {
    fn from(p: i64) -> Padding {
        Padding::Explicit(vec![p])
    }
}

impl From<&[i64]> for Padding {
    fn from(p: &[i64]) -> Padding {
        Padding::Explicit(p.to_vec())
    }
}

/// How a window's output size is rounded when the division is not exact.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Round {
    /// `⌊⌋`: PyTorch and ONNX for convolution, and for pooling without
    /// `ceil_mode`; the article for pooling.
    #[default]
    Down,
    /// `⌈⌉`: the article for convolution; Caffe (and `ceil_mode`) for pooling.
    Up,
}

/// A convolution, as PyTorch's `Conv1d`/`Conv2d`/`Conv3d`.
///
/// ```
/// use nncost_core::layers::{Conv, Layer, Padding};
///
/// // ResNet's stem: 3 → 64, 7×7, stride 2, padding 3, no bias.
/// let stem = Conv::new(64, &[7]).stride(&[2]).padding(3).bias(false);
/// let c = stem.cost(&[3, 224, 224]).unwrap();
/// assert_eq!(c.output_shape, [64, 112, 112]);
/// assert_eq!(c.macs, 118_013_952);
/// // Without a bias each output costs k·C_in multiplications and one
/// // addition fewer: 2·MACs − C_out·H_out·W_out.
/// assert_eq!(c.flops, 2 * 118_013_952 - 64 * 112 * 112);
///
/// // Depthwise, "same" padding at stride 2: ⌈112 / 2⌉ = 56.
/// let dw = Conv::new(32, &[3]).stride(&[2]).padding(Padding::Same).groups(32);
/// assert_eq!(dw.cost(&[32, 112, 112]).unwrap().output_shape, [32, 56, 56]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conv {
    pub out_channels: i64,
    /// One size for every spatial axis, or one per axis.
    pub kernel: Vec<i64>,
    pub stride: Vec<i64>,
    pub padding: Padding,
    pub dilation: Vec<i64>,
    pub groups: i64,
    pub bias: bool,
    /// Rounding of the output size. ONNX convolutions round down; rounding
    /// up (the article's rule) is given to the engine as extra padding at
    /// the end of each axis where the division is not exact.
    pub round: Round,
}

impl Conv {
    /// A convolution with stride 1, no padding, no dilation, one group and a
    /// bias (PyTorch's defaults).
    pub fn new(out_channels: i64, kernel: &[i64]) -> Conv {
        Conv {
            out_channels,
            kernel: kernel.to_vec(),
            stride: vec![1],
            padding: Padding::Explicit(vec![0]),
            dilation: vec![1],
            groups: 1,
            bias: true,
            round: Round::Down,
        }
    }

    pub fn stride(mut self, stride: &[i64]) -> Conv {
        self.stride = stride.to_vec();
        self
    }

    pub fn padding(mut self, padding: impl Into<Padding>) -> Conv {
        self.padding = padding.into();
        self
    }

    pub fn dilation(mut self, dilation: &[i64]) -> Conv {
        self.dilation = dilation.to_vec();
        self
    }

    pub fn groups(mut self, groups: i64) -> Conv {
        self.groups = groups;
        self
    }

    pub fn bias(mut self, bias: bool) -> Conv {
        self.bias = bias;
        self
    }

    pub fn round(mut self, round: Round) -> Conv {
        self.round = round;
        self
    }

    fn geometry(&self, shape: &[Dim]) -> Result<Geometry, LayerError> {
        let dims = sample_dims(shape)?;
        let g = Geometry::new(
            &dims,
            &self.kernel,
            &self.stride,
            &self.dilation,
            &self.padding,
            "convolution",
        )?;
        check_channels(g.channels, self.out_channels, self.groups)?;
        Ok(g)
    }

    /// Extra padding at the end of each axis that makes ONNX's rounding down
    /// give the article's rounding up.
    fn extra_padding(&self, g: &Geometry) -> Vec<i64> {
        match (self.round, &self.padding) {
            (Round::Up, Padding::Explicit(_)) => (0..g.spatial.len())
                .map(|i| {
                    let span = g.span(i);
                    let r = span.rem_euclid(g.stride[i]);
                    if span >= 0 && r != 0 {
                        g.stride[i] - r
                    } else {
                        0
                    }
                })
                .collect(),
            _ => vec![0; g.spatial.len()],
        }
    }
}

/// Checks channel counts against groups, as PyTorch does.
fn check_channels(c_in: i64, c_out: i64, groups: i64) -> Result<(), LayerError> {
    if c_out < 1 {
        return Err(LayerError::Invalid(format!(
            "out_channels must be positive, got {c_out}"
        )));
    }
    if groups < 1 {
        return Err(LayerError::Invalid(format!(
            "groups must be positive, got {groups}"
        )));
    }
    for (what, c) in [("input channels", c_in), ("out_channels", c_out)] {
        if c % groups != 0 {
            return Err(LayerError::Invalid(format!(
                "{what} ({c}) must be divisible by groups ({groups})"
            )));
        }
    }
    Ok(())
}

/// A window over the spatial axes of a `[C, spatial...]` sample, resolved
/// per axis. Shared with pooling.
pub(crate) struct Geometry {
    pub channels: i64,
    pub spatial: Vec<i64>,
    pub kernel: Vec<i64>,
    pub stride: Vec<i64>,
    pub dilation: Vec<i64>,
    /// Padding at each end (0 under `same`).
    pub pad: Vec<i64>,
    pub same: bool,
}

impl Geometry {
    pub fn new(
        dims: &[i64],
        kernel: &[i64],
        stride: &[i64],
        dilation: &[i64],
        padding: &Padding,
        what: &str,
    ) -> Result<Geometry, LayerError> {
        if !(2..=4).contains(&dims.len()) {
            return Err(LayerError::Invalid(format!(
                "a {what} takes a [C, L], [C, H, W] or [C, D, H, W] input, got {} dims ({})",
                dims.len(),
                dims_text(dims)
            )));
        }
        let n = dims.len() - 1;
        let kernel = per_axis(kernel, n, "kernel")?;
        let stride = per_axis(stride, n, "stride")?;
        let dilation = per_axis(dilation, n, "dilation")?;
        if kernel
            .iter()
            .chain(&stride)
            .chain(&dilation)
            .any(|&v| v < 1)
        {
            return Err(LayerError::Invalid(
                "kernel, stride and dilation must be positive".into(),
            ));
        }
        let (pad, same) = match padding {
            Padding::Same => (vec![0; n], true),
            Padding::Explicit(p) => {
                let p = per_axis(p, n, "padding")?;
                if p.iter().any(|&v| v < 0) {
                    return Err(LayerError::Invalid("padding must not be negative".into()));
                }
                (p, false)
            }
        };
        // What the window arithmetic holds in i64: the extent d·(k − 1) + 1,
        // and the padded input in + 2·pad with up to a stride more (rounding
        // up, the padding added for it). Sizes near i64::MAX once overflowed
        // in `span` and `extent` before the engine saw them.
        for i in 0..n {
            let extent = dilation[i]
                .checked_mul(kernel[i] - 1)
                .and_then(|e| e.checked_add(1));
            let padded = pad[i]
                .checked_mul(2)
                .and_then(|p| p.checked_add(dims[i + 1]))
                .and_then(|p| p.checked_add(stride[i]));
            if extent.is_none() || padded.is_none() {
                return Err(LayerError::Invalid(format!(
                    "kernel {}, stride {}, dilation {} and padding {} on spatial axis {i} of size \
                     {} are too large to compute with (past 64 bits)",
                    kernel[i],
                    stride[i],
                    dilation[i],
                    pad[i],
                    dims[i + 1]
                )));
            }
        }
        Ok(Geometry {
            channels: dims[0],
            spatial: dims[1..].to_vec(),
            kernel,
            stride,
            dilation,
            pad,
            same,
        })
    }

    /// `d·(k − 1) + 1`: the input positions one window spans.
    pub fn extent(&self, i: usize) -> i64 {
        self.dilation[i] * (self.kernel[i] - 1) + 1
    }

    /// `in + 2·pad − extent`: what the output-size formula divides.
    pub fn span(&self, i: usize) -> i64 {
        self.spatial[i] + 2 * self.pad[i] - self.extent(i)
    }

    /// The engine's `pads` attribute: begins, then ends (plus `extra`).
    pub fn pads_attr(&self, extra: &[i64]) -> Vec<i64> {
        let ends = self.pad.iter().zip(extra).map(|(p, e)| p + e);
        self.pad.iter().copied().chain(ends).collect()
    }

    /// The engine's window attributes.
    pub fn window_attrs(&self, extra: &[i64]) -> Vec<crate::graph::Attribute> {
        let mut a = vec![
            ints("kernel_shape", &self.kernel),
            ints("strides", &self.stride),
        ];
        if self.dilation.iter().any(|&d| d != 1) {
            a.push(ints("dilations", &self.dilation));
        }
        if self.same {
            a.push(string("auto_pad", "SAME_UPPER"));
        } else {
            a.push(ints("pads", &self.pads_attr(extra)));
        }
        a
    }

    /// `in − k + 2·pad` (or `in − d·(k − 1) − 1 + 2·pad` when dilated), as
    /// the article writes it.
    pub fn span_expr(&self, i: usize) -> Expr {
        let mut terms = vec![(false, num(self.spatial[i]))];
        if self.dilation[i] == 1 {
            terms.push((true, num(self.kernel[i])));
        } else {
            terms.push((
                true,
                times(vec![
                    num(self.dilation[i]),
                    minus(num(self.kernel[i]), num(1)),
                ]),
            ));
            terms.push((true, num(1)));
        }
        terms.push((false, times(vec![num(2), num(self.pad[i])])));
        sum(terms)
    }

    /// The title of the output-size section, in symbols.
    pub fn size_formula(&self, round_up: bool) -> String {
        if self.same {
            return "Output size per spatial axis with padding \"same\": ⌈in / stride⌉".into();
        }
        let (open, close) = if round_up {
            ("⌈", "⌉")
        } else {
            ("⌊", "⌋")
        };
        let span = if self.dilation.iter().all(|&d| d == 1) {
            "in − k + 2·padding"
        } else {
            "in − dilation·(k − 1) − 1 + 2·padding"
        };
        format!("Output size per spatial axis: {open}({span}) / stride{close} + 1")
    }

    /// Under `same`, the padding the engine applies on axis `i` for output
    /// size `out`: `(before, after)`.
    pub fn same_split(&self, i: usize, out: i64) -> (i64, i64) {
        let n = self.spatial.len();
        let window = Window {
            kernel: self.kernel.clone(),
            strides: self.stride.clone(),
            dilations: self.dilation.clone(),
            pads: vec![0; 2 * n],
            auto_pad: AutoPad::SameUpper,
            ceil_mode: false,
        };
        let total = window.same_padding(i, self.spatial[i], out);
        (total / 2, total - total / 2)
    }

    /// `k_h·k_w·…` with the numbers.
    pub fn kernel_factors(&self) -> Vec<Expr> {
        self.kernel.iter().map(|&k| num(k)).collect()
    }

    /// `k_h·k_w` in symbols.
    pub fn kernel_symbols(&self) -> String {
        let names = axis_names(self.spatial.len());
        names
            .iter()
            .map(|a| format!("k_{}", a.to_lowercase()))
            .collect::<Vec<_>>()
            .join("·")
    }

    /// `H_out·W_out` in symbols.
    pub fn out_symbols(&self) -> String {
        axis_names(self.spatial.len())
            .iter()
            .map(|a| format!("{a}_out"))
            .collect::<Vec<_>>()
            .join("·")
    }

    /// `H_in·W_in` in symbols.
    pub fn in_symbols(&self) -> String {
        axis_names(self.spatial.len())
            .iter()
            .map(|a| format!("{a}_in"))
            .collect::<Vec<_>>()
            .join("·")
    }
}

/// Which rounding convention an output-size step is explained against.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    Conv,
    Pool,
}

/// The output-size steps of a windowed layer, one per spatial axis.
/// `extra` is the end padding added for rounding up (convolution); `out`
/// the engine's output sizes.
pub(crate) fn size_section(
    g: &Geometry,
    family: Family,
    round: Round,
    extra: &[i64],
    out: &[i64],
) -> Section {
    let mut section = Section::new(g.size_formula(round == Round::Up));
    for (i, axis) in axis_names(g.spatial.len()).iter().enumerate() {
        let label = format!("{axis}_out");
        let engine = out[i] as i128;
        if g.same {
            let (before, after) = g.same_split(i, out[i]);
            let step =
                Step::new(label, ceil(num(g.spatial[i]), num(g.stride[i])), engine).note(format!(
                    "padding \"same\" pads {} on this axis: {before} before and {after} after \
                     (ONNX SAME_UPPER: an odd one goes at the end)",
                    before + after
                ));
            section = section.step(step);
            continue;
        }
        let span = g.span(i);
        let s = g.stride[i];
        let whole = span.rem_euclid(s) == 0;
        let fraction = format!("{} / {s} {}", span, decimal(span as i128, s as i128));
        let step = match (family, round) {
            (_, Round::Down) => {
                let step = Step::new(label, plus(floor(g.span_expr(i), num(s)), num(1)), engine);
                if whole {
                    step
                } else if family == Family::Conv {
                    step.note(format!(
                        "{fraction} is not whole: rounded down, as PyTorch and ONNX do for \
                         convolution; the article rounds convolution up (--round up)"
                    ))
                } else {
                    step.note(format!(
                        "{fraction} is not whole: rounded down, as PyTorch and ONNX do for \
                         pooling without ceil_mode, and as the article does; Caffe rounds \
                         pooling up (--round up, or --ceil-mode)"
                    ))
                }
            }
            (Family::Conv, Round::Up) => {
                let step = Step::new(label, plus(ceil(g.span_expr(i), num(s)), num(1)), engine);
                if whole {
                    step
                } else {
                    let padded = plus(g.span_expr(i), num(extra[i]));
                    step.also(plus(floor(padded, num(s)), num(1))).note(format!(
                        "{fraction} is not whole: rounded up, the article's rule for \
                         convolution (PyTorch and ONNX round down); the engine follows ONNX, \
                         so it was given {} more padding at the end of this axis (the second form)",
                        extra[i]
                    ))
                }
            }
            (Family::Pool, Round::Up) => {
                let rounded = plus(ceil(g.span_expr(i), num(s)), num(1));
                let ceiled = span.div_euclid(s) + 1 + i64::from(!whole);
                // PyTorch's rule (Caffe's too), which ONNX follows: a last
                // window that would start in the right padding is dropped.
                let dropped = (ceiled - 1) * s >= g.spatial[i] + g.pad[i];
                let step = if dropped {
                    Step::new(label, minus(rounded, num(1)), engine)
                } else {
                    Step::new(label, rounded, engine)
                };
                let mut note = if whole {
                    String::new()
                } else {
                    format!(
                        "{fraction} is not whole: rounded up (ceil_mode), as Caffe does for \
                         pooling; PyTorch and ONNX round down unless ceil_mode is set."
                    )
                };
                if dropped {
                    if !note.is_empty() {
                        note.push(' ');
                    }
                    note.push_str(
                        "The last window would start in the right padding, so it is dropped \
                         (PyTorch's and Caffe's rule, which ONNX follows): − 1.",
                    );
                }
                if note.is_empty() {
                    step
                } else {
                    step.note(note)
                }
            }
        };
        section = section.step(step);
    }
    section
}

impl Layer for Conv {
    fn channels_first(&self) -> bool {
        true
    }

    fn kind(&self) -> &'static str {
        "conv"
    }

    fn describe(&self) -> String {
        let mut parts = vec![
            format!("{} filters", self.out_channels),
            format!("kernel {}", dims_text(&self.kernel)),
        ];
        parts.push(format!("stride {}", dims_text(&self.stride)));
        parts.push(match &self.padding {
            Padding::Same => "padding same".into(),
            Padding::Explicit(p) => format!("padding {}", dims_text(p)),
        });
        if self.dilation.iter().any(|&d| d != 1) {
            parts.push(format!("dilation {}", dims_text(&self.dilation)));
        }
        if self.groups != 1 {
            parts.push(format!("groups {}", self.groups));
        }
        if self.round == Round::Up && self.padding != Padding::Same {
            parts.push("rounding up".into());
        }
        parts.push(if self.bias { "bias" } else { "no bias" }.into());
        parts.join(", ")
    }

    fn build(
        &self,
        b: &mut GraphBuilder,
        name: &str,
        x: ValueId,
        shape: &[Dim],
    ) -> Result<ValueId, LayerError> {
        let g = self.geometry(shape)?;
        let extra = self.extra_padding(&g);
        let mut wdims = vec![self.out_channels, g.channels / self.groups];
        wdims.extend(&g.kernel);
        let w = b.weight(&format!("{name}.weight"), &wdims);
        let bias = self
            .bias
            .then(|| b.weight(&format!("{name}.bias"), &[self.out_channels]));
        let mut attrs = g.window_attrs(&extra);
        if self.groups != 1 {
            attrs.push(int("group", self.groups));
        }
        Ok(b.node("Conv", name, &[Some(x), Some(w), bias], attrs))
    }

    fn bias(&self) -> Option<bool> {
        Some(self.bias)
    }

    fn with_bias(&self, bias: bool) -> Option<Box<dyn Layer>> {
        Some(Box::new(self.clone().bias(bias)))
    }

    fn explain(&self, cost: &LayerCost) -> Result<Explanation, LayerError> {
        let shape: Vec<Dim> = std::iter::once(1)
            .chain(cost.input_shape.iter().copied())
            .map(Dim::int)
            .collect();
        let g = self.geometry(&shape)?;
        let extra = self.extra_padding(&g);
        let out = &cost.output_shape[1..];
        let bias = cost
            .bias
            .ok_or_else(|| LayerError::Invalid("no bias counts".into()))?;
        let k = g.kernel_symbols();
        let cin = if self.groups == 1 {
            "C_in".to_string()
        } else {
            "C_in/groups".to_string()
        };
        let cin_expr = if self.groups == 1 {
            num(g.channels)
        } else {
            over(num(g.channels), num(self.groups))
        };
        let mut per_output = g.kernel_factors();
        per_output.push(cin_expr);
        let per_output = times(per_output);
        let c_out = num(self.out_channels);
        let outs: Vec<Expr> = out.iter().map(|&o| num(o)).collect();

        let size = size_section(&g, Family::Conv, self.round, &extra, out);

        let with_params = times(vec![plus(per_output.clone(), num(1)), c_out.clone()]);
        let without_params = times(vec![per_output.clone(), c_out.clone()]);
        let params = Section::new(format!(
            "Params: ({k}·{cin} + 1)·C_out with a bias, {k}·{cin}·C_out without"
        ));
        let params = bias_steps(params, &bias, with_params, without_params, true);

        let mut mac_factors = vec![per_output.clone()];
        mac_factors.extend(outs.iter().cloned());
        mac_factors.push(c_out.clone());
        let macs = Section::new(format!(
            "MACs, the article's FLOPs counting multiplications only: {k}·{cin}·{}·C_out",
            g.out_symbols()
        ))
        .step(Step::new(
            "MACs",
            times(flatten(mac_factors)),
            cost.macs as i128,
        ));

        let outputs = {
            let mut f = outs.clone();
            f.push(c_out);
            f
        };
        let dot = group(minus(per_output.clone(), num(1)));
        let with_flops = times(
            std::iter::once(group(sum(vec![
                (false, per_output.clone()),
                (false, dot.clone()),
                (false, num(1)),
            ])))
            .chain(outputs.iter().cloned())
            .collect(),
        );
        let without_flops = times(
            std::iter::once(group(plus(per_output, dot)))
                .chain(outputs.iter().cloned())
                .collect(),
        );
        let flops = Section::new(format!(
            "FLOPs with additions and bias, the article's [(k·{cin}) + (k·{cin} − 1) + 1]·{}·C_out, k = {k}",
            g.out_symbols()
        ));
        let flops = bias_steps(flops, &bias, with_flops, without_flops, false).note(format!(
            "per output: k·{cin} multiplications, one addition fewer to sum them, one for the bias; \
             = 2·MACs with a bias, 2·MACs − C_out·{} without",
            g.out_symbols()
        ));
        Ok(Explanation {
            sections: vec![size, params, macs, flops],
        })
    }
}

/// Flattens nested products so that `(3·3·3)·224` reads `3·3·3·224`.
pub(crate) fn flatten(factors: Vec<Expr>) -> Vec<Expr> {
    factors
        .into_iter()
        .flat_map(|f| match f {
            Expr::Product(inner) => flatten(inner),
            other => vec![other],
        })
        .collect()
}

/// The configured variant first (`params`, `FLOPs`), then the other one
/// (`without bias`, `with bias`).
pub(crate) fn bias_steps(
    section: Section,
    bias: &super::BiasCounts,
    with: Expr,
    without: Expr,
    params: bool,
) -> Section {
    let label = if params { "params" } else { "FLOPs" };
    let (with_value, without_value) = if params {
        (bias.params_with as i128, bias.params_without as i128)
    } else {
        (bias.flops_with as i128, bias.flops_without as i128)
    };
    if bias.enabled {
        section
            .step(Step::new(label, with, with_value))
            .step(Step::new("without bias", without, without_value))
    } else {
        section
            .step(Step::new(label, without, without_value))
            .step(Step::new("with bias", with, with_value))
    }
}

/// A transposed convolution, as PyTorch's `ConvTranspose1d`/`2d`/`3d`.
///
/// ```
/// use nncost_core::layers::{ConvTranspose, Layer};
///
/// // 2× upsampling: 64 → 32 channels, 4×4, stride 2, padding 1.
/// let up = ConvTranspose::new(32, &[4]).stride(&[2]).padding(&[1]);
/// let c = up.cost(&[64, 28, 28]).unwrap();
/// assert_eq!(c.output_shape, [32, 56, 56]);
/// // The work is on the input grid: C_in·H_in·W_in·C_out·k_h·k_w.
/// assert_eq!(c.macs, 64 * 28 * 28 * 32 * 16);
/// assert_eq!(c.params, 64 * 32 * 16 + 32);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvTranspose {
    pub out_channels: i64,
    pub kernel: Vec<i64>,
    pub stride: Vec<i64>,
    pub padding: Vec<i64>,
    pub output_padding: Vec<i64>,
    pub dilation: Vec<i64>,
    pub groups: i64,
    pub bias: bool,
}

impl ConvTranspose {
    /// Stride 1, no padding, one group, a bias (PyTorch's defaults).
    pub fn new(out_channels: i64, kernel: &[i64]) -> ConvTranspose {
        ConvTranspose {
            out_channels,
            kernel: kernel.to_vec(),
            stride: vec![1],
            padding: vec![0],
            output_padding: vec![0],
            dilation: vec![1],
            groups: 1,
            bias: true,
        }
    }

    pub fn stride(mut self, stride: &[i64]) -> Self {
        self.stride = stride.to_vec();
        self
    }

    pub fn padding(mut self, padding: &[i64]) -> Self {
        self.padding = padding.to_vec();
        self
    }

    pub fn output_padding(mut self, output_padding: &[i64]) -> Self {
        self.output_padding = output_padding.to_vec();
        self
    }

    pub fn dilation(mut self, dilation: &[i64]) -> Self {
        self.dilation = dilation.to_vec();
        self
    }

    pub fn groups(mut self, groups: i64) -> Self {
        self.groups = groups;
        self
    }

    pub fn bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }

    fn geometry(&self, shape: &[Dim]) -> Result<(Geometry, Vec<i64>), LayerError> {
        let dims = sample_dims(shape)?;
        let g = Geometry::new(
            &dims,
            &self.kernel,
            &self.stride,
            &self.dilation,
            &Padding::Explicit(self.padding.clone()),
            "transposed convolution",
        )?;
        check_channels(g.channels, self.out_channels, self.groups)?;
        let op = per_axis(&self.output_padding, g.spatial.len(), "output_padding")?;
        if op
            .iter()
            .enumerate()
            .any(|(i, &p)| p < 0 || (p >= g.stride[i] && p >= g.dilation[i]))
        {
            return Err(LayerError::Invalid(
                "output_padding must be smaller than the stride or the dilation".into(),
            ));
        }
        Ok((g, op))
    }
}

impl Layer for ConvTranspose {
    fn channels_first(&self) -> bool {
        true
    }

    fn kind(&self) -> &'static str {
        "conv-transpose"
    }

    fn describe(&self) -> String {
        let mut parts = vec![
            format!("{} filters", self.out_channels),
            format!("kernel {}", dims_text(&self.kernel)),
            format!("stride {}", dims_text(&self.stride)),
            format!("padding {}", dims_text(&self.padding)),
        ];
        if self.output_padding.iter().any(|&p| p != 0) {
            parts.push(format!(
                "output padding {}",
                dims_text(&self.output_padding)
            ));
        }
        if self.dilation.iter().any(|&d| d != 1) {
            parts.push(format!("dilation {}", dims_text(&self.dilation)));
        }
        if self.groups != 1 {
            parts.push(format!("groups {}", self.groups));
        }
        parts.push(if self.bias { "bias" } else { "no bias" }.into());
        parts.join(", ")
    }

    fn build(
        &self,
        b: &mut GraphBuilder,
        name: &str,
        x: ValueId,
        shape: &[Dim],
    ) -> Result<ValueId, LayerError> {
        let (g, op) = self.geometry(shape)?;
        let mut wdims = vec![g.channels, self.out_channels / self.groups];
        wdims.extend(&g.kernel);
        let w = b.weight(&format!("{name}.weight"), &wdims);
        let bias = self
            .bias
            .then(|| b.weight(&format!("{name}.bias"), &[self.out_channels]));
        let n = g.spatial.len();
        let mut attrs = g.window_attrs(&vec![0; n]);
        if op.iter().any(|&p| p != 0) {
            attrs.push(ints("output_padding", &op));
        }
        if self.groups != 1 {
            attrs.push(int("group", self.groups));
        }
        Ok(b.node("ConvTranspose", name, &[Some(x), Some(w), bias], attrs))
    }

    fn bias(&self) -> Option<bool> {
        Some(self.bias)
    }

    fn with_bias(&self, bias: bool) -> Option<Box<dyn Layer>> {
        Some(Box::new(self.clone().bias(bias)))
    }

    fn explain(&self, cost: &LayerCost) -> Result<Explanation, LayerError> {
        let shape: Vec<Dim> = std::iter::once(1)
            .chain(cost.input_shape.iter().copied())
            .map(Dim::int)
            .collect();
        let (g, op) = self.geometry(&shape)?;
        let out = &cost.output_shape[1..];
        let bias = cost
            .bias
            .ok_or_else(|| LayerError::Invalid("no bias counts".into()))?;
        let dilated = g.dilation.iter().any(|&d| d != 1);
        let with_op = op.iter().any(|&p| p != 0);
        let mut size = Section::new(format!(
            "Output size per spatial axis: stride·(in − 1) + {} − 2·padding{}",
            if dilated {
                "dilation·(k − 1) + 1"
            } else {
                "k"
            },
            if with_op { " + output_padding" } else { "" }
        ));
        for (i, axis) in axis_names(g.spatial.len()).iter().enumerate() {
            let mut terms = vec![(
                false,
                times(vec![num(g.stride[i]), minus(num(g.spatial[i]), num(1))]),
            )];
            if dilated {
                terms.push((
                    false,
                    times(vec![num(g.dilation[i]), minus(num(g.kernel[i]), num(1))]),
                ));
                terms.push((false, num(1)));
            } else {
                terms.push((false, num(g.kernel[i])));
            }
            terms.push((true, times(vec![num(2), num(g.pad[i])])));
            if with_op {
                terms.push((false, num(op[i])));
            }
            size = size.step(Step::new(format!("{axis}_out"), sum(terms), out[i] as i128));
        }

        let k = g.kernel_symbols();
        let cout_g = if self.groups == 1 {
            num(self.out_channels)
        } else {
            over(num(self.out_channels), num(self.groups))
        };
        let cout = if self.groups == 1 {
            "C_out"
        } else {
            "(C_out/groups)"
        };
        let mut weights = vec![num(g.channels), cout_g.clone()];
        weights.extend(g.kernel_factors());
        let without_params = times(weights.clone());
        let with_params = plus(times(weights), num(self.out_channels));
        let params = bias_steps(
            Section::new(format!(
                "Params: C_in·{cout}·{k} + C_out with a bias, C_in·{cout}·{k} without"
            )),
            &bias,
            with_params,
            without_params,
            true,
        );

        let mut mac_factors = vec![num(g.channels)];
        mac_factors.extend(g.spatial.iter().map(|&s| num(s)));
        mac_factors.push(cout_g);
        mac_factors.extend(g.kernel_factors());
        let macs = Section::new(format!(
            "MACs, on the input grid: C_in·{}·{cout}·{k} (every input value meets every \
             kernel tap once; counting on the output grid would over-count by the stride's product)",
            g.in_symbols()
        ))
        .step(Step::new("MACs", times(mac_factors.clone()), cost.macs as i128));

        let twice = times(std::iter::once(num(2)).chain(mac_factors).collect());
        let outputs = times(
            std::iter::once(num(self.out_channels))
                .chain(out.iter().map(|&o| num(o)))
                .collect(),
        );
        let flops = bias_steps(
            Section::new(format!(
                "FLOPs: every product is added into an output, 2·MACs, plus C_out·{} for the bias",
                g.out_symbols()
            )),
            &bias,
            plus(twice.clone(), outputs),
            twice,
            false,
        );
        Ok(Explanation {
            sections: vec![size, params, macs, flops],
        })
    }
}
