//! nncost in the browser: the page (`web/`, built by
//! `scripts/build_web.sh`) reads a dropped model through byte ranges of
//! the file ([`read`], [`scan`]), analyses it with the page's choices and
//! draws the command line's HTML report ([`page`]), and runs the layer
//! calculator ([`calc`]). All of it is plain Rust, tested natively; the
//! wasm32 build adds the bindings JavaScript calls (`bindings.rs`).

pub mod calc;
pub mod page;
pub mod read;
pub mod scan;

#[cfg(target_arch = "wasm32")]
mod bindings;

/// Why the page cannot show a report or a layer. One line, naming the file
/// where there is one.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("{0}")]
    Read(String),
    #[error("{0}")]
    Analysis(String),
    #[error("{0}")]
    Layer(String),
    /// The page used the bindings wrongly (a defect of the page).
    #[error("{0}")]
    Usage(String),
}

impl From<nncost_load::ReadError> for WebError {
    fn from(e: nncost_load::ReadError) -> WebError {
        WebError::Read(e.to_string())
    }
}
