//! RMS normalisation, as Llama, Mistral and Gemma use it in place of layer
//! normalisation: no mean is subtracted and there is no shift.

use super::builder::int;
use super::explain::{num, plus, times, Explanation, Expr, Section, Step};
use super::{prod, sample_axis, sample_dims, GraphBuilder, Layer, LayerCost, LayerError};
use crate::graph::ValueId;
use crate::shape::Dim;

/// RMS normalisation, y = x / √(mean(x²) + ε) · scale, as PyTorch's
/// `RMSNorm` over the sample's last axes (ONNX `RMSNormalization`, opset
/// 23). `axis` is the first normalised axis of the sample (negative from
/// the end). There is no bias: neither ONNX nor PyTorch has one.
///
/// ```
/// use nncost_core::layers::{Layer, RmsNorm};
///
/// // Llama-7B's norm on 128 tokens of width 4096: 4n + 3 per row.
/// let c = RmsNorm::new().cost(&[128, 4096]).unwrap();
/// assert_eq!(c.params, 4096); // PyTorch RMSNorm(4096): 4,096
/// assert_eq!(c.flops, 128 * (4 * 4096 + 3));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RmsNorm {
    pub axis: i64,
}

impl RmsNorm {
    /// Over the last axis.
    pub fn new() -> RmsNorm {
        RmsNorm { axis: -1 }
    }

    pub fn axis(mut self, axis: i64) -> RmsNorm {
        self.axis = axis;
        self
    }
}

impl Default for RmsNorm {
    fn default() -> Self {
        RmsNorm::new()
    }
}

impl Layer for RmsNorm {
    fn kind(&self) -> &'static str {
        "rmsnorm"
    }

    fn describe(&self) -> String {
        format!(
            "RMS normalisation from axis {}, a scale and no shift",
            self.axis
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
        let a = sample_axis(self.axis, dims.len())?;
        let scale = b.weight(&format!("{name}.weight"), &dims[a..]);
        // The batch axis comes first in the graph: the sample's axis a is a + 1.
        Ok(b.node(
            "RMSNormalization",
            name,
            &[Some(x), Some(scale)],
            vec![int("axis", a as i64 + 1)],
        ))
    }

    fn explain(&self, cost: &LayerCost) -> Result<Explanation, LayerError> {
        let a = sample_axis(self.axis, cost.input_shape.len())?;
        let (rows, normalised) = cost.input_shape.split_at(a);
        let n = prod(normalised);
        let n_expr = if normalised.len() == 1 {
            num(n)
        } else {
            times(normalised.iter().map(|&d| num(d)).collect())
        };
        let params = Section::new(format!(
            "Params: a scale for each of the n = {} normalised elements, n (no shift)",
            super::dims_text(normalised)
        ))
        .step(Step::new("params", n_expr, cost.params as i128));
        let per_row = plus(times(vec![num(4), num(n)]), num(3));
        let form = if rows.is_empty() {
            per_row
        } else {
            let f: Vec<Expr> = rows.iter().map(|&r| num(r)).collect();
            times(f.into_iter().chain(std::iter::once(per_row)).collect())
        };
        let flops = Section::new(
            "FLOPs per row of n: squares n, their mean n (n − 1 additions, 1 division), \
             1/√(mean + ε) 3, normalise n, scale n: 4n + 3",
        )
        .step(Step::new("FLOPs", form, cost.flops as i128));
        let macs = Section::new("MACs 0: no dot products");
        Ok(Explanation {
            sections: vec![params, macs, flops],
        })
    }
}
