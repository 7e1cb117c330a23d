//! The article's calculator: one layer's output shape, parameters, MACs and
//! FLOPs, with the working shown.
//!
//! A layer here is a recipe for a small [`Graph`] — the nodes and weights a
//! PyTorch export of that layer would hold — and its numbers are whatever
//! [`analyze`] says of that graph. There is no second copy of any formula:
//! the calculator, a hand-written network and an ONNX file are all counted by
//! the same operator rules. [`Layer::explain`] shows the arithmetic behind
//! the engine's numbers, and the tests check that the arithmetic gives them.
//!
//! Shapes are channels-first as in PyTorch and ONNX, and given **without the
//! batch axis**: `[3, 224, 224]` for an image, `[197, 768]` for a sequence of
//! tokens, `[512]` for a vector. The engine sees a batch of one, so every
//! count is per sample, as in the article.
//!
//! ```
//! use nncost_core::layers::{Conv, Layer};
//!
//! // The article's convolution: 3 → 64 channels, 3×3, padding 1, with bias.
//! let cost = Conv::new(64, &[3]).padding(1).cost(&[3, 224, 224]).unwrap();
//! assert_eq!(cost.output_shape, [64, 224, 224]);
//! assert_eq!(cost.params, (3 * 3 * 3 + 1) * 64);
//! assert_eq!(cost.macs, 3 * 3 * 3 * 224 * 224 * 64);
//! // With additions and bias: [(k·C_in) + (k·C_in − 1) + 1]·H·W·C_out = 2·MACs.
//! assert_eq!(cost.flops, 2 * cost.macs);
//! let bias = cost.bias.unwrap();
//! assert_eq!(bias.params_without, 3 * 3 * 3 * 64);
//! assert_eq!(bias.flops_without, cost.flops - 224 * 224 * 64);
//! ```

use crate::analysis::{analyze, AnalysisError, AnalysisOptions};
use crate::graph::{DType, Graph, ValueId};
use crate::report::{NodeReport, NodeStatus, Report};
use crate::shape::{format_shape, Dim, Shape};

pub mod activation;
pub mod adaptive_pool;
pub mod attention;
mod attention_working;
pub mod builder;
pub mod conv;
pub mod embedding;
pub mod explain;
pub mod gated_mlp;
pub mod group_norm;
pub mod layout;
pub mod linear;
pub mod moe;
pub mod norm;
pub mod pool;
pub mod recurrent;
pub mod reshape;
pub mod rms_norm;
pub mod rotary;
pub mod upsample;

pub use activation::{Activation, ACTIVATIONS};
pub use adaptive_pool::AdaptiveAvgPool;
pub use attention::MultiHeadAttention;
pub use builder::GraphBuilder;
pub use conv::{Conv, ConvTranspose, Padding, Round};
pub use embedding::Embedding;
pub use explain::Explanation;
pub use gated_mlp::{Gate, GatedMlp};
pub use group_norm::GroupNorm;
pub use linear::Linear;
pub use moe::Moe;
pub use norm::{BatchNorm, LayerNorm};
pub use pool::{GlobalPool, Pool, PoolKind};
pub use recurrent::{Cell, Recurrent};
pub use reshape::{Dropout, Flatten};
pub use rms_norm::RmsNorm;
pub use rotary::Rotary;
pub use upsample::{Upsample, UpsampleMode};

/// Why a layer cannot be counted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayerError {
    /// The layer's settings do not make sense, or do not fit its input.
    #[error("{0}")]
    Invalid(String),
    /// The engine could not count one of the layer's nodes; `reason` is
    /// the engine's.
    #[error("{reason}")]
    Engine {
        node: String,
        op_type: String,
        reason: String,
    },
    #[error(transparent)]
    Analysis(#[from] AnalysisError),
}

/// What one layer costs, per sample (a batch of one).
#[derive(Clone, Debug, PartialEq)]
pub struct LayerCost {
    /// The input shape as given, without the batch axis.
    pub input_shape: Vec<i64>,
    /// The output shape, without the batch axis.
    pub output_shape: Vec<i64>,
    /// Weight and bias elements, as configured.
    pub params: u64,
    /// Non-trainable state (BatchNorm's running mean and variance).
    pub buffers: u64,
    /// Multiply–accumulates: the article's FLOPs counting multiplications only.
    pub macs: u128,
    /// Every scalar operation: the article's FLOPs with additions and bias
    /// (when the layer has one).
    pub flops: u128,
    /// For layers that may have a bias: the counts with it and without it.
    pub bias: Option<BiasCounts>,
    /// The engine's report of the layer's graph, node by node.
    pub report: Report,
}

/// Parameters and FLOPs of a layer with and without its bias. MACs do not
/// depend on the bias.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BiasCounts {
    /// Whether the layer as configured has the bias.
    pub enabled: bool,
    pub params_with: u64,
    pub params_without: u64,
    pub flops_with: u128,
    pub flops_without: u128,
}

/// A layer kind: how it appears in a graph, and how to explain its numbers.
pub trait Layer {
    /// The short name the command line and network descriptions use (`conv`).
    fn kind(&self) -> &'static str;

    /// The settings in a few words: `64 filters, kernel 3, stride 1, padding 1, bias`.
    fn describe(&self) -> String;

    /// Appends the layer's nodes to `b`, reading value `x` of `shape`
    /// (batch axis first), and returns the output value. Nodes are named
    /// `name` or `name/part`.
    fn build(
        &self,
        b: &mut GraphBuilder,
        name: &str,
        x: ValueId,
        shape: &[Dim],
    ) -> Result<ValueId, LayerError>;

    /// The element type the layer reads: float, or int64 token ids for an
    /// embedding.
    fn input_dtype(&self) -> DType {
        DType::F32
    }

    /// Whether the layer reads `[C, spatial...]` samples, channels first
    /// (convolution, pooling, batch and group normalisation, upsampling):
    /// the front ends then ask about an input written with a batch axis or
    /// channels last (see [`layout`]).
    fn channels_first(&self) -> bool {
        false
    }

    /// Whether the layer has a bias; `None` for kinds without one to choose.
    fn bias(&self) -> Option<bool> {
        None
    }

    /// The same layer with or without its bias.
    fn with_bias(&self, _bias: bool) -> Option<Box<dyn Layer>> {
        None
    }

    /// The working behind `cost`'s numbers, which must be this layer's cost.
    fn explain(&self, _cost: &LayerCost) -> Result<Explanation, LayerError> {
        Ok(Explanation::default())
    }

    /// Counts the layer on an input of the given shape (without batch).
    fn cost(&self, input: &[i64]) -> Result<LayerCost, LayerError> {
        let (output_shape, report) = counted(self, input)?;
        let totals = |r: &Report| -> Result<(u128, u128), LayerError> {
            let get = |p: &crate::Poly| {
                p.as_constant()
                    .and_then(|c| u128::try_from(c).ok())
                    .ok_or_else(|| LayerError::Invalid("a count is not a plain number".into()))
            };
            Ok((get(&r.totals.cost.macs)?, get(&r.totals.cost.flops)?))
        };
        let (macs, flops) = totals(&report)?;
        // The same layer with the bias switched, counted by the engine too.
        let bias = match (self.bias(), self.bias().and_then(|b| self.with_bias(!b))) {
            (Some(enabled), Some(switched)) => {
                let (_, other) = counted(switched.as_ref(), input)?;
                let (on, off) = if enabled {
                    (&report, &other)
                } else {
                    (&other, &report)
                };
                Some(BiasCounts {
                    enabled,
                    params_with: on.totals.params,
                    params_without: off.totals.params,
                    flops_with: totals(on)?.1,
                    flops_without: totals(off)?.1,
                })
            }
            _ => None,
        };
        Ok(LayerCost {
            input_shape: input.to_vec(),
            output_shape,
            params: report.totals.params,
            buffers: report.totals.buffers,
            macs,
            flops,
            bias,
            report,
        })
    }
}

/// Analyses the layer alone on `[1, input...]`; returns the output shape
/// without batch and the engine's report.
fn counted<L: Layer + ?Sized>(layer: &L, input: &[i64]) -> Result<(Vec<i64>, Report), LayerError> {
    if let Some(&d) = input.iter().find(|&&d| d < 1) {
        return Err(LayerError::Invalid(format!(
            "input dimensions must be positive, got {d}"
        )));
    }
    let shape: Shape = std::iter::once(1)
        .chain(input.iter().copied())
        .map(Dim::int)
        .collect();
    let input = [(layer.input_dtype(), shape.clone())];
    let (out, report) = infer_typed(&input, |b, xs| layer.build(b, layer.kind(), xs[0], &shape))?;
    let dims: Option<Vec<i64>> = out.iter().skip(1).map(Dim::as_i64).collect();
    let dims = dims.ok_or_else(|| {
        LayerError::Invalid(format!("output shape {} is not known", format_shape(&out)))
    })?;
    Ok((dims, report))
}

/// Runs the engine on a graph fragment: `build` receives one graph input
/// per shape and returns the fragment's output. Returns the output's shape
/// (as the engine infers it) and the report; a node the engine could not
/// count is an error naming it.
///
/// Readers of hand-written networks use this to learn each layer's output
/// shape from the engine before appending the next layer.
pub fn infer(
    inputs: &[Shape],
    build: impl FnOnce(&mut GraphBuilder, &[ValueId]) -> Result<ValueId, LayerError>,
) -> Result<(Shape, Report), LayerError> {
    let typed: Vec<(DType, Shape)> = inputs.iter().map(|s| (DType::F32, s.clone())).collect();
    infer_typed(&typed, build)
}

/// [`infer`] with inputs of any element type (token ids are int64).
pub fn infer_typed(
    inputs: &[(DType, Shape)],
    build: impl FnOnce(&mut GraphBuilder, &[ValueId]) -> Result<ValueId, LayerError>,
) -> Result<(Shape, Report), LayerError> {
    let mut b = GraphBuilder::new("layer");
    let xs: Vec<ValueId> = inputs
        .iter()
        .enumerate()
        .map(|(i, (t, s))| b.typed_input(&format!("input{i}"), *t, s.clone()))
        .collect();
    let y = build(&mut b, &xs)?;
    b.output(y);
    let graph: Graph = b.finish();
    let report = analyze(&graph, &AnalysisOptions::default())?;
    if let Some(n) = report
        .nodes
        .iter()
        .find(|n| n.status != NodeStatus::Counted)
    {
        return Err(LayerError::Engine {
            node: n.name.to_string(),
            op_type: n.op_type.to_string(),
            reason: match &n.status {
                NodeStatus::Incomplete { reason, .. } => reason.to_string(),
                _ => format!("no rule for {}", n.op_type),
            },
        });
    }
    let shape = report
        .outputs
        .first()
        .and_then(|o| o.shape.as_deref().map(<[Dim]>::to_vec))
        .ok_or_else(|| LayerError::Invalid("the output shape is not known".into()))?;
    Ok((shape, report))
}

// ----- helpers shared by the layer kinds -------------------------------------

/// The per-sample dims of `shape` (everything after the batch axis), which
/// must be known integers.
pub(crate) fn sample_dims(shape: &[Dim]) -> Result<Vec<i64>, LayerError> {
    shape
        .iter()
        .skip(1)
        .map(|d| {
            d.as_i64().ok_or_else(|| {
                LayerError::Invalid(format!(
                    "input shape {} must be known past the batch axis",
                    format_shape(shape)
                ))
            })
        })
        .collect()
}

/// A per-axis setting given once for all axes or once per axis.
pub(crate) fn per_axis(values: &[i64], n: usize, what: &str) -> Result<Vec<i64>, LayerError> {
    match values.len() {
        1 => Ok(vec![values[0]; n]),
        l if l == n => Ok(values.to_vec()),
        l => Err(LayerError::Invalid(format!(
            "{what} has {l} values for {n} spatial {}",
            if n == 1 { "axis" } else { "axes" }
        ))),
    }
}

/// A sample's axis given from the start (or from the end when negative),
/// checked against the sample's rank.
pub(crate) fn sample_axis(axis: i64, rank: usize) -> Result<usize, LayerError> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if (0..r).contains(&a) {
        Ok(a as usize)
    } else {
        Err(LayerError::Invalid(format!(
            "axis {axis} is out of range for a sample of {r} axes"
        )))
    }
}

/// `3x3` for `[3, 3]`.
pub(crate) fn dims_text(v: &[i64]) -> String {
    v.iter().map(i64::to_string).collect::<Vec<_>>().join("x")
}

/// Spatial axis names for explanations: `L` (1-D), `H, W` (2-D), `D, H, W` (3-D).
pub(crate) fn axis_names(n: usize) -> Vec<String> {
    match n {
        1 => vec!["L".into()],
        2 => vec!["H".into(), "W".into()],
        3 => vec!["D".into(), "H".into(), "W".into()],
        _ => (0..n).map(|i| format!("X{i}")).collect(),
    }
}

/// A node's MACs and FLOPs as integers (a counted node of a concrete graph
/// has them).
pub(crate) fn node_counts(n: &NodeReport) -> (i128, i128) {
    let get = |p: Option<&crate::Poly>| p.and_then(|p| p.as_constant()).unwrap_or(0);
    (get(n.macs()), get(n.flops()))
}

/// Product of dims, as i128.
pub(crate) fn prod(v: &[i64]) -> i128 {
    v.iter().map(|&d| d as i128).product()
}
