//! Entry points: bytes or a file in, a [`Model`] out.

use std::fs::File;
use std::path::Path;

use bytes::Bytes;
use nncost_core::graph::OpsetImports;
use prost::Message;

use crate::convert::convert_main_graph;
use crate::error::OnnxError;
use crate::proto::ModelProto;
use crate::Model;

/// Reads an ONNX model from a buffer. Tensor payloads in the result are
/// slices of `bytes`, never copies. Pure: touches no file system, not even
/// for external data.
pub fn read_bytes(bytes: Bytes) -> Result<Model, OnnxError> {
    // An empty buffer is a valid (empty) protobuf message; say what it is
    // rather than "no graph".
    if bytes.is_empty() {
        return Err(OnnxError::EmptyInput);
    }
    let proto = ModelProto::decode(bytes).map_err(|e| {
        let msg = e.to_string();
        // prost prefixes every message with this; the variant already says it.
        let reason = msg
            .strip_prefix("failed to decode Protobuf message: ")
            .unwrap_or(&msg);
        OnnxError::Decode(reason.to_string())
    })?;
    let ir_version = proto.ir_version;
    let graph_proto = proto
        .graph
        .as_ref()
        .ok_or(OnnxError::NoGraph { ir_version })?;
    let opsets = OpsetImports(
        proto
            .opset_import
            .iter()
            .map(|o| (o.domain.clone(), o.version))
            .collect(),
    );
    let graph = convert_main_graph(graph_proto, &opsets)?;
    let producer = [proto.producer_name.trim(), proto.producer_version.trim()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    Ok(Model {
        graph,
        ir_version,
        producer,
        opsets,
    })
}

/// Reads an ONNX model file by memory-mapping it, so that weights are never
/// read into memory: only the protobuf structure around them is touched.
pub fn read_file(path: &Path) -> Result<Model, OnnxError> {
    let io = |e: std::io::Error| OnnxError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let file = File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if meta.is_dir() {
        return Err(OnnxError::IsDirectory(path.to_path_buf()));
    }
    // Mapping zero bytes fails with an obscure OS error; name the real issue.
    if meta.len() == 0 {
        return Err(OnnxError::EmptyFile(path.to_path_buf()));
    }
    // SAFETY: the map is read-only and private to this process. If another
    // process truncates or rewrites the file while it is mapped, reads may
    // see the new contents or fault (SIGBUS); every model reader that maps
    // files accepts this, and it cannot corrupt memory safety otherwise.
    #[allow(unsafe_code)]
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
    read_bytes(Bytes::from_owner(map))
}
