//! Large language models from what their users hold: a Hugging Face
//! `config.json` (or model folder), safetensors headers and GGUF headers.
//!
//! Only headers are ever read: the tensors' bytes are never touched.

pub mod gguf;
pub mod safetensors;
