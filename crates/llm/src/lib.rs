//! Large language models from what their users hold: a Hugging Face
//! `config.json` (or model folder), safetensors headers and GGUF headers.
//!
//! Only headers are ever read: the tensors' bytes are never touched.
//!
//! A config becomes a [`Graph`] through the same engine as an ONNX file or
//! a network written by hand: the graph is the forward pass the model's
//! code runs, with every weight under its checkpoint name, at the symbolic
//! sizes `batch` and `seq` (a prompt, [`Phase::Prefill`]) or `batch` and
//! `ctx` (one new token after `ctx` cached ones, [`Phase::Decode`]).

use nncost_core::{Graph, Poly};

pub mod checkpoint;
pub mod config;
pub mod decoder;
pub mod encoder;
pub mod gguf;
pub mod gguf_arch;
mod net;
pub mod safetensors;
pub mod seq2seq;

pub use net::{TensorRole, TensorSpec};

/// Which forward pass to count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Phase {
    /// A prompt of `seq` tokens, no cache.
    #[default]
    Prefill,
    /// One new token after `ctx` tokens held in the KV cache.
    Decode,
}

/// Why a config could not be read; one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Config(String),
    #[error("not JSON: {0}")]
    Json(String),
}

/// A model built from its config: the graph, the checkpoint's tensors and
/// the facts the config states beyond the graph.
#[derive(Clone, Debug)]
pub struct Model {
    pub model_type: String,
    pub graph: Graph,
    pub tensors: Vec<TensorSpec>,
    pub decoder: Option<decoder::Decoder>,
}

/// Every `model_type` nncost builds.
pub fn model_types() -> Vec<&'static str> {
    let mut all = decoder::MODEL_TYPES.to_vec();
    all.extend(encoder::MODEL_TYPES);
    all.extend(seq2seq::MODEL_TYPES);
    all
}

/// Builds the model a `config.json` describes.
pub fn from_config_str(text: &str, phase: Phase) -> Result<Model, Error> {
    from_config_stored(text, phase, None)
}

/// [`from_config_str`] with each weight stored as a checkpoint stores it.
pub fn from_config_stored(
    text: &str,
    phase: Phase,
    storage: Option<&checkpoint::Storage>,
) -> Result<Model, Error> {
    if text.len() > config::MAX_CONFIG_BYTES {
        return Err(Error::Config(format!(
            "{} bytes is more than a config holds (at most {})",
            text.len(),
            config::MAX_CONFIG_BYTES
        )));
    }
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|e| Error::Json(e.to_string()))?;
    from_config_value(&json, phase, storage)
}

/// Builds the model a parsed config describes.
pub fn from_config_value(
    json: &serde_json::Value,
    phase: Phase,
    storage: Option<&checkpoint::Storage>,
) -> Result<Model, Error> {
    let c = config::Config::new(json)?;
    let t = c.model_type.as_str();
    let mut net = net::Net::new(t, storage);
    let decoder = if decoder::MODEL_TYPES.contains(&t) {
        let d = decoder::Decoder::from_config(&c)?;
        d.build(&mut net, phase)?;
        Some(d)
    } else if seq2seq::MODEL_TYPES.contains(&t) {
        seq2seq::Seq2Seq::from_config(&c)?.build(&mut net, phase)?;
        None
    } else if encoder::MODEL_TYPES.contains(&t) {
        if phase == Phase::Decode {
            return Err(Error::Config(format!(
                "{t} is an encoder: it has no decoding step (count it without --phase decode)"
            )));
        }
        encoder::Encoder::from_config(&c)?.build(&mut net)?;
        None
    } else {
        return Err(Error::Config(format!(
            "model_type \"{t}\" is not supported; supported: {}",
            model_types().join(", ")
        )));
    };
    let (graph, tensors) = net.finish();
    Ok(Model {
        model_type: c.model_type.clone(),
        graph,
        tensors,
        decoder,
    })
}

impl Model {
    /// Sums saturate: a hostile config's sizes (each at most 2^31) can
    /// only make a total too large to show, never a wrapped one.
    fn elements(&self, keep: impl Fn(&TensorRole) -> bool) -> u128 {
        self.tensors
            .iter()
            .filter(|t| keep(&t.role))
            .map(TensorSpec::elements)
            .fold(0, u128::saturating_add)
    }

    /// Parameters of the lookup tables (`nn.Embedding`): what
    /// `num_parameters(exclude_embeddings=True)` leaves out.
    pub fn embedding_params(&self) -> u128 {
        self.elements(|r| *r == TensorRole::Embedding)
    }

    /// All parameters (buffers are not).
    pub fn params(&self) -> u128 {
        self.elements(|r| *r != TensorRole::Buffer)
    }

    /// Parameters one token uses: all but the `E − k` experts of each
    /// mixture it is not routed to. Equal to [`Model::params`] without
    /// experts.
    pub fn active_params(&self) -> u128 {
        let idle: u128 = self
            .tensors
            .iter()
            .map(|t| match t.role {
                TensorRole::Experts { experts, active } if experts > 0 => {
                    t.elements() / experts as u128 * (experts - active) as u128
                }
                _ => 0,
            })
            .fold(0, u128::saturating_add);
        self.params().saturating_sub(idle)
    }

    /// Bytes of the weights quantized to `bits` per element in groups of
    /// `group` along each matrix's fan-in (the whole row when `None`), one
    /// 16-bit scale per group; the tensors a quantizer leaves (embeddings,
    /// norms, biases) at 16 bits. A matrix of `rows × K` takes `⌈rows·K·bits
    /// / 8⌉ + rows·⌈K / group⌉·2` bytes.
    pub fn quantized_bytes(&self, bits: u64, group: Option<u64>) -> u128 {
        self.tensors
            .iter()
            .filter(|t| t.role != TensorRole::Buffer)
            .map(|t| {
                let n = t.elements();
                match t.fan_in.and_then(|a| t.shape.get(a)) {
                    Some(&k) if k > 0 => {
                        let k = k as u128;
                        let rows = n / k;
                        let group = group.map_or(k, u128::from).max(1);
                        let groups = rows * k.div_ceil(group);
                        (n * u128::from(bits)).div_ceil(8) + groups * 2
                    }
                    _ => n * 2,
                }
            })
            .fold(0, u128::saturating_add)
    }

    /// Elements the KV cache holds after `ctx` tokens, summed over layers
    /// (a sliding-window layer keeps its last `window − 1`), and per token
    /// for the layers without a window.
    pub fn kv_cache(&self) -> Option<(Poly, u128)> {
        let d = self.decoder.as_ref()?;
        let per_layer = d.kv_elements_per_token();
        let ctx = Poly::symbol("ctx");
        let mut total = Poly::ZERO;
        let mut per_token = 0u128;
        for w in &d.windows {
            let kept = match w {
                Some(w) => ctx.minimum(&Poly::from((w - 1).max(0))).ok()?,
                None => {
                    per_token += per_layer as u128;
                    ctx.clone()
                }
            };
            total = total
                .checked_add(&kept.checked_scale(i128::from(per_layer)).ok()?)
                .ok()?;
        }
        Some((total, per_token))
    }
}
