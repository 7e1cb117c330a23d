//! A GGUF file's architecture metadata read as the Hugging Face config it
//! was converted from, and llama.cpp's tensor names as the model's, so a
//! GGUF file is counted by the same builders as a config.json.
//!
//! Keys are llama.cpp's (`{arch}.embedding_length`, `{arch}.block_count`,
//! …); tensor names its `token_embd`, `blk.N.attn_q`, `ffn_gate_exps`, ….

use serde_json::{json, Map, Value};

use crate::gguf::{GgufFile, MetaValue};
use crate::Error;

/// GGUF architectures read, and the `model_type` each is built as (a
/// `llama` file with experts is a Mixtral).
pub const ARCHITECTURES: &[(&str, &str)] = &[
    ("llama", "llama"),
    ("mistral", "mistral"),
    ("qwen2", "qwen2"),
    ("qwen3", "qwen3"),
    ("qwen2moe", "qwen2_moe"),
    ("qwen3moe", "qwen3_moe"),
    ("gemma", "gemma"),
    ("gemma2", "gemma2"),
    ("gemma3", "gemma3_text"),
    ("phi3", "phi3"),
    ("olmo", "olmo"),
    ("olmo2", "olmo2"),
];

/// The config a GGUF file's metadata states.
pub fn config(file: &GgufFile) -> Result<Value, Error> {
    let arch = file
        .architecture()
        .ok_or_else(|| Error::Config("no general.architecture in the GGUF metadata".into()))?;
    let mut model_type = ARCHITECTURES
        .iter()
        .find(|(a, _)| *a == arch)
        .map(|(_, t)| *t)
        .ok_or_else(|| {
            Error::Config(format!(
                "GGUF architecture \"{arch}\" is not supported; supported: {}",
                ARCHITECTURES
                    .iter()
                    .map(|(a, _)| *a)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
    let key = |k: &str| format!("{arch}.{k}");
    let num = |k: &str| -> Option<u64> {
        match file.get(&key(k))? {
            // Per-layer lists (head_count_kv of some files): one value for all.
            v @ MetaValue::Array { .. } => {
                let all = v.as_u64s()?;
                let first = *all.first()?;
                all.iter().all(|&x| x == first).then_some(first)
            }
            v => v.as_u64(),
        }
    };
    let need = |k: &str| {
        num(k).ok_or_else(|| Error::Config(format!("the GGUF metadata has no {}", key(k))))
    };
    let hidden = need("embedding_length")?;
    let heads = need("attention.head_count")?;
    let vocab = match num("vocab_size") {
        Some(v) => v,
        None => file
            .tensor("token_embd.weight")
            .and_then(|t| t.dims.get(1).copied())
            .ok_or_else(|| Error::Config("no vocabulary size: no token_embd.weight".into()))?,
    };
    let mut c = Map::new();
    let experts = num("expert_count").unwrap_or(0);
    if model_type == "llama" && experts > 0 {
        model_type = "mixtral";
    }
    c.insert("model_type".into(), json!(model_type));
    c.insert("hidden_size".into(), json!(hidden));
    c.insert("num_hidden_layers".into(), json!(need("block_count")?));
    c.insert("num_attention_heads".into(), json!(heads));
    c.insert(
        "num_key_value_heads".into(),
        json!(num("attention.head_count_kv").unwrap_or(heads)),
    );
    c.insert("vocab_size".into(), json!(vocab));
    if let Some(n) = num("feed_forward_length") {
        c.insert("intermediate_size".into(), json!(n));
    }
    if let Some(n) = num("context_length") {
        c.insert("max_position_embeddings".into(), json!(n));
    }
    let head_dim = num("attention.key_length").unwrap_or(hidden / heads.max(1));
    c.insert("head_dim".into(), json!(head_dim));
    if let Some(r) = num("rope.dimension_count") {
        if head_dim > 0 && r != head_dim {
            c.insert(
                "partial_rotary_factor".into(),
                json!(r as f64 / head_dim as f64),
            );
        }
    }
    if let Some(w) = num("attention.sliding_window") {
        c.insert("sliding_window".into(), json!(w));
    }
    if experts > 0 {
        c.insert("num_local_experts".into(), json!(experts));
        c.insert("num_experts".into(), json!(experts));
        c.insert(
            "num_experts_per_tok".into(),
            json!(num("expert_used_count").unwrap_or(1)),
        );
        if let Some(n) = num("expert_feed_forward_length") {
            c.insert("moe_intermediate_size".into(), json!(n));
        }
        if let Some(n) = num("expert_shared_feed_forward_length") {
            c.insert("shared_expert_intermediate_size".into(), json!(n));
        }
    }
    for (gguf_key, config_key) in [
        ("attn_logit_softcapping", "attn_logit_softcapping"),
        ("final_logit_softcapping", "final_logit_softcapping"),
    ] {
        if let Some(v) = file.get(&key(gguf_key)).and_then(MetaValue::as_f64) {
            c.insert(config_key.into(), json!(v));
        }
    }
    // A file without an output matrix reads the embedding again.
    c.insert(
        "tie_word_embeddings".into(),
        json!(file.tensor("output.weight").is_none()),
    );
    let bias = file.tensor("blk.0.attn_q.bias").is_some();
    c.insert("attention_bias".into(), json!(bias));
    c.insert("qkv_bias".into(), json!(bias));
    Ok(Value::Object(c))
}

/// The model's name for a llama.cpp tensor name, for the families of
/// [`ARCHITECTURES`]; `model_type` tells the norms of Gemma 2 and 3 apart.
pub fn model_name(gguf: &str, model_type: &str) -> Option<String> {
    let sandwich = matches!(model_type, "gemma2" | "gemma3_text");
    let post_norms = model_type == "olmo2";
    match gguf {
        "token_embd.weight" => return Some("model.embed_tokens.weight".into()),
        "output_norm.weight" => return Some("model.norm.weight".into()),
        "output.weight" => return Some("lm_head.weight".into()),
        _ => {}
    }
    let rest = gguf.strip_prefix("blk.")?;
    let (layer, rest) = rest.split_once('.')?;
    layer.parse::<u32>().ok()?;
    let (module, suffix) = rest.rsplit_once('.')?;
    let weight = |m: &str| format!("model.layers.{layer}.{m}.{suffix}");
    let fused = |m: &str| format!("model.layers.{layer}.mlp.experts.{m}");
    Some(match module {
        "attn_q" => weight("self_attn.q_proj"),
        "attn_k" => weight("self_attn.k_proj"),
        "attn_v" => weight("self_attn.v_proj"),
        "attn_qkv" => weight("self_attn.qkv_proj"),
        "attn_output" => weight("self_attn.o_proj"),
        "attn_q_norm" => weight("self_attn.q_norm"),
        "attn_k_norm" => weight("self_attn.k_norm"),
        "attn_norm" => weight("input_layernorm"),
        "post_attention_norm" => weight("post_attention_layernorm"),
        "ffn_norm" if sandwich => weight("pre_feedforward_layernorm"),
        "ffn_norm" => weight("post_attention_layernorm"),
        "post_ffw_norm" if sandwich || post_norms => weight("post_feedforward_layernorm"),
        "ffn_gate" => weight("mlp.gate_proj"),
        "ffn_up" if model_type == "phi3" => weight("mlp.gate_up_proj"),
        "ffn_up" => weight("mlp.up_proj"),
        "ffn_down" => weight("mlp.down_proj"),
        "ffn_gate_inp" => weight("mlp.gate"),
        "ffn_gate_exps" | "ffn_up_exps" => fused("gate_up_proj"),
        "ffn_down_exps" => fused("down_proj"),
        "ffn_gate_shexp" => weight("mlp.shared_expert.gate_proj"),
        "ffn_up_shexp" => weight("mlp.shared_expert.up_proj"),
        "ffn_down_shexp" => weight("mlp.shared_expert.down_proj"),
        "ffn_gate_inp_shexp" => weight("mlp.shared_expert_gate"),
        _ => return None,
    })
}
