//! GGUF headers (to be written).
