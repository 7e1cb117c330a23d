//! Group normalisation: the channels split into groups, each group
//! normalised over its channels and all positions (diffusion U-Nets,
//! ResNets trained with small batches).

use super::builder::int;
use super::conv::flatten;
use super::explain::{num, over, plus, times, Explanation, Expr, Section, Step};
use super::{sample_dims, GraphBuilder, Layer, LayerCost, LayerError};
use crate::graph::ValueId;
use crate::shape::Dim;

/// Group normalisation, as PyTorch's `GroupNorm(groups, C)` on a `[C, ...]`
/// sample (ONNX `GroupNormalization`, opset 21: scale and bias per channel).
///
/// ```
/// use nncost_core::layers::{GroupNorm, Layer};
///
/// let c = GroupNorm::new(32).cost(&[256, 56, 56]).unwrap();
/// assert_eq!(c.params, 2 * 256); // PyTorch GroupNorm(32, 256): 512
/// // Per group of n = (C/G)·H·W: 5n + 3; then 2 per element for scale and bias.
/// let n = 256 / 32 * 56 * 56;
/// assert_eq!(c.flops, 32 * (5 * n + 3) + 2 * 256 * 56 * 56);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupNorm {
    pub groups: i64,
}

impl GroupNorm {
    pub fn new(groups: i64) -> GroupNorm {
        GroupNorm { groups }
    }

    /// The channel count, checked against the groups.
    fn channels(&self, dims: &[i64]) -> Result<i64, LayerError> {
        let &c = dims.first().ok_or_else(|| {
            LayerError::Invalid("group normalisation takes a [C, ...] input".into())
        })?;
        if self.groups < 1 {
            return Err(LayerError::Invalid(format!(
                "groups must be positive, got {}",
                self.groups
            )));
        }
        if c % self.groups != 0 {
            return Err(LayerError::Invalid(format!(
                "{c} channels do not divide into {} groups",
                self.groups
            )));
        }
        Ok(c)
    }
}

impl Layer for GroupNorm {
    fn channels_first(&self) -> bool {
        true
    }

    fn kind(&self) -> &'static str {
        "groupnorm"
    }

    fn describe(&self) -> String {
        format!("group normalisation in {} groups", self.groups)
    }

    fn build(
        &self,
        b: &mut GraphBuilder,
        name: &str,
        x: ValueId,
        shape: &[Dim],
    ) -> Result<ValueId, LayerError> {
        let c = self.channels(&sample_dims(shape)?)?;
        let scale = b.weight(&format!("{name}.weight"), &[c]);
        let bias = b.weight(&format!("{name}.bias"), &[c]);
        Ok(b.node(
            "GroupNormalization",
            name,
            &[Some(x), Some(scale), Some(bias)],
            vec![int("num_groups", self.groups)],
        ))
    }

    fn explain(&self, cost: &LayerCost) -> Result<Explanation, LayerError> {
        let dims = &cost.input_shape;
        let c = self.channels(dims)?;
        let g = self.groups;
        let spatial: Vec<Expr> = dims[1..].iter().map(|&d| num(d)).collect();
        let n = times(
            std::iter::once(over(num(c), num(g)))
                .chain(spatial.iter().cloned())
                .collect(),
        );
        let numel = times(dims.iter().map(|&d| num(d)).collect());
        let params = Section::new("Params: a scale and a shift per channel, 2·C").step(Step::new(
            "params",
            times(vec![num(2), num(c)]),
            cost.params as i128,
        ));
        let flops = Section::new(
            "FLOPs: per group of n = (C/G)·positions, mean n, centring n, variance 2n, \
             1/√(var + ε) 3, normalise n: 5n + 3; then scale and shift, 2 per element: \
             G·(5n + 3) + 2·numel",
        )
        .step(Step::new(
            "FLOPs",
            plus(
                times(vec![num(g), plus(times(flatten(vec![num(5), n])), num(3))]),
                times(flatten(vec![num(2), numel])),
            ),
            cost.flops as i128,
        ));
        let macs = Section::new("MACs 0: no dot products");
        Ok(Explanation {
            sections: vec![params, macs, flops],
        })
    }
}
