//! Reads ONNX model files into nncost's framework-neutral graph.
//!
//! Reading a multi-gigabyte model costs its graph structure, not its
//! weights: the file is memory-mapped, large payloads become zero-copy
//! `Bytes` slices of the map that are never touched, and only the structure
//! around them is read (see `file_buf.rs`). Weights stored in external files
//! are described (their location) but never opened.

#![deny(unsafe_code)]

mod convert;
mod dtype;
mod error;
mod external;
mod file_buf;
mod in_place;
mod limited;
pub mod proto;
mod reader;
mod shared_list;
mod streamed;
mod tensor;

pub use convert::MAX_SUBGRAPH_DEPTH;
pub use error::{OnnxError, MAX_ATTRIBUTES, MAX_NODES, MAX_TEXT_LEN, MAX_VALUES};
pub use reader::{read_bytes, read_file};

use nncost_core::graph::{Graph, OpsetImports};

/// A decoded ONNX model.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    /// The main graph; `graph.opsets` equals [`Model::opsets`].
    pub graph: Graph,
    pub ir_version: i64,
    /// Producer name and version, e.g. `pytorch 2.3.0` (empty if unstated).
    pub producer: String,
    /// Operator sets the model imports, per domain.
    pub opsets: OpsetImports,
}
