//! Multi-head self-attention on a sequence: the query, key, value and output
//! projections (linear layers) around the fused ONNX `Attention` operator,
//! which computes softmax(Q·Kᵀ / √d)·V per head. Grouped-query attention
//! (fewer key/value heads) shrinks the key and value projections.

use super::explain::{group, minus, num, plus, sum, times, Explanation, Section, Step};
use super::{node_counts, sample_dims, GraphBuilder, Layer, LayerCost, LayerError, Linear};
use crate::graph::ValueId;
use crate::shape::Dim;

/// Self-attention over a `[seq, width]` input, as PyTorch's
/// `MultiheadAttention(width, heads)` (with `kv_heads` < `heads`, grouped-query
/// attention as in Llama).
///
/// ```
/// use nncost_core::layers::{Layer, MultiHeadAttention};
///
/// // One ViT-B/16 attention block: 197 tokens of width 768, 12 heads.
/// let c = MultiHeadAttention::new(12).cost(&[197, 768]).unwrap();
/// assert_eq!(c.output_shape, [197, 768]);
/// assert_eq!(c.params, 4 * (768 * 768 + 768)); // PyTorch: 2,362,368
/// // Four projections, then Q·Kᵀ and P·V: 2·heads·seq²·(width/heads).
/// assert_eq!(c.macs, 4 * 197 * 768 * 768 + 2 * 197 * 197 * 768);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MultiHeadAttention {
    pub heads: i64,
    /// Key/value heads; `None`: as many as query heads.
    pub kv_heads: Option<i64>,
    /// Biases on the four projections (PyTorch's default).
    pub bias: bool,
}

/// Sizes of one attention layer on a sample.
struct Sizes {
    seq: i64,
    width: i64,
    heads: i64,
    kv_heads: i64,
    head_size: i64,
}

impl MultiHeadAttention {
    pub fn new(heads: i64) -> MultiHeadAttention {
        MultiHeadAttention {
            heads,
            kv_heads: None,
            bias: true,
        }
    }

    pub fn kv_heads(mut self, kv_heads: i64) -> Self {
        self.kv_heads = Some(kv_heads);
        self
    }

    pub fn bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }

    fn sizes(&self, dims: &[i64]) -> Result<Sizes, LayerError> {
        let &[seq, width] = dims else {
            return Err(LayerError::Invalid(format!(
                "attention takes a [seq, width] input, got {} axes",
                dims.len()
            )));
        };
        let heads = self.heads;
        let kv_heads = self.kv_heads.unwrap_or(heads);
        if heads < 1 || kv_heads < 1 {
            return Err(LayerError::Invalid("heads must be positive".into()));
        }
        if width % heads != 0 {
            return Err(LayerError::Invalid(format!(
                "width {width} is not divisible by {heads} heads"
            )));
        }
        if heads % kv_heads != 0 {
            return Err(LayerError::Invalid(format!(
                "{heads} query heads cannot share {kv_heads} key/value heads evenly"
            )));
        }
        Ok(Sizes {
            seq,
            width,
            heads,
            kv_heads,
            head_size: width / heads,
        })
    }
}

impl Layer for MultiHeadAttention {
    fn kind(&self) -> &'static str {
        "attention"
    }

    fn describe(&self) -> String {
        let mut d = format!("{} heads", self.heads);
        if let Some(kv) = self.kv_heads.filter(|&kv| kv != self.heads) {
            d.push_str(&format!(", {kv} key/value heads"));
        }
        d.push_str(if self.bias { ", bias" } else { ", no bias" });
        d
    }

    fn build(
        &self,
        b: &mut GraphBuilder,
        name: &str,
        x: ValueId,
        shape: &[Dim],
    ) -> Result<ValueId, LayerError> {
        let s = self.sizes(&sample_dims(shape)?)?;
        let kv = s.kv_heads * s.head_size;
        let proj = |b: &mut GraphBuilder, part: &str, out: i64, input: ValueId| {
            Linear::new(out)
                .bias(self.bias)
                .build(b, &format!("{name}/{part}"), input, shape)
        };
        let q = proj(b, "q_proj", s.width, x)?;
        let k = proj(b, "k_proj", kv, x)?;
        let v = proj(b, "v_proj", kv, x)?;
        let attrs = vec![
            super::builder::int("q_num_heads", s.heads),
            super::builder::int("kv_num_heads", s.kv_heads),
        ];
        let a = b.node(
            "Attention",
            &format!("{name}/attention"),
            &[Some(q), Some(k), Some(v)],
            attrs,
        );
        proj(b, "out_proj", s.width, a)
    }

    fn bias(&self) -> Option<bool> {
        Some(self.bias)
    }

    fn with_bias(&self, bias: bool) -> Option<Box<dyn Layer>> {
        Some(Box::new(self.clone().bias(bias)))
    }

    fn explain(&self, cost: &LayerCost) -> Result<Explanation, LayerError> {
        let s = self.sizes(&cost.input_shape)?;
        let bias = cost
            .bias
            .ok_or_else(|| LayerError::Invalid("no bias counts".into()))?;
        let (w, l, h, d) = (s.width, s.seq, s.heads, s.head_size);
        let kv = || {
            if s.kv_heads == h {
                num(w)
            } else {
                times(vec![num(s.kv_heads), num(d)])
            }
        };
        // Projection outputs: Q and out are `width`, K and V `kv_heads·d`.
        let outs = || {
            sum(vec![
                (false, num(w)),
                (false, kv()),
                (false, kv()),
                (false, num(w)),
            ])
        };
        let (mut proj_macs, mut proj_flops, mut att_macs, mut att_flops) = (0, 0, 0, 0);
        for n in &cost.report.nodes {
            let (m, f) = node_counts(n);
            if n.op_type == "Attention" {
                att_macs += m;
                att_flops += f;
            } else {
                proj_macs += m;
                proj_flops += f;
            }
        }
        let header = Section::new(format!(
            "Sizes: seq = {l}, width = {w}, {h} heads of d = width/heads = {d}{}",
            if s.kv_heads != h {
                format!(
                    ", {} key/value heads (K and V have {}·{d} features)",
                    s.kv_heads, s.kv_heads
                )
            } else {
                String::new()
            }
        ));

        let params = super::conv::bias_steps(
            Section::new(
                "Params: four linear layers, (width + 1)·out each with a bias: Q and output \
                 out = width, K and V out = kv_heads·d",
            ),
            &bias,
            times(vec![plus(num(w), num(1)), group(outs())]),
            times(vec![num(w), group(outs())]),
            true,
        );

        let macs = Section::new(
            "MACs: the projections seq·width·out each; then per head the scores Q·Kᵀ (seq·seq·d) \
             and the context P·V (seq·seq·d)",
        )
        .step(Step::new(
            "projections",
            times(vec![num(l), num(w), group(outs())]),
            proj_macs,
        ))
        .step(Step::new(
            "attention",
            times(vec![num(h), num(l), num(l), group(plus(num(d), num(d)))]),
            att_macs,
        ))
        .step(Step::new(
            "MACs",
            plus(num(proj_macs), num(att_macs)),
            cost.macs as i128,
        ));

        let proj = |with_bias: bool| {
            let dot = group(minus(num(w), num(1)));
            let per = if with_bias {
                group(sum(vec![(false, num(w)), (false, dot), (false, num(1))]))
            } else {
                group(plus(num(w), dot))
            };
            times(vec![num(l), per, group(outs())])
        };
        let attention = times(vec![
            num(h),
            num(l),
            group(sum(vec![
                (
                    false,
                    times(vec![
                        num(l),
                        group(minus(times(vec![num(2), num(d)]), num(1))),
                    ]),
                ),
                (false, num(l)),
                (false, times(vec![num(5), num(l)])),
                (true, num(2)),
                (
                    false,
                    times(vec![
                        num(d),
                        group(minus(times(vec![num(2), num(l)]), num(1))),
                    ]),
                ),
            ])),
        ]);
        let (other, other_value) = if bias.enabled {
            ("without bias", bias.flops_without as i128)
        } else {
            ("with bias", bias.flops_with as i128)
        };
        // The other variant differs only in its projections.
        let other_proj = other_value - att_flops;
        let flops = Section::new(
            "FLOPs: each projection [width + (width − 1) + 1] per output with a bias; per head and \
             query, seq·(2d − 1) for the scores, seq for the scaling by 1/√d, 5·seq − 2 for the \
             softmax, d·(2·seq − 1) for P·V",
        )
        .step(Step::new("projections", proj(self.bias), proj_flops))
        .step(Step::new("attention", attention, att_flops))
        .step(Step::new("FLOPs", plus(num(proj_flops), num(att_flops)), cost.flops as i128))
        .step(Step::new(format!("projections {other}"), proj(!self.bias), other_proj))
        .step(Step::new(other, plus(num(other_proj), num(att_flops)), other_value));
        Ok(Explanation {
            sections: vec![header, params, macs, flops],
        })
    }
}
