//! Decoder-only language models from their `config.json`: the families
//! that share Llama's plan (embedding, N blocks of attention and MLP, a
//! final norm, the LM head) with each family's variations — fused
//! projections, biases, norms before and after, local (sliding-window)
//! layers, soft caps, mixtures of experts and DeepSeek's latent attention.
//!
//! The graph is what the model computes for one forward pass, at the
//! symbolic sizes `batch`, `seq` (new tokens) and, when decoding, `ctx`
//! (tokens already in the KV cache).

use nncost_core::graph::ValueId;
use nncost_core::layers::builder;
use nncost_core::shape::{Dim, Shape};

use crate::config::{Config, MAX_LAYERS};
use crate::net::{Act, Net, Norm, TensorRole};
use crate::{Error, Phase};

/// The model families read here, by `model_type`.
pub const MODEL_TYPES: &[&str] = &[
    "llama",
    "mistral",
    "mixtral",
    "qwen2",
    "qwen3",
    "qwen2_moe",
    "qwen3_moe",
    "gemma",
    "gemma2",
    "gemma3_text",
    "phi3",
    "olmo",
    "olmo2",
    "deepseek_v2",
    "deepseek_v3",
    "gpt2",
    "gpt_neox",
    "falcon",
];

/// What one block of a pass reads beside its input: its index, the token
/// positions, the rotary tables and its KV cache (decoding).
#[derive(Clone, Copy)]
struct Step {
    layer: usize,
    positions: ValueId,
    rope: Option<(ValueId, ValueId)>,
    cache: Option<(ValueId, ValueId)>,
}

/// Where the checkpoint's tensors live, by family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Naming {
    /// `model.embed_tokens`, `model.layers.N.self_attn.q_proj`, `lm_head`.
    Llama,
    /// `transformer.wte`, `transformer.h.N.attn.c_attn` (Conv1D weights).
    Gpt2,
    /// `gpt_neox.embed_in`, `gpt_neox.layers.N.attention.query_key_value`.
    NeoX,
    /// `transformer.word_embeddings`, `transformer.h.N.self_attention`.
    Falcon,
}

/// Where the norms sit in a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Placement {
    /// Before attention and before the MLP (Llama).
    Pre,
    /// Before and after each (Gemma 2 and 3).
    Sandwich,
    /// After each, on the branch (OLMo 2).
    Post,
    /// Attention and MLP both read the block's input; two norms (GPT-NeoX's
    /// parallel residual, Falcon's new architecture) or one (Falcon 7B).
    Parallel { shared_norm: bool },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum QkNorm {
    None,
    /// Over each head's `d` (Qwen 3, Gemma 3).
    PerHead,
    /// Over all heads at once (OLMo 2).
    Full,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Attention {
    Standard {
        qkv_bias: bool,
        o_bias: bool,
        qk_norm: QkNorm,
        /// One projection to Q, K and V together (Phi-3, GPT-NeoX, Falcon, GPT-2).
        fused: bool,
    },
    /// Multi-head latent attention (DeepSeek-V2/V3): queries through a
    /// low-rank bottleneck (if `q_lora`), keys and values from a compressed
    /// latent of `kv_lora` plus a shared rotary key of `rope`.
    Latent {
        q_lora: Option<i64>,
        kv_lora: i64,
        nope: i64,
        rope: i64,
        v: i64,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Mlp {
    inner: i64,
    act: Act,
    gated: bool,
    /// Gate and up in one projection (Phi-3).
    fused: bool,
    bias: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Experts {
    pub experts: i64,
    pub top_k: i64,
    pub inner: i64,
    normalize: bool,
    /// Always-on experts beside the routed ones, as one MLP of this size.
    shared_inner: Option<i64>,
    /// Qwen2-MoE's sigmoid gate on the shared expert.
    shared_gate: bool,
    /// DeepSeek-V3's router score bias (a buffer).
    score_bias: bool,
}

/// A decoder-only model's hyper-parameters, read from its config.
#[derive(Clone, Debug)]
pub struct Decoder {
    pub model_type: String,
    naming: Naming,
    pub vocab: i64,
    pub hidden: i64,
    pub layers: usize,
    pub heads: i64,
    pub kv_heads: i64,
    pub head_dim: i64,
    attention: Attention,
    /// Rotated dims per head; `None` with learned positions (GPT-2).
    rotary: Option<i64>,
    max_positions: i64,
    norm: Norm,
    placement: Placement,
    mlp: Mlp,
    pub(crate) experts: Option<Experts>,
    /// Which layers are dense when the model has experts.
    dense: Vec<bool>,
    /// Per layer: the sliding window, if the layer is local.
    pub windows: Vec<Option<i64>>,
    attn_softcap: Option<f64>,
    final_softcap: Option<f64>,
    /// Gemma multiplies embeddings by √hidden.
    embed_scale: bool,
    pub tied: bool,
}

fn unsupported_act(name: &str) -> Error {
    Error::Config(format!(
        "activation \"{name}\" is not one of silu, gelu, gelu_new, gelu_pytorch_tanh, quick_gelu, relu"
    ))
}

impl Decoder {
    pub fn from_config(c: &Config) -> Result<Decoder, Error> {
        let t = c.model_type.as_str();
        let naming = match t {
            "gpt2" => Naming::Gpt2,
            "gpt_neox" => Naming::NeoX,
            "falcon" => Naming::Falcon,
            _ => Naming::Llama,
        };
        let hidden = c.size(&["hidden_size", "n_embd"])?;
        let layers = c.size(&["num_hidden_layers", "n_layer"])?;
        if layers > MAX_LAYERS {
            return Err(Error::Config(format!(
                "{layers} layers is more than the {MAX_LAYERS} nncost reads"
            )));
        }
        let layers = layers as usize;
        let heads = c.size(&["num_attention_heads", "n_head"])?;
        let vocab = c.size(&["vocab_size"])?;
        let mut kv_heads = c.size_or(&["num_key_value_heads"], heads)?;
        if t == "falcon" {
            kv_heads = if c.flag("new_decoder_architecture", false)? {
                c.size_or(&["num_kv_heads"], heads)?
            } else if c.flag("multi_query", true)? {
                1
            } else {
                heads
            };
        }
        let head_dim = match c.size_any(&["head_dim"])? {
            Some(d) if t != "gpt2" && t != "gpt_neox" && t != "falcon" => d,
            _ => {
                if hidden % heads != 0 {
                    return Err(Error::Config(format!(
                        "hidden size {hidden} is not divisible by {heads} heads"
                    )));
                }
                hidden / heads
            }
        };
        if heads % kv_heads != 0 {
            return Err(Error::Config(format!(
                "{heads} attention heads cannot share {kv_heads} key/value heads evenly"
            )));
        }
        let act_name = c
            .string("hidden_activation")?
            .or(c.string("hidden_act")?)
            .or(c.string("activation_function")?)
            .unwrap_or(match t {
                "gpt2" => "gelu_new",
                "gpt_neox" | "falcon" => "gelu",
                "gemma" | "gemma2" | "gemma3_text" => "gelu_pytorch_tanh",
                _ => "silu",
            });
        let act = Act::parse(act_name).ok_or_else(|| unsupported_act(act_name))?;

        let max_positions = c.size_or(&["max_position_embeddings", "n_positions"], 2048)?;
        // Hub configs state it at the top; transformers 5 writes it inside
        // `rope_parameters`.
        let partial = match c.float("partial_rotary_factor")?.or(c.float("rotary_pct")?) {
            Some(f) => f,
            None => c
                .sub("rope_parameters")
                .and_then(|r| r.get("partial_rotary_factor"))
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(1.0),
        };
        if !(partial > 0.0 && partial <= 1.0) {
            return Err(Error::Config(format!(
                "the rotary fraction {partial} is not in (0, 1]"
            )));
        }
        let rope_dim = |d: i64| -> i64 { ((d as f64) * partial).round() as i64 };

        let attention_bias = c.flag("attention_bias", false)?;
        let mut attention = Attention::Standard {
            qkv_bias: attention_bias,
            o_bias: attention_bias,
            qk_norm: QkNorm::None,
            fused: false,
        };
        let mut rotary = Some(rope_dim(head_dim));
        let mut norm = Norm::Rms;
        let mut placement = Placement::Pre;
        let mut mlp = Mlp {
            inner: c.size_or(&["intermediate_size"], 4 * hidden)?,
            act,
            gated: true,
            fused: false,
            bias: c.flag("mlp_bias", false)?,
        };
        let mut tied = c.flag("tie_word_embeddings", true)?;
        let mut experts = None;
        let mut dense = vec![true; layers];
        let mut embed_scale = false;
        let mut attn_softcap = None;
        let mut final_softcap = None;

        match t {
            "llama" | "mistral" | "mixtral" => {
                tied = c.flag("tie_word_embeddings", false)?;
            }
            "qwen2" | "qwen2_moe" => {
                attention = Attention::Standard {
                    qkv_bias: c.flag("qkv_bias", true)?,
                    o_bias: false,
                    qk_norm: QkNorm::None,
                    fused: false,
                };
                tied = c.flag("tie_word_embeddings", false)?;
            }
            "qwen3" | "qwen3_moe" => {
                attention = Attention::Standard {
                    qkv_bias: attention_bias,
                    o_bias: attention_bias,
                    qk_norm: QkNorm::PerHead,
                    fused: false,
                };
                tied = c.flag("tie_word_embeddings", false)?;
            }
            "gemma" | "gemma2" | "gemma3_text" => {
                embed_scale = true;
                if t != "gemma" {
                    placement = Placement::Sandwich;
                }
                if t == "gemma3_text" {
                    attention = Attention::Standard {
                        qkv_bias: attention_bias,
                        o_bias: attention_bias,
                        qk_norm: QkNorm::PerHead,
                        fused: false,
                    };
                }
                if t == "gemma2" {
                    attn_softcap = c.float("attn_logit_softcapping")?;
                    final_softcap = c.float("final_logit_softcapping")?;
                }
            }
            "phi3" => {
                attention = Attention::Standard {
                    qkv_bias: false,
                    o_bias: false,
                    qk_norm: QkNorm::None,
                    fused: true,
                };
                mlp.fused = true;
                tied = c.flag("tie_word_embeddings", false)?;
            }
            "olmo" => {
                norm = Norm::LayerPlain;
                tied = c.flag("tie_word_embeddings", false)?;
            }
            "olmo2" => {
                placement = Placement::Post;
                attention = Attention::Standard {
                    qkv_bias: attention_bias,
                    o_bias: attention_bias,
                    qk_norm: QkNorm::Full,
                    fused: false,
                };
                tied = c.flag("tie_word_embeddings", false)?;
            }
            "deepseek_v2" | "deepseek_v3" => {
                let q_lora = c.count_or("q_lora_rank", 0)?;
                attention = Attention::Latent {
                    q_lora: (q_lora > 0).then_some(q_lora),
                    kv_lora: c.size(&["kv_lora_rank"])?,
                    nope: c.size(&["qk_nope_head_dim"])?,
                    rope: c.size(&["qk_rope_head_dim"])?,
                    v: c.size(&["v_head_dim"])?,
                };
                rotary = Some(c.size(&["qk_rope_head_dim"])?);
                tied = c.flag("tie_word_embeddings", false)?;
            }
            "gpt2" => {
                attention = Attention::Standard {
                    qkv_bias: true,
                    o_bias: true,
                    qk_norm: QkNorm::None,
                    fused: true,
                };
                rotary = None;
                norm = Norm::Layer { bias: true };
                mlp = Mlp {
                    inner: c.size_or(&["n_inner"], 4 * hidden)?,
                    act,
                    gated: false,
                    fused: false,
                    bias: true,
                };
            }
            "gpt_neox" => {
                let bias = c.flag("attention_bias", true)?;
                attention = Attention::Standard {
                    qkv_bias: bias,
                    o_bias: bias,
                    qk_norm: QkNorm::None,
                    fused: true,
                };
                norm = Norm::Layer { bias: true };
                if c.flag("use_parallel_residual", true)? {
                    placement = Placement::Parallel { shared_norm: false };
                }
                mlp = Mlp {
                    inner: c.size_or(&["intermediate_size"], 4 * hidden)?,
                    act,
                    gated: false,
                    fused: false,
                    bias: true,
                };
                tied = c.flag("tie_word_embeddings", false)?;
            }
            "falcon" => {
                let bias = c.flag("bias", false)?;
                attention = Attention::Standard {
                    qkv_bias: bias,
                    o_bias: bias,
                    qk_norm: QkNorm::None,
                    fused: true,
                };
                if c.flag("alibi", false)? {
                    rotary = None;
                }
                norm = Norm::Layer { bias: true };
                let new_arch = c.flag("new_decoder_architecture", false)?;
                if new_arch {
                    placement = Placement::Parallel { shared_norm: false };
                } else if c.flag("parallel_attn", true)? {
                    placement = Placement::Parallel { shared_norm: true };
                }
                mlp = Mlp {
                    inner: c.size_or(&["ffn_hidden_size"], 4 * hidden)?,
                    act,
                    gated: false,
                    fused: false,
                    bias,
                };
            }
            other => {
                return Err(Error::Config(format!(
                    "model_type \"{other}\" is not a decoder nncost reads"
                )))
            }
        }

        // Mixtures of experts.
        let moe_inner = |c: &Config| c.size(&["moe_intermediate_size", "intermediate_size"]);
        match t {
            "mixtral" => {
                experts = Some(Experts {
                    experts: c.size(&["num_local_experts"])?,
                    top_k: c.size(&["num_experts_per_tok"])?,
                    inner: mlp.inner,
                    normalize: true,
                    shared_inner: None,
                    shared_gate: false,
                    score_bias: false,
                });
                dense = vec![false; layers];
            }
            "qwen2_moe" | "qwen3_moe" => {
                let shared = c.count_or("shared_expert_intermediate_size", 0)?;
                experts = Some(Experts {
                    experts: c.size(&["num_experts", "num_local_experts"])?,
                    top_k: c.size(&["num_experts_per_tok"])?,
                    inner: moe_inner(c)?,
                    normalize: c.flag("norm_topk_prob", t == "qwen3_moe")?,
                    shared_inner: (shared > 0).then_some(shared),
                    shared_gate: shared > 0,
                    score_bias: false,
                });
                let step = c.size_or(&["decoder_sparse_step"], 1)? as usize;
                let only_mlp = c.indices("mlp_only_layers")?;
                dense = (0..layers)
                    .map(|i| only_mlp.contains(&(i as i64)) || (i + 1) % step != 0)
                    .collect();
            }
            "deepseek_v2" | "deepseek_v3" => {
                let shared = c.count_or("n_shared_experts", 0)?;
                let inner = moe_inner(c)?;
                experts = Some(Experts {
                    experts: c.size(&["n_routed_experts"])?,
                    top_k: c.size(&["num_experts_per_tok"])?,
                    inner,
                    normalize: c.flag("norm_topk_prob", false)?,
                    shared_inner: (shared > 0).then_some(shared * inner),
                    shared_gate: false,
                    score_bias: t == "deepseek_v3",
                });
                let first_dense = c.count_or("first_k_dense_replace", 0)? as usize;
                let freq = c.size_or(&["moe_layer_freq"], 1)? as usize;
                dense = (0..layers)
                    .map(|i| i < first_dense || i % freq != 0)
                    .collect();
            }
            _ => {}
        }
        if let Some(e) = &experts {
            if e.top_k > e.experts {
                return Err(Error::Config(format!(
                    "{} experts per token of {} experts",
                    e.top_k, e.experts
                )));
            }
        }

        // Local layers.
        let window = c.count_or("sliding_window", 0)?;
        let sliding = match c.layer_types(layers)? {
            Some(types) => types,
            None => match t {
                "mistral" | "mixtral" | "phi3" => vec![window > 0; layers],
                // Gemma 2 alternates local and global layers, local first.
                "gemma2" => (0..layers).map(|i| i % 2 == 0).collect(),
                "gemma3_text" => {
                    let pattern = c.size_or(&["sliding_window_pattern"], 6)? as usize;
                    (0..layers).map(|i| (i + 1) % pattern != 0).collect()
                }
                "qwen2" | "qwen2_moe" | "qwen3" | "qwen3_moe"
                    if c.flag("use_sliding_window", false)? =>
                {
                    let from = c.count_or("max_window_layers", 0)? as usize;
                    (0..layers).map(|i| i >= from).collect()
                }
                _ => vec![false; layers],
            },
        };
        let windows = sliding
            .iter()
            .map(|&s| (s && window > 0).then_some(window))
            .collect();

        Ok(Decoder {
            model_type: t.to_string(),
            naming,
            vocab,
            hidden,
            layers,
            heads,
            kv_heads,
            head_dim,
            attention,
            rotary,
            max_positions,
            norm,
            placement,
            mlp,
            experts,
            dense,
            windows,
            attn_softcap,
            final_softcap,
            embed_scale,
            tied,
        })
    }

    /// Per token and layer, the key and value elements the cache keeps:
    /// `2·kv_heads·head_dim`, or for latent attention the compressed latent
    /// and the rotary key, `kv_lora + rope` (what DeepSeek's inference
    /// caches; Hugging Face's eager code caches the expanded keys and
    /// values, `heads·(nope + rope + v)`).
    pub fn kv_elements_per_token(&self) -> i64 {
        match &self.attention {
            Attention::Latent { kv_lora, rope, .. } => kv_lora + rope,
            Attention::Standard { .. } => 2 * self.kv_heads * self.head_dim,
        }
    }

    /// The two cache tensors of a layer after `ctx` tokens, as the model's
    /// code keeps them: keys and values `[batch, kv_heads, ctx, d]`, or for
    /// latent attention the normalised latent `[batch, ctx, kv_lora]` and
    /// the rotary key `[batch, ctx, rope]`.
    fn cache_shapes(&self) -> [(&'static str, Shape); 2] {
        let (b, ctx) = (Dim::sym("batch"), Dim::sym("ctx"));
        match &self.attention {
            Attention::Latent { kv_lora, rope, .. } => [
                ("latent", vec![b.clone(), ctx.clone(), Dim::int(*kv_lora)]),
                ("rope_key", vec![b, ctx, Dim::int(*rope)]),
            ],
            Attention::Standard { .. } => {
                let s = vec![b, Dim::int(self.kv_heads), ctx, Dim::int(self.head_dim)];
                [("key", s.clone()), ("value", s)]
            }
        }
    }

    fn root(&self) -> &'static str {
        match self.naming {
            Naming::Llama => "model",
            Naming::Gpt2 | Naming::Falcon => "transformer",
            Naming::NeoX => "gpt_neox",
        }
    }

    pub(crate) fn build(&self, net: &mut Net, phase: Phase) -> Result<(), Error> {
        let batch = Dim::sym("batch");
        let new = match phase {
            Phase::Prefill => Dim::sym("seq"),
            Phase::Decode => Dim::int(1),
        };
        let ids = net.int_input("input_ids", vec![batch.clone(), new.clone()]);
        let positions = net.int_input("position_ids", vec![batch.clone(), new.clone()]);
        let mut past = Vec::new();
        if phase == Phase::Decode {
            for i in 0..self.layers {
                let [(kn, ks), (vn, vs)] = self.cache_shapes();
                let k = net.input(&format!("past_key_values.{i}.{kn}"), ks);
                let v = net.input(&format!("past_key_values.{i}.{vn}"), vs);
                past.push((k, v));
            }
        }

        net.enter(self.root(), "Model");
        let table_name = match self.naming {
            Naming::Llama => "embed_tokens",
            Naming::Gpt2 => "wte",
            Naming::NeoX => "embed_in",
            Naming::Falcon => "word_embeddings",
        };
        let (mut x, table) = net.embedding(ids, table_name, self.vocab, self.hidden);
        if self.naming == Naming::Gpt2 {
            let (p, _) = net.embedding(positions, "wpe", self.max_positions, self.hidden);
            x = net.add(x, p);
        }
        if self.embed_scale {
            let s = net.scalar((self.hidden as f64).sqrt());
            x = net.mul(x, s);
        }
        let rope = self.rotary.map(|r| self.rotary_cache(net, r));
        let blocks = match self.naming {
            Naming::Llama | Naming::NeoX => "layers",
            Naming::Gpt2 | Naming::Falcon => "h",
        };
        for i in 0..self.layers {
            net.enter(&format!("{blocks}.{i}"), "DecoderLayer");
            let cache = past.get(i).copied();
            let at = Step {
                layer: i,
                positions,
                rope,
                cache,
            };
            x = self.block(net, x, at)?;
            net.leave();
        }
        x = match self.naming {
            Naming::Llama => net.norm(x, "norm", self.hidden, self.norm),
            Naming::NeoX => net.norm(x, "final_layer_norm", self.hidden, self.norm),
            Naming::Gpt2 | Naming::Falcon => net.norm(x, "ln_f", self.hidden, self.norm),
        };
        net.leave();

        // The LM head over every position, as a forward pass computes it.
        let logits = if self.tied {
            // The head reads the embedding's table again: one tensor,
            // counted once.
            net.enter("lm_head", "Linear");
            let t = net.op("Transpose", &[Some(table)], vec![]);
            let y = net.op("MatMul", &[Some(x), Some(t)], vec![]);
            net.leave();
            y
        } else {
            net.linear(x, "lm_head", self.hidden, self.vocab, false)
        };
        let logits = match self.final_softcap {
            Some(cap) => net.softcap(logits, cap),
            None => logits,
        };
        net.output(logits);
        Ok(())
    }

    /// The rotary cos/sin caches `[max_positions, rotated/2]`: constants of
    /// the formula, not parameters.
    fn rotary_cache(&self, net: &mut Net, rotated: i64) -> (ValueId, ValueId) {
        net.rotary_tables(self.max_positions, rotated / 2)
    }

    fn block(&self, net: &mut Net, x: ValueId, at: Step) -> Result<ValueId, Error> {
        let layer = at.layer;
        let h = self.hidden;
        let (attn_norm, mlp_norm) = match self.naming {
            Naming::Llama => ("input_layernorm", "post_attention_layernorm"),
            Naming::Gpt2 => ("ln_1", "ln_2"),
            Naming::NeoX => ("input_layernorm", "post_attention_layernorm"),
            Naming::Falcon => match self.placement {
                Placement::Parallel { shared_norm: false } => ("ln_attn", "ln_mlp"),
                _ => ("input_layernorm", "post_attention_layernorm"),
            },
        };
        let attend = |net: &mut Net, x: ValueId| self.attention(net, x, at);
        let y = match self.placement {
            Placement::Pre => {
                let a = net.norm(x, attn_norm, h, self.norm);
                let a = attend(net, a)?;
                let x = net.add(x, a);
                let m = net.norm(x, mlp_norm, h, self.norm);
                let m = self.feed_forward(net, layer, m);
                net.add(x, m)
            }
            Placement::Sandwich => {
                let a = net.norm(x, "input_layernorm", h, self.norm);
                let a = attend(net, a)?;
                let a = net.norm(a, "post_attention_layernorm", h, self.norm);
                let x = net.add(x, a);
                let m = net.norm(x, "pre_feedforward_layernorm", h, self.norm);
                let m = self.feed_forward(net, layer, m);
                let m = net.norm(m, "post_feedforward_layernorm", h, self.norm);
                net.add(x, m)
            }
            Placement::Post => {
                let a = attend(net, x)?;
                let a = net.norm(a, "post_attention_layernorm", h, self.norm);
                let x = net.add(x, a);
                let m = self.feed_forward(net, layer, x);
                let m = net.norm(m, "post_feedforward_layernorm", h, self.norm);
                net.add(x, m)
            }
            Placement::Parallel { shared_norm } => {
                let a_in = net.norm(x, attn_norm, h, self.norm);
                let m_in = if shared_norm {
                    a_in
                } else {
                    net.norm(x, mlp_norm, h, self.norm)
                };
                let a = attend(net, a_in)?;
                let m = self.feed_forward(net, layer, m_in);
                let am = net.add(a, m);
                net.add(x, am)
            }
        };
        Ok(y)
    }

    fn attention(&self, net: &mut Net, x: ValueId, at: Step) -> Result<ValueId, Error> {
        let Step {
            positions,
            rope,
            cache,
            ..
        } = at;
        let (h, d) = (self.hidden, self.head_dim);
        let (heads, kv) = (self.heads, self.kv_heads);
        let module = match self.naming {
            Naming::Llama => "self_attn",
            Naming::Gpt2 => "attn",
            Naming::NeoX => "attention",
            Naming::Falcon => "self_attention",
        };
        net.enter(module, "Attention");
        let out = match &self.attention {
            Attention::Standard {
                qkv_bias,
                o_bias,
                qk_norm,
                fused,
            } => {
                let (mut q, mut k, v) = if *fused {
                    let name = match self.naming {
                        Naming::Llama => "qkv_proj",
                        Naming::Gpt2 => "c_attn",
                        Naming::NeoX | Naming::Falcon => "query_key_value",
                    };
                    let width = (heads + 2 * kv) * d;
                    let qkv =
                        net.linear_as(x, name, h, width, *qkv_bias, self.naming == Naming::Gpt2);
                    let parts = net.split(qkv, &[heads * d, kv * d, kv * d]);
                    (parts[0], parts[1], parts[2])
                } else {
                    (
                        net.linear(x, "q_proj", h, heads * d, *qkv_bias),
                        net.linear(x, "k_proj", h, kv * d, *qkv_bias),
                        net.linear(x, "v_proj", h, kv * d, *qkv_bias),
                    )
                };
                match qk_norm {
                    QkNorm::None => {}
                    QkNorm::PerHead => {
                        q = self.head_norm(net, q, "q_norm", heads);
                        k = self.head_norm(net, k, "k_norm", kv);
                    }
                    QkNorm::Full => {
                        q = net.norm(q, "q_norm", heads * d, Norm::Rms);
                        k = net.norm(k, "k_norm", kv * d, Norm::Rms);
                    }
                }
                let y = self.grouped_attention(net, [q, k, v], at);
                let o_name = match self.naming {
                    Naming::Llama => "o_proj",
                    Naming::Gpt2 => "c_proj",
                    Naming::NeoX | Naming::Falcon => "dense",
                };
                net.linear_as(
                    y,
                    o_name,
                    heads * d,
                    h,
                    *o_bias,
                    self.naming == Naming::Gpt2,
                )
            }
            Attention::Latent {
                q_lora,
                kv_lora,
                nope,
                rope: rope_dim,
                v,
            } => {
                let (nope, rope_dim, v, kv_lora) = (*nope, *rope_dim, *v, *kv_lora);
                let qk = nope + rope_dim;
                let q = match q_lora {
                    Some(r) => {
                        let a = net.linear(x, "q_a_proj", h, *r, false);
                        let a = net.norm(a, "q_a_layernorm", *r, Norm::Rms);
                        net.linear(a, "q_b_proj", *r, heads * qk, false)
                    }
                    None => net.linear(x, "q_proj", h, heads * qk, false),
                };
                let compressed = net.linear(x, "kv_a_proj_with_mqa", h, kv_lora + rope_dim, false);
                let parts = net.split(compressed, &[kv_lora, rope_dim]);
                let mut latent = net.norm(parts[0], "kv_a_layernorm", kv_lora, Norm::Rms);
                let (cos, sin) = rope.expect("latent attention is rotary");

                // Queries: rotate the last `rope` dims of each head.
                let q4 = net.reshape(q, &[0, 0, heads, qk]);
                let q_parts = net.split(q4, &[nope, rope_dim]);
                let q_pe = net.reshape(q_parts[1], &[0, 0, heads * rope_dim]);
                let q_pe = self.rotate(net, q_pe, positions, (cos, sin), heads);
                let q_pe = net.reshape(q_pe, &[0, 0, heads, rope_dim]);
                let q = net.concat_last(&[q_parts[0], q_pe]);
                let q = net.reshape(q, &[0, 0, heads * qk]);

                // One rotary key shared by all heads. The cache keeps the
                // latent and this key; every step expands all cached
                // latents again through kv_b_proj, as the model's code does.
                let mut k_pe = self.rotate(net, parts[1], positions, (cos, sin), 1);
                if let Some((past_latent, past_rope)) = cache {
                    let along_seq = || vec![builder::int("axis", 1)];
                    latent = net.op("Concat", &[Some(past_latent), Some(latent)], along_seq());
                    k_pe = net.op("Concat", &[Some(past_rope), Some(k_pe)], along_seq());
                }
                let kv_up = net.linear(latent, "kv_b_proj", kv_lora, heads * (nope + v), false);
                let k_pe = net.reshape(k_pe, &[0, 0, 1, rope_dim]);
                let to_heads = net.ints(&[1, 1, heads, rope_dim]);
                let k_pe = net.op("Expand", &[Some(k_pe), Some(to_heads)], vec![]);
                let kv4 = net.reshape(kv_up, &[0, 0, heads, nope + v]);
                let kv_parts = net.split(kv4, &[nope, v]);
                let k = net.concat_last(&[kv_parts[0], k_pe]);
                let k = net.reshape(k, &[0, 0, heads * qk]);
                let v_all = net.reshape(kv_parts[1], &[0, 0, heads * v]);

                // A prompt attends causally; one new token sees every key.
                let y = net.op(
                    "Attention",
                    &[Some(q), Some(k), Some(v_all)],
                    vec![
                        builder::int("q_num_heads", heads),
                        builder::int("kv_num_heads", heads),
                        builder::int("is_causal", i64::from(cache.is_none())),
                    ],
                );
                net.linear(y, "o_proj", heads * v, h, false)
            }
        };
        net.leave();
        Ok(out)
    }

    /// RMSNorm over each head's `d` dims (Qwen 3's and Gemma 3's q/k norms).
    fn head_norm(&self, net: &mut Net, x: ValueId, name: &str, heads: i64) -> ValueId {
        let d = self.head_dim;
        let per_head = net.reshape(x, &[0, 0, heads, d]);
        let y = net.norm(per_head, name, d, Norm::Rms);
        net.reshape(y, &[0, 0, heads * d])
    }

    /// ONNX `RotaryEmbedding` on `[batch, seq, heads·r]`.
    fn rotate(
        &self,
        net: &mut Net,
        x: ValueId,
        positions: ValueId,
        (cos, sin): (ValueId, ValueId),
        heads: i64,
    ) -> ValueId {
        net.op(
            "RotaryEmbedding",
            &[Some(x), Some(cos), Some(sin), Some(positions)],
            vec![builder::int("num_heads", heads)],
        )
    }

    /// Causal attention of `heads` query heads over `kv_heads` shared
    /// key/value heads, rotary and the sliding window applied: onnxruntime's
    /// `GroupQueryAttention`, which holds all of it in one node.
    fn grouped_attention(
        &self,
        net: &mut Net,
        [q, k, v]: [ValueId; 3],
        Step {
            layer, rope, cache, ..
        }: Step,
    ) -> ValueId {
        let (pk, pv) = match cache {
            Some((k, v)) => (Some(k), Some(v)),
            None => (None, None),
        };
        let (cos, sin) = match rope {
            Some((c, s)) => (Some(c), Some(s)),
            None => (None, None),
        };
        let mut attrs = vec![
            builder::int("num_heads", self.heads),
            builder::int("kv_num_heads", self.kv_heads),
        ];
        if rope.is_some() {
            attrs.push(builder::int("do_rotary", 1));
        }
        if let Some(w) = self.windows[layer] {
            // transformers' window of `w` keys counts the query's own;
            // onnxruntime's counts the keys before it.
            attrs.push(builder::int("local_window_size", w - 1));
        }
        if let Some(cap) = self.attn_softcap {
            attrs.push(builder::float("softcap", cap as f32));
        }
        let y = net.op_in(
            "com.microsoft",
            "GroupQueryAttention",
            &[Some(q), Some(k), Some(v), pk, pv, None, None, cos, sin],
            attrs,
        );
        net.extra_output("present_key");
        net.extra_output("present_value");
        y
    }

    /// The block's MLP: dense, or a mixture of experts.
    fn feed_forward(&self, net: &mut Net, layer: usize, x: ValueId) -> ValueId {
        match &self.experts {
            Some(e) if !self.dense[layer] => self.mixture(net, x, e),
            _ => {
                net.enter("mlp", "MLP");
                let y = self.mlp(net, x, &self.mlp);
                net.leave();
                y
            }
        }
    }

    fn mlp(&self, net: &mut Net, x: ValueId, m: &Mlp) -> ValueId {
        let h = self.hidden;
        let i = m.inner;
        if !m.gated {
            let (up, down) = match self.naming {
                Naming::Gpt2 => ("c_fc", "c_proj"),
                _ => ("dense_h_to_4h", "dense_4h_to_h"),
            };
            let conv1d = self.naming == Naming::Gpt2;
            let a = net.linear_as(x, up, h, i, m.bias, conv1d);
            let a = net.activation(a, m.act);
            return net.linear_as(a, down, i, h, m.bias, conv1d);
        }
        let (gate, up) = if m.fused {
            let gu = net.linear(x, "gate_up_proj", h, 2 * i, m.bias);
            let parts = net.split(gu, &[i, i]);
            (parts[0], parts[1])
        } else {
            (
                net.linear(x, "gate_proj", h, i, m.bias),
                net.linear(x, "up_proj", h, i, m.bias),
            )
        };
        let g = net.activation(gate, m.act);
        let gu = net.mul(g, up);
        net.linear(gu, "down_proj", i, h, m.bias)
    }

    /// A sparse MoE block: the router, `k` of `E` experts per token
    /// (onnxruntime's `MoE` node), and the shared experts beside them.
    fn mixture(&self, net: &mut Net, x: ValueId, e: &Experts) -> ValueId {
        let (h, n, i) = (self.hidden, e.experts, e.inner);
        net.enter("mlp", "SparseMoeBlock");
        let logits = net.linear(x, "gate", h, n, false);
        if e.score_bias {
            net.enter("gate", "Router");
            net.record("e_score_correction_bias", &[n], TensorRole::Buffer);
            net.leave();
        }
        net.enter("experts", "Experts");
        let role = TensorRole::Experts {
            experts: n,
            active: e.top_k,
        };
        let gate_up = net.tensor("gate_up_proj", &[n, 2 * i, h], &[n, 2 * i, h], role);
        net.mark_fan_in(2);
        let down = net.tensor("down_proj", &[n, h, i], &[n, h, i], role);
        net.mark_fan_in(2);
        let routed = net.op_in(
            "com.microsoft",
            "MoE",
            &[Some(x), Some(logits), Some(gate_up), None, Some(down)],
            vec![
                builder::int("k", e.top_k),
                builder::string("activation_type", "swiglu"),
                builder::int("swiglu_fusion", 2),
                builder::int("normalize_routing_weights", i64::from(e.normalize)),
            ],
        );
        net.leave();
        let y = match e.shared_inner {
            None => routed,
            Some(inner) => {
                let name = if e.shared_gate {
                    "shared_expert"
                } else {
                    "shared_experts"
                };
                net.enter(name, "MLP");
                let shared_mlp = Mlp {
                    inner,
                    ..self.mlp.clone()
                };
                let mut s = self.mlp(net, x, &shared_mlp);
                net.leave();
                if e.shared_gate {
                    let g = net.linear(x, "shared_expert_gate", h, 1, false);
                    let g = net.op("Sigmoid", &[Some(g)], vec![]);
                    s = net.mul(s, g);
                }
                net.add(routed, s)
            }
        };
        net.leave();
        y
    }
}
