//! Renderers (to be written)
