//! T5: an encoder over `seq` source tokens and a decoder over `tgt` target
//! tokens that attends to itself (causally) and to the encoder's output.
//! Attention scores get a learned relative-position bias (a table of
//! `buckets × heads` in each stack's first block, shared by its other
//! blocks); the bucket of each query/key pair is a graph input, since it is
//! computed from positions alone.
//!
//! Prefill runs the encoder and the decoder over `tgt` tokens; a decoding
//! step runs the decoder on one token after `ctx`, with the self-attention
//! cache and the encoder's keys and values (computed once) as inputs.

use nncost_core::graph::ValueId;
use nncost_core::layers::builder;
use nncost_core::shape::{Dim, Shape};

use crate::config::{Config, MAX_LAYERS};
use crate::net::{Act, Net, Norm, TensorRole};
use crate::{Error, Phase};

pub const MODEL_TYPES: &[&str] = &["t5"];

#[derive(Clone, Debug)]
pub struct Seq2Seq {
    vocab: i64,
    d_model: i64,
    d_kv: i64,
    heads: i64,
    d_ff: i64,
    encoder_layers: usize,
    decoder_layers: usize,
    buckets: i64,
    /// T5 v1.1 and later: `wi_0` (gated) and `wi_1`.
    gated: bool,
    act: Act,
    tied: bool,
}

impl Seq2Seq {
    pub fn from_config(c: &Config) -> Result<Seq2Seq, Error> {
        let layers = |keys: &[&str], default: Option<i64>| -> Result<usize, Error> {
            let n = match default {
                Some(d) => c.size_or(keys, d)?,
                None => c.size(keys)?,
            };
            if n > MAX_LAYERS {
                return Err(Error::Config(format!(
                    "{n} layers is more than the {MAX_LAYERS} nncost reads"
                )));
            }
            Ok(n as usize)
        };
        let encoder_layers = layers(&["num_layers"], None)?;
        let proj = c.string("feed_forward_proj")?.unwrap_or("relu");
        let (gated, act_name) = match proj.strip_prefix("gated-") {
            Some(a) => (true, a),
            None => (false, proj),
        };
        let act_name = if act_name == "gelu" && gated {
            // T5 v1.1's "gated-gelu" is the tanh approximation.
            "gelu_new"
        } else {
            act_name
        };
        let act = Act::parse(act_name).ok_or_else(|| {
            Error::Config(format!("feed_forward_proj \"{proj}\" is not supported"))
        })?;
        Ok(Seq2Seq {
            vocab: c.size(&["vocab_size"])?,
            d_model: c.size(&["d_model"])?,
            d_kv: c.size(&["d_kv"])?,
            heads: c.size(&["num_heads"])?,
            d_ff: c.size(&["d_ff"])?,
            encoder_layers,
            decoder_layers: layers(&["num_decoder_layers"], Some(encoder_layers as i64))?,
            buckets: c.size_or(&["relative_attention_num_buckets"], 32)?,
            gated,
            act,
            tied: c.flag("tie_word_embeddings", true)?,
        })
    }

    /// Key and value elements one decoded token adds to the self-attention
    /// cache, over all decoder layers.
    pub fn kv_elements_per_token(&self) -> i64 {
        2 * self.heads * self.d_kv * self.decoder_layers as i64
    }

    pub(crate) fn build(&self, net: &mut Net, phase: Phase) -> Result<(), Error> {
        let batch = Dim::sym("batch");
        let (seq, tgt) = (Dim::sym("seq"), Dim::sym("tgt"));
        let inner = self.heads * self.d_kv;
        let (d, v) = (self.d_model, self.vocab);
        // The shared embedding: created once, read by both stacks (and by a
        // tied head).
        let (table, enc_out) = match phase {
            Phase::Prefill => {
                let ids = net.int_input("input_ids", vec![batch.clone(), seq.clone()]);
                let buckets =
                    net.int_input("encoder_position_buckets", vec![seq.clone(), seq.clone()]);
                let (x, table) = net.embedding(ids, "shared", v, d);
                net.enter("encoder", "T5Stack");
                let mut x = x;
                let mut bias = None;
                for i in 0..self.encoder_layers {
                    net.enter(&format!("block.{i}"), "T5Block");
                    net.enter("layer.0", "T5LayerSelfAttention");
                    let h = net.norm(x, "layer_norm", d, Norm::Rms);
                    net.enter("SelfAttention", "T5Attention");
                    if i == 0 {
                        bias = Some(self.position_bias(net, buckets));
                    }
                    let a = self.attention(net, h, h, bias, false, None);
                    net.leave();
                    x = net.add(x, a);
                    net.leave();
                    net.enter("layer.1", "T5LayerFF");
                    x = self.feed_forward(net, x);
                    net.leave();
                    net.leave();
                }
                let x = net.norm(x, "final_layer_norm", d, Norm::Rms);
                net.leave();
                (Some(table), Some(x))
            }
            Phase::Decode => (None, None),
        };

        let new = match phase {
            Phase::Prefill => tgt.clone(),
            Phase::Decode => Dim::int(1),
        };
        let dec_ids = net.int_input("decoder_input_ids", vec![batch.clone(), new.clone()]);
        let keys = match phase {
            Phase::Prefill => tgt,
            Phase::Decode => Dim::sym("ctx")
                .add(&Dim::int(1))
                .map_err(|e| Error::Config(e.to_string()))?,
        };
        let dec_buckets = net.int_input("decoder_position_buckets", vec![new, keys]);
        let (mut x, table) = match table {
            Some(t) => (net.op("Gather", &[Some(t), Some(dec_ids)], vec![]), t),
            None => net.embedding(dec_ids, "shared", v, d),
        };
        let cache_shape = |len: Dim| -> Shape {
            vec![
                batch.clone(),
                Dim::int(self.heads),
                len,
                Dim::int(self.d_kv),
            ]
        };
        net.enter("decoder", "T5Stack");
        let mut bias = None;
        for i in 0..self.decoder_layers {
            net.enter(&format!("block.{i}"), "T5Block");
            let past = (phase == Phase::Decode).then(|| {
                let k = net.input(
                    &format!("past_key_values.{i}.self.key"),
                    cache_shape(Dim::sym("ctx")),
                );
                let v = net.input(
                    &format!("past_key_values.{i}.self.value"),
                    cache_shape(Dim::sym("ctx")),
                );
                (k, v)
            });
            net.enter("layer.0", "T5LayerSelfAttention");
            let h = net.norm(x, "layer_norm", d, Norm::Rms);
            net.enter("SelfAttention", "T5Attention");
            if i == 0 {
                bias = Some(self.position_bias(net, dec_buckets));
            }
            let a = self.attention(net, h, h, bias, true, past);
            net.leave();
            x = net.add(x, a);
            net.leave();
            net.enter("layer.1", "T5LayerCrossAttention");
            let h = net.norm(x, "layer_norm", d, Norm::Rms);
            net.enter("EncDecAttention", "T5Attention");
            let a = match enc_out {
                Some(e) => self.attention(net, h, e, None, false, None),
                None => {
                    // The encoder's keys and values, projected once at the
                    // prompt and kept: the q and o projections only.
                    let k = net.input(
                        &format!("past_key_values.{i}.cross.key"),
                        cache_shape(Dim::sym("seq")),
                    );
                    let vv = net.input(
                        &format!("past_key_values.{i}.cross.value"),
                        cache_shape(Dim::sym("seq")),
                    );
                    self.cross_from_cache(net, h, k, vv)
                }
            };
            net.leave();
            x = net.add(x, a);
            net.leave();
            net.enter("layer.2", "T5LayerFF");
            x = self.feed_forward(net, x);
            net.leave();
            net.leave();
        }
        let x = net.norm(x, "final_layer_norm", d, Norm::Rms);
        net.leave();
        let logits = if self.tied {
            // The tied head rescales by d_model^-1/2 and reads the table.
            net.enter("lm_head", "Linear");
            let s = net.scalar(1.0 / (d as f64).sqrt());
            let x = net.mul(x, s);
            let t = net.op("Transpose", &[Some(table)], vec![]);
            let y = net.op("MatMul", &[Some(x), Some(t)], vec![]);
            net.leave();
            y
        } else {
            net.linear(x, "lm_head", d, v, false)
        };
        let _ = inner;
        net.output(logits);
        Ok(())
    }

    /// The relative-position bias `[1, heads, q, k]` from the bucket ids.
    fn position_bias(&self, net: &mut Net, buckets: ValueId) -> ValueId {
        net.enter("relative_attention_bias", "Embedding");
        let shape = [self.buckets, self.heads];
        let table = net.tensor("weight", &shape, &shape, TensorRole::Embedding);
        let b = net.op("Gather", &[Some(table), Some(buckets)], vec![]);
        net.leave();
        let b = net.op(
            "Transpose",
            &[Some(b)],
            vec![builder::ints("perm", &[2, 0, 1])],
        );
        let front = net.ints(&[0]);
        net.op("Unsqueeze", &[Some(b), Some(front)], vec![])
    }

    /// Multi-head attention of `x` over `kv` (no scaling: T5 folds it into
    /// the weights), the position bias added to the scores.
    fn attention(
        &self,
        net: &mut Net,
        x: ValueId,
        kv: ValueId,
        bias: Option<ValueId>,
        causal: bool,
        past: Option<(ValueId, ValueId)>,
    ) -> ValueId {
        let (d, inner) = (self.d_model, self.heads * self.d_kv);
        let q = net.linear(x, "q", d, inner, false);
        let k = net.linear(kv, "k", d, inner, false);
        let v = net.linear(kv, "v", d, inner, false);
        let mut inputs = vec![Some(q), Some(k), Some(v), bias];
        if let Some((pk, pv)) = past {
            inputs.extend([Some(pk), Some(pv)]);
        }
        let y = net.op(
            "Attention",
            &inputs,
            vec![
                builder::int("q_num_heads", self.heads),
                builder::int("kv_num_heads", self.heads),
                builder::int("is_causal", i64::from(causal)),
                builder::float("scale", 1.0),
            ],
        );
        if past.is_some() {
            net.extra_output("present_key");
            net.extra_output("present_value");
        }
        net.linear(y, "o", inner, d, false)
    }

    /// Cross-attention of one decoded token over the cached encoder keys
    /// and values `[batch, heads, seq, d_kv]`.
    fn cross_from_cache(&self, net: &mut Net, x: ValueId, k: ValueId, v: ValueId) -> ValueId {
        let (d, inner) = (self.d_model, self.heads * self.d_kv);
        let q = net.linear(x, "q", d, inner, false);
        let q = net.reshape(q, &[0, 0, self.heads, self.d_kv]);
        let q = net.op(
            "Transpose",
            &[Some(q)],
            vec![builder::ints("perm", &[0, 2, 1, 3])],
        );
        let y = net.op(
            "Attention",
            &[Some(q), Some(k), Some(v)],
            vec![builder::float("scale", 1.0)],
        );
        let y = net.op(
            "Transpose",
            &[Some(y)],
            vec![builder::ints("perm", &[0, 2, 1, 3])],
        );
        let y = net.reshape(y, &[0, 0, inner]);
        net.linear(y, "o", inner, d, false)
    }

    fn feed_forward(&self, net: &mut Net, x: ValueId) -> ValueId {
        let (d, f) = (self.d_model, self.d_ff);
        let h = net.norm(x, "layer_norm", d, Norm::Rms);
        net.enter("DenseReluDense", "T5DenseActDense");
        let h = if self.gated {
            let g = net.linear(h, "wi_0", d, f, false);
            let g = net.activation(g, self.act);
            let u = net.linear(h, "wi_1", d, f, false);
            net.mul(g, u)
        } else {
            let h = net.linear(h, "wi", d, f, false);
            net.activation(h, self.act)
        };
        let y = net.linear(h, "wo", f, d, false);
        net.leave();
        net.add(x, y)
    }
}
