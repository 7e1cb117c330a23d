//! Normalisation layers: batch normalisation and layer normalisation.

use super::conv::{bias_steps, flatten};
use super::explain::{num, plus, times, Explanation, Expr, Section, Step};
use super::{prod, sample_dims, GraphBuilder, Layer, LayerCost, LayerError};
use crate::graph::ValueId;
use crate::shape::Dim;

/// Batch normalisation at inference, as PyTorch's `BatchNorm1d/2d/3d`: the
/// channel axis is the first of the sample.
///
/// ```
/// use nncost_core::layers::{BatchNorm, Layer};
///
/// let c = BatchNorm.cost(&[64, 112, 112]).unwrap();
/// assert_eq!(c.params, 2 * 64); // γ and β: the article's "BN adds 2n"
/// assert_eq!(c.buffers, 2 * 64); // running mean and variance
/// assert_eq!(c.flops, 2 * 64 * 112 * 112 + 5 * 64);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchNorm;

impl Layer for BatchNorm {
    fn channels_first(&self) -> bool {
        true
    }

    fn kind(&self) -> &'static str {
        "batchnorm"
    }

    fn describe(&self) -> String {
        "batch normalisation (inference)".into()
    }

    fn build(
        &self,
        b: &mut GraphBuilder,
        name: &str,
        x: ValueId,
        shape: &[Dim],
    ) -> Result<ValueId, LayerError> {
        let dims = sample_dims(shape)?;
        let &c = dims.first().ok_or_else(|| {
            LayerError::Invalid("batch normalisation takes a [C, ...] input".into())
        })?;
        let inputs: Vec<Option<ValueId>> = ["weight", "bias", "running_mean", "running_var"]
            .iter()
            .map(|part| Some(b.weight(&format!("{name}.{part}"), &[c])))
            .collect();
        Ok(b.node(
            "BatchNormalization",
            name,
            &[&[Some(x)][..], &inputs].concat(),
            vec![],
        ))
    }

    fn explain(&self, cost: &LayerCost) -> Result<Explanation, LayerError> {
        let c = cost.input_shape[0];
        let numel: Vec<Expr> = cost.input_shape.iter().map(|&d| num(d)).collect();
        let params = Section::new(
            "Params: a scale γ and a shift β per channel, 2·C (the article's \"BN adds 2n\")",
        )
        .step(Step::new(
            "params",
            times(vec![num(2), num(c)]),
            cost.params as i128,
        ))
        .step(
            Step::new("buffers", times(vec![num(2), num(c)]), cost.buffers as i128)
                .note("the running mean μ and variance σ²: state, not trained, so not parameters"),
        );
        let flops = Section::new(
            "FLOPs at inference: a = γ / √(σ² + ε) and b = β − μ·a once per channel (5·C), then \
             a·x + b for every element (2·numel)",
        )
        .step(Step::new(
            "FLOPs",
            plus(
                times(flatten(std::iter::once(num(2)).chain(numel).collect())),
                times(vec![num(5), num(c)]),
            ),
            cost.flops as i128,
        ));
        let macs = Section::new("MACs 0: no dot products");
        Ok(Explanation {
            sections: vec![params, macs, flops],
        })
    }
}

/// Layer normalisation, as PyTorch's `LayerNorm` over the sample's last
/// axes: `axis` is the first normalised axis of the sample (negative counts
/// from the end; PyTorch's `normalized_shape` of one size is `axis = -1`).
///
/// ```
/// use nncost_core::layers::{Layer, LayerNorm};
///
/// // A transformer's LayerNorm on 197 tokens of width 768: 7n + 3 per row.
/// let c = LayerNorm::new().cost(&[197, 768]).unwrap();
/// assert_eq!(c.params, 2 * 768);
/// assert_eq!(c.flops, 197 * (7 * 768 + 3));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerNorm {
    pub axis: i64,
    pub bias: bool,
}

impl LayerNorm {
    /// Over the last axis, with a bias.
    pub fn new() -> LayerNorm {
        LayerNorm {
            axis: -1,
            bias: true,
        }
    }

    pub fn axis(mut self, axis: i64) -> LayerNorm {
        self.axis = axis;
        self
    }

    pub fn bias(mut self, bias: bool) -> LayerNorm {
        self.bias = bias;
        self
    }

    /// `(rows, normalised dims)` of a sample.
    fn split(&self, dims: &[i64]) -> Result<usize, LayerError> {
        let r = dims.len() as i64;
        let a = if self.axis < 0 {
            self.axis + r
        } else {
            self.axis
        };
        if !(0..r).contains(&a) {
            return Err(LayerError::Invalid(format!(
                "axis {} is out of range for a sample of {r} axes",
                self.axis
            )));
        }
        Ok(a as usize)
    }
}

impl Default for LayerNorm {
    fn default() -> Self {
        LayerNorm::new()
    }
}

impl Layer for LayerNorm {
    fn kind(&self) -> &'static str {
        "layernorm"
    }

    fn describe(&self) -> String {
        format!(
            "layer normalisation from axis {}, {}",
            self.axis,
            if self.bias { "bias" } else { "no bias" }
        )
    }

    fn build(
        &self,
        b: &mut GraphBuilder,
        name: &str,
        x: ValueId,
        shape: &[Dim],
    ) -> Result<ValueId, LayerError> {
        let dims = sample_dims(shape)?;
        let a = self.split(&dims)?;
        let normalised = &dims[a..];
        let scale = b.weight(&format!("{name}.weight"), normalised);
        let bias = self
            .bias
            .then(|| b.weight(&format!("{name}.bias"), normalised));
        // The batch axis comes first in the graph: the sample's axis a is a + 1.
        Ok(b.node(
            "LayerNormalization",
            name,
            &[Some(x), Some(scale), bias],
            vec![super::builder::int("axis", a as i64 + 1)],
        ))
    }

    fn bias(&self) -> Option<bool> {
        Some(self.bias)
    }

    fn with_bias(&self, bias: bool) -> Option<Box<dyn Layer>> {
        Some(Box::new(self.clone().bias(bias)))
    }

    fn explain(&self, cost: &LayerCost) -> Result<Explanation, LayerError> {
        let a = self.split(&cost.input_shape)?;
        let bias = cost
            .bias
            .ok_or_else(|| LayerError::Invalid("no bias counts".into()))?;
        let rows = &cost.input_shape[..a];
        let normalised = &cost.input_shape[a..];
        let n = prod(normalised);
        let n_expr = || {
            if normalised.len() == 1 {
                num(n)
            } else {
                times(normalised.iter().map(|&d| num(d)).collect())
            }
        };
        let params = bias_steps(
            Section::new(format!(
                "Params: a scale and a shift for each of the n = {} normalised elements, 2·n \
                 (n without the shift)",
                super::dims_text(normalised)
            )),
            &bias,
            times(vec![num(2), n_expr()]),
            n_expr(),
            true,
        );
        let per_row = |per: i64| plus(times(vec![num(per), num(n)]), num(3));
        let with_rows = |e: Expr| {
            if rows.is_empty() {
                e
            } else {
                times(
                    rows.iter()
                        .map(|&r| num(r))
                        .chain(std::iter::once(e))
                        .collect(),
                )
            }
        };
        let flops = bias_steps(
            Section::new(
                "FLOPs per row of n: mean n, centring n, variance 2n, 1/√(var + ε) 3, normalise \
                 n, scale n, shift n: 7n + 3 (6n + 3 without the shift)",
            ),
            &bias,
            with_rows(per_row(7)),
            with_rows(per_row(6)),
            false,
        );
        let macs = Section::new("MACs 0: no dot products");
        Ok(Explanation {
            sections: vec![params, macs, flops],
        })
    }
}
