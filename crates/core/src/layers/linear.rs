//! Fully connected layers.

use super::conv::bias_steps;
use super::explain::{group, minus, num, plus, sum, times, Explanation, Expr, Section, Step};
use super::{sample_dims, GraphBuilder, Layer, LayerCost, LayerError};
use crate::graph::ValueId;
use crate::shape::Dim;

/// A fully connected layer, `y = W·x + b`, as PyTorch's `Linear`: it acts on
/// the last axis, so a `[197, 768]` input is 197 rows of 768 features.
///
/// A vector input becomes a `Gemm` node, a batch of rows a `MatMul` and an
/// `Add`, as PyTorch exports them.
///
/// ```
/// use nncost_core::layers::{Layer, Linear};
///
/// // ResNet's classifier, 512 → 1000: the article's (d_in + 1)·d_out
/// // parameters and [d_in + (d_in − 1) + 1]·d_out FLOPs.
/// let c = Linear::new(1000).cost(&[512]).unwrap();
/// assert_eq!(c.output_shape, [1000]);
/// assert_eq!(c.params, (512 + 1) * 1000);
/// assert_eq!(c.macs, 512 * 1000);
/// assert_eq!(c.flops, (512 + 511 + 1) * 1000);
/// assert_eq!(c.bias.unwrap().flops_without, (512 + 511) * 1000);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Linear {
    pub out_features: i64,
    pub bias: bool,
}

impl Linear {
    /// With a bias, as PyTorch's default.
    pub fn new(out_features: i64) -> Linear {
        Linear {
            out_features,
            bias: true,
        }
    }

    pub fn bias(mut self, bias: bool) -> Linear {
        self.bias = bias;
        self
    }

    fn in_features(&self, shape: &[Dim]) -> Result<i64, LayerError> {
        if self.out_features < 1 {
            return Err(LayerError::Invalid(format!(
                "out_features must be positive, got {}",
                self.out_features
            )));
        }
        let dims = sample_dims(shape)?;
        dims.last().copied().ok_or_else(|| {
            LayerError::Invalid("a linear layer needs at least one input axis (features)".into())
        })
    }
}

impl Layer for Linear {
    fn kind(&self) -> &'static str {
        "linear"
    }

    fn describe(&self) -> String {
        format!(
            "{} output features, {}",
            self.out_features,
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
        let k = self.in_features(shape)?;
        let n = self.out_features;
        if shape.len() == 2 {
            // [batch, d_in]: PyTorch's Gemm with the weight stored [d_out, d_in].
            let w = b.weight(&format!("{name}.weight"), &[n, k]);
            let bias = self.bias.then(|| b.weight(&format!("{name}.bias"), &[n]));
            return Ok(b.node(
                "Gemm",
                name,
                &[Some(x), Some(w), bias],
                vec![super::builder::int("transB", 1)],
            ));
        }
        let w = b.weight(&format!("{name}.weight"), &[k, n]);
        let y = b.node("MatMul", name, &[Some(x), Some(w)], vec![]);
        if !self.bias {
            return Ok(y);
        }
        let bias = b.weight(&format!("{name}.bias"), &[n]);
        Ok(b.node(
            "Add",
            &format!("{name}/bias"),
            &[Some(y), Some(bias)],
            vec![],
        ))
    }

    fn bias(&self) -> Option<bool> {
        Some(self.bias)
    }

    fn with_bias(&self, bias: bool) -> Option<Box<dyn Layer>> {
        Some(Box::new(self.clone().bias(bias)))
    }

    fn explain(&self, cost: &LayerCost) -> Result<Explanation, LayerError> {
        let d_in = *cost.input_shape.last().unwrap_or(&0);
        let d_out = self.out_features;
        let rows: Vec<i64> = cost.input_shape[..cost.input_shape.len() - 1].to_vec();
        let bias = cost
            .bias
            .ok_or_else(|| LayerError::Invalid("no bias counts".into()))?;
        let row_factors: Vec<Expr> = rows.iter().map(|&r| num(r)).collect();
        let rows_symbol = if rows.is_empty() { "" } else { "rows·" };
        let with_rows = |e: Expr| {
            if rows.is_empty() {
                e
            } else {
                times(
                    row_factors
                        .iter()
                        .cloned()
                        .chain(super::conv::flatten(vec![e]))
                        .collect(),
                )
            }
        };
        let params = bias_steps(
            Section::new("Params: (d_in + 1)·d_out with a bias, d_in·d_out without"),
            &bias,
            times(vec![plus(num(d_in), num(1)), num(d_out)]),
            times(vec![num(d_in), num(d_out)]),
            true,
        );
        let mut macs = Section::new(format!(
            "MACs, the article's FLOPs counting multiplications only: {rows_symbol}d_in·d_out"
        ))
        .step(Step::new(
            "MACs",
            with_rows(times(vec![num(d_in), num(d_out)])),
            cost.macs as i128,
        ));
        if !rows.is_empty() {
            macs = macs.note(format!(
                "rows = {}: a linear layer acts on the last axis, the others multiply through",
                rows.iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join("·")
            ));
        }
        let dot = group(minus(num(d_in), num(1)));
        let flops = bias_steps(
            Section::new(format!(
                "FLOPs with additions and bias, the article's [d_in + (d_in − 1) + 1]·d_out: \
                 d_in multiplications, d_in − 1 additions to sum them, one for the bias{}",
                if rows.is_empty() {
                    ""
                } else {
                    ", for every row"
                }
            )),
            &bias,
            with_rows(times(vec![
                group(sum(vec![
                    (false, num(d_in)),
                    (false, dot.clone()),
                    (false, num(1)),
                ])),
                num(d_out),
            ])),
            with_rows(times(vec![group(plus(num(d_in), dot)), num(d_out)])),
            false,
        );
        Ok(Explanation {
            sections: vec![params, macs, flops],
        })
    }
}
