//! Multi-head self-attention on a sequence: the query, key, value and output
//! projections (linear layers) around a fused attention operator, which
//! computes softmax(Q·Kᵀ / √d)·V per head. Grouped-query attention (fewer
//! key/value heads) shrinks the key and value projections; a causal mask
//! and a sliding window (Mistral) leave scores out, which the engine does
//! not count; rotary embeddings (Llama) rotate the queries and keys.
//!
//! Which operator: ONNX's `Attention` (opset 23, with `is_causal`), the
//! dynamo exporter's; with a sliding window, onnxruntime's
//! `GroupQueryAttention` with `local_window_size`, since the standard
//! operator has no window. The working is in `attention_working.rs`.

use super::builder::int;
use super::rotary::{Rotary, RotarySizes};
use super::{sample_dims, GraphBuilder, Layer, LayerCost, LayerError, Linear};
use crate::graph::ValueId;
use crate::shape::Dim;

/// Self-attention over a `[seq, width]` input, as PyTorch's
/// `MultiheadAttention(width, heads)`; with `kv_heads` < `heads`,
/// grouped-query attention (Llama 2 70B, Mistral); `causal` as a decoder;
/// `window` as Mistral's sliding window (each query sees at most its last
/// `window` positions, itself included); `head_dim` when it is not
/// width/heads (Gemma); `rotary` as Llama.
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
///
/// // Causal, on 7 tokens: row i sees i keys, 1 + 2 + … + 7 = 28 scores per
/// // head; under a window of 4, rows see 1, 2, 3, 4, 4, 4, 4: 22.
/// let causal = MultiHeadAttention::new(2).bias(false).causal(true);
/// let c = causal.clone().cost(&[7, 8]).unwrap();
/// assert_eq!(c.macs, 4 * 7 * 8 * 8 + 2 * 28 * (4 + 4));
/// let c = causal.window(4).cost(&[7, 8]).unwrap();
/// assert_eq!(c.macs, 4 * 7 * 8 * 8 + 2 * 22 * (4 + 4));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MultiHeadAttention {
    pub heads: i64,
    /// Key/value heads; `None`: as many as query heads.
    pub kv_heads: Option<i64>,
    /// Biases on the four projections (PyTorch's default).
    pub bias: bool,
    /// Each query sees only the positions up to its own.
    pub causal: bool,
    /// Sliding window: each query sees at most this many positions, its own
    /// included (Mistral's `sliding_window`). Causal.
    pub window: Option<i64>,
    /// Features per head; `None`: width/heads.
    pub head_dim: Option<i64>,
    /// Rotary position embedding on the queries and keys.
    pub rotary: bool,
}

/// Sizes of one attention layer on a sample.
pub(crate) struct Sizes {
    pub seq: i64,
    pub width: i64,
    pub heads: i64,
    pub kv_heads: i64,
    pub head_size: i64,
    /// A window narrower than the sequence (a wider one changes nothing).
    pub window: Option<i64>,
}

impl Sizes {
    /// Query features, heads·d (the width unless `head_dim` says otherwise).
    pub fn q_out(&self) -> i64 {
        self.heads * self.head_size
    }

    /// Key (and value) features, kv_heads·d.
    pub fn kv_out(&self) -> i64 {
        self.kv_heads * self.head_size
    }

    /// Keys query row `i` (from 0) sees.
    pub fn keys_of_row(&self, i: i64, causal: bool) -> i64 {
        match (causal, self.window) {
            (false, _) => self.seq,
            (true, None) => i + 1,
            (true, Some(w)) => (i + 1).min(w),
        }
    }
}

impl MultiHeadAttention {
    pub fn new(heads: i64) -> MultiHeadAttention {
        MultiHeadAttention {
            heads,
            kv_heads: None,
            bias: true,
            causal: false,
            window: None,
            head_dim: None,
            rotary: false,
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

    pub fn causal(mut self, causal: bool) -> Self {
        self.causal = causal;
        self
    }

    /// A sliding window of `window` positions; makes the attention causal.
    pub fn window(mut self, window: i64) -> Self {
        self.window = Some(window);
        self.causal = true;
        self
    }

    pub fn head_dim(mut self, head_dim: i64) -> Self {
        self.head_dim = Some(head_dim);
        self
    }

    pub fn rotary(mut self, rotary: bool) -> Self {
        self.rotary = rotary;
        self
    }

    pub(crate) fn sizes(&self, dims: &[i64]) -> Result<Sizes, LayerError> {
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
        let head_size = match self.head_dim {
            Some(d) if d < 1 => {
                return Err(LayerError::Invalid(format!(
                    "head_dim must be positive, got {d}"
                )))
            }
            Some(d) => d,
            None if width % heads != 0 => {
                return Err(LayerError::Invalid(format!(
                    "width {width} is not divisible by {heads} heads"
                )))
            }
            None => width / heads,
        };
        if heads % kv_heads != 0 {
            return Err(LayerError::Invalid(format!(
                "{heads} query heads cannot share {kv_heads} key/value heads evenly"
            )));
        }
        if self.rotary && head_size % 2 != 0 {
            return Err(LayerError::Invalid(format!(
                "rotary embedding rotates pairs: the head size {head_size} must be even"
            )));
        }
        let window = match self.window {
            Some(w) if w < 1 => {
                return Err(LayerError::Invalid(format!(
                    "window must be positive, got {w}"
                )))
            }
            Some(_) if !self.causal => {
                return Err(LayerError::Invalid(
                    "a sliding window is causal: leave causal=false out".into(),
                ))
            }
            Some(w) if w < seq => Some(w),
            _ => None,
        };
        Ok(Sizes {
            seq,
            width,
            heads,
            kv_heads,
            head_size,
            window,
        })
    }

    /// Rotates `x` (`heads` heads of the layer's head size), as Llama does
    /// to the queries and keys before their product.
    fn rotate(
        &self,
        b: &mut GraphBuilder,
        name: &str,
        x: ValueId,
        s: &Sizes,
        heads: i64,
    ) -> ValueId {
        let sizes = RotarySizes {
            seq: s.seq,
            heads,
            head_dim: s.head_size,
            rotated: s.head_size,
        };
        Rotary::new(heads).rotate(b, name, x, &sizes)
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
        if let Some(h) = self.head_dim {
            d.push_str(&format!(", head size {h}"));
        }
        match (self.causal, self.window) {
            (_, Some(w)) => d.push_str(&format!(", causal with a window of {w}")),
            (true, None) => d.push_str(", causal"),
            _ => {}
        }
        if self.rotary {
            d.push_str(", rotary");
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
        let proj = |b: &mut GraphBuilder, part: &str, out: i64, input: ValueId, at: &[Dim]| {
            Linear::new(out)
                .bias(self.bias)
                .build(b, &format!("{name}/{part}"), input, at)
        };
        let mut q = proj(b, "q_proj", s.q_out(), x, shape)?;
        let mut k = proj(b, "k_proj", s.kv_out(), x, shape)?;
        let v = proj(b, "v_proj", s.kv_out(), x, shape)?;
        if self.rotary {
            q = self.rotate(b, &format!("{name}/q_rotary"), q, &s, s.heads);
            k = self.rotate(b, &format!("{name}/k_rotary"), k, &s, s.kv_heads);
        }
        let a = match self.window {
            // onnxruntime's operator, always causal; its `local_window_size`
            // counts the keys before the query, so a window of `w` keys
            // (the query's own included, as PyTorch models count it) is
            // `w − 1`.
            Some(w) => {
                let total = b.int_tensor(&format!("{name}.total_sequence_length"), &[], &[s.seq]);
                b.node_in(
                    "com.microsoft",
                    "GroupQueryAttention",
                    &format!("{name}/attention"),
                    // No KV cache and no seqlens_k: a prompt of `seq` tokens,
                    // whose length total_sequence_length gives.
                    &[Some(q), Some(k), Some(v), None, None, None, Some(total)],
                    vec![
                        int("num_heads", s.heads),
                        int("kv_num_heads", s.kv_heads),
                        int("local_window_size", w - 1),
                    ],
                )
            }
            None => {
                let mut attrs = vec![int("q_num_heads", s.heads), int("kv_num_heads", s.kv_heads)];
                if self.causal {
                    attrs.push(int("is_causal", 1));
                }
                b.node(
                    "Attention",
                    &format!("{name}/attention"),
                    &[Some(q), Some(k), Some(v)],
                    attrs,
                )
            }
        };
        // The output projection reads the heads' outputs, heads·d features.
        let mut heads_out = shape.to_vec();
        if let Some(last) = heads_out.last_mut() {
            *last = Dim::int(s.q_out());
        }
        proj(b, "out_proj", s.width, a, &heads_out)
    }

    fn bias(&self) -> Option<bool> {
        Some(self.bias)
    }

    fn with_bias(&self, bias: bool) -> Option<Box<dyn Layer>> {
        Some(Box::new(self.clone().bias(bias)))
    }

    fn explain(&self, cost: &LayerCost) -> Result<crate::layers::Explanation, LayerError> {
        super::attention_working::explain(self, cost)
    }
}
