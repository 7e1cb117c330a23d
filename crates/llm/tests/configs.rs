//! Every family's config built and counted, against figures PyTorch gave
//! for the same tiny models (`scripts/make_llm_fixtures.py` wrote the
//! configs and `reference.json`: `num_parameters()`, the parameter list and
//! `FlopCounterMode` on a prefill and on one decoding step).

use std::path::{Path, PathBuf};

use nncost_core::{analyze, AnalysisOptions, Report};
use nncost_llm::{from_config_str, Phase};
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/llm")
}

fn reference(name: &str) -> Value {
    let text = std::fs::read_to_string(fixtures().join(name).join("reference.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn counted(name: &str, phase: Phase) -> (nncost_llm::Model, Report) {
    let text = std::fs::read_to_string(fixtures().join(name).join("config.json")).unwrap();
    let model = from_config_str(&text, phase).unwrap_or_else(|e| panic!("{name}: {e}"));
    let report = analyze(&model.graph, &AnalysisOptions::default()).unwrap();
    (model, report)
}

/// The model's checkpoint tensors (buffers apart) are PyTorch's
/// `named_parameters()`, name for name and shape for shape.
fn assert_same_tensors(name: &str, model: &nncost_llm::Model, reference: &Value) {
    let mut ours: Vec<(String, Vec<i64>)> = model
        .tensors
        .iter()
        .filter(|t| t.role != nncost_llm::TensorRole::Buffer)
        .map(|t| (t.name.clone(), t.shape.clone()))
        .collect();
    let mut theirs: Vec<(String, Vec<i64>)> = reference["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let shape = p[1].as_array().unwrap().iter().map(|d| d.as_i64().unwrap());
            (p[0].as_str().unwrap().to_string(), shape.collect())
        })
        .collect();
    ours.sort();
    theirs.sort();
    assert_eq!(ours, theirs, "{name}");
}

/// A count at the given sizes.
fn at(p: &nncost_core::Poly, dims: &[(&str, i128)]) -> i128 {
    p.substitute(&|s: &str| dims.iter().find(|(n, _)| *n == s).map(|&(_, v)| v))
        .unwrap()
        .as_constant()
        .unwrap_or_else(|| panic!("{p} is not bound by {dims:?}"))
}

const DECODERS: &[&str] = &[
    "llama",
    "llama_tied",
    "llama_bias",
    "mistral",
    "mixtral",
    "qwen2",
    "qwen3",
    "qwen2_moe",
    "qwen3_moe",
    "gemma",
    "gemma2",
    "gemma3",
    "phi3",
    "gpt2",
    "gpt_neox",
    "falcon",
    "falcon_mqa",
    "olmo",
    "olmo2",
    "deepseek_v2",
    "deepseek_v3",
];

/// Per layer, the attention MACs FlopCounterMode sees: full `S_q × S_t`
/// score matrices (`Q·Kᵀ` and `P·V`), `batch·heads·S_q·S_t·(d_qk + d_v)`.
fn full_attention_macs(config: &Value, batch: i128, q: i128, keys: i128) -> i128 {
    let get = |k: &str| config[k].as_i64().map(i128::from);
    let heads = get("num_attention_heads").or(get("n_head")).unwrap();
    let (dqk, dv) = match get("kv_lora_rank") {
        Some(_) => (
            get("qk_nope_head_dim").unwrap() + get("qk_rope_head_dim").unwrap(),
            get("v_head_dim").unwrap(),
        ),
        None => {
            let hidden = get("hidden_size").or(get("n_embd")).unwrap();
            let d = match config["model_type"].as_str() {
                Some("gpt2" | "gpt_neox" | "falcon") => hidden / heads,
                _ => get("head_dim").unwrap_or(hidden / heads),
            };
            (d, d)
        }
    };
    let layers = get("num_hidden_layers").or(get("n_layer")).unwrap();
    layers * batch * heads * q * keys * (dqk + dv)
}

/// Parameters equal `num_parameters()`, and the checkpoint's tensors are
/// the model's, name for name and shape for shape.
#[test]
fn parameters_are_the_models() {
    for name in DECODERS {
        let r = reference(name);
        let (model, report) = counted(name, Phase::Prefill);
        assert_eq!(
            report.totals.params as i64,
            r["num_parameters"].as_i64().unwrap(),
            "{name}"
        );
        assert_same_tensors(name, &model, &r);
        let embedding: u128 = model
            .tensors
            .iter()
            .filter(|t| t.role == nncost_llm::TensorRole::Embedding)
            .map(|t| t.elements())
            .sum();
        assert_eq!(
            (u128::from(report.totals.params) - embedding) as i64,
            r["num_parameters_exclude_embeddings"].as_i64().unwrap(),
            "{name}: non-embedding parameters"
        );
    }
}

/// One decoding step: exactly FlopCounterMode's MACs (its FLOPs / 2), for
/// every family, sliding windows, experts and latent attention included.
/// A prompt: the same once attention is counted as FlopCounterMode counts
/// it, full score matrices, where nncost counts the causal scores only.
#[test]
fn macs_are_flop_counter_modes() {
    for name in DECODERS {
        let r = reference(name);
        let config: Value = serde_json::from_str(
            &std::fs::read_to_string(fixtures().join(name).join("config.json")).unwrap(),
        )
        .unwrap();

        let d = &r["decode"];
        let (batch, ctx) = (
            d["batch"].as_i64().unwrap() as i128,
            d["ctx"].as_i64().unwrap() as i128,
        );
        let (_, dec) = counted(name, Phase::Decode);
        let macs = at(&dec.totals.cost.macs, &[("batch", batch), ("ctx", ctx)]);
        assert_eq!(
            macs,
            d["flops"].as_i64().unwrap() as i128 / 2,
            "{name} decode"
        );

        let p = &r["prefill"];
        let (batch, seq) = (
            p["batch"].as_i64().unwrap() as i128,
            p["seq"].as_i64().unwrap() as i128,
        );
        let dims = [("batch", batch), ("seq", seq)];
        let (_, pre) = counted(name, Phase::Prefill);
        let causal: i128 = pre
            .nodes
            .iter()
            .filter(|n| n.op_type.ends_with("Attention"))
            .map(|n| at(&n.cost.as_ref().unwrap().macs, &dims))
            .sum();
        let macs = at(&pre.totals.cost.macs, &dims);
        let full = full_attention_macs(&config, batch, seq, seq);
        assert_eq!(
            macs - causal + full,
            p["flops"].as_i64().unwrap() as i128 / 2,
            "{name} prefill"
        );
        // Without a window, causal attention is S·(S + 1)/2 of the S² scores.
        if config["sliding_window"].as_i64().unwrap_or(0) == 0 {
            assert_eq!(causal * 2 * seq, full * (seq + 1), "{name} causal half");
        }
    }
}

const ENCODERS: &[&str] = &["bert", "roberta", "vit", "clip_vision"];

/// Encoders attend to every position, so nncost's MACs are FlopCounterMode's
/// exactly; parameters and the tensor list are the model's.
#[test]
fn encoders_are_exact() {
    for name in ENCODERS {
        let r = reference(name);
        let (model, report) = counted(name, Phase::Prefill);
        assert_eq!(
            report.totals.params as i64,
            r["num_parameters"].as_i64().unwrap(),
            "{name}"
        );
        assert_eq!(
            (u128::from(report.totals.params) - model.embedding_params()) as i64,
            r["num_parameters_exclude_embeddings"].as_i64().unwrap(),
            "{name}: non-embedding parameters"
        );
        assert_same_tensors(name, &model, &r);
        let p = &r["prefill"];
        let mut dims = vec![("batch", p["batch"].as_i64().unwrap() as i128)];
        if let Some(seq) = p["seq"].as_i64() {
            dims.push(("seq", seq as i128));
        }
        let macs = at(&report.totals.cost.macs, &dims);
        assert_eq!(macs, p["flops"].as_i64().unwrap() as i128 / 2, "{name}");
        assert!(report.is_complete(), "{name}");
    }
}

/// T5: encoder over `seq` tokens, decoder over `tgt`, cross-attention to
/// all `seq` encoder states. Parameters and tensors are the model's
/// (`shared` read by both stacks and the tied head; each stack's relative
/// position table in its first block). FlopCounterMode counts the
/// decoder's self-attention as full matrices: nncost's causal count plus
/// the upper half equals it.
#[test]
fn t5_is_exact() {
    let r = reference("t5");
    let (model, report) = counted("t5", Phase::Prefill);
    assert_eq!(
        report.totals.params as i64,
        r["num_parameters"].as_i64().unwrap()
    );
    assert_eq!(
        (u128::from(report.totals.params) - model.embedding_params()) as i64,
        r["num_parameters_exclude_embeddings"].as_i64().unwrap()
    );
    assert_same_tensors("t5", &model, &r);
    let p = &r["prefill"];
    let (b, s, t) = (2i128, 7i128, 7i128);
    assert_eq!(p["batch"], 2);
    assert_eq!(p["encoder_seq"], 7);
    assert_eq!(p["decoder_seq"], 7);
    let dims = [("batch", b), ("seq", s), ("tgt", t)];
    let macs = at(&report.totals.cost.macs, &dims);
    // Decoder self-attention, 2 layers of 4 heads of 16: full t² scores
    // against the t·(t + 1)/2 nncost counts.
    let (layers, heads, d) = (2i128, 4i128, 16i128);
    let upper = layers * b * heads * (t * t - t * (t + 1) / 2) * 2 * d;
    assert_eq!(macs + upper, p["flops"].as_i64().unwrap() as i128 / 2);
    assert!(report.is_complete());
    let (_, dec) = counted("t5", Phase::Decode);
    assert!(dec.is_complete());
}
