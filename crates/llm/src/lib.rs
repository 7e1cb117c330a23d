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

use nncost_core::Graph;

pub mod config;
pub mod decoder;
pub mod gguf;
mod net;
pub mod safetensors;

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
    decoder::MODEL_TYPES.to_vec()
}

/// Builds the model a `config.json` describes.
pub fn from_config_str(text: &str, phase: Phase) -> Result<Model, Error> {
    if text.len() > config::MAX_CONFIG_BYTES {
        return Err(Error::Config(format!(
            "{} bytes is more than a config holds (at most {})",
            text.len(),
            config::MAX_CONFIG_BYTES
        )));
    }
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|e| Error::Json(e.to_string()))?;
    let c = config::Config::new(&json)?;
    if !decoder::MODEL_TYPES.contains(&c.model_type.as_str()) {
        return Err(Error::Config(format!(
            "model_type \"{}\" is not supported; supported: {}",
            c.model_type,
            model_types().join(", ")
        )));
    }
    let d = decoder::Decoder::from_config(&c)?;
    let mut net = net::Net::new(&c.model_type);
    d.build(&mut net, phase)?;
    let (graph, tensors) = net.finish();
    Ok(Model {
        model_type: c.model_type.clone(),
        graph,
        tensors,
        decoder: Some(d),
    })
}
