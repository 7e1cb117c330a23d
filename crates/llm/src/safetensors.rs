//! safetensors headers (to be written).
