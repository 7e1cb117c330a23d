//! Everything that can go wrong while reading an ONNX file. Each message is
//! one line and names the offending node, value or tensor, because the user
//! usually cannot open the file to look.

use std::path::PathBuf;

use crate::dtype::describe_code;

/// Why a file or buffer could not be read as an ONNX model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OnnxError {
    /// The I/O error is part of the message rather than a `source`, so that
    /// printing the error chain does not repeat it.
    #[error("cannot read '{}': {message}", path.display())]
    Io { path: PathBuf, message: String },

    #[error("'{}' is a directory, not an ONNX model file", .0.display())]
    IsDirectory(PathBuf),

    #[error("'{}' is empty (0 bytes): not an ONNX model", .0.display())]
    EmptyFile(PathBuf),

    #[error("empty input (0 bytes): not an ONNX model")]
    EmptyInput,

    /// Carries prost's reason (which field, what went wrong).
    #[error("not an ONNX model (protobuf decode failed: {0})")]
    Decode(String),

    /// A string field holds bytes that are not UTF-8. `what` names the
    /// field: "the op_type of node #3", "input 1 of node 'conv1' (Conv)", ...
    #[error("{what} is not valid UTF-8")]
    InvalidUtf8 { what: String },

    #[error("not an ONNX model: it has no graph (ir_version {ir_version})")]
    NoGraph { ir_version: i64 },

    #[error("node '{node}' ({op}) reads undefined value '{value}'")]
    UndefinedValue {
        node: String,
        op: String,
        value: String,
    },

    #[error("graph output '{value}' is not produced by any node, graph input or initializer")]
    UndefinedOutput { value: String },

    #[error("value '{value}' is produced by two nodes: '{first}' ({first_op}) and '{second}' ({second_op})")]
    DuplicateProducer {
        value: String,
        first: String,
        first_op: String,
        second: String,
        second_op: String,
    },

    #[error("value '{value}' is both an initializer and an output of node '{node}' ({op})")]
    InitializerIsNodeOutput {
        value: String,
        node: String,
        op: String,
    },

    #[error("value '{value}' is both a graph input and an output of node '{node}' ({op})")]
    InputIsNodeOutput {
        value: String,
        node: String,
        op: String,
    },

    #[error("initializer '{0}' is defined more than once")]
    DuplicateInitializer(String),

    /// `what` says where: "initializer 'w'", "input 'x'", ...
    #[error("{what} has {}", describe_code(*.code))]
    UnknownDataType { what: String, code: i32 },

    #[error("{what} has a negative dimension in shape {dims:?}")]
    NegativeDim { what: String, dims: Vec<i64> },

    /// External data that may not or cannot be read: a location outside the
    /// model's folder, a link, a range past the end of the file.
    #[error("{tensor}: external data '{location}' refused: {reason}")]
    ExternalData {
        tensor: String,
        location: String,
        reason: String,
    },

    #[error("{what} is {len} bytes long; text fields are limited to {limit} bytes", limit = MAX_TEXT_LEN)]
    TextTooLong { what: String, len: usize },

    /// A list refused as it was decoded, at its first element too many.
    #[error("more than {shown} {what}: nncost accepts at most {shown}", shown = nncost_core::numfmt::grouped(*limit as i128))]
    TooMany { what: &'static str, limit: usize },

    #[error("subgraphs nested deeper than {limit} levels (at node '{node}' ({op}))")]
    NestingTooDeep {
        node: String,
        op: String,
        limit: usize,
    },
}

/// Longest name or other text field accepted (64 KiB). Real names are
/// paths of module names, far shorter; a longer one is a damaged or hostile
/// file, and every copy of it in reports would cost as much again.
pub const MAX_TEXT_LEN: usize = 64 * 1024;

/// Most nodes accepted in one model, subgraphs included. The largest
/// exported models have a few hundred thousand; analysing one costs about
/// 1.1 KB of memory per node, so this many need some 2.2 GB.
pub const MAX_NODES: usize = 2_000_000;

/// Most attributes accepted in one model: four per node at the
/// node limit. An empty attribute is 2 bytes on the wire and some 200
/// once decoded.
pub const MAX_ATTRIBUTES: usize = 8_000_000;

/// Most attributes accepted on one node. Operators have a few dozen at
/// most.
pub const MAX_ATTRIBUTES_PER_NODE: usize = 4_096;

/// Most initializers, graph inputs and outputs, value descriptions and
/// node metadata entries accepted in one model, together.
pub const MAX_VALUES: usize = 8_000_000;

/// A string field's bytes as text. `what` names the field for the error;
/// it is only called when the bytes are too long or not UTF-8.
pub(crate) fn utf8(b: &[u8], what: impl FnOnce() -> String) -> Result<&str, OnnxError> {
    if b.len() > MAX_TEXT_LEN {
        return Err(OnnxError::TextTooLong {
            what: what(),
            len: b.len(),
        });
    }
    std::str::from_utf8(b).map_err(|_| OnnxError::InvalidUtf8 { what: what() })
}
