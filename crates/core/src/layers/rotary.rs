//! Rotary position embeddings (RoPE), as Llama applies them to queries and
//! keys: each head's features rotated in pairs by an angle that grows with
//! the token's position.

use super::builder::int;
use super::explain::{num, times, Explanation, Section, Step};
use super::{sample_dims, GraphBuilder, Layer, LayerCost, LayerError};
use crate::graph::{DType, ValueId};
use crate::shape::Dim;

/// Rotary embedding on a `[seq, heads·d]` sample (ONNX `RotaryEmbedding`,
/// opset 23): the first `rotary_dim` features of each head (all `d` by
/// default; fewer is GPT-NeoX's and Phi's partial rotary) are rotated in
/// pairs. No parameters: the cos and sin tables are constants.
///
/// ```
/// use nncost_core::layers::{Layer, Rotary};
///
/// // Llama-7B's queries on 128 tokens: 32 heads of 128.
/// let c = Rotary::new(32).cost(&[128, 4096]).unwrap();
/// assert_eq!(c.params, 0);
/// // Per pair 4 multiplies and 2 additions: 3 FLOPs per rotated element.
/// assert_eq!(c.flops, 3 * 128 * 32 * 128);
/// // A quarter of each head rotated (GPT-NeoX): 32 of 128 features.
/// let partial = Rotary::new(32).rotary_dim(32).cost(&[128, 4096]).unwrap();
/// assert_eq!(partial.flops, 3 * 128 * 32 * 32);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rotary {
    pub heads: i64,
    /// Features rotated per head; `None`: all of them.
    pub rotary_dim: Option<i64>,
}

/// The sizes of one rotation: positions, heads, head size, rotated features.
pub(crate) struct RotarySizes {
    pub seq: i64,
    pub heads: i64,
    pub head_dim: i64,
    pub rotated: i64,
}

impl Rotary {
    pub fn new(heads: i64) -> Rotary {
        Rotary {
            heads,
            rotary_dim: None,
        }
    }

    pub fn rotary_dim(mut self, rotary_dim: i64) -> Rotary {
        self.rotary_dim = Some(rotary_dim);
        self
    }

    pub(crate) fn sizes(&self, dims: &[i64]) -> Result<RotarySizes, LayerError> {
        let &[seq, width] = dims else {
            return Err(LayerError::Invalid(format!(
                "rotary embedding takes a [seq, heads·d] input, got {} axes",
                dims.len()
            )));
        };
        if self.heads < 1 || width % self.heads != 0 {
            return Err(LayerError::Invalid(format!(
                "width {width} is not divisible by {} heads",
                self.heads
            )));
        }
        let head_dim = width / self.heads;
        let rotated = self.rotary_dim.unwrap_or(head_dim);
        if rotated < 2 || rotated % 2 != 0 || rotated > head_dim {
            return Err(LayerError::Invalid(format!(
                "rotary_dim {rotated} must be even, positive and at most the head size {head_dim}"
            )));
        }
        Ok(RotarySizes {
            seq,
            heads: self.heads,
            head_dim,
            rotated,
        })
    }

    /// Appends the rotation of `x` (`[batch, seq, heads·d]`) and returns it.
    pub(crate) fn rotate(
        &self,
        b: &mut GraphBuilder,
        name: &str,
        x: ValueId,
        s: &RotarySizes,
    ) -> ValueId {
        // The tables hold cos and sin of each position's angle for each
        // rotated pair; the positions 0..seq pick their rows. Only their
        // shapes are given: the rule counts the rotation, not the lookup.
        let half = s.rotated / 2;
        let cos = b.weight(&format!("{name}.cos_cache"), &[s.seq, half]);
        let sin = b.weight(&format!("{name}.sin_cache"), &[s.seq, half]);
        let ids = b.weight_typed(&format!("{name}.position_ids"), &[1, s.seq], DType::I64);
        let mut attrs = vec![int("num_heads", s.heads)];
        if s.rotated != s.head_dim {
            attrs.push(int("rotary_embedding_dim", s.rotated));
        }
        b.node(
            "RotaryEmbedding",
            name,
            &[Some(x), Some(cos), Some(sin), Some(ids)],
            attrs,
        )
    }
}

impl Layer for Rotary {
    fn kind(&self) -> &'static str {
        "rotary"
    }

    fn describe(&self) -> String {
        match self.rotary_dim {
            Some(r) => format!(
                "rotary embedding over {} heads, {r} features of each",
                self.heads
            ),
            None => format!("rotary embedding over {} heads", self.heads),
        }
    }

    fn build(
        &self,
        b: &mut GraphBuilder,
        name: &str,
        x: ValueId,
        shape: &[Dim],
    ) -> Result<ValueId, LayerError> {
        let s = self.sizes(&sample_dims(shape)?)?;
        Ok(self.rotate(b, name, x, &s))
    }

    fn explain(&self, cost: &LayerCost) -> Result<Explanation, LayerError> {
        let s = self.sizes(&cost.input_shape)?;
        let header = Section::new(format!(
            "Sizes: seq = {}, {} heads of d = {}, {} rotated features per head{}",
            s.seq,
            s.heads,
            s.head_dim,
            s.rotated,
            if s.rotated == s.head_dim {
                " (all)"
            } else {
                " (partial rotary: the rest pass through)"
            }
        ));
        let params = Section::new(
            "Params 0: the cos and sin tables are fixed functions of the position, not trained",
        );
        let flops = Section::new(
            "FLOPs: each pair (x₁, x₂) → (x₁·cos − x₂·sin, x₂·cos + x₁·sin), 4 multiplies and 2 \
             additions, 3 per rotated element: 3·seq·heads·rotated; MACs 0 (no dot product)",
        )
        .step(Step::new(
            "FLOPs",
            times(vec![num(3), num(s.seq), num(s.heads), num(s.rotated)]),
            cost.flops as i128,
        ));
        Ok(Explanation {
            sections: vec![header, params, flops],
        })
    }
}
